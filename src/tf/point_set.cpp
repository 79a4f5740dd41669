#include "innmf/tf/point_set.hpp"

#include <cassert>
#include <cmath>
#include <cstring>

namespace innmf::tf {

namespace {

/// One step of a multiply-xorshift mix (the finaliser of SplitMix64): every input bit reaches
/// every output bit.
std::uint64_t mix64(std::uint64_t h) {
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

/// Folds the bits of `values` into `h`, two floats (one 64-bit word) at a time, then their count.
std::uint64_t fold(std::uint64_t h, const std::vector<float>& values) {
  const std::size_t n = values.size();
  std::size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    std::uint64_t word;
    std::memcpy(&word, values.data() + i, sizeof word);
    h = mix64(h ^ word);
  }
  if (i < n) {
    std::uint32_t last;
    std::memcpy(&last, values.data() + i, sizeof last);
    h = mix64(h ^ last);
  }
  return mix64(h ^ n);
}

}  // namespace

std::uint64_t fingerprint(const ClipPoints& points, std::uint64_t salt) {
  // The layout goes in first, so that a grid and the same points scattered differ.
  std::uint64_t h = mix64(mix64(salt) ^ (points.is_grid() ? 0x67726964ULL : 0x73636174ULL));
  for (const auto* values : {&points.times, &points.freqs, &points.t, &points.f, &points.m}) h = fold(h, *values);
  return h;
}

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

namespace {

/// The analysis bands [1..K] of an NSGT's coefficients as a scattered clip, band by band:
/// t = m · hop_k [s], f = f_k [Hz], m = |c_k(m)|.
template <typename Transform>
ClipPoints band_points(const Transform& transform, const std::vector<std::vector<std::complex<float>>>& bands,
                       const std::vector<double>& freqs) {
  ClipPoints points;
  const auto n = static_cast<std::size_t>(transform.n_points());
  points.t.reserve(n);
  points.f.reserve(n);
  points.m.reserve(n);
  for (std::size_t k = 0; k < freqs.size(); ++k) {
    const auto& band = bands[k + 1];
    const double hop = transform.hop_seconds(static_cast<int>(k));
    const auto freq = static_cast<float>(freqs[k]);
    for (std::size_t m = 0; m < band.size(); ++m) {
      points.t.push_back(static_cast<float>(static_cast<double>(m) * hop));
      points.f.push_back(freq);
      points.m.push_back(std::abs(band[m]));
    }
  }
  assert(points.m.size() == n);
  return points;
}

}  // namespace

ClipPoints cqt_points(const Cqt& cqt, const float* samples) {
  return band_points(cqt, cqt.analyze(samples).bands, cqt.bins().freqs);
}

ClipPoints wavelet_points(const Wavelet& wavelet, const float* samples) {
  return band_points(wavelet, wavelet.analyze(samples).bands, wavelet.scales().freqs);
}

}  // namespace innmf::tf
