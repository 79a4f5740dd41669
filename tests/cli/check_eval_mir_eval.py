#!/usr/bin/env python3
"""check_eval_mir_eval.py signals DIR
   check_eval_mir_eval.py compare INNMF DIR [MPIRUN...]

`signals` writes the test signals (16-bit PCM WAV, mono, 8 kHz, 9 s) into DIR:
  - DIR/<case>/ref<i>.wav and DIR/<case>/est<j>.wav for each case below;
  - DIR/silent.wav (all zeros) beside DIR/noise.wav, for the bad-input tests.
Cases (sources are broadband noise coloured by resonances at different frequencies):
  mixtures     2 sources; estimate i = source i + 0.3 · the other + white noise
  filtered     3 sources; filtered sources, leakage and noise; the estimates are written in the
               order (2, 0, 1), so the best permutation is not the identity
  swapped      2 sources written in swapped order, one estimate a short-delayed echo of its
               source (inside the 512-tap filters), the other with strong leakage
  one_source   1 source; estimate = the source lowpassed + noise (SIR is +inf, SDR/SAR finite)

`compare` runs `INNMF eval --ref … --est … --metrics DIR/metrics.jsonl -q` on every case and
mir_eval.separation.bss_eval_sources (mir_eval 0.7, Debian python3-mir-eval) on the samples the
WAV files hold, and checks:
  - SDR, SIR and SAR per source within 0.05 dB of mir_eval's (both +inf where mir_eval's is),
    and the same permutation; the `filtered` case's permutation is not the identity;
  - SI-SDR per source within 0.01 dB of numpy's (Le Roux et al. 2019, no mean removal) on the
    matched pairs; means over sources are the means of the lists;
  - the table on stdout: one row per reference naming it and its matched estimate, then a
    `mean` row; no NaN anywhere;
  - DIR/metrics.jsonl gains one line per run (appended), naming the files.
With MPIRUN (e.g. `mpirun -np 2 --oversubscribe`), the `filtered` case runs again under it and
its JSON line must equal the single-process one (but for `seconds`).
Prints the largest difference from mir_eval; exit code 0 when all hold, 1 otherwise."""
import json
import math
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np

RATE = 8000
SECONDS = 9.0  # 72,000 samples: two of innmf's BSS Eval blocks, a seam inside the filters' reach
CASES = ["mixtures", "filtered", "swapped", "one_source"]


def write_wav(path, x):
    pcm = np.clip(np.round(np.asarray(x) * 32768), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())


def read_wav(path):
    # libsndfile reads 16-bit PCM as sample / 32768: the same numbers innmf sees.
    with wave.open(str(path)) as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768


def coloured(rng, n, frequency):
    """White noise through a two-pole resonance at `frequency` Hz, plus a little white noise."""
    e = rng.standard_normal(n)
    r, c = 0.97, 2 * 0.97 * math.cos(2 * math.pi * frequency / RATE)
    y = np.zeros(n)
    for t in range(n):
        y[t] = e[t] + c * (y[t - 1] if t >= 1 else 0) - r * r * (y[t - 2] if t >= 2 else 0)
    x = y / np.abs(y).max() + 0.02 * e
    return 0.4 * x / np.abs(x).max()


def fir(x, h):
    return np.convolve(x, h)[: len(x)]


def make_case(name, rng, n):
    """(references, estimates in file order)."""
    if name == "mixtures":
        s = [coloured(rng, n, 300), coloured(rng, n, 1500)]
        return s, [s[0] + 0.3 * s[1] + 0.01 * rng.standard_normal(n),
                   s[1] + 0.3 * s[0] + 0.02 * rng.standard_normal(n)]
    if name == "filtered":
        s = [coloured(rng, n, 200), coloured(rng, n, 900), coloured(rng, n, 2500)]
        in_order = [fir(s[0], [0.7, 0.2, -0.1]) + 0.1 * s[1] + 0.005 * rng.standard_normal(n),
                    0.8 * s[1] + 0.2 * s[2] + 0.05 * s[0] + 0.01 * rng.standard_normal(n),
                    fir(s[2], [0.5, 0.0, 0.3]) + 0.15 * s[0] + 0.02 * rng.standard_normal(n)]
        return s, [in_order[2], in_order[0], in_order[1]]
    if name == "swapped":
        s = [coloured(rng, n, 500), coloured(rng, n, 3000)]
        echo = s[0] + 0.5 * np.concatenate([np.zeros(40), s[0][:-40]])
        return s, [s[1] + 0.6 * s[0] + 0.01 * rng.standard_normal(n),
                   0.6 * echo + 0.05 * s[1] + 0.003 * rng.standard_normal(n)]
    if name == "one_source":
        s = [coloured(rng, n, 700)]
        return s, [fir(s[0], np.ones(8) / 8) + 0.02 * rng.standard_normal(n)]
    raise ValueError(name)


def signals(folder):
    folder = Path(folder)
    rng = np.random.default_rng(20240611)
    n = int(RATE * SECONDS)
    for name in CASES:
        refs, ests = make_case(name, rng, n)
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i, x in enumerate(refs):
            write_wav(folder / name / f"ref{i}.wav", x)
        for j, x in enumerate(ests):
            write_wav(folder / name / f"est{j}.wav", x)
    write_wav(folder / "silent.wav", np.zeros(n))
    write_wav(folder / "noise.wav", coloured(rng, n, 1000))
    return 0


def si_sdr(reference, estimate):
    alpha = np.dot(estimate, reference) / np.dot(reference, reference)
    target = alpha * reference
    return 10 * np.log10(np.sum(target**2) / np.sum((estimate - target) ** 2))


