// Measured single-precision FMA peak of one core, in GFLOP/s: the denominator of the benches'
// "% of FMA peak". The nominal clock (/proc/cpuinfo "cpu MHz") understates it on machines that
// boost, so the benches measure it instead of multiplying FLOP/cycle by that clock.
//
// 10 independent chains of FMAs on the widest registers the compiler targets, as innmf's kernels
// (built with -march=native) use them: 16 lanes with AVX-512 (on Zen 5, whose 512-bit pipes are
// full width, twice the 8-lane figure), else 8 (AVX2). Enough in flight to cover two pipes × 5
// cycles of latency, all in registers. Best of 5 runs of ~0.2 s. Prints the GFLOP/s and the
// lanes, e.g. "222.1 16".
//   g++ -O2 -march=native bench/tools/fma_peak.cpp -o fma_peak && ./fma_peak
#include <immintrin.h>

#include <chrono>
#include <cstdio>

#if defined(__AVX512F__)
using Vec = __m512;
constexpr int kLanes = 16;
inline Vec set1(float x) { return _mm512_set1_ps(x); }
inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline float first_lane(Vec v) { return _mm512_cvtss_f32(v); }
#else
using Vec = __m256;
constexpr int kLanes = 8;
inline Vec set1(float x) { return _mm256_set1_ps(x); }
inline Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline float first_lane(Vec v) { return _mm256_cvtss_f32(v); }
#endif

int main() {
  constexpr int kChains = 10;
  constexpr long kSteps = 20'000'000;  // × 10 chains × 2·kLanes FLOP a run
  double best = 0;
  float sink = 0;
  for (int run = 0; run < 5; ++run) {
    Vec acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = set1(1.0f + 1e-3f * static_cast<float>(i));
    const Vec factor = set1(0.9999f), addend = set1(1e-4f);
    const auto start = std::chrono::steady_clock::now();
    for (long step = 0; step < kSteps; ++step)
#pragma GCC unroll 10
      for (int i = 0; i < kChains; ++i) acc[i] = fmadd(acc[i], factor, addend);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (int i = 0; i < kChains; ++i) sink += first_lane(acc[i]);
    const double gflops = 2.0 * kLanes * kChains * static_cast<double>(kSteps) / seconds / 1e9;
    if (gflops > best) best = gflops;
  }
  std::printf("%.1f %d\n", best, kLanes);
  return sink == 12345.0f ? 1 : 0;  // keeps the chains live
}
