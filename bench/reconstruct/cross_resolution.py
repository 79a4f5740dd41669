"""Cross-resolution reconstruction KL: iN-NMF trained at one STFT size vs classic NMF retrained
at every size (see run.sh). Every number comes from the innmf command line."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import time

SCALES = [0.5, 0.75, 1.0, 1.25]


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, text=True, **kw)


def reconstruct(innmf, model, audio, n_fft, work, tag, extra=()):
    metrics = os.path.join(work, f"{tag}.json")
    run([innmf, "reconstruct", model, audio, "--n-fft", n_fft, "--hop", n_fft // 2, "--metrics", metrics, "-q", *extra])
    with open(metrics) as f:
        return json.loads(f.readline())


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--innmf", required=True)
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--n-fft", type=int, default=1000)
    ap.add_argument("--rank", type=int, default=20)
    ap.add_argument("--speakers", default="es,ru")
    ap.add_argument("--data", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--command", default="")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    sizes = [int(round(s * a.n_fft)) for s in SCALES]
    rows = []
    started = time.time()
    for speaker in a.speakers.split(","):
        train = os.path.join(a.data, f"{speaker}_train.wav")
        test = os.path.join(a.data, f"{speaker}_test.wav")
        points = os.path.join(a.work, f"{speaker}_points.h5")
        model = os.path.join(a.work, f"{speaker}_innmf.h5")
        run([a.innmf, "features", train, "-o", points, "--n-fft", a.n_fft, "--hop", a.n_fft // 2, "-q"])
        t0 = time.time()
        run([a.innmf, "train", points, "-o", model, "--rank", a.rank, "--epochs", a.epochs, "--sine-scale", 1,
             "-q"])
        train_seconds = time.time() - t0
        for scale, n_fft in zip(SCALES, sizes):
            neural = reconstruct(a.innmf, model, test, n_fft, a.work, f"{speaker}_innmf_{n_fft}")
            direct = reconstruct(a.innmf, model, test, n_fft, a.work, f"{speaker}_innmf_direct_{n_fft}",
                                 ["--template-sampling", "direct"])
            classic_model = os.path.join(a.work, f"{speaker}_nmf_{n_fft}.h5")
            run([a.innmf, "nmf", train, "-o", classic_model, "--rank", a.rank, "--n-fft", n_fft,
                 "--hop", n_fft // 2, "-q"])
            classic = reconstruct(a.innmf, classic_model, test, n_fft, a.work, f"{speaker}_nmf_{n_fft}")
            rows.append({"speaker": speaker, "scale": scale, "n_fft": n_fft,
                         "innmf_kl": neural["kl"], "innmf_direct_kl": direct["kl"], "nmf_kl": classic["kl"],
                         "innmf_sdr_freq": neural["sdr_freq"], "nmf_sdr_freq": classic["sdr_freq"],
                         "ratio": neural["kl"] / classic["kl"], "innmf_train_seconds": train_seconds})
    print("| scale | n_fft | iN-NMF KL | classic NMF KL | iN-NMF / classic | iN-NMF direct KL | direct / classic "
          "| iN-NMF sdr_freq | classic sdr_freq |")
    print("|---|---|---|---|---|---|---|---|---|")
    summary = []
    for scale, n_fft in zip(SCALES, sizes):
        r = [x for x in rows if x["n_fft"] == n_fft]
        m = {k: statistics.mean(x[k] for x in r)
             for k in ("innmf_kl", "innmf_direct_kl", "nmf_kl", "innmf_sdr_freq", "nmf_sdr_freq")}
        m["ratio"] = m["innmf_kl"] / m["nmf_kl"]
        m["direct_ratio"] = m["innmf_direct_kl"] / m["nmf_kl"]
        m.update(scale=scale, n_fft=n_fft, within_15_percent=m["ratio"] <= 1.15)
        summary.append(m)
        print(f"| {scale:g}× | {n_fft} | {m['innmf_kl']:.4f} | {m['nmf_kl']:.4f} | {m['ratio']:.3f} | "
              f"{m['innmf_direct_kl']:.4f} | {m['direct_ratio']:.3f} | "
              f"{m['innmf_sdr_freq']:.2f} dB | {m['nmf_sdr_freq']:.2f} dB |")
    verdict = all(m["within_15_percent"] for m in summary)
    print(f"\niN-NMF (--template-sampling grid, the default) within 15% of classic NMF at every size: "
          f"{'PASS' if verdict else 'FAIL'} "
          f"(means over speakers {a.speakers}; {time.time() - started:.0f} s)")
    with open(a.json, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "command": a.command, "machine": platform.processor() or platform.machine(),
                   "nproc": os.cpu_count(), "epochs": a.epochs, "rank": a.rank, "train_n_fft": a.n_fft,
                   "rows": rows, "summary": summary, "pass": verdict}, f, indent=1)


if __name__ == "__main__":
    main()
