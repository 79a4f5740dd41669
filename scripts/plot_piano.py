#!/usr/bin/env python3
"""The piano demo's plots and checks: do the two templates hold the two notes, and do the two
activations start when the notes do?

    scripts/plot_piano.py POINTS.h5 EXPORT.h5 NOTES.mid -o OUTDIR [--no-plots] [--json FILE]

POINTS.h5 is the hybrid point set (`innmf features --repr stft:128,stft:1024,cqt`), EXPORT.h5
`innmf export` of a rank-2 model trained on it (on a fine grid: --n-freqs 64001 --fmax 4000), NOTES.mid the MIDI file that was rendered
(data/piano/two_notes.mid: C4 at 0.0 s, F#4 at 1.5 s). The notes, their fundamentals
f0 = 440·2^((pitch − 69)/12) Hz and their onsets come from the MIDI file itself.

Checks (exit status 1 if any fails, after printing the table):
  * assignment: the note ↔ template permutation with the best summed harmonic score (mean log
    template at the note's first harmonics below 4 kHz, relative to the template's median);
  * harmonics: for k = 1, 2, 3 the strongest local maximum of the matched template within a
    semitone of k·f0 lies within a quarter tone (±50 cents) of k·f0 and stands at least 6 dB
    (in magnitude) above the template's minimum between the neighbouring half-harmonics. The
    template is read at the frequencies it was trained on (the point set's distinct
    frequencies), where it is fitted; between them the networks are free and ripple, and
    the maxima of the fine export grid are only reported (column "between bins");
  * onsets: the matched activation first reaches 50 % of its maximum within 50 ms of the
    note-on;
  * cross-talk: the matched activation's mean while the other note sounds (from 0.3 s after its
    note-on to its note-off, when the first note's release has died away) is below 25 % of its
    mean during its own note.

Plots (PNG in OUTDIR, skipped with --no-plots or without matplotlib): piano_points.png (the point
set, one panel per part, t × f coloured by log magnitude), piano_templates.png (log magnitude of
both templates, the notes' harmonics marked), piano_activations.png (both activations, the
note-ons marked). Needs Debian's python3-h5py and python3-numpy (python3-matplotlib for plots).
"""
import argparse
import json
import os
import struct
import sys

import h5py
import numpy as np

CENTS_TOLERANCE = 50.0   # a quarter tone
ONSET_TOLERANCE = 0.050  # s
N_HARMONICS = 3          # checked harmonics per note
PROMINENCE_DB = 6.0      # each checked peak above the dip to its neighbouring half-harmonics
ONSET_FRACTION = 0.5     # onset: first time the activation reaches this fraction of its maximum
CROSSTALK_MAX = 0.25     # activation level during the other note / during its own note
CROSSTALK_SETTLE = 0.3   # s after the other note's onset before its sustain is compared
SCORE_FMAX = 4000.0      # Hz: harmonics used for the assignment score lie below this
NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def fail(message):
    sys.exit(f"plot_piano.py: {message}")


# --- MIDI --------------------------------------------------------------------------------------

def read_midi_notes(path):
    """Notes of a standard MIDI file (format 0 or 1, ticks per quarter): a list of dicts with
    pitch, name, f0 [Hz, A4 = 440], on and off [s], sorted by note-on. Tempo changes honoured."""
    data = open(path, "rb").read()
    if data[:4] != b"MThd":
        fail(f"{path}: not a standard MIDI file")
    _, n_tracks, division = struct.unpack(">HHH", data[8:14])
    if division & 0x8000:
        fail(f"{path}: SMPTE time division is not supported")
    pos, events = 8 + struct.unpack(">I", data[4:8])[0], []  # (tick, order, kind, value)
    for _ in range(n_tracks):
        if data[pos:pos + 4] != b"MTrk":
            fail(f"{path}: missing track chunk at byte {pos}")
        end = pos + 8 + struct.unpack(">I", data[pos + 4:pos + 8])[0]
        pos, tick, status = pos + 8, 0, 0

        def vlq():
            nonlocal pos
            value = 0
            while True:
                byte = data[pos]
                pos += 1
                value = (value << 7) | (byte & 0x7F)
                if not byte & 0x80:
                    return value

        while pos < end:
            tick += vlq()
            if data[pos] & 0x80:
                status = data[pos]
                pos += 1
            if status == 0xFF:  # meta event
                kind = data[pos]
                pos += 1
                length = vlq()
                if kind == 0x51:
                    events.append((tick, len(events), "tempo", int.from_bytes(data[pos:pos + 3], "big")))
                pos += length
            elif status in (0xF0, 0xF7):  # sysex
                pos += vlq()
            else:
                kind, n_data = status & 0xF0, (1 if status & 0xF0 in (0xC0, 0xD0) else 2)
                args = data[pos:pos + n_data]
                pos += n_data
                if kind == 0x90 and args[1] > 0:
                    events.append((tick, len(events), "on", args[0]))
                elif kind == 0x80 or (kind == 0x90 and args[1] == 0):
                    events.append((tick, len(events), "off", args[0]))
        pos = end
    events.sort()
    seconds, last_tick, tempo = 0.0, 0, 500000  # µs per quarter (the SMF default)
    notes, sounding = [], {}
    for tick, _, kind, value in events:
        seconds += (tick - last_tick) * tempo / 1e6 / division
        last_tick = tick
        if kind == "tempo":
            tempo = value
        elif kind == "on":
            sounding[value] = seconds
        elif kind == "off" and value in sounding:
            notes.append({"pitch": value, "name": f"{NOTE_NAMES[value % 12]}{value // 12 - 1}",
                          "f0": 440.0 * 2 ** ((value - 69) / 12), "on": sounding.pop(value), "off": seconds})
    return sorted(notes, key=lambda n: n["on"])


