#!/usr/bin/env bash
# Issue 6: separation across representations. The paper experiment's data (run.sh: five
# Asterisk voices, all 10 pairs, 20 s of training speech per voice, 0 dB mixtures of 5 s test
# prompts, 8 kHz) with iN-NMF (rank 20, p 0.5, KL, the paper's initialisation `--sine-scale 1`
# as in the recorded runs) trained per voice on five representations of
# the same training audio: stft (1000/500, as the paper experiment), cqt, wavelet, sines and a
# hybrid (stft:256 + stft:1000 + cqt); every pair separated at n_fft 1000, hop 500 (as the paper
# experiment) with `innmf separate` unchanged. Prints SDR/SIR/SAR mean ± standard deviation per
# representation, the paired difference to stft and the verdict "cqt within 1 dB SDR of stft";
# writes bench/out/separation_representations.json. Options of each representation and why:
# representations.py.
#
#   bench/separation/representations.sh [INNMF_BINARY] [EPOCHS]
#
# EPOCHS defaults to 200 (not the paper experiment's 1000) so that the 25 trainings fit in
# ~25 minutes on 2 shared cores; 1000 epochs take about five times as long.
set -euo pipefail
default_epochs=200
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec /usr/bin/python3 "$script_dir/representations.py" --innmf "$binary" --epochs "$epochs" \
  --work "$repo_dir/bench/out/separation_representations" \
  --json "$repo_dir/bench/out/separation_representations.json" \
  --command "bench/separation/representations.sh $*"
