#include "innmf/tf/point_set.hpp"

#include <cassert>
#include <cmath>

namespace innmf::tf {

ClipPoints grid_points(const MagnitudeSpectrogram& magnitude, std::vector<float> times,
                       std::vector<float> freqs) {
  assert(static_cast<std::size_t>(magnitude.rows()) == times.size());
  assert(static_cast<std::size_t>(magnitude.cols()) == freqs.size());
  ClipPoints points;
  points.times = std::move(times);
  points.freqs = std::move(freqs);
  // Row-major (frames, bins) is already the time-major point order.
  points.m.assign(magnitude.data(), magnitude.data() + magnitude.size());
  return points;
}

}  // namespace innmf::tf

namespace innmf::tf {

ClipPoints stft_points(const Stft& stft, const float* samples, long n, double sample_rate) {
  const MagnitudeSpectrogram magnitude = stft.magnitude(samples, n);
  return grid_points(magnitude, stft.frame_times(magnitude.rows(), sample_rate),
                     stft.bin_frequencies(sample_rate));
}

}  // namespace innmf::tf

namespace innmf::tf {

ClipPoints cqt_points(const Cqt& cqt, const float* samples) {
  const CqtCoefficients coefficients = cqt.analyze(samples);
  ClipPoints points;
  const auto n = static_cast<std::size_t>(cqt.n_points());
  points.t.reserve(n);
  points.f.reserve(n);
  points.m.reserve(n);
  for (int k = 0; k < cqt.n_bins(); ++k) {
    const auto& band = coefficients.bands[static_cast<std::size_t>(k) + 1];
    const double hop = cqt.hop_seconds(k);
    const auto freq = static_cast<float>(cqt.bins().freqs[static_cast<std::size_t>(k)]);
    for (std::size_t m = 0; m < band.size(); ++m) {
      points.t.push_back(static_cast<float>(static_cast<double>(m) * hop));
      points.f.push_back(freq);
      points.m.push_back(std::abs(band[m]));
    }
  }
  assert(points.m.size() == n);
  return points;
}

}  // namespace innmf::tf
