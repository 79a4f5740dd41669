#!/usr/bin/env python3
"""Draw the spectrograms of a mixture and of its separated sources (and references) as one PNG.

    scripts/plot_separation.py MIX.wav SOURCE.wav... [--ref REF.wav ...] -o OUT.png
                               [--n-fft 512] [--max-freq HZ]

One row per signal: the mixture, each separated source, and each reference if given. Needs
Debian's python3-matplotlib and python3-numpy; reads WAV (PCM 16/32-bit or 32-bit float).
"""
import argparse
import sys
import wave

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read_wav(path):
    """Mono float samples and the sample rate of a PCM or IEEE-float WAV file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        sys.exit(f"plot_separation.py: {path}: not a WAV file")
    pos, fmt, samples = 12, None, None
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8:pos + 8 + size]
        if tag == b"fmt ":
            code, channels, rate = (int.from_bytes(body[0:2], "little"), int.from_bytes(body[2:4], "little"),
                                    int.from_bytes(body[4:8], "little"))
            bits = int.from_bytes(body[14:16], "little")
            if code == 0xFFFE:  # WAVE_FORMAT_EXTENSIBLE: the real code starts the sub-format GUID
                code = int.from_bytes(body[24:26], "little")
            fmt = (code, channels, rate, bits)
        elif tag == b"data":
            samples = body
        pos += 8 + size + (size & 1)
    if fmt is None or samples is None:
        sys.exit(f"plot_separation.py: {path}: WAV without fmt or data chunk")
    code, channels, rate, bits = fmt
    if code == 3 and bits == 32:
        x = np.frombuffer(samples, dtype="<f4")
    elif code == 1 and bits == 16:
        x = np.frombuffer(samples, dtype="<i2") / 32768.0
    elif code == 1 and bits == 32:
        x = np.frombuffer(samples, dtype="<i4") / 2147483648.0
    else:
        sys.exit(f"plot_separation.py: {path}: unsupported WAV encoding (format {code}, {bits} bits)")
    return x.reshape(-1, channels).mean(axis=1), rate


def spectrogram_db(x, n_fft):
    hop = n_fft // 4
    window = np.hanning(n_fft)
    padded = np.pad(x, (n_fft // 2, n_fft // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop] * window
    magnitude = np.abs(np.fft.rfft(frames, axis=1)).T
    return 20 * np.log10(np.maximum(magnitude, 1e-8))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mixture")
    parser.add_argument("sources", nargs="+", help="separated sources (from `innmf separate`)")
    parser.add_argument("--ref", action="append", default=[], help="reference of a source (repeat)")
    parser.add_argument("-o", "--output", required=True, help="PNG file")
    parser.add_argument("--n-fft", type=int, default=512)
    parser.add_argument("--max-freq", type=float, default=0, help="upper frequency limit [Hz]")
    args = parser.parse_args()

    signals = [("mixture", args.mixture)] + [("separated", s) for s in args.sources] + [("reference", r) for r in args.ref]
    fig, axes = plt.subplots(len(signals), 1, figsize=(10, 2.2 * len(signals)), sharex=True, squeeze=False)
    top = None
    for ax, (role, path) in zip(axes[:, 0], signals):
        x, rate = read_wav(path)
        s = spectrogram_db(x, args.n_fft)
        top = s.max() if top is None else top  # one colour scale: the mixture's
        extent = [0, len(x) / rate, 0, rate / 2]
        ax.imshow(s, origin="lower", aspect="auto", extent=extent, vmin=top - 80, vmax=top, cmap="magma")
        ax.set_ylim(0, args.max_freq or rate / 2)
        ax.set_ylabel("Hz")
        ax.set_title(f"{role}: {path.rsplit('/', 1)[-1]}", fontsize=9)
    axes[-1, 0].set_xlabel("time [s]")
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"plot_separation.py: wrote {args.output}")


if __name__ == "__main__":
    main()
