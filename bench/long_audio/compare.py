"""Times innmf's commands on a long recording (see run.sh): wall seconds and peak resident
memory (GNU time's %e and %M) of each command, for the candidate binary and, when given, a
baseline binary, in interleaved rounds. Prints a table of medians and their ratios; writes JSON."""
import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time


def commands(work, out, scoring):
    """The commands timed, by name; without `scoring` those that run BSS Eval are left out."""
    mix, es, ru = (os.path.join(work, f) for f in ("mix.wav", "es.wav", "ru.wav"))
    models = ["--model", os.path.join(work, "es.h5"), "--model", os.path.join(work, "ru.h5")]
    timed_commands = {
        # The mixture as a point set: an STFT (a grid: 4 bytes a point held) and Morlet wavelets
        # (scattered, ~6 points a sample at 12 bytes each), whose points a rank holds up to a
        # budget before writing.
        "features": ["features", mix, "-o", out + "_points.h5", "-q"],
        "features --repr wavelet": ["features", mix, "--repr", "wavelet", "-o", out + "_wavelet.h5", "-q"],
        "separate": ["separate", mix, *models, "-o", out, "-q"],
        # The whole mixture's spectrogram at once (the only way before --block).
        "separate --block 0": ["separate", mix, *models, "--block", "0", "-o", out + "_whole", "-q"],
        "separate --ref": ["separate", mix, *models, "-o", out, "--ref", es, "--ref", ru, "-q"],
        # One model and 20 templates learned on the mixture; 10 updates keep the baseline's
        # run short (each update of the fit is a fixed cost).
        "separate --free 20 --iters 10": ["separate", mix, *models[:2], "--free", "20", "--iters", "10", "--tol", "0",
                                          "-o", out + "_free", "-q"],
        "separate --fit rprop --iters 10": ["separate", mix, *models, "--fit", "rprop", "--iters", "10",
                                            "-o", out + "_rprop", "-q"],
        "eval": ["eval", "--ref", es, "--ref", ru, "--est", os.path.join(out, "es.wav"),
                 "--est", os.path.join(out, "ru.wav"), "-q"],
    }
    if not scoring:
        del timed_commands["separate --ref"], timed_commands["eval"]
    return timed_commands


def timed(binary, args, usage_errors_allowed=False):
    """(wall seconds, peak RSS in MB) of one run; raises if it fails, except that with
    `usage_errors_allowed` a usage error (exit 2: an older baseline without an option) gives None."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        done = subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%e %M", binary, *args],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode == 2 and usage_errors_allowed:
            return None
        if done.returncode != 0:
            raise SystemExit(f"{binary} {' '.join(args)} failed:\n{done.stderr}")
        seconds, kilobytes = report.read().split()[-2:]
    return float(seconds), int(kilobytes) / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--baseline", default="")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--work", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--command", default="")
    ap.add_argument("--scoring", type=int, default=1, help="1: also time --ref and eval (BSS Eval)")
    a = ap.parse_args()
    binaries = {"candidate": a.binary, **({"baseline": a.baseline} if a.baseline else {})}
    samples = {}  # (label, command) -> [(seconds, MB)]
    started = time.time()
    for _ in range(a.repeats):
        for label, binary in binaries.items():
            out = os.path.join(a.work, f"separated_{label}")
            for name, args in commands(a.work, out, a.scoring).items():
                run = timed(binary, args, usage_errors_allowed=label == "baseline")
                if run is not None:
                    samples.setdefault((label, name), []).append(run)

    rows = []
    for name in commands(a.work, "", a.scoring).keys():
        row = {"command": name}
        for label in binaries:
            runs = samples.get((label, name))
            row[label] = {"median_seconds": statistics.median(s for s, _ in runs),
                          "peak_mb": max(m for _, m in runs), "seconds": [s for s, _ in runs]} if runs else None
        if "baseline" in binaries and row["baseline"]:
            row["time_ratio"] = row["baseline"]["median_seconds"] / row["candidate"]["median_seconds"]
            row["memory_ratio"] = row["baseline"]["peak_mb"] / row["candidate"]["peak_mb"]
        rows.append(row)

    duration = float(subprocess.run(["soxi", "-D", os.path.join(a.work, "mix.wav")], capture_output=True,
                                    text=True, check=True).stdout)
    print(f"\nmixture: {duration:.1f} s at 44.1 kHz; median wall time and peak resident memory over "
          f"{a.repeats} round(s); {os.cpu_count()} CPUs ({os.environ.get('BENCH_CPU', platform.processor())})\n")
    if "baseline" in binaries:
        print("| command | baseline | candidate | time ratio | baseline memory | candidate memory | memory ratio |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            b, c = r["baseline"], r["candidate"]
            if b is None:  # the baseline does not have this command's options
                print(f"| {r['command']} | n/a | {c['median_seconds']:.2f} s | | n/a | {c['peak_mb']:.0f} MB | |")
                continue
            print(f"| {r['command']} | {b['median_seconds']:.2f} s | {c['median_seconds']:.2f} s | "
                  f"{r['time_ratio']:.2f}× | {b['peak_mb']:.0f} MB | {c['peak_mb']:.0f} MB | {r['memory_ratio']:.2f}× |")
    else:
        print("| command | wall time | peak memory |")
        print("|---|---|---|")
        for r in rows:
            c = r["candidate"]
            print(f"| {r['command']} | {c['median_seconds']:.2f} s | {c['peak_mb']:.0f} MB |")
    result = {"benchmark": "long_audio", "command": a.command, "commit": os.environ.get("BENCH_COMMIT", ""),
              "cpu": os.environ.get("BENCH_CPU", ""), "cpus": os.cpu_count(), "mixture_seconds": duration,
              "sample_rate": 44100, "repeats": a.repeats, "binaries": binaries, "rows": rows,
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "seconds": time.time() - started}
    with open(a.json, "w") as f:
        json.dump(result, f, indent=2)
    print(f"\nwrote {a.json} ({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()
