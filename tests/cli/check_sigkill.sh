#!/usr/bin/env bash
# check_sigkill.sh INNMF PYTHON POINTS OUTDIR RANK LAUNCHER...: a rank killed outright (SIGKILL:
# the OOM killer, a dead node) must end the whole job, never hang it, and must not damage the
# last checkpoint (DESIGN.md §2).
#
# Starts a long `LAUNCHER INNMF train POINTS --checkpoint C.h5 --checkpoint-every 25 --metrics …`
# in the background (LAUNCHER... is e.g. `mpirun -np 2 …`), waits for a checkpoint, SIGKILLs the
# process of MPI rank RANK, and checks:
#   - the launcher exits within 60 s with a non-zero code, and no rank process outlives it;
#   - C.h5 is the checkpoint saved before the kill, or a newer complete one (never partial),
#     no temporary `.*.tmp-*` is left beside it and no model file was written;
#   - a resumed run (same launcher) from C.h5 to 3 more epochs exits 0, its model holds every
#     epoch's loss, and the metrics file holds epochs 1..E exactly once, in order, although the
#     killed run had logged epochs past its checkpoint.
#
# The kill is aimed outside a checkpoint write: the rank is stopped (SIGSTOP) first and only
# killed once no temporary exists, since a writer killed mid-write cannot remove its own
# temporary. The checkpoint itself must be intact however the kill lands.
set -uo pipefail
if [[ $# -lt 6 ]]; then
  echo "usage: check_sigkill.sh INNMF PYTHON POINTS OUTDIR RANK LAUNCHER..." >&2
  exit 1
fi
innmf=$1 python=$2 points=$3 out=$4 kill_rank=$5
launcher=("${@:6}")
rm -rf "$out" && mkdir -p "$out" || exit 1
checkpoint=$out/C.h5
train_options=(--rank 3 --hidden 16 --seed 7)

job=""
rank_pids=()
show_stderr=1
# On any exit (a failure, ctest's timeout): no rank or launcher of ours is left running.
cleanup() {
  for pid in $job ${rank_pids[@]+"${rank_pids[@]}"}; do kill -KILL "$pid" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 1' TERM INT
fail() {
  echo "FAIL: $*"
  if [[ $show_stderr -eq 1 && -f "$out/stderr.txt" ]]; then
    echo "---- stderr of the killed run ----"
    cat "$out/stderr.txt"
  fi
  exit 1
}

# running PID: the process exists and is not a zombie.
running() {
  local state
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

descendants() {
  local child
  for child in $(pgrep -P "$1"); do
    echo "$child"
    descendants "$child"
  done
}

# The innmf processes below the launcher, as "rank pid" lines (Open MPI 4 sets
# OMPI_COMM_WORLD_RANK, PMIx launchers PMIX_RANK).
find_ranks() {
  local pid rank
  for pid in $(descendants "$job"); do
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == innmf ]] || continue
    rank=$(tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null |
           sed -n 's/^\(OMPI_COMM_WORLD_RANK\|PMIX_RANK\)=\([0-9]*\)$/\2/p' | head -1)
    [[ -n "$rank" ]] && echo "$rank $pid"
  done
}

temporaries() {
  find "$out" -maxdepth 1 -name '.*.tmp-*'
}

# 1. A long run that checkpoints often.
start=$SECONDS
"${launcher[@]}" "$innmf" train "$points" -o "$out/model.h5" "${train_options[@]}" \
  --epochs 1000000 --checkpoint "$checkpoint" --checkpoint-every 25 \
  --metrics "$out/metrics.jsonl" -q >"$out/stdout.txt" 2>"$out/stderr.txt" &
job=$!

# 2. Its ranks, and a first checkpoint (60 s for start-up and 30 epochs on a loaded machine).
target=""
deadline=$((SECONDS + 60))
while :; do
  running "$job" || fail "the run ended before its first checkpoint"
  if [[ -z "$target" ]]; then
    ranks=$(find_ranks)
    if [[ $(wc -l <<<"$ranks") -ge 2 ]]; then
      target=$(awk -v r="$kill_rank" '$1 == r {print $2}' <<<"$ranks")
      mapfile -t rank_pids < <(awk '{print $2}' <<<"$ranks")
    fi
  fi
  # Past the first checkpoint, so that the metrics hold epochs a resumed run must drop.
  [[ -n "$target" && -f "$checkpoint" && -f "$out/metrics.jsonl" ]] &&
    (( $(wc -l <"$out/metrics.jsonl") >= 30 )) && break
  (( SECONDS < deadline )) ||
    fail "no rank $kill_rank process or no checkpoint after 60 s (ranks: ${ranks:-none})"
  sleep 0.05
done

# 3. Stop the rank outside a checkpoint write, keep a copy of the checkpoint, kill the rank.
deadline=$((SECONDS + 30))
while :; do
  kill -STOP "$target" || fail "cannot stop rank $kill_rank (pid $target)"
  [[ -z "$(temporaries)" ]] && break
  kill -CONT "$target"
  (( SECONDS < deadline )) || fail "a checkpoint write never finished: $(temporaries)"
  sleep 0.02
done
cp "$checkpoint" "$out/before.h5" || fail "cannot copy $checkpoint"
kill -KILL "$target"  # (a stopped process dies of SIGKILL all the same)
killed_at=$SECONDS
logged=$(wc -l <"$out/metrics.jsonl")

# 4. The job must end by itself: Open MPI aborts it when a rank dies.
deadline=$((SECONDS + 60))
while running "$job"; do
  (( SECONDS < deadline )) ||
    fail "the job still runs 60 s after rank $kill_rank was killed: a hang"
  sleep 0.05
done
wait "$job"
code=$?
job=""
took=$((SECONDS - killed_at))
[[ $code -ne 0 ]] || fail "the launcher exited 0 after rank $kill_rank was killed"
deadline=$((SECONDS + 10))
for pid in "${rank_pids[@]}"; do
  while running "$pid"; do
    (( SECONDS < deadline )) || fail "rank process $pid outlived the job"
    sleep 0.05
  done
done
rank_pids=()
said=$(grep -m1 'exited on signal' "$out/stderr.txt" || grep -m1 -i abort "$out/stderr.txt")
echo "rank $kill_rank (pid $target) killed after ~$logged epochs: the launcher exited $code" \
     "after ${took} s, saying: ${said:-(nothing)}"
show_stderr=0

# 5. The checkpoint: the one saved before, or a newer complete one; nothing partial beside it.
[[ -z "$(temporaries)" ]] || fail "temporary files left beside the checkpoint: $(temporaries)"
[[ ! -e "$out/model.h5" ]] || fail "a model file was written by the killed run"
epoch=$("$python" - "$checkpoint" "$out/before.h5" <<'PY'
import filecmp, sys, h5py
path, before = sys.argv[1], sys.argv[2]
def read(name):
    with h5py.File(name, "r") as f:
        assert f.attrs["format"] in ("innmf.checkpoint", b"innmf.checkpoint"), f"{name}: format"
        epoch = int(f.attrs["epoch"])
        assert len(f["loss"]) == epoch, f"{name}: {len(f['loss'])} losses for {epoch} epochs"
        return epoch
old = read(before)
now = read(path)
if not filecmp.cmp(path, before, shallow=False):
    assert now > old, f"the checkpoint changed from epoch {old} to {now}"
print(now)
PY
) || fail "$checkpoint is damaged or older than before the kill"

# 6. Resume from it to 3 more epochs: the model and the metrics hold every epoch once.
final=$((epoch + 3))
timeout --kill-after=10 120 "${launcher[@]}" "$innmf" train "$points" -o "$out/model.h5" \
  "${train_options[@]}" --epochs "$final" --resume "$checkpoint" --metrics "$out/metrics.jsonl" -q \
  2>"$out/resume_stderr.txt" ||
  { cat "$out/resume_stderr.txt"; fail "resuming from $checkpoint failed"; }
"$python" - "$out/model.h5" "$out/metrics.jsonl" "$epoch" "$final" <<'PY' ||
  fail "the resumed run's model or metrics are wrong"
import json, sys, h5py
model, metrics, epoch, final = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
with h5py.File(model, "r") as f:
    loss = list(f["training/loss"][:])
assert len(loss) == final, f"{len(loss)} epochs in the model, expected {final}"
epochs = [json.loads(line)["epoch"] for line in open(metrics)]
assert epochs == list(range(1, final + 1)), \
    f"metrics epochs {epochs[:3]}…{epochs[-3:]} ({len(epochs)} lines), expected 1..{final}"
logged = [json.loads(line)["loss"] for line in open(metrics)]
assert logged == loss, "the metrics' losses differ from the model's loss curve"
PY
echo "OK: checkpoint after epoch $epoch intact, resumed to $final in $((SECONDS - start)) s in all"
