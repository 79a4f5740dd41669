#!/usr/bin/env bash
# Happy paths of `innmf separate` and of `innmf reconstruct` with iN-NMF models, on the fixture
# of make_separation_models.sh (two harmonic sources in disjoint bands, so the answer is known).
#
#   check_separate.sh INNMF PYTHON FIXTURE OUTDIR [MPIRUN...]
#
# 1. iN-NMF models trained on STFT 512 separate the mixture analysed with STFT 384 (a size they
#    never saw) and 1024: exit 0, low.wav and high.wav as long as the mixture at its rate, the
#    JSON line on stdout equals --metrics, SDR above 15 dB for both sources, and the sources add
#    up to the mixture (SNR of the sum above 40 dB).
# 1b. The stereo mixture: two-channel sources (low keeps its pan left, high right; per channel
#    they add up to the mixture), `--mono` mono ones; the scores agree.
# 2. Classic models at their own size 512: SDR above 15 dB; `--fit rprop`: SDR above 12 dB.
# 3. One model plus `--free 3`: free.wav appears and holds the other source (SDR above 8 dB),
#    scored alike by separate's last --ref and by eval; a silent --ref is refused before the
#    separation runs.
# 4. `innmf reconstruct` of an iN-NMF model at 512 (its own size: sdr_freq above 20 dB), 384
#    and 1024 (kl finite and positive); --template-sampling grid and direct give the same kl
#    at 512 and different ones at 384.
# 5. SIGTERM during a separation leaves neither temporary files nor the folder it made.
# 6. With MPIRUN: step 1 under mpirun gives the same bits as on one rank.
set -u
innmf=$1 python=$2 fixture=$3 out=$4
shift 4
mpirun=("$@")
fail() {
  echo "FAIL: $*"
  exit 1
}
rm -rf -- "$out"
mkdir -p -- "$out"

# check_outputs DIR METRICS MIN_SDR SOURCES...: lengths, rate, sum, SDR floor.
check_outputs() {
  "$python" - "$fixture" "$@" <<'PY' || fail "separation outputs in $2"
import json, math, sys
import warnings
import numpy as np
from scipy.io import wavfile

fixture, folder, metrics, floor, *sources = sys.argv[1:]
rate, mix = wavfile.read(f"{fixture}/mix.wav")
mix = mix / 32768.0
total = np.zeros_like(mix)
for s in sources:
    r, x = wavfile.read(f"{folder}/{s}.wav")
    assert r == rate and x.dtype == np.float32 and len(x) == len(mix), (s, r, x.dtype, len(x))
    total += x
snr = 10 * np.log10(np.sum(mix ** 2) / np.sum((mix - total) ** 2))
assert snr > 40, f"the sources do not add up to the mixture: SNR {snr:.1f} dB"
m = json.loads(open(metrics).readline())
for key in ("sdr", "sir", "sar", "si_sdr"):
    assert math.isfinite(m[key]), (key, m[key])
if float(floor) > -100:
    assert min(m["per_source"]["sdr"]) > float(floor), f"SDR {m['per_source']['sdr']} below {floor} dB"
print(f"{folder}: SDR {m['per_source']['sdr']}, sum SNR {snr:.1f} dB")
PY
}

refs=(--ref "$fixture/low.wav" --ref "$fixture/high.wav")
neural=(--model "$fixture/low.h5" --model "$fixture/high.h5")
for n_fft in 384 1024; do
  dir=$out/innmf_$n_fft
  result=$(timeout --kill-after=10 120 "$innmf" separate "$fixture/mix.wav" "${neural[@]}" "${refs[@]}" \
    --n-fft "$n_fft" -o "$dir" --metrics "$dir.jsonl" -q) || fail "iN-NMF separation at $n_fft exited with $?"
  [[ $result == "$(cat "$dir.jsonl")" ]] || fail "stdout and --metrics differ: $result"
  [[ -z $(find "$out" -name '.*.tmp-*') ]] || fail "temporary files left behind"
  check_outputs "$dir" "$dir.jsonl" 15 low high
done

# A stereo mixture: stereo sources that keep their pan and add up to the mixture channel by
# channel; --mono: mono sources, and the scores (on mono mix-downs) are the same either way.
for mode in stereo mono; do
  flags=()
  [[ $mode == mono ]] && flags=(--mono)
  timeout --kill-after=10 120 "$innmf" separate "$fixture/mix_stereo.wav" "${neural[@]}" "${refs[@]}" "${flags[@]}" \
    -o "$out/$mode" --metrics "$out/$mode.jsonl" -q >/dev/null || fail "separation of the stereo mixture ($mode) exited with $?"
