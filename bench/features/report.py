"""Summarises the runs of bench/features/run.sh: table on stdout, JSON, bench/RESULTS.md section.

Called by run.sh with its inputs in BENCH_* environment variables (stdlib only).
"""

import json
import os
import re
import statistics
import sys
from collections import OrderedDict

env = os.environ
PHASES = ("plan", "read", "resample", "transform", "write")
SECTION = env["BENCH_SECTION"]  # "## Feature extraction (bench/features/run.sh)", or CQT

PHASE_RE = re.compile(
    r"debug:\s+(\w+)\s+min\s+([\d.]+) s\s+avg\s+([\d.]+) s\s+max\s+([\d.]+) s")
TOTAL_RE = re.compile(r"info: wrote .* in ([\d.]+) s \(")


def parse_log(path):
    phases, internal = {}, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = PHASE_RE.search(line)
            if m:
                phases[m.group(1)] = {"min": float(m.group(2)), "avg": float(m.group(3)),
                                      "max": float(m.group(4))}
            m = TOTAL_RE.search(line)
            if m:
                internal = float(m.group(1))
    missing = [p for p in PHASES if p not in phases]
    if missing or internal is None:
        sys.exit(f"report.py: {path}: no per-phase timings for {missing or 'the total'}: "
                 "did `innmf features -v` change its output?")
    return phases, internal


audio_seconds = float(env["BENCH_AUDIO_SECONDS"])
runs = OrderedDict()  # (config, compression) -> list of runs
with open(env["BENCH_RUNS"], encoding="utf-8") as f:
    for line in f:
        name, ranks, threads, level, rep, wall, size, log = line.rstrip("\n").split("\t")
        phases, internal = parse_log(log)
        runs.setdefault((name, int(level)), []).append({
            "ranks": int(ranks), "threads": int(threads), "repeat": int(rep),
            "wall_seconds": float(wall), "internal_seconds": internal,
            "output_bytes": int(size), "phases": phases})

# Rows ordered by compression (default first), then config as run.
rows = []
for (name, level), rs in sorted(runs.items(), key=lambda kv: (kv[0][1] != 0, kv[0][1], list(runs).index(kv[0]))):
    walls = [r["wall_seconds"] for r in rs]
    best_run = min(rs, key=lambda r: r["wall_seconds"])
    rows.append({
        "config": name,
        "ranks": rs[0]["ranks"],
        "threads": rs[0]["threads"],
        "compression": level,
        "repeats": len(rs),
        "wall_seconds": walls,
        "wall_best": min(walls),
        "wall_median": statistics.median(walls),
        "internal_best": min(r["internal_seconds"] for r in rs),
        "audio_per_second_best": audio_seconds / min(walls),
        "audio_per_second_median": audio_seconds / statistics.median(walls),
        "output_bytes": best_run["output_bytes"],
        # Per-phase timings (min/avg/max over ranks) of the fastest run ...
        "phases_best_run": best_run["phases"],
        # ... and the median over repeats of each phase's max over ranks.
        "phases_median_max": {p: statistics.median(r["phases"][p]["max"] for r in rs)
                              for p in PHASES},
    })
base = {row["compression"]: row for row in rows if row["config"] == "1x1"}
for row in rows:
    ref = base.get(row["compression"])
    row["speedup_vs_1x1"] = ref["wall_best"] / row["wall_best"] if ref else None
    row["speedup_vs_1x1_median"] = ref["wall_median"] / row["wall_median"] if ref else None

floor_seconds = float(env["BENCH_FLOOR_SECONDS"])
DEFAULT_COMPRESSION = 0  # innmf features --compression default
default_rows = [r for r in rows if r["compression"] == DEFAULT_COMPRESSION]
best = min(default_rows, key=lambda r: r["wall_best"])
verdict = "PASS" if best["wall_best"] < floor_seconds else "FAIL"
verdict_median = "PASS" if best["wall_median"] < floor_seconds else "FAIL"


def label(row):
    return f"{row['ranks']} rank{'s' if row['ranks'] > 1 else ''} × {row['threads']} thread" \
           f"{'s' if row['threads'] > 1 else ''}"


def fmt_speedup(row):
    return "–" if row["speedup_vs_1x1"] is None else \
        f"{row['speedup_vs_1x1']:.2f}× ({row['speedup_vs_1x1_median']:.2f}×)"


table = [
    "| config | compression | wall best [s] | wall median [s] | audio s per s (best / median) "
    "| speed-up vs 1×1 best (median) | output [MB] |",
    "|---|---:|---:|---:|---:|---:|---:|",
]
for r in rows:
    table.append(
        f"| {label(r)} | {r['compression']} | {r['wall_best']:.2f} | {r['wall_median']:.2f} "
        f"| {r['audio_per_second_best']:.0f} / {r['audio_per_second_median']:.0f} "
        f"| {fmt_speedup(r)} | {r['output_bytes'] / 1e6:.1f} |")

