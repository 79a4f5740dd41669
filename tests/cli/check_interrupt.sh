#!/usr/bin/env bash
# check_interrupt.sh INNMF PYTHON POINTS OUTDIR: Ctrl-C (SIGINT) in an interactive training
# stops it like SIGTERM does: after the epoch, with a checkpoint, exit code 5, no model file.
# (Started from Python, as a terminal would start it: a background job of this script would
# have SIGINT ignored, and innmf keeps it ignored.)
set -euo pipefail
innmf=$1 python=$2 points=$3 out=$4
rm -rf "$out" && mkdir -p "$out"
"$python" - "$innmf" "$points" "$out" <<'PY'
import os, signal, subprocess, sys, time
innmf, points, out = sys.argv[1:]
metrics = f"{out}/metrics.jsonl"
run = subprocess.Popen([innmf, "train", points, "-o", f"{out}/model.h5", "--rank", "3", "--hidden", "16",
                        "--epochs", "1000000", "--metrics", metrics, "-q"], stderr=subprocess.PIPE, text=True)
deadline = time.time() + 60
while time.time() < deadline:
    if os.path.exists(metrics) and sum(1 for _ in open(metrics)) >= 5:
        break
    time.sleep(0.1)
run.send_signal(signal.SIGINT)
_, stderr = run.communicate(timeout=60)
assert run.returncode == 5, f"exit code {run.returncode} after Ctrl-C, expected 5: {stderr}"
assert "stopped by a signal after epoch" in stderr, stderr
assert os.path.exists(f"{out}/model.h5.checkpoint.h5"), "no checkpoint after Ctrl-C"
assert not os.path.exists(f"{out}/model.h5"), "a model file was written"
leftovers = [name for name in os.listdir(out) if ".tmp-" in name]
assert not leftovers, f"temporary files left behind: {leftovers}"
print("OK: Ctrl-C stopped training after an epoch with a checkpoint")
PY
