#!/usr/bin/env bash
# Feature-extraction benchmark: `innmf features` on one hour of real 16 kHz speech (12 files of
# 5 min) in 1×1, 1×2 and 2×1 (ranks × threads): STFT n_fft 1024 hop 512 at deflate 0 and 4, or
# the constant-Q transform at its defaults (`--repr cqt`: 24 bins/octave from 32.7 Hz to
# Nyquist/2) at deflate 0.
#
#   bench/features/run.sh [INNMF_BINARY] [REPEATS] [stft|cqt]
#
# INNMF_BINARY defaults to build/drivers/innmf of this checkout, REPEATS to 3 (best and median
# of REPEATS runs are reported), the representation to stft. The corpus is generated once into
# bench/out/features/corpus. Writes bench/out/features.json (features_cqt.json) and the
# "Feature extraction" ("Feature extraction, CQT") section of bench/RESULTS.md.
set -euo pipefail
# shellcheck source=../packages.sh
source "$(dirname "${BASH_SOURCE[0]}")/../packages.sh"

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench_dir=$(cd "$script_dir/.." && pwd)
repo_dir=$(cd "$bench_dir/.." && pwd)
binary=${1:-$script_dir/../../build/drivers/innmf}
repeats=${2:-3}
representation=${3:-stft}
[[ $repeats =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: REPEATS must be a positive integer, got '$repeats'" >&2; exit 2; }
[[ -x $binary ]] || { echo "run.sh: no innmf binary at $binary (build it, or pass its path)" >&2; exit 2; }
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")

out_dir=$bench_dir/out
work_dir=$out_dir/features
corpus_dir=$work_dir/corpus
mkdir -p "$work_dir"

N_FFT=1024
HOP=512
CORPUS_SECONDS=3600
FILE_SECONDS=300
N_FILES=$((CORPUS_SECONDS / FILE_SECONDS))
RATE=16000
case $representation in
  stft)
    transform_args=(--n-fft "$N_FFT" --hop "$HOP")
    transform_text="\`--n-fft $N_FFT --hop $HOP\`"
    compressions=(0 4)  # 0 is the default (magnitudes stored raw)
    FLOOR_SECONDS=20
    FLOOR_TEXT="STFT features of one hour of 16 kHz audio in under 20 s on this 2-core machine"
    section="## Feature extraction (bench/features/run.sh)"
    json_name=features.json ;;
  cqt)
    transform_args=(--repr cqt)
    transform_text="\`--repr cqt\` (defaults: 24 bins/octave from 32.7 Hz to Nyquist/2, per-bin hops)"
    compressions=(0)
    FLOOR_SECONDS=60
    FLOOR_TEXT="CQT features of one hour of 16 kHz audio in under 60 s on 2 cores"
    section="## Feature extraction, CQT (bench/features/run.sh … cqt)"
    json_name=features_cqt.json ;;
  *) echo "run.sh: the representation must be stft or cqt, got '$representation'" >&2; exit 2 ;;
esac

# ---------------------------------------------------------------------------------------------
# 1. Corpus: the es + ru Asterisk prompts (8 kHz, ~56 min), looped to 3600 s, resampled to
#    16 kHz, cut into 12 files of 300 s. Cached: regenerated only if a file is missing.
# ---------------------------------------------------------------------------------------------
packages=(asterisk-core-sounds-es-wav asterisk-core-sounds-ru-wav)

corpus_ready() {
  local i
  [[ -f $corpus_dir/.complete ]] || return 1
  for ((i = 0; i < N_FILES; ++i)); do
    [[ -s $(printf '%s/speech_%02d.wav' "$corpus_dir" "$i") ]] || return 1
  done
}

make_corpus() {
  ensure_packages "${packages[@]}"
  command -v sox >/dev/null || { echo "run.sh: sox is required (apt-get install sox)" >&2; exit 2; }

  rm -rf "$corpus_dir"
  mkdir -p "$corpus_dir"
  local list=$corpus_dir/sources.txt
  dpkg -L "${packages[@]}" | grep '\.wav$' | LC_ALL=C sort >"$list"
  local n_sources
  n_sources=$(wc -l <"$list")
  ((n_sources > 0)) || { echo "run.sh: the packages hold no .wav files" >&2; exit 1; }
  local source_seconds
  source_seconds=$(xargs -a "$list" -d '\n' soxi -D | awk '{s += $1} END {printf "%.1f", s}')
  # Enough passes over the prompts to cover the hour.
  local passes
  passes=$(awk -v s="$source_seconds" -v t="$CORPUS_SECONDS" 'BEGIN {print int(t / s) + 1}')
  echo "corpus: $n_sources prompts, ${source_seconds} s at 8 kHz, $passes passes → ${CORPUS_SECONDS} s at ${RATE} Hz" >&2
  local inputs=() pass
  mapfile -t sources <"$list"
  for ((pass = 0; pass < passes; ++pass)); do inputs+=("${sources[@]}"); done
  local hour=$work_dir/hour_16k.wav
  sox -G "${inputs[@]}" -b 16 "$hour" rate -h "$RATE" trim 0 "${CORPUS_SECONDS}"
  local i per_file=$((FILE_SECONDS * RATE))
  for ((i = 0; i < N_FILES; ++i)); do
    sox "$hour" "$(printf '%s/speech_%02d.wav' "$corpus_dir" "$i")" trim "$((i * per_file))s" "${per_file}s"
  done
  rm -f "$hour"
  printf 'sources=%s\nsource_seconds=%s\npasses=%s\n' "$n_sources" "$source_seconds" "$passes" >"$corpus_dir/.complete"
}

