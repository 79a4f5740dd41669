#!/usr/bin/env bash
# Installs what the tests need, builds from scratch and runs every test:
#   1. the Release build: unit tests, MPI tests at 1, 2 and 4 ranks, command-line tests
#      (bad input, h5py reading our files, ranks giving identical files);
#   2. an AddressSanitizer + UndefinedBehaviorSanitizer build of the unit tests. On a CPU with
#      AVX-512 it targets AVX2 (x86-64-v3): the Release build (-march=native) runs the 16-lane
#      kernels, this one the 8-lane ones, so both are tested.
# Exit code: non-zero if anything failed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

bash scripts/install-deps.sh

echo "== Release build (from scratch) =="
rm -rf build-test
bash scripts/build.sh build-test
echo "== Tests =="
(cd build-test && ctest --output-on-failure --parallel 2 --timeout 600)

echo "== Sanitizer build (ASan + UBSan) of the unit and MPI tests =="
# Open MPI's own allocations are not ours to fix: leak checking is off, every other check on.
# (Exported before the build too: test discovery runs the test binary at build time.)
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
rm -rf build-asan
isa=()
if grep -qw avx512f /proc/cpuinfo; then
  isa=(-DINNMF_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=x86-64-v3)
  echo "(AVX-512 CPU: the sanitizer build targets AVX2, x86-64-v3, to test the 8-lane kernels too)"
fi
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINNMF_SANITIZE=ON "${isa[@]}"
cmake --build build-asan --parallel "$(nproc)" --target innmf_unit_tests innmf_mpi_tests
# A label that matches nothing would pass quietly: the unit tests must be there.
unit_tests=$(cd build-asan && ctest -N -L unit | sed -n 's/^Total Tests: //p')
if ((unit_tests < 100)); then
  echo "test.sh: the sanitizer build lists ${unit_tests:-no} tests labelled unit (expected 160+): check tests/CMakeLists.txt" >&2
  exit 1
fi
(cd build-asan && ctest --output-on-failure --parallel 2 --timeout 600 -L "unit|mpi" -LE "cli|jobs|slurm")
