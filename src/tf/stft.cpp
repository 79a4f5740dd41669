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
void Stft::for_each_frame(const float* signal, long n, long first_frame, long count, Sink&& sink) const {
  const int n_fft = config_.n_fft;
  const long half = n_fft / 2;
  // One level of OpenMP over frames; each thread owns its FFT buffers and writes its own rows.
#pragma omp parallel
  {
    FftwBuffer<float> frame(static_cast<std::size_t>(n_fft));
    FftwBuffer<fftwf_complex> spectrum(static_cast<std::size_t>(n_bins()));
    float* x = frame.get();
#pragma omp for schedule(static)
    for (long r = 0; r < count; ++r) {
      const long start = (first_frame + r) * config_.hop - half;  // first sample under the window
      for (long i = 0; i < n_fft; ++i) {
        const long s = start + i;
        x[i] = (s >= 0 && s < n) ? signal[s] * window_[static_cast<std::size_t>(i)] : 0.0f;
      }
      fftwf_execute_dft_r2c(plans_->forward, x, spectrum.get());
      sink(r, spectrum.get());
    }
  }
}

void Stft::require_frames(long n, long first_frame, long count) const {
  if (first_frame < 0 || count < 0 || first_frame + count > n_frames(n))
    throw Error(ExitCode::failure, fmt::format("frames {}..{} of an STFT of {} frames", first_frame,
                                               first_frame + count, n_frames(n)));
}

ComplexSpectrogram Stft::analyze(const float* signal, long n) const { return analyze_frames(signal, n, 0, n_frames(n)); }

ComplexSpectrogram Stft::analyze_frames(const float* signal, long n, long first_frame, long count) const {
  require_frames(n, first_frame, count);
  ComplexSpectrogram result(count, n_bins());
  advise_huge_pages(result);
  const int bins = n_bins();
  for_each_frame(signal, n, first_frame, count, [&](long r, const fftwf_complex* spectrum) {
    std::memcpy(static_cast<void*>(result.row(r).data()), spectrum,
                sizeof(fftwf_complex) * static_cast<std::size_t>(bins));
  });
  return result;
}

MagnitudeSpectrogram Stft::magnitude(const float* signal, long n) const {
  MagnitudeSpectrogram result(n_frames(n), n_bins());
  advise_huge_pages(result);
  const int bins = n_bins();
  for_each_frame(signal, n, 0, n_frames(n), [&](long r, const fftwf_complex* spectrum) {
    float* row = result.row(r).data();
    for (int k = 0; k < bins; ++k)
      row[k] = std::sqrt(spectrum[k][0] * spectrum[k][0] + spectrum[k][1] * spectrum[k][1]);
  });
  return result;
}

std::vector<double> Stft::periodic_envelope() const {
  // Σ_m w(i − m·hop)² away from the signal's ends: periodic with period hop.
  const int hop = config_.hop;
  std::vector<double> envelope(static_cast<std::size_t>(hop), 0.0);
  for (int i = 0; i < config_.n_fft; ++i)
    envelope[static_cast<std::size_t>(i % hop)] += static_cast<double>(window_[static_cast<std::size_t>(i)]) *
                                                    window_[static_cast<std::size_t>(i)];
  return envelope;
}

bool Stft::covers_every_sample() const {
  const auto envelope = periodic_envelope();
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
  if (spectrum.rows() != n_frames(n_samples))
    throw Error(ExitCode::failure, fmt::format("istft: {} frames for {} samples, expected {}", spectrum.rows(),
                                               n_samples, n_frames(n_samples)));
  return synthesize_samples(spectrum, gains, 0, n_samples, 0, n_samples);
}

FrameRange Stft::frames_covering(long n_samples, long begin, long end) const {
  const long half = config_.n_fft / 2, hop = config_.hop;
  // Padded position p = s + half is under frame j iff 0 ≤ p − j·hop < n_fft.
  const long first_p = begin + half, last_p = end - 1 + half;
  const long first = first_p >= config_.n_fft ? (first_p - config_.n_fft + hop) / hop : 0;  // ⌈(p − n_fft + 1) / hop⌉
  const long last = std::min(n_frames(n_samples) - 1, last_p / hop);
  return {first, std::max(first, last + 1)};
}