# --- Inputs ------------------------------------------------------------------------------------

def read_export(path):
    with h5py.File(path, "r") as f:
        if f.attrs.get("format") != "innmf.export":
            fail(f"{path}: not an `innmf export` file")
        if int(f["activations/count"].shape[0]) != 1:
            fail(f"{path}: expected one clip (one audio file), found {f['activations/count'].shape[0]}")
        count = int(f["activations/count"][0])
        offset = int(f["activations/offset"][0])
        return {"freqs": f["templates/freqs"][:].astype(float), "W": f["templates/W"][:].astype(float),
                "times": f["activations/times"][offset:offset + count].astype(float),
                "H": f["activations/H"][offset:offset + count].astype(float),
                "power": float(f.attrs["power"])}


def read_points(path):
    """The clip's points split into the hybrid's parts: a list of (label, t, f, m)."""
    with h5py.File(path, "r") as f:
        rep = json.loads(f.attrs["representation"])
        count, offset = int(f["clips/count"][0]), int(f["clips/offset"][0])
        sr = float(f["clips/sample_rate"][0])
        n_samples = int(round(float(f["clips/duration"][0]) * sr))
        t = f["points/t"][offset:offset + count]
        fr = f["points/f"][offset:offset + count]
        m = f["points/m"][offset:offset + count]
    parts = rep["parts"] if rep.get("kind") == "hybrid" else [rep]
    # A hybrid clip holds its parts' points in order; an STFT part is a full grid (frames × bins).
    out, begin = [], 0
    for i, part in enumerate(parts):
        if part["kind"] == "stft":
            label = f"STFT {part['n_fft']} (hop {part['hop']})"
            end = begin + (1 + n_samples // part["hop"]) * (part["n_fft"] // 2 + 1)
        elif i == len(parts) - 1:
            label = part["kind"].upper()
            if part["kind"] == "cqt":
                label = f"CQT ({part['bins_per_octave']} bins/octave from {part['fmin']:g} Hz)"
            end = count
        else:  # a scattered part before the last one: its size is not recorded, draw one panel
            return [("all points", t, fr, m)]
        if end > count:
            return [("all points", t, fr, m)]
        out.append((label, t[begin:end], fr[begin:end], m[begin:end]))
        begin = end
    return out if begin == count else [("all points", t, fr, m)]


# --- Measurements ------------------------------------------------------------------------------

def cents(f, ref):
    return 1200.0 * np.log2(f / ref)


def local_maxima(w):
    return np.where((w[1:-1] > w[:-2]) & (w[1:-1] >= w[2:]))[0] + 1


def harmonic_score(freqs, w, f0):
    """Mean log template at the note's harmonics below SCORE_FMAX (best value within ±50 cents),
    relative to the template's median log level over the same band."""
    band = (freqs >= 0.5 * f0) & (freqs <= SCORE_FMAX)
    logw = np.log(np.maximum(w, 1e-12))
    values = []
    for k in range(1, int(SCORE_FMAX // f0) + 1):
        near = band & (np.abs(cents(np.maximum(freqs, 1e-9), k * f0)) <= CENTS_TOLERANCE)
        if near.any():
            values.append(logw[near].max())
    return float(np.mean(values) - np.median(logw[band]))


def parabola_vertex(x, y):
    """Abscissa of the vertex of the parabola through three points (x need not be uniform),
    clamped to [x0, x2]; x1 if the points are not concave."""
    (x0, x1, x2), (y0, y1, y2) = x, y
    d0, d1 = (y1 - y0) / (x1 - x0), (y2 - y1) / (x2 - x1)
    a = (d1 - d0) / (x2 - x0)
    if a >= 0:
        return x1
    return float(np.clip(0.5 * (x0 + x1) - d0 / (2 * a), x0, x2))


def harmonic_peak(freqs, w, target, f0, power):
    """The strongest local maximum of the template samples (freqs, w) within a semitone of target,
    refined by a parabola through log w at it and its two neighbours: its frequency, its error in
    cents and its prominence in dB of magnitude over the lowest sample within ±f0/2."""
    logw = np.log(np.maximum(w, 1e-30))
    peaks = local_maxima(w)
    peaks = peaks[np.abs(cents(freqs[peaks], target)) <= 100.0]
    if len(peaks) == 0:
        return None
    i = int(peaks[np.argmax(w[peaks])])
    f_peak = parabola_vertex(freqs[i - 1:i + 2], logw[i - 1:i + 2])
    around = (freqs >= target - 0.5 * f0) & (freqs <= target + 0.5 * f0)
    prominence = 20.0 / power * np.log10(w[i] / max(w[around].min(), 1e-30))
    return {"f": float(f_peak), "cents": float(cents(f_peak, target)), "prominence_db": float(prominence)}


def onset(times, h):
    """First time the activation reaches ONSET_FRACTION of its maximum."""
    return float(times[np.argmax(h >= ONSET_FRACTION * h.max())])


def measure(notes, ex, train_freqs):
    """train_freqs: the point set's distinct frequencies. The templates are fitted there and free
    in between, where the networks ripple (README, "Sampling iN-NMF templates at new bins"): two
    training frequencies 0.1 Hz apart with different targets (an STFT bin beside a CQT bin) make
    a spike between them. So the checks read the templates at the training frequencies
    (interpolated from the fine export grid); the maxima of the fine grid itself are reported
    beside them as `between`."""
    fine, W_fine, times, H, power = ex["freqs"], ex["W"], ex["times"], ex["H"], ex["power"]
    freqs = train_freqs[(train_freqs > 0) & (train_freqs <= fine[-1])]
    W = np.stack([np.interp(freqs, fine, W_fine[:, k]) for k in range(W_fine.shape[1])], axis=1)
    K = W.shape[1]
    if K != len(notes):
        fail(f"the model has {K} templates and the MIDI file {len(notes)} notes: train with --rank {len(notes)}")
    scores = np.array([[harmonic_score(freqs, W[:, k], n["f0"]) for k in range(K)] for n in notes])
    # Best permutation (K = 2 here; brute force is fine for a handful of notes).
    from itertools import permutations
    match = max(permutations(range(K)), key=lambda p: sum(scores[i, p[i]] for i in range(K)))
    results, failures = [], []
    for i, note in enumerate(notes):
        k = match[i]
        harmonics = []
        for h in range(1, N_HARMONICS + 1):
            peak = harmonic_peak(freqs, W[:, k], h * note["f0"], note["f0"], power)
            between = harmonic_peak(fine, W_fine[:, k], h * note["f0"], note["f0"], power)
            passed = (peak is not None and abs(peak["cents"]) <= CENTS_TOLERANCE
                      and peak["prominence_db"] >= PROMINENCE_DB)
            if not passed:
                failures.append(f"{note['name']} harmonic {h}")
            harmonics.append({"k": h, "expected": h * note["f0"], "peak": peak, "ok": bool(passed),
                              "between": between})
        t_on = onset(times, H[:, k])
        on_ok = abs(t_on - note["on"]) <= ONSET_TOLERANCE
        own = H[(times >= note["on"]) & (times < note["off"]), k].mean()
        others = [H[(times >= n["on"] + CROSSTALK_SETTLE) & (times < n["off"]), k].mean()
                  for n in notes if n is not note and n["off"] - n["on"] > CROSSTALK_SETTLE]
        crosstalk = float(max(others) / own) if others and own > 0 else 0.0
        crosstalk_ok = crosstalk < CROSSTALK_MAX
        failures += [f"{note['name']} onset"] * (not on_ok) + [f"{note['name']} cross-talk"] * (not crosstalk_ok)
        results.append({"note": note, "template": k, "score": scores[i].tolist(), "harmonics": harmonics,
                        "onset": t_on, "onset_error_ms": 1000 * (t_on - note["on"]), "onset_ok": bool(on_ok),
                        "crosstalk": crosstalk, "crosstalk_ok": bool(crosstalk_ok)})
    return results, failures


def print_table(results):
    print("note  f0 [Hz]  template  harmonic  expected [Hz]  peak [Hz]  error [cents]  prominence [dB]      "
          "(between bins: peak [Hz], error [cents])")
    for r in results:
        n = r["note"]
        for h in r["harmonics"]:
            p, b = h["peak"], h["between"]
            peak = f"{p['f']:9.1f}  {p['cents']:+13.1f}  {p['prominence_db']:15.1f}" if p else f"{'none':>9s}{'':42s}"
            between = f"({b['f']:.1f}, {b['cents']:+.1f})" if b else "(none)"
            print(f"{n['name']:4s}  {n['f0']:7.2f}  W{r['template']:<7d}  {h['k']:8d}  {h['expected']:13.1f}  "
                  f"{peak}  {'ok' if h['ok'] else 'FAIL':4s}  {between}")
    print("note  note-on [s]  activation  onset [s]  error [ms]        cross-talk")
    for r in results:
        n = r["note"]
        print(f"{n['name']:4s}  {n['on']:11.3f}  H{r['template']:<9d}  {r['onset']:9.3f}  "
              f"{r['onset_error_ms']:+10.1f}  {'ok' if r['onset_ok'] else 'FAIL':4s}  "
              f"{100 * r['crosstalk']:5.1f} %  {'ok' if r['crosstalk_ok'] else 'FAIL'}")


# --- Plots -------------------------------------------------------------------------------------

def plot(outdir, parts, notes, results, ex, train_freqs):
    import matplotlib
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    colours = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    note_of_template = {r["template"]: r for r in results}

    # The point set: one panel per part, t × f, colour = log magnitude.
    fig, axes = plt.subplots(1, len(parts), figsize=(5.5 * len(parts) + 1, 5), sharey=True, squeeze=False,
                             constrained_layout=True)
    m_max = max(float(p[3].max()) for p in parts)
    for ax, (label, t, f, m) in zip(axes[0], parts):
        keep = f > 0  # log frequency axis
        order = np.argsort(m[keep])  # loud points on top
        db = 20 * np.log10(np.maximum(m[keep][order], m_max * 1e-4) / m_max)
        image = ax.scatter(t[keep][order], f[keep][order], c=db, s=2.5, marker="s", linewidths=0,
                           cmap="magma", vmin=-80, vmax=0, rasterized=True)
        ax.set_yscale("log")
        ax.set_ylim(40, 8000)
        ax.set_xlabel("time [s]")
        ax.set_title(f"{label}\n{len(t)} points", fontsize=10)
        for note in notes:
            ax.axvline(note["on"], color="white", lw=0.6, ls=":")
    axes[0][0].set_ylabel("frequency [Hz]")
    fig.colorbar(image, ax=axes[0].tolist(), label="magnitude [dB re max]")
    fig.suptitle("hybrid point set of data/piano/two_notes.wav")
    fig.savefig(os.path.join(outdir, "piano_points.png"), dpi=110)
    plt.close(fig)

    # Templates: dB of W^(1/p) (linear magnitude) at the training frequencies (black) and on the
    # fine export grid between them (grey), harmonics of both notes marked.
    freqs, W, power = ex["freqs"], ex["W"], ex["power"]
    fmax = 3000.0
    band = (freqs > 0) & (freqs <= fmax)
    fit_f = train_freqs[(train_freqs > 0) & (train_freqs <= fmax)]
    K = W.shape[1]
    fig, axes = plt.subplots(K, 1, figsize=(11, 3.2 * K), sharex=True, squeeze=False)
    for k in range(K):
        ax = axes[k][0]
        top = np.interp(fit_f, freqs, W[:, k]).max()
        db = 20 / power * np.log10(np.maximum(W[band, k], 1e-12) / top)
        ax.plot(freqs[band], db, color="0.7", lw=0.6, label="between training frequencies")
        fit_db = 20 / power * np.log10(np.maximum(np.interp(fit_f, freqs, W[:, k]), 1e-12) / top)
        ax.plot(fit_f, fit_db, color="black", lw=1, marker=".", ms=2, label="at training frequencies")
        for i, note in enumerate(notes):
            for h in range(1, int(fmax // note["f0"]) + 1):
                ax.axvline(h * note["f0"], color=colours[i], lw=0.8, ls="--", alpha=0.7,
                           label=f"{note['name']} harmonics k·{note['f0']:.1f} Hz" if h == 1 else None)
        r = note_of_template.get(k)
        if r:
            found = [h["peak"] for h in r["harmonics"] if h["peak"]]
            ax.plot([p["f"] for p in found],
                    [np.interp(p["f"], fit_f, fit_db) + 3 for p in found],
                    "v", color=colours[notes.index(r["note"])], ms=7, label="measured peaks")
            title = f"template W{k}: matched to {r['note']['name']}"
        else:
            title = f"template W{k}"
        ax.set_ylim(-60, 8)
        ax.set_ylabel("dB re max")
        ax.set_title(title, fontsize=10)
        ax.legend(loc="upper right", fontsize=8)
    axes[-1][0].set_xlabel("frequency [Hz]")
    axes[-1][0].set_xlim(0, fmax)
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "piano_templates.png"), dpi=110)
    plt.close(fig)

    # Activations vs time, note-ons (and note-offs) marked.
    times, H = ex["times"], ex["H"]
    fig, axes = plt.subplots(K, 1, figsize=(10, 2.5 * K), sharex=True, squeeze=False)
    for k in range(K):
        ax = axes[k][0]
        r = note_of_template.get(k)
        colour = colours[notes.index(r["note"])] if r else "black"
        ax.plot(times, H[:, k], color=colour, lw=1)
        for i, note in enumerate(notes):
            ax.axvspan(note["on"], note["off"], color=colours[i], alpha=0.08)
            ax.axvline(note["on"], color=colours[i], ls="--", lw=1, label=f"{note['name']} note-on {note['on']:.2f} s")
        if r:
            ax.axvline(r["onset"], color="black", ls=":", lw=1,
                       label=f"measured onset {r['onset']:.3f} s ({r['onset_error_ms']:+.0f} ms)")
            ax.set_title(f"activation H{k} (template matched to {r['note']['name']})", fontsize=10)
        ax.set_ylabel("H(t)")
        ax.legend(loc="upper right", fontsize=8)
    axes[-1][0].set_xlabel("time [s]")
    axes[-1][0].set_xlim(times[0], times[-1])
    fig.tight_layout()
    fig.savefig(os.path.join(outdir, "piano_activations.png"), dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("points", help="hybrid point set (innmf features)")
    parser.add_argument("export", help="rank-2 model exported with innmf export")
    parser.add_argument("midi", help="the MIDI file that was rendered (data/piano/two_notes.mid)")
    parser.add_argument("-o", "--outdir", default=".", help="folder of the PNG files")
    parser.add_argument("--no-plots", action="store_true", help="checks only")
    parser.add_argument("--json", help="write the measurements to this JSON file")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # the table before any message on stderr

    notes = read_midi_notes(args.midi)
    ex = read_export(args.export)
    step = ex["freqs"][1] - ex["freqs"][0]
    if step > 0.1:
        print(f"plot_piano.py: warning: templates exported every {step:.3g} Hz: their values at the training "
              "frequencies are interpolated; export with --n-freqs 64001 --fmax 4000 (1/16 Hz) to read them",
              file=sys.stderr)
    with h5py.File(args.points, "r") as f:
        train_freqs = np.unique(f["points/f"][:]).astype(float)
    results, failures = measure(notes, ex, train_freqs)
    print_table(results)
    sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"ok": not failures, "failures": failures, "results": results}, f, indent=1)

    if not args.no_plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("plot_piano.py: matplotlib is missing: no plots (install python3-matplotlib)", file=sys.stderr)
        else:
            os.makedirs(args.outdir, exist_ok=True)
            plot(args.outdir, read_points(args.points), notes, results, ex, train_freqs)
            print(f"wrote {args.outdir}/piano_points.png, piano_templates.png, piano_activations.png")
    if failures:
        fail(f"FAILED: {', '.join(failures)} (harmonic: no peak within a quarter tone or under 6 dB of "
             "prominence; onset: more than 50 ms away; cross-talk: 25 % or more of its own level)")
    print("OK: both notes found (harmonics within a quarter tone, onsets within 50 ms, cross-talk below 25 %)")


if __name__ == "__main__":
    main()
