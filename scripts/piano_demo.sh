#!/usr/bin/env bash
# The piano demo of irregular T-F representations: two piano notes (data/piano/two_notes.wav,
# C4 at 0.0 s and F#4 at 1.5 s, rendered with fluidsynth; data/README.md) analysed as ONE hybrid
# point set of STFT 128 + STFT 1024 + CQT, factorised with rank 2, then plotted and checked.
#
#   scripts/piano_demo.sh [INNMF_BINARY] [OUTDIR] [--epochs N] [--seed S] [--python PY] [--no-plots]
#
# INNMF_BINARY defaults to build/drivers/innmf, OUTDIR to out/piano, --epochs to 1000, --seed to
# 0, --python to /usr/bin/python3 (needs h5py and numpy; matplotlib for the plots, which are
# skipped with a note when it is missing). Writes OUTDIR/points.h5, model.h5, export.h5,
# metrics.jsonl, checks.json and piano_points.png, piano_templates.png, piano_activations.png.
# Exits non-zero unless each note's template has its first three harmonics within a quarter
# tone and each note's activation starts within 50 ms of its note-on (scripts/plot_piano.py).
# ctest runs it as cli_piano_demo. About a minute on two cores.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
innmf=$root/build/drivers/innmf
out=$root/out/piano
epochs=1000 seed=0 python=/usr/bin/python3 plots=()
positional=0
while (($#)); do
  case $1 in
    --epochs) epochs=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --python) python=$2; shift 2 ;;
    --no-plots) plots=(--no-plots); shift ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "piano_demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) case $positional in
         0) innmf=$1 ;;
         1) out=$1 ;;
         *) echo "piano_demo.sh: too many arguments (see --help)" >&2; exit 2 ;;
       esac
       positional=$((positional + 1)); shift ;;
  esac
done
[[ -x $innmf ]] || { echo "piano_demo.sh: $innmf: no innmf executable (build first: bash scripts/build.sh)" >&2; exit 2; }
audio=$root/data/piano/two_notes.wav midi=$root/data/piano/two_notes.mid
mkdir -p "$out"
start=$SECONDS

# One hybrid point set: a short STFT (8 ms windows: sharp onsets), a long one (64 ms: resolved
# partials) and a CQT (24 bins/octave from C1 = 32.7 Hz, the default: its bins fall on the
# equal-tempered semitones and quarter tones), each part amplitude-normalised.
"$innmf" features "$audio" -o "$out/points.h5" --repr stft:128,stft:1024,cqt --bins-per-octave 24 -q
"$innmf" info "$out/points.h5" | grep -E "^(representation|points|frequencies)"

# Rank 2: one template per note. Grid activations with knots every 2 ms (the STFT 128's hop),
# Rprop from its default step; 1000 epochs (the loss has levelled off by then).
echo "training: rank 2, $epochs epochs, seed $seed"
"$innmf" train "$out/points.h5" -o "$out/model.h5" --rank 2 --epochs "$epochs" --seed "$seed" \
  --metrics "$out/metrics.jsonl" -q
"$python" -c 'import json, sys
lines = open(sys.argv[1]).read().split("\n")
losses = [json.loads(line)["loss"] for line in lines if line]
print(f"loss {losses[0]:.5g} (epoch 1) -> {losses[-1]:.5g} (epoch {len(losses)})")' "$out/metrics.jsonl"

# Templates on a 1/16 Hz grid up to 4 kHz (read at the training frequencies), activations at
# the knots.
"$innmf" export "$out/model.h5" -o "$out/export.h5" --n-freqs 64001 --fmax 4000 -q
"$python" "$root/scripts/plot_piano.py" "$out/points.h5" "$out/export.h5" "$midi" -o "$out" \
  --json "$out/checks.json" "${plots[@]}"
echo "piano demo: $((SECONDS - start)) s, outputs in $out"