done
"$python" - "$fixture" "$out" <<'PY' || fail "separation of the stereo mixture"
import json, sys
import numpy as np
from scipy.io import wavfile

fixture, out = sys.argv[1:]
def read(path):
    rate, x = wavfile.read(path)
    return rate, (x / 32768.0 if x.dtype == np.int16 else x.astype(np.float64))
def snr(reference, estimate):
    return 10 * np.log10(np.sum(reference ** 2) / np.sum((reference - estimate) ** 2))
_, mix = read(f"{fixture}/mix_stereo.wav")
sources = {s: read(f"{fixture}/{s}.wav")[1] for s in ("low", "high")}
est = {s: read(f"{out}/stereo/{s}.wav") for s in sources}
for s, (rate, x) in est.items():
    assert rate == 8000 and x.shape == mix.shape, (s, rate, x.shape, mix.shape)
for c in range(2):
    assert snr(mix[:, c], est["low"][1][:, c] + est["high"][1][:, c]) > 40, f"channel {c} does not add up"
gains = {"low": (1, 0.25), "high": (0.25, 1)}  # the fixture's pan
for s, (g_left, g_right) in gains.items():
    for c, g in enumerate((g_left, g_right)):
        value = snr(g * sources[s], est[s][1][:, c])
        assert value > 12, f"{s} channel {c}: SNR {value:.1f} dB against {g} × {s}.wav"
for s in sources:
    rate, x = read(f"{out}/mono/{s}.wav")
    assert x.ndim == 1 and len(x) == len(mix), (s, x.shape)
stereo, mono = (json.loads(open(f"{out}/{m}.jsonl").readline()) for m in ("stereo", "mono"))
assert stereo["channels"] == 2 and mono["channels"] == 1, (stereo["channels"], mono["channels"])
# The masks are linear, so the stereo sources' mix-down is the mono source up to round-off.
assert abs(stereo["sdr"] - mono["sdr"]) < 1e-4 and stereo["sdr"] > 10, (stereo["sdr"], mono["sdr"])
print(f"stereo mixture: SDR {stereo['sdr']:.2f} dB; sources keep their pan and add up per channel")
PY

# --block 1: the 2-second stereo mixture fitted and written one second at a time gives the
# sources of the whole at once (each frame's activations are fitted on their own; --tol 0 so
# every block makes the same updates).
for block in 0 1; do
  timeout --kill-after=10 120 "$innmf" separate "$fixture/mix_stereo.wav" "${neural[@]}" --block "$block" --tol 0 \
    --iters 100 -o "$out/block_$block" --metrics "$out/block_$block.jsonl" -q >/dev/null ||
    fail "separation with --block $block exited with $?"
done
"$python" - "$out" <<'PY' || fail "separation in blocks"
import json, sys
import numpy as np
from scipy.io import wavfile

out = sys.argv[1]
whole, blocks = (json.loads(open(f"{out}/block_{b}.jsonl").readline()) for b in (0, 1))
assert whole["blocks"] == 1 and blocks["blocks"] == 2, (whole["blocks"], blocks["blocks"])  # 126 frames, 63 a block
assert abs(blocks["loss"] - whole["loss"]) < 1e-5 * whole["loss"], (blocks["loss"], whole["loss"])
for s in ("low", "high"):
    a, b = (wavfile.read(f"{out}/block_{x}/{s}.wav")[1].astype(np.float64) for x in (0, 1))
    assert a.shape == b.shape == (16000, 2), (a.shape, b.shape)
    snr = 10 * np.log10(np.sum(a ** 2) / np.sum((a - b) ** 2))
    assert snr > 80, f"{s}: blocks differ from the whole: SNR {snr:.1f} dB"
print("--block 1: 2 blocks, the sources of the whole mixture within round-off")
PY

classic=(--model "$fixture/nmf/low.h5" --model "$fixture/nmf/high.h5")
timeout --kill-after=10 120 "$innmf" separate "$fixture/mix.wav" "${classic[@]}" "${refs[@]}" \
  -o "$out/nmf" --metrics "$out/nmf.jsonl" -q >/dev/null || fail "classic separation exited with $?"
check_outputs "$out/nmf" "$out/nmf.jsonl" 15 low high
timeout --kill-after=10 120 "$innmf" separate "$fixture/mix.wav" "${neural[@]}" "${refs[@]}" --fit rprop \
  --iters 400 --lr 0.01 -o "$out/rprop" --metrics "$out/rprop.jsonl" -q >/dev/null 2>"$out/rprop.err" ||
  fail "rprop separation exited with $?"
