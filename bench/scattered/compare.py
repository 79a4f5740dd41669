"""Times `innmf train` on scattered point sets (see run.sh): per epoch (the median of the
--metrics seconds after the first epoch, which also pays for first touches of memory), setup
(wall time minus every epoch) and peak resident memory (GNU time's %M), for the candidate binary
and, when given, a baseline binary, in interleaved rounds. Prints a table; writes JSON."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time

JOBS = {
    "wavelet": ("wavelet.h5", []),
    "sines": ("sines.h5", []),
    "sines --f-quantum 1": ("sines.h5", ["--f-quantum", "1"]),
}


def timed(binary, work, points, extra, epochs):
    """(wall s, peak MB, median epoch s after the first, setup s) of one training run."""
    with tempfile.TemporaryDirectory(dir=work) as scratch:
        metrics, report = os.path.join(scratch, "m.jsonl"), os.path.join(scratch, "time")
        args = [binary, "train", os.path.join(work, points), "-o", os.path.join(scratch, "model.h5"),
                "--epochs", str(epochs), "--metrics", metrics, "-q", *extra]
        done = subprocess.run(["/usr/bin/time", "-o", report, "-f", "%e %M", *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr}")
        wall, kilobytes = open(report).read().split()[-2:]
        seconds = [json.loads(line)["seconds"] for line in open(metrics)]
    wall = float(wall)
    return wall, int(kilobytes) / 1024, statistics.median(seconds[1:] or seconds), wall - sum(seconds)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--baseline", default="")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--work", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--command", default="")
    a = ap.parse_args()
    binaries = {"candidate": a.binary, **({"baseline": a.baseline} if a.baseline else {})}
    samples = {}
    started = time.time()
    for _ in range(a.repeats):
        for label, binary in binaries.items():
            for name, (points, extra) in JOBS.items():
                samples.setdefault((label, name), []).append(timed(binary, a.work, points, extra, a.epochs))

    rows = []
    for name in JOBS:
        row = {"job": name}
        for label in binaries:
            runs = samples[label, name]
            row[label] = {"epoch_seconds": statistics.median(r[2] for r in runs),
                          "setup_seconds": statistics.median(r[3] for r in runs),
                          "peak_mb": max(r[1] for r in runs), "wall_seconds": [r[0] for r in runs]}
        if "baseline" in binaries:
            row["epoch_ratio"] = row["baseline"]["epoch_seconds"] / row["candidate"]["epoch_seconds"]
            row["memory_ratio"] = row["baseline"]["peak_mb"] / row["candidate"]["peak_mb"]
        rows.append(row)

    print(f"\n60 s of 44.1 kHz speech; train --epochs {a.epochs}, medians over {a.repeats} round(s); "
          f"{os.cpu_count()} CPUs ({os.environ.get('BENCH_CPU', platform.processor())})\n")
    labels = list(binaries)
    header = "| job | " + " | ".join(f"{l} epoch | {l} setup | {l} memory" for l in labels)
    header += " | epoch ratio | memory ratio |" if "baseline" in binaries else " |"
    print(header)
    print("|---" * (1 + 3 * len(labels) + (2 if "baseline" in binaries else 0)) + "|")
    for r in rows:
        cells = [f"{r[l]['epoch_seconds']:.3f} s | {r[l]['setup_seconds']:.1f} s | {r[l]['peak_mb']:.0f} MB" for l in labels]
        line = f"| {r['job']} | " + " | ".join(cells)
        line += f" | {r['epoch_ratio']:.2f}× | {r['memory_ratio']:.2f}× |" if "baseline" in binaries else " |"
        print(line)
    result = {"benchmark": "scattered", "command": a.command, "commit": os.environ.get("BENCH_COMMIT", ""),
              "cpu": os.environ.get("BENCH_CPU", ""), "cpus": os.cpu_count(), "epochs": a.epochs,
              "repeats": a.repeats, "binaries": binaries, "rows": rows,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seconds": time.time() - started}
    with open(a.json, "w") as f:
        json.dump(result, f, indent=2)
    print(f"\nwrote {a.json} ({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
