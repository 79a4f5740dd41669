#!/usr/bin/env bash
# Training at scale: `innmf train` (the paper's model: rank 20, per-component templates h 64,
# 4 layers, grid activations, KL, Rprop) on one hour of real 8 kHz speech (STFT 1000/500), in
# 1 rank × 1 thread, 1 rank × 2 threads and 2 ranks × 1 thread (`mpirun -np 2`).
#
#   bench/scale/run.sh [INNMF_BINARY] [REPEATS] [EPOCHS]
#
# INNMF_BINARY defaults to build/drivers/innmf of this checkout, REPEATS to 3 (configurations
# interleaved within each repeat; best and median reported), EPOCHS to 20 (the median epoch
# time is taken over epochs 3..EPOCHS). About 4–6 minutes with the defaults on the shared
# 2-core machine (27 runs). The corpus (12 × 300 s of the Asterisk es + ru prompts at 8 kHz,
# looped to 3600 s) and its point file are built once into bench/out/scale/ (~10 s).
# Every run is wrapped in /usr/bin/time -f '%M %U %S' (peak RSS and CPU seconds per process);
# the same command on a 1-second point set gives the fixed cost of the program, subtracted to
# get bytes per point; the same command with --epochs 2 gives CPU seconds per epoch.
# Writes bench/out/scale.json and the "Training at scale" section of bench/RESULTS.md.
set -euo pipefail
# shellcheck source=../packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/../packages.sh"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_dir=$(cd "$script_dir/.." && pwd)
repo_dir=$(cd "$bench_dir/.." && pwd)
binary=${1:-$repo_dir/build/drivers/innmf}
repeats=${2:-3}
epochs=${3:-20}
[[ $repeats =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: REPEATS must be a positive integer, got '$repeats'" >&2; exit 2; }
[[ $epochs =~ ^[1-9][0-9]*$ ]] && ((epochs >= 4)) ||
  { echo "run.sh: EPOCHS must be an integer ≥ 4, got '$epochs'" >&2; exit 2; }
[[ -x $binary ]] || { echo "run.sh: no innmf binary at $binary (build it, or pass its path)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "run.sh: /usr/bin/time is required (apt-get install time)" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "run.sh: mpirun is required" >&2; exit 2; }
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")

out_dir=$bench_dir/out
work_dir=$out_dir/scale
corpus_dir=$work_dir/corpus
mkdir -p "$work_dir"

N_FFT=1000
HOP=500
RATE=8000
CORPUS_SECONDS=3600
FILE_SECONDS=300
N_FILES=$((CORPUS_SECONDS / FILE_SECONDS))

# ---------------------------------------------------------------------------------------------
# 1. Corpus: the es + ru Asterisk prompts (8 kHz, ~56 min) in sorted path order, looped to
#    3600 s, cut into 12 files of 300 s (8 kHz mono 16-bit); then the point file. Cached.
#    The tiny set (fixed-cost baseline for memory): the first second, as 2 files of 0.5 s so
#    that each of 2 ranks holds one clip.
# ---------------------------------------------------------------------------------------------
packages=(asterisk-core-sounds-es-wav asterisk-core-sounds-ru-wav)
corpus_file() { printf '%s/speech_%02d.wav' "$corpus_dir" "$1"; }
points=$work_dir/corpus.h5
tiny_points=$work_dir/tiny.h5

corpus_ready() {
  local i
  [[ -f $corpus_dir/.complete && -s $points && -s $tiny_points ]] || return 1
  for ((i = 0; i < N_FILES; ++i)); do [[ -s $(corpus_file "$i") ]] || return 1; done
}

make_corpus() {
  ensure_packages "${packages[@]}"
  command -v sox >/dev/null || { echo "run.sh: sox is required (apt-get install sox)" >&2; exit 2; }

  rm -rf "$corpus_dir" "$points" "$tiny_points"
  mkdir -p "$corpus_dir"
  local list=$corpus_dir/sources.txt
  dpkg -L "${packages[@]}" | grep '\.wav$' | LC_ALL=C sort >"$list"
  local n_sources source_seconds passes
  n_sources=$(wc -l <"$list")
  ((n_sources > 0)) || { echo "run.sh: the packages hold no .wav files" >&2; exit 1; }
  source_seconds=$(xargs -a "$list" -d '\n' soxi -D | awk '{s += $1} END {printf "%.1f", s}')
  passes=$(awk -v s="$source_seconds" -v t="$CORPUS_SECONDS" 'BEGIN {print int(t / s) + 1}')
  echo "corpus: $n_sources prompts, ${source_seconds} s at 8 kHz, $passes passes → ${CORPUS_SECONDS} s" >&2
  local inputs=() pass sources
  mapfile -t sources <"$list"
  for ((pass = 0; pass < passes; ++pass)); do inputs+=("${sources[@]}"); done
  local hour=$work_dir/hour_8k.wav
  # All prompts are 8 kHz mono 16-bit already; `rate` is a no-op safeguard.
  sox -G "${inputs[@]}" -b 16 -c 1 "$hour" rate -h "$RATE" trim 0 "$CORPUS_SECONDS"
  local i per_file=$((FILE_SECONDS * RATE))
  for ((i = 0; i < N_FILES; ++i)); do
    sox "$hour" "$(corpus_file "$i")" trim "$((i * per_file))s" "${per_file}s"
  done
  sox "$hour" "$corpus_dir/tiny_0.wav" trim 0s "$((RATE / 2))s"
  sox "$hour" "$corpus_dir/tiny_1.wav" trim "$((RATE / 2))s" "$((RATE / 2))s"
  rm -f "$hour"
  local files=()
  for ((i = 0; i < N_FILES; ++i)); do files+=("$(corpus_file "$i")"); done
  echo "features: ${#files[@]} files → $points (--n-fft $N_FFT --hop $HOP) ..." >&2
  "$binary" features "${files[@]}" -o "$points" --n-fft "$N_FFT" --hop "$HOP" -q
  "$binary" features "$corpus_dir/tiny_0.wav" "$corpus_dir/tiny_1.wav" -o "$tiny_points" \
    --n-fft "$N_FFT" --hop "$HOP" -q
  printf 'sources=%s\nsource_seconds=%s\npasses=%s\n' "$n_sources" "$source_seconds" "$passes" \
    >"$corpus_dir/.complete"
}

corpus_ready || make_corpus
corpus=()
for ((i = 0; i < N_FILES; ++i)); do corpus+=("$(corpus_file "$i")"); done
corpus_info="$(soxi -c "${corpus[0]}") channel, $(soxi -r "${corpus[0]}") Hz, $(soxi -b "${corpus[0]}")-bit WAV"
corpus_total=$(soxi -D "${corpus[@]}" | awk '{s += $1} END {printf "%.1f", s}')
"$binary" info "$points" --json -q >"$work_dir/corpus_info.json"
"$binary" info "$tiny_points" --json -q >"$work_dir/tiny_info.json"
echo "corpus: ${#corpus[@]} files, ${corpus_total} s (${corpus_info}) → $points" >&2

# ---------------------------------------------------------------------------------------------
# 2. Runs: each configuration on the hour (EPOCHS epochs, with --metrics and -v), on the hour
#    for 2 epochs (its CPU time is the start-up's: the difference gives CPU seconds per epoch,
#    which the other jobs on a shared machine do not inflate) and on the tiny set (RSS
#    baseline), interleaved within each repeat so that machine noise spreads over all of them.
# ---------------------------------------------------------------------------------------------
configs=("1x1 1 1" "1x2 1 2" "2x1 2 1")  # name ranks threads
runs_file=$work_dir/runs.tsv
time_format='%M %U %S'  # /usr/bin/time: peak RSS [KB], user and system CPU [s] of each process
log_dir=$work_dir/logs
rm -rf "$log_dir"
mkdir -p "$log_dir"
: >"$runs_file"

run_once() {  # name ranks threads dataset(hour|hour2|tiny) repeat
  local name=$1 ranks=$2 threads=$3 dataset=$4 rep=$5
  local tag=${name}_${dataset}_r${rep}
  local log=$log_dir/$tag.log metrics=$log_dir/$tag.metrics.jsonl model=$work_dir/model_$tag.h5
  local input=$points n_epochs=$epochs
  [[ $dataset == tiny ]] && input=$tiny_points
  [[ $dataset == hour2 ]] && n_epochs=2
  rm -f "$log_dir/$tag".rss.*
  local train=("$binary" train "$input" -o "$model" --epochs "$n_epochs" --metrics "$metrics"
               --threads "$threads" -v)
  local cmd=()
  if ((ranks > 1)); then
    # One RSS file per rank: a shell names it after the rank Open MPI gives it, then execs time.
    cmd=(env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
         mpirun -np "$ranks" --bind-to none --oversubscribe -x "OMP_NUM_THREADS=$threads"
         sh -c 'f=$1; shift; exec /usr/bin/time -f "$f" -o "$0.${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-0}}" "$@"'
         "$log_dir/$tag.rss" "$time_format" "${train[@]}")
  else
    cmd=(/usr/bin/time -f "$time_format" -o "$log_dir/$tag.rss.0" "${train[@]}")
  fi
  local t0 t1
  t0=$(date +%s.%N)
  if ! OMP_NUM_THREADS=$threads "${cmd[@]}" >"$log" 2>&1; then
    echo "run.sh: $tag failed; log: $log" >&2
    cat "$log" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  rm -f "$model"
  local rss=() cpu=() r line
  for ((r = 0; r < ranks; ++r)); do
    line=$(tail -n 1 "$log_dir/$tag.rss.$r")  # peak RSS [KB], user [s], system [s]
    rss+=("$(awk '{print $1}' <<<"$line")")
    cpu+=("$(awk '{printf "%.2f", $2 + $3}' <<<"$line")")
  done
  local wall
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$ranks" "$threads" "$dataset" "$rep" \
    "$wall" "$(IFS=,; echo "${rss[*]}")" "$(IFS=,; echo "${cpu[*]}")" "$log" "$metrics" \
    "$(cut -d' ' -f1 /proc/loadavg)" >>"$runs_file"
  printf '  %-3s %-4s run %d: %7.2f s wall, peak RSS %s KB\n' "$name" "$dataset" "$rep" "$wall" \
    "$(IFS=/; echo "${rss[*]}")" >&2
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "running ${#configs[@]} configs × $repeats repeats ($epochs and 2 epochs on the hour, $epochs on the 1-s set) ..." >&2
for ((rep = 1; rep <= repeats; ++rep)); do
  for config in "${configs[@]}"; do
    run_once $config hour "$rep"
    run_once $config hour2 "$rep"
    run_once $config tiny "$rep"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# 3. Table, JSON, verdicts, RESULTS.md.
# ---------------------------------------------------------------------------------------------
commit=$(git -C "$repo_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo_dir" status --porcelain --untracked-files=no -- src include drivers 2>/dev/null | head -1 || true)
[[ -n $dirty ]] && commit="$commit (+ uncommitted changes in src/include/drivers)"
cpu_model=$(lscpu | awk -F: '/^Model name/ {gsub(/^[ \t]+/, "", $2); print $2; exit}')
command_line="bench/scale/run.sh${1:+ ${1#"$repo_dir"/}}${2:+ $2}${3:+ $3}"

BENCH_RUNS=$runs_file BENCH_JSON=$out_dir/scale.json BENCH_RESULTS=$bench_dir/RESULTS.md \
BENCH_NPROC=$(nproc) BENCH_CPU=$cpu_model BENCH_DATE=$(date -u +%F) \
BENCH_DATETIME=$(date -u +%FT%TZ) BENCH_COMMIT=$commit BENCH_BINARY=$binary \
BENCH_COMMAND=$command_line BENCH_REPEATS=$repeats BENCH_EPOCHS=$epochs \
BENCH_AUDIO_SECONDS=$corpus_total BENCH_FILES=${#corpus[@]} BENCH_CORPUS_INFO=$corpus_info \
BENCH_N_FFT=$N_FFT BENCH_HOP=$HOP BENCH_CORPUS_JSON=$work_dir/corpus_info.json \
BENCH_TINY_JSON=$work_dir/tiny_info.json BENCH_LOAD="$load_before → $load_after" \
python3 "$script_dir/report.py"
