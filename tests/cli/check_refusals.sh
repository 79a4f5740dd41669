#!/usr/bin/env bash
# check_refusals.sh INNMF PYTHON FIXTURE OUT: refusals that need a model or several files, each
# checked through expect_failure.sh (exit code, one error line) and, where an input is at stake,
# by the input's checksum before and after:
#   - an output path that is one of the command's inputs (features, nmf, train, export,
#     separate's outputs and --metrics, reconstruct's and eval's --metrics, a --config file, an
#     @list file): exit 2, input intact; two outputs of one run that are one file; an output
#     that is a pipe; a symlinked output (its target is written, the link and mode stay);
#   - train --seed 2^64 − 1;
#   - separate with --hop = --n-fft under the sqrt-hann window (samples no window covers);
#   - separate of a stereo mixture whose channels cancel in the mono mix-down;
#   - reconstruct of a silent recording (sdr_freq undefined): exit 3, no NaN printed;
#   - export whose --time-step would write gigabytes; train --knot-spacing below one sample;
#   - info on an export file (prints what it is);
#   - eval of signals shorter than BSS Eval's 512-tap filters;
#   - a diverging training (--lr 1e3) warns that the loss rose, and still writes its model; a
#     diverging Rprop fit in separate warns;
#   - features warns of options that no part of its --repr reads.
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

# Inputs the commands do not list: the config file and @list files.
printf '[features]\nn_fft = 512\n' > features.toml
refused_keeps features.toml "^innmf features: error: -o features.toml: $is_input" -- \
  "$innmf" features low.wav -o features.toml --config features.toml -q
printf 'low.wav\n' > list.txt
refused_keeps list.txt "^innmf features: error: -o list.txt: $is_input" -- "$innmf" features @list.txt -o list.txt -q
# Two outputs of one run that are one file.
"${expect_failure[@]}" --code 2 --no-file same.h5 \
  --pattern "^innmf nmf: error: -o same.h5 and --metrics same.h5 are one file" -- \
  "$innmf" nmf low.wav -o same.h5 --metrics same.h5 --rank 2 -q
"${expect_failure[@]}" --code 2 --fresh-dir collide \
  --pattern "^innmf separate: error: --metrics collide/low.wav and -o collide/low.wav are one file" -- \
  "$innmf" separate mix.wav --model low.h5 --model high.h5 -o collide --metrics collide/low.wav -q
# Not a regular file (rename would put a regular file in place of a device or pipe).
mkfifo pipe
"${expect_failure[@]}" --code 2 --pattern "^innmf features: error: -o pipe: is not a regular file" -- \
  "$innmf" features low.wav -o pipe -q
[[ -p pipe ]] || { echo "FAIL: the pipe was replaced"; exit 1; }
# A symlinked output: the link stays, its target is written; an existing file keeps its mode.
"$innmf" features high.wav -o target.h5 -q
chmod 640 target.h5
ln -s target.h5 link.h5
"$innmf" features low.wav -o link.h5 -q
[[ -L link.h5 ]] || { echo "FAIL: the symlink was replaced by a file"; exit 1; }
[[ $(stat -c %a target.h5) == 640 ]] || { echo "FAIL: mode $(stat -c %a target.h5), expected 640"; exit 1; }
"$python" -c 'import h5py, sys; sys.exit(h5py.File("target.h5")["clips/source"][0] != b"low.wav")' ||
  { echo "FAIL: the symlink's target was not rewritten"; exit 1; }
# A seed beyond int64 (the option is unsigned 64-bit).
"$innmf" train low_points.h5 -o seed.h5 --seed 18446744073709551615 --epochs 1 -q ||
  { echo "FAIL: --seed 2^64 - 1"; exit 1; }

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
# BSS Eval on signals shorter than its 512-tap filters: refused (SAR of 240 dB otherwise).
"$python" - <<'PY'
import wave
import numpy as np
rng = np.random.default_rng(0)
for name in ("short_ref.wav", "short_est.wav"):
    x = (rng.standard_normal(100) * 3000).astype("<i2")
    with wave.open(name, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000); w.writeframes(x.tobytes())
PY
"${expect_failure[@]}" --code 3 --pattern "^innmf eval: error: short_ref\.wav: the reference has 100 samples, fewer than BSS Eval's 512-tap" -- \
  "$innmf" eval --ref short_ref.wav --est short_est.wav -q
# An Rprop fit that diverges warns.
"$innmf" separate mix.wav --model low.h5 --model high.h5 -o rprop --fit rprop --lr 100 2> rprop.txt > /dev/null
grep -q "warning: the fit's loss rose from .* lower --lr (now 100)" rprop.txt ||
  { echo "FAIL: no warning for a diverging fit"; cat rprop.txt; exit 1; }

# A training run whose loss ends above where it started still writes its model, with a warning.
"$innmf" train low_points.h5 -o diverged.h5 --lr 1e3 --epochs 30 --rank 2 2> diverged.txt
grep -q "warning: the loss rose from .* training diverged .*lower --lr" diverged.txt ||
  { echo "FAIL: no divergence warning"; cat diverged.txt; exit 1; }
[[ -f diverged.h5 ]] || { echo "FAIL: no model after a diverged run"; exit 1; }
# Options of other representations are not silently dropped: each warns once, and the point
# file is still written (a config file may set them for every run).
"$innmf" features low.wav -o stft_points.h5 --fmin 100 --max-peaks 3 2> unused.txt
for option in "--fmin is for cqt and wavelet points: --repr stft does not read it" \
              "--max-peaks is for sines points: --repr stft does not read it"; do
  [[ $(grep -c -- "warning: $option" unused.txt) == 1 ]] || { echo "FAIL: no single warning '$option'"; cat unused.txt; exit 1; }
done
[[ -f stft_points.h5 ]] || { echo "FAIL: no point file after the warnings"; exit 1; }
"$innmf" features low.wav -o cqt_points.h5 --repr stft,cqt --fmin 100 --n-fft 512 2> used.txt
! grep -q "does not read it" used.txt || { echo "FAIL: --fmin or --n-fft of a part that reads it called unused"; cat used.txt; exit 1; }
# A part with its own size ignores --n-fft and --hop.
"$innmf" features low.wav -o sized_points.h5 --repr stft:256 --n-fft 2048 --hop 64 2> sized.txt
for option in "--n-fft is for stft and sines parts without a size of their own (stft:N:H sets it): --repr stft:256 does not read it" \
              "--hop is for stft and sines parts without a size of their own"; do
  grep -qF -- "warning: $option" sized.txt || { echo "FAIL: no warning '$option'"; cat sized.txt; exit 1; }
done

# An empty -o is no folder (it threw a library exception, exit 1).
set +e
"$innmf" separate mix.wav --model low.h5 --model high.h5 -o "" 2> empty_o.txt > /dev/null
code=$?
set -e
[[ $code == 2 ]] && grep -q "^innmf separate: error: -o: give a folder for the separated sources" empty_o.txt ||
  { echo "FAIL: separate -o '' gave exit $code"; cat empty_o.txt; exit 1; }

echo "OK: refusals keep the inputs and name the option; a diverged run warns; unused options warn"
