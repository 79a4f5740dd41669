#pragma once
// The one engine for filterbanks in the frequency domain (DESIGN.md §3): a painless
// non-stationary Gabor transform (NSGT) of a whole clip on FFTW (single precision), with its
// canonical dual inverse. tf::Cqt (Hann bands) and tf::Wavelet (Gaussian, Morlet bands) only
// choose the bands.
//
// References: Balazs, Dörfler, Jaillet, Holighaus, Velasco, "Theory, implementation and
// applications of nonstationary Gabor frames" (J. Comput. Appl. Math. 2011), §3 (painless
// case, diagonal frame operator); Holighaus, Dörfler, Velasco, Grill, "A framework for
// invertible, real-time constant-Q transforms" (IEEE TASLP 2013).
//
// Conventions, for a clip of N samples at rate fs (δ = fs/N Hz between FFT bins):
// - X = r2c FFT of the whole clip (N/2+1 bins, unnormalised);
// - a band b is a window g_b sampled at the FFT bins of its support, j = a_b .. a_b + L_b − 1
//   (0 ≤ a_b, a_b + L_b − 1 ≤ N/2), and a coefficient count M_b ≥ L_b (painless: the frame
//   operator is diagonal in frequency). Its coefficients are
//   c_b(m) = (1/N) · Σ_{n<L_b} g_b(ν_{a_b+n}) X[a_b+n] · exp(+2πi·n·m/M_b), m = 0..M_b−1
//   (an inverse FFT of length M_b: the band demodulated to baseband). Coefficient m sits at
//   time m · hop_b, hop_b = N / M_b samples;
// - scale: a sinusoid of amplitude A at an FFT bin where g_b = 1 gives |c_b(m)| = A/2;
// - the bands are: a low-pass completion band, K analysis bands (the ones that become points),
//   a high-pass completion band. The completion bands make Σ_b g_b² > 0 at every FFT bin
//   0..N/2 (checked), so the frame is invertible; either may be empty (L_b = M_b = 0);
// - inverse: the canonical dual frame, X̂(ν_j) = Σ_b γ_b(ν_j) · (N/M_b) · FFT_{M_b}(c_b)[j − a_b]
//   with γ_b = g_b / Σ_b' g_b'², then x = c2r(X̂) / N: exact up to float round-off.
//
// Plans are made once per length in the constructor (FFTW_ESTIMATE: the same bits on every run
// and rank) and executed with FFTW's new-array functions from any number of threads.
// Construct Nsgt objects outside parallel regions (FFTW's planner is not thread-safe).

#include <complex>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace innmf::tf {

/// One band of the frame: its window sampled on the clip's FFT bins.
struct NsgtBand {
  double centre = 0;      ///< f_b [Hz] (the completion bands: 0 and fs/2; informational)
  long first = 0;         ///< a_b, first FFT bin of the support
  std::vector<float> g;   ///< g_b at FFT bins first .. first + L_b − 1, L_b values
  long n_coeffs = 0;      ///< M_b ≥ L_b (0 iff g is empty)
};

/// Samples `window(ν)` (ν [Hz]) at the FFT bins j = first..last (clipped to 0..N/2) of a clip
/// of `n_samples` at `sample_rate`, ν_j = j · fs/N. M_b is the smallest 2^a·3^b·5^c·7^d
/// (FFT-friendly) ≥ max(ceil(width/δ), L_b): `width` [Hz] is the window's nominal support,
/// 0 to size M_b from L_b alone (completion bands); rounding M_b from the width rather than
/// from the integer count L_b makes hops follow 1/width smoothly and monotonically.
NsgtBand sample_band(double centre, long first, long last, double width, double sample_rate,
                     long n_samples, const std::function<double(double)>& window);

/// The bands of a constant-Q filterbank for clips of `n_samples` at `sample_rate`, completed to
/// a painless frame of [0, fs/2]: analysis band k (k = 0..K-1, centres increasing) is
/// `window(k, ν)` on the FFT bins strictly inside (f_k − h_k, f_k + h_k), h_k = half_widths[k]
/// [Hz], its M_k sized from the width 2h_k; the low-pass band is 1 up to max(0, f_0 − h_0) and
/// a cos² ramp down to 0 at f_0; the high-pass band a sin² ramp up from f_{K-1} to
/// f_{K-1} + h_{K-1} and 1 up to fs/2. `name` names the transform in errors ("CQT").
class Nsgt;
Nsgt filterbank_nsgt(double sample_rate, long n_samples, const std::vector<double>& centres,
                     const std::vector<double>& half_widths,
                     const std::function<double(int, double)>& window, std::string name);

/// Throws UsageError naming --fmin / --fmax unless fmin > 0 and fmax ≥ 0 are finite (fmax 0:
/// the default, Nyquist/2).
void validate_frequency_range(double fmin, double fmax);

/// The coefficients of one clip: [0] low-pass, [1..K] the analysis bands, [K+1] high-pass,
/// M_b complex values each.
using NsgtBands = std::vector<std::vector<std::complex<float>>>;

/// A painless NSGT of clips of one length at one rate.
class Nsgt {
 public:
  /// `name` names the transform in error messages ("CQT"). Throws Error if the bands leave an
  /// FFT bin uncovered (a broken band builder) or FFTW cannot plan.
  Nsgt(double sample_rate, long n_samples, NsgtBand low_pass, std::vector<NsgtBand> bands,
       NsgtBand high_pass, std::string name);
  ~Nsgt();
  Nsgt(Nsgt&&) noexcept;
  Nsgt& operator=(Nsgt&&) noexcept;
  Nsgt(const Nsgt&) = delete;
  Nsgt& operator=(const Nsgt&) = delete;

  double sample_rate() const { return rate_; }
  long n_samples() const { return n_; }
  /// K, the analysis bands (completion bands excluded).
  int n_bands() const { return static_cast<int>(bands_.size()) - 2; }
  /// f_k [Hz] of analysis band k (0..K-1).
  double centre(int k) const { return band(k).centre; }
  /// M_k of analysis band k (0..K-1).
  long n_coefficients(int k) const { return band(k).n_coeffs; }
  /// hop of analysis band k, N / M_k [s].
  double hop_seconds(int k) const;
  /// Σ_k M_k over the analysis bands: the clip's point count.
  std::uint64_t n_points() const;

  /// OpenMP over bands (each thread writes its own bands). K+2 bands, see NsgtBands.
  NsgtBands analyze(const float* signal) const;
  /// The canonical dual: synthesize(analyze(x)) == x up to round-off. Returns n_samples().
  /// Throws Error if the band count or a band's length does not match.
  std::vector<float> synthesize(const NsgtBands& coefficients) const;

 private:
  struct Band {
    double centre = 0;        ///< Hz
    long first = 0;           ///< a_b
    long n_coeffs = 0;        ///< M_b (0 for an empty band)
    std::vector<float> g;     ///< window at the support bins, L_b values
    std::vector<float> dual;  ///< γ_b at the support bins
  };
  struct Plans;
  const Band& band(int k) const { return bands_[static_cast<std::size_t>(k) + 1]; }
  /// fn(b, in, out) for every non-empty band b, OpenMP over bands; in/out: the thread's
  /// SIMD-aligned buffers of max_b M_b complex values. fn must not throw.
  template <typename Fn>
  void for_each_band(Fn&& fn) const;

  double rate_ = 0;  ///< Hz
  long n_ = 0;       ///< N, samples
  std::string name_;
  std::vector<Band> bands_;  ///< K + 2: low-pass, analysis bands, high-pass
  std::unique_ptr<Plans> plans_;
};

}  // namespace innmf::tf
