#!/usr/bin/env python3
"""check_points_h5py.py POINTS.h5 [--sr 16000] [--n-fft 1024] [--hop 256] [--tone 1000]

Reads a point file written by `innmf features` (from a pure tone, STFT) with h5py alone, as a
user's Python script would, and checks the documented layout:
  - root attributes format == 'innmf.points', format_version == 1;
  - /points/t, /points/f, /points/m have one length and a `units` attribute each;
  - sum(/clips/count) == len(/points/m) and the clips' offsets are consecutive;
  - for grid clips, n_times * n_freqs == count;
  - every time is a multiple of hop / sr and every frequency a multiple of sr / n_fft;
  - the loudest frequency of the middle frame is within one bin of the tone.
Exit code 0 when all hold; otherwise every failed check is printed and the exit code is 1."""
import argparse
import sys

import h5py
import numpy as np


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("points")
    parser.add_argument("--sr", type=float, default=16000.0)
    parser.add_argument("--n-fft", type=int, default=1024)
    parser.add_argument("--hop", type=int, default=256)
    parser.add_argument("--tone", type=float, default=1000.0)
    args = parser.parse_args()

    failures = []

    def check(condition, message):
        if not condition:
            failures.append(message)
        return condition

    with h5py.File(args.points, "r") as f:
        check(text(f.attrs.get("format")) == "innmf.points",
              f"attribute format is {f.attrs.get('format')!r}, expected 'innmf.points'")
        check(f.attrs.get("format_version") == 1,
              f"attribute format_version is {f.attrs.get('format_version')!r}, expected 1")

        for name in ("t", "f", "m"):
            dataset = f.get(f"points/{name}")
            if check(dataset is not None, f"/points/{name} is missing"):
                check("units" in dataset.attrs and len(text(dataset.attrs["units"])) > 0,
                      f"/points/{name} has no units attribute")
        for name in ("count", "offset"):
            check(f.get(f"clips/{name}") is not None, f"/clips/{name} is missing")
        if failures:
            return report(args.points, failures)

        t = f["points/t"][()]
        freq = f["points/f"][()]
        m = f["points/m"][()]
        check(len(t) == len(freq) == len(m),
              f"/points/t, f, m have lengths {len(t)}, {len(freq)}, {len(m)}")
        count = f["clips/count"][()].astype(np.int64)
        offset = f["clips/offset"][()].astype(np.int64)
        check(len(count) >= 1, "no clips")
        check(int(count.sum()) == len(m), f"sum(/clips/count) = {count.sum()} but {len(m)} points")
        expected_offset = np.concatenate(([0], np.cumsum(count)[:-1]))
        check(np.array_equal(offset, expected_offset),
              f"/clips/offset {offset.tolist()} not consecutive (expected {expected_offset.tolist()})")
        if "n_times" in f["clips"] and "n_freqs" in f["clips"]:
            n_times = f["clips/n_times"][()].astype(np.int64)
            n_freqs = f["clips/n_freqs"][()].astype(np.int64)
            grid = n_times > 0
            check(np.array_equal(n_times[grid] * n_freqs[grid], count[grid]),
                  f"n_times * n_freqs = {(n_times * n_freqs).tolist()} != count {count.tolist()}")
            check(np.all(n_freqs[grid] == args.n_fft // 2 + 1),
                  f"n_freqs {n_freqs.tolist()}, expected n_fft/2+1 = {args.n_fft // 2 + 1}")
        else:
            failures.append("/clips/n_times or /clips/n_freqs is missing")
        check(np.all(np.isfinite(m)) and np.all(m >= 0), "magnitudes not finite and non-negative")

        frame = args.hop / args.sr
        frames = t.astype(np.float64) / frame
        worst = np.max(np.abs(frames - np.round(frames))) if len(t) else 0.0
        check(worst < 1e-3, f"times are not multiples of hop/sr = {frame} s (off by up to {worst} frames)")
        bin_hz = args.sr / args.n_fft
        bins = freq.astype(np.float64) / bin_hz
        worst = np.max(np.abs(bins - np.round(bins))) if len(freq) else 0.0
        check(worst < 1e-3, f"frequencies are not multiples of sr/n_fft = {bin_hz} Hz (off by up to {worst} bins)")

        for clip in range(len(count)):
            lo, hi = offset[clip], offset[clip] + count[clip]
            times = np.unique(t[lo:hi])
            if not check(len(times) > 0, f"clip {clip} has no points"):
                continue
            middle = times[len(times) // 2]
            in_frame = np.flatnonzero(t[lo:hi] == middle) + lo
            loudest = float(freq[in_frame[np.argmax(m[in_frame])]])
            check(abs(loudest - args.tone) <= bin_hz,
                  f"clip {clip}: loudest frequency of the middle frame (t = {middle:.3f} s) is "
                  f"{loudest} Hz, expected {args.tone} ± {bin_hz} Hz")
            print(f"clip {clip}: {count[clip]} points, {len(times)} frames, middle frame "
                  f"t = {middle:.3f} s peaks at {loudest} Hz")

    return report(args.points, failures)


def report(path, failures):
    if failures:
        print(f"FAIL: {path}")
        for failure in failures:
            print("  - " + failure)
        return 1
    print(f"OK: {path} reads with h5py and has the documented layout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
