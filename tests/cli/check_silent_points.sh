#!/usr/bin/env bash
# Digital silence: `innmf features` writes the clip but warns that every magnitude is 0.
#
#   check_silent_points.sh INNMF SILENT_WAV OUTDIR   → OUTDIR/silent.h5
set -euo pipefail
innmf=$1 silent=$2 out=$3
rm -rf "$out" && mkdir -p "$out"
"$innmf" features "$silent" -o "$out/silent.h5" --n-fft 256 --hop 128 -q 2> "$out/features.log"
grep -q "silent.wav: every magnitude is 0 (digital silence)" "$out/features.log" ||
  { cat "$out/features.log"; echo "the silent clip is not reported"; exit 1; }
[[ -f $out/silent.h5 ]] || { echo "no point file written"; exit 1; }
echo "OK: silent.wav warned about, its point file written"
