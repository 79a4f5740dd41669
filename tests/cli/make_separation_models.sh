#!/usr/bin/env bash
# Fixture of the separation tests: two harmonic sources in disjoint bands and their models.
#
#   make_separation_models.sh INNMF PYTHON OUTDIR
#
# Writes, at 8 kHz, 2 s each: OUTDIR/low.wav (220 Hz and harmonics, amplitude-modulated at
# 3 Hz), OUTDIR/high.wav (1250 Hz and harmonics, 5 Hz), OUTDIR/mix.wav = low + high,
# OUTDIR/silent.wav (zeros), OUTDIR/short.wav (1 s of low), OUTDIR/mix_16k.wav (the mixture
# at 16 kHz), OUTDIR/mix_stereo.wav (left low + high/4, right low/4 + high); then per source an iN-NMF model (OUTDIR/low.h5, high.h5: rank 3, 300 epochs on
# an STFT 512/128) and a classic NMF model (OUTDIR/nmf/low.h5, high.h5: rank 3, STFT 512/128).
set -eu
innmf=$1 python=$2 out=$3
rm -rf -- "$out"
mkdir -p -- "$out/nmf"
"$python" - "$out" <<'PY'
import sys, wave
import numpy as np
out, rate = sys.argv[1], 8000
n = np.arange(2 * rate)
def harmonic(f0, am):
    x = sum(0.3 / h * np.sin(2 * np.pi * h * f0 * n / rate) for h in (1, 2, 3))
    return x * (0.6 + 0.4 * np.sin(2 * np.pi * am * n / rate))
def write(name, x, r=rate):
    with wave.open(f"{out}/{name}", "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(r)
        w.writeframes(np.round(np.clip(x, -1, 1) * 32767).astype("<i2").tobytes())
low, high = harmonic(220, 3), harmonic(1250, 5)
write("low.wav", low); write("high.wav", high); write("mix.wav", low + high)
write("silent.wav", np.zeros_like(low)); write("short.wav", low[:rate])
write("mix_16k.wav", np.repeat(low + high, 2), 16000)
# Stereo: low panned left, high right (left = low + high/4, right = low/4 + high).
with wave.open(f"{out}/mix_stereo.wav", "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(rate)
    stereo = np.stack([low + 0.25 * high, 0.25 * low + high], axis=1)
    w.writeframes(np.round(np.clip(stereo, -1, 1) * 32767).astype("<i2").tobytes())
PY
for source in low high; do
  "$innmf" features "$out/$source.wav" -o "$out/${source}_points.h5" --n-fft 512 --hop 128 -q
  "$innmf" train "$out/${source}_points.h5" -o "$out/$source.h5" --rank 3 --epochs 300 -q
  "$innmf" nmf "$out/$source.wav" -o "$out/nmf/$source.h5" --rank 3 --n-fft 512 --hop 128 -q
done
echo "separation fixture in $out"
