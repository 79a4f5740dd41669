"""Issue 6: the separation experiment of paper_experiment.py (same voices, training and test
audio, 0 dB mixtures) with iN-NMF templates trained on five representations of the same 20 s
per voice, every pair separated on the same STFT with `innmf separate` unchanged (see
representations.sh). Every number comes from the innmf command line."""
import argparse
import itertools
import json
import os
import platform
import re
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import paper_experiment as paper  # noqa: E402  (data preparation and separation, shared)

# Options of each representation for 8 kHz speech (`innmf features`, then `innmf train`); why:
# RESULTS.md, "Separation across representations".
#   cqt:     50 Hz (below the lowest voice's f0) to 3.9 kHz (the top bin lands at 3.8 kHz), 24
#            bins/octave: Hann bandwidth ≈ 6 % of f, so harmonics of a 200 Hz voice stay resolved
#            up to ≈ 3.4 kHz; knots at the default (the middle bin's hop, 40 ms; the top bin's 4.5 ms
#            made the activations absorb the data: 1 dB lower SDR).
#   wavelet: same band; ω0 = 24 (FWHM ≈ 2.355/ω0 ≈ 10 % of f, harmonics resolved about like the
#            CQT's; the default ω0 = 6 smears them over 40 %) with 8 scales/octave (9 % apart, no
#            gaps); a longer wavelet also hops further: ~330 k points (≈ 2 a sample) against
#            1.9 M at the defaults. Knots every 40 ms, as the CQT's default: the wavelet's own
#            default (its middle scale's hop, 6.4 ms here: these wavelets are wider in
#            frequency than the CQT's bins and hop 6× more often) would give 3 k knots,
#            and denser knots let the activations absorb the data (cqt at 4.5 ms: −1 dB SDR).
#   sines:   peaks of an STFT of the paper's window (1000 samples, hop 250: 4 peak frames per
#            frame of the stft model) at continuous frequencies snapped to 4 Hz (half a bin of
#            the separation STFT): ~960 distinct frequencies (~1900 at 2 Hz, twice the network
#            work per epoch for peaks that the 8 Hz bins cannot tell apart).
#   hybrid:  two STFTs (32 ms and the paper's 125 ms, both hop N/2) and the CQT above.
CQT = ["--fmin", 50, "--fmax", 3900, "--bins-per-octave", 24]
REPRESENTATIONS = {  # name: (features options, train options)
    "stft": (["--n-fft", 1000, "--hop", 500], []),
    "cqt": (["--repr", "cqt", *CQT], []),
    "wavelet": (["--repr", "wavelet", "--fmin", 50, "--fmax", 3900, "--scales-per-octave", 8, "--omega0", 24],
                ["--knot-spacing", 0.04]),
    "sines": (["--repr", "sines", "--n-fft", 1000, "--hop", 250, "--f-quantum", 4], []),
    "hybrid": (["--repr", "stft:256:128,stft:1000:500,cqt", *CQT], []),
}
METRICS = ("sdr", "sir", "sar", "si_sdr")


def info(innmf, path):
    """`innmf info --json` of one file as a dict."""
    return json.JSONDecoder().raw_decode(paper.run([innmf, "info", "--json", path]).stdout)[0]


