# shellcheck shell=bash
# jobs/env.sh: the one environment file every job script sources (jobs/*.sbatch and
# jobs/local/*.sh). Put site specifics here (module loads, a different srun MPI plugin).
#
# Sets (each can be overridden by exporting it before `sbatch` or the local script; sbatch
# passes your environment on to the job):
#   INNMF_ROOT      the innmf repository                 [the one that holds this file]
#   INNMF           the innmf executable                 [$INNMF_ROOT/build/drivers/innmf]
#   INNMF_SRUN_MPI  srun's --mpi plugin for Open MPI     [pmix; `srun --mpi=list` shows yours]
#   OMP_PLACES=cores, OMP_PROC_BIND=close: each rank's threads stay on the cores Slurm
#                   (srun --cpus-per-task) or mpirun (--map-by slot:PE=T) gave that rank.
# Defines:
#   innmf_threads            OpenMP threads per rank: $SLURM_CPUS_PER_TASK, else 1
#   innmf_resume_args CKPT   prints "--resume CKPT" when CKPT exists, else nothing
#   innmf_run_forwarding CMD runs CMD, passes SIGUSR1/SIGTERM on to it, returns its exit code

# modules (site specific), e.g.: module load openmpi/4.1 hdf5 fftw

INNMF_ROOT=${INNMF_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
INNMF=${INNMF:-$INNMF_ROOT/build/drivers/innmf}
INNMF_SRUN_MPI=${INNMF_SRUN_MPI:-pmix}
export OMP_PLACES=${OMP_PLACES:-cores}
export OMP_PROC_BIND=${OMP_PROC_BIND:-close}

if [[ ! -x $INNMF ]]; then
  echo "jobs/env.sh: error: no innmf executable at $INNMF: build it (bash scripts/build.sh build)" \
       "or set INNMF" >&2
  exit 2
fi

# OpenMP threads per MPI rank. Slurm sets SLURM_CPUS_PER_TASK only when --cpus-per-task is
# given; the job scripts pass the result explicitly to both srun and innmf, because srun does
# not take --cpus-per-task over from sbatch (Slurm ≥ 22.05).
innmf_threads() {
  echo "${SLURM_CPUS_PER_TASK:-1}"
}

# Auto-resume: a checkpoint left by an interrupted run (signal, time limit, node failure) is
# continued; training then runs up to --epochs in total. Delete the checkpoint to start over.
innmf_resume_args() {
  if [[ -f $1 ]]; then echo "--resume $1"; fi
}

# innmf_run_forwarding CMD...: runs CMD (srun … or mpirun …) in the background and waits for it.
# SIGUSR1 or SIGTERM reaching this shell (Slurm's --signal=B:USR1@T, scancel --signal=USR1
# --batch, kill) is passed on to CMD as SIGUSR1, which srun and mpirun both forward to every
# rank: innmf finishes the epoch, writes its checkpoint and exits with code 5. (mpirun would
# kill the ranks on SIGTERM instead, hence USR1 for both.) Returns CMD's exit code and sets
# INNMF_SIGNAL to the signal received (USR1, TERM or empty).
innmf_run_forwarding() {
  INNMF_SIGNAL=""
  _innmf_pid=""
  trap '_innmf_forward USR1' USR1
  trap '_innmf_forward TERM' TERM
  "$@" &
  _innmf_pid=$!
  if [[ -n $INNMF_SIGNAL ]]; then kill -USR1 "$_innmf_pid" 2>/dev/null || true; fi
  local rc
  while :; do
    _innmf_caught=0
    rc=0
    wait "$_innmf_pid" || rc=$?
    # A trapped signal makes `wait` return early (status > 128) while CMD still runs.
    if (( _innmf_caught && rc > 128 )); then continue; fi
    break
  done
  trap - USR1 TERM
  return "$rc"
}

_innmf_forward() {
  INNMF_SIGNAL=$1
  _innmf_caught=1
  echo "$(date '+%F %T') received SIG$1: passing SIGUSR1 on to the ranks (checkpoint, then exit 5)" >&2
  if [[ -n $_innmf_pid ]]; then kill -USR1 "$_innmf_pid" 2>/dev/null || true; fi
}

# innmf_separate_all TASK TASKS THREADS [MIXTURE...]: `innmf separate` of every mixture whose
# index in the sorted list is TASK modulo TASKS, with $MODELS, into $OUT_DIR/<mixture stem>/.
# Stops at the first failure (innmf's one-line error says which file and why). Each command is
# prefixed with $SEPARATE_LAUNCHER if set (the sbatch script sets an `srun` of one task).
innmf_separate_all() {
  local task=$1 tasks=$2 threads=$3 mixtures=() models=() path i=0
  shift 3
  (($# > 0)) || set -- "$INNMF_ROOT/data/speech/mix.wav"
  for path in "$@"; do
    if [[ -d $path ]]; then
      mapfile -t -O "${#mixtures[@]}" mixtures < <(find "$path" -type f \( -name '*.wav' -o -name '*.flac' -o -name '*.ogg' \) | LC_ALL=C sort)
    else
      mixtures+=("$path")
    fi
  done
  read -r -a models <<<"${MODELS:-out/es.h5 out/ru.h5}"
  local model_args=()
  for path in "${models[@]}"; do model_args+=(--model "$path"); done
  local out_dir=${OUT_DIR:-out/separated}
  echo "$(date '+%F %T') separate: task $task of $tasks, ${#mixtures[@]} mixtures, ${#models[@]} models, $threads threads → $out_dir"
  for path in "${mixtures[@]}"; do
    if ((i++ % tasks == task)); then
      local stem
      stem=$(basename "${path%.*}")
      # shellcheck disable=SC2086  # word splitting of the extra options is intended
      ${SEPARATE_LAUNCHER:-} "$INNMF" separate "$path" "${model_args[@]}" -o "$out_dir/$stem" --threads "$threads" \
        ${SEPARATE_ARGS:-}
    fi
  done
}
