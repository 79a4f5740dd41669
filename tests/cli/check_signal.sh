#!/usr/bin/env bash
# check_signal.sh INNMF POINTS OUTDIR "LAUNCHER": starts a long training (through LAUNCHER, e.g.
# "mpirun -np 2 …", or directly), sends SIGUSR1 (as Slurm's --signal does) once it is training,
# and checks: exit code 5, a checkpoint, no model file; then resumes from the checkpoint to the
# end: exit code 0, a model whose loss curve continues the interrupted one.
set -euo pipefail
innmf=$1 points=$2 out=$3 launcher=${4:-}
rm -rf "$out" && mkdir -p "$out"
# shellcheck disable=SC2086  # the launcher is a word list
$launcher "$innmf" train "$points" -o "$out/model.h5" --rank 3 --hidden 16 --epochs 1000000 \
  --checkpoint "$out/run.ckpt.h5" --metrics "$out/metrics.jsonl" -q 2> "$out/stderr.txt" &
pid=$!
for _ in $(seq 1 600); do  # up to 60 s for 5 epochs
  if [[ -f "$out/metrics.jsonl" ]] && (( $(wc -l < "$out/metrics.jsonl") >= 5 )); then break; fi
  sleep 0.1
done
kill -USR1 "$pid"
set +e
wait "$pid"
code=$?
set -e
[[ $code -eq 5 ]] || { echo "FAIL: exit code $code after SIGUSR1, expected 5"; cat "$out/stderr.txt"; exit 1; }
grep -q "stopped by a signal after epoch" "$out/stderr.txt" || { echo "FAIL: no stop message"; cat "$out/stderr.txt"; exit 1; }
[[ -f "$out/run.ckpt.h5" ]] || { echo "FAIL: no checkpoint"; exit 1; }
[[ ! -e "$out/model.h5" ]] || { echo "FAIL: a model file was written"; exit 1; }
stopped=$(sed -n 's/.*after epoch \([0-9]*\).*/\1/p' "$out/stderr.txt" | head -1)
target=$((stopped + 5))
# shellcheck disable=SC2086
$launcher "$innmf" train "$points" -o "$out/model.h5" --rank 3 --hidden 16 --epochs "$target" \
  --resume "$out/run.ckpt.h5" -q
/usr/bin/python3 - "$out/model.h5" "$out/metrics.jsonl" "$stopped" "$target" <<'PY'
import json, sys, h5py
model, metrics, stopped, target = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with h5py.File(model) as f:
    loss = f["training/loss"][:]
assert len(loss) == target, f"{len(loss)} epochs in the model, expected {target}"
first = [json.loads(line)["loss"] for line in open(metrics)][:stopped]
assert list(loss[:len(first)]) == first, "the resumed model's loss curve does not continue the interrupted run"
print(f"OK: stopped after epoch {stopped}, resumed to {target}")
PY