# Models trained on the mixture's whole band at its rate: no band warning.
! grep -q "trained on frequencies up to" "$out/rprop.err" || fail "band warning for full-band models: $(cat "$out/rprop.err")"
check_outputs "$out/rprop" "$out/rprop.jsonl" 12 low high
grep -q '"converged":null' "$out/rprop.jsonl" || fail "rprop has no stopping test, yet converged is not null: $(cat "$out/rprop.jsonl")"

# The free source is scored in separate by a last --ref, as eval scores it afterwards.
timeout --kill-after=10 120 "$innmf" separate "$fixture/mix.wav" --model "$fixture/low.h5" --free 3 \
  --iters 300 -o "$out/free" --ref "$fixture/low.wav" --ref "$fixture/high.wav" \
  --metrics "$out/free_separate.jsonl" -q >/dev/null || fail "semi-supervised separation exited with $?"
timeout --kill-after=10 60 "$innmf" eval --ref "$fixture/low.wav" --ref "$fixture/high.wav" \
  --est "$out/free/low.wav" --est "$out/free/free.wav" --metrics "$out/free.jsonl" -q >/dev/null ||
  fail "innmf eval of the semi-supervised separation exited with $?"
check_outputs "$out/free" "$out/free.jsonl" 8 low free
"$python" - "$out/free_separate.jsonl" "$out/free.jsonl" <<'PY' || fail "separate --free --ref scores"
import json, sys
separate, evaluated = (json.loads(open(path).readline()) for path in sys.argv[1:])
assert len(separate["per_source"]["sdr"]) == 2, separate
for key in ("sdr", "sir", "sar"):
    for a, b in zip(separate["per_source"][key], evaluated["per_source"][key]):
        assert abs(a - b) < 0.01, (key, separate["per_source"][key], evaluated["per_source"][key])
print(f"separate --free scores the free source: SDR {separate['per_source']['sdr']}")
PY
# A silent reference is refused before the separation runs (its log line never comes).
"$python" - "$fixture/mix.wav" "$out/silent_ref.wav" <<'PY'
import sys, wave
with wave.open(sys.argv[1]) as w:
    params, frames = w.getparams(), w.getnframes()
with wave.open(sys.argv[2], "wb") as w:
    w.setparams(params); w.writeframes(b"\0" * frames * params.sampwidth * params.nchannels)
PY
if "$innmf" separate "$fixture/mix.wav" --model "$fixture/low.h5" --free 3 -o "$out/silent" \
     --ref "$fixture/low.wav" --ref "$out/silent_ref.wav" 2>"$out/silent.err" >/dev/null; then
  fail "a silent --ref was accepted"
fi
grep -q "silent_ref.wav: the reference is silent" "$out/silent.err" || fail "silent --ref: $(cat "$out/silent.err")"
! grep -q "STFT n_fft" "$out/silent.err" || fail "a silent --ref was found only after the separation"

# Sources above full scale (a mixture at 2.5× the fixture's level, as float WAV) are kept and
# reported once; at the fixture's level nothing is said.
! grep -q "above full scale" "$out/rprop.err" || fail "full-scale warning at a normal level: $(cat "$out/rprop.err")"
"$python" - "$fixture/mix.wav" "$out/loud_mix.wav" <<'PY'
import sys
import numpy as np
from scipy.io import wavfile
rate, x = wavfile.read(sys.argv[1])
wavfile.write(sys.argv[2], rate, (2.5 * x / 32768.0).astype(np.float32))
PY
"$innmf" separate "$out/loud_mix.wav" "${neural[@]}" -o "$out/loud" 2>"$out/loud.err" >/dev/null ||
  fail "separate of a loud mixture exited with $?"
grep -q "peaks at [0-9.]*, above full scale" "$out/loud.err" || fail "no full-scale warning: $(cat "$out/loud.err")"
# A DC offset goes to one source: separate says so, once; the fixture's own mixture has none.
! grep -q "DC offset" "$out/loud.err" || fail "DC warning without an offset: $(cat "$out/loud.err")"
"$python" - "$fixture/mix.wav" "$out/dc_mix.wav" <<'PY'
import sys
import numpy as np
from scipy.io import wavfile
rate, x = wavfile.read(sys.argv[1])
wavfile.write(sys.argv[2], rate, (x / 32768.0 + 0.2).astype(np.float32))
PY
"$innmf" separate "$out/dc_mix.wav" "${neural[@]}" -o "$out/dc" 2>"$out/dc.err" >/dev/null ||
  fail "separate of a mixture with a DC offset exited with $?"
[[ $(grep -c "dc_mix.wav: a DC offset holds [0-9]* % of the mixture's power" "$out/dc.err") == 1 ]] ||
  fail "no single DC warning: $(cat "$out/dc.err")"

