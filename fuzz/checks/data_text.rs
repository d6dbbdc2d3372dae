//! The user-data readers on arbitrary bytes: CSV and JSON Lines text files, tabular CSV and a
//! text class folder. Each gives labelled data or a typed error naming the file.

use ddcl_readout::data;

/// The first byte picks the reader, the rest is the file.
pub fn run(input: &[u8]) {
    let Some((&which, bytes)) = input.split_first() else {
        return;
    };
    let result = match which % 4 {
        0 => named(data::read_text_file(
            &super::scratch::file("t.csv", bytes),
            "text",
            "label",
        )),
        1 => named(data::read_text_file(
            &super::scratch::file("t.jsonl", bytes),
            "text",
            "label",
        )),
        2 => named(data::read_tabular_csv(
            &super::scratch::file("tab.csv", bytes),
            "label",
        )),
        _ => {
            let dir = super::scratch::dir().join("folder");
            std::fs::remove_dir_all(&dir).ok();
            super::scratch::file("folder/pos/a.txt", bytes);
            super::scratch::file("folder/neg/b.txt", b"fine");
            named(data::read_text_folder(&dir))
        }
    };
    if let Err(message) = result {
        assert!(
            message.contains(super::scratch::dir().to_str().unwrap_or("")),
            "{message}"
        );
    }
}

/// The error message, if any; a successful read is checked for matching lengths.
fn named<T>(r: ddcl_readout::Result<data::Labelled<T>>) -> Result<(), String> {
    match r {
        Ok(set) => {
            assert_eq!(set.inputs.len(), set.labels.len());
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}
