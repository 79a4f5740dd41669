#!/usr/bin/env bash
# Runs a command that must fail the way the innmf error contract says (DESIGN.md §6):
#
#   expect_failure.sh --code N --pattern REGEX [--no-file PATH]... [--fresh-dir DIR]...
#                     [--timeout SECONDS] -- command args...
#
#   --code N         the exit code the command must return (2 usage, 3 bad input data, …)
#   --pattern REGEX  extended regular expression (bash =~) the single error line must match
#   --no-file PATH   PATH must not exist after the run, and PATH's folder must hold no hidden
#                    temporary `.*.tmp-*` file; a PATH left over from an earlier run is removed
#                    before the command runs
#   --fresh-dir DIR  DIR is emptied (removed and created) before the run, so that each case
#                    looks at a folder of its own
#   --timeout S      seconds before the command counts as hung (default 60)
#
# stderr must hold exactly one line of the form `innmf[ <subcommand>]: error: <message>` once
# the following are set aside:
#   - innmf's log lines, which start with `[` (`[HH:MM:SS] info: …`; Open MPI's own
#     `[host:pid] …` lines too);
#   - blank lines;
#   - Open MPI's notices: whole blocks between lines of dashes (`-----…`), and lines that
#     start with `mpirun`, `mpiexec`, `prterun`, `Primary job` or mention MPI_ABORT.
# Anything else (a second error line, an HDF5 diagnostic stack, a stray message from a library
# or from another rank) is a failure: users must see one clear line.
#
# Prints one OK line on success; on failure, a diagnosis with the full stderr and exit 1.
set -u

code=""
pattern=""
timeout_seconds=60
no_files=()
fresh_dirs=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --code) code="$2"; shift 2 ;;
    --pattern) pattern="$2"; shift 2 ;;
    --no-file) no_files+=("$2"); shift 2 ;;
    --fresh-dir) fresh_dirs+=("$2"); shift 2 ;;
    --timeout) timeout_seconds="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "expect_failure.sh: unknown argument '$1' (options before --, command after)" >&2
       exit 1 ;;
  esac
done
if [[ -z "$code" || -z "$pattern" || $# -eq 0 ]]; then
  echo "usage: expect_failure.sh --code N --pattern REGEX [--no-file PATH]... -- command args..." >&2
  exit 1
fi

for dir in ${fresh_dirs[@]+"${fresh_dirs[@]}"}; do
  rm -rf -- "$dir" && mkdir -p -- "$dir" || { echo "FAIL: cannot prepare folder $dir"; exit 1; }
done
for path in ${no_files[@]+"${no_files[@]}"}; do
  rm -f -- "$path"
done

workdir=$(mktemp -d "${TMPDIR:-/tmp}/innmf-expect-failure.XXXXXX") || exit 1
trap 'rm -rf -- "$workdir"' EXIT
stdout_file="$workdir/stdout"
stderr_file="$workdir/stderr"

command_text=$(printf '%q ' "$@")
timeout --kill-after=10 "$timeout_seconds" "$@" >"$stdout_file" 2>"$stderr_file" </dev/null
status=$?

problems=()
if [[ $status -eq 124 || $status -eq 137 ]] && [[ "$code" != 124 && "$code" != 137 ]]; then
  problems+=("timed out after ${timeout_seconds} s (exit $status): the command hung (an MPI rank waiting for the others?)")
elif [[ $status -ne $code ]]; then
  problems+=("exit code $status, expected $code")
fi

# The lines of stderr that are neither log lines nor Open MPI's own notices.
contract_line='^innmf( [a-z][a-z-]*)?: error: '
remaining=()
in_mpi_block=0
while IFS= read -r line || [[ -n "$line" ]]; do
  line=${line%$'\r'}
  if [[ "$line" =~ ^-{10,}$ ]]; then
    in_mpi_block=$((1 - in_mpi_block))
    continue
  fi
  # An innmf error line is never set aside, even inside an Open MPI block.
  if [[ "$line" =~ $contract_line ]]; then
    remaining+=("$line")
    continue
  fi
  [[ $in_mpi_block -eq 1 ]] && continue
  [[ "$line" =~ ^[[:space:]]*$ ]] && continue
  [[ "$line" == "["* ]] && continue
  [[ "$line" =~ ^(mpirun|mpiexec|prterun|prte|Primary\ job) ]] && continue
  [[ "$line" == *MPI_ABORT* ]] && continue
  remaining+=("$line")
done <"$stderr_file"

error_lines=0
for line in ${remaining[@]+"${remaining[@]}"}; do
  [[ "$line" == *"error:"* ]] && error_lines=$((error_lines + 1))
done
if [[ ${#remaining[@]} -eq 0 ]]; then
  problems+=("no 'innmf …: error: …' line on stderr")
else
  if [[ $error_lines -ne 1 ]]; then
    problems+=("$error_lines lines with 'error:' on stderr, expected exactly one")
  fi
  for line in "${remaining[@]}"; do
    if [[ "$line" != *"error:"* ]]; then
      problems+=("unexpected line on stderr (neither a log line nor the error line): $line")
    elif ! [[ "$line" =~ $contract_line ]]; then
      problems+=("error line is not of the form 'innmf <subcommand>: error: <message>': $line")
    elif ! [[ "$line" =~ $pattern ]]; then
      problems+=("error line does not match /$pattern/: $line")
    fi
  done
fi

for path in ${no_files[@]+"${no_files[@]}"}; do
  if [[ -e "$path" || -L "$path" ]]; then
    problems+=("output $path exists after the failure (it must not be left behind)")
  fi
  folder=$(dirname -- "$path")
  if [[ -d "$folder" ]]; then
    while IFS= read -r -d '' leftover; do
      problems+=("temporary file $leftover left behind")
    done < <(find "$folder" -maxdepth 1 -name '.*.tmp-*' -print0)
  fi
done

if [[ ${#problems[@]} -eq 0 ]]; then
  first_error=""
  for line in "${remaining[@]}"; do first_error=$line; done
  echo "OK (exit $status): $first_error"
  exit 0
fi

echo "FAIL: $command_text"
for problem in "${problems[@]}"; do
  echo "  - $problem"
done
echo "---- stderr ($(wc -l <"$stderr_file") lines) ----"
cat "$stderr_file"
if [[ -s "$stdout_file" ]]; then
  echo "---- stdout (first 40 lines) ----"
  head -n 40 "$stdout_file"
fi
echo "---- end ----"
exit 1
