"""Runs and summarises bench/nmf/run.sh: innmf nmf vs scikit-learn, per multiplicative update.

Called by run.sh with its inputs in BENCH_* environment variables. For each case (matrix) and
thread count:
  - innmf: `innmf nmf AUDIO --rank 20 --iters 200 --tol 0 --threads T --metrics FILE`, REPEATS
    times; per run the median and the mean of the per-update `seconds` of updates 1..200 (an
    update's time includes the loss of the previous state when innmf computes it: with
    `--loss-every 10` every 10th, as scikit-learn checks its tolerance every 10 iterations); the
    row shows the best run's median;
  - scikit-learn: the whole fit with max_iter=200 divided by 200 (initialisation and its final
    error included, nothing subtracted), REPEATS times, best run shown; once with OpenBLAS and
    once with the reference BLAS that python3-sklearn alone brings (1 run, fewer iterations on
    the big case: it is 10-20× slower);
  - both final losses (mean generalised KL per entry, different random starts).
Writes bench/out/nmf.json and the "Classic NMF" section of bench/RESULTS.md; prints the table.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from fma_peak import measured_fma_peak  # noqa: E402

env = os.environ
BINARY = env["BENCH_BINARY"]
REPEATS = int(env["BENCH_REPEATS"])
WORK = env["BENCH_WORK"]
REPO = env["BENCH_REPO"]
PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
SECTION = "## Classic NMF (bench/nmf/run.sh)"
ITERS = 200
RANK = 20
FLOOR = 3.0
LOSS_EVERY = 10  # innmf computes its loss every 10 updates, as scikit-learn checks its tolerance
BLAS_DIRS = {"openblas": "/usr/lib/x86_64-linux-gnu/openblas-pthread",
             "reference": "/usr/lib/x86_64-linux-gnu/blas"}
CASES = [
    {"name": "20 s speech, n_fft 1000 / hop 500", "audio": os.path.join(REPO, "data/speech/es_train.wav"),
     "n_fft": 1000, "hop": 500, "reference_iters": ITERS, "cpu_iters": 2000},
    {"name": "5 min speech, n_fft 1024 / hop 256", "audio": env["BENCH_LONG_WAV"],
     "n_fft": 1024, "hop": 256, "reference_iters": 10, "cpu_iters": ITERS},
]
THREADS = [1, 2]


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_innmf(case, threads, iters=ITERS):
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        metrics = os.path.join(tmp, "metrics.jsonl")
        command = [BINARY, "nmf", case["audio"], "-o", os.path.join(tmp, "model.h5"), "--rank", str(RANK),
                   "--n-fft", str(case["n_fft"]), "--hop", str(case["hop"]), "--iters", str(iters),
                   "--tol", "0", "--seed", "0", "--threads", str(threads), "--metrics", metrics, "-q"]
        command += ["--loss-every", str(LOSS_EVERY)]
        start, start_cpu = time.perf_counter(), children_cpu()
        subprocess.run(command, check=True)
        wall, cpu = time.perf_counter() - start, children_cpu() - start_cpu
        lines = [json.loads(line) for line in open(metrics)]
    updates = [line["seconds"] for line in lines[1:]]
    return {"median_update_seconds": statistics.median(updates), "mean_update_seconds": statistics.fmean(updates),
            "min_update_seconds": min(updates), "final_loss": lines[-1]["loss"], "wall_seconds": wall,
            "cpu_seconds": cpu}


def run_sklearn(case, threads, blas, max_iter):
    command = [PYTHON, os.path.join(HERE, "sklearn_run.py"), case["audio"], str(case["n_fft"]), str(case["hop"]),
               "0.5", str(threads), str(max_iter)]
    out = subprocess.run(command, check=True, capture_output=True, text=True,
                         env={**env, "LD_LIBRARY_PATH": BLAS_DIRS[blas]})
    result = json.loads(out.stdout)
    result["iter_seconds"] = result["seconds"] / result["n_iter"]
    return result


def main():
    rows, raw = [], []
    for case in CASES:
        for threads in THREADS:
            innmf_runs = [run_innmf(case, threads) for _ in range(REPEATS)]
            openblas_runs = ([run_sklearn(case, threads, "openblas", ITERS) for _ in range(REPEATS)]
                             if os.path.isdir(BLAS_DIRS["openblas"]) else [])
            reference_runs = ([run_sklearn(case, 1, "reference", case["reference_iters"])] if threads == 1 else [])
            best_innmf = min(innmf_runs, key=lambda r: r["median_update_seconds"])
            # CPU time per update, robust to other load: (CPU of N updates − CPU of 1) / (N − 1),
            # which removes reading, the STFT and writing (1 thread only: no spinning threads).
            # N = cpu_iters: enough updates (≥ 0.5 s) that the start-up's variance (MPI, HDF5:
            # tens of ms) does not show.
            cpu_per_update = None
            if threads == 1:
                n = case["cpu_iters"]
                baseline = min(run_innmf(case, 1, iters=1)["cpu_seconds"] for _ in range(REPEATS))
                runs = innmf_runs if n == ITERS else [run_innmf(case, 1, iters=n) for _ in range(REPEATS)]
                cpu_per_update = (min(r["cpu_seconds"] for r in runs) - baseline) / (n - 1)
            row = {"case": case["name"], "threads": threads,
                   "innmf_ms": 1e3 * best_innmf["median_update_seconds"],
                   "innmf_mean_ms": 1e3 * best_innmf["mean_update_seconds"],
                   "innmf_median_of_runs_ms": 1e3 * statistics.median(r["median_update_seconds"] for r in innmf_runs),
                   "innmf_loss": best_innmf["final_loss"],
                   "innmf_cpu_ms": 1e3 * cpu_per_update if cpu_per_update is not None else None}
            if openblas_runs:
                best = min(openblas_runs, key=lambda r: r["iter_seconds"])
                row.update({"sklearn_openblas_ms": 1e3 * best["iter_seconds"],
                            "sklearn_openblas_median_of_runs_ms": 1e3 * statistics.median(r["iter_seconds"] for r in openblas_runs),
                            "sklearn_loss": best["loss"], "sklearn_blas": best["blas"], "shape": best["shape"],
                            "ratio_openblas": best["iter_seconds"] / best_innmf["median_update_seconds"],
                            "ratio_openblas_mean": best["iter_seconds"] / best_innmf["mean_update_seconds"]})
                if cpu_per_update is not None:
                    cpu_best = min(r["cpu_seconds"] / r["n_iter"] for r in openblas_runs)
                    row.update({"sklearn_openblas_cpu_ms": 1e3 * cpu_best,
                                "ratio_openblas_cpu": cpu_best / cpu_per_update})
            if reference_runs:
                r = reference_runs[0]
                row.update({"sklearn_reference_ms": 1e3 * r["iter_seconds"], "sklearn_reference_iters": r["n_iter"],
                            "ratio_reference": r["iter_seconds"] / best_innmf["median_update_seconds"]})
            rows.append(row)
            raw.append({"case": case, "threads": threads, "innmf": innmf_runs, "sklearn_openblas": openblas_runs,
                        "sklearn_reference": reference_runs})
            print(json.dumps(row), flush=True)

    load_after = open("/proc/loadavg").read().split()[:3]
    machine = {"nproc": int(env["BENCH_NPROC"]), "cpu_model": env["BENCH_CPU"]}
    verdict = all(r.get("ratio_openblas", 0) >= FLOOR for r in rows)
    verdict_mean = all(r.get("ratio_openblas_mean", 0) >= FLOOR for r in rows)
    verdict_cpu = all(r.get("ratio_openblas_cpu", FLOOR) >= FLOOR for r in rows)
    machine_level = best_thread_counts(rows)
    verdict_machine = bool(machine_level) and all(m["ratio"] >= FLOOR for m in machine_level)
    result = {"date": time.strftime("%Y-%m-%d", time.gmtime()), "commit": env["BENCH_COMMIT"],
              "dirty": bool(env.get("BENCH_DIRTY")), "machine": machine, "repeats": REPEATS, "iters": ITERS,
              "rank": RANK, "innmf_loss_every": LOSS_EVERY,
              "load_before": env["BENCH_LOAD_BEFORE"], "load_after": " ".join(load_after),
              "floor": f"innmf at least {FLOOR}x faster than scikit-learn (OpenBLAS) per iteration",
              "floor_passed": verdict, "floor_passed_mean": verdict_mean, "floor_passed_cpu": verdict_cpu,
              "machine_level": machine_level, "floor_passed_machine_level": verdict_machine,
              "rows": rows, "runs": raw}
    os.makedirs(os.path.join(REPO, "bench/out"), exist_ok=True)
    with open(os.path.join(REPO, "bench/out/nmf.json"), "w") as f:
        json.dump(result, f, indent=2)

    def ms(value):
        return f"{value:.3f}" if value is not None else "–"

    table = ["| matrix (rank 20, β = 1) | threads | innmf ms/update (median; mean) | scikit-learn + OpenBLAS ms/iter | ratio (median; mean) | CPU ms per update: innmf / scikit-learn + OpenBLAS (ratio) | scikit-learn + reference BLAS ms/iter | ratio | final loss innmf / scikit-learn |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        cpu = (f"{ms(r['innmf_cpu_ms'])} / {ms(r.get('sklearn_openblas_cpu_ms'))} "
               f"({r.get('ratio_openblas_cpu', 0):.1f}×)" if r.get("innmf_cpu_ms") is not None else "–")
        reference = (f"{ms(r['sklearn_reference_ms'])} | {r['ratio_reference']:.1f}×"
                     if "ratio_reference" in r else "– | –")
        table.append(
            f"| {r['case']} | {r['threads']} | {ms(r['innmf_ms'])}; {ms(r['innmf_mean_ms'])} | "
            f"{ms(r.get('sklearn_openblas_ms'))} | {r.get('ratio_openblas', 0):.1f}×; "
            f"{r.get('ratio_openblas_mean', 0):.1f}× | {cpu} | {reference} | "
            f"{r['innmf_loss']:.5f} / {r.get('sklearn_loss', float('nan')):.5f} |")
    print("\n".join(table))
    dirty = " (+ uncommitted changes in src/include/drivers)" if result["dirty"] else ""
    loss_option = f" --loss-every {LOSS_EVERY}"
    loss_text = (f"the loss, one log per entry, is computed with every {LOSS_EVERY}th update, as "
                 f"scikit-learn checks its tolerance every 10 iterations (with tol=0 it computes none)")
    section = [
        SECTION, "",
        f"Date: {result['date']} · commit `{result['commit']}{dirty}` · machine: {machine['nproc']} cores (`nproc`), "
        f"{machine['cpu_model']} · {REPEATS} repeats per configuration (best shown) · load average (1/5/15 min) "
        f"before → after: {result['load_before']} → {result['load_after']} (the machine is shared)", "",
        f"Command: `{env['BENCH_COMMAND'].strip()}` — `innmf nmf AUDIO --rank 20 --n-fft N --hop H --iters {ITERS} "
        f"--tol 0 --threads T --metrics FILE{loss_option}` (per-update `seconds` of the metrics, median over updates "
        f"1–{ITERS}; {loss_text}) against scikit-learn {sklearn_version()} "
        f"`NMF(n_components=20, solver=\"mu\", beta_loss=\"kullback-leibler\", init=\"random\", max_iter={ITERS}, tol=0)` "
        f"`.fit_transform(V)` timed whole and divided by its iterations (initialisation included) under "
        f"`threadpool_limits(T)`, on the same float32 V = |STFT|^0.5 (frequencies × frames) computed in numpy. "
        f"The reference-BLAS column is one run on 1 thread ({CASES[1]['reference_iters']} iterations on the 5-minute case). "
        f"Ratios: scikit-learn's time per iteration over innmf's median (the floor's measure) and over innmf's mean "
        f"update (like for like: scikit-learn's figure is a mean). The CPU column (1 thread) does not count the time "
        f"other jobs on a shared machine take from the core (it still feels their use of L3 and memory): innmf (CPU time of an N-update run − that of a 1-update run) / (N − 1), "
        f"N = {CASES[0]['cpu_iters']} (20 s) and {CASES[1]['cpu_iters']} (5 min), "
        f"scikit-learn the fit's process CPU time / iterations.", "",
    ] + table + ["",
        f"Floor: \"innmf ≥ {FLOOR:g}× faster than scikit-learn per iteration\" against scikit-learn with OpenBLAS "
        f"(the faster baseline), every row: by innmf's median update **{'PASS' if verdict else 'FAIL'}**, by its mean "
        f"update {'PASS' if verdict_mean else 'FAIL'}, by CPU time (1 thread) {'PASS' if verdict_cpu else 'FAIL'}. "
        f"Final losses differ because the "
        f"random starts differ (scikit-learn: |N(0,1)|·√(mean V/K); innmf: U(0,1)·√(mean V/K)).", "",
        "Each tool at its best thread count on this machine (the comparison a user of the machine makes): "
        + "; ".join(f"{m['case']}: innmf {m['innmf_ms']:.3f} ms ({m['innmf_threads']} thread(s)) vs scikit-learn "
                    f"{m['sklearn_ms']:.3f} ms ({m['sklearn_threads']} thread(s)) = {m['ratio']:.1f}×"
                    for m in machine_level)
        + f" → **{'PASS' if verdict_machine else 'FAIL'}**.", ""] + fma_bound_lines(rows)
    write_section("\n".join(section))


def best_thread_counts(rows):
    """Per matrix: innmf's fastest row (median update) against scikit-learn's fastest row."""
    result = []
    for case in dict.fromkeys(r["case"] for r in rows):
        own = [r for r in rows if r["case"] == case and r.get("sklearn_openblas_ms") is not None]
        if not own:
            continue
        innmf = min(own, key=lambda r: r["innmf_ms"])
        sklearn = min(own, key=lambda r: r["sklearn_openblas_ms"])
        result.append({"case": case, "innmf_ms": innmf["innmf_ms"], "innmf_threads": innmf["threads"],
                       "sklearn_ms": sklearn["sklearn_openblas_ms"], "sklearn_threads": sklearn["threads"],
                       "ratio": sklearn["sklearn_openblas_ms"] / innmf["innmf_ms"]})
    return result


def fma_bound_lines(rows):
    """What the floor asks of one core on each 1-thread row, against that core's FMA peak.

    An update is four products of 2·F·T·K FLOPs (W·H twice, Wᵀ·R, R·Hᵀ), the same for both
    tools; the peak is measured (bench/tools/fma_peak.cpp: FMAs as wide as innmf's kernels, 16
    lanes with AVX-512, else 8), or, failing that, 32 single-precision FLOP per cycle (two 8-wide
    FMA pipes) at the clock /proc/cpuinfo reports."""
    mhz = cpu_mhz()
    measured = measured_fma_peak(os.path.join(WORK, "fma_peak"))
    if measured is not None:
        peak = measured
        peak_text = f"{peak:.1f} GFLOP/s measured by bench/tools/fma_peak.cpp"
    elif mhz is not None:
        peak = 32 * mhz * 1e-3  # GFLOP/s
        peak_text = f"{peak:.1f} GFLOP/s = 32 FLOP/cycle × {mhz:.0f} MHz"
    else:
        return []
    lines = []
    for r in rows:
        if r["threads"] != 1 or "shape" not in r:
            continue
        flops = 4 * 2 * r["shape"][0] * r["shape"][1] * RANK
        needed = flops / (r["sklearn_openblas_ms"] / FLOOR * 1e-3) * 1e-9
        reached = flops / (r["innmf_ms"] * 1e-3) * 1e-9
        lines.append(f"FMA bound, {r['case']}, 1 thread: an update is {flops / 1e6:.1f} MFLOP "
                     f"(V {r['shape'][0]} × {r['shape'][1]}, rank {RANK}); innmf reaches {reached:.1f} GFLOP/s "
                     f"({100 * reached / peak:.0f} % of one core's peak, {peak_text}); {FLOOR:g}× scikit-learn's {r['sklearn_openblas_ms']:.3f} ms needs "
                     f"{needed:.1f} GFLOP/s = {100 * needed / peak:.0f} % of peak"
                     + (" — beyond the hardware with the same FLOPs." if needed > peak else "."))
        lines.append("")
    return lines


def cpu_mhz():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("cpu MHz"):
                return float(line.split(":")[1])
    except OSError:
        pass
    return None


def sklearn_version():
    out = subprocess.run([PYTHON, "-c", "import sklearn; print(sklearn.__version__)"], capture_output=True, text=True)
    return out.stdout.strip()


def write_section(section):
    path = os.path.join(REPO, "bench/RESULTS.md")
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    lines = text.split("\n")
    if SECTION in lines:
        start = lines.index(SECTION)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = section.split("\n")
        text = "\n".join(lines)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")


if __name__ == "__main__":
    sys.exit(main())
