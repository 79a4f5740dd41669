# Sourced by the bench scripts: ensure_packages PKG... installs the Debian packages that are not
# installed yet (apt-get update first, only when something is missing).
#
# Benchmarks run on one machine, which needs no munge authentication between MPI processes;
# where munge is installed (with slurm-wlm) but not running, PMIx would retry it for ~2.3 s at
# every innmf start (README, "Running under MPI"): the separation experiment starts innmf
# ~1000 times.
export PMIX_MCA_psec="${PMIX_MCA_psec:-native}"
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing ${missing[*]} ..." >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}
