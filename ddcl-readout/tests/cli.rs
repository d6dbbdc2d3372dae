//! The commands end to end on the tiny text model: `ddcl-train` on a small CSV writes a
//! checkpoint that loads, `ddcl-embed --checkpoint` embeds with it, and a failed `ddcl-embed`
//! leaves an existing output file as it was.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use candle_core::Device;
use ddcl_readout::{load_checkpoint, readout_from_checkpoint};

const SENTENCES: [(&str, &str); 8] = [
    ("good film loved it", "pos"),
    ("bad film hated it", "neg"),
    ("great fun movie", "pos"),
    ("awful boring movie", "neg"),
    ("the story was funny and the music great", "pos"),
    ("the plot was slow and sad", "neg"),
    ("loved the actor", "pos"),
    ("hated the ending", "neg"),
];

/// A folder with the tiny model in `model/`, labelled sentences in `data.csv` and a run config
/// with `classes` classes in `run.yaml`.
fn setup(classes: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    ddcl_readout::tiny::text_model(&model, 1).unwrap();
    let rows: String = SENTENCES
        .iter()
        .map(|(t, l)| format!("{t},{l}\n"))
        .collect();
    std::fs::write(dir.path().join("data.csv"), format!("text,label\n{rows}")).unwrap();
    let yaml = format!(
        "model: {{kind: text, id: {model}}}
readout: {{prototypes: 4, tau: 2.0, init: kmeans++, pooling: [mixture, mean]}}
classes: {classes}
train:
  epochs: 1
  batch_size: 4
  lr_encoder: 1.0e-4
  lr_prototypes: 5.0e-2
  lr_head: 1.0e-2
  lambda: 0.1
  encoder: 1
  checkpoint: {ckpt}
",
        model = model.display(),
        ckpt = dir.path().join("unused/checkpoint.safetensors").display(),
    );
    std::fs::write(dir.path().join("run.yaml"), yaml).unwrap();
    dir
}

fn run(bin: &str, args: &[&dyn AsRef<std::ffi::OsStr>]) -> Output {
    Command::new(bin).args(args).output().unwrap()
}

fn train(dir: &Path) -> Output {
    run(
        env!("CARGO_BIN_EXE_ddcl-train"),
        &[
            &"--config",
            &dir.join("run.yaml"),
            &"--data",
            &dir.join("data.csv"),
            &"--out",
            &dir.join("out"),
            &"--seed",
            &"5",
        ],
    )
}

