#!/usr/bin/env bash
# Separate mixtures with source models on this machine: jobs/separate.sbatch without Slurm, one
# `innmf separate` per mixture in turn, THREADS OpenMP threads each.
#
#   MODELS="out/es.h5 out/ru.h5" bash jobs/local/separate.sh [MIXTURE...]
#
# Arguments and MODELS, OUT_DIR, SEPARATE_ARGS as in jobs/separate.sbatch.
# Environment: THREADS  OpenMP threads  [all cores]
set -euo pipefail
# shellcheck source=jobs/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"

innmf_separate_all 0 1 "${THREADS:-$(nproc)}" "$@"
