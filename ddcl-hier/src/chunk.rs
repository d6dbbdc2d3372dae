//! The chunker: a document's content token ids cut into windows.

use std::ops::Range;

use crate::{ChunkConfig, Result};

/// One chunk of a document: which document (its index in the call), its position among the
/// document's chunks, and its span of the document's content token ids.
///
/// ```
/// let chunk = ddcl_hier::Chunk { document: 0, index: 1, span: 6..14 };
/// assert_eq!(chunk.span.len(), 8);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Index of the document in the call.
    pub document: usize,
    /// Position among the document's chunks (0-based).
    pub index: usize,
    /// Span of the document's content token ids (no special tokens).
    pub span: Range<usize>,
}

/// Cuts token ids into windows of `window` tokens, each starting `overlap` tokens before the
/// end of the one before; with `sentence_ends`, a window ends after its last sentence-final
/// token lying past the overlap (never longer than `window`), so that chunks end at sentence
/// boundaries where the text allows.
///
/// Every document gets at least one chunk: an empty one gets the empty span `0..0` (encoded as
/// the special tokens alone, as the flat encoder encodes an empty text). The spans cover every
/// token, in order; the last ends at the document's end.
///
/// ```
/// use ddcl_hier::{ChunkConfig, Chunker};
/// let chunker = Chunker::new(&ChunkConfig::new(4, 1)?)?;
/// assert_eq!(chunker.spans(&[7; 10]), [0..4, 3..7, 6..10]);
/// assert_eq!(chunker.spans(&[]), [0..0]);
///
/// let mut cfg = ChunkConfig::new(4, 0)?;
/// cfg.sentence_ends = vec![9]; // say, the id of "."
/// let chunker = Chunker::new(&cfg)?;
/// assert_eq!(chunker.spans(&[5, 9, 5, 5, 5, 9, 5]), [0..2, 2..6, 6..7]);
/// # Ok::<(), ddcl_hier::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Chunker {
    cfg: ChunkConfig,
}

impl Chunker {
    /// A chunker with these settings (validated).
    ///
    /// ```
    /// let chunker = ddcl_hier::Chunker::new(&ddcl_hier::ChunkConfig::new(254, 32)?)?;
    /// assert_eq!(chunker.config().window, 254);
    /// # Ok::<(), ddcl_hier::Error>(())
    /// ```
    pub fn new(cfg: &ChunkConfig) -> Result<Self> {
        cfg.validate()?;
        Ok(Self { cfg: cfg.clone() })
    }

    /// The settings.
    ///
    /// ```
    /// let chunker = ddcl_hier::Chunker::new(&ddcl_hier::ChunkConfig::new(8, 2)?)?;
    /// assert_eq!(chunker.config().overlap, 2);
    /// # Ok::<(), ddcl_hier::Error>(())
    /// ```
    pub fn config(&self) -> &ChunkConfig {
        &self.cfg
    }

    /// The spans of `ids`' chunks, in order.
    ///
    /// ```
    /// let chunker = ddcl_hier::Chunker::new(&ddcl_hier::ChunkConfig::new(4, 0)?)?;
    /// assert_eq!(chunker.spans(&[1; 8]), [0..4, 4..8]); // an exact multiple: no empty tail
    /// # Ok::<(), ddcl_hier::Error>(())
    /// ```
    pub fn spans(&self, ids: &[u32]) -> Vec<Range<usize>> {
        let (window, overlap) = (self.cfg.window, self.cfg.overlap);
        let mut spans = Vec::with_capacity(ids.len() / (window - overlap) + 1);
        let mut start = 0;
        loop {
            let limit = (start + window).min(ids.len());
            let end = if limit == ids.len() {
                limit
            } else {
                // The last sentence end in (start + overlap, limit]: the next chunk then starts
                // after `start`, so the loop advances.
                (start + overlap + 1..=limit)
                    .rev()
                    .find(|&e| self.cfg.sentence_ends.contains(&ids[e - 1]))
                    .unwrap_or(limit)
            };
            spans.push(start..end);
            if end == ids.len() {
                return spans;
            }
            start = end - overlap;
        }
    }

    /// The chunks of document number `document` with content ids `ids`.
    ///
    /// ```
    /// let chunker = ddcl_hier::Chunker::new(&ddcl_hier::ChunkConfig::new(4, 0)?)?;
    /// let chunks = chunker.chunks(3, &[1; 6]);
    /// assert_eq!((chunks[1].document, chunks[1].index, chunks[1].span.clone()), (3, 1, 4..6));
    /// # Ok::<(), ddcl_hier::Error>(())
    /// ```
    pub fn chunks(&self, document: usize, ids: &[u32]) -> Vec<Chunk> {
        self.spans(ids)
            .into_iter()
            .enumerate()
            .map(|(index, span)| Chunk {
                document,
                index,
                span,
            })
            .collect()
    }
}
