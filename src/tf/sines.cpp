#include "innmf/tf/sines.hpp"

#include <omp.h>

#include <algorithm>
#include <cassert>
#include <cmath>
#include <fmt/format.h>
#include <limits>

#include "innmf/core/error.hpp"

namespace innmf::tf {
namespace {

/// A peak of one frame before the cut to max_peaks.
struct Peak {
  int bin = 0;               // k, 1..n_bins-2
  double offset = 0;         // δ [bins], in [-0.5, 0.5]
  double log_amplitude = 0;  // ln A, A the window-corrected sinusoid amplitude
};

/// ln of a magnitude, with exact zeros (silence next to a peak) floored to the smallest
/// normal float: the parabola's vertex then stays within its three bins.
double log_magnitude(double magnitude) {
  return std::log(std::max(magnitude, static_cast<double>(std::numeric_limits<float>::min())));
}

/// The log-parabola's vertex offset through (−1, a), (0, b), (1, c) with b > a, b > c:
/// curvature < 0 and |a − c| ≤ |a − 2b + c|, so the offset is within [−1/2, 1/2].
double vertex_offset(double a, double b, double c) {
  return std::clamp(0.5 * (a - c) / (a - 2 * b + c), -0.5, 0.5);
}

/// The analysis window's response to a lone sinusoid, which calibrates the log-parabola
/// (Abe & Smith 2004 correct the same bias with fitted polynomials; here it is tabulated
/// exactly from the window itself, so any window is calibrated alike).
/// |W(ν)| = |Σ_n w[n] e^{−2πiνn/N}| [same units as |X|], ν in bins: a sinusoid of amplitude A
/// at ν bins from bin k gives |X_k| ≈ A·|W(ν)|/2 (W(0) = Σw).
class WindowResponse {
 public:
  static constexpr int kSteps = 256;  // table points per bin

  explicit WindowResponse(const std::vector<float>& window) {
    // ν = i/kSteps for i = 0..1.5·kSteps: the three bins around a peak at |δ| ≤ 1/2.
    const int n_nu = 3 * kSteps / 2 + 1;
    log_response_.resize(static_cast<std::size_t>(n_nu));
    const double n_fft = static_cast<double>(window.size());
    // Independent entries: one OpenMP loop, each iteration writes its own entry.
#pragma omp parallel for schedule(static)
    for (int i = 0; i < n_nu; ++i) {
      // |Σ w[n] e^{−iθn}| by a rotating phasor, in double (drift ~1e-13 over n_fft steps);
      // real arithmetic, as std::complex's operator* is slow without -ffast-math.
      const double theta = 2 * M_PI * i / kSteps / n_fft;
      const double cos_step = std::cos(theta), sin_step = -std::sin(theta);
      double re = 1, im = 0, sum_re = 0, sum_im = 0;
      for (float w : window) {
        sum_re += w * re;
        sum_im += w * im;
        const double next_re = re * cos_step - im * sin_step;
        im = re * sin_step + im * cos_step;
        re = next_re;
      }
      log_response_[static_cast<std::size_t>(i)] = std::hypot(sum_re, sum_im);
    }
    // Floored far below the float round-off of any |X| (the sine window has exact zeros).
    const double floor = 1e-12 * log_response_[0];
    for (double& r : log_response_) r = std::log(std::max(r, floor));
    // What the log-parabola reports, δ̂(δ), for a lone sinusoid at δ = j/kSteps ∈ [0, 1/2];
    // |W| is even (periodic windows are symmetric), so negative offsets mirror these.
    estimate_.resize(static_cast<std::size_t>(kSteps / 2 + 1));
    for (int j = 0; j <= kSteps / 2; ++j) {
      const double a = log_response_[static_cast<std::size_t>(kSteps + j)];  // bin k−1
      const double b = log_response_[static_cast<std::size_t>(j)];            // bin k
      const double c = log_response_[static_cast<std::size_t>(kSteps - j)];  // bin k+1
      estimate_[static_cast<std::size_t>(j)] = j == 0 ? 0.0 : vertex_offset(a, b, c);
    }
    // δ̂ increases with δ for the four windows (else the accuracy sweep of
    // tests/tf/test_sines.cpp would fail); keep the table non-decreasing regardless, so that
    // the inverse lookup below is well defined for any window.
    for (std::size_t j = 1; j < estimate_.size(); ++j)
      estimate_[j] = std::max(estimate_[j], estimate_[j - 1]);
  }

  /// The true offset δ [bins] of a lone sinusoid whose log-parabola vertex is at `estimate`.
  double offset(double estimate) const {
    const double x = std::abs(estimate);
    const auto upper = std::upper_bound(estimate_.begin(), estimate_.end(), x);
    double delta = 0.5;
    if (upper == estimate_.begin()) {
      delta = 0;
    } else if (upper != estimate_.end()) {
      const auto j = static_cast<std::size_t>(upper - estimate_.begin()) - 1;
      const double lo = estimate_[j], hi = estimate_[j + 1];
      const double fraction = hi > lo ? (x - lo) / (hi - lo) : 0.0;
      delta = (static_cast<double>(j) + fraction) / kSteps;
    }
    return std::copysign(delta, estimate);
  }

  /// ln|W(ν)| for |ν| ≤ 1/2 [bins], linearly interpolated.
  double log_response(double nu) const {
    const double x = std::min(std::abs(nu), 0.5) * kSteps;
    const auto i = std::min(static_cast<std::size_t>(x), static_cast<std::size_t>(kSteps / 2 - 1));
    const double fraction = x - static_cast<double>(i);
    return (1 - fraction) * log_response_[i] + fraction * log_response_[i + 1];
  }