corpus_ready || make_corpus
corpus=()
for ((i = 0; i < N_FILES; ++i)); do corpus+=("$(printf '%s/speech_%02d.wav' "$corpus_dir" "$i")"); done
corpus_info="$(soxi -c "${corpus[0]}") channel(s), $(soxi -r "${corpus[0]}") Hz, $(soxi -b "${corpus[0]}")-bit WAV"
corpus_total=$(soxi -D "${corpus[@]}" | awk '{s += $1} END {printf "%.1f", s}')
echo "corpus: ${#corpus[@]} files, ${corpus_total} s (${corpus_info}) in $corpus_dir" >&2

# ---------------------------------------------------------------------------------------------
# 2. Runs. Each run's wall time covers the whole command (mpirun start-up included for 2 ranks).
# ---------------------------------------------------------------------------------------------
# (name, ranks, threads)
configs=("1x1 1 1" "1x2 1 2" "2x1 2 1")
runs_file=$work_dir/runs.tsv
log_dir=$work_dir/logs
rm -rf "$log_dir"
mkdir -p "$log_dir"
: >"$runs_file"
points=$work_dir/points.h5

run_once() {  # name ranks threads compression repeat
  local name=$1 ranks=$2 threads=$3 level=$4 rep=$5
  local log=$log_dir/${name}_c${level}_r${rep}.log
  local cmd=()
  if ((ranks > 1)); then
    cmd=(env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
         mpirun -np "$ranks" --bind-to none --oversubscribe)
  fi
  cmd+=("$binary" features "${corpus[@]}" -o "$points" "${transform_args[@]}"
        --compression "$level" --threads "$threads" -v)
  rm -f "$points"
  local t0 t1
  t0=$(date +%s.%N)
  if ! OMP_NUM_THREADS=$threads "${cmd[@]}" >"$log" 2>&1; then
    echo "run.sh: $name compression $level failed; log: $log" >&2
    cat "$log" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  local size
  size=$(stat -c %s "$points")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$ranks" "$threads" "$level" "$rep" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" "$size" "$log" >>"$runs_file"
  printf '  %-4s compression %s run %d: %6.2f s\n' "$name" "$level" "$rep" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" >&2
}

# Interleave configurations within each repeat so that machine noise spreads over all of them.
echo "floor: $FLOOR_TEXT" >&2
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "running ${#configs[@]} configs × ${#compressions[@]} compressions × $repeats repeats ..." >&2
for ((rep = 1; rep <= repeats; ++rep)); do
  for level in "${compressions[@]}"; do
    for config in "${configs[@]}"; do
      run_once $config "$level" "$rep"
    done
  done
done
rm -f "$points"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# 3–5. Table, JSON, PASS/FAIL, RESULTS.md.
# ---------------------------------------------------------------------------------------------
commit=$(git -C "$repo_dir" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$repo_dir" status --porcelain --untracked-files=no -- src include drivers 2>/dev/null | head -1 || true)
[[ -n $dirty ]] && commit="$commit (+ uncommitted changes in src/include/drivers)"
cpu_model=$(lscpu | awk -F: '/^Model name/ {gsub(/^[ \t]+/, "", $2); print $2; exit}')
command_line="bench/features/run.sh${1:+ $1}${2:+ $2}${3:+ $3}"

BENCH_SECTION=$section BENCH_TRANSFORM_TEXT=$transform_text \
BENCH_RUNS=$runs_file BENCH_JSON=$out_dir/$json_name BENCH_RESULTS=$bench_dir/RESULTS.md \
BENCH_NPROC=$(nproc) BENCH_CPU=$cpu_model BENCH_DATE=$(date -u +%F) \
BENCH_DATETIME=$(date -u +%FT%TZ) BENCH_COMMIT=$commit BENCH_BINARY=$binary \
BENCH_COMMAND=$command_line BENCH_REPEATS=$repeats BENCH_AUDIO_SECONDS=$corpus_total \
BENCH_FILES=${#corpus[@]} BENCH_CORPUS_INFO=$corpus_info BENCH_N_FFT=$N_FFT BENCH_HOP=$HOP \
BENCH_LOAD="$load_before → $load_after" BENCH_FLOOR_SECONDS=$FLOOR_SECONDS BENCH_FLOOR_TEXT=$FLOOR_TEXT \
python3 "$script_dir/report.py"
