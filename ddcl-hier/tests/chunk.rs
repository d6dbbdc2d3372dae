//! The chunker's edge cases: empty and one-token documents, documents shorter than one
//! window, exact multiples of the window, overlap rules, sentence-end cuts.

use std::ops::Range;

use ddcl_hier::{ChunkConfig, Chunker, Error};

fn spans(window: usize, overlap: usize, ids: &[u32]) -> Vec<Range<usize>> {
    Chunker::new(&ChunkConfig::new(window, overlap).unwrap())
        .unwrap()
        .spans(ids)
}

/// A single span, as `spans` returns it.
fn one(span: Range<usize>) -> Vec<Range<usize>> {
    vec![span]
}

/// Spans cover every token in order, none is longer than the window, consecutive ones
/// overlap by exactly `overlap` (the cut at a sentence end aside), the last ends at the end.
fn check_cover(window: usize, overlap: usize, spans: &[Range<usize>], len: usize) {
    assert_eq!(spans[0].start, 0);
    assert_eq!(spans.last().unwrap().end, len);
    for s in spans {
        assert!(s.len() <= window, "{s:?} longer than {window}");
    }
    for w in spans.windows(2) {
        assert_eq!(w[0].end - w[1].start, overlap, "{spans:?}");
        assert!(w[1].start > w[0].start);
    }
}

#[test]
fn empty_document_gets_one_empty_chunk() {
    assert_eq!(spans(4, 1, &[]), one(0..0));
    let chunks = Chunker::new(&ChunkConfig::new(4, 0).unwrap())
        .unwrap()
        .chunks(5, &[]);
    assert_eq!(chunks.len(), 1);
    assert_eq!((chunks[0].document, chunks[0].index), (5, 0));
}

#[test]
fn one_token_and_shorter_than_a_window() {
    assert_eq!(spans(4, 2, &[9]), one(0..1));
    assert_eq!(spans(10, 3, &[9; 7]), one(0..7));
    assert_eq!(spans(7, 3, &[9; 7]), one(0..7)); // exactly one window
}

#[test]
fn exact_multiples_of_the_window_have_no_empty_tail() {
    assert_eq!(spans(4, 0, &[1; 12]), [0..4, 4..8, 8..12]);
    // with overlap 2 the stride is 2: windows at 0, 2, 4, ... up to the one ending at 12
    let s = spans(4, 2, &[1; 12]);
    assert_eq!(s, [0..4, 2..6, 4..8, 6..10, 8..12]);
    check_cover(4, 2, &s, 12);
}

#[test]
fn every_length_is_covered() {
    for window in 1..7 {
        for overlap in 0..window {
            for len in 1..40 {
                let s = spans(window, overlap, &vec![3; len]);
                check_cover(window, overlap, &s, len);
                // the number of chunks: one window, then one per stride started
                let stride = window - overlap;
                let expected = 1 + len.saturating_sub(window).div_ceil(stride);
                assert_eq!(
                    s.len(),
                    expected,
                    "window {window} overlap {overlap} len {len}"
                );
            }
        }
    }
}

#[test]
fn overlap_rules_are_typed_errors_naming_the_key() {
    for (window, overlap) in [(4, 4), (4, 9)] {
        let err = ChunkConfig::new(window, overlap).unwrap_err();
        match &err {
            Error::Readout(ddcl_readout::Error::OutOfRange { key, value, .. }) => {
                assert_eq!(key, "chunk.overlap");
                assert_eq!(*value, overlap as f64);
            }
            other => panic!("{other:?}"),
        }
    }
    let err = ChunkConfig::new(0, 0).unwrap_err();
    assert!(
        matches!(&err, Error::Readout(ddcl_readout::Error::OutOfRange { key, .. }) if key == "chunk.window"),
        "{err:?}"
    );
    // a config changed after construction is checked again by the chunker
    let mut cfg = ChunkConfig::new(4, 1).unwrap();
    cfg.overlap = 4;
    assert!(Chunker::new(&cfg).is_err());
}

#[test]
fn sentence_ends_cut_chunks_but_never_exceed_the_window() {
    let mut cfg = ChunkConfig::new(5, 1).unwrap();
    cfg.sentence_ends = vec![0];
    let chunker = Chunker::new(&cfg).unwrap();
    // sentence ends (0) after positions 2 and 8
    let ids = [7, 7, 0, 7, 7, 7, 7, 7, 0, 7, 7];
    let s = chunker.spans(&ids);
    assert_eq!(s, [0..3, 2..7, 6..11]); // the rest fits one window: no cut
    for span in &s[..s.len() - 1] {
        assert!(span.len() <= 5);
    }
    // a sentence end inside the overlap is not taken (the chunk would not advance)
    let ids = [0, 7, 7, 7, 7, 7, 7];
    assert_eq!(chunker.spans(&ids), [0..5, 4..7]);
    // no sentence end: plain windows
    assert_eq!(chunker.spans(&[7; 9]), [0..5, 4..9]);
}
