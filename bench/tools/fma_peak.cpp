// Measured single-precision FMA peak of one core, in GFLOP/s: the denominator of the benches'
// "% of FMA peak". The nominal clock (/proc/cpuinfo "cpu MHz") understates it on machines that
// boost, so the benches measure it instead of multiplying 32 FLOP/cycle by that clock.
//
// 10 independent chains of 8-lane FMAs (AVX2): enough in flight to cover two pipes × 5 cycles of
// latency, all in registers. Best of 5 runs of ~0.2 s. Prints one number.
//   g++ -O2 -mavx2 -mfma bench/tools/fma_peak.cpp -o fma_peak && ./fma_peak
#include <immintrin.h>

#include <chrono>
#include <cstdio>

int main() {
  constexpr int kChains = 10;
  constexpr long kSteps = 20'000'000;  // × 10 chains × 16 FLOP = 3.2 GFLOP a run
  double best = 0;
  float sink = 0;
  for (int run = 0; run < 5; ++run) {
    __m256 acc[kChains];
    for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(1.0f + 1e-3f * static_cast<float>(i));
    const __m256 factor = _mm256_set1_ps(0.9999f), addend = _mm256_set1_ps(1e-4f);
    const auto start = std::chrono::steady_clock::now();
    for (long step = 0; step < kSteps; ++step)
#pragma GCC unroll 10
      for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], factor, addend);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (int i = 0; i < kChains; ++i) sink += _mm256_cvtss_f32(acc[i]);
    const double gflops = 16.0 * kChains * static_cast<double>(kSteps) / seconds / 1e9;
    if (gflops > best) best = gflops;
  }
  std::printf("%.1f\n", best);
  return sink == 12345.0f ? 1 : 0;  // keeps the chains live
}
