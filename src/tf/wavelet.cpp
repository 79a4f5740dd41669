#include "innmf/tf/wavelet.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "innmf/core/error.hpp"

namespace innmf::tf {
namespace {

/// x at which adjacent windows may cross at the least: exp(−x²/2) = kWaveletMinCrossing.
double max_crossing_sigmas() { return std::sqrt(2 * std::log(1 / kWaveletMinCrossing)); }

/// The NSGT of the Morlet bands for clips of `n` samples: band 0 low-pass, 1..K the scales,
/// K+1 high-pass (see wavelet.hpp for the windows).
Nsgt wavelet_nsgt(const WaveletScales& scales, long n) {
  Wavelet::require_fits(scales, n, "the clip");
  std::vector<double> half_widths;  // windows cut at ±c·σ_k
  for (double sigma : scales.sigmas) half_widths.push_back(WaveletScales::cutoff_sigmas() * sigma);
  return filterbank_nsgt(scales.sample_rate, n, scales.freqs, half_widths,
                         [&scales](int k, double nu) {
                           const double x = (nu - scales.freqs[static_cast<std::size_t>(k)]) /
                                            scales.sigmas[static_cast<std::size_t>(k)];
                           return std::exp(-0.5 * x * x);
                         },
                         "wavelet transform");
}

}  // namespace

void validate(const WaveletConfig& config) {
  validate_frequency_range(config.fmin, config.fmax);
  if (config.scales_per_octave < 1)
    throw UsageError(fmt::format("--scales-per-octave {}: must be at least 1", config.scales_per_octave));
  if (!(config.omega0 >= 3) || !std::isfinite(config.omega0))
    throw UsageError(fmt::format("--omega0 {}: must be at least 3 (below, the Morlet wavelet reaches "
                                 "0 Hz and is no longer analytic)",
                                 config.omega0));
  // Adjacent Gaussians (σ ∝ f) cross at x = ω0 (r − 1)/(r + 1) standard deviations, r = 2^(1/S).
  const double r = std::exp2(1.0 / config.scales_per_octave);
  const double largest = max_crossing_sigmas() * (r + 1) / (r - 1);
  if (config.omega0 > largest)
    throw UsageError(fmt::format(
        "--omega0 {} is too large for --scales-per-octave {}: adjacent Morlet scales would cross "
        "below {}% of their peak (gaps in frequency, an ill-conditioned inverse): lower --omega0 to "
        "at most {:.3g} or raise --scales-per-octave",
        config.omega0, config.scales_per_octave, 100 * kWaveletMinCrossing, largest));
}

WaveletScales::WaveletScales(const WaveletConfig& config, double rate) : sample_rate(rate) {
  validate(config);
  const double nyquist = rate / 2;
  fmin = config.fmin;
  fmax = config.fmax > 0 ? config.fmax : nyquist / 2;
  scales_per_octave = config.scales_per_octave;
  omega0 = config.omega0;
  if (config.fmax > nyquist)
    throw UsageError(fmt::format("--fmax {} Hz is above Nyquist ({} Hz) of the {} Hz audio: lower "
                                 "--fmax or raise --sr",
                                 config.fmax, nyquist, rate));
  if (fmin > fmax)
    throw UsageError(fmt::format("--fmin {} Hz is above {} {} Hz: lower --fmin or raise --fmax",
                                 fmin, config.fmax > 0 ? "--fmax" : "the default --fmax (Nyquist/2)",
                                 fmax));
  const int n = 1 + static_cast<int>(std::floor(scales_per_octave * std::log2(fmax / fmin) + 1e-9));
  for (int k = 0; k < n; ++k) {
    freqs.push_back(fmin * std::exp2(static_cast<double>(k) / scales_per_octave));
    sigmas.push_back(freqs.back() / omega0);
  }
}

double WaveletScales::cutoff_sigmas() { return std::sqrt(2 * std::log(1 / kWaveletCutoff)); }

double WaveletScales::duration_seconds(int k) const {
  return cutoff_sigmas() / (M_PI * sigmas[static_cast<std::size_t>(k)]);
}

long WaveletScales::min_samples() const {
  return static_cast<long>(std::ceil(duration_seconds(0) * sample_rate - 1e-9));
}

void Wavelet::require_fits(const WaveletScales& scales, long n_samples, const std::string& what) {
  const long need = scales.min_samples();
  if (n_samples < need)
    throw UsageError(fmt::format(
        "{} has {} samples ({:.3f} s) but the wavelet transform's longest wavelet (--fmin {} Hz, "
        "--omega0 {}) lasts {} samples ({:.3f} s): give at least that much audio, or raise --fmin "
        "or lower --omega0",
        what, n_samples, n_samples / scales.sample_rate, scales.fmin, scales.omega0, need,
        need / scales.sample_rate));
}

Wavelet::Wavelet(const WaveletConfig& config, double sample_rate, long n_samples)
    : scales_(config, sample_rate), n_(n_samples), nsgt_(wavelet_nsgt(scales_, n_samples)) {}

Wavelet::~Wavelet() = default;

WaveletCoefficients Wavelet::analyze(const float* signal) const {
  return WaveletCoefficients{nsgt_.analyze(signal)};
}

std::vector<float> Wavelet::synthesize(const WaveletCoefficients& coefficients) const {
  return nsgt_.synthesize(coefficients.bands);
}

}  // namespace innmf::tf
