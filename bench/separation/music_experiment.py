"""Separation of instrument pairs in stereo 44.1 kHz music (see music.sh). Every number comes
from the innmf command line; fluidsynth renders the instruments from MIDI written here with the
standard library, sox cuts, pans and mixes."""
import argparse
import itertools
import os
import platform
import random
import struct
import subprocess
import sys
import time
import json

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from paper_experiment import METRICS, paired_differences, run, separate, summary_table  # noqa: E402

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
RATE = 44100
# name → (General MIDI program, lowest and highest MIDI note, note lengths [s]); ranges overlap.
INSTRUMENTS = {
    "piano": (0, 48, 76, (0.25, 0.5, 0.5)),
    "guitar": (24, 40, 69, (0.25, 0.5)),
    "violin": (40, 55, 86, (0.5, 1.0)),
    "trumpet": (56, 55, 79, (0.25, 0.5, 1.0)),
    "flute": (73, 60, 91, (0.5, 1.0)),
}
SCALES = [0.5, 1.0, 2.0]
TRAIN_SECONDS, TEST_SECONDS = 30, 10


def variable_length(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def write_midi(path, program, notes):
    """A format-0 MIDI file at 1 ms per tick: `notes` are (start s, length s, MIDI note, velocity)."""
    events = [(0, bytes([0xC0, program]))]
    for start, length, note, velocity in notes:
        events += [(round(start * 1000), bytes([0x90, note, velocity])),
                   (round((start + length) * 1000), bytes([0x80, note, 0]))]
    events.sort(key=lambda e: e[0])
    track, now = bytes([0x00, 0xFF, 0x51, 0x03]) + (1000000).to_bytes(3, "big"), 0  # 1 s per quarter
    for when, data in events:
        track += variable_length(when - now) + data
        now = when
    track += variable_length(0) + bytes([0xFF, 0x2F, 0x00])
    with open(path, "wb") as f:
        f.write(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 1000) + b"MTrk" + struct.pack(">I", len(track)) + track)


def melody(seed, seconds, low, high, lengths):
    """A random melody on the C major scale, notes held for 90 % of their length."""
    rng, t, notes = random.Random(seed), 0.0, []
    pitches = [p for p in range(low, high + 1) if p % 12 in (0, 2, 4, 5, 7, 9, 11)]
    while t < seconds - 0.3:
        length = rng.choice(lengths)
        notes.append((t, min(0.9 * length, seconds - t - 0.05), rng.choice(pitches), rng.randint(70, 110)))
        t += length
    return notes


def render(name, part, seconds, seed, work):
    """`work`/`name`_`part`.wav: the instrument playing `seconds` of its melody of `seed`, 44.1 kHz
    stereo (fluidsynth, no reverb or chorus), cut to exactly that length."""
    wav = os.path.join(work, f"{name}_{part}.wav")
    if not os.path.exists(wav):
        program, low, high, lengths = INSTRUMENTS[name]
        mid, raw = os.path.join(work, f"{name}_{part}.mid"), os.path.join(work, f"{name}_{part}_raw.wav")
        write_midi(mid, program, melody(seed, seconds, low, high, lengths))
        run(["fluidsynth", "-q", "-n", "-i", "-R", 0, "-C", 0, "-g", 0.5, "-r", RATE, "-F", raw, SOUNDFONT, mid])
        run(["sox", raw, "-b", 16, wav, "trim", 0, seconds])
        os.remove(raw)
    return wav


