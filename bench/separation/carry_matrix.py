"""Which size matters, the templates' training size or the separation's? After run.sh, every
classic NMF model of the experiment (trained at 0.5×–1.25× N, three seeds) is carried to every
other size's bins (carry_templates: linear interpolation, what `--template-sampling grid` does to
iN-NMF's templates) and separates every pair's mixture there. Prints the mean SDR over the pairs
and seeds for each (training size, separation size) and writes bench/out/carry_matrix.json.

    /usr/bin/python3 bench/separation/carry_matrix.py [--innmf BINARY] [--jobs 2]

Reads bench/out/separation_n1000 (run.sh's models, mixtures and references at N = 1000: run
that first; --work for another N); ~5 minutes on 2 cores (480 separations)."""
import argparse
import itertools
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paper_experiment as experiment  # noqa: E402  (the experiment's voices, sizes and helpers)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--innmf", default=os.path.join(REPO, "build", "drivers", "innmf"))
    ap.add_argument("--work", default=os.path.join(REPO, "bench", "out", "separation_n1000"),
                    help="run.sh's work folder of one training size, beside its JSON record")
    ap.add_argument("--json", default=os.path.join(REPO, "bench", "out", "carry_matrix.json"))
    ap.add_argument("--jobs", type=int, default=2, help="separations run at once")
    a = ap.parse_args()
    with open(a.work.rstrip("/") + ".json") as f:
        run = json.load(f)  # run.sh's record: its voices, seeds and training size
    voices, seeds = run["voices"], range(run["seeds"])
    sizes = [int(round(s * run["train_n_fft"])) for s in experiment.SCALES]
    started = time.time()

    def classic(n_fft, voice, seed):
        path = os.path.join(a.work, f"nmf{n_fft}", f"{voice}_s{seed}.h5")
        if not os.path.exists(path):
            raise SystemExit(f"no {path}: run bench/separation/run.sh first")
        return path

    def carried(trained, used, voice, seed):
        """The model of size `trained` with its templates at the bins of size `used`."""
        if trained == used:
            return classic(trained, voice, seed)
        path = os.path.join(a.work, "carry_matrix", f"nmf{trained}to{used}", f"{voice}_s{seed}.h5")
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            experiment.carry_templates(classic(trained, voice, seed), classic(used, voice, seed), path)
        return path

    cases = list(itertools.product(sizes, sizes, itertools.combinations(voices, 2), seeds))
    work = os.path.join(a.work, "carry_matrix")
    for trained, used, (va, vb), seed in cases:  # h5py writes, one at a time
        carried(trained, used, va, seed), carried(trained, used, vb, seed)

    def separate(case):
        trained, used, (va, vb), seed = case
        mix, refs = experiment.mixture((va, None), (vb, None), a.work)  # run.sh wrote them
        if not os.path.exists(mix):
            raise SystemExit(f"no {mix}: run bench/separation/run.sh first")
        models = [carried(trained, used, va, seed), carried(trained, used, vb, seed)]
        tag = f"{va}+{vb}_{trained}to{used}_s{seed}"
        return case, experiment.separate(a.innmf, mix, models, refs, used, work, tag)["sdr"]

    with ThreadPoolExecutor(a.jobs) as pool:
        results = list(pool.map(separate, cases))
    sdr = {}
    for (trained, used, _, _), value in results:
        sdr.setdefault((trained, used), []).append(value)

    print(f"Classic NMF trained at one size (rows) separating at another (columns): mean SDR [dB] over "
          f"{len(voices) * (len(voices) - 1) // 2} pairs × {len(seeds)} seeds; the diagonal is NMF retrained "
          f"at each size, row {run['train_n_fft']} the control 'NMF, carried from 1×'.\n")
    print("| trained at \\ separates at | " + " | ".join(map(str, sizes)) + " |")
    print("|---|" + "---:|" * len(sizes))
    for trained in sizes:
        print(f"| {trained} | " + " | ".join(f"{statistics.mean(sdr[trained, used]):.2f}" for used in sizes) + " |")
    print(f"\n({time.time() - started:.0f} s)")
    with open(a.json, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "sizes": sizes, "voices": voices, "seeds": len(seeds),
                   "models_from": run["date"],
                   "mean_sdr": {f"{t}->{u}": statistics.mean(v) for (t, u), v in sdr.items()},
                   "sdr": {f"{t}->{u}": v for (t, u), v in sdr.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
