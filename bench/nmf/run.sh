#!/usr/bin/env bash
# Classic NMF benchmark: one multiplicative update (β = 1, KL) of `innmf nmf` against
# scikit-learn's NMF(solver="mu", beta_loss="kullback-leibler", init="random", tol=0) on the
# same matrices, on 1 and 2 threads.
#
#   bench/nmf/run.sh [INNMF_BINARY] [REPEATS]
#
# INNMF_BINARY defaults to build/drivers/innmf of this checkout, REPEATS to 3. Needs Debian's
# python3-sklearn (installed with apt-get if missing) and, for the OpenBLAS column,
# libopenblas0-pthread (likewise); each scikit-learn run picks its BLAS explicitly through
# LD_LIBRARY_PATH (reference BLAS: what python3-sklearn alone brings; OpenBLAS), whatever the
# system's libblas.so.3 alternative is. Writes bench/out/nmf.json and the "Classic NMF" section
# of bench/RESULTS.md.
set -euo pipefail
# shellcheck source=../packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/../packages.sh"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_dir=$(cd "$script_dir/.." && pwd)
repo_dir=$(cd "$bench_dir/.." && pwd)
binary=${1:-$repo_dir/build/drivers/innmf}
repeats=${2:-3}
[[ $repeats =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: REPEATS must be a positive integer, got '$repeats'" >&2; exit 2; }
[[ -x $binary ]] || { echo "run.sh: no innmf binary at $binary (build it, or pass its path)" >&2; exit 2; }
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
python=/usr/bin/python3
work_dir=$bench_dir/out/nmf
mkdir -p "$work_dir"

# Packages: scikit-learn (Debian's), OpenBLAS, and for the 5-minute input sox + the Asterisk prompts.
packages=(python3-sklearn libopenblas0-pthread sox asterisk-core-sounds-es-wav asterisk-core-sounds-ru-wav)
ensure_packages "${packages[@]}"

# 5 minutes of 8 kHz speech: the es + ru Asterisk prompts in sorted path order, back to back,
# at their own rate (no resampling). Cached.
long_wav=$work_dir/speech_5min_8k.wav
if [[ ! -s $long_wav ]]; then
  list=$work_dir/sources.txt
  dpkg -L asterisk-core-sounds-es-wav asterisk-core-sounds-ru-wav | grep '\.wav$' | LC_ALL=C sort >"$list"
  mapfile -t sources <"$list"
  sox "${sources[@]}" -b 16 -c 1 -r 8000 "$work_dir/.long.wav" trim 0 300
  mv "$work_dir/.long.wav" "$long_wav"
fi

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
BENCH_BINARY=$binary BENCH_REPEATS=$repeats BENCH_WORK=$work_dir BENCH_REPO=$repo_dir \
BENCH_LONG_WAV=$long_wav BENCH_LOAD_BEFORE=$load_before \
BENCH_NPROC=$(nproc) BENCH_CPU=$(lscpu | awk -F: '/^Model name/ {gsub(/^[ \t]+/, "", $2); print $2; exit}') \
BENCH_COMMIT=$(git -C "$repo_dir" rev-parse --short HEAD 2>/dev/null || echo unknown) \
BENCH_DIRTY=$(git -C "$repo_dir" status --porcelain --untracked-files=no -- src include drivers 2>/dev/null | head -1 || true) \
BENCH_COMMAND="bench/nmf/run.sh $* " \
  "$python" "$script_dir/compare.py"
