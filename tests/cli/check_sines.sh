#!/usr/bin/env bash
# check_sines.sh INNMF PYTHON OUTDIR TONE_1000_WAV: the sinusoidal front-end end to end.
#   features --repr sines at n_fft 1000 (16 Hz bins: the 1 kHz tone of amplitude 0.5 falls
#   half-way between bins 62 and 63) on the tone and on a silent file → the silent clip is
#   reported and kept empty, not an error → h5py: every interior frame's strongest peak within
#   0.5 Hz of 1 kHz at A/2 = 0.25 → --f-quantum 2 rounds frequencies to even Hz → train (the
#   empty clip left out, knots at the hop) → reconstruct warns of a model of peaks alone, not of
#   a hybrid of peaks and an STFT.
set -euo pipefail
innmf=$1 python=$2 out=$3 tone=$4
rm -rf "$out" && mkdir -p "$out"
"$python" - "$out/silent.wav" <<'PY'
import sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(b"\0\0" * 16000)
PY
"$innmf" features "$tone" "$out/silent.wav" -o "$out/sines.h5" --repr sines --n-fft 1000 --hop 250 \
  2> "$out/features.log" || { cat "$out/features.log"; echo "features --repr sines failed"; exit 1; }
grep -q "silent.wav: no points" "$out/features.log" || { cat "$out/features.log"; echo "the empty clip is not reported"; exit 1; }
"$innmf" info "$out/sines.h5" | grep -q "^representation *sines, n_fft 1000" || { echo "info does not name sines"; exit 1; }
"$innmf" features "$tone" -o "$out/sines_q.h5" --repr sines --n-fft 1000 --hop 250 --f-quantum 2 -q
"$python" - "$out/sines.h5" "$out/sines_q.h5" <<'PY'
import json, sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as f:
    r = json.loads(f.attrs["representation"])
    assert r["kind"] == "sines" and r["n_fft"] == 1000 and r["hop"] == 250 and r["max_peaks"] == 60, r
    counts = f["clips/count"][:]
    assert counts[0] > 0 and counts[1] == 0, f"clip counts {counts}: the silent clip must be empty"
    t, fr, m = f["points/t"][: counts[0]], f["points/f"][: counts[0]], f["points/m"][: counts[0]]
    frames = np.unique(t)
    errors, peaks = [], []
    for ft in frames[4:-4]:  # interior frames: the window lies inside the 2 s tone
        sel = t == ft
        k = np.argmax(m[sel])
        errors.append(abs(fr[sel][k] - 1000.0))
        peaks.append(m[sel][k])
    assert max(errors) < 0.5, f"peak frequency errors up to {max(errors):.3f} Hz"
    assert np.allclose(peaks, 0.25, rtol=0.01), f"peak magnitudes {min(peaks):.4f}..{max(peaks):.4f}, want 0.25"
    print(f"OK: {len(errors)} frames, peak within {max(errors):.4f} Hz of 1 kHz, m {min(peaks):.4f}..{max(peaks):.4f}")
with h5py.File(sys.argv[2]) as f:
    q = f["points/f"][:]
    assert np.all(np.abs(q / 2 - np.round(q / 2)) < 1e-6), "--f-quantum 2: frequencies not on even Hz"
    assert json.loads(f.attrs["representation"])["f_quantum"] == 2
print("OK: sines point files")
PY
"$innmf" train "$out/sines.h5" -o "$out/model.h5" --rank 2 --hidden 16 --epochs 5 \
  --metrics "$out/metrics.jsonl" 2> "$out/train.log" || { cat "$out/train.log"; echo "train on sines failed"; exit 1; }
grep -q "has no points: left out" "$out/train.log" || { cat "$out/train.log"; echo "train did not report the empty clip"; exit 1; }
"$python" - "$out/model.h5" "$out/metrics.jsonl" <<'PY'
import json, sys, math, h5py
with h5py.File(sys.argv[1]) as f:
    assert abs(f.attrs["knot_spacing"] - 250 / 16000) < 1e-12, f.attrs["knot_spacing"]
losses = [json.loads(line)["loss"] for line in open(sys.argv[2])]
assert len(losses) == 5 and all(math.isfinite(x) for x in losses) and losses[-1] < losses[0], losses
print(f"OK: trained on sines, loss {losses[0]:.4g} -> {losses[-1]:.4g}")
PY
# Noise: peaks at ~60,000 continuous frequencies. train says how many and what --f-quantum 1
# would leave, and is quiet once it is given.
"$python" - "$out/noise.wav" <<'PY'
import sys, wave, numpy as np
x = (np.random.default_rng(5).standard_normal(8 * 16000) * 3000).astype("<i2")
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(x.tobytes())
PY
"$innmf" features "$out/noise.wav" -o "$out/noise.h5" --repr sines --n-fft 512 --hop 128 -q
"$innmf" train "$out/noise.h5" -o "$out/noise_model.h5" --rank 2 --hidden 16 --epochs 1 2> "$out/noise_train.log" ||
  { cat "$out/noise_train.log"; echo "train on noise peaks failed"; exit 1; }
grep -Eq "warning: [0-9]{5,} distinct frequencies .*--f-quantum 1 rounds them to whole Hz, [0-9]{4} frequencies" \
  "$out/noise_train.log" || { cat "$out/noise_train.log"; echo "no advice about distinct frequencies"; exit 1; }
"$innmf" train "$out/noise.h5" -o "$out/noise_model.h5" --rank 2 --hidden 16 --epochs 1 --f-quantum 1 \
  2> "$out/noise_train_q.log"
if grep -q "distinct frequencies" "$out/noise_train_q.log"; then
  cat "$out/noise_train_q.log"; echo "the advice stays with --f-quantum 1"; exit 1
fi
echo "OK: train advises --f-quantum on continuous frequencies"
# A model of peaks alone fits an STFT poorly: reconstruct (as separate) says so and names the
# hybrid; a model of peaks and an STFT gets no such warning.
"$innmf" reconstruct "$out/model.h5" "$tone" --n-fft 512 2> "$out/reconstruct.log" > /dev/null
grep -q "model.h5 was trained on sinusoidal peaks alone: .* train on \`--repr sines,stft:1000\`" "$out/reconstruct.log" ||
  { cat "$out/reconstruct.log"; echo "no warning about a model of peaks alone"; exit 1; }
"$innmf" features "$tone" -o "$out/hybrid.h5" --repr sines,stft:512 -q
"$innmf" train "$out/hybrid.h5" -o "$out/hybrid_model.h5" --rank 2 --hidden 16 --epochs 1 -q
"$innmf" reconstruct "$out/hybrid_model.h5" "$tone" --n-fft 512 2> "$out/reconstruct_hybrid.log" > /dev/null
if grep -q "peaks alone" "$out/reconstruct_hybrid.log"; then
  cat "$out/reconstruct_hybrid.log"; echo "a hybrid model is warned about as peaks alone"; exit 1
fi
echo "OK: reconstruct warns of a model of peaks alone"
