#!/usr/bin/env bash
# Cross-resolution reconstruction (issue 3, the paper's Table 1 on our example speech):
# iN-NMF (the paper's model: `--sine-scale 1`) trained once per speaker at one STFT size N, its templates sampled at the bins of
# STFTs of 0.5×, 0.75×, 1× and 1.25× N; classic NMF retrained at every size. Both reconstruct
# the speaker's held-out test recording with the templates fixed and the activations fitted
# (`innmf reconstruct`, multiplicative updates), and the table compares the paper's KL.
#
#   bench/reconstruct/run.sh [INNMF_BINARY] [EPOCHS]
#
# INNMF_BINARY defaults to build/drivers/innmf, EPOCHS (iN-NMF training) to 1000 (the paper's).
# Uses data/speech/{es,ru}_{train,test}.wav (8 kHz), N = 1000, hop N/2, rank 20, p 0.5, KL.
# Writes bench/out/reconstruct.json and prints a Markdown table. ~3 minutes on 2 cores.
set -euo pipefail
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../env.sh
source "$script_dir/../env.sh"
repo_dir=$(cd "$script_dir/../.." && pwd)
binary=${1:-$repo_dir/build/drivers/innmf}
epochs=${2:-1000}
[[ -x $binary ]] || { echo "run.sh: no innmf binary at $binary (build it, or pass its path)" >&2; exit 2; }
[[ $epochs =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: EPOCHS must be a positive integer, got '$epochs'" >&2; exit 2; }
exec /usr/bin/python3 "$script_dir/cross_resolution.py" --innmf "$binary" --epochs "$epochs" \
  --data "$repo_dir/data/speech" --work "$repo_dir/bench/out/reconstruct" \
  --json "$repo_dir/bench/out/reconstruct.json" --command "bench/reconstruct/run.sh $*"
