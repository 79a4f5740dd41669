# Sourced by every bench script (directly, or through packages.sh): the environment benchmarks
# run in.
# shellcheck shell=bash
#
# Benchmarks run on one machine, which needs no munge authentication between MPI processes;
# where munge is installed (with slurm-wlm) but not running, PMIx would retry it for ~2.3 s at
# every innmf start (README, "Running under MPI"): the separation experiment starts innmf
# ~1000 times. A value the user set is kept.
export PMIX_MCA_psec="${PMIX_MCA_psec:-native}"
