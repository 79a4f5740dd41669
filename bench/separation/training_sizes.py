"""The paper's experiment at several training sizes, side by side (run.sh runs paper_experiment.py
once per size, then this). Reads each size's JSON record, prints per training size N and scale
the paired SDR difference of each iN-NMF model to classic NMF retrained at that scale's size (mean
± standard error over the pairs, pairs at or above NMF), the same difference averaged over the four
scales, and each model's verdict at every N, and writes one JSON file with all of them."""
import argparse
import json
import statistics
import time

import paper_experiment as pe


def table_head(columns):
    """A markdown table's header and rule."""
    print("| " + " | ".join(columns) + " |")
    print("|---" * len(columns) + "|")


def cell(mean, standard_error, ahead, pairs):
    return f"{mean:+.2f} ± {standard_error:.2f} ({ahead}/{pairs})"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("records", nargs="+", help="paper_experiment.py's JSON files, one per training size")
    ap.add_argument("--json", required=True)
    ap.add_argument("--command", default="")
    a = ap.parse_args()
    runs = []
    for path in a.records:
        with open(path) as f:
            runs.append(json.load(f))
    runs.sort(key=lambda r: r["train_n_fft"])
    methods = list(runs[0]["pass_by_method"])
    print("Paired difference iN-NMF − NMF retrained at each size, of the seed-averaged SDR [dB] (mean ± "
          "standard error over the pairs; pairs at or above NMF):\n")
    table_head(["training N", "scale", "n_fft", *(f"{m} − NMF" for m in methods)])
    table = []
    for run in runs:
        for row in (d for d in run["differences"] if d["baseline"] == "NMF" and d["method"] == methods[0]):
            cells = []
            for method in methods:
                d = next(x for x in run["differences"]
                         if x["baseline"] == "NMF" and x["method"] == method and x["n_fft"] == row["n_fft"])
                cells.append(cell(d["mean"], d["standard_error"], d["pairs_ahead"], d["pairs"]))
                table.append({"train_n_fft": run["train_n_fft"], **d})
            print(f"| {run['train_n_fft']} | {row['scale']:g}× | {row['n_fft']} | " + " | ".join(cells) + " |")
    print("\nThe same difference averaged over the four scales (each pair's mean over the scales; mean ± "
          "standard error over the pairs):\n")
    table_head(["training N", *(f"{m} − NMF" for m in methods)])
    over_scales = []
    for run in runs:
        sizes = sorted({d["n_fft"] for d in run["differences"]})
        cells = []
        for method in methods:
            per_size = [[x - y for x, y in zip(pe.pair_means(run["rows"], "sdr", n_fft=n, method=method),
                                               pe.pair_means(run["rows"], "sdr", n_fft=n, method="NMF"))]
                        for n in sizes]
            d = [statistics.mean(v) for v in zip(*per_size)]
            mean, se = statistics.mean(d), statistics.stdev(d) / len(d) ** 0.5
            over_scales.append({"train_n_fft": run["train_n_fft"], "method": method, "mean": mean,
                                "standard_error": se, "pairs_ahead": sum(x >= 0 for x in d), "pairs": len(d)})
            cells.append(cell(mean, se, sum(x >= 0 for x in d), len(d)))
        print(f"| {run['train_n_fft']} | " + " | ".join(cells) + " |")
    print("\nAt least as good as NMF (mean SDR) at every size:\n")
    table_head(["training N", *methods])
    for run in runs:
        print(f"| {run['train_n_fft']} | "
              + " | ".join("PASS" if run["pass_by_method"][m] else "FAIL" for m in methods) + " |")
    with open(a.json, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "command": a.command, "records": a.records,
                   "train_n_fft": [r["train_n_fft"] for r in runs], "differences": table,
                   "differences_over_scales": over_scales,
                   "pass_by_method": {m: {str(r["train_n_fft"]): r["pass_by_method"][m] for r in runs}
                                      for m in methods}}, f, indent=1)


if __name__ == "__main__":
    main()
