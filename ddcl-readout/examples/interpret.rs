//! The readout is interpretable: which prototype each token goes to, and which tokens each
//! prototype gathers.
//!
//! ```text
//! cargo run --release -p ddcl-readout --example interpret
//! cargo run --release -p ddcl-readout --example interpret -- --input sentences.txt --prototypes 12
//! ```
use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use clap::Parser;
use ddcl_core::hard_assignment;
use ddcl_readout::{
    readout_from_checkpoint, AdamW, DdclReadout, Group, ModelSource, ReadoutConfig, TextEncoder,
    Weights,
};

const SENTENCES: [&str; 12] = [
    "The film was a delight from start to finish.",
    "A tedious, overlong mess with no redeeming qualities.",
    "The central bank raised interest rates by half a point.",
    "Shares fell sharply after the quarterly earnings report.",
    "The striker scored twice in the second half.",
    "The match ended in a goalless draw at the stadium.",
    "The new phone has a faster processor and a brighter screen.",
    "Engineers released a software update to fix the security flaw.",
    "The minister resigned after the parliamentary vote.",
    "Voters head to the polls in the general election on Thursday.",
    "Her performance in the lead role is simply stunning.",
    "The orbital debris was tracked by ground radar stations.",
];

/// Fits K prototypes on the token states of some sentences (k-means++ seeding, then steps on
/// L_SQ with the encoder frozen: the fast system alone), or loads them from a checkpoint, and
/// prints each token's prototype and the top tokens of each prototype.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Hub repo id or local model directory.
    #[arg(long, default_value = "sentence-transformers/all-MiniLM-L6-v2")]
    model: String,
    /// Sentences, one per line (default: a built-in mix of film, finance, sport, tech, politics).
    #[arg(long)]
    input: Option<PathBuf>,
    /// A ddcl training checkpoint to take the prototypes from instead of fitting them.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Number of prototypes K when fitting.
    #[arg(long, default_value_t = 8)]
    prototypes: usize,
    /// Temperature when fitting.
    #[arg(long, default_value_t = 20.0)]
    tau: f64,
    /// Optimisation steps on L_SQ after k-means++ seeding.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Learning rate of the prototypes.
    #[arg(long, default_value_t = 0.05)]
    lr: f64,
    /// Tokens listed per prototype.
    #[arg(long, default_value_t = 8)]
    top: usize,
    /// Seed of the k-means++ seeding.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = Device::Cpu;
    let encoder = TextEncoder::load(
        &ModelSource::new(&args.model),
        Weights::Frozen,
        DType::F32,
        &device,
    )?;
    let sentences: Vec<String> = match &args.input {
        Some(path) => std::io::BufReader::new(std::fs::File::open(path)?)
            .lines()
            .collect::<Result<_, _>>()?,
        None => SENTENCES.iter().map(|s| s.to_string()).collect(),
    };
    let batch = encoder.tokenize(&sentences)?;
    let h = encoder.forward(&batch)?;
    let readout = match &args.checkpoint {
        Some(path) => readout_from_checkpoint(path, encoder.hidden_size(), &device)?.0,
        None => fit(&args, &h, &batch.mask)?,
    };
    let out = readout.forward_masked(&h, Some(&batch.mask))?;
    let a = &out.assignment;
    println!(
        "K = {}, tau = {}, L_SQ = {:.3} = L_OLS {:.3} + V {:.3}\n",
        readout.config().prototypes,
        out.tau,
        a.losses.sq.to_scalar::<f32>()?,
        a.losses.ols.to_scalar::<f32>()?,
        a.losses.var.to_scalar::<f32>()?
    );
    let hard = hard_assignment(a)?.to_vec2::<u32>()?;
    let q = a.q.to_vec3::<f32>()?;
    let ids = batch.ids.to_vec2::<u32>()?;
    let mask = batch.mask.to_vec2::<u32>()?;
    let mut members: HashMap<u32, HashMap<String, (usize, f32)>> = HashMap::new();
    for (s, sentence) in sentences.iter().enumerate() {
        println!("{sentence}");
        let mut line = Vec::new();
        for t in (0..ids[s].len()).filter(|&t| mask[s][t] == 1) {
            let token = encoder
                .tokenizer()
                .id_to_token(ids[s][t])
                .unwrap_or_default();
            let k = hard[s][t];
            line.push(format!("{token}[{k}]"));
            let entry = members
                .entry(k)
                .or_default()
                .entry(token)
                .or_insert((0, 0.0));
            entry.0 += 1;
            entry.1 = entry.1.max(q[s][t][k as usize]);
        }
        println!("  {}\n", line.join(" "));
    }
    println!("top tokens per prototype (count, highest q):");
    for k in 0..readout.config().prototypes as u32 {
        let mut tokens: Vec<_> = members.remove(&k).unwrap_or_default().into_iter().collect();
        tokens.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(b.1 .1.total_cmp(&a.1 .1)));
        let shown: Vec<String> = tokens
            .iter()
            .take(args.top)
            .map(|(t, (n, q))| format!("{t} ({n}, {q:.2})"))
            .collect();
        println!(
            "  [{k}] {}",
            if shown.is_empty() {
                "(unused)".into()
            } else {
                shown.join(", ")
            }
        );
    }
    Ok(())
}

/// k-means++ seeding on the token states, then `steps` AdamW steps on L_SQ.
fn fit(args: &Args, h: &Tensor, mask: &Tensor) -> Result<DdclReadout, Box<dyn std::error::Error>> {
    let mut varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, h.device());
    let cfg = ReadoutConfig::new(args.prototypes, args.tau)?;
    let readout = DdclReadout::new(h.dim(2)?, &cfg, vb.pp("readout"))?;
    readout.init_kmeans_pp(&mut varmap, h, Some(mask), args.seed)?;
    let vars = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut opt = AdamW::new(
        vec![Group {
            name: "prototypes".into(),
            lr: args.lr,
            vars,
        }],
        0.0,
    )?;
    for _ in 0..args.steps {
        let out = readout.forward_masked(h, Some(mask))?;
        opt.step(&out.losses().sq.backward()?)?;
    }
    Ok(readout)
}
