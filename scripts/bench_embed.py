"""ddcl-embed against sentence-transformers on the same sentences, side by side (bench_embed.sh
sets up both and calls this).

    python bench_embed.py --data rotten_tomatoes.csv --embed target/release/ddcl-embed \
        [--n 1000] [--batch 32] [--threads 2] [--repeats 2]

Takes the first N texts of the CSV (newlines folded to spaces), then for each repeat embeds
them with sentence-transformers (all-MiniLM-L6-v2, mean pooling and normalisation, as the
model ships; the time is that of `encode` alone, model already loaded) and with ddcl-embed
(the time is the whole process: loading, tokenizing, encoding, writing JSON), both with
`--threads` threads and batches of `--batch`. Prints both times, the ratio (sentence-
transformers' time over ddcl-embed's: above 1 means ddcl-embed is faster) and the worst cosine
between the two vectors of a sentence.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def sentences(path: str, n: int) -> list:
    with open(path, newline="", encoding="utf-8") as f:
        texts = [" ".join(row["text"].split()) for row in csv.DictReader(f)]
    texts = [t for t in texts if t][:n]
    if len(texts) < n:
        sys.exit(f"bench_embed: {path} has only {len(texts)} texts, {n} wanted")
    return texts


def run_ddcl(embed: str, texts: list, batch: int, threads: int, work: str):
    src = os.path.join(work, "sentences.txt")
    out = os.path.join(work, "vectors.jsonl")
    with open(src, "w", encoding="utf-8") as f:
        f.write("\n".join(texts) + "\n")
    env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
    cmd = [embed, "--model", MODEL, "--pooling", "mean", "--normalize",
           "--batch-size", str(batch), "--input", src, "--output", out]
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True)
    seconds = time.perf_counter() - start
    with open(out, encoding="utf-8") as f:
        vectors = [json.loads(line)["vector"] for line in f]
    return seconds, vectors


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--embed", required=True)
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2)
    a = p.parse_args()

    import numpy as np
    import sentence_transformers
    import torch

    torch.set_num_threads(a.threads)
    model = sentence_transformers.SentenceTransformer(MODEL, device="cpu")
    texts = sentences(a.data, a.n)
    print(f"{len(texts)} sentences, batch {a.batch}, {a.threads} threads each; "
          f"torch {torch.__version__}, sentence-transformers {sentence_transformers.__version__}")
    model.encode(texts[: a.batch], batch_size=a.batch)  # warm-up
    with tempfile.TemporaryDirectory() as work:
        for r in range(1, a.repeats + 1):
            start = time.perf_counter()
            st = model.encode(texts, batch_size=a.batch, convert_to_numpy=True)
            st_seconds = time.perf_counter() - start
            ddcl_seconds, ddcl = run_ddcl(a.embed, texts, a.batch, a.threads, work)
            ddcl = np.asarray(ddcl, dtype=np.float64)
            st = np.asarray(st, dtype=np.float64)
            cos = (ddcl * st).sum(1) / (np.linalg.norm(ddcl, axis=1) * np.linalg.norm(st, axis=1))
            print(f"run {r}: sentence-transformers {st_seconds:.2f} s, ddcl-embed {ddcl_seconds:.2f} s, "
                  f"ratio {st_seconds / ddcl_seconds:.2f} (>1: ddcl-embed faster), "
                  f"worst cosine {cos.min():.8f}")


if __name__ == "__main__":
    main()