fn embed(dir: &Path, checkpoint: &Path, output: Option<&Path>) -> Output {
    let input = dir.join("in.txt");
    let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![
        &"--checkpoint",
        &checkpoint,
        &"--pooling",
        &"mixture,mean",
        &"--input",
        &input,
    ];
    if let Some(out) = &output {
        args.extend([&"--output" as &dyn AsRef<std::ffi::OsStr>, out]);
    }
    run(env!("CARGO_BIN_EXE_ddcl-embed"), &args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn train_writes_a_checkpoint_that_embed_uses() {
    let dir = setup(2);
    let out = train(dir.path());
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "ddcl-train failed: {stderr}");
    assert!(
        stderr.contains("classes: 0 = neg, 1 = pos") && stderr.contains("epoch 1/1"),
        "{stderr}"
    );
    let ckpt = dir.path().join("out/checkpoint.safetensors");
    assert_eq!(PathBuf::from(text(&out.stdout).trim()), ckpt);
    assert!(dir.path().join("out/steps.jsonl").is_file());
    assert!(!dir.path().join("unused").exists());
    let (tensors, meta) = load_checkpoint(&ckpt, &Device::Cpu).unwrap();
    assert_eq!(meta["epoch"], "1");
    assert!(tensors.keys().any(|k| k.starts_with("encoder.")));
    let (readout, cfg) = readout_from_checkpoint(&ckpt, 16, &Device::Cpu).unwrap();
    assert_eq!((cfg.classes, cfg.train.seed), (2, 5));

    let lines = ["the cat sat on the mat", "a good movie", "not very fun"];
    std::fs::write(dir.path().join("in.txt"), lines.join("\n")).unwrap();
    let out = embed(dir.path(), &ckpt, None);
    assert!(out.status.success(), "ddcl-embed: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let records: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), lines.len());
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["line"], i + 1);
        assert_eq!(r["text"], lines[i]);
        let v = r["vector"].as_array().unwrap();
        assert_eq!(v.len(), readout.width()); // mixture ⊕ mean = 2 x 16
        assert!(v.iter().all(|x| x.as_f64().unwrap().is_finite()));
    }

    // the same records into a file, replaced only when complete
    let file = dir.path().join("vectors.jsonl");
    std::fs::write(&file, "old\n").unwrap();
    let out = embed(dir.path(), &ckpt, Some(&file));
    assert!(out.status.success(), "ddcl-embed: {}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), stdout);
}

#[test]
fn a_class_count_other_than_the_config_says_is_an_error() {
    let dir = setup(3);
    let out = train(dir.path());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("data.csv: 2 classes (neg, pos), but the config says `classes: 3`"),
        "{stderr}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn a_failed_embed_leaves_the_output_file_intact() {
    let dir = setup(2);
    std::fs::write(dir.path().join("in.txt"), "good film\n").unwrap();
    let file = dir.path().join("vectors.jsonl");
    std::fs::write(&file, "keep me\n").unwrap();
    // a safetensors file that is not a ddcl checkpoint
    let not_a_checkpoint = dir.path().join("model/model.safetensors");
    let out = embed(dir.path(), &not_a_checkpoint, Some(&file));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("not a ddcl checkpoint"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
    // the input file as output is refused
    let out = run(
        env!("CARGO_BIN_EXE_ddcl-embed"),
        &[
            &"--model",
            &dir.path().join("model"),
            &"--input",
            &file,
            &"--output",
            &file,
        ],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("is the --input file"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp-")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn train_reads_an_image_folder_for_an_image_model() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    ddcl_readout::tiny::image_model(&model, 1).unwrap();
    for (class, shade) in [("dark", 30u8), ("light", 220)] {
        let sub = dir.path().join("images").join(class);
        std::fs::create_dir_all(&sub).unwrap();
        for i in 0..2u8 {
            image::RgbImage::from_pixel(28, 28, image::Rgb([shade, shade + i, shade]))
                .save(sub.join(format!("{i}.png")))
                .unwrap();
        }
    }
    let yaml = format!(
        "model: {{kind: image, id: {}}}
readout: {{prototypes: 2, tau: 1.0, init: kmeans++, pooling: [mixture, cls]}}
classes: 2
train: {{epochs: 1, batch_size: 2, lr_encoder: 0.0, lr_prototypes: 1.0e-2, lr_head: 1.0e-2,
  lambda: 0.1, encoder: frozen}}
",
        model.display()
    );
    std::fs::write(dir.path().join("run.yaml"), yaml).unwrap();
    let out = run(
        env!("CARGO_BIN_EXE_ddcl-train"),
        &[
            &"--config",
            &dir.path().join("run.yaml"),
            &"--data",
            &dir.path().join("images"),
            &"--out",
            &dir.path().join("out"),
        ],
    );
    assert!(out.status.success(), "ddcl-train: {}", text(&out.stderr));
    let ckpt = dir.path().join("out/checkpoint.safetensors");
    let (tensors, _) = load_checkpoint(&ckpt, &Device::Cpu).unwrap();
    // a frozen encoder is not stored
    assert!(!tensors.keys().any(|k| k.starts_with("encoder.")));
    let (readout, _) = readout_from_checkpoint(&ckpt, 8, &Device::Cpu).unwrap();
    assert_eq!(readout.width(), 16);
}

/// `ddcl-embed` with the tiny model on `input`, writing `output`.
fn embed_file(dir: &Path, input: &Path, output: &Path) -> Output {
    run(
        env!("CARGO_BIN_EXE_ddcl-embed"),
        &[
            &"--model",
            &dir.join("model"),
            &"--input",
            &input,
            &"--output",
            &output,
        ],
    )
}

#[test]
fn embed_never_destroys_a_file_and_names_every_path() {
    let dir = setup(2);
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "good film\n").unwrap();
    let file = dir.path().join("vectors.jsonl");
    std::fs::write(&file, "keep me\n").unwrap();
    // non-UTF-8 input: the existing output stays as it was (it was left at 0 bytes)
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, b"\xff\xfe good\n").unwrap();
    let out = embed_file(dir.path(), &bad, &file);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("bad.txt"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
    // the input as output through another spelling of its path (it was emptied, exit 0)
    let other = dir.path().join("model/../in.txt");
    let out = embed_file(dir.path(), &input, &other);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("is the --input file"));
    assert_eq!(std::fs::read_to_string(&input).unwrap(), "good film\n");
    // a missing input is named
    let out = embed_file(dir.path(), &dir.path().join("missing.txt"), &file);
    assert!(
        text(&out.stderr).contains("missing.txt: No such file"),
        "{}",
        text(&out.stderr)
    );
    // something that is not a regular file is refused, not renamed over (as root, `--output
    // /dev/null` replaced the device with a regular file); a folder stands for it here
    let folder = dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    let out = embed_file(dir.path(), &input, &folder);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("a-folder: not a regular file"), "{stderr}");
    assert!(folder.is_dir());
    // a symbolic link is followed: the file it points to is replaced, the link kept
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    let out = embed_file(dir.path(), &input, &link);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .starts_with("{\"line\":1"));
    // an output in a missing folder: the folder is made; one that cannot be made is named
    let nested = dir.path().join("new/sub/out.jsonl");
    let out = embed_file(dir.path(), &input, &nested);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(nested.is_file());
    let blocked = dir.path().join("in.txt/sub/out.jsonl");
    let out = embed_file(dir.path(), &input, &blocked);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("in.txt/sub"),
        "{}",
        text(&out.stderr)
    );
}
