#pragma once
// Short-time Fourier transform and its inverse, on FFTW (single precision).
//
// Conventions (the same as librosa.stft(center=True, pad_mode="constant") and
// torch.stft(center=True, pad_mode="constant", normalized=False)):
// - frame j is centred on sample j·hop; the signal is zero-padded by n_fft/2 on both sides;
//   n_frames = 1 + floor(n_samples / hop);
// - X[j, k] = Σ_n w[n] · x[j·hop − n_fft/2 + n] · exp(−2πi·k·n / n_fft), k = 0..n_fft/2
//   (n_fft/2 + 1 bins, unnormalised DFT; |X| of a full-scale sinusoid is ≈ Σw/2);
// - frame time t_j = j·hop / sample_rate [s], bin frequency f_k = k·sample_rate / n_fft [Hz].

#include <Eigen/Core>
#include <complex>
#include <memory>
#include <vector>

#include "innmf/tf/window.hpp"

namespace innmf::tf {

/// Declared once (STYLE.md §14): every STFT option with its meaning and unit.
struct StftConfig {
  int n_fft = 1024;                             ///< window and FFT length [samples]
  int hop = 256;                                ///< frame advance [samples]
  WindowKind window = WindowKind::sqrt_hann;    ///< the paper's analysis/synthesis window
};

/// Frames [first, end) of an STFT: the frames a block of samples needs.
struct FrameRange {
  long first = 0;
  long end = 0;  ///< one past the last
  long count() const { return end - first; }
};

/// Frames × bins, row-major: row j is frame j (time-major, like a point set's order).
using ComplexSpectrogram =
    Eigen::Matrix<std::complex<float>, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MagnitudeSpectrogram = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// An STFT of fixed size: FFTW plans are made once in the constructor (serialised, since
/// FFTW's planner is not thread-safe) and executed from any number of OpenMP threads with
/// FFTW's new-array functions (STYLE.md §11). Plans use FFTW_ESTIMATE so that every rank and
/// every run picks the same algorithm and produces the same bits.
class Stft {
 public:
  /// Throws UsageError if n_fft < 2, hop < 1 or hop > n_fft.
  explicit Stft(const StftConfig& config);
  ~Stft();
  Stft(const Stft&) = delete;
  Stft& operator=(const Stft&) = delete;

  const StftConfig& config() const { return config_; }
  int n_bins() const { return config_.n_fft / 2 + 1; }
  long n_frames(long n_samples) const { return 1 + n_samples / config_.hop; }
  const std::vector<float>& window() const { return window_; }

  /// Throws UsageError (naming --n-fft/--hop and `what`) if `n_samples` is shorter than the
  /// window or the hop.
  void require_fits(long n_samples, const std::string& what) const;

  /// True if overlapping windows cover every sample: the condition of require_resynthesis.
  bool covers_every_sample() const;
  /// Throws UsageError (naming --n-fft, --hop, the window and `what`) unless overlapping
  /// windows cover every sample, i.e. Σ_m w(i − m·hop)² > 10⁻⁸ of its peak for every i
  /// (the condition for synthesize() to return every sample; windows that are 0 at their ends,
  /// like sqrt-hann, fail it at hop = n_fft).
  void require_resynthesis(const std::string& what) const;

  /// (n_frames, n_bins) complex spectrum of `signal` (`n` samples). OpenMP over frames.
  ComplexSpectrogram analyze(const float* signal, long n) const;
  /// (n_frames, n_bins) |X|: the same as analyze(...).cwiseAbs() without the complex matrix.
  MagnitudeSpectrogram magnitude(const float* signal, long n) const;
  /// Rows first_frame … first_frame + count − 1 of analyze(signal, n) (the same bits), without
  /// the others: block-wise processing of a long signal.
  ComplexSpectrogram analyze_frames(const float* signal, long n, long first_frame, long count) const;

  /// Inverse by weighted overlap-add: the synthesis window equals the analysis window and the
  /// sum of squared windows is divided out, so istft(stft(x)) == x wherever that sum is
  /// non-zero (any window, any hop ≤ n_fft). Returns `n_samples` samples.
  std::vector<float> synthesize(const ComplexSpectrogram& spectrum, long n_samples) const;
  /// synthesize(spectrum ⊙ gains) without forming the product (a mask applied frame by frame):
  /// `gains` holds n_frames × n_bins real factors in `spectrum`'s order (frame-major; a
  /// column-major (bins, frames) matrix has this layout); nullptr means all ones.
  std::vector<float> synthesize(const ComplexSpectrogram& spectrum, const float* gains, long n_samples) const;
  /// Samples [begin, end) of synthesize(S, G, n_samples) (the same bits) from the rows of S and G
  /// for frames first_frame … first_frame + spectrum.rows() − 1 only, which must include
  /// frames_covering(n_samples, begin, end) (else Error): block-wise resynthesis of a long signal.
  std::vector<float> synthesize_samples(const ComplexSpectrogram& spectrum, const float* gains, long first_frame,
                                        long n_samples, long begin, long end) const;
  /// The frames of an STFT of `n_samples` samples whose windows reach samples [begin, end).
  FrameRange frames_covering(long n_samples, long begin, long end) const;

  /// t_j [s] for j = 0..n_frames-1 and f_k [Hz] for k = 0..n_bins-1.
  std::vector<float> frame_times(long n_frames, double sample_rate) const;
  std::vector<float> bin_frequencies(double sample_rate) const;

 private:
  struct Plans;
  template <typename Sink>
  void for_each_frame(const float* signal, long n, long first_frame, long count, Sink&& sink) const;
  void require_frames(long n, long first_frame, long count) const;
  std::vector<double> periodic_envelope() const;  ///< (hop) Σ_m w(i − m·hop)², i = 0..hop−1

  StftConfig config_;
  std::vector<float> window_;
  std::unique_ptr<Plans> plans_;
};

}  // namespace innmf::tf
