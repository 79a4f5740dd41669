#!/usr/bin/env bash
# check_wavelet.sh INNMF PYTHON OUTDIR TONE_1000_WAV SPEECH_WAV: the wavelet front-end end to end.
#   features --repr wavelet (a 1 kHz tone of amplitude 0.5 and speech) → info names it → h5py:
#   scattered clips, per-scale times on multiples of the scale's hop, the tone's loudest scale
#   the one nearest 1 kHz at ≈ A/2 → train (knots at the middle scale's hop) → a CQT + wavelet
#   hybrid of the same audio.
set -euo pipefail
innmf=$1 python=$2 out=$3 tone=$4 speech=$5
rm -rf "$out" && mkdir -p "$out"
"$innmf" features "$tone" "$speech" -o "$out/wavelet.h5" --repr wavelet --fmin 50 --scales-per-octave 6 \
  --sr 16000 -q
"$innmf" info "$out/wavelet.h5" > "$out/info.txt"
grep -q "^representation *wavelet, 50.0–4000.0 Hz, 6 scales/octave" "$out/info.txt" ||
  { cat "$out/info.txt"; echo "info does not describe the wavelets"; exit 1; }
"$python" - "$out/wavelet.h5" <<'PY'
import json, sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as f:
    r = json.loads(f.attrs["representation"])
    assert r["kind"] == "wavelet" and r["omega0"] == 6 and r["scales_per_octave"] == 6, r
    # 1 + floor(6 · log2(4000/50)) = 1 + floor(37.93) = 38 scales
    assert r["n_scales"] == 38 and r["fmax"] == 4000, r
    assert list(f["clips/n_times"][:]) == [0, 0], "wavelet clips must be scattered"
    counts, offsets = f["clips/count"][:], f["clips/offset"][:]
    t, fr, m = f["points/t"][:], f["points/f"][:], f["points/m"][:]
    freqs = 50 * 2 ** (np.arange(38) / 6)
    for c in range(2):
        s = slice(offsets[c], offsets[c] + counts[c])
        ct, cf, cm = t[s], fr[s], m[s]
        assert np.allclose(np.unique(cf), freqs, rtol=1e-6), "scale frequencies"
        hops = []
        for k in (0, 20, 37):
            tk = ct[cf == np.float32(freqs[k])]
            hops.append(tk[1] - tk[0])
            assert np.allclose(tk, hops[-1] * np.arange(len(tk)), atol=1e-5), f"scale {k}: times not on its hop"
        assert hops[0] > 20 * hops[2], f"hops {hops}: low scales must hop further"
        if c == 0:  # the tone: loudest scale nearest 1 kHz (1008 Hz, 0.8 % off: Gaussian ≈ 0.999)
            mean = np.array([np.median(cm[cf == np.float32(fk)]) for fk in freqs])
            best = int(np.argmax(mean))
            assert best == int(np.argmin(abs(np.log2(freqs / 1000)))), (best, freqs[best])
            assert 0.23 < mean[best] < 0.26, mean[best]
            print(f"OK: tone at scale {freqs[best]:.1f} Hz, median magnitude {mean[best]:.4f} (A/2 = 0.25)")
print("OK: wavelet point file")
PY
"$innmf" train "$out/wavelet.h5" -o "$out/model.h5" --rank 4 --hidden 16 --epochs 5 \
  --metrics "$out/metrics.jsonl" -q
"$python" - "$out/wavelet.h5" "$out/model.h5" "$out/metrics.jsonl" <<'PY'
import json, sys, math, h5py
r = json.loads(h5py.File(sys.argv[1]).attrs["representation"])
with h5py.File(sys.argv[2]) as f:
    assert r["min_hop"] < r["median_hop"], r
    assert abs(f.attrs["knot_spacing"] - r["median_hop"]) < 1e-12, (f.attrs["knot_spacing"], r["median_hop"])
losses = [json.loads(line)["loss"] for line in open(sys.argv[3])]
assert len(losses) == 5 and all(math.isfinite(x) for x in losses) and losses[-1] < losses[0], losses
print(f"OK: trained on wavelet points, loss {losses[0]:.4g} -> {losses[-1]:.4g}")
PY
"$innmf" features "$tone" -o "$out/cqt_wavelet.h5" --repr cqt,wavelet --fmin 50 --scales-per-octave 6 -q
"$python" - "$out/cqt_wavelet.h5" "$out/wavelet.h5" <<'PY'
import json, sys, h5py
with h5py.File(sys.argv[1]) as f, h5py.File(sys.argv[2]) as w:
    r = json.loads(f.attrs["representation"])
    assert [p["kind"] for p in r["parts"]] == ["cqt", "wavelet"], r
    # the wavelet part of the hybrid holds exactly the standalone wavelet points (scale 1: A/2 already)
    n = int(w["clips/count"][0])
    total = int(f["clips/count"][0])
    assert (f["points/m"][total - n:total] == w["points/m"][:n]).all(), "wavelet part differs"
    assert (f["points/f"][total - n:total] == w["points/f"][:n]).all()
print("OK: CQT + wavelet hybrid keeps the wavelet part's points")
PY
