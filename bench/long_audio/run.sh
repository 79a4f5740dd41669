#!/usr/bin/env bash
# Long recordings: wall time and peak memory of `innmf features` (STFT, wavelets), `innmf separate`
# (in blocks, the default; whole, --block 0; --ref, --free, --fit rprop) and `innmf eval` on a
# 44.1 kHz speech mixture, for one or two innmf binaries run side by side (interleaved rounds, so
# that a noisy machine hurts both alike).
#
#   bench/long_audio/run.sh [INNMF_BINARY] [BASELINE_BINARY] [REPEATS] [MINUTES]
#
# INNMF_BINARY defaults to build/drivers/innmf of this checkout; BASELINE_BINARY (optional, ""
# for none) is another build to compare with, e.g. the previous commit's; REPEATS defaults to 3;
# MINUTES, the mixture's length, to 3 (beyond 30 the --ref and eval rows are left out: builds
# before BSS Eval was streamed held every signal's spectrum, about 2.5 GB per 10 minutes, and a
# baseline may be one).
# Input: Debian's es and ru Asterisk prompts (CC-BY-SA), MINUTES of each in sorted path order
# (repeated from the start when a language has fewer), resampled to 44.1 kHz and mixed at 0 dB;
# the two models are iN-NMF trained for 50 epochs on data/speech's training clips resampled
# alike (their quality does not matter here).
# Writes bench/out/long_audio.json (long_audio_MINUTESmin.json for other lengths) and prints a table.
set -euo pipefail
# shellcheck source=../packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/../packages.sh"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/../.." && pwd)
binary=${1:-$repo_dir/build/drivers/innmf}
baseline=${2:-}
repeats=${3:-3}
minutes=${4:-3}
[[ $repeats =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: REPEATS must be a positive integer, got '$repeats'" >&2; exit 2; }
[[ $minutes =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: MINUTES must be a positive integer, got '$minutes'" >&2; exit 2; }
for b in "$binary" ${baseline:+"$baseline"}; do
  [[ -x $b ]] || { echo "run.sh: no innmf binary at $b (build it, or pass its path)" >&2; exit 2; }
done
suffix=$([[ $minutes == 3 ]] || echo "_${minutes}min")
work_dir=$repo_dir/bench/out/long_audio$suffix
mkdir -p "$work_dir"
ensure_packages sox time asterisk-core-sounds-es-wav asterisk-core-sounds-ru-wav

# The inputs, cached: MINUTES per language at 44.1 kHz, their 0 dB mixture, two models.
if [[ ! -s $work_dir/mix.wav ]]; then
  for lang in es ru; do
    mapfile -t sources < <(dpkg -L "asterisk-core-sounds-$lang-wav" | grep '\.wav$' | LC_ALL=C sort)
    sox "${sources[@]}" -b 16 -c 1 -r 44100 "$work_dir/${lang}_all.wav"
    repeats_needed=$(soxi -D "$work_dir/${lang}_all.wav" | awk -v s=$((minutes * 60)) '{print int(s / $1)}')
    sox "$work_dir/${lang}_all.wav" "$work_dir/$lang.wav" repeat "$repeats_needed" trim 0 $((minutes * 60))
    rm "$work_dir/${lang}_all.wav"
    sox "$repo_dir/data/speech/${lang}_train.wav" -r 44100 "$work_dir/${lang}_train.wav"
    "$binary" features "$work_dir/${lang}_train.wav" -o "$work_dir/${lang}_points.h5" -q
    "$binary" train "$work_dir/${lang}_points.h5" -o "$work_dir/$lang.h5" --epochs 50 -q
  done
  sox -m "$work_dir/es.wav" "$work_dir/ru.wav" "$work_dir/.mix.wav"
  mv "$work_dir/.mix.wav" "$work_dir/mix.wav"
fi

BENCH_CPU=$(lscpu | awk -F: '/^Model name/ {gsub(/^[ \t]+/, "", $2); print $2; exit}') \
BENCH_COMMIT=$(git -C "$repo_dir" rev-parse --short HEAD 2>/dev/null || echo unknown) \
  /usr/bin/python3 "$script_dir/compare.py" --binary "$binary" --baseline "$baseline" --repeats "$repeats" \
  --work "$work_dir" --json "$repo_dir/bench/out/long_audio$suffix.json" --command "bench/long_audio/run.sh $*" \
  --scoring "$((minutes <= 30))"