def mean_std(values):
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def cell(s):
    return f"{s['mean']:.2f} ± {s['std']:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--innmf", required=True)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--rank", type=int, default=20)
    ap.add_argument("--n-fft", type=int, default=1000, help="separation STFT size (hop n_fft/2, as the paper experiment)")
    ap.add_argument("--reprs", default=",".join(REPRESENTATIONS), help="comma list, stft first")
    ap.add_argument("--seeds", type=int, default=1,
                    help="train every model with --seed 0..N-1 and average each pair's metrics over them "
                         "(one seed's mean SDR over the pairs moves by ~0.3 dB between seeds)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--reuse", action="store_true",
                    help="keep the models a previous run left in --work (same options: not checked) and train "
                         "only the missing ones; their training record comes from the file it left beside them")
    ap.add_argument("--json", required=True)
    ap.add_argument("--command", default="")
    a = ap.parse_args()
    seeds = range(a.seeds)
    reprs = a.reprs.split(",")
    if reprs[0] != "stft" or any(r not in REPRESENTATIONS for r in reprs):
        raise SystemExit(f"--reprs: a comma list of {', '.join(REPRESENTATIONS)} starting with stft")
    os.makedirs(a.work, exist_ok=True)
    started = time.time()
    voices = {v: paper.make_voice(v, a.work) for v in paper.VOICES}

    models, training = {}, []
    for voice, (train, _) in voices.items():
        for r in reprs:
            points = os.path.join(a.work, f"{voice}_{r}_points.h5")
            features, options = REPRESENTATIONS[r]
            paper.run([a.innmf, "features", train, "-o", points, *features, "-q"])
            p = info(a.innmf, points)
            for seed in seeds:
                models[voice, r, seed] = os.path.join(a.work, f"{voice}_{r}_s{seed}.h5")
                record_path = models[voice, r, seed] + ".training.json"
                if a.reuse and os.path.exists(models[voice, r, seed]) and os.path.exists(record_path):
                    with open(record_path) as f:
                        training.append(json.load(f))
                    continue
                t0 = time.time()
                log = paper.run([a.innmf, "train", points, "-o", models[voice, r, seed], "--rank", a.rank,
                                 "--epochs", a.epochs, "--seed", seed, "--sine-scale", 1, *options]).stderr
                seconds = time.time() - t0
                m = info(a.innmf, models[voice, r, seed])
                local = re.search(r"grid activations \((\d+) local parameters\)", log)
                training.append({"voice": voice, "repr": r, "seed": seed, "points": p["points"],
                                 "frequencies": p["frequency_hz"]["unique"],
                                 "knots": int(local.group(1)) // a.rank if local else None,
                                 "seconds": seconds, "final_loss": m["final_loss"], "epochs": a.epochs})
                with open(record_path, "w") as f:
                    json.dump(training[-1], f)
                print(f"{voice} {r} seed {seed}: {p['points']} points, {p['frequency_hz']['unique']} frequencies, "
                      f"{training[-1]['knots']} knots, {seconds:.0f} s ({time.time() - started:.0f} s)", flush=True)

    rows = []
    for va, vb in itertools.combinations(paper.VOICES, 2):
        mix, refs = paper.mixture((va, voices[va][1]), (vb, voices[vb][1]), a.work)
        for r, seed in itertools.product(reprs, seeds):
            res = paper.separate(a.innmf, mix, [models[va, r, seed], models[vb, r, seed]], refs, a.n_fft, a.work,
                                 f"{va}+{vb}_{r}_{a.n_fft}_s{seed}")
            rows.append({"pair": [va, vb], "repr": r, "seed": seed, "n_fft": a.n_fft, "hop": a.n_fft // 2,
                         **{k: res[k] for k in METRICS}, "per_source": res["per_source"],
                         "template_sampling": res["template_sampling"]})
    seconds = time.time() - started

    def per_pair(r, k):
        return paper.pair_means(rows, k, repr=r)

    summary = []
    print("\n| representation | points (mean/voice) | distinct f | knots | train s/voice | SDR (dB) | SIR (dB) | SAR (dB) "
          "| SI-SDR (dB) | ΔSDR vs stft | ΔSIR vs stft | ΔSAR vs stft |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in reprs:
        t = [x for x in training if x["repr"] == r]
        s = {"repr": r, "features": [str(o) for o in REPRESENTATIONS[r][0]],
             "train": [str(o) for o in REPRESENTATIONS[r][1]], "pairs": len(per_pair(r, "sdr")), "seeds": a.seeds,
             "points": statistics.mean(x["points"] for x in t),
             "frequencies": statistics.mean(x["frequencies"] for x in t),
             "knots": t[0]["knots"], "train_seconds": statistics.mean(x["seconds"] for x in t)}
        for k in METRICS:
            s[k] = mean_std(per_pair(r, k))
            s["delta_" + k] = mean_std([x - y for x, y in zip(per_pair(r, k), per_pair("stft", k))])
        s["sdr_per_seed"] = paper.seed_means(rows, seeds, repr=r)
        summary.append(s)
        print(f"| {r} | {s['points']:.0f} | {s['frequencies']:.0f} | {s['knots']} | {s['train_seconds']:.0f} | "
              + " | ".join(cell(s[k]) for k in METRICS) + " | "
              + " | ".join("—" if r == "stft" else cell(s["delta_" + k]) for k in ("sdr", "sir", "sar")) + " |")
    if a.seeds > 1:
        print("\nmean SDR of each seed alone (dB): "
              + "; ".join(f"{x['repr']} " + " / ".join(f"{v:.2f}" for v in x["sdr_per_seed"]) for x in summary))
    verdict = None
    if "cqt" in reprs:
        delta = next(s for s in summary if s["repr"] == "cqt")["delta_sdr"]["mean"]
        verdict = delta >= -1.0
        print(f"\ncqt within 1 dB SDR of stft (mean paired SDR difference cqt − stft ≥ −1 dB): "
              f"{'PASS' if verdict else 'FAIL'} ({delta:+.2f} dB over {len(per_pair('cqt', 'sdr'))} pairs, each averaged "
              f"over {a.seeds} seed(s))")
    print(f"{a.epochs} epochs, separation n_fft {a.n_fft} hop {a.n_fft // 2}, {seconds:.0f} s in all")
    with open(a.json, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "command": a.command,
                   "machine": platform.processor() or platform.machine(), "nproc": os.cpu_count(),
                   "load_average": os.getloadavg(), "seconds": seconds, "epochs": a.epochs, "rank": a.rank,
                   "separation_n_fft": a.n_fft, "separation_hop": a.n_fft // 2, "voices": paper.VOICES,
                   "seeds": a.seeds,
                   "training": training, "rows": rows, "summary": summary, "cqt_within_1db": verdict}, f, indent=1)


if __name__ == "__main__":
    main()
