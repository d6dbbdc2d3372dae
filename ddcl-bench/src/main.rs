//! `ddcl-bench`: DDCL readout vs mean pooling vs CLS, quality and speed.
//!
//! Not built yet: its issue fills this binary. Until then the README's first command runs the
//! ddcl-core example `prototypes`.

fn main() {
    eprintln!(
        "ddcl-bench is not built yet; run `cargo run --release -p ddcl-core --example prototypes`"
    );
    std::process::exit(2);
}
