# Sourced by the scripts of bench/separation after they set `default_epochs` (and, optionally,
# the array `bench_packages`): checks `[INNMF_BINARY] [EPOCHS]` (the script's arguments),
# installs `bench_packages` or else the speech packages of the speech experiments (Debian's
# Asterisk prompts: five voices) and sets script_dir, repo_dir, binary and epochs.
# shellcheck shell=bash
# shellcheck source=../packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/../packages.sh"
script_name=$(basename "${BASH_SOURCE[1]}")
script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_dir=$(cd "$script_dir/../.." && pwd)
binary=${1:-$repo_dir/build/drivers/innmf}
epochs=${2:-$default_epochs}
[[ -x $binary ]] || { echo "$script_name: no innmf binary at $binary (build it, or pass its path)" >&2; exit 2; }
[[ $epochs =~ ^[1-9][0-9]*$ ]] ||
  { echo "$script_name: EPOCHS must be a positive integer, got '$epochs'" >&2; exit 2; }

if [[ -v bench_packages ]]; then
  ensure_packages "${bench_packages[@]}"
else
  ensure_packages sox asterisk-core-sounds-en-wav asterisk-core-sounds-fr-wav asterisk-core-sounds-it-wav \
    asterisk-core-sounds-ru-wav asterisk-prompt-it-menardi-wav
fi
