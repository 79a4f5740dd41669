#!/usr/bin/env bash
# The paper's separation experiment (Subramani et al. 2024, §4.2) on real speech from Debian's
# Asterisk prompt packages: five voices (en_US Allison, fr_CA June, it_IT Carlo, it_IT Menardi,
# ru_RU IvrvoiceRU) → all 10 pairs. Per voice: 20 s of training prompts and 5 s of other prompts
# for testing; per pair a 0 dB mixture of the two test signals. iN-NMF (rank 20, p 0.5, KL) is
# trained once per voice at a window of N samples (8 kHz, hop N/2) and separates at 0.5×, 0.75×,
# 1× and 1.25× N; classic NMF is retrained at every size. Two iN-NMF models: the paper's
# (innmf's defaults with the paper's initialisation, `--sine-scale 1`) and innmf's defaults
# (`--sine-scale 4`, larger initial weights before the sine layers: the scale validate.sh chooses
# on held-out voices). Both are trained at three seeds and every pair's metrics averaged over them
# (one seed's mean SDR over the 10 pairs moves by ~0.3 dB from seed to seed). A control, "NMF,
# carried from 1×": the classic NMF models of N with their templates linearly interpolated to
# each size's bins (what grid sampling does to iN-NMF's), i.e. what one training size allows any
# template set.
#
# The whole experiment runs at each training size N of SIZES (paper_experiment.py, one work
# folder and JSON record per N: bench/out/separation_nN[.json]), then training_sizes.py puts the
# sizes side by side. The window is a choice the paper's protocol leaves open, and classic NMF's
# SDR on these voices is not monotonic in it (window_sweep.sh: 1250 samples is a bump of +0.23 dB
# over 1000 and +0.09 over 1500), so one N alone can pass or fail on that bump. Prints, per N, a
# table of SDR/SIR/SAR mean ± standard deviation per size and method and the paired iN-NMF − NMF
# differences with their standard errors; then the differences and verdicts of every N; writes
# bench/out/separation.json (the side-by-side summary).
#
#   bench/separation/run.sh [INNMF_BINARY] [EPOCHS] [SIZES]   # SIZES: comma-separated, default 500,1000,1500,2000
#
# ~10 minutes per training size on a 2-core Zen 5 with the default 1000 epochs.
set -euo pipefail
default_epochs=1000
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
sizes=${3:-500,1000,1500,2000}
[[ $sizes =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
  { echo "run.sh: SIZES must be comma-separated window sizes in samples, got '$sizes'" >&2; exit 2; }
records=()
for n in ${sizes//,/ }; do
  echo "## Training size N = $n"
  /usr/bin/python3 "$script_dir/paper_experiment.py" --innmf "$binary" --epochs "$epochs" --n-fft "$n" \
    --work "$repo_dir/bench/out/separation_n$n" --json "$repo_dir/bench/out/separation_n$n.json" \
    --command "bench/separation/run.sh $*"
  records+=("$repo_dir/bench/out/separation_n$n.json")
  echo
done
echo "## All training sizes"
exec /usr/bin/python3 "$script_dir/training_sizes.py" "${records[@]}" \
  --json "$repo_dir/bench/out/separation.json" --command "bench/separation/run.sh $*"
