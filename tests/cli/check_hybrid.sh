#!/usr/bin/env bash
# check_hybrid.sh INNMF PYTHON OUTDIR TONE_1000_WAV SPEECH_WAV: a hybrid point set end to end.
#   features --repr stft:128,stft:1024,cqt (the paper's Figure 2 set-up) on a 1 kHz tone of
#   amplitude 0.5 and speech → info names the three parts → h5py: one scattered clip per file
#   holding each part's points in order with the part's own coordinates (the two STFT grids
#   exactly, then the CQT bins), every part amplitude-normalised (the tone peaks at ≈ A/2 = 0.25
#   in all three) → train (knots at the smallest of the parts' spacings) → separate at the longest STFT
#   part's size without --n-fft.
set -euo pipefail
innmf=$1 python=$2 out=$3 tone=$4 speech=$5
rm -rf "$out" && mkdir -p "$out"
"$innmf" features "$tone" "$speech" -o "$out/hybrid.h5" --repr stft:128,stft:1024,cqt --fmin 50 \
  --bins-per-octave 12 --sr 16000 -q
"$innmf" info "$out/hybrid.h5" > "$out/info.txt"
grep -q "^representation *hybrid of 3 parts: stft, n_fft 128 .* + stft, n_fft 1024 .* + cqt" "$out/info.txt" ||
  { cat "$out/info.txt"; echo "info does not describe the three parts"; exit 1; }
"$python" - "$out/hybrid.h5" <<'PY'
import json, sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as f:
    r = json.loads(f.attrs["representation"])
    assert r["kind"] == "hybrid" and r["sample_rate"] == 16000, r
    parts = r["parts"]
    assert [p["kind"] for p in parts] == ["stft", "stft", "cqt"], parts
    assert (parts[0]["n_fft"], parts[0]["hop"], parts[1]["n_fft"], parts[1]["hop"]) == (128, 32, 1024, 256), parts
    assert abs(r["min_hop"] - min(32 / 16000, parts[2]["min_hop"])) < 1e-12, r
    assert list(f["clips/n_times"][:]) == [0, 0], "hybrid clips must be scattered"
    counts, offsets = f["clips/count"][:], f["clips/offset"][:]
    n_samples = np.rint(f["clips/duration"][:] * 16000).astype(int)
    t, fr, m = f["points/t"][:], f["points/f"][:], f["points/m"][:]
    cqt_freqs = 50 * 2 ** (np.arange(parts[2]["n_bins"]) / 12)
    for c in range(2):
        s = slice(offsets[c], offsets[c] + counts[c])
        ct, cf, cm = t[s], fr[s], m[s]
        begin, peaks = 0, []
        for n_fft, hop in ((128, 32), (1024, 256)):
            frames, bins = 1 + n_samples[c] // hop, n_fft // 2 + 1
            end = begin + frames * bins
            grid_t = np.repeat(np.arange(frames) * hop / 16000, bins)
            grid_f = np.tile(np.arange(bins) * 16000 / n_fft, frames)
            assert np.allclose(ct[begin:end], grid_t, atol=1e-6), f"clip {c}: STFT {n_fft} times"
            assert np.allclose(cf[begin:end], grid_f, rtol=1e-6), f"clip {c}: STFT {n_fft} frequencies"
            peaks.append(cm[begin:end].max())
            begin = end
        assert np.allclose(np.unique(cf[begin:]), cqt_freqs, rtol=1e-6), f"clip {c}: CQT bin frequencies"
        peaks.append(cm[begin:].max())
        if c == 0:  # the tone, amplitude 0.5: every part peaks near A/2 = 0.25
            assert all(0.2 < p < 0.27 for p in peaks), f"tone peaks per part {peaks}"
            print("OK: tone peaks per part (STFT 128, STFT 1024, CQT): " + ", ".join(f"{p:.4f}" for p in peaks))
print("OK: hybrid point file")
PY
"$innmf" train "$out/hybrid.h5" -o "$out/model.h5" --rank 4 --hidden 16 --epochs 5 \
  --metrics "$out/metrics.jsonl" -q
"$python" - "$out/hybrid.h5" "$out/model.h5" "$out/metrics.jsonl" <<'PY'
import json, sys, math, h5py
r = json.loads(h5py.File(sys.argv[1]).attrs["representation"])
with h5py.File(sys.argv[2]) as f:
    # the smallest of the parts' spacings: STFT 128's hop (2 ms) against the CQT's median_hop
    parts = r["parts"]
    expected = min(parts[0]["hop"] / 16000, parts[1]["hop"] / 16000, parts[2]["median_hop"])
    assert abs(f.attrs["knot_spacing"] - expected) < 1e-12, (f.attrs["knot_spacing"], expected)
    assert json.loads(f.attrs["representation"])["kind"] == "hybrid"
losses = [json.loads(line)["loss"] for line in open(sys.argv[3])]
assert len(losses) == 5 and all(math.isfinite(x) for x in losses) and losses[-1] < losses[0], losses
print(f"OK: trained on the hybrid, loss {losses[0]:.4g} -> {losses[-1]:.4g}")
PY
# Separation analyses with the longest STFT part (n_fft 1024, sqrt-hann) when --n-fft is not given.
"$innmf" separate "$tone" --model "$out/model.h5" --free 1 --iters 20 -o "$out/separated" -v \
  > /dev/null 2> "$out/separate.log" || { cat "$out/separate.log"; echo "separate with a hybrid model failed"; exit 1; }
grep -q "n_fft 1024" "$out/separate.log" || { cat "$out/separate.log"; echo "separation did not use n_fft 1024"; exit 1; }
[[ -s $out/separated/model.wav && -s $out/separated/free.wav ]] || { echo "no separated files"; exit 1; }
echo "OK: a hybrid-trained model separates at its longest STFT part's size"
