"""The paper's separation experiment on Asterisk voices (see run.sh). Every number comes from
the innmf command line; sox only cuts and concatenates the prompts, h5py only writes the
carried-NMF control's templates (carry_templates)."""
import argparse
import glob
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import time

SOUNDS = "/usr/share/asterisk/sounds"
VOICES = ["en_US_f_Allison", "fr_CA_f_June", "it_IT_m_Carlo", "it_IT_f_Menardi", "ru_RU_f_IvrvoiceRU"]
SCALES = [0.5, 0.75, 1.0, 1.25]
RATE = 8000
CARRIED = "NMF, carried from 1×"


def run(cmd):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True)


def prompts(voice):
    """The voice's prompts (WAV, or GSM for the asterisk-prompt-* packages), sorted."""
    files = sorted(f for ext in ("wav", "gsm") for f in glob.glob(os.path.join(SOUNDS, voice, "**", f"*.{ext}"),
                                                                  recursive=True))
    if not files:
        raise SystemExit(f"no prompts for {voice} under {SOUNDS}: install its Debian package")
    return files


def make_voice(voice, work):
    """20 s of training speech from the first prompts, 5 s of test speech from the last ones."""
    train, test = os.path.join(work, f"{voice}_train.wav"), os.path.join(work, f"{voice}_test.wav")
    if not (os.path.exists(train) and os.path.exists(test)):
        files = prompts(voice)
        half = len(files) // 2
        # Remove silences longer than 0.2 s (the prompts start and end with silence), then cut.
        squeeze = ["silence", "1", "0.05", "0.5%", "-1", "0.2", "0.5%"]
        run(["sox", *files[:half], "-r", RATE, "-c", 1, "-b", 16, train, *squeeze, "trim", 0, 20])
        run(["sox", *files[half:], "-r", RATE, "-c", 1, "-b", 16, test, *squeeze, "trim", 0, 5])
    return train, test


def mixture(a, b, work):
    """0 dB mixture of two test signals: both scaled to the same RMS; the references are the
    scaled signals, so they add up to the mixture exactly."""
    name = f"{a[0]}+{b[0]}"
    refs = [os.path.join(work, f"{name}_ref_{v}.wav") for v, _ in (a, b)]
    mix = os.path.join(work, f"{name}_mix.wav")
    if not os.path.exists(mix):
        for (voice, test), ref in zip((a, b), refs):
            rms = float(run(["sox", test, "-n", "stat"]).stderr.split("RMS     amplitude:")[1].split()[0])
            run(["sox", "-v", f"{0.05 / rms:.6f}", test, "-e", "floating-point", "-b", 32, ref])
        run(["sox", "-m", *refs, "-e", "floating-point", "-b", 32, mix])
    return mix, refs


def separate(innmf, mix, models, refs, n_fft, work, tag, extra=(), hop=None):
    """`innmf separate` at n_fft (hop: n_fft / 2, the paper's); its JSON line."""
    metrics = os.path.join(work, f"{tag}.json")
    out = os.path.join(work, tag)
    cmd = [innmf, "separate", mix, "-o", out, "--n-fft", n_fft, "--hop", hop or n_fft // 2, "--metrics", metrics, "-q",
           *extra]
    for m in models:
        cmd += ["--model", m]
    for r in refs:
        cmd += ["--ref", r]
    run(cmd)
    with open(metrics) as f:
        return json.loads(f.readline())


def carry_templates(source, like, path):
    """The control CARRIED: the classic model `source` (trained at the experiment's training size)
    with its templates linearly interpolated in frequency to the bins of `like` (a classic model
    of another size), i.e. what `--template-sampling grid` does to iN-NMF's templates, written as
    a copy of `like` so that `innmf separate` takes it at that size. Only W is used there."""
    import h5py  # Debian's python3-h5py; imported here: only this control needs it
    import numpy as np
    with h5py.File(source, "r") as f:
        W, freqs = f["templates/W"][:], f["templates/freqs"][:]
    shutil.copy(like, path)
    with h5py.File(path, "r+") as f:
        bins = f["templates/freqs"][:]
        f["templates/W"][...] = np.stack([np.interp(bins, freqs, W[:, k]) for k in range(W.shape[1])], axis=1)


def matches(row, where):
    return all(row[k] == v for k, v in where.items())


def pair_means(rows, key, **where):
    """`key` of the rows matching `where`, each pair's values averaged over the seeds; pairs in a
    fixed order, so that two such lists can be differenced pair by pair."""
    out = {}
    for x in rows:
        if matches(x, where):
            out.setdefault(tuple(x["pair"]), []).append(x[key])
    return [statistics.mean(v) for _, v in sorted(out.items())]


def seed_means(rows, seeds, key="sdr", **where):
    """`key` of the rows matching `where`, averaged over the pairs, one value per seed."""
    return [statistics.mean(x[key] for x in rows if x["seed"] == seed and matches(x, where)) for seed in seeds]


