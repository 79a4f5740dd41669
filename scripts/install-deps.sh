#!/usr/bin/env bash
# Installs the Debian packages innmf needs to build, test and run its examples.
# Skips apt entirely when everything is already installed. Needs root (or sudo).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git
  # libraries (DESIGN.md, brief: required stack)
  libopenmpi-dev openmpi-bin libeigen3-dev libhdf5-dev libfftw3-dev libsndfile1-dev
  libsoxr-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev libtomlplusplus-dev
  libgtest-dev
  # tests and scripts: h5py reads our files in CI; sox/fluidsynth/speech regenerate data/
  python3 python3-h5py python3-numpy python3-matplotlib sox
  # tests: innmf eval against mir_eval's bss_eval_sources
  python3-mir-eval
  # tests of the job scripts under a real single-node Slurm (tests/jobs)
  slurm-wlm
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
