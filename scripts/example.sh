#!/usr/bin/env bash
# The main job, end to end on the example data in data/:
#   speech of two speakers → STFT point sets (1 rank, then 2 MPI ranks) → summary.
# Outputs go to out/ (or the folder given as the first argument).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/out}"
cd "$root"

bash scripts/install-deps.sh
bash scripts/build.sh build -DINNMF_BUILD_TESTS=OFF
innmf="$root/build/drivers/innmf"
mkdir -p "$out"

# The paper's set-up for 8 kHz speech: 1000-sample windows (125 ms), hop 500.
"$innmf" features data/speech/es_train.wav data/speech/ru_train.wav \
  -o "$out/train.h5" --n-fft 1000 --hop 500
"$innmf" info "$out/train.h5"

# The same job on 2 MPI ranks (files are shared out; the file written is identical).
if [[ $(id -u) -eq 0 ]]; then
  # Open MPI refuses to run as root unless told (fresh containers and CI machines run as root).
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
mpirun -np 2 --oversubscribe "$innmf" features data/speech -o "$out/speech.h5" \
  --n-fft 1000 --hop 500
"$innmf" info "$out/speech.h5"
