#!/usr/bin/env python3
"""check_model_h5py.py MODEL.h5 AUDIO.wav [--n-fft 1000] [--hop 500] [--rank 20]

Reads a classic NMF model written by `innmf nmf AUDIO.wav` with h5py alone, as a user's Python
script would, and checks the documented layout and its meaning:
  - root attributes: format 'innmf.model', format_version 1, kind 'nmf', rank, power, beta,
    sample_rate, f_ref = sample_rate / 2, representation (JSON: stft, n_fft, hop, window),
    config (JSON: the nmf command's options), created_by;
  - /templates/W [n_fft/2+1, rank] and /activations/H [rank, frames] float32, non-negative,
    with units; /templates/freqs = k·sr/n_fft; /activations/times = j·hop/sr;
    /training/loss [iterations + 1] float64, ending below where it started;
  - the meaning: the STFT of AUDIO computed here with numpy (centred, zero-padded, periodic
    sqrt-Hann, unnormalised DFT), raised to `power`, against W @ H gives the file's final loss
    (mean generalised KL) to 1e-3 relative.
Exit code 0 when all hold; otherwise every failed check is printed and the exit code is 1."""
import argparse
import json
import sys
import wave

import h5py
import numpy as np


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def read_wav(path):
    with wave.open(path) as w:
        assert w.getsampwidth() == 2, "16-bit PCM expected"
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64) / 32768
        return x.reshape(-1, w.getnchannels()).mean(axis=1), w.getframerate()


def stft_magnitude(x, n_fft, hop, window):
    n = np.arange(n_fft)
    hann = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)
    w = {"sqrt-hann": np.sqrt(hann), "hann": hann}[window]
    padded = np.pad(x, n_fft // 2)
    frames = 1 + len(x) // hop
    stack = np.stack([padded[j * hop:j * hop + n_fft] * w for j in range(frames)])
    return np.abs(np.fft.rfft(stack, axis=1)).T  # (bins, frames)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("audio")
    parser.add_argument("--n-fft", type=int, default=1000)
    parser.add_argument("--hop", type=int, default=500)
    parser.add_argument("--rank", type=int, default=20)
    args = parser.parse_args()
    failures = []

    def check(condition, message):
        if not condition:
            failures.append(message)
        return condition

    with h5py.File(args.model, "r") as f:
        a = f.attrs
        check(text(a.get("format")) == "innmf.model", f"format {a.get('format')!r}")
        check(a.get("format_version") == 1, f"format_version {a.get('format_version')!r}")
        check(text(a.get("kind")) == "nmf", f"kind {a.get('kind')!r}")
        check(a.get("rank") == args.rank, f"rank {a.get('rank')!r}, expected {args.rank}")
        power, beta, sr = float(a["power"]), float(a["beta"]), float(a["sample_rate"])
        check(float(a["f_ref"]) == sr / 2, f"f_ref {a['f_ref']} is not sample_rate / 2")
        representation = json.loads(text(a["representation"]))
        check(representation.get("kind") == "stft" and representation.get("n_fft") == args.n_fft
              and representation.get("hop") == args.hop, f"representation {representation}")
        config = json.loads(text(a["config"]))
        check(config.get("command") == "nmf" and config.get("options", {}).get("rank") == args.rank,
              f"config {config}")
        check(text(a.get("created_by", "")).startswith("innmf"), "created_by missing")

        W, H = f["templates/W"], f["activations/H"]
        bins = args.n_fft // 2 + 1
        check(W.shape == (bins, args.rank) and W.dtype == np.float32, f"W {W.shape} {W.dtype}")
        check(H.shape[0] == args.rank and H.dtype == np.float32, f"H {H.shape} {H.dtype}")
        for d in (W, H, f["templates/freqs"], f["activations/times"], f["training/loss"]):
            check(len(text(d.attrs.get("units", ""))) > 0, f"{d.name} has no units")
        W, H = W[()].astype(np.float64), H[()].astype(np.float64)
        check(W.min() >= 0 and H.min() >= 0, "negative entries in W or H")
        freqs, times = f["templates/freqs"][()], f["activations/times"][()]
        check(np.allclose(freqs, np.arange(bins) * sr / args.n_fft), "freqs are not k·sr/n_fft")
        check(len(times) == H.shape[1] and np.allclose(times, np.arange(H.shape[1]) * args.hop / sr,
                                                       atol=1e-4), "times are not j·hop/sr")
        loss = f["training/loss"][()]
        check(loss.dtype == np.float64 and len(loss) == len(f["training/seconds"]) + 1,
              "training/loss must have one more value than training/seconds")
        check(loss[-1] < loss[0], f"loss {loss[0]} -> {loss[-1]} did not fall")
        window = representation.get("window", "sqrt-hann")
        if failures:
            return report(args.model, failures)

    x, rate = read_wav(args.audio)
    check(rate == sr, f"audio at {rate} Hz, model at {sr} Hz")
    V = stft_magnitude(x, args.n_fft, args.hop, window) ** power
    check(V.shape == (bins, H.shape[1]), f"numpy STFT {V.shape}, model {bins} × {H.shape[1]}")
    if not failures and beta == 1.0:
        eps = np.finfo(np.float32).eps
        model = np.maximum(W @ H, eps)
        with np.errstate(divide="ignore", invalid="ignore"):
            kl = np.where(V > 0, V * np.log(V / model), 0.0) - V + model
        ours, theirs = float(kl.mean()), float(loss[-1])
        check(abs(ours - theirs) <= 1e-3 * theirs,
              f"mean KL of numpy's |STFT|^{power} against W @ H is {ours:.6g}, the file says {theirs:.6g}")
        print(f"final loss: file {theirs:.6g}, recomputed with numpy {ours:.6g}")
    return report(args.model, failures)


def report(path, failures):
    if failures:
        print(f"FAIL: {path}")
        for failure in failures:
            print("  - " + failure)
        return 1
    print(f"OK: {path} reads with h5py and W @ H reproduces its loss")
    return 0


if __name__ == "__main__":
    sys.exit(main())
