"""Classic NMF's separation quality against the STFT window size (see window_sweep.sh). Every
number comes from the innmf command line, through paper_experiment.py's helpers: the same voices,
training and test speech, mixtures, rank, hop (N / 2) and seeds as the paper's experiment, with
NMF trained and separating at each size in turn (the diagonal of carry_matrix.py, at more sizes).
Prints a table of mean SDR/SIR/SAR per size and set of voices and writes a JSON file."""
import argparse
import itertools
import json
import os
import platform
import statistics
import time

import paper_experiment as pe

HELD_OUT = "es,fr,es_MX_f_Allison"  # validate.sh's voices: never in the experiment's test pairs


def sweep(innmf, voice_names, sizes, seeds, rank, work):
    """NMF retrained at every size, separating every pair's 0 dB mixture at that size: a list of
    rows {set, pair, n_fft, seed, sdr, sir, sar, si_sdr}."""
    os.makedirs(work, exist_ok=True)
    voices = {v: pe.make_voice(v, work) for v in voice_names}
    rows = []
    for n_fft, seed in itertools.product(sizes, seeds):
        models = {}
        for voice, (train, _) in voices.items():
            models[voice] = os.path.join(work, f"nmf{n_fft}", f"{voice}_s{seed}.h5")
            os.makedirs(os.path.dirname(models[voice]), exist_ok=True)
            if not os.path.exists(models[voice]):
                pe.run([innmf, "nmf", train, "-o", models[voice], "--rank", rank, "--n-fft", n_fft,
                        "--hop", n_fft // 2, "--seed", seed, "-q"])
        for va, vb in itertools.combinations(voice_names, 2):
            mix, refs = pe.mixture((va, voices[va][1]), (vb, voices[vb][1]), work)
            r = pe.separate(innmf, mix, [models[va], models[vb]], refs, n_fft, work, f"{va}+{vb}_NMF_{n_fft}_s{seed}")
            rows.append({"pair": [va, vb], "n_fft": n_fft, "seed": seed, **{k: r[k] for k in pe.METRICS}})
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--innmf", required=True)
    ap.add_argument("--sizes", default="250,375,500,750,1000,1250,1500,1750,2000,2500,3000",
                    help="comma-separated STFT window sizes [samples at 8 kHz]")
    ap.add_argument("--rank", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--work", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--command", default="")
    a = ap.parse_args()
    started = time.time()
    sizes = [int(s) for s in a.sizes.split(",")]
    seeds = range(a.seeds)
    sets = {"held-out": HELD_OUT.split(","), "test": pe.VOICES}
    rows = {name: sweep(a.innmf, voices, sizes, seeds, a.rank, os.path.join(a.work, name))
            for name, voices in sets.items()}

    print(f"Classic NMF (rank {a.rank}, KL, hop N/2) trained and separating at each size; each cell: mean ± "
          f"standard deviation over the pairs of each pair's metric averaged over {a.seeds} seeds.\n")
    print("| n_fft | ms at 8 kHz | voices | pairs | SDR (dB) | SIR (dB) | SAR (dB) |")
    print("|---|---|---|---|---|---|---|")
    summary = []
    for n_fft, name in itertools.product(sizes, sets):
        cells = {}
        for k in ("sdr", "sir", "sar"):
            values = pe.pair_means(rows[name], k, n_fft=n_fft)
            cells[k] = (statistics.mean(values), statistics.stdev(values))
        summary.append({"n_fft": n_fft, "voices": name, "pairs": len(values),
                        **{k: {"mean": m, "std": s} for k, (m, s) in cells.items()}})
        print(f"| {n_fft} | {1000 * n_fft / pe.RATE:g} | {name} | {len(values)} | "
              + " | ".join(f"{m:.2f} ± {s:.2f}" for m, s in cells.values()) + " |")
    best = {name: max((s for s in summary if s["voices"] == name), key=lambda s: s["sdr"]["mean"])["n_fft"]
            for name in sets}
    print(f"\nBest size by mean SDR: held-out voices {best['held-out']}, test voices {best['test']} "
          f"({time.time() - started:.0f} s)")
    with open(a.json, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "command": a.command,
                   "machine": platform.processor() or platform.machine(), "nproc": os.cpu_count(),
                   "rank": a.rank, "seeds": a.seeds, "sizes": sizes, "voices": sets, "best": best,
                   "summary": summary, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
