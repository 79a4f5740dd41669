#!/usr/bin/env bash
# check_cqt.sh INNMF PYTHON OUTDIR TONE_1000_WAV SPEECH_WAV: the CQT front-end end to end.
#   features --repr cqt (a 1 kHz tone and speech) → info (text and JSON name the CQT) →
#   h5py: scattered clips, the representation JSON, per-bin times on multiples of the bin's hop,
#   the tone's loudest bin the one nearest 1 kHz → train (grid activations, knots at the middle bin's hop)
#   → export → a model of this CQT and an STFT records both representations.
set -euo pipefail
innmf=$1 python=$2 out=$3 tone=$4 speech=$5
rm -rf "$out" && mkdir -p "$out"
"$innmf" features "$tone" "$speech" -o "$out/cqt.h5" --repr cqt --fmin 50 --bins-per-octave 12 --sr 16000 -q
"$innmf" info "$out/cqt.h5" > "$out/info.txt"
grep -q "^representation *cqt" "$out/info.txt" || { cat "$out/info.txt"; echo "info does not name the CQT"; exit 1; }
"$innmf" info --json "$out/cqt.h5" > "$out/info.json"
"$python" - "$out/cqt.h5" "$out/info.json" <<'PY'
import json, sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as f:
    r = json.loads(f.attrs["representation"])
    assert r["kind"] == "cqt", r
    assert r["fmin"] == 50 and r["bins_per_octave"] == 12 and r["sample_rate"] == 16000, r
    assert r["fmax"] == 4000, r  # default: Nyquist / 2
    # 1 + floor(12 · log2(4000/50)) = 1 + floor(75.86) = 76 bins
    assert r["n_bins"] == 76, r
    assert list(f["clips/n_times"][:]) == [0, 0], "CQT clips must be scattered"
    counts, offsets = f["clips/count"][:], f["clips/offset"][:]
    t, fr, m = f["points/t"][:], f["points/f"][:], f["points/m"][:]
    freqs = 50 * 2 ** (np.arange(76) / 12)
    for c in range(2):
        s = slice(offsets[c], offsets[c] + counts[c])
        ct, cf, cm = t[s], fr[s], m[s]
        assert np.allclose(np.unique(cf), freqs, rtol=1e-6), "bin frequencies"
        hops = []
        for k in (0, 40, 75):
            tk = ct[cf == np.float32(freqs[k])]
            hop = tk[1] - tk[0]
            hops.append(hop)
            assert np.allclose(tk, hop * np.arange(len(tk)), atol=1e-5), f"bin {k}: times not on its hop"
        assert hops[0] > 20 * hops[2], f"hops {hops}: low bins must hop further"
        if c == 0:  # the 1 kHz tone, amplitude 0.5: loudest bin nearest 1 kHz, |c| ≈ 0.25
            mean = np.array([cm[cf == np.float32(fk)].mean() for fk in freqs])
            best = int(np.argmax(mean))
            assert best == int(np.argmin(abs(np.log2(freqs / 1000)))), (best, freqs[best])
            assert 0.15 < mean[best] < 0.26, mean[best]
info = json.loads(open(sys.argv[2]).read())
assert info["representation"]["kind"] == "cqt", info
print("OK: CQT point file")
PY
"$innmf" train "$out/cqt.h5" -o "$out/model.h5" --rank 4 --hidden 16 --epochs 5 \
  --activations grid --metrics "$out/metrics.jsonl" -q
"$innmf" info "$out/model.h5" > "$out/model_info.txt"
grep -q "cqt" "$out/model_info.txt" || { cat "$out/model_info.txt"; echo "model info lacks the CQT"; exit 1; }
# the networks (--hidden 16) and the activations' knots (the middle bin's hop, 19.27 ms)
grep -q "^networks *per-component, [0-9]* layers of width 16, 10 Fourier frequencies$" "$out/model_info.txt" &&
  grep -q "^activations *2 clips, grid fields (knots every 19.27 ms)$" "$out/model_info.txt" ||
  { cat "$out/model_info.txt"; echo "model info lacks the networks or the knots"; exit 1; }
"$innmf" export "$out/model.h5" -o "$out/export.h5" -q
"$python" - "$out/cqt.h5" "$out/model.h5" "$out/metrics.jsonl" "$out/export.h5" <<'PY'
import json, sys, math, h5py
r = json.loads(h5py.File(sys.argv[1]).attrs["representation"])
with h5py.File(sys.argv[2]) as f:
    # knots every median_hop (the middle bin's hop, 1/Ω_38 ≈ 19 ms), not min_hop (the top bin's,
    # 1/Ω_75 ≈ 2.27 ms) nor the 10 ms fallback
    omega = lambda k: 50 * 2 ** (k / 12) * (2 ** (1 / 12) - 2 ** (-1 / 12))
    assert r["n_bins"] == 76 and abs(r["median_hop"] - 1 / omega(38)) < 1e-9 < r["median_hop"] - r["min_hop"], r
    assert abs(f.attrs["knot_spacing"] - r["median_hop"]) < 1e-12, (f.attrs["knot_spacing"], r["median_hop"])
    assert json.loads(f.attrs["representation"])["kind"] == "cqt"
