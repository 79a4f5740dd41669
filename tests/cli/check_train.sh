#!/usr/bin/env bash
# check_train.sh INNMF POINTS OUTDIR "LAUNCHER" [TRAIN OPTION…]: trains a small model (through
# LAUNCHER, e.g. "mpirun -np 2 …", or directly when empty; with the extra options given) and
# checks the metrics file and the model file.
set -euo pipefail
innmf=$1 points=$2 out=$3 launcher=${4:-}
extra=("${@:5}")
rm -rf "$out" && mkdir -p "$out"
# shellcheck disable=SC2086  # the launcher is a word list
$launcher "$innmf" train "$points" -o "$out/model.h5" --rank 3 --hidden 16 --epochs 40 \
  --metrics "$out/metrics.jsonl" -q "${extra[@]}"
/usr/bin/python3 - "$out/metrics.jsonl" "$out/model.h5" <<'PY'
import json, sys, h5py, math
lines = [json.loads(line) for line in open(sys.argv[1])]
assert len(lines) == 40, f"{len(lines)} metrics lines, expected 40"
for key in ("epoch", "loss", "divergence", "seconds", "points_per_second"):
    assert all(key in line for line in lines), f"metrics lack '{key}'"
assert [l["epoch"] for l in lines] == list(range(1, 41))
losses = [l["loss"] for l in lines]
assert all(math.isfinite(x) for x in losses)
assert losses[-1] < 0.8 * losses[0], f"loss {losses[0]} -> {losses[-1]}: did not decrease by 20%"
with h5py.File(sys.argv[2]) as f:
    assert f.attrs["format"] == "innmf.model" and f.attrs["kind"] == "innmf"
    assert f.attrs["rank"] == 3
    assert len(f["training/loss"]) == 40
    assert abs(f["training/loss"][-1] - losses[-1]) <= 1e-12 * abs(losses[-1])
    sizes = f["activations/size"][:]
    assert sizes.sum() == len(f["activations/params"]), "activation table does not cover the params"
    json.loads(f.attrs["config"])
    l1 = f.attrs["l1"]
# The loss is the mean divergence, plus λ·ΣH with --l1 (reduced over the ranks like the loss).
if l1 == 0:
    assert all(l["divergence"] == l["loss"] for l in lines), "without --l1 the loss is the divergence"
else:
    assert all(0 < l["divergence"] < l["loss"] for l in lines), "with --l1 the loss adds a positive penalty"
print(f"OK: loss {losses[0]:.4g} -> {losses[-1]:.4g}")
PY
# info names what the loss is: the divergence alone, or with the penalty.
if [[ " ${extra[*]} " == *" --l1 "* ]]; then
  "$innmf" info "$out/model.h5" | grep -q "final loss .* (mean β-divergence per entry + .* × the sum of the activations (--l1))" ||
    { "$innmf" info "$out/model.h5"; echo "info does not say the loss includes the L1 penalty"; exit 1; }
else
  "$innmf" info "$out/model.h5" | grep -q "final loss .* (mean β-divergence per entry)$" ||
    { "$innmf" info "$out/model.h5"; echo "info does not name the loss"; exit 1; }
fi
