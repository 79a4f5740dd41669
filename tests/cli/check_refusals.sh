#!/usr/bin/env bash
# check_refusals.sh INNMF PYTHON FIXTURE OUT: refusals that need a model or several files, each
# checked through expect_failure.sh (exit code, one error line) and, where an input is at stake,
# by the input's checksum before and after:
#   - an output path that is one of the command's inputs (features, nmf, train, export,
#     separate's outputs and --metrics, reconstruct's and eval's --metrics): exit 2, input intact;
#   - separate with --hop = --n-fft under the sqrt-hann window (samples no window covers);
#   - separate of a stereo mixture whose channels cancel in the mono mix-down;
#   - reconstruct of a silent recording (sdr_freq undefined): exit 3, no NaN printed;
#   - export whose --time-step would write gigabytes; train --knot-spacing below one sample;
#   - info on an export file (prints what it is);
#   - a diverging training (--lr 1e3) warns that the loss rose, and still writes its model.
# FIXTURE is make_separation_models.sh's folder (low.h5, high.h5, low.wav, mix.wav, …).
set -euo pipefail
innmf=$1 python=$2 fixture=$3 out=$4
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
expect_failure=(bash "$here/expect_failure.sh")
rm -rf "$out" && mkdir -p "$out"
cp "$fixture/low.wav" "$fixture/high.wav" "$fixture/mix.wav" "$fixture/low.h5" "$fixture/high.h5" \
  "$fixture/low_points.h5" "$fixture/silent.wav" "$out/"
cd "$out"

# The input must come out of a refused command byte for byte as it went in.
refused_keeps() {  # refused_keeps INPUT REGEX -- command...
  local input=$1 regex=$2
  shift 3
  local before after
  before=$(sha256sum "$input" | cut -d' ' -f1)
  "${expect_failure[@]}" --code 2 --pattern "$regex" -- "$@"
  after=$(sha256sum "$input" | cut -d' ' -f1)
  [[ $before == "$after" ]] || { echo "FAIL: $input changed although the command was refused: $*"; exit 1; }
}
is_input="is the input"
refused_keeps low.wav "^innmf features: error: -o low.wav: $is_input" -- "$innmf" features low.wav -o low.wav -q
refused_keeps low.wav "^innmf nmf: error: -o low.wav: $is_input" -- "$innmf" nmf low.wav -o low.wav --rank 2 -q
refused_keeps low_points.h5 "^innmf train: error: -o low_points.h5: $is_input" -- \
  "$innmf" train low_points.h5 -o low_points.h5 --epochs 1 -q
refused_keeps low_points.h5 "^innmf train: error: --metrics low_points.h5: $is_input" -- \
  "$innmf" train low_points.h5 -o model.h5 --epochs 1 --metrics low_points.h5 -q
refused_keeps low.h5 "^innmf export: error: -o \\./low\\.h5: $is_input low\\.h5" -- "$innmf" export low.h5 -o ./low.h5 -q
refused_keeps low.h5 "^innmf reconstruct: error: --metrics low.h5: $is_input" -- \
  "$innmf" reconstruct low.h5 low.wav --n-fft 512 --metrics low.h5 -q
refused_keeps low.wav "^innmf eval: error: --metrics low.wav: $is_input" -- \
  "$innmf" eval --ref low.wav --ref high.wav --est low.wav --est high.wav --metrics low.wav -q
# The mixture inside -o under a model's stem: the source would be written over it.
mkdir -p sources && cp mix.wav sources/low.wav
refused_keeps sources/low.wav "^innmf separate: error: -o sources/low.wav: $is_input" -- \
  "$innmf" separate sources/low.wav --model low.h5 --model high.h5 -o sources -q
refused_keeps mix.wav "^innmf separate: error: --metrics mix.wav: $is_input" -- \
  "$innmf" separate mix.wav --model low.h5 --model high.h5 -o separated --metrics mix.wav -q
[[ ! -e separated ]] || { echo "FAIL: a refused separation made its output folder"; exit 1; }

# Samples where every sqrt-hann window is 0 (hop = n_fft): refused, with the hop to use.
"${expect_failure[@]}" --code 2 --fresh-dir hop --no-file hop/sources \
  --pattern "^innmf separate: error: --hop 512 with the 512-sample sqrt-hann window.*--hop 256 or less" -- \
  "$innmf" separate mix.wav --model low.h5 --model high.h5 -o hop/sources --n-fft 512 --hop 512 -q

# Left = −right: the mono mix-down the sources are fitted on is silent.
"$python" - mix.wav cancel.wav <<'PY'
import sys, wave
import numpy as np
with wave.open(sys.argv[1]) as w:
    rate, width, frames = w.getframerate(), w.getsampwidth(), w.readframes(w.getnframes())
assert width == 2, "mix.wav: expected 16-bit samples"
x = np.frombuffer(frames, dtype="<i2").astype(np.int32)
stereo = np.stack([x, -x], axis=1).clip(-32767, 32767).astype("<i2")
with wave.open(sys.argv[2], "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(rate); w.writeframes(stereo.tobytes())
PY
"${expect_failure[@]}" --code 3 --fresh-dir cancel_out --no-file cancel_out/sources \
  --pattern "^innmf separate: error: cancel\\.wav: its channels cancel in the mono mix-down" -- \
  "$innmf" separate cancel.wav --model low.h5 --model high.h5 -o cancel_out/sources -q

# A silent recording: nothing to reconstruct, no NaN.
"${expect_failure[@]}" --code 3 --pattern "^innmf reconstruct: error: silent\\.wav: the audio is silent" -- \
  "$innmf" reconstruct low.h5 silent.wav --n-fft 512 -q

# Sizes checked before any work.
"${expect_failure[@]}" --code 2 --no-file huge_export.h5 \
  --pattern "^innmf export: error: --time-step 1e-09 s.*GB.*raise --time-step" -- \
  "$innmf" export low.h5 -o huge_export.h5 --time-step 1e-9 -q
"${expect_failure[@]}" --code 2 --no-file knots.h5 \
  --pattern "^innmf train: error: --knot-spacing 1e-06 s: closer than one sample at 8000 Hz" -- \
  "$innmf" train low_points.h5 -o knots.h5 --knot-spacing 1e-6 --epochs 1 -q

# info says what an export file is instead of refusing it as a point set.
"$innmf" export low.h5 -o export.h5 -q
"$innmf" info export.h5 | grep -q "innmf.export: templates and activations sampled for plotting" ||
  { echo "FAIL: info on an export file"; "$innmf" info export.h5; exit 1; }
# A training run whose loss ends above where it started still writes its model, with a warning.
"$innmf" train low_points.h5 -o diverged.h5 --lr 1e3 --epochs 30 --rank 2 2> diverged.txt
grep -q "warning: the loss rose from .* training diverged .*lower --lr" diverged.txt ||
  { echo "FAIL: no divergence warning"; cat diverged.txt; exit 1; }
[[ -f diverged.h5 ]] || { echo "FAIL: no model after a diverged run"; exit 1; }
echo "OK: refusals keep the inputs and name the option; a diverged run warns"