losses = [json.loads(line)["loss"] for line in open(sys.argv[3])]
assert len(losses) == 5 and all(math.isfinite(x) for x in losses) and losses[-1] < losses[0], losses
with h5py.File(sys.argv[4]) as f:
    # the templates up to the top centre (50·2^(75/12) = 3805 Hz), where they were fitted, not
    # up to the Nyquist
    freqs = f["templates/freqs"][:]
    top = 50 * 2 ** (75 / 12)
    assert abs(freqs[-1] - top) < 1e-2 and freqs[0] == 0 and len(freqs) == 1025, (freqs[0], freqs[-1], len(freqs))
print(f"OK: trained on CQT points, loss {losses[0]:.4g} -> {losses[-1]:.4g}, knots {r['median_hop']*1e3:.2f} ms")
PY

# A CQT-trained model separates an STFT analysis (its templates are functions of Hz): with one
# model and two free templates on the tone, at an n_fft that must be given (a CQT has none), the
# analysis window being the STFT default (the CQT's filters are no STFT window).
"$innmf" separate "$tone" --model "$out/model.h5" --free 2 --iters 20 -q -o "$out/separated" 2>"$out/err.txt" &&
  { echo "separate without --n-fft succeeded for a CQT model"; exit 1; }
grep -q -- "give --n-fft: no model was trained on an STFT" "$out/err.txt" ||
  { cat "$out/err.txt"; echo "the error does not name --n-fft and why"; exit 1; }
# The error a user must fix comes alone: the band warning (below) waits until the options hold.
! grep -q "warning" "$out/err.txt" || { cat "$out/err.txt"; echo "a warning before the --n-fft error"; exit 1; }
"$innmf" separate "$tone" --model "$out/model.h5" --free 2 --iters 20 --sr 16000 --n-fft 1024 -q \
  -o "$out/separated" >/dev/null 2>"$out/separate.err" || { echo "separate with a CQT model failed"; exit 1; }
[[ -s $out/separated/model.wav && -s $out/separated/free.wav ]] || { echo "no separated files"; exit 1; }
echo "OK: a CQT-trained model separates an STFT analysis"

# The CQT's top bin is 50·2^(75/12) = 3805 Hz (--fmax defaults to Nyquist/2 = 4000 Hz) while the
# 16 kHz analysis reaches 8000 Hz: separate and reconstruct warn once that the top is not learned.
band_warning="model.h5 was trained on frequencies up to 3805 Hz but the analysis reaches 8000 Hz"
[[ $(grep -c "$band_warning" "$out/separate.err") == 1 ]] ||
  { cat "$out/separate.err"; echo "separate: no single band warning for a CQT model below the Nyquist"; exit 1; }
"$innmf" reconstruct "$out/model.h5" "$tone" --n-fft 1024 --resample --iters 20 -q >/dev/null 2>"$out/reconstruct.err" ||
  { cat "$out/reconstruct.err"; echo "reconstruct with a CQT model failed"; exit 1; }
[[ $(grep -c "$band_warning" "$out/reconstruct.err") == 1 ]] ||
  { cat "$out/reconstruct.err"; echo "reconstruct: no single band warning for a CQT model below the Nyquist"; exit 1; }
echo "OK: separate and reconstruct warn that a CQT model's templates stop at 3805 Hz"

# A model trained on two point files of different representations (this CQT and an STFT of 512)
# records both as the parts of a hybrid, with a warning: separate then finds the STFT part's size
# (no --n-fft needed) and that the STFT looked at the whole band (no band warning).
"$innmf" features "$tone" -o "$out/stft512.h5" --n-fft 512 --hop 128 --sr 16000 -q
"$innmf" train "$out/cqt.h5" "$out/stft512.h5" -o "$out/mixed.h5" --rank 4 --hidden 16 --epochs 3 -q 2>"$out/mixed.err"
grep -q "hold different representations .* records them as the parts of one hybrid" "$out/mixed.err" ||
  { cat "$out/mixed.err"; echo "no warning about two representations"; exit 1; }
"$python" - "$out/mixed.h5" <<'PY'
import json, sys, h5py
r = json.loads(h5py.File(sys.argv[1]).attrs["representation"])
assert r["kind"] == "hybrid" and [p["kind"] for p in r["parts"]] == ["cqt", "stft"], r
assert r["parts"][1]["n_fft"] == 512, r
PY
"$innmf" separate "$tone" --model "$out/mixed.h5" --free 2 --iters 20 -q -o "$out/mixed_sep" >/dev/null \
  2>"$out/mixed_sep.err" || { cat "$out/mixed_sep.err"; echo "separate with a CQT+STFT model failed"; exit 1; }
! grep -q "trained on frequencies up to" "$out/mixed_sep.err" || { cat "$out/mixed_sep.err"; echo "band warning"; exit 1; }
echo "OK: a model of two representations records both"