METRICS = ("sdr", "sir", "sar", "si_sdr")


def summary_table(rows, scales, sizes, methods, seeds, scoring=""):
    """Prints, per size and method, each metric's mean ± standard deviation over the pairs of
    each pair's value averaged over the seeds, and each seed's mean SDR; returns those cells."""
    print(f"Each cell: mean ± standard deviation over the pairs of each pair's metric averaged over {len(seeds)} "
          f"training seed(s){scoring}; the last column gives the mean SDR of each seed alone.\n")
    print("| scale | n_fft | method | SDR (dB) | SIR (dB) | SAR (dB) | SI-SDR (dB) | SDR per seed (dB) |")
    print("|---|---|---|---|---|---|---|---|")
    summary = []
    for scale, n_fft in zip(scales, sizes):
        for method in methods:
            s = {"scale": scale, "n_fft": n_fft, "method": method, "seeds": len(seeds)}
            cells = []
            for k in METRICS:
                values = pair_means(rows, k, n_fft=n_fft, method=method)
                s["pairs"] = len(values)
                s[k] = {"mean": statistics.mean(values), "std": statistics.stdev(values)}
                cells.append(f"{s[k]['mean']:.2f} ± {s[k]['std']:.2f}")
            s["sdr_per_seed"] = seed_means(rows, seeds, n_fft=n_fft, method=method)
            summary.append(s)
            print(f"| {scale:g}× | {n_fft} | {method} | " + " | ".join(cells) + " | "
                  + " / ".join(f"{v:.2f}" for v in s["sdr_per_seed"]) + " |")
    return summary


