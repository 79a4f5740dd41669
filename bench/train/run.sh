#!/usr/bin/env bash
# Training benchmark: seconds per full-batch epoch of the iN-NMF model (the paper's: innmf's
# defaults with `--sine-scale 1`; rank 20, per-component templates, grid activations, KL, Rprop) in `innmf train` vs the same model
# in PyTorch (bench/train/innmf_torch.py), on 20 s of 8 kHz speech (STFT 1000/500: 321 × 501).
#
#   bench/train/run.sh [INNMF_BINARY] [ROUNDS]
#
# INNMF_BINARY defaults to build/drivers/innmf of this checkout, ROUNDS to 2 (interleaved
# rounds of every configuration; the best round median is reported). Needs /usr/bin/python3
# with torch and h5py (installs python3-torch / python3-h5py with apt-get if missing). PyTorch
# runs against OpenBLAS (libopenblas0-openmp, fetched once with `apt-get download` into
# bench/out/train/openblas and loaded through LD_LIBRARY_PATH; nothing is installed and the
# system's BLAS alternative is left alone), because Debian's torch otherwise calls the
# reference BLAS. Writes bench/out/train.json and the "Training epoch vs PyTorch" section of
# bench/RESULTS.md. About 6–8 minutes on the 2-core machine.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../env.sh
source "$script_dir/../env.sh"
bench_dir=$(cd "$script_dir/.." && pwd)
repo_dir=$(cd "$bench_dir/.." && pwd)
binary=${1:-$repo_dir/build/drivers/innmf}
rounds=${2:-2}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: ROUNDS must be a positive integer, got '$rounds'" >&2; exit 2; }
[[ -x $binary ]] || { echo "run.sh: no innmf binary at $binary (build it, or pass its path)" >&2; exit 2; }
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")
python=/usr/bin/python3

out_dir=$bench_dir/out
work_dir=$out_dir/train
mkdir -p "$work_dir"
audio=$repo_dir/data/speech/es_train.wav
[[ -f $audio ]] || { echo "run.sh: missing $audio" >&2; exit 2; }

# 1. PyTorch and h5py (Debian packages).
if ! "$python" -c 'import torch, h5py' 2>/dev/null; then
  echo "installing python3-torch python3-h5py ..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-h5py >&2
fi

# 2. OpenBLAS for PyTorch, unpacked privately.
openblas_dir=$work_dir/openblas
openblas_lib=$openblas_dir/usr/lib/x86_64-linux-gnu/openblas-openmp
if [[ ! -f $openblas_lib/libblas.so.3 ]]; then
  echo "fetching libopenblas0-openmp (apt-get download, unpacked into $openblas_dir) ..." >&2
  rm -rf "$openblas_dir" && mkdir -p "$openblas_dir"
  if (cd "$work_dir" && rm -f libopenblas0-openmp_*.deb && apt-get download -qq libopenblas0-openmp 2>/dev/null ||
      { apt-get update -qq && apt-get download -qq libopenblas0-openmp; }) &&
     dpkg -x "$work_dir"/libopenblas0-openmp_*.deb "$openblas_dir"; then
    :
  else
    echo "run.sh: could not fetch OpenBLAS; PyTorch runs with the system BLAS" >&2
  fi
fi
openblas_arg=()
[[ -f $openblas_lib/libblas.so.3 ]] && openblas_arg=(--openblas "$openblas_lib")

# 3. The point file (regenerated every run: 0.1 s).
points=$work_dir/es_train.h5
"$binary" features "$audio" -o "$points" --n-fft 1000 --hop 500 -q

commit=$(git -C "$repo_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$repo_dir" status --porcelain -- src include drivers 2>/dev/null) ]]; then
  commit="$commit (+ uncommitted changes in src/include/drivers)"
fi

rel_binary=${binary#"$repo_dir"/}
"$python" "$script_dir/bench.py" --innmf "$binary" --points "$points" --data "data/speech/es_train.wav" \
  --work "$work_dir" --json "$out_dir/train.json" --results "$bench_dir/RESULTS.md" \
  --rounds "$rounds" "${openblas_arg[@]}" --commit "$commit" \
  --command "bench/train/run.sh $rel_binary $rounds"
