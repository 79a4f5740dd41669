#!/usr/bin/env bash
# Train an iN-NMF model with `mpirun -np RANKS` on this machine: jobs/train.sbatch without
# Slurm, with the same auto-resume: when CHECKPOINT exists, training continues from it.
# SIGUSR1 or SIGTERM to this script (`kill PID`) reaches every rank as SIGUSR1: innmf finishes
# the epoch, writes CHECKPOINT and the script exits with code 5; run the same command again to
# continue. (On Ctrl-C mpirun itself stops the ranks with SIGTERM: innmf still writes the
# checkpoint, but the exit code is mpirun's 1.)
#
#   bash jobs/local/train.sh [POINTS.h5...]
#   RANKS=2 THREADS=4 MODEL=runs/a.h5 EPOCHS=5000 bash jobs/local/train.sh out/points.h5
#
# Arguments: point files written by jobs/local/features.sh                  [out/points.h5]
# Environment (defaults in brackets):
#   RANKS             MPI ranks                                             [2]
#   THREADS           OpenMP threads per rank      [cores / RANKS, at least 1]
#   MODEL             model file to write                                   [out/model.h5]
#   CHECKPOINT        checkpoint; resumed from when it exists [MODEL without .h5 + .checkpoint.h5]
#   CHECKPOINT_EVERY  epochs between periodic checkpoints                   [100]
#   METRICS           one JSON line per epoch   [MODEL without .h5 + .metrics.jsonl]
#   EPOCHS            total epochs, counted over every resumed run          [1000]
#   TRAIN_ARGS        more `innmf train` options, e.g. "--rank 30 --beta 0" []
#   MPIRUN_ARGS       more mpirun options, e.g. "--oversubscribe --bind-to none" when RANKS ×
#                     THREADS exceeds the cores (then also OMP_PROC_BIND=false) []
#   INNMF, INNMF_ROOT: see jobs/env.sh
set -euo pipefail
# shellcheck source=jobs/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"

if (($# > 0)); then points=("$@"); else points=(out/points.h5); fi
RANKS=${RANKS:-2}
THREADS=${THREADS:-$(( $(nproc) / RANKS > 0 ? $(nproc) / RANKS : 1 ))}
MODEL=${MODEL:-out/model.h5}
CHECKPOINT=${CHECKPOINT:-${MODEL%.h5}.checkpoint.h5}
CHECKPOINT_EVERY=${CHECKPOINT_EVERY:-100}
METRICS=${METRICS:-${MODEL%.h5}.metrics.jsonl}
EPOCHS=${EPOCHS:-1000}
mkdir -p "$(dirname "$MODEL")" "$(dirname "$CHECKPOINT")" "$(dirname "$METRICS")"

echo "$(date '+%F %T') train: ${RANKS} ranks × ${THREADS} threads, ${EPOCHS} epochs → ${MODEL}"
# Each rank gets THREADS cores (PE = processing elements per rank); its threads stay on them.
# shellcheck disable=SC2046,SC2086  # word splitting of the resume and extra options is intended
innmf_run_forwarding \
  mpirun -np "$RANKS" --map-by "slot:PE=$THREADS" --bind-to core ${MPIRUN_ARGS:-} \
    "$INNMF" train "${points[@]}" -o "$MODEL" --threads "$THREADS" --epochs "$EPOCHS" \
      --checkpoint "$CHECKPOINT" --checkpoint-every "$CHECKPOINT_EVERY" --metrics "$METRICS" \
      $(innmf_resume_args "$CHECKPOINT") ${TRAIN_ARGS:-} \
  && rc=0 || rc=$?

if ((rc == 5)); then
  echo "$(date '+%F %T') interrupted; checkpoint in $CHECKPOINT: run the same command again to continue"
elif ((rc != 0)); then
  echo "$(date '+%F %T') innmf train exited with code $rc"
fi
exit "$rc"