std::vector<float> Stft::synthesize_samples(const ComplexSpectrogram& spectrum, const float* gains, long first_frame,
                                            long n_samples, long begin, long end) const {
  const int n_fft = config_.n_fft;
  const int hop = config_.hop;
  const int bins = n_bins();
  if (spectrum.cols() != bins)
    throw Error(ExitCode::failure, fmt::format("istft: spectrum has {} bins, expected {}",
                                               spectrum.cols(), bins));
  if (begin < 0 || end < begin || end > n_samples)
    throw Error(ExitCode::failure, fmt::format("istft: samples {}..{} of {}", begin, end, n_samples));
  const FrameRange needed = frames_covering(n_samples, begin, end);
  const long last_given = first_frame + spectrum.rows();
  if (begin < end && (first_frame > needed.first || last_given < needed.end))
    throw Error(ExitCode::failure, fmt::format("istft: samples {}..{} need frames {}..{}, given {}..{}", begin, end,
                                               needed.first, needed.end, first_frame, last_given));
  const long half = n_fft / 2;
  const long first_p = begin + half, count = end - begin;  // padded positions [first_p, first_p + count)
  auto sum = zeroed_vector_on_huge_pages<double>(static_cast<std::size_t>(count));
  const float scale = 1.0f / static_cast<float>(n_fft);  // FFTW's inverse is unnormalised

  // Frames that lie `stride` or more apart never overlap: add them in `stride` passes by the
  // global frame index modulo `stride`, each pass in parallel, so the sum at every sample is
  // taken in the same order on any thread count and for any range of samples asked for.
  const long stride = (n_fft + hop - 1) / hop;
  for (long pass = 0; pass < stride; ++pass) {
    const long first_j = needed.first + ((pass - needed.first % stride) + stride) % stride;
#pragma omp parallel
    {
      FftwBuffer<fftwf_complex> bins_buffer(static_cast<std::size_t>(bins));
      FftwBuffer<float> frame(static_cast<std::size_t>(n_fft));
      auto* buffer = reinterpret_cast<std::complex<float>*>(bins_buffer.get());
#pragma omp for schedule(static)
      for (long j = first_j; j < needed.end; j += stride) {
        const std::complex<float>* row = spectrum.row(j - first_frame).data();
        if (gains == nullptr) {
          std::copy(row, row + bins, buffer);
        } else {
          const float* g = gains + (j - first_frame) * bins;
          for (int k = 0; k < bins; ++k) buffer[k] = row[k] * g[k];
        }
        fftwf_execute_dft_c2r(plans_->inverse, bins_buffer.get(), frame.get());
        // The frame's samples at padded j·hop + i that fall in [first_p, first_p + count).
        const long start = j * hop;
        const long i_first = std::max(0L, first_p - start), i_end = std::min<long>(n_fft, first_p + count - start);
        for (long i = i_first; i < i_end; ++i)
          sum[static_cast<std::size_t>(start + i - first_p)] +=
              static_cast<double>(window_[static_cast<std::size_t>(i)]) * frame.get()[i] * scale;
      }
    }
  }

  // The sum of squared windows at padded position p, over the frames j that cover it
  // (0 ≤ p − j·hop < n_fft): at most `stride` terms, computed where needed rather than stored.
  const long total_frames = n_frames(n_samples);
  const auto envelope = [&](long p) {
    const long first = p >= n_fft ? (p - n_fft + hop) / hop : 0;  // ⌈(p − n_fft + 1) / hop⌉
    const long last = std::min(total_frames - 1, p / hop);
    double e = 0;
    for (long j = first; j <= last; ++j) {
      const double w = window_[static_cast<std::size_t>(p - j * hop)];
      e += w * w;
    }
    return e;
  };
  // Below this no frame covers the sample: relative to the envelope's peak away from the ends,
  // which covers_every_sample() judges by the same measure.
  const auto periodic = periodic_envelope();
  const double floor = 1e-8 * *std::max_element(periodic.begin(), periodic.end());
  auto out = zeroed_vector_on_huge_pages<float>(static_cast<std::size_t>(count));
#pragma omp parallel for schedule(static)
  for (long r = 0; r < count; ++r) {
    const double e = envelope(first_p + r);
    if (e > floor) out[static_cast<std::size_t>(r)] = static_cast<float>(sum[static_cast<std::size_t>(r)] / e);
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
