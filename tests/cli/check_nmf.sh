#!/usr/bin/env bash
# Happy path of classic NMF on real speech: `innmf nmf` → `innmf reconstruct` → `innmf info`.
#
#   check_nmf.sh INNMF PYTHON OUTDIR TRAIN.wav TEST.wav MIN_SDR_DB [MPIRUN...]
#
# 1. `INNMF nmf TRAIN.wav -o OUTDIR/model.h5 --rank 20 --n-fft 1000 --hop 500 --iters 100
#    --metrics OUTDIR/nmf.jsonl`: exit 0, the model exists, no temporary file is left, the
#    metrics hold iterations 0..100 and their loss never rises (1e-6 relative slack for float32).
#    Again with --tol 0 and with --tol 0 --loss-every 7: the same W and H bits; the metrics hold
#    the loss at 0, 7, …, 98, 100 only (null elsewhere).
# 2. `INNMF reconstruct OUTDIR/model.h5 TEST.wav --n-fft 1000 --hop 500 --metrics
#    OUTDIR/reconstruct.jsonl`: exit 0; the JSON line on stdout is the file's; kl is finite and
#    positive; sdr_freq is above MIN_SDR_DB.
# 3. `INNMF info OUTDIR/model.h5` names the kind, the rank and the 501 bins; `INNMF export`
#    writes its W and H unchanged (H transposed to the export's rows of frames).
# 4. With MPIRUN (e.g. `mpirun -np 2 --oversubscribe`), step 1 again under it: the model's W, H
#    and loss curve must be the same bits as on one rank (rank 0 computes, the others wait).
set -u
if [[ $# -lt 6 ]]; then
  echo "usage: check_nmf.sh INNMF PYTHON OUTDIR TRAIN.wav TEST.wav MIN_SDR_DB [MPIRUN...]" >&2
  exit 1
fi
innmf=$1 python=$2 out=$3 train=$4 test=$5 min_sdr=$6
shift 6
mpirun=("$@")

fail() {
  echo "FAIL: $*"
  exit 1
}

rm -rf -- "$out"
mkdir -p -- "$out"
model=$out/model.h5
stft=(--n-fft 1000 --hop 500)

timeout --kill-after=10 120 "$innmf" nmf "$train" -o "$model" --rank 20 "${stft[@]}" --iters 100 \
  --metrics "$out/nmf.jsonl" -q
status=$?
[[ $status -eq 0 ]] || fail "innmf nmf exited with $status"
[[ -f $model ]] || fail "innmf nmf exited 0 but wrote no $model"
leftovers=$(find "$out" -maxdepth 1 -name '.*.tmp-*')
[[ -z $leftovers ]] || fail "temporary files left behind: $leftovers"
"$python" - "$out/nmf.jsonl" <<'PY' || fail "nmf metrics"
import json, math, sys
lines = [json.loads(line) for line in open(sys.argv[1])]
assert [l["iter"] for l in lines] == list(range(101)), f"iterations {[l['iter'] for l in lines][:5]}…"
for l in lines:
    assert math.isfinite(l["loss"]) and l["seconds"] >= 0, l
for a, b in zip(lines, lines[1:]):
    assert b["loss"] <= a["loss"] * (1 + 1e-6), f"loss rose at iteration {b['iter']}: {a['loss']} -> {b['loss']}"
print(f"nmf: loss {lines[0]['loss']:.4g} -> {lines[-1]['loss']:.4g} in 100 updates")
PY

# --loss-every 7: the same factors (the loss does not steer MU updates with --tol 0), the loss
# at 0, 7, 14, …, 98 and the last update only (null in the metrics elsewhere).
timeout --kill-after=10 120 "$innmf" nmf "$train" -o "$out/model_every.h5" --rank 20 "${stft[@]}" \
  --iters 100 --tol 0 --loss-every 7 --metrics "$out/nmf_every.jsonl" -q
status=$?
[[ $status -eq 0 ]] || fail "innmf nmf --loss-every 7 exited with $status"
timeout --kill-after=10 120 "$innmf" nmf "$train" -o "$out/model_tol0.h5" --rank 20 "${stft[@]}" \
  --iters 100 --tol 0 -q || fail "innmf nmf --tol 0 exited with $?"
"$python" - "$out/nmf_every.jsonl" "$out/model_every.h5" "$out/model_tol0.h5" <<'PY' || fail "--loss-every"
import json, math, sys
import h5py, numpy as np
lines = [json.loads(line) for line in open(sys.argv[1])]
assert [l["iter"] for l in lines] == list(range(101)), "iterations"
computed = [l["iter"] for l in lines if l["loss"] is not None]
assert computed == list(range(0, 100, 7)) + [100], f"loss computed at {computed}"
assert all(math.isfinite(lines[i]["loss"]) for i in computed)
with h5py.File(sys.argv[2]) as a, h5py.File(sys.argv[3]) as b:
    for name in ("templates/W", "activations/H"):
        assert np.array_equal(a[name][()], b[name][()]), f"{name} depends on --loss-every"
    assert a["training/loss"][-1] == b["training/loss"][-1], "final loss differs"
print(f"--loss-every 7: loss at {len(computed)} of 101 states, same factors as --loss-every 1")
PY

result=$(timeout --kill-after=10 120 "$innmf" reconstruct "$model" "$test" "${stft[@]}" \
  --metrics "$out/reconstruct.jsonl" -q)
status=$?
[[ $status -eq 0 ]] || fail "innmf reconstruct exited with $status"
[[ $result == "$(cat "$out/reconstruct.jsonl")" ]] || fail "stdout and --metrics differ: $result"
"$python" - "$result" "$min_sdr" <<'PY' || fail "reconstruct metrics: $result"
import json, math, sys
r = json.loads(sys.argv[1])
floor = float(sys.argv[2])
assert math.isfinite(r["kl"]) and r["kl"] > 0, f"kl {r['kl']}"
assert r["sdr_freq"] > floor, f"sdr_freq {r['sdr_freq']:.2f} dB, expected above {floor} dB"
assert r["n_fft"] == 1000 and r["hop"] == 500 and r["iters"] >= 1, r
print(f"reconstruct: kl {r['kl']:.4g}, sdr_freq {r['sdr_freq']:.2f} dB (floor {floor} dB), {r['iters']} updates")
PY

summary=$(timeout --kill-after=10 60 "$innmf" info "$model" 2>&1)
status=$?
[[ $status -eq 0 ]] || fail "innmf info exited with $status: $summary"
for expected in "kind 'nmf'" "^rank +20$" "501 bins"; do
  grep -Eq -- "$expected" <<<"$summary" || fail "innmf info printed no '$expected':
$summary"
done

# export: the classic model's W and H as they are (one clip: the one training file).
timeout --kill-after=10 60 "$innmf" export "$model" -o "$out/export.h5" -q || fail "innmf export of a classic model failed"
"$python" - "$model" "$out/export.h5" <<'PY' || fail "the export of the classic model differs from it"
import sys
import h5py, numpy as np
with h5py.File(sys.argv[1]) as m, h5py.File(sys.argv[2]) as e:
    assert e.attrs["format"] == "innmf.export" and e.attrs["activations"] == "frames", dict(e.attrs)
    assert np.array_equal(e["templates/W"][()], m["templates/W"][()]), "W"
    assert np.allclose(e["templates/freqs"][()], m["templates/freqs"][()]), "freqs"
    assert np.array_equal(e["activations/H"][()], m["activations/H"][()].T), "H"
    times = m["activations/times"][()]
    assert np.allclose(e["activations/times"][()], times - times[0]), "times"
    assert list(e["activations/count"][()]) == [times.size], "one clip of every frame"
PY
if [[ ${#mpirun[@]} -gt 0 ]]; then
  timeout --kill-after=10 120 "${mpirun[@]}" "$innmf" nmf "$train" -o "$out/model_mpi.h5" --rank 20 \
    "${stft[@]}" --iters 100 -q
  status=$?
  [[ $status -eq 0 ]] || fail "${mpirun[*]} innmf nmf exited with $status"
  "$python" - "$model" "$out/model_mpi.h5" <<'PY' || fail "the model differs under ${mpirun[*]}"
import sys
import h5py, numpy as np
with h5py.File(sys.argv[1]) as a, h5py.File(sys.argv[2]) as b:
    for name in ("templates/W", "activations/H", "training/loss"):
        assert np.array_equal(a[name][()], b[name][()]), f"{name} differs"
print("the same model under MPI")
PY
fi
echo "OK: innmf nmf / reconstruct / info on $(basename "$train") and $(basename "$test")"
