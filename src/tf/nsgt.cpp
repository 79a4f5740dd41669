#include "innmf/tf/nsgt.hpp"

#include <fftw3.h>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <mutex>

#include "innmf/core/error.hpp"
#include "innmf/tf/fftw_planner.hpp"

namespace innmf::tf {
namespace {

/// fftwf_malloc'd (SIMD-aligned, as the new-array execute functions need), freed on scope exit.
template <typename T>
struct AlignedDeleter {
  void operator()(T* p) const { fftwf_free(p); }
};
template <typename T>
using Aligned = std::unique_ptr<T[], AlignedDeleter<T>>;
template <typename T>
Aligned<T> aligned(std::size_t count) {
  auto* p = static_cast<T*>(fftwf_malloc(sizeof(T) * std::max<std::size_t>(count, 1)));
  if (!p) throw std::bad_alloc();
  return Aligned<T>(p);
}

/// Smallest 2^a·3^b·5^c·7^d ≥ n (sizes FFTW transforms fastest).
long smooth_size(long n) {
  for (long m = std::max(n, 1L);; ++m) {
    long r = m;
    for (long p : {2L, 3L, 5L, 7L})
      while (r % p == 0) r /= p;
    if (r == 1) return m;
  }
}

}  // namespace

std::mutex& fftw_planner_mutex() {
  static std::mutex mutex;
  return mutex;
}

NsgtBand sample_band(double centre, long first, long last, double width, double sample_rate,
                     long n_samples, const std::function<double(double)>& window) {
  const long half = n_samples / 2;  // last FFT bin
  const double delta = sample_rate / static_cast<double>(n_samples);
  NsgtBand band;
  band.centre = centre;
  first = std::max(first, 0L);
  last = std::min(last, half);
  band.first = first;
  for (long j = first; j <= last; ++j) band.g.push_back(static_cast<float>(window(j * delta)));
  const long nominal = static_cast<long>(std::ceil(width / delta - 1e-9));
  band.n_coeffs = band.g.empty() ? 0 : smooth_size(std::max(nominal, static_cast<long>(band.g.size())));
  return band;
}

Nsgt filterbank_nsgt(double rate, long n, const std::vector<double>& centres,
                     const std::vector<double>& half_widths, const std::function<double(int, double)>& window,
                     std::string name) {
  const long half = n / 2;  // last FFT bin
  const double delta = rate / static_cast<double>(n);
  const auto K = static_cast<int>(centres.size());
  const double f0 = centres.front(), low_edge = std::max(0.0, f0 - half_widths.front());
  NsgtBand low = sample_band(0, 0, static_cast<long>(std::ceil(f0 / delta)) - 1, 0.0, rate, n, [&](double nu) {
    if (nu <= low_edge) return 1.0;
    const double c = std::cos(M_PI / 2 * (nu - low_edge) / (f0 - low_edge));
    return c * c;
  });
  std::vector<NsgtBand> bands;
  bands.reserve(static_cast<std::size_t>(K));
  for (int k = 0; k < K; ++k) {
    const double fk = centres[static_cast<std::size_t>(k)], h = half_widths[static_cast<std::size_t>(k)];
    bands.push_back(sample_band(fk, static_cast<long>(std::floor((fk - h) / delta)) + 1,
                                static_cast<long>(std::ceil((fk + h) / delta)) - 1, 2 * h, rate, n,
                                [&](double nu) { return window(k, nu); }));
  }
  const double top = centres.back(), top_edge = top + half_widths.back();
  NsgtBand high = sample_band(rate / 2, static_cast<long>(std::floor(top / delta)) + 1, half, 0.0, rate, n,
                              [&](double nu) {
                                if (nu >= top_edge) return 1.0;
                                const double s = std::sin(M_PI / 2 * (nu - top) / (top_edge - top));
                                return s * s;
                              });
  return Nsgt(rate, n, std::move(low), std::move(bands), std::move(high), std::move(name));
}

void validate_frequency_range(double fmin, double fmax) {
  if (!(fmin > 0) || !std::isfinite(fmin))
    throw UsageError(fmt::format("--fmin {}: must be a positive frequency in Hz", fmin));
  if (!(fmax >= 0) || !std::isfinite(fmax))
    throw UsageError(fmt::format("--fmax {}: must be a positive frequency in Hz (or 0 for Nyquist/2)", fmax));
}

struct Nsgt::Plans {
  fftwf_plan forward = nullptr;  // real N → N/2+1 complex
  fftwf_plan inverse = nullptr;  // N/2+1 complex → real N, unnormalised
  std::map<long, std::pair<fftwf_plan, fftwf_plan>> band;  // M → (backward, forward) c2c
  ~Plans() {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    if (forward) fftwf_destroy_plan(forward);
    if (inverse) fftwf_destroy_plan(inverse);
    for (auto& [m, plans] : band) {
      if (plans.first) fftwf_destroy_plan(plans.first);
      if (plans.second) fftwf_destroy_plan(plans.second);
    }
  }
};

Nsgt::Nsgt(double sample_rate, long n_samples, NsgtBand low_pass, std::vector<NsgtBand> bands,
           NsgtBand high_pass, std::string name)
    : rate_(sample_rate), n_(n_samples), name_(std::move(name)) {
  const long half = n_ / 2;
  const double delta = rate_ / static_cast<double>(n_);
  auto add = [&](NsgtBand&& in) {
    // Broken invariants of a band builder, not bad input.
    if (in.first < 0 || in.first + static_cast<long>(in.g.size()) - 1 > half ||
        (in.g.empty() != (in.n_coeffs == 0)) || in.n_coeffs < static_cast<long>(in.g.size()))
      throw Error(ExitCode::failure,
                  fmt::format("{}: band {} (first bin {}, {} bins, {} coefficients) is not a "
                              "painless band of an {}-sample clip",
                              name_, bands_.size(), in.first, in.g.size(), in.n_coeffs, n_));
    Band band;
    band.centre = in.centre;
    band.first = in.first;
    band.n_coeffs = in.n_coeffs;
    band.g = std::move(in.g);
    bands_.push_back(std::move(band));
  };
  add(std::move(low_pass));
  for (auto& band : bands) add(std::move(band));
  add(std::move(high_pass));

  // Canonical dual: γ_b = g_b / Σ g², the sum taken at every FFT bin (> 0: the bands cover
  // [0, fs/2] with open supports that overlap).
  std::vector<double> energy(static_cast<std::size_t>(half + 1), 0.0);
  for (const auto& band : bands_)
    for (std::size_t n = 0; n < band.g.size(); ++n)
      energy[band.first + n] += static_cast<double>(band.g[n]) * band.g[n];
  for (long j = 0; j <= half; ++j)
    if (!(energy[j] > 1e-12))
      throw Error(ExitCode::failure,
                  fmt::format("{} frame does not cover FFT bin {} ({} Hz)", name_, j, j * delta));
  for (auto& band : bands_) {
    band.dual.resize(band.g.size());
    for (std::size_t n = 0; n < band.g.size(); ++n)
      band.dual[n] = static_cast<float>(band.g[n] / energy[band.first + n]);
  }

  plans_ = std::make_unique<Plans>();
  auto real = aligned<float>(static_cast<std::size_t>(n_));
  auto spectrum = aligned<fftwf_complex>(static_cast<std::size_t>(half + 1));
  std::lock_guard<std::mutex> lock(fftw_planner_mutex());
  plans_->forward = fftwf_plan_dft_r2c_1d(static_cast<int>(n_), real.get(), spectrum.get(), FFTW_ESTIMATE);
  plans_->inverse = fftwf_plan_dft_c2r_1d(static_cast<int>(n_), spectrum.get(), real.get(),
                                          FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
  bool ok = plans_->forward && plans_->inverse;
  for (const auto& band : bands_) {
    if (band.n_coeffs == 0 || plans_->band.count(band.n_coeffs)) continue;
    const auto m = static_cast<int>(band.n_coeffs);
    auto in = aligned<fftwf_complex>(static_cast<std::size_t>(m));
    auto out = aligned<fftwf_complex>(static_cast<std::size_t>(m));
    auto& plans = plans_->band[band.n_coeffs];
    plans.first = fftwf_plan_dft_1d(m, in.get(), out.get(), FFTW_BACKWARD, FFTW_ESTIMATE);
    plans.second = fftwf_plan_dft_1d(m, in.get(), out.get(), FFTW_FORWARD, FFTW_ESTIMATE);
    ok = ok && plans.first && plans.second;
  }
  if (!ok) throw Error(ExitCode::failure, fmt::format("FFTW could not plan the {} of {} samples", name_, n_));
}

Nsgt::~Nsgt() = default;
Nsgt::Nsgt(Nsgt&&) noexcept = default;
Nsgt& Nsgt::operator=(Nsgt&&) noexcept = default;

template <typename Fn>
void Nsgt::for_each_band(Fn&& fn) const {
  long max_m = 1;
  for (const auto& band : bands_) max_m = std::max(max_m, band.n_coeffs);
  const auto n_bands = static_cast<long>(bands_.size());
  // One level of OpenMP over bands; each thread owns its FFT buffers and writes its own bands.
#pragma omp parallel
  {
    auto in = aligned<fftwf_complex>(static_cast<std::size_t>(max_m));
    auto out = aligned<fftwf_complex>(static_cast<std::size_t>(max_m));
#pragma omp for schedule(dynamic, 4)
    for (long b = 0; b < n_bands; ++b)
      if (bands_[static_cast<std::size_t>(b)].n_coeffs > 0) fn(static_cast<std::size_t>(b), in.get(), out.get());
  }
}

double Nsgt::hop_seconds(int k) const {
  return static_cast<double>(n_) / static_cast<double>(n_coefficients(k)) / rate_;
}

std::uint64_t Nsgt::n_points() const {
  std::uint64_t total = 0;
  for (int k = 0; k < n_bands(); ++k) total += static_cast<std::uint64_t>(n_coefficients(k));
  return total;
}

NsgtBands Nsgt::analyze(const float* signal) const {
  const long half = n_ / 2;
  auto real = aligned<float>(static_cast<std::size_t>(n_));
  std::copy(signal, signal + n_, real.get());
  auto spectrum = aligned<fftwf_complex>(static_cast<std::size_t>(half + 1));
  fftwf_execute_dft_r2c(plans_->forward, real.get(), spectrum.get());
  real.reset();

  NsgtBands result(bands_.size());
  const float scale = 1.0f / static_cast<float>(n_);
  const fftwf_complex* X = spectrum.get();
  for_each_band([&](std::size_t b, fftwf_complex* in, fftwf_complex* out) {
    const auto& band = bands_[b];
    const long m = band.n_coeffs;
    std::fill(in[0], in[0] + 2 * m, 0.0f);
    for (std::size_t n = 0; n < band.g.size(); ++n) {
      const float w = band.g[n] * scale;
      in[n][0] = w * X[band.first + n][0];
      in[n][1] = w * X[band.first + n][1];
    }
    fftwf_execute_dft(plans_->band.at(m).first, in, out);
    auto& coeffs = result[b];
    coeffs.resize(static_cast<std::size_t>(m));
    for (long i = 0; i < m; ++i) coeffs[i] = {out[i][0], out[i][1]};
  });
  return result;
}

std::vector<float> Nsgt::synthesize(const NsgtBands& coefficients) const {
  if (coefficients.size() != bands_.size())
    throw Error(ExitCode::failure, fmt::format("inverse {}: {} bands, expected {}", name_,
                                               coefficients.size(), bands_.size()));
  for (std::size_t b = 0; b < bands_.size(); ++b)
    if (static_cast<long>(coefficients[b].size()) != bands_[b].n_coeffs)
      throw Error(ExitCode::failure, fmt::format("inverse {}: band {} has {} coefficients, expected {}",
                                                 name_, b, coefficients[b].size(), bands_[b].n_coeffs));
  const long half = n_ / 2;
  // Each band's FFT in parallel into its own slot, then summed in band order (the same bits on
  // any thread count).
  std::vector<std::vector<std::complex<float>>> spectra(bands_.size());
  for_each_band([&](std::size_t b, fftwf_complex* in, fftwf_complex* out) {
    const auto& band = bands_[b];
    const long m = band.n_coeffs;
    const auto& c = coefficients[b];
    for (long i = 0; i < m; ++i) {
      in[i][0] = c[i].real();
      in[i][1] = c[i].imag();
    }
    fftwf_execute_dft(plans_->band.at(m).second, in, out);
    const float gain = static_cast<float>(n_) / static_cast<float>(m);
    auto& s = spectra[b];
    s.resize(band.dual.size());
    for (std::size_t n = 0; n < s.size(); ++n)
      s[n] = std::complex<float>(out[n][0], out[n][1]) * (band.dual[n] * gain);
  });
  auto spectrum = aligned<fftwf_complex>(static_cast<std::size_t>(half + 1));
  std::fill(spectrum.get()[0], spectrum.get()[0] + 2 * (half + 1), 0.0f);
  for (std::size_t b = 0; b < bands_.size(); ++b)
    for (std::size_t n = 0; n < spectra[b].size(); ++n) {
      spectrum[bands_[b].first + n][0] += spectra[b][n].real();
      spectrum[bands_[b].first + n][1] += spectra[b][n].imag();
    }
  auto real = aligned<float>(static_cast<std::size_t>(n_));
  fftwf_execute_dft_c2r(plans_->inverse, spectrum.get(), real.get());
  std::vector<float> x(static_cast<std::size_t>(n_));
  const float scale = 1.0f / static_cast<float>(n_);
  for (long i = 0; i < n_; ++i) x[i] = real[i] * scale;
  return x;
}

}  // namespace innmf::tf
