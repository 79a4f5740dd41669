#!/usr/bin/env bash
# The main job, end to end on the example data in data/, on 2 MPI ranks:
#   speech of each speaker (20 s) → STFT point set → one iN-NMF model per speaker (the paper's
#   defaults: rank 20, per-component networks, KL on magnitude^0.5, Rprop, 1000 epochs) →
#   templates and activations exported and plotted → the 0 dB mixture of two other recordings
#   of the speakers separated, SDR/SIR/SAR/SI-SDR printed, spectrograms plotted.
# Outputs go to out/ (or the folder given as the first argument). A few minutes on 2 cores.
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
# One machine needs no munge authentication between processes; where munge is installed (with
# Slurm) but not running, PMIx would retry it for seconds at every start (README, "Running
# under MPI").
export PMIX_MCA_psec="${PMIX_MCA_psec:-native}"
mpirun="mpirun -np 2 --oversubscribe -x OMP_NUM_THREADS=1"

# 8 kHz speech, 1000-sample windows (125 ms) and hop 500, as in the paper's experiments.
for speaker in es ru; do
  $mpirun "$innmf" features "data/speech/${speaker}_train.wav" -o "$out/${speaker}_points.h5" \
    --n-fft 1000 --hop 500 --clip-seconds 5
  $mpirun "$innmf" train "$out/${speaker}_points.h5" -o "$out/$speaker.h5" --metrics "$out/${speaker}_train_metrics.jsonl"
  "$innmf" info "$out/$speaker.h5"
done
"$innmf" export "$out/es.h5" -o "$out/es_export.h5"
/usr/bin/python3 scripts/plot_model.py "$out/es_export.h5" --max-freq 4000

# Separation of a mixture the models never saw, at a window size they were not trained on
# (iN-NMF templates serve any STFT), scored against the true sources.
$mpirun "$innmf" separate data/speech/mix.wav --model "$out/es.h5" --model "$out/ru.h5" \
  --n-fft 750 --hop 375 -o "$out/separated" \
  --ref data/speech/es_test.wav --ref data/speech/ru_test.wav --metrics "$out/separation.jsonl"
/usr/bin/python3 scripts/plot_separation.py data/speech/mix.wav "$out/separated/es.wav" "$out/separated/ru.wav" \
  --ref data/speech/es_test.wav --ref data/speech/ru_test.wav -o "$out/separation.png"
echo "example: models $out/es.h5 $out/ru.h5, plots $out/es_export_*.png, separated sources in $out/separated/, metrics $out/separation.jsonl, spectrograms $out/separation.png"