 private:
  std::vector<double> log_response_;  // ln|W(i/kSteps)|, i = 0..1.5·kSteps
  std::vector<double> estimate_;      // δ̂ at δ = j/kSteps, j = 0..kSteps/2
};

}  // namespace

void check_frequency_quantum(double quantum, double sample_rate) {
  const double nyquist = sample_rate / 2;
  if (quantum > 0 && nyquist / quantum < kMinQuantisedFrequencies)
    throw UsageError(fmt::format("--f-quantum {} Hz: fewer than {} steps up to Nyquist ({} Hz), the frequencies "
                                 "would collapse: give at most {:g} Hz (1 Hz is usual; 0 keeps exact frequencies)",
                                 quantum, kMinQuantisedFrequencies, nyquist, nyquist / kMinQuantisedFrequencies));
}

void validate(const SinesConfig& config) {
  if (!std::isfinite(config.peak_threshold_db))
    throw UsageError(fmt::format("--peak-threshold {}: must be a finite level in dB re a "
                                 "full-scale sinusoid (e.g. -80)",
                                 config.peak_threshold_db));
  if (config.max_peaks < 1)
    throw UsageError(fmt::format("--max-peaks {}: must be at least 1 peak per frame",
                                 config.max_peaks));
}

ClipPoints sines_points(const Stft& stft, const float* samples, long n, double sample_rate,
                        const SinesConfig& config) {
  validate(config);
  const MagnitudeSpectrogram magnitude = stft.magnitude(samples, n);  // (frames, bins)
  const long frames = magnitude.rows();
  const int bins = stft.n_bins();
  const std::vector<float> times = stft.frame_times(frames, sample_rate);

  // ln A = ln|X_k| − ln(|W(δ)|/2): at δ = 0 the division by Σw/2 of stft.hpp.
  const WindowResponse response(stft.window());
  const double log_half = std::log(0.5);
  const double log_threshold = config.peak_threshold_db * std::log(10.0) / 20;
  const double bin_hz = sample_rate / stft.config().n_fft;

  // Peaks are never adjacent, so a frame has at most (bins − 1)/2 of them: every buffer is
  // allocated here, outside the parallel region (STYLE.md §10: nothing may throw inside).
  const int max_candidates = std::max(1, (bins - 1) / 2);
  const int capacity = std::min(config.max_peaks, max_candidates);
  std::vector<Peak> kept(static_cast<std::size_t>(frames) * static_cast<std::size_t>(capacity));
  std::vector<int> n_kept(static_cast<std::size_t>(frames), 0);
  std::vector<std::vector<Peak>> scratch(static_cast<std::size_t>(omp_get_max_threads()));
  for (auto& s : scratch) s.reserve(static_cast<std::size_t>(max_candidates));

  // One level of OpenMP over frames; frame j writes only its own slice of `kept`, so the
  // result is the same on any number of threads.
#pragma omp parallel
  {
    std::vector<Peak>& candidates = scratch[static_cast<std::size_t>(omp_get_thread_num())];
#pragma omp for schedule(static)
    for (long j = 0; j < frames; ++j) {
      const float* row = magnitude.row(j).data();
      candidates.clear();
      for (int k = 1; k + 1 < bins; ++k) {
        if (!(row[k] > row[k - 1] && row[k] > row[k + 1])) continue;
        const double a = log_magnitude(row[k - 1]);
        const double b = log_magnitude(row[k]);
        const double c = log_magnitude(row[k + 1]);
        // The log-parabola's vertex, then its bias for this window removed.
        const double offset = response.offset(vertex_offset(a, b, c));
        const double log_amplitude = b - response.log_response(offset) - log_half;
        if (log_amplitude < log_threshold) continue;
        candidates.push_back({k, offset, log_amplitude});  // within the reserved capacity
      }
      // The `capacity` strongest (ties: the lower bin), then back in increasing frequency
      // (peaks are ≥ 2 bins apart and |δ| ≤ 1/2, so bin order is frequency order).
      const auto count = std::min(candidates.size(), static_cast<std::size_t>(capacity));
      std::partial_sort(candidates.begin(), candidates.begin() + static_cast<long>(count),
                        candidates.end(), [](const Peak& x, const Peak& y) {
                          return x.log_amplitude != y.log_amplitude
                                     ? x.log_amplitude > y.log_amplitude
                                     : x.bin < y.bin;
                        });
      std::sort(candidates.begin(), candidates.begin() + static_cast<long>(count),
                [](const Peak& x, const Peak& y) { return x.bin < y.bin; });
      std::copy(candidates.begin(), candidates.begin() + static_cast<long>(count),
                kept.begin() + j * capacity);
      n_kept[static_cast<std::size_t>(j)] = static_cast<int>(count);
    }
  }

  // Gather in frame order.
  std::size_t total = 0;
  for (int c : n_kept) total += static_cast<std::size_t>(c);
  ClipPoints points;
  points.t.reserve(total);
  points.f.reserve(total);
  points.m.reserve(total);
  for (long j = 0; j < frames; ++j) {
    const Peak* frame = kept.data() + j * capacity;
    for (int i = 0; i < n_kept[static_cast<std::size_t>(j)]; ++i) {
      points.t.push_back(times[static_cast<std::size_t>(j)]);
      points.f.push_back(static_cast<float>((frame[i].bin + frame[i].offset) * bin_hz));
      points.m.push_back(static_cast<float>(0.5 * std::exp(frame[i].log_amplitude)));  // A/2
    }
  }
  assert(points.m.size() == total);
  return points;
}

}  // namespace innmf::tf