def stereo_mixture(a, b, work):
    """0 dB stereo mixture: both test signals scaled to the same RMS, a panned left (gains 1 and
    0.5), b right; the references are the panned signals, so they add up to the mixture."""
    name = f"{a[0]}+{b[0]}"
    mix = os.path.join(work, f"{name}_mix.wav")
    refs = [os.path.join(work, f"{name}_ref_{a[0]}.wav"), os.path.join(work, f"{name}_ref_{b[0]}.wav")]
    if not os.path.exists(mix):
        for (_, test), ref, (left, right) in zip((a, b), refs, ((1, 0.5), (0.5, 1))):
            rms = float(run(["sox", test, "-n", "remix", "-", "stat"]).stderr.split("RMS     amplitude:")[1].split()[0])
            # Each output channel: the mean of the rendering's two channels times the pan gain.
            run(["sox", "-v", f"{0.05 / rms:.6f}", test, "-e", "floating-point", "-b", 32, ref, "remix",
                 f"1v{left / 2},2v{left / 2}", f"1v{right / 2},2v{right / 2}"])
        run(["sox", "-m", *refs, "-e", "floating-point", "-b", 32, mix])
    return mix, refs


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--innmf", required=True)
    ap.add_argument("--epochs", type=int, default=1000)
    ap.add_argument("--n-fft", type=int, default=1024)
    ap.add_argument("--rank", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--work", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--command", default="")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    started = time.time()
    sizes = [int(round(s * a.n_fft)) for s in SCALES]
    seeds = range(a.seeds)
    sources = {name: (render(name, "train", TRAIN_SECONDS, 1, a.work), render(name, "test", TEST_SECONDS, 2, a.work))
               for name in INSTRUMENTS}
    # iN-NMF: label → `innmf train` options.
    variants = {"iN-NMF, --sine-scale 1 (the paper's init)": 1, "iN-NMF, --sine-scale 4": 4}
    neural, classic = {}, {}
    for name, (train, _) in sources.items():
        points = os.path.join(a.work, f"{name}_points.h5")
        run([a.innmf, "features", train, "-o", points, "--n-fft", a.n_fft, "--hop", a.n_fft // 4, "-q"])
        for seed in seeds:
            for label, scale in variants.items():
                neural[name, seed, label] = os.path.join(a.work, f"{name}_s{seed}_scale{scale}.h5")
                run([a.innmf, "train", points, "-o", neural[name, seed, label], "--rank", a.rank, "--epochs",
                     a.epochs, "--seed", seed, "--sine-scale", scale, "-q"])
            for n_fft in sizes:
                classic[name, n_fft, seed] = os.path.join(a.work, f"nmf{n_fft}", f"{name}_s{seed}.h5")
                os.makedirs(os.path.dirname(classic[name, n_fft, seed]), exist_ok=True)
                run([a.innmf, "nmf", train, "-o", classic[name, n_fft, seed], "--rank", a.rank, "--n-fft", n_fft,
                     "--hop", n_fft // 4, "--seed", seed, "-q"])
        print(f"trained {name} ({time.time() - started:.0f} s)", flush=True)

    methods = (*variants, "NMF")
    rows = []
    for va, vb in itertools.combinations(INSTRUMENTS, 2):
        mix, refs = stereo_mixture((va, sources[va][1]), (vb, sources[vb][1]), a.work)
        for n_fft, seed in itertools.product(sizes, seeds):
            runs = [(label, f"scale{scale}", [neural[va, seed, label], neural[vb, seed, label]])
                    for label, scale in variants.items()]
            runs.append(("NMF", "nmf", [classic[va, n_fft, seed], classic[vb, n_fft, seed]]))
            for method, short, models in runs:
                tag = f"{va}+{vb}_{short}_{n_fft}_s{seed}"
                r = separate(a.innmf, mix, models, refs, n_fft, a.work, tag, hop=n_fft // 4)
                assert r["channels"] == 2, r["channels"]
                rows.append({"pair": [va, vb], "n_fft": n_fft, "method": method, "seed": seed,
                             **{k: r[k] for k in METRICS}, "per_source": r["per_source"]})

    print()
    summary = summary_table(rows, SCALES, sizes, methods, seeds, " (scored on mono mix-downs)")
    differences = []
    for method in variants:
        differences += paired_differences(rows, SCALES, sizes, method, "NMF")
    print(f"\n({time.time() - started:.0f} s)")
    with open(a.json, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%d"), "command": a.command,
                   "machine": platform.processor() or platform.machine(), "nproc": os.cpu_count(),
                   "epochs": a.epochs, "rank": a.rank, "train_n_fft": a.n_fft, "instruments": INSTRUMENTS,
                   "seeds": a.seeds, "rows": rows, "summary": summary, "differences": differences}, f, indent=1)


if __name__ == "__main__":
    main()
