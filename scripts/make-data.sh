#!/usr/bin/env bash
# Regenerate the example recordings in data/ (see data/README.md).
#
#   bash scripts/make-data.sh
#
# Sources (Debian packages, installed with apt-get if missing):
#   asterisk-core-sounds-es-wav  Spanish prompts, voice "Allison Smith" (CC BY-SA 3.0)
#   asterisk-core-sounds-ru-wav  Russian prompts, voice "IvrvoiceRU", Maxim Topal (CC BY 3.0)
#   fluid-soundfont-gm           FluidR3_GM.sf2 piano (MIT licence), rendered with fluidsynth
#   sox                          trimming / concatenation / resampling
#
# Deterministic: no dither (sox -D), repeatable mode (sox -R), files picked by
# sorted name with a fixed stride, mixing done in integer arithmetic in Python
# (standard library only).  Two runs give byte-identical files.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
export LC_ALL=C

# ---------------------------------------------------------------- packages
PKGS=(sox fluidsynth fluid-soundfont-gm asterisk-core-sounds-es-wav asterisk-core-sounds-ru-wav)
missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
    echo "installing: ${missing[*]}" >&2
    $SUDO apt-get update
    $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }

SND=/usr/share/asterisk/sounds
ES_DIR=$SND/es_MX_f_Allison
RU_DIR=$SND/ru_RU_f_IvrvoiceRU
SF2=/usr/share/sounds/sf2/FluidR3_GM.sf2
for f in "$ES_DIR" "$RU_DIR" "$SF2"; do
    [ -e "$f" ] || { echo "missing: $f" >&2; exit 1; }
done

SOX=(sox -D -R -V1)          # no dither, repeatable, errors only
FMT8=(-r 8000 -c 1 -b 16 -e signed-integer)
FMT16=(-r 16000 -c 1 -b 16 -e signed-integer)

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

mkdir -p data/speech data/piano

# ------------------------------------------------------------------ speech
SR=8000
GAP_S=0.15                   # silence between prompts
TRAIN_N=$((20 * SR))         # 20.0 s
TEST_N=$((5 * SR))           #  5.0 s
MIN_N=$((1 * SR))            # candidate prompts: 1..4 s long (skips beeps,
MAX_N=$((4 * SR))            # tones and the long menu prompts)
STRIDE=5

"${SOX[@]}" -n "${FMT8[@]}" "$TMP/gap.wav" trim 0 "$GAP_S"

