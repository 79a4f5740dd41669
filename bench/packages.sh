# Sourced by the bench scripts: ensure_packages PKG... installs the Debian packages that are not
# installed yet (apt-get update first, only when something is missing).
# shellcheck source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
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
