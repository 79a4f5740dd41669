#!/usr/bin/env python3
"""Draw an `innmf export` file: templates W_k(f) and activations H_k(t) as PNG images.

    scripts/plot_model.py EXPORT.h5 [-o PREFIX] [--clip N] [--max-freq HZ]

Writes PREFIX_templates.png and PREFIX_activations.png (PREFIX defaults to EXPORT without .h5).
Needs Debian's python3-h5py and python3-matplotlib.
"""
import argparse
import sys

import h5py
import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def decibels(x):
    return 20 * np.log10(np.maximum(x, 1e-6 * max(x.max(), 1e-12)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", help="file written by `innmf export`")
    parser.add_argument("-o", "--output", help="prefix of the PNG files")
    parser.add_argument("--clip", type=int, default=0, help="which clip's activations (index)")
    parser.add_argument("--max-freq", type=float, default=0, help="upper frequency limit [Hz]")
    args = parser.parse_args()
    prefix = args.output or (args.export[:-3] if args.export.endswith(".h5") else args.export)

    try:
        f = h5py.File(args.export, "r")
    except OSError as error:
        sys.exit(f"plot_model.py: {args.export}: cannot open ({error}); give a file from `innmf export`")
    with f:
        if f.attrs.get("format") != "innmf.export":
            sys.exit(f"plot_model.py: {args.export}: not an `innmf export` file")
        freqs = f["templates/freqs"][:]
        W = f["templates/W"][:]  # (n_freqs, K)
        names = [n.decode() if isinstance(n, bytes) else n for n in f["activations/name"][:]]
        if not 0 <= args.clip < len(names):
            sys.exit(f"plot_model.py: --clip {args.clip}: the model has {len(names)} clips")
        offset, count = int(f["activations/offset"][args.clip]), int(f["activations/count"][args.clip])
        times = f["activations/times"][offset:offset + count]
        H = f["activations/H"][offset:offset + count]  # (n_times, K)
        power = float(f.attrs["power"])

    K = W.shape[1]
    if args.max_freq > 0:
        keep = freqs <= args.max_freq
        freqs, W = freqs[keep], W[keep]

    # Templates: curves for a few components, an image for many. W is magnitude^power.
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if K <= 6:
        for k in range(K):
            ax.plot(freqs, W[:, k], label=f"W{k}")
        ax.set_ylabel(f"W(f)  [magnitude^{power:g}]")
        ax.legend()
        ax.set_xlabel("frequency [Hz]")
    else:
        image = ax.imshow(decibels(W.T), aspect="auto", origin="lower", cmap="magma",
                          extent=[freqs[0], freqs[-1], -0.5, K - 0.5], vmin=decibels(W).max() - 60)
        ax.set_xlabel("frequency [Hz]")
        ax.set_ylabel("template k")
        fig.colorbar(image, ax=ax, label="dB")
    ax.set_title(f"templates ({K})")
    fig.tight_layout()
    fig.savefig(prefix + "_templates.png", dpi=110)

    fig, ax = plt.subplots(figsize=(9, 4.5))
    if K <= 6:
        for k in range(K):
            ax.plot(times, H[:, k], label=f"H{k}")
        ax.set_ylabel("H(t)")
        ax.legend()
    else:
        image = ax.imshow(H.T, aspect="auto", origin="lower", cmap="viridis",
                          extent=[times[0], times[-1], -0.5, K - 0.5])
        ax.set_ylabel("template k")
        fig.colorbar(image, ax=ax, label="H")
    ax.set_xlabel("time [s]")
    ax.set_title(f"activations of {names[args.clip]}")
    fig.tight_layout()
    fig.savefig(prefix + "_activations.png", dpi=110)
    print(f"wrote {prefix}_templates.png and {prefix}_activations.png")


if __name__ == "__main__":
    main()
