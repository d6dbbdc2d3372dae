//! User data: the readers, seeded samples and splits, and clear errors naming file and line.

use std::path::{Path, PathBuf};

use ddcl_bench::{load, split, DataSource, Inputs};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn text(path: &Path) -> DataSource {
    DataSource::TextFile {
        path: path.to_path_buf(),
        text: "text".into(),
        label: "label".into(),
    }
}

fn tabular(path: &Path) -> DataSource {
    DataSource::TabularFile {
        path: path.to_path_buf(),
        label: "y".into(),
    }
}

fn error(source: &DataSource) -> String {
    match load("d", source, 0, 0) {
        Ok(_) => panic!("loaded"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn csv_and_jsonl_text_load_with_sorted_classes() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "a.csv",
        b"id,text,label\n1,\"good, really\",pos\n2,bad,neg\n3,fine,pos\n",
    );
    let d = load("d", &text(&csv), 0, 0).unwrap();
    assert_eq!(d.classes, ["neg", "pos"]);
    let Inputs::Text(t) = &d.inputs else { panic!() };
    // a seeded order of all three rows; origin maps back to the file
    for (i, &o) in d.origin.iter().enumerate() {
        let want = ["good, really", "bad", "fine"][o];
        assert_eq!(t[i], want);
        assert_eq!(d.labels[i], [1, 0, 1][o]);
    }
    let jsonl = write(
        dir.path(),
        "a.jsonl",
        b"{\"text\": \"good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": 0}\n",
    );
    let d = load("d", &text(&jsonl), 0, 0).unwrap();
    assert_eq!(
        (d.len(), d.classes.clone()),
        (2, vec!["0".into(), "1".into()])
    );
}

#[test]
fn samples_and_splits_are_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..50).map(|i| format!("t{i},{}\n", i % 3)).collect();
    let csv = write(
        dir.path(),
        "a.csv",
        format!("text,label\n{rows}").as_bytes(),
    );
    let a = load("d", &text(&csv), 20, 7).unwrap();
    let b = load("d", &text(&csv), 20, 7).unwrap();
    let c = load("d", &text(&csv), 20, 8).unwrap();
    assert_eq!(a.len(), 20);
    assert_eq!(a.origin, b.origin);
    assert_ne!(a.origin, c.origin);
    let (tr, te) = split(20, 0.75, 1);
    assert_eq!((tr.len(), te.len()), (15, 5));
    assert_eq!(split(20, 0.75, 1), (tr, te));
    assert_ne!(split(20, 0.75, 2).1, split(20, 0.75, 1).1);
}

#[test]
fn tabular_and_image_folders_load() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "t.csv", b"a,y,b\n1.5,x,2\n-1,z,0.25\n");
    let d = load("d", &tabular(&csv), 0, 0).unwrap();
    let Inputs::Tabular(rows) = &d.inputs else {
        panic!()
    };
    let i = d.origin.iter().position(|&o| o == 1).unwrap();
    assert_eq!(rows[i], [-1.0, 0.25]);
    assert_eq!(d.classes, ["x", "z"]);

    for class in ["cats", "dogs"] {
        let sub = dir.path().join("img").join(class);
        std::fs::create_dir_all(&sub).unwrap();
        image::RgbImage::new(5, 4).save(sub.join("1.png")).unwrap();
    }
    let d = load(
        "d",
        &DataSource::ImageFolder {
            path: dir.path().join("img"),
        },
        0,
        0,
    )
    .unwrap();
    assert_eq!(
        (d.len(), d.classes.clone()),
        (2, vec!["cats".into(), "dogs".into()])
    );
}

#[test]
fn malformed_user_data_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();

    let missing = write(p, "missing.csv", b"text,stars\nhello,1\n");
    let e = error(&text(&missing));
    assert!(
        e.contains("missing.csv: line 1: no column `label`") && e.contains("stars"),
        "{e}"
    );

    let empty = write(p, "empty.csv", b"");
    let e = error(&text(&empty));
    assert!(e.contains("empty.csv: line 1: no column `text`"), "{e}");
    let header_only = write(p, "header.csv", b"text,label\n");
    let e = error(&text(&header_only));
    assert!(e.contains("header.csv") && e.contains("no examples"), "{e}");

    let one = write(p, "one.csv", b"text,label\na,x\nb,x\n");
    let e = error(&text(&one));
    assert!(
        e.contains("one.csv") && e.contains("only one class (`x`)"),
        "{e}"
    );

    let utf8 = write(p, "latin1.csv", b"text,label\nok,a\ncaf\xe9,b\n");
    let e = error(&text(&utf8));
    assert!(e.contains("latin1.csv: line 3: not valid UTF-8"), "{e}");
    let utf8 = write(
        p,
        "latin1.jsonl",
        b"{\"text\": \"ok\", \"label\": 1}\n{\"text\": \"caf\xe9\"}\n",
    );
    let e = error(&text(&utf8));
    assert!(e.contains("latin1.jsonl: line 2: not valid UTF-8"), "{e}");

    let ragged = write(p, "ragged.csv", b"text,label\na,1\nb,2,extra\n");
    let e = error(&text(&ragged));
    assert!(e.contains("ragged.csv: line 3"), "{e}");

    let blank = write(p, "blank.csv", b"text,label\na,1\nb, \n");
    let e = error(&text(&blank));
    assert!(
        e.contains("blank.csv: line 3: empty label in `label`"),
        "{e}"
    );

    let json = write(
        p,
        "bad.jsonl",
        b"{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\"}\n",
    );
    let e = error(&text(&json));
    assert!(
        e.contains("bad.jsonl: line 2: no string field `label`"),
        "{e}"
    );
    let json = write(
        p,
        "broken.jsonl",
        b"{\"text\": \"a\", \"label\": 1}\n{\"text\n",
    );
    let e = error(&text(&json));
    assert!(e.contains("broken.jsonl: line 2"), "{e}");

    let nan = write(p, "nan.csv", b"a,y\n1,x\nNaN,z\n");
    let e = error(&tabular(&nan));
    assert!(e.contains("nan.csv: line 3: column `a`: not finite"), "{e}");
    let word = write(p, "word.csv", b"a,y\n1,x\nten,z\n");
    let e = error(&tabular(&word));
    assert!(
        e.contains("word.csv: line 3: column `a`: `ten` is not a number"),
        "{e}"
    );
    let no_features = write(p, "nofeat.csv", b"y\nx\nz\n");
    let e = error(&tabular(&no_features));
    assert!(e.contains("nofeat.csv: line 1: no feature columns"), "{e}");

    let e = error(&text(&p.join("absent.csv")));
    assert!(e.contains("absent.csv"), "{e}");
    let sub = p.join("imgs").join("a");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("x.png"), b"not a png").unwrap();
    let e = error(&DataSource::ImageFolder {
        path: p.join("imgs"),
    });
    assert!(e.contains("x.png"), "{e}");
}