def paired_differences(rows, scales, sizes, method, baseline):
    """Prints and returns, per size, `method` − `baseline` of the seed-averaged SDR: mean ±
    standard error over the pairs and the pairs where `method` is at least as good."""
    print(f"\nPaired difference {method} − {baseline} of the seed-averaged SDR (mean ± standard error over the "
          f"pairs):\n")
    print(f"| scale | n_fft | ΔSDR (dB) | pairs where {method} ≥ {baseline} |")
    print("|---|---|---|---|")
    out = []
    for scale, n_fft in zip(scales, sizes):
        d = [x - y for x, y in zip(pair_means(rows, "sdr", n_fft=n_fft, method=method),
                                   pair_means(rows, "sdr", n_fft=n_fft, method=baseline))]
        mean, se = statistics.mean(d), statistics.stdev(d) / len(d) ** 0.5
        out.append({"method": method, "baseline": baseline, "scale": scale, "n_fft": n_fft, "mean": mean,
                    "standard_error": se, "pairs_ahead": sum(x >= 0 for x in d), "pairs": len(d)})
        print(f"| {scale:g}× | {n_fft} | {mean:+.2f} ± {se:.2f} | {sum(x >= 0 for x in d)}/{len(d)} |")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--innmf", required=True)
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--n-fft", type=int, default=1000)
    ap.add_argument("--rank", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3,
                    help="train every model with --seed 0..N-1 and average each pair's metrics over them: at 10 "
                         "pairs the mean SDR of one seed moves by ~0.3 dB between seeds, more than the "
                         "differences being judged")
    ap.add_argument("--variant", action="append", default=None, metavar="LABEL=OPTIONS",
                    help="also train iN-NMF with these `innmf train` options and report it as its own method "
                         "(repeatable; default: 'sine-scale 4=--sine-scale 4', the scale validate.sh chooses on held-out "
                         "voices; 'none' for none)")
    ap.add_argument("--voices", default=",".join(VOICES),
                    help="comma-separated voice directories under " + SOUNDS + " (default: the five test voices; "
                         "validate.sh passes held-out ones)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--command", default="")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    started = time.time()
    sizes = [int(round(s * a.n_fft)) for s in SCALES]
    voice_names = a.voices.split(",")
    voices = {v: make_voice(v, a.work) for v in voice_names}

    seeds = range(a.seeds)
    # iN-NMF variants: label → extra `innmf train` options ("" is the paper's model: innmf's
    # defaults with the paper's initialisation, --sine-scale 1).
    variants = {"": ["--sine-scale", "1"]}
    for spec in a.variant if a.variant is not None else ["sine-scale 4=--sine-scale 4"]:
        if spec != "none":
            label, options = spec.split("=", 1)
            variants[label] = options.split()
    neural, classic, carried = {}, {}, {}
    for voice, (train, _) in voices.items():
        points = os.path.join(a.work, f"{voice}_points.h5")
        run([a.innmf, "features", train, "-o", points, "--n-fft", a.n_fft, "--hop", a.n_fft // 2, "-q"])
        for seed in seeds:
            for label, options in variants.items():
                stem = f"{voice}_s{seed}" + (f"_{label.replace(' ', '_')}" if label else "")
                neural[voice, seed, label] = os.path.join(a.work, stem + ".h5")
                run([a.innmf, "train", points, "-o", neural[voice, seed, label], "--rank", a.rank, "--epochs",
                     a.epochs, "--seed", seed, "-q", *options])
            for n_fft in sizes:
                classic[voice, n_fft, seed] = os.path.join(a.work, f"nmf{n_fft}", f"{voice}_s{seed}.h5")
                os.makedirs(os.path.dirname(classic[voice, n_fft, seed]), exist_ok=True)
                run([a.innmf, "nmf", train, "-o", classic[voice, n_fft, seed], "--rank", a.rank, "--n-fft", n_fft,
                     "--hop", n_fft // 2, "--seed", seed, "-q"])
        for n_fft, seed in itertools.product(sizes, seeds):
            carried[voice, n_fft, seed] = classic[voice, n_fft, seed]
            if n_fft != a.n_fft:
                carried[voice, n_fft, seed] = os.path.join(a.work, f"nmf{a.n_fft}to{n_fft}", f"{voice}_s{seed}.h5")
                os.makedirs(os.path.dirname(carried[voice, n_fft, seed]), exist_ok=True)
                carry_templates(classic[voice, a.n_fft, seed], classic[voice, n_fft, seed], carried[voice, n_fft, seed])
        print(f"trained {voice} ({time.time() - started:.0f} s)", flush=True)

    inn_methods = ["iN-NMF"] + [f"iN-NMF, {label}" for label in variants if label]
    methods = (*inn_methods, "iN-NMF direct", "NMF", CARRIED)
    rows = []
    for va, vb in itertools.combinations(voice_names, 2):
        mix, refs = mixture((va, voices[va][1]), (vb, voices[vb][1]), a.work)
        for n_fft, seed in itertools.product(sizes, seeds):
            runs = [("iN-NMF" + (f", {label}" if label else ""), [neural[va, seed, label], neural[vb, seed, label]], [])
                    for label in variants]
            runs += [("iN-NMF direct", [neural[va, seed, ""], neural[vb, seed, ""]], ["--template-sampling", "direct"]),
                     ("NMF", [classic[va, n_fft, seed], classic[vb, n_fft, seed]], []),
                     (CARRIED, [carried[va, n_fft, seed], carried[vb, n_fft, seed]], [])]
            for method, models, extra in runs:
                if method == CARRIED and n_fft == a.n_fft:  # the NMF models themselves: reuse their row
                    assert rows[-1]["method"] == "NMF" and rows[-1]["n_fft"] == n_fft
                    rows.append({**rows[-1], "method": CARRIED})
                    continue
                tag = f"{va}+{vb}_{method.replace(' ', '_').replace(',', '')}_{n_fft}_s{seed}"
                r = separate(a.innmf, mix, models, refs, n_fft, a.work, tag, extra)
                rows.append({"pair": [va, vb], "n_fft": n_fft, "method": method, "seed": seed,
                             **{k: r[k] for k in METRICS}, "per_source": r["per_source"]})

    summary = summary_table(rows, SCALES, sizes, methods, seeds)
    # The paired differences, for the paper's iN-NMF (the verdict) and every variant, against NMF
    # retrained at each size (the target) and against CARRIED (the same information as iN-NMF:
    # one training size).
    verdicts, differences = {}, []
    for baseline, method in itertools.product(("NMF", CARRIED), inn_methods):
        differences += paired_differences(rows, SCALES, sizes, method, baseline)
        if baseline == "NMF":
            verdicts[method] = [d["mean"] >= 0 for d in differences[-len(sizes):]]
    pairs = differences[-1]["pairs"]
    for method in inn_methods:
        what = ("the paper's model, --sine-scale 1" if method == "iN-NMF" else
                "innmf's defaults" if method == "iN-NMF, sine-scale 4" else "a variant")
        print(f"\n{method} ({what}; --template-sampling grid) at least as good as classic NMF (mean SDR) at every "
              f"size: {'PASS' if all(verdicts[method]) else 'FAIL'} ({pairs} pairs × {a.seeds} seeds)")
    print(f"\n({time.time() - started:.0f} s)")
    with open(a.json, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "command": a.command,
                   "machine": platform.processor() or platform.machine(), "nproc": os.cpu_count(),
                   "epochs": a.epochs, "rank": a.rank, "train_n_fft": a.n_fft, "voices": voice_names,
                   "seeds": a.seeds, "variants": variants, "rows": rows, "summary": summary,
                   "differences": differences, "pass": all(verdicts["iN-NMF"]),
                   "pass_by_method": {m: all(v) for m, v in verdicts.items()}}, f, indent=1)


if __name__ == "__main__":
    main()
