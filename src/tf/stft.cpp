#include "innmf/tf/stft.hpp"

#include <fftw3.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <mutex>

#include "innmf/core/error.hpp"
#include "innmf/core/huge_pages.hpp"
#include "innmf/tf/fftw_planner.hpp"

namespace innmf::tf {
namespace {

/// An fftwf_malloc'd array (SIMD-aligned as the new-array execute functions require).
template <typename T>
class FftwBuffer {
 public:
  explicit FftwBuffer(std::size_t count)
      : data_(static_cast<T*>(fftwf_malloc(sizeof(T) * std::max<std::size_t>(count, 1)))) {
    if (!data_) throw std::bad_alloc();
  }
  ~FftwBuffer() { fftwf_free(data_); }
  FftwBuffer(const FftwBuffer&) = delete;
  FftwBuffer& operator=(const FftwBuffer&) = delete;
  T* get() const { return data_; }

 private:
  T* data_;
};

}  // namespace

struct Stft::Plans {
  fftwf_plan forward = nullptr;  // real n_fft → n_fft/2+1 complex
  fftwf_plan inverse = nullptr;  // n_fft/2+1 complex → real n_fft, unnormalised (× n_fft)
  ~Plans() {
    std::lock_guard<std::mutex> lock(fftw_planner_mutex());
    if (forward) fftwf_destroy_plan(forward);
    if (inverse) fftwf_destroy_plan(inverse);
  }
};

Stft::Stft(const StftConfig& config) : config_(config) {
  if (config.n_fft < 2)
    throw UsageError(fmt::format("--n-fft {}: must be at least 2 samples", config.n_fft));
  if (config.hop < 1) throw UsageError(fmt::format("--hop {}: must be at least 1 sample", config.hop));
  if (config.hop > config.n_fft)
    throw UsageError(fmt::format("--hop {} is longer than --n-fft {}: samples between frames "
                                 "would be lost; give --hop {} or less ({} is usual)",
                                 config.hop, config.n_fft, std::max(1, config.n_fft / 2), std::max(1, config.n_fft / 4)));
  window_ = make_window(config.window, config.n_fft);
  plans_ = std::make_unique<Plans>();
  FftwBuffer<float> real(static_cast<std::size_t>(config.n_fft));
  FftwBuffer<fftwf_complex> spectrum(static_cast<std::size_t>(n_bins()));
  std::lock_guard<std::mutex> lock(fftw_planner_mutex());
  plans_->forward = fftwf_plan_dft_r2c_1d(config.n_fft, real.get(), spectrum.get(), FFTW_ESTIMATE);
  plans_->inverse = fftwf_plan_dft_c2r_1d(config.n_fft, spectrum.get(), real.get(),
                                          FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
  if (!plans_->forward || !plans_->inverse)
    throw Error(ExitCode::failure, fmt::format("FFTW could not plan a size-{} FFT", config.n_fft));
}

Stft::~Stft() = default;

void Stft::require_fits(long n_samples, const std::string& what) const {
  if (n_samples < config_.n_fft)
    throw UsageError(fmt::format(
        "--n-fft {} is longer than {} ({} samples): use a smaller --n-fft", config_.n_fft, what,
        n_samples));
  if (n_samples < config_.hop)
    throw UsageError(fmt::format("--hop {} is longer than {} ({} samples): use a smaller --hop",
                                 config_.hop, what, n_samples));
}

template <typename Sink>
void Stft::for_each_frame(const float* signal, long n, Sink&& sink) const {
  const int n_fft = config_.n_fft;
  const long half = n_fft / 2;
  const long frames = n_frames(n);
  // One level of OpenMP over frames; each thread owns its FFT buffers and writes its own rows.
#pragma omp parallel
  {
    FftwBuffer<float> frame(static_cast<std::size_t>(n_fft));
    FftwBuffer<fftwf_complex> spectrum(static_cast<std::size_t>(n_bins()));
    float* x = frame.get();
#pragma omp for schedule(static)
    for (long j = 0; j < frames; ++j) {
      const long start = j * config_.hop - half;  // first sample under the window
      for (long i = 0; i < n_fft; ++i) {
        const long s = start + i;
        x[i] = (s >= 0 && s < n) ? signal[s] * window_[static_cast<std::size_t>(i)] : 0.0f;
      }
      fftwf_execute_dft_r2c(plans_->forward, x, spectrum.get());
      sink(j, spectrum.get());
    }
  }
}

ComplexSpectrogram Stft::analyze(const float* signal, long n) const {
  ComplexSpectrogram result(n_frames(n), n_bins());
  advise_huge_pages(result);
  const int bins = n_bins();
  for_each_frame(signal, n, [&](long j, const fftwf_complex* spectrum) {
    std::memcpy(static_cast<void*>(result.row(j).data()), spectrum,
                sizeof(fftwf_complex) * static_cast<std::size_t>(bins));
  });
  return result;
}

MagnitudeSpectrogram Stft::magnitude(const float* signal, long n) const {
  MagnitudeSpectrogram result(n_frames(n), n_bins());
  advise_huge_pages(result);
  const int bins = n_bins();
  for_each_frame(signal, n, [&](long j, const fftwf_complex* spectrum) {
    float* row = result.row(j).data();
    for (int k = 0; k < bins; ++k)
      row[k] = std::sqrt(spectrum[k][0] * spectrum[k][0] + spectrum[k][1] * spectrum[k][1]);
  });
  return result;
}

bool Stft::covers_every_sample() const {
  // The envelope of synthesize() away from the signal's ends: periodic with period hop.
  const int hop = config_.hop;
  std::vector<double> envelope(static_cast<std::size_t>(hop), 0.0);
  for (int i = 0; i < config_.n_fft; ++i)
    envelope[static_cast<std::size_t>(i % hop)] += static_cast<double>(window_[static_cast<std::size_t>(i)]) *
                                                    window_[static_cast<std::size_t>(i)];
  const auto [lowest, highest] = std::minmax_element(envelope.begin(), envelope.end());
  return *lowest > 1e-8 * *highest;
}

void Stft::require_resynthesis(const std::string& what) const {
  const int hop = config_.hop;
  if (covers_every_sample()) return;
  throw UsageError(fmt::format("--hop {} with the {}-sample {} window (--n-fft): some samples of {} fall "
                               "where every window is 0, so they cannot be resynthesised; use --hop {} "
                               "or less",
                               hop, config_.n_fft, window_name(config_.window), what, config_.n_fft / 2));
}

std::vector<float> Stft::synthesize(const ComplexSpectrogram& spectrum, long n_samples) const {
  return synthesize(spectrum, nullptr, n_samples);
}

std::vector<float> Stft::synthesize(const ComplexSpectrogram& spectrum, const float* gains, long n_samples) const {
  const int n_fft = config_.n_fft;
  const int hop = config_.hop;
  const int bins = n_bins();
  if (spectrum.cols() != bins)
    throw Error(ExitCode::failure, fmt::format("istft: spectrum has {} bins, expected {}",
                                               spectrum.cols(), bins));
  const long frames = spectrum.rows();
  const long half = n_fft / 2;
  // Padded output: sample s of the signal is at s + half.
  const long padded_length = (frames - 1) * hop + n_fft;
  auto sum = zeroed_vector_on_huge_pages<double>(static_cast<std::size_t>(padded_length));
  const float scale = 1.0f / static_cast<float>(n_fft);  // FFTW's inverse is unnormalised

  // Frames that lie `stride` or more apart never overlap: add them in `stride` passes, each
  // pass in parallel, so the sum at every sample is taken in the same order on any thread count.
  const long stride = (n_fft + hop - 1) / hop;
  for (long pass = 0; pass < stride; ++pass) {
#pragma omp parallel
    {
      FftwBuffer<fftwf_complex> bins_buffer(static_cast<std::size_t>(bins));
      FftwBuffer<float> frame(static_cast<std::size_t>(n_fft));
      auto* buffer = reinterpret_cast<std::complex<float>*>(bins_buffer.get());
#pragma omp for schedule(static)
      for (long j = pass; j < frames; j += stride) {
        const std::complex<float>* row = spectrum.row(j).data();
        if (gains == nullptr) {
          std::copy(row, row + bins, buffer);
        } else {
          const float* g = gains + j * bins;
          for (int k = 0; k < bins; ++k) buffer[k] = row[k] * g[k];
        }
        fftwf_execute_dft_c2r(plans_->inverse, bins_buffer.get(), frame.get());
        const long start = j * hop;
        for (long i = 0; i < n_fft; ++i)
          sum[static_cast<std::size_t>(start + i)] += static_cast<double>(window_[static_cast<std::size_t>(i)]) *
                                                      frame.get()[i] * scale;
      }
    }
  }

  // The sum of squared windows at padded position p, over the frames j that cover it
  // (0 ≤ p − j·hop < n_fft): at most `stride` terms, computed where needed rather than stored
  // (it would be another padded_length doubles).
  const auto envelope = [&](long p) {
    const long first = p >= n_fft ? (p - n_fft + hop) / hop : 0;  // ⌈(p − n_fft + 1) / hop⌉
    const long last = std::min(frames - 1, p / hop);
    double e = 0;
    for (long j = first; j <= last; ++j) {
      const double w = window_[static_cast<std::size_t>(p - j * hop)];
      e += w * w;
    }
    return e;
  };
  double peak_envelope = 0;
#pragma omp parallel for reduction(max : peak_envelope) schedule(static)
  for (long p = 0; p < padded_length; ++p) peak_envelope = std::max(peak_envelope, envelope(p));
  const double floor = 1e-8 * peak_envelope;  // below this no frame covers the sample
  auto out = zeroed_vector_on_huge_pages<float>(static_cast<std::size_t>(n_samples));
  const long covered = std::min(n_samples, padded_length - half);
#pragma omp parallel for schedule(static)
  for (long s = 0; s < covered; ++s) {
    const long p = s + half;
    const double e = envelope(p);
    if (e > floor) out[static_cast<std::size_t>(s)] = static_cast<float>(sum[static_cast<std::size_t>(p)] / e);
  }
  return out;
}

std::vector<float> Stft::frame_times(long frames, double sample_rate) const {
  std::vector<float> t(static_cast<std::size_t>(frames));
  for (long j = 0; j < frames; ++j)
    t[static_cast<std::size_t>(j)] = static_cast<float>(static_cast<double>(j) * config_.hop / sample_rate);
  return t;
}

std::vector<float> Stft::bin_frequencies(double sample_rate) const {
  std::vector<float> f(static_cast<std::size_t>(n_bins()));
  for (int k = 0; k < n_bins(); ++k)
    f[static_cast<std::size_t>(k)] = static_cast<float>(k * sample_rate / config_.n_fft);
  return f;
}

}  // namespace innmf::tf
