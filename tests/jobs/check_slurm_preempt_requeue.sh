#!/usr/bin/env bash
# check_slurm_preempt_requeue.sh ROOT INNMF OUTDIR PYTHON: the Slurm job scripts end to end under
# a real single-node Slurm (shared/tools/slurm-local.sh beside the repository; needs root and
# Debian's slurm-wlm, which scripts/install-deps.sh installs):
#   1. jobs/features.sbatch (2 tasks × 1 cpu) writes a point file;
#   2. jobs/train.sbatch (2 tasks × 1 cpu, checkpoint every 2000 epochs) starts training;
#   3. once the metrics show progress, the job is preempted the way --signal=B:USR1@120 does it:
#      `scancel --signal=USR1 --batch` signals the batch shell only, which passes SIGUSR1 on to
#      srun and the ranks; innmf checkpoints and exits 5, the script runs `scontrol requeue`;
#   4. Slurm starts the requeued job again (after about two minutes), the script finds the
#      checkpoint and resumes ("resuming from … after epoch N"), and finishes: the model holds
#      the full number of epochs, the job ends COMPLETED with exit code 0 after one restart;
#   5. jobs/separate.sbatch as a 2-task job array separates two mixtures with that model.
# The Slurm daemons are stopped at the end if this test started them.
set -euo pipefail
root=$1 innmf=$2 out=$3 python=$4
# Enough that the first run cannot end before the signal reaches it: at ~0.5 ms an epoch (this
# tiny model on a fast machine) 400 epochs took 0.2 s, less than one poll below.
epochs=20000
job=""
started_slurm=0
slurm_up=0
slurm_dir=${SLURM_LOCAL_DIR:-/var/tmp/slurm-local}  # slurm-local.sh's pid files

