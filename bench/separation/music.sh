#!/usr/bin/env bash
# Separation of music: five instruments of the FluidR3 General MIDI soundfont (Debian's
# fluid-soundfont-gm, MIT licence: piano, nylon guitar, violin, trumpet, flute) play random
# melodies on one scale with overlapping ranges, rendered by fluidsynth at 44.1 kHz stereo
# (music_experiment.py writes the MIDI). Per instrument: 30 s of training melody and 10 s of
# another melody for testing; per pair (all 10) a 0 dB stereo mixture of the two test signals,
# one panned left and one right. iN-NMF (rank 20, p 0.5, KL, Rprop, 1000 epochs) is trained once
# per instrument at innmf's default STFT (1024, hop 256) with the paper's initialisation
# (`--sine-scale 1`) and with `--sine-scale 4`; classic NMF is retrained at every size;
# separation at 0.5×, 1× and 2× that size (hop n_fft / 4) keeps the mixture's channels, scores
# are on mono mix-downs. Two training seeds; each pair's metrics averaged over them. Prints SDR/
# SIR/SAR per size and method and the paired differences to NMF; writes bench/out/music.json.
#
#   bench/separation/music.sh [INNMF_BINARY] [EPOCHS]
#
# ~15 minutes on 2 cores with the default 1000 epochs.
set -euo pipefail
default_epochs=1000
bench_packages=(sox fluidsynth fluid-soundfont-gm)
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
exec /usr/bin/python3 "$script_dir/music_experiment.py" --innmf "$binary" --epochs "$epochs" \
  --work "$repo_dir/bench/out/music" --json "$repo_dir/bench/out/music.json" \
  --command "bench/separation/music.sh $*"
