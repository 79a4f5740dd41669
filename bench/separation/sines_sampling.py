"""How iN-NMF models trained on sinusoidal peaks separate, under several ways of sampling their
templates at the STFT's bins: the speech pairs of paper_experiment.py (five Asterisk voices, 10
pairs, 8 kHz, 0 dB) or the instrument pairs of music_experiment.py (five FluidR3 instruments,
10 pairs, 44.1 kHz stereo). One sines model per voice or instrument (`features --repr sines`,
`train`, seed 0); every pair separated at one STFT by each VARIANT; a table of SDR/SIR/SAR mean
± standard deviation over the pairs, with the paired difference to the first variant (mean ±
standard error), and a JSON file.

A variant is LABEL=BINARY[,EXTRA OPTION...] for `innmf separate`, e.g.
    --variant "before=/tmp/innmf-old" --variant "after=build/drivers/innmf"
    --variant "direct=build/drivers/innmf,--template-sampling,direct"
so that two builds (a change and its baseline) or two options are compared on the same models.
The models are trained with the last variant's binary.

    python3 bench/separation/sines_sampling.py --data speech|music --variant ... [--epochs N]
        --work DIR --json FILE
"""
import argparse
import itertools
import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import music_experiment as music  # noqa: E402  (data: FluidR3 melodies and stereo mixtures)
import paper_experiment as paper  # noqa: E402  (data: Asterisk voices and 0 dB mixtures)

# Per data set: features options, separation STFT (hop n_fft / 2 for speech as the paper's
# experiment, / 4 for music as music.sh), default epochs.
DATA = {
    "speech": {"features": ["--n-fft", 1000, "--hop", 250, "--f-quantum", 4], "n_fft": 1000, "hop": 500, "epochs": 200},
    "music": {"features": ["--f-quantum", 2], "n_fft": 1024, "hop": 256, "epochs": 300},
}
METRICS = ("sdr", "sir", "sar")


def sources(data, work):
    """name → (training audio, test audio), and the pairs' (mixture, references) maker."""
    if data == "speech":
        voices = {v: paper.make_voice(v, work) for v in paper.VOICES}
        return voices, lambda a, b: paper.mixture((a, voices[a][1]), (b, voices[b][1]), work)
    tracks = {n: (music.render(n, "train", music.TRAIN_SECONDS, 1, work),
                  music.render(n, "test", music.TEST_SECONDS, 2, work)) for n in music.INSTRUMENTS}
    return tracks, lambda a, b: music.stereo_mixture((a, tracks[a][1]), (b, tracks[b][1]), work)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", choices=DATA, required=True)
    ap.add_argument("--variant", action="append", required=True, help="LABEL=BINARY[,OPTION...]; two or more")
    ap.add_argument("--epochs", type=int, default=0, help="training epochs (0: 200 for speech, 300 for music)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    variants = {}
    for spec in a.variant:
        label, _, rest = spec.partition("=")
        binary, *extra = rest.split(",")
        variants[label] = (binary, extra)
    if len(variants) < 2 or not all(b for b, _ in variants.values()):
        raise SystemExit("--variant LABEL=BINARY[,OPTION...]: give two or more")
    setting = DATA[a.data]
    epochs = a.epochs or setting["epochs"]
    trainer = list(variants.values())[-1][0]
    os.makedirs(a.work, exist_ok=True)
    started = time.time()
    tracks, make_mixture = sources(a.data, a.work)
    models = {}
    for name, (train, _) in tracks.items():
        points, models[name] = os.path.join(a.work, f"{name}_sines.h5"), os.path.join(a.work, f"{name}_sines_model.h5")
        paper.run([trainer, "features", train, "-o", points, "--repr", "sines", *setting["features"], "-q"])
        paper.run([trainer, "train", points, "-o", models[name], "--epochs", epochs, "--seed", 0, "-q"])
        print(f"trained {name} ({time.time() - started:.0f} s)", flush=True)

    rows = {label: [] for label in variants}
    for va, vb in itertools.combinations(tracks, 2):
        mix, refs = make_mixture(va, vb)
        for label, (binary, extra) in variants.items():
            tag = f"{va}+{vb}_{label.replace(' ', '_')}"
            result = paper.separate(binary, mix, [models[va], models[vb]], refs, setting["n_fft"], a.work, tag,
                                    extra=extra, hop=setting["hop"])
            rows[label].append({"pair": [va, vb], **{k: result[k] for k in METRICS}})

    base = list(variants)[0]
    summary = {}
    print(f"\n{a.data}, sines models ({epochs} epochs), separation n_fft {setting['n_fft']} hop {setting['hop']}; "
          f"mean ± std over {len(rows[base])} pairs (Δ: paired difference to '{base}', mean ± standard error)\n")
    print("| variant | " + " | ".join(f"{k.upper()} (dB)" for k in METRICS) + " |")
    print("|---|" + "---|" * len(METRICS))
    for label, results in rows.items():
        cells, summary[label] = [], {}
        for k in METRICS:
            x = [r[k] for r in results]
            d = [r[k] - b[k] for r, b in zip(results, rows[base])]
            summary[label][k] = {"mean": statistics.mean(x), "std": statistics.stdev(x),
                                 "delta_mean": statistics.mean(d), "delta_se": statistics.stdev(d) / len(d) ** 0.5}
            s = summary[label][k]
            cells.append(f"{s['mean']:.2f} ± {s['std']:.2f}" +
                         ("" if label == base else f" (Δ {s['delta_mean']:+.2f} ± {s['delta_se']:.2f})"))
        print(f"| {label} | " + " | ".join(cells) + " |")
    seconds = time.time() - started
    print(f"\n{seconds:.0f} s on {platform.node()}")
    with open(a.json, "w") as f:
        json.dump({"data": a.data, "epochs": epochs, "variants": {k: [b, *e] for k, (b, e) in variants.items()},
                   "summary": summary, "rows": rows, "seconds": seconds, "machine": platform.platform()}, f, indent=1)


if __name__ == "__main__":
    main()
