#!/usr/bin/env bash
# Happy path of `innmf features` + `innmf info`:
#
#   check_info.sh INNMF POINTS.h5 [FEATURES-ARGS...]
#
# With FEATURES-ARGS, first runs `INNMF features FEATURES-ARGS -o POINTS.h5 -q` (exit 0, the
# file must then exist and no temporary `.*.tmp-*` may be left beside it). Then runs
# `INNMF info POINTS.h5` and checks exit 0 and that the summary has `points` and `clips` lines
# with a positive count (EXPECT_CLIPS=N in the environment: exactly N clips), and that an STFT's
# window duration matches its size and rate.
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
if [[ -n ${EXPECT_CLIPS:-} ]]; then  # (set by tests that know how many clips the file holds)
  grep -Eq "^clips[[:space:]]+$EXPECT_CLIPS " <<<"$summary" || fail "expected $EXPECT_CLIPS clips"
fi
# An STFT's window is given in samples and in ms at the representation's own rate, which is
# the file's sample rate.
stft_line=$(grep -E '^representation[[:space:]]+stft' <<<"$summary")
if [[ -n "$stft_line" ]]; then
  [[ $stft_line =~ n_fft\ ([0-9]+)\ \(([0-9.]+)\ ms\ at\ ([0-9.]+)\ Hz\) ]] \
    || fail "representation line without 'n_fft N (D ms at R Hz)': $stft_line"
  n_fft=${BASH_REMATCH[1]} ms=${BASH_REMATCH[2]} rate=${BASH_REMATCH[3]}
  awk -v n="$n_fft" -v ms="$ms" -v r="$rate" 'BEGIN { d = 1000 * n / r - ms; exit !(d < 0.051 && d > -0.051) }' \
    || fail "$n_fft samples at $rate Hz are not $ms ms"
  grep -Eq "^sample rate[[:space:]]+$rate Hz" <<<"$summary" || fail "the STFT's rate $rate Hz is not the file's"
fi
echo "OK: innmf info $points"
