#!/usr/bin/env bash
# The main job, end to end on the example data in data/, on 2 MPI ranks:
#   speech of two speakers → STFT point set → iN-NMF model (the paper's defaults: rank 20,
#   per-component networks, KL on magnitude^0.5, Rprop, 1000 epochs) → templates and
#   activations exported → PNG plots.
# Outputs go to out/ (or the folder given as the first argument). About a minute on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/out}"
cd "$root"

bash scripts/install-deps.sh
bash scripts/build.sh build -DINNMF_BUILD_TESTS=OFF
innmf="$root/build/drivers/innmf"
mkdir -p "$out"

if [[ $(id -u) -eq 0 ]]; then
  # Open MPI refuses to run as root unless told (fresh containers and CI machines run as root).
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
mpirun="mpirun -np 2 --oversubscribe -x OMP_NUM_THREADS=1"

# 8 kHz speech, 1000-sample windows (125 ms) and hop 500, as in the paper's experiments.
$mpirun "$innmf" features data/speech/es_train.wav data/speech/ru_train.wav \
  -o "$out/train.h5" --n-fft 1000 --hop 500
"$innmf" info "$out/train.h5"

$mpirun "$innmf" train "$out/train.h5" -o "$out/model.h5" --metrics "$out/train_metrics.jsonl"
"$innmf" export "$out/model.h5" -o "$out/export.h5"
/usr/bin/python3 scripts/plot_model.py "$out/export.h5" --max-freq 4000
echo "example: model in $out/model.h5, loss per epoch in $out/train_metrics.jsonl, plots $out/export_*.png"
