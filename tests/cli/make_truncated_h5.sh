#!/usr/bin/env bash
# Makes a truncated point file for the `innmf info` failure test:
#
#   make_truncated_h5.sh INNMF AUDIO OUTDIR
#
# writes OUTDIR/full.h5 with `innmf features AUDIO` and OUTDIR/truncated.h5, its first half.
set -eu
innmf=$1
audio=$2
outdir=$3
rm -rf -- "$outdir"
mkdir -p -- "$outdir"
"$innmf" features "$audio" -o "$outdir/full.h5" -q
size=$(stat -c %s "$outdir/full.h5")
head -c $((size / 2)) "$outdir/full.h5" >"$outdir/truncated.h5"
echo "OK: $outdir/truncated.h5 holds $((size / 2)) of $size bytes of $outdir/full.h5"
