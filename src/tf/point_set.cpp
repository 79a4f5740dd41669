#include "innmf/tf/point_set.hpp"

#include <cassert>

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
