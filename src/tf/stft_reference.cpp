#include "innmf/tf/stft_reference.hpp"

#include <cmath>

namespace innmf::tf::reference {

ComplexSpectrogram stft_naive(const float* signal, long n, const StftConfig& config) {
  const auto window = make_window(config.window, config.n_fft);
  const long frames = 1 + n / config.hop;
  const int bins = config.n_fft / 2 + 1;
  ComplexSpectrogram out(frames, bins);
  for (long j = 0; j < frames; ++j) {
    const long start = j * config.hop - config.n_fft / 2;
    for (int k = 0; k < bins; ++k) {
      double re = 0, im = 0;
      for (int i = 0; i < config.n_fft; ++i) {
        const long s = start + i;
        if (s < 0 || s >= n) continue;
        const double x = static_cast<double>(signal[s]) * window[static_cast<std::size_t>(i)];
        const double phase = -2.0 * M_PI * static_cast<double>(k) * i / config.n_fft;
        re += x * std::cos(phase);
        im += x * std::sin(phase);
      }
      out(j, k) = {static_cast<float>(re), static_cast<float>(im)};
    }
  }
  return out;
}

}  // namespace innmf::tf::reference