def compare(innmf, folder, mpirun):
    import mir_eval.separation

    folder = Path(folder)
    metrics = folder / "metrics.jsonl"
    metrics.unlink(missing_ok=True)
    failures = []
    worst = 0.0
    lines_expected = 0

    def check(condition, message):
        if not condition:
            failures.append(message)

    def run(prefix, refs, ests):
        command = list(prefix) + [innmf, "eval"]
        for r in refs:
            command += ["--ref", str(r)]
        for e in ests:
            command += ["--est", str(e)]
        command += ["--metrics", str(metrics), "-q"]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        return command, result

    filtered_line = None
    for name in CASES:
        refs = sorted((folder / name).glob("ref*.wav"))
        ests = sorted((folder / name).glob("est*.wav"))
        command, result = run([], refs, ests)
        if result.returncode != 0:
            failures.append(f"{name}: {' '.join(command)} exited {result.returncode}: {result.stderr}")
            continue
        lines_expected += 1
        lines = metrics.read_text().splitlines()
        check(len(lines) == lines_expected,
              f"{name}: metrics file has {len(lines)} lines after {lines_expected} runs (appending)")
        got = json.loads(lines[-1])
        if name == "filtered":
            filtered_line = got

        R = np.array([read_wav(p) for p in refs])
        E = np.array([read_wav(p) for p in ests])
        sdr, sir, sar, perm = mir_eval.separation.bss_eval_sources(R, E)
        per = got["per_source"]
        check(got["permutation"] == [int(p) for p in perm],
              f"{name}: permutation {got['permutation']}, mir_eval {list(perm)}")
        if name == "filtered":
            check(list(perm) != list(range(len(refs))), "filtered: mir_eval's permutation is the identity")
        for key, theirs in (("sdr", sdr), ("sir", sir), ("sar", sar)):
            ours = per[key]
            for i, (a, b) in enumerate(zip(ours, theirs)):
                if math.isinf(b):
                    # JSON null stands for ±inf; mir_eval's +inf comes from an exactly zero
                    # error energy, ours must then be null or far above any real score.
                    check(a is None or a > 150, f"{name}: {key}[{i}] = {a}, mir_eval +inf")
                    continue
                check(a is not None, f"{name}: {key}[{i}] is null, mir_eval {b:.4f}")
                if a is None:
                    continue
                worst = max(worst, abs(a - b))
                check(abs(a - b) <= 0.05, f"{name}: {key}[{i}] = {a:.4f} dB, mir_eval {b:.4f} dB")
            finite = [v for v in ours if v is not None]
            if len(finite) == len(ours):
                check(abs(got[key] - np.mean(ours)) < 1e-9, f"{name}: mean {key} {got[key]} != mean of {ours}")
            else:
                check(got[key] is None, f"{name}: mean {key} should be null (an infinite entry)")
        for i, e in enumerate(got["permutation"]):
            theirs = si_sdr(R[i], E[e])
            check(abs(per["si_sdr"][i] - theirs) <= 0.01,
                  f"{name}: si_sdr[{i}] = {per['si_sdr'][i]:.4f} dB, numpy {theirs:.4f} dB")
        check(got["references"] == [str(p) for p in refs] and got["estimates"] == [str(p) for p in ests],
              f"{name}: file names in the JSON line: {got.get('references')} {got.get('estimates')}")
        check(got["sample_rate"] == RATE and got["samples"] == R.shape[1],
              f"{name}: sample_rate/samples {got.get('sample_rate')}/{got.get('samples')}")

        # The table: header, one row per reference with its matched estimate, the mean row.
        rows = result.stdout.splitlines()
        check(len(rows) == len(refs) + 2, f"{name}: table has {len(rows)} lines:\n{result.stdout}")
        check("nan" not in result.stdout.lower(), f"{name}: NaN in the table:\n{result.stdout}")
        for i, row in enumerate(rows[1:1 + len(refs)]):
            fields = row.split()
            check(fields[:2] == [str(refs[i]), str(ests[got["permutation"][i]])],
                  f"{name}: table row {i} does not name ref{i} and its estimate: {row}")
            if len(fields) == 6 and per["sdr"][i] is not None:
                check(abs(float(fields[2]) - per["sdr"][i]) <= 0.006, f"{name}: table SDR {fields[2]} vs JSON")
        check(rows[-1].startswith("mean"), f"{name}: last table line is not the mean: {rows[-1]}")
        print(f"{name}: perm {got['permutation']}, SDR {np.round(sdr, 3)}, mir_eval agrees")

    if mpirun and filtered_line is not None:
        refs = sorted((folder / "filtered").glob("ref*.wav"))
        ests = sorted((folder / "filtered").glob("est*.wav"))
        command, result = run(mpirun, refs, ests)
        if result.returncode != 0:
            failures.append(f"{' '.join(command)} exited {result.returncode}: {result.stderr}")
        else:
            mpi_line = json.loads(metrics.read_text().splitlines()[-1])
            for line in (mpi_line, filtered_line):
                line.pop("seconds", None)
            check(mpi_line == filtered_line, f"under {' '.join(mpirun)}: {mpi_line} != {filtered_line}")
            check(result.stdout.count("mean") == 1, f"under MPI the table is printed more than once:\n{result.stdout}")

    print(f"largest |innmf - mir_eval| over SDR/SIR/SAR: {worst:.2e} dB")
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "signals":
        return signals(sys.argv[2])
    if len(sys.argv) >= 4 and sys.argv[1] == "compare":
        return compare(sys.argv[2], sys.argv[3], sys.argv[4:])
    print(__doc__, file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
