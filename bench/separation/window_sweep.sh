#!/usr/bin/env bash
# Where classic NMF separates best: the window size of the paper's experiment (run.sh) is a
# choice, and this sweep informs it. Classic NMF (rank 20, KL, hop N/2) is trained and separates
# at each STFT size from 250 to 3000 samples (31–375 ms at 8 kHz), on validate.sh's held-out
# voices (3 pairs) and on run.sh's test voices (10 pairs), three seeds each; the same speech,
# mixtures and scoring as paper_experiment.py. Prints a table of SDR/SIR/SAR per size and set of
# voices and writes bench/out/window_sweep.json.
#
#   bench/separation/window_sweep.sh [INNMF_BINARY]
#
# ~10 minutes on 2 cores.
set -euo pipefail
default_epochs=1  # unused: this sweep trains no iN-NMF model
bench_packages=(sox asterisk-core-sounds-en-wav asterisk-core-sounds-fr-wav asterisk-core-sounds-it-wav
  asterisk-core-sounds-ru-wav asterisk-prompt-it-menardi-wav
  asterisk-prompt-es-co asterisk-prompt-fr-armelle asterisk-core-sounds-es-wav)
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec /usr/bin/python3 "$script_dir/window_sweep.py" --innmf "$binary" \
  --work "$repo_dir/bench/out/window_sweep" --json "$repo_dir/bench/out/window_sweep.json" \
  --command "bench/separation/window_sweep.sh $*"