# candidates DIR: top-level prompts, sorted by name, 1..4 s long
candidates() {
    local f n
    for f in "$1"/*.wav; do
        n=$(soxi -s "$f")
        if ((n >= MIN_N && n <= MAX_N)); then basename "$f"; fi
    done
}

# build DIR TAG OUT NSAMPLES NAME...: trim silence off each prompt, join with
# gaps until NSAMPLES are reached, cut to exactly NSAMPLES with a 20 ms fade-out.
build() {
    local dir=$1 tag=$2 out=$3 nout=$4; shift 4
    local parts=() total=0 k=0 name seg n
    for name in "$@"; do
        seg=$TMP/$tag-$k.wav
        "${SOX[@]}" "$dir/$name" "${FMT8[@]}" "$seg" \
            silence 1 0.01 -45d reverse silence 1 0.01 -45d reverse
        n=$(soxi -s "$seg")
        if ((n == 0)); then continue; fi
        if ((k > 0)); then
            parts+=("$TMP/gap.wav")
            total=$((total + $(soxi -s "$TMP/gap.wav")))
        fi
        parts+=("$seg")
        total=$((total + n))
        echo "$out	$dir/$name" >> "$TMP/sources.txt"
        k=$((k + 1))
        if ((total >= nout)); then break; fi
    done
    ((total >= nout)) || { echo "not enough material for $out" >&2; exit 1; }
    "${SOX[@]}" "${parts[@]}" "${FMT8[@]}" "$out" trim 0 "${nout}s" fade h 0 "${nout}s" 160s
}

: > "$TMP/sources.txt"
for lang in es ru; do
    if [ "$lang" = es ]; then dir=$ES_DIR; else dir=$RU_DIR; fi
    mapfile -t cand < <(candidates "$dir")
    N=${#cand[@]}
    # training prompts: forward through the sorted list, every STRIDE-th
    train=()
    for ((i = 0; i < N; i += STRIDE)); do train+=("${cand[i]}"); done
    # test prompts: a different residue (index % STRIDE == 2), taken backward
    # from the end of the list, so they are different prompts (and mostly
    # different words) than the training ones
    test=()
    for ((i = N - 1; i >= 0; i--)); do
        ((i % STRIDE == 2)) || continue
        case " ${train[*]} " in *" ${cand[i]} "*) continue ;; esac
        test+=("${cand[i]}")
    done
    build "$dir" "$lang-train" "data/speech/${lang}_train.wav" "$TRAIN_N" "${train[@]}"
    build "$dir" "$lang-test" "$TMP/${lang}_test_raw.wav" "$TEST_N" "${test[@]}"
done

# sanity: no prompt used twice
dups=$(cut -f2 "$TMP/sources.txt" | sort | uniq -d)
[ -z "$dups" ] || { echo "prompt used twice: $dups" >&2; exit 1; }

# 0 dB mixture: equalise RMS, common gain so nothing clips, integer sum.
python3 - "$TMP/es_test_raw.wav" "$TMP/ru_test_raw.wav" \
    data/speech/es_test.wav data/speech/ru_test.wav data/speech/mix.wav <<'PY'
import array, math, sys, wave

def read(path):
    with wave.open(path, "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 8000), path
        a = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        a.byteswap()
    return a

def write(path, a):
    a = array.array("h", a)
    if sys.byteorder == "big":
        a.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
        w.writeframes(a.tobytes())

es_in, ru_in, es_out, ru_out, mix_out = sys.argv[1:]
a, b = read(es_in), read(ru_in)
assert len(a) == len(b) == 40000
rms = lambda x: math.sqrt(sum(v * v for v in x) / len(x))
ra, rb = rms(a), rms(b)
a = [v / ra for v in a]              # unit RMS each -> 0 dB SNR
b = [v / rb for v in b]
peak = max(max(abs(x) for x in a), max(abs(x) for x in b),
           max(abs(x + y) for x, y in zip(a, b)))
g = 0.9 * 32767 / peak               # mixture peaks at -0.9 dBFS
A = [int(round(g * x)) for x in a]
B = [int(round(g * x)) for x in b]
M = [x + y for x, y in zip(A, B)]    # exact: mix == es_test + ru_test
assert max(abs(v) for v in M) <= 32767
write(es_out, A); write(ru_out, B); write(mix_out, M)
PY

{
    echo "# Source prompts of the speech files, in order of appearance."
    echo "# Each prompt: leading/trailing silence removed (sox silence, -45 dB),"
    echo "# prompts joined with ${GAP_S} s of silence, cut to length, 20 ms fade-out."
    echo "# es_test/ru_test are additionally RMS-equalised and scaled (see README)."
    echo "# output	source file"
    sed -e 's#^'"$TMP"'/\(..\)_test_raw.wav#data/speech/\1_test.wav#' "$TMP/sources.txt"
} > data/speech/sources.txt

# ------------------------------------------------------------------- piano
# MIDI file: piano (GM program 0), C4 (60) 0.0-1.3 s, F#4 (66) 1.5-2.8 s,
# velocity 100, end of track 3.4 s.  1 tick = 1 ms.
python3 - data/piano/two_notes.mid <<'PY'
import struct, sys

def vlq(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))

events = [  # (time ms, bytes)
    (0,    b"\xFF\x51\x03" + (1000000).to_bytes(3, "big")),  # tempo: 1 s / quarter
    (0,    b"\xC0\x00"),          # program change ch0 -> Acoustic Grand Piano
    (0,    b"\xB0\x07\x64"),      # volume 100
    (0,    b"\x90\x3C\x64"),      # note on  C4,  vel 100
    (1300, b"\x80\x3C\x40"),      # note off C4
    (1500, b"\x90\x42\x64"),      # note on  F#4, vel 100
    (2800, b"\x80\x42\x40"),      # note off F#4
    (3400, b"\xFF\x2F\x00"),      # end of track
]
track, t = b"", 0
for when, data in events:
    track += vlq(when - t) + data
    t = when
division = 1000  # ticks per quarter note -> 1 tick = 1 ms at 1 s / quarter
smf = b"MThd" + struct.pack(">IHHH", 6, 0, 1, division)
smf += b"MTrk" + struct.pack(">I", len(track)) + track
open(sys.argv[1], "wb").write(smf)
PY

# Render at 44.1 kHz (no reverb/chorus), then mono, resample to 16 kHz,
# cut to 3.2 s with a 50 ms fade-out, peak-normalise to -1 dBFS.
fluidsynth -q -n -i -R 0 -C 0 -g 0.5 -r 44100 -O float -T wav \
    -F "$TMP/piano.wav" "$SF2" data/piano/two_notes.mid >/dev/null
"${SOX[@]}" "$TMP/piano.wav" "${FMT16[@]}" data/piano/two_notes.wav \
    remix - rate -v 16k trim 0 51200s fade h 0 51200s 800s gain -n -1

echo "done:" >&2
(cd data && sha256sum speech/*.wav speech/sources.txt piano/*) >&2