# Models of other analyses: a CQT model next to an STFT one needs --n-fft, and the message says
# which model has which; models of two windows with --window given warn once, without asking
# for the --window that was given.
"$innmf" features "$fixture/high.wav" -o "$out/high_cqt_points.h5" --repr cqt -q
"$innmf" train "$out/high_cqt_points.h5" -o "$out/high_cqt.h5" --rank 2 --hidden 16 --epochs 3 -q
if "$innmf" separate "$fixture/mix.wav" --model "$fixture/low.h5" --model "$out/high_cqt.h5" -o "$out/cqt" \
     2>"$out/cqt.err" >/dev/null; then fail "separate chose an STFT size for a CQT model"; fi
grep -q "give --n-fft: .*low.h5: STFT 512; .*high_cqt.h5: no STFT" "$out/cqt.err" || fail "n_fft message: $(cat "$out/cqt.err")"
"$innmf" features "$fixture/high.wav" -o "$out/high_hann_points.h5" --n-fft 512 --hop 128 --window hann -q
"$innmf" train "$out/high_hann_points.h5" -o "$out/high_hann.h5" --rank 3 --epochs 20 -q
"$innmf" separate "$fixture/mix.wav" --model "$fixture/low.h5" --model "$out/high_hann.h5" --window hann \
  -o "$out/hann" 2>"$out/hann.err" >/dev/null || fail "separate with two windows exited with $?"
grep -q "analysing with --window hann" "$out/hann.err" || fail "two windows: $(cat "$out/hann.err")"
! grep -q "give --window" "$out/hann.err" || fail "asks for the --window it was given: $(cat "$out/hann.err")"

# A harmonic sound's peaks are as wide as the window's main lobe: templates learned at 512 fit
# other sizes only roughly (the masks above do not mind), so sdr_freq has a floor at 512 only.
for case in "512 20" "384 -100" "1024 -100"; do
  read -r n_fft floor <<<"$case"
  result=$(timeout --kill-after=10 60 "$innmf" reconstruct "$fixture/low.h5" "$fixture/low.wav" --n-fft "$n_fft" -q) ||
    fail "reconstruct with an iN-NMF model at $n_fft exited with $?"
  "$python" -c "
import json, math, sys
r = json.loads(sys.argv[1])
assert r['kind'] == 'innmf' and r['n_fft'] == int(sys.argv[2]) and math.isfinite(r['kl']) and r['kl'] > 0, r
assert math.isfinite(r['sdr_freq']) and r['sdr_freq'] > float(sys.argv[3]), r
print('reconstruct', r['n_fft'], 'kl', round(r['kl'], 4), 'sdr_freq', round(r['sdr_freq'], 2))" "$result" "$n_fft" "$floor" ||
    fail "reconstruct metrics at $n_fft: $result"
done

# At the training size both template samplings evaluate the networks at the same bins; at
# another size they differ (grid interpolates between the training bins).
kl_of() {
  "$innmf" reconstruct "$fixture/low.h5" "$fixture/low.wav" --n-fft "$1" --template-sampling "$2" -q |
    "$python" -c "import json, sys; print(json.load(sys.stdin)['kl'])"
}
[[ $(kl_of 512 grid) == "$(kl_of 512 direct)" ]] || fail "grid and direct sampling differ at the training size"
[[ $(kl_of 384 grid) != "$(kl_of 384 direct)" ]] || fail "grid and direct sampling agree at another size"

# SIGTERM during a separation into a folder it made: no temporary file and no empty folder stay.
"$innmf" separate "$fixture/mix.wav" "${neural[@]}" --fit rprop --iters 100000000 -o "$out/term/sources" -q \
  >/dev/null 2>"$out/term.err" &
pid=$!
for _ in $(seq 1 300); do [[ -d $out/term/sources ]] && break; sleep 0.1; done
[[ -d $out/term/sources ]] || { kill -KILL "$pid"; fail "the separation made no output folder in 30 s"; }
sleep 1  # (into the fit)
kill -TERM "$pid"
wait "$pid"
code=$?
((code == 143)) || fail "separate ended with $code after SIGTERM, expected 143: $(cat "$out/term.err")"
[[ ! -e $out/term ]] || fail "SIGTERM left the folders it made: $(ls -AR "$out/term" 2>&1)"

if ((${#mpirun[@]})); then
  timeout --kill-after=10 120 "${mpirun[@]}" "$innmf" separate "$fixture/mix.wav" "${neural[@]}" "${refs[@]}" \
    --n-fft 384 -o "$out/mpi" -q >/dev/null || fail "separation under ${mpirun[*]} exited with $?"
  for s in low high; do
    cmp -s "$out/mpi/$s.wav" "$out/innmf_384/$s.wav" || fail "$s.wav differs between mpirun and one rank"
  done
  echo "mpirun: the same bits as on one rank"
fi
echo "OK"
