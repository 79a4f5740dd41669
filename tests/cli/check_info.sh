#!/usr/bin/env bash
# Happy path of `innmf features` + `innmf info`:
#
#   check_info.sh INNMF POINTS.h5 [FEATURES-ARGS...]
#
# With FEATURES-ARGS, first runs `INNMF features FEATURES-ARGS -o POINTS.h5 -q` (exit 0, the
# file must then exist and no temporary `.*.tmp-*` may be left beside it). Then runs
# `INNMF info POINTS.h5` and checks exit 0 and that the summary has `points` and `clips` lines
# with a positive count.
set -u
if [[ $# -lt 2 ]]; then
  echo "usage: check_info.sh INNMF POINTS.h5 [FEATURES-ARGS...]" >&2
  exit 1
fi
innmf=$1
points=$2
shift 2

fail() {
  echo "FAIL: $*"
  exit 1
}

if [[ $# -gt 0 ]]; then
  rm -f -- "$points"
  mkdir -p -- "$(dirname -- "$points")"
  timeout --kill-after=10 120 "$innmf" features "$@" -o "$points" -q
  status=$?
  [[ $status -eq 0 ]] || fail "innmf features $* -o $points exited with $status"
  [[ -f "$points" ]] || fail "innmf features exited 0 but wrote no $points"
  leftovers=$(find "$(dirname -- "$points")" -maxdepth 1 -name '.*.tmp-*')
  [[ -z "$leftovers" ]] || fail "temporary files left behind: $leftovers"
fi

summary=$(timeout --kill-after=10 60 "$innmf" info "$points" 2>&1)
status=$?
echo "$summary"
[[ $status -eq 0 ]] || fail "innmf info $points exited with $status"
grep -Eq '^points[[:space:]]+[1-9][0-9]*' <<<"$summary" \
  || fail "innmf info printed no 'points <count>' line"
grep -Eq '^clips[[:space:]]+[1-9][0-9]*' <<<"$summary" \
  || fail "innmf info printed no 'clips <count>' line"
echo "OK: innmf info $points"
