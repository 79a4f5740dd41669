#!/usr/bin/env bash
# `innmf features` writes the same point file whatever the number of MPI ranks:
#
#   check_mpi_identical.sh INNMF PYTHON OUTDIR "RANKS..." -- MPIEXEC NP-FLAG [MPI-FLAGS...] \
#                          -- FEATURES-ARGS...
#
# Runs `INNMF features FEATURES-ARGS -o points.h5 -q` once plainly (1 rank) in OUTDIR/np1 and
# then as `MPIEXEC NP-FLAG R MPI-FLAGS... INNMF features …` in OUTDIR/np<R> for each R of RANKS.
# Every run writes to the same relative name from its own folder, so the resolved configuration
# stored in the files (which names the output) is the same too; input paths must be absolute.
# Then compares each file with the 1-rank one: h5diff if installed, and always compare_h5.py
# (PYTHON with h5py), which checks every dataset and attribute.
set -u
if [[ $# -lt 7 ]]; then
  echo "usage: check_mpi_identical.sh INNMF PYTHON OUTDIR \"RANKS...\" -- MPIEXEC NP-FLAG [MPI-FLAGS...] -- FEATURES-ARGS..." >&2
  exit 1
fi
innmf=$1
python=$2
outdir=$3
read -r -a ranks <<<"$4"
shift 4
[[ "$1" == "--" ]] || { echo "check_mpi_identical.sh: expected -- before MPIEXEC" >&2; exit 1; }
shift
mpiexec=$1
np_flag=$2
shift 2
mpi_flags=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
  mpi_flags+=("$1")
  shift
done
[[ $# -gt 0 ]] || { echo "check_mpi_identical.sh: expected -- before FEATURES-ARGS" >&2; exit 1; }
shift
features_args=("$@")
here=$(cd "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

rm -rf -- "$outdir"
run() {  # run R command...
  local r=$1
  shift
  mkdir -p -- "$outdir/np$r"
  (cd "$outdir/np$r" && timeout --kill-after=10 120 "$@" features "${features_args[@]}" -o points.h5 -q)
  local status=$?
  if [[ $status -ne 0 ]]; then
    echo "FAIL: features at $r rank(s) exited with $status"
    exit 1
  fi
  [[ -f "$outdir/np$r/points.h5" ]] || { echo "FAIL: no $outdir/np$r/points.h5"; exit 1; }
  echo "ok: features at $r rank(s) → $outdir/np$r/points.h5"
}

run 1 "$innmf"
for r in "${ranks[@]}"; do
  run "$r" "$mpiexec" "$np_flag" "$r" ${mpi_flags[@]+"${mpi_flags[@]}"} "$innmf"
done

failures=0
for r in "${ranks[@]}"; do
  reference="$outdir/np1/points.h5"
  other="$outdir/np$r/points.h5"
  if command -v h5diff >/dev/null 2>&1; then
    if h5diff -r "$reference" "$other"; then
      echo "ok: h5diff finds no differences between 1 and $r ranks"
    else
      echo "FAIL: h5diff finds differences between 1 and $r ranks"
      failures=$((failures + 1))
    fi
  fi
  "$python" "$here/compare_h5.py" "$reference" "$other" || failures=$((failures + 1))
done
if [[ $failures -ne 0 ]]; then
  exit 1
fi
echo "OK: the point files at 1 and ${ranks[*]} ranks are identical"
