#!/usr/bin/env bash
# `--config FILE` (TOML) of `innmf features`:
#
#   check_config.sh INNMF PYTHON AUDIO CONFIG OUTDIR
#
# CONFIG must set n_fft = 512 and hop = 128 at top level and hop = 64 in its [features] table.
# Checks with `innmf info --json` that
#   1. `features --config CONFIG` uses n_fft 512 and hop 64 (the subcommand's table wins);
#   2. `features --config CONFIG --hop 32` uses n_fft 512 and hop 32 (the command line wins).
set -u
if [[ $# -ne 5 ]]; then
  echo "usage: check_config.sh INNMF PYTHON AUDIO CONFIG OUTDIR" >&2
  exit 1
fi
innmf=$1
python=$2
audio=$3
config=$4
outdir=$5
rm -rf -- "$outdir"
mkdir -p -- "$outdir"

failures=0
# check NAME EXPECTED_N_FFT EXPECTED_HOP FEATURES-ARGS...
check() {
  local name=$1 want_n_fft=$2 want_hop=$3
  shift 3
  local points="$outdir/$name.h5"
  timeout --kill-after=10 60 "$innmf" features "$audio" --config "$config" "$@" -o "$points" -q
  local status=$?
  if [[ $status -ne 0 ]]; then
    echo "FAIL ($name): innmf features --config $config $* exited with $status"
    failures=$((failures + 1))
    return
  fi
  local json
  json=$(timeout --kill-after=10 60 "$innmf" info --json "$points")
  status=$?
  if [[ $status -ne 0 ]]; then
    echo "FAIL ($name): innmf info --json $points exited with $status"
    failures=$((failures + 1))
    return
  fi
  local got
  got=$("$python" -c '
import json, sys
text = sys.stdin.read()
# One object per file; take the first.
info = json.JSONDecoder().raw_decode(text.lstrip())[0]
r = info["representation"]
print(r["n_fft"], r["hop"])
' <<<"$json")
  status=$?
  if [[ $status -ne 0 ]]; then
    echo "FAIL ($name): cannot read representation.n_fft/hop from innmf info --json:"
    echo "$json"
    failures=$((failures + 1))
    return
  fi
  if [[ "$got" != "$want_n_fft $want_hop" ]]; then
    echo "FAIL ($name): n_fft hop = $got, expected $want_n_fft $want_hop (config: $config, args: $*)"
    failures=$((failures + 1))
    return
  fi
  echo "ok ($name): n_fft $want_n_fft, hop $want_hop"
}

check config_only 512 64
check command_line_wins 512 32 --hop 32

if [[ $failures -ne 0 ]]; then
  echo "---- $config ----"
  cat "$config"
  exit 1
fi
echo "OK: --config tables and command-line precedence"
