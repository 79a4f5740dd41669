#include "innmf/tf/cqt.hpp"

#include <cmath>
#include <fmt/format.h>

#include "innmf/core/error.hpp"

namespace innmf::tf {
namespace {

/// The NSGT of the CQT's bands for clips of `n` samples: band 0 low-pass, 1..K the bins,
/// K+1 high-pass (see cqt.hpp for the windows).
Nsgt cqt_nsgt(const CqtBins& bins, long n) {
  Cqt::require_fits(bins, n, fmt::format("a clip of {} samples", n));
  // Hann windows of full width Ω_k: half-width Ω_k/2 (exact in floating point, so the supports
  // are those of the formula in cqt.hpp).
  std::vector<double> half_widths;
  for (double width : bins.bandwidths) half_widths.push_back(width / 2);
  return filterbank_nsgt(bins.sample_rate, n, bins.freqs, half_widths,
                         [&bins](int k, double nu) {
                           const double c = std::cos(M_PI * (nu - bins.freqs[static_cast<std::size_t>(k)]) /
                                                     bins.bandwidths[static_cast<std::size_t>(k)]);
                           return c * c;
                         },
                         "CQT");
}

}  // namespace

void validate(const CqtConfig& config) {
  validate_frequency_range(config.fmin, config.fmax);
  if (config.bins_per_octave < 1)
    throw UsageError(fmt::format("--bins-per-octave {}: must be at least 1", config.bins_per_octave));
}

CqtBins::CqtBins(const CqtConfig& config, double rate) : sample_rate(rate) {
  validate(config);
  const double nyquist = rate / 2;
  fmin = config.fmin;
  fmax = config.fmax > 0 ? config.fmax : nyquist / 2;
  bins_per_octave = config.bins_per_octave;
  if (config.fmax > nyquist)
    throw UsageError(fmt::format("--fmax {} Hz is above Nyquist ({} Hz) of the {} Hz audio: lower "
                                 "--fmax or raise --sr",
                                 config.fmax, nyquist, rate));
  if (fmin > fmax)
    throw UsageError(fmt::format("--fmin {} Hz is above {} {} Hz: lower --fmin or raise --fmax",
                                 fmin, config.fmax > 0 ? "--fmax" : "the default --fmax (Nyquist/2)",
                                 fmax));
  const int n_bins = 1 + static_cast<int>(std::floor(bins_per_octave * std::log2(fmax / fmin) + 1e-9));
  const double spread = std::exp2(1.0 / bins_per_octave) - std::exp2(-1.0 / bins_per_octave);
  for (int k = 0; k < n_bins; ++k) {
    freqs.push_back(fmin * std::exp2(static_cast<double>(k) / bins_per_octave));
    bandwidths.push_back(freqs.back() * spread);
  }
}

long CqtBins::min_samples() const {
  return static_cast<long>(std::ceil(2.0 * sample_rate / bandwidths.front() - 1e-9));
}

void Cqt::require_fits(const CqtBins& bins, long n_samples, const std::string& what) {
  const long need = bins.min_samples();
  if (n_samples < need)
    throw UsageError(fmt::format(
        "{} has {} samples ({:.3f} s) but the CQT's longest window (--fmin {} Hz at {} "
        "--bins-per-octave) is {} samples ({:.3f} s): give at least that much audio, or raise "
        "--fmin or lower --bins-per-octave",
        what, n_samples, n_samples / bins.sample_rate, bins.fmin, bins.bins_per_octave, need,
        need / bins.sample_rate));
}

Cqt::Cqt(const CqtConfig& config, double sample_rate, long n_samples)
    : bins_(config, sample_rate), n_(n_samples), nsgt_(cqt_nsgt(bins_, n_samples)) {}

Cqt::~Cqt() = default;

double Cqt::hop_seconds(int k) const { return nsgt_.hop_seconds(k); }

std::uint64_t Cqt::n_points() const { return nsgt_.n_points(); }

CqtCoefficients Cqt::analyze(const float* signal) const { return CqtCoefficients{nsgt_.analyze(signal)}; }

std::vector<float> Cqt::synthesize(const CqtCoefficients& coefficients) const {
  return nsgt_.synthesize(coefficients.bands);
}

}  // namespace innmf::tf
