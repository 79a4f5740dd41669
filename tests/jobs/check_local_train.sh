#!/usr/bin/env bash
# check_local_train.sh ROOT INNMF OUTDIR PYTHON: runs jobs/local/features.sh and jobs/local/train.sh
# at 2 ranks on data/speech/es_train.wav and checks: a point file and a model; the training
# script, stopped with SIGTERM, checkpoints and exits 5; run again, it resumes from the
# checkpoint by itself and trains up to EPOCHS in total.
set -euo pipefail
root=$1 innmf=$2 out=$3 python=$4
fail() { echo "FAIL: $*"; for f in "$out"/*.log; do echo "--- $f"; cat "$f"; done; exit 1; }
rm -rf "$out" && mkdir -p "$out" && cd "$out"
export INNMF=$innmf RANKS=2 THREADS=1
# A tiny model: the test is about the scripts, not the model.
export TRAIN_ARGS="--rank 5 --hidden 16"

# 1. Features: 20 s of speech cut into two 10 s clips, one per rank.
POINTS=points.h5 FEATURES_ARGS="--clip-seconds 10" \
  bash "$root/jobs/local/features.sh" "$root/data/speech/es_train.wav" > features.log 2>&1 \
  || fail "jobs/local/features.sh exited with code $?"
[[ -f points.h5 ]] || fail "no point file"

# 2. A short training to the end.
MODEL=model.h5 EPOCHS=20 CHECKPOINT_EVERY=10 bash "$root/jobs/local/train.sh" points.h5 > train.log 2>&1 \
  || fail "jobs/local/train.sh exited with code $?"
[[ -f model.h5 ]] || fail "no model file"
grep -q "wrote model.h5" train.log || fail "no 'wrote model.h5' in the log"

# 3. A long training stopped with SIGTERM to the script: checkpoint, exit code 5.
MODEL=long.h5 EPOCHS=1000000 CHECKPOINT_EVERY=1000 bash "$root/jobs/local/train.sh" points.h5 \
  > long1.log 2>&1 &
pid=$!
for _ in $(seq 1 600); do  # up to 60 s for 5 epochs
  if [[ -f long.metrics.jsonl ]] && (( $(wc -l < long.metrics.jsonl) >= 5 )); then break; fi
  sleep 0.1
done
kill -TERM "$pid"
code=0
wait "$pid" || code=$?
((code == 5)) || fail "exit code $code after SIGTERM, expected 5"
[[ -f long.checkpoint.h5 ]] || fail "no checkpoint after SIGTERM"
[[ ! -e long.h5 ]] || fail "a model file was written"
stopped=$(sed -n 's/.*stopped by a signal after epoch \([0-9]*\).*/\1/p' long1.log | head -1)
[[ -n $stopped ]] || fail "no 'stopped by a signal after epoch N' in the log"

# 4. The same command again (more epochs): resumes by itself and finishes.
target=$((stopped + 10))
MODEL=long.h5 EPOCHS=$target CHECKPOINT_EVERY=1000 bash "$root/jobs/local/train.sh" points.h5 \
  > long2.log 2>&1 || fail "the resumed jobs/local/train.sh exited with code $?"
grep -q "resuming from long.checkpoint.h5 after epoch $stopped" long2.log \
  || fail "the second run did not resume from the checkpoint after epoch $stopped"
"$python" - long.h5 "$target" <<'PY' || fail "the resumed model is wrong"
import sys, h5py
with h5py.File(sys.argv[1]) as f:
    n = len(f["training/loss"])
assert n == int(sys.argv[2]), f"{n} epochs in training/loss, expected {sys.argv[2]}"
PY
echo "OK: features and training at 2 ranks; stopped after epoch $stopped, resumed to $target"