phase_table = [
    "| config | compression | " + " | ".join(PHASES) +
    " | innmf total | start-up + exit (wall − total) |",
    "|---|---:|" + "---:|" * (len(PHASES) + 2),
]
for r in rows:
    best_run = min(runs[(r["config"], r["compression"])], key=lambda x: x["wall_seconds"])
    cells = []
    for p in PHASES:
        ph = best_run["phases"][p]
        cells.append(f"{ph['max']:.2f}" if r["ranks"] == 1 or ph["max"] - ph["min"] < 0.005
                     else f"{ph['max']:.2f} ({ph['min']:.2f}–{ph['max']:.2f})")
    phase_table.append(
        f"| {label(r)} | {r['compression']} | " + " | ".join(cells) +
        f" | {best_run['internal_seconds']:.2f} "
        f"| {best_run['wall_seconds'] - best_run['internal_seconds']:.2f} |")

floor_line = (f"Floor: \"{env['BENCH_FLOOR_TEXT']}\" — best configuration at default compression "
              f"{DEFAULT_COMPRESSION} is {label(best)}: best {best['wall_best']:.2f} s, median "
              f"{best['wall_median']:.2f} s → **{verdict}** (median: {verdict_median})")

machine = {"nproc": int(env["BENCH_NPROC"]), "cpu_model": env["BENCH_CPU"],
           "load_average_before_after": env["BENCH_LOAD"]}
result = {
    "benchmark": "features",
    "date": env["BENCH_DATETIME"],
    "commit": env["BENCH_COMMIT"],
    "binary": env["BENCH_BINARY"],
    "command": env["BENCH_COMMAND"],
    "machine": machine,
    "repeats": int(env["BENCH_REPEATS"]),
    "corpus": {"files": int(env["BENCH_FILES"]), "audio_seconds": audio_seconds,
               "format": env["BENCH_CORPUS_INFO"],
               "source": "asterisk-core-sounds-es-wav + -ru-wav prompts, looped, 8 → 16 kHz (sox)"},
    "parameters": {"transform": env["BENCH_TRANSFORM_TEXT"].replace("`", ""),
                   "n_fft": int(env["BENCH_N_FFT"]), "hop": int(env["BENCH_HOP"]),
                   "clip_seconds": 30, "window": "sqrt-hann (default)"},
    "floor": {"text": env["BENCH_FLOOR_TEXT"], "seconds": floor_seconds,
              "config": best["config"], "compression": DEFAULT_COMPRESSION, "wall_best": best["wall_best"],
              "wall_median": best["wall_median"], "verdict": verdict,
              "verdict_median": verdict_median},
    "rows": rows,
    "runs": [{"config": k[0], "compression": k[1], **r} for k, rs in runs.items() for r in rs],
}
with open(env["BENCH_JSON"], "w", encoding="utf-8") as f:
    json.dump(result, f, indent=2)
    f.write("\n")

print()
print("\n".join(table))
print()
print("Per-phase seconds of the fastest run of each row (max over ranks; min–max when ranks differ):")
print()
print("\n".join(phase_table))
print()
print(floor_line)
print(f"JSON: {env['BENCH_JSON']}")

# bench/RESULTS.md: replace (or add) this benchmark's section, keep the others.
section = "\n".join([
    SECTION,
    "",
    f"Date: {env['BENCH_DATE']} · commit `{env['BENCH_COMMIT']}` · machine: {machine['nproc']} "
    f"cores (`nproc`), {machine['cpu_model']} · {result['repeats']} repeats per row "
    "(best and median wall time of the whole command) · load average (1/5/15 min) before → "
    f"after: {machine['load_average_before_after']} (the machine is shared: other jobs' load "
    "slows every row)",
    "",
    f"Command: `{env['BENCH_COMMAND']}` — runs `innmf features` on "
    f"{result['corpus']['files']} files × 300 s = {audio_seconds:.0f} s of real speech "
    f"({env['BENCH_CORPUS_INFO']}; Asterisk es + ru prompts) with {env['BENCH_TRANSFORM_TEXT']} "
    "(default `--clip-seconds 30`), "
    "2 ranks via `mpirun -np 2 --bind-to none`.",
    "",
    *table,
    "",
    "Per-phase seconds (`-v`) of the fastest run of each row, max over ranks (min–max when the "
    "ranks differ); the write phase is rank 0 writing (and, with 2 ranks, receiving) every clip:",
    "",
    *phase_table,
    "",
    floor_line,
    "",
])
path = env["BENCH_RESULTS"]
old = open(path, encoding="utf-8").read() if os.path.exists(path) else \
    "# Benchmark results\n\nWritten by the benchmark scripts (see bench/README.md); " \
    "each section holds its benchmark's latest run.\n\n"
start = old.find(SECTION)
if start < 0:
    new = old.rstrip("\n") + "\n\n" + section
else:
    end = old.find("\n## ", start + len(SECTION))
    rest = old[end + 1:] if end >= 0 else ""
    new = old[:start] + section + ("\n" + rest if rest else "")
with open(path, "w", encoding="utf-8") as f:
    f.write(new.rstrip("\n") + "\n")
print(f"updated {path}")
