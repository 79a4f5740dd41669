#!/usr/bin/env bash
# Training on scattered points: wall time per epoch, setup time and peak resident memory of
# `innmf train` on 60 s of 44.1 kHz speech as wavelet points and as sinusoidal peaks (at exact
# frequencies, and rounded with --f-quantum 1), for one or two innmf binaries side by side
# (interleaved rounds, so that a noisy machine hurts both alike).
#
#   bench/scattered/run.sh [INNMF_BINARY] [BASELINE_BINARY] [REPEATS] [EPOCHS]
#
# INNMF_BINARY defaults to build/drivers/innmf of this checkout; BASELINE_BINARY (optional, ""
# for none) is another build to compare with; REPEATS defaults to 2, EPOCHS to 5.
# Input: Debian's es Asterisk prompts (CC-BY-SA), the first 60 s in sorted path order,
# resampled to 44.1 kHz; the point files are made once by the candidate binary.
# Writes bench/out/scattered.json and prints a table.
set -euo pipefail
# shellcheck source=../packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/../packages.sh"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/../.." && pwd)
binary=${1:-$repo_dir/build/drivers/innmf}
baseline=${2:-}
repeats=${3:-2}
epochs=${4:-5}
for n in "$repeats" "$epochs"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: REPEATS and EPOCHS must be positive integers, got '$n'" >&2; exit 2; }
done
for b in "$binary" ${baseline:+"$baseline"}; do
  [[ -x $b ]] || { echo "run.sh: no innmf binary at $b (build it, or pass its path)" >&2; exit 2; }
done
work_dir=$repo_dir/bench/out/scattered
mkdir -p "$work_dir"
ensure_packages sox time asterisk-core-sounds-es-wav

if [[ ! -s $work_dir/sines.h5 ]]; then
  mapfile -t sources < <(dpkg -L asterisk-core-sounds-es-wav | grep '\.wav$' | LC_ALL=C sort)
  sox "${sources[@]}" -b 16 -c 1 -r 44100 "$work_dir/speech.wav" trim 0 60
  "$binary" features "$work_dir/speech.wav" -o "$work_dir/wavelet.h5" --repr wavelet -q
  "$binary" features "$work_dir/speech.wav" -o "$work_dir/.sines.h5" --repr sines -q
  mv "$work_dir/.sines.h5" "$work_dir/sines.h5"
fi

BENCH_CPU=$(lscpu | awk -F: '/^Model name/ {gsub(/^[ \t]+/, "", $2); print $2; exit}') \
BENCH_COMMIT=$(git -C "$repo_dir" rev-parse --short HEAD 2>/dev/null || echo unknown) \
  /usr/bin/python3 "$script_dir/compare.py" --binary "$binary" --baseline "$baseline" --repeats "$repeats" \
  --epochs "$epochs" --work "$work_dir" --json "$repo_dir/bench/out/scattered.json" \
  --command "bench/scattered/run.sh $*"
