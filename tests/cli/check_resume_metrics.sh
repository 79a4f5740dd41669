#!/usr/bin/env bash
# check_resume_metrics.sh INNMF PYTHON POINTS OUTDIR [LAUNCHER...]: `--metrics` across `--resume`
# (DESIGN.md §2: a preempted and resumed run's metrics hold every epoch exactly once, in order).
#
#   1. train 6 epochs, checkpoint A.h5 (epoch 6), metrics 1..6;
#   2. resume from A.h5 to 10 epochs (as a run that went on past its last checkpoint, then was
#      killed): metrics 1..10, appended — not truncated to 7..10;
#   3. resume from A.h5 again, to 12 epochs: the lines of epochs 7..10 are dropped before the
#      run appends 7..12, so the file holds 1..12 once each, in order, and its losses are the
#      model's loss curve (a resumed run is bit-identical, so step 2's 7..10 equal step 3's);
#   4. the point file copied under another name (with a space) resumes A.h5 to the same loss
#      curve as step 3; a copy with one magnitude changed is refused (exit 3, one line);
#   5. a fresh run (no --resume) on the same --metrics file starts it afresh: 1..4.
# No temporary `.*.tmp-*` may be left in OUTDIR.
set -uo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: check_resume_metrics.sh INNMF PYTHON POINTS OUTDIR [LAUNCHER...]" >&2
  exit 1
fi
innmf=$1 python=$2 points=$3 out=$4
launcher=("${@:5}")  # e.g. mpirun -np 2 …; none: run directly
rm -rf "$out" && mkdir -p "$out" || exit 1
metrics=$out/metrics.jsonl

fail() {
  echo "FAIL: $*"
  exit 1
}

# train NAME ARGS...: one run, through the launcher, that must succeed.
train() {
  local name=$1
  shift
  timeout --kill-after=10 120 ${launcher[@]+"${launcher[@]}"} "$innmf" train "$points" \
    -o "$out/$name.h5" --rank 3 --hidden 16 --seed 3 --metrics "$metrics" "$@" \
    2>"$out/$name.stderr" \
    || { cat "$out/$name.stderr"; fail "run '$name' ($*) failed"; }
}

# expect_epochs FIRST LAST [MODEL]: the metrics file holds FIRST..LAST once each, in order;
# with MODEL, its losses are that model's loss curve.
expect_epochs() {
  "$python" - "$metrics" "$@" <<'PY' || fail "wrong metrics after the step above: $(cat "$metrics")"
import json, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
first, last = int(sys.argv[2]), int(sys.argv[3])
epochs = [line["epoch"] for line in lines]
assert epochs == list(range(first, last + 1)), f"epochs {epochs}, expected {first}..{last}"
if len(sys.argv) > 4:
    import h5py
    with h5py.File(sys.argv[4], "r") as f:
        curve = list(f["training/loss"][:])
    assert [line["loss"] for line in lines] == curve, "the metrics' losses are not the loss curve"
PY
}

train first --epochs 6 --checkpoint "$out/A.h5"
expect_epochs 1 6 "$out/first.h5"
# info on the checkpoint: the epochs done, the last loss (the model's), the run it belongs to.
"$innmf" info "$out/A.h5" --json > "$out/A_info.json" || fail "info on a checkpoint exited with $?"
"$python" - "$out/A_info.json" "$out/first.h5" <<'PY' || fail "info on a checkpoint: $(cat "$out/A_info.json")"
import json, sys, h5py
info = json.load(open(sys.argv[1]))
with h5py.File(sys.argv[2], "r") as f:
    last = float(f["training/loss"][-1])
assert info["format"] == "innmf.checkpoint" and info["epoch"] == 6, info
assert info["last_loss"] == last, (info["last_loss"], last)
assert info["run"]["model"]["rank"] == 3 and len(info["run"]["point_files"]) == 1, info["run"]
PY
"$innmf" info "$out/A.h5" | grep -q "^training *6 epochs done" || fail "info text on a checkpoint: $("$innmf" info "$out/A.h5")"
train overrun --epochs 10 --resume "$out/A.h5" --checkpoint "$out/B.h5"
expect_epochs 1 10 "$out/overrun.h5"
train resumed --epochs 12 --resume "$out/A.h5" --checkpoint "$out/C.h5"
expect_epochs 1 12 "$out/resumed.h5"
# The same points under another name resume (the checkpoint knows them by a digest of their
# contents); one magnitude changed is other points, refused in one line naming the digests.
cp "$points" "$out/renamed points.h5" || fail "cannot copy $points"
timeout --kill-after=10 120 ${launcher[@]+"${launcher[@]}"} "$innmf" train "$out/renamed points.h5" \
  -o "$out/renamed.h5" --rank 3 --hidden 16 --seed 3 --epochs 12 --resume "$out/A.h5" 2>"$out/renamed.stderr" \
  || { cat "$out/renamed.stderr"; fail "resuming with the point file renamed failed"; }
"$python" - "$out/renamed.h5" "$out/resumed.h5" <<'PY' || fail "the run on the renamed points differs from the resumed one"
import sys, h5py
curves = [list(h5py.File(p, "r")["training/loss"][:]) for p in sys.argv[1:]]
assert curves[0] == curves[1], curves
PY
"$python" - "$out/renamed points.h5" "$out/changed.h5" <<'PY' || fail "cannot write a changed point file"
import shutil, sys, h5py
shutil.copyfile(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    f["points/m"][5] = f["points/m"][5] * 1.5 + 1.0
PY
timeout --kill-after=10 120 ${launcher[@]+"${launcher[@]}"} "$innmf" train "$out/changed.h5" \
  -o "$out/changed_model.h5" --rank 3 --hidden 16 --seed 3 --epochs 12 --resume "$out/A.h5" 2>"$out/changed.stderr"
status=$?
[[ $status -eq 3 ]] || { cat "$out/changed.stderr"; fail "resuming on changed points exited with $status, expected 3"; }
grep -q "written for other points (content digest [0-9a-f]\{16\}" "$out/changed.stderr" \
  || fail "resuming on changed points: $(cat "$out/changed.stderr")"
[[ ! -e "$out/changed_model.h5" ]] || fail "a refused resume left $out/changed_model.h5"
train fresh --epochs 4
expect_epochs 1 4 "$out/fresh.h5"
leftovers=$(find "$out" -maxdepth 1 -name '.*.tmp-*')
[[ -z "$leftovers" ]] || fail "temporary files left behind: $leftovers"
echo "OK: metrics hold every epoch once across --resume (6 → 10, 6 → 12), renamed points resume, changed ones are refused, restart on a fresh run"
