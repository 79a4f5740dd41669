#!/usr/bin/env bash
# Audio → STFT point set with `mpirun -np RANKS` on this machine: jobs/features.sbatch without
# Slurm. Whole files are shared out over the ranks, rank 0 writes the point file.
#
#   bash jobs/local/features.sh [AUDIO...]
#   RANKS=4 THREADS=2 POINTS=out/corpus.h5 bash jobs/local/features.sh /data/corpus
#
# Arguments: audio files, folders (searched recursively) or @list.txt
#            [data/speech/es_train.wav data/speech/ru_train.wav of the repository]
# Environment (defaults in brackets):
#   RANKS          MPI ranks                                             [2]
#   THREADS        OpenMP threads per rank      [cores / RANKS, at least 1]
#   POINTS         point file to write                                   [out/points.h5]
#   N_FFT, HOP     STFT window and hop [samples] (the defaults suit 8 kHz speech) [1000, 500]
#   FEATURES_ARGS  more `innmf features` options, e.g. "--sr 16000"      []
#   MPIRUN_ARGS    more mpirun options, e.g. "--oversubscribe --bind-to none" when RANKS × THREADS
#                  exceeds the cores (then also OMP_PROC_BIND=false)     []
#   INNMF, INNMF_ROOT: see jobs/env.sh
set -euo pipefail
# shellcheck source=jobs/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"

if (($# > 0)); then audio=("$@"); else audio=("$INNMF_ROOT/data/speech/es_train.wav" "$INNMF_ROOT/data/speech/ru_train.wav"); fi
RANKS=${RANKS:-2}
THREADS=${THREADS:-$(( $(nproc) / RANKS > 0 ? $(nproc) / RANKS : 1 ))}
POINTS=${POINTS:-out/points.h5}
N_FFT=${N_FFT:-1000}
HOP=${HOP:-500}
mkdir -p "$(dirname "$POINTS")"

echo "$(date '+%F %T') features: ${RANKS} ranks × ${THREADS} threads → ${POINTS}"
# Each rank gets THREADS cores (PE = processing elements per rank); its threads stay on them.
# shellcheck disable=SC2086  # word splitting of the extra options is intended
mpirun -np "$RANKS" --map-by "slot:PE=$THREADS" --bind-to core ${MPIRUN_ARGS:-} \
  "$INNMF" features "${audio[@]}" -o "$POINTS" --n-fft "$N_FFT" --hop "$HOP" --threads "$THREADS" \
    ${FEATURES_ARGS:-}
"$INNMF" info "$POINTS"