fail() {
  echo "FAIL: $*"
  for f in "$out"/*.out "$out"/*.log; do [[ -f $f ]] && { echo "--- $f"; cat "$f"; }; done
  [[ -z $job ]] || scontrol show job "$job" 2>&1 || true
  if ((slurm_up)); then
    echo "--- slurmctld.log (end)"; tail -n 30 "$slurm_dir/log/slurmctld.log" 2>/dev/null || true
  fi
  exit 1
}
cleanup() {
  [[ -z $job ]] || scancel "$job" 2>/dev/null || true
  if ((started_slurm)); then
    local pid pids
    pids=$(cat "$slurm_dir/slurmctld.pid" "$slurm_dir/slurmd.pid" 2>/dev/null || true)
    for pid in $pids; do kill "$pid" 2>/dev/null || true; done
    for pid in $pids; do  # the next run must not find them still exiting
      for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
  fi
}
trap cleanup EXIT
# job_field JOB KEY: a field of `scontrol show job` (JobState, Restarts, ExitCode, …).
job_field() { scontrol show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }

tool=$root/../shared/tools/slurm-local.sh
[[ -f $tool ]] || fail "no $tool (the shared/ folder beside the repository)"
for command in sbatch srun scontrol scancel slurmctld slurmd munged; do
  command -v "$command" > /dev/null \
    || fail "$command not found: install slurm-wlm (bash scripts/install-deps.sh)"
done
((EUID == 0)) || fail "slurm-local.sh needs root"

rm -rf "$out" && mkdir -p "$out" && cd "$out"
if ! pgrep -x slurmctld > /dev/null || ! pgrep -x slurmd > /dev/null; then started_slurm=1; fi
# The daemons inherit the tool's output: a file, never ctest's pipe (ctest would wait for them).
slurm_up=1
bash "$tool" > slurm-local.log 2>&1 || fail "slurm-local.sh exited with code $?"

export INNMF_ROOT=$root INNMF=$innmf  # sbatch passes the environment on to the jobs
# slurm-local.sh runs TaskPlugin=task/none: tasks get no CPU masks of their own, so
# OMP_PROC_BIND=close would pin every rank to core 0. (Real clusters bind tasks.)
export OMP_PROC_BIND=false

# 1. Features, waiting for the job (sbatch --wait returns its exit code).
POINTS=points.h5 FEATURES_ARGS="--clip-seconds 10" \
  sbatch --wait --quiet --ntasks=2 --cpus-per-task=1 --output=features-%j.out \
    "$root/jobs/features.sbatch" "$root/data/speech/es_train.wav" \
  || fail "jobs/features.sbatch failed (exit code $?)"
[[ -f points.h5 ]] || fail "no point file"

# 2. Training, a tiny model for many epochs.
job=$(MODEL=model.h5 EPOCHS=$epochs CHECKPOINT_EVERY=2000 TRAIN_ARGS="--rank 5 --hidden 16" \
  sbatch --parsable --ntasks=2 --cpus-per-task=1 --time=10 "$root/jobs/train.sbatch" points.h5) \
  || fail "sbatch jobs/train.sbatch failed"
log=innmf-train-$job.out
echo "train job $job"
for _ in $(seq 1 600); do  # up to 120 s to start and train 20 epochs
  if [[ -f model.metrics.jsonl ]] && (( $(wc -l < model.metrics.jsonl) >= 20 )); then break; fi
  sleep 0.2
done
(( $(wc -l < model.metrics.jsonl 2>/dev/null || echo 0) >= 20 )) || fail "no training progress within 120 s"

# 3. Preempt: SIGUSR1 to the batch shell only, as --signal=B:USR1@120 sends it.
scancel --signal=USR1 --batch "$job" || fail "scancel --signal=USR1 --batch failed"
for _ in $(seq 1 120); do  # up to 60 s to checkpoint and requeue
  [[ $(job_field "$job" Restarts) == 1 ]] && break
  sleep 0.5
done
[[ $(job_field "$job" Restarts) == 1 ]] || fail "job $job was not requeued within 60 s"
grep -q "requeueing job $job" "$log" || fail "no 'requeueing job' line in $log"
stopped=$(sed -n 's/.*stopped by a signal after epoch \([0-9]*\).*/\1/p' "$log" | head -1)
[[ -n $stopped ]] || fail "innmf did not report 'stopped by a signal after epoch N'"
((stopped < epochs)) || fail "the first run finished before the signal"
echo "stopped after epoch $stopped, requeued ($(date +%T)); Slurm starts it again in about two minutes"

# 4. The requeued run: resumes, finishes.
state=""
for _ in $(seq 1 400); do  # up to 400 s: ~120 s before Slurm restarts it, then the training
  state=$(job_field "$job" JobState)
  [[ $state == COMPLETED || $state == FAILED || $state == CANCELLED || $state == TIMEOUT ]] && break
  sleep 1
done
[[ $state == COMPLETED ]] || fail "job $job ended $state (or did not end), expected COMPLETED"
[[ $(job_field "$job" ExitCode) == 0:0 ]] || fail "job $job exit code $(job_field "$job" ExitCode)"
grep -q "(restart 1)" "$log" || fail "no second run (restart 1) in $log"
grep -q "resuming from model.checkpoint.h5 after epoch $stopped" "$log" \
  || fail "the requeued run did not resume from the checkpoint after epoch $stopped"
[[ -f model.h5 ]] || fail "no model file"
"$python" - model.h5 "$epochs" <<'PY' || fail "the model is wrong"
import sys, h5py
with h5py.File(sys.argv[1]) as f:
    n = len(f["training/loss"])
assert n == int(sys.argv[2]), f"{n} epochs in training/loss, expected {sys.argv[2]}"
PY
job=""
echo "job preempted after epoch $stopped, requeued, resumed and finished all $epochs epochs"

# 5. jobs/separate.sbatch as a 2-task array over two mixtures: the trained model plus two free
#    templates (one model alone is not a separation); each task separates its own mixture.
MODELS=model.h5 OUT_DIR=separated SEPARATE_ARGS="--free 2 --iters 50" timeout 300 \
  sbatch --wait --quiet --array=0-1 --cpus-per-task=1 --output=separate-%A_%a.out \
    "$root/jobs/separate.sbatch" "$root/data/speech/mix.wav" "$root/data/speech/ru_test.wav" \
  || fail "jobs/separate.sbatch failed (exit code $?): $(cat separate-*.out 2>/dev/null)"
for stem in mix ru_test; do
  for source in model free; do
    [[ -s separated/$stem/$source.wav ]] || fail "no separated/$stem/$source.wav: $(cat separate-*.out)"
  done
done
echo "OK: and jobs/separate.sbatch wrote both mixtures' sources from a 2-task array"
