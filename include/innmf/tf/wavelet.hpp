#pragma once
// Morlet wavelet transform as a painless non-stationary Gabor frame in the frequency domain:
// tf::Nsgt (nsgt.hpp, the one frequency-domain filterbank engine) with Gaussian bands, and its
// exact inverse.
//
// References: Torrence, Compo, "A practical guide to wavelet analysis" (BAMS 1998), Table 1:
// the analytic Morlet wavelet in the frequency domain, ψ̂(sω) ∝ H(ω) exp(−(sω − ω0)²/2), ω0 = 6;
// Holighaus, Dörfler, Velasco, Grill (IEEE TASLP 2013) for the NSGT with irregular hops.
//
// Conventions, for a clip of N samples at rate fs (δ = fs/N Hz between FFT bins):
// - scales k = 0..K-1 with centres f_k = fmin · 2^(k/S), K = 1 + floor(S · log2(fmax/fmin))
//   (S scales per octave, so f_{K-1} ≤ fmax);
// - scale k's window is the Morlet wavelet of scale s_k = ω0/(2π f_k) in the frequency domain,
//   peak-normalised: g_k(ν) = exp(−(ν − f_k)² / (2 σ_k²)) for ν ≥ 0 (analytic: no negative
//   frequencies), σ_k = f_k/ω0 [Hz]. Constant Q: f_k / FWHM_k = ω0 / (2 √(2 ln 2)) ≈ 2.55 at
//   ω0 = 6. (Peak-normalised, the Gaussian peaks at exactly ω0/s; Torrence & Compo's
//   energy-normalised wavelet has its Fourier period 1.03 × larger.) In time, |ψ_k(t)| ∝
//   exp(−t² / (2 τ_k²)), τ_k = 1/(2π σ_k) = ω0/(2π f_k) s: ω0/(2π) ≈ 0.95 periods of f_k;
// - truncation: g_k is cut where it falls below kWaveletCutoff = 1e-4 (−80 dB), i.e. to the
//   open interval |ν − f_k| < c·σ_k, c = sqrt(2 ln(1/kWaveletCutoff)) ≈ 4.29; the support is
//   2c·σ_k Hz wide. The same cutoff in time defines the wavelet's duration, 2c·τ_k s;
// - coefficients and times as in nsgt.hpp: M_k is the smallest 2^a·3^b·5^c·7^d ≥ ceil(2cσ_k/δ),
//   coefficient m of scale k sits at time m · hop_k, hop_k = N/M_k samples ≤ 1/(2cσ_k) s =
//   (π/c)·τ_k ≈ 0.73 τ_k: each scale its own hop, proportional to its duration and
//   non-increasing in k (irregular times across scales);
// - scale: a sinusoid of amplitude A at f_k gives |c_k(m)| = A/2 (as the CQT, so the two can
//   be mixed in one point set);
// - two extra bands make the frame cover [0, fs/2] (invertible): a low-pass band, 1 on
//   [0, max(0, f_0 − cσ_0)] and a cos² ramp down to 0 at f_0, and a high-pass band, a sin²
//   ramp up from f_{K-1} to f_{K-1} + cσ_{K-1} and 1 up to fs/2. They serve the inverse only
//   and never become points;
// - adjacent scales must overlap: the Gaussians of f_k and f_{k+1} cross at
//   exp(−x²/2), x = ω0 (2^(1/S) − 1)/(2^(1/S) + 1), which must be ≥ kWaveletMinCrossing = 0.01
//   (else the frame is badly conditioned or has gaps): ω0 ≤ 3.03 (2^(1/S)+1)/(2^(1/S)−1)
//   (9.1 at S = 1, 17.7 at S = 2, 105 at S = 12);
// - a clip must be at least as long as the longest wavelet (scale 0's), 2c·τ_0 s: min_samples();
// - inverse: the canonical dual frame (nsgt.hpp). Exact up to float round-off.
//
// Redundancy: Σ_k M_k ≈ N · Σ_k 2cσ_k / fs, about 6 points per sample at the defaults
// (S = 12, ω0 = 6, fmax = fs/4): the continuous wavelet transform is highly redundant; fewer
// scales per octave or a larger ω0 give fewer points.
//
// Construct Wavelet objects outside parallel regions (FFTW's planner is not thread-safe).

#include <complex>
#include <cstdint>
#include <string>
#include <vector>

#include "innmf/tf/nsgt.hpp"

namespace innmf::tf {

/// Value below which a Morlet window is cut, in frequency and in time (relative to its peak).
inline constexpr double kWaveletCutoff = 1e-4;
/// Smallest value at which adjacent Morlet windows may cross (relative to their peak).
inline constexpr double kWaveletMinCrossing = 1e-2;

/// Declared once (STYLE.md §14): every wavelet option with its meaning and unit.
struct WaveletConfig {
  double fmin = 32.7;         ///< [--fmin] lowest scale's centre f_0 [Hz] (C1), > 0
  double fmax = 0;            ///< [--fmax] highest scale's centre at most this [Hz]; 0: Nyquist/2
  int scales_per_octave = 12; ///< [--scales-per-octave] S ≥ 1
  /// [--omega0] Morlet parameter ω0 (dimensionless): σ_k = f_k/ω0 [Hz], and ω0/(2π) periods of
  /// f_k per standard deviation of the time envelope (0.95 at 6); larger is sharper in
  /// frequency, longer in time. ≥ 3 (the window at 0 Hz, exp(−ω0²/2), must be small for an
  /// analytic wavelet) and small enough for adjacent scales to overlap (see the header
  /// comment). 6: the common choice.
  double omega0 = 6;
};

/// Throws UsageError for options wrong at any sample rate: fmin ≤ 0, fmax < 0,
/// scales_per_octave < 1, omega0 < 3 or too large for scales_per_octave, non-finite values.
void validate(const WaveletConfig& config);

/// The scales at a sample rate, without a signal length: resolved fmax, f_k, σ_k.
/// Throws UsageError (naming the option) as validate(), or if fmax is above Nyquist or below
/// fmin.
struct WaveletScales {
  WaveletScales(const WaveletConfig& config, double sample_rate);
  double sample_rate = 0;       ///< Hz
  double fmin = 0, fmax = 0;    ///< Hz, fmax resolved
  int scales_per_octave = 0;
  double omega0 = 0;
  std::vector<double> freqs;    ///< f_k [Hz], k = 0..K-1
  std::vector<double> sigmas;   ///< σ_k = f_k/ω0 [Hz], the Gaussian's standard deviation
  int n_scales() const { return static_cast<int>(freqs.size()); }
  /// c = sqrt(2 ln(1/kWaveletCutoff)): windows are cut at ±c standard deviations.
  static double cutoff_sigmas();
  /// Support width of scale k's window, 2c·σ_k [Hz].
  double support_hz(int k) const { return 2 * cutoff_sigmas() * sigmas[static_cast<std::size_t>(k)]; }
  /// Duration of scale k's wavelet, 2c·τ_k = c/(π σ_k) [s].
  double duration_seconds(int k) const;
  /// Longest wavelet (scale 0's) in samples (rounded up): the shortest clip accepted.
  long min_samples() const;
  /// Nominal smallest hop (the top scale's), 1/(2c·σ_{K-1}) [s]; a clip's hops are within a
  /// few % below it.
  double min_hop_seconds() const { return 1.0 / support_hz(n_scales() - 1); }
  /// Nominal hop of the middle scale (K/2), 1/(2c·σ_{K/2}) [s].
  double median_hop_seconds() const { return 1.0 / support_hz(n_scales() / 2); }
};

/// Complex coefficients of one clip: bands[0] low-pass, bands[1..K] the scales, bands[K+1]
/// high-pass (M_b entries each; the high-pass band is empty when fmax = Nyquist).
struct WaveletCoefficients {
  std::vector<std::vector<std::complex<float>>> bands;
};

/// The Morlet wavelet transform of clips of one length `n_samples` at one rate.
class Wavelet {
 public:
  /// Throws UsageError for bad options (see WaveletScales) or if n_samples < min_samples(),
  /// saying how many samples (seconds) are needed and which option shortens the wavelet.
  Wavelet(const WaveletConfig& config, double sample_rate, long n_samples);
  ~Wavelet();
  Wavelet(const Wavelet&) = delete;
  Wavelet& operator=(const Wavelet&) = delete;

  const WaveletScales& scales() const { return scales_; }
  int n_scales() const { return scales_.n_scales(); }
  long n_samples() const { return n_; }
  /// M_k for scale k (0..K-1).
  long n_coefficients(int k) const { return nsgt_.n_coefficients(k); }
  /// hop of scale k, N / M_k [s].
  double hop_seconds(int k) const { return nsgt_.hop_seconds(k); }
  /// Σ_k M_k over the scales: the clip's point count.
  std::uint64_t n_points() const { return nsgt_.n_points(); }

  /// OpenMP over bands (each thread writes its own bands).
  WaveletCoefficients analyze(const float* signal) const;
  /// The canonical dual: synthesize(analyze(x)) == x up to round-off. Returns n_samples().
  std::vector<float> synthesize(const WaveletCoefficients& coefficients) const;

  /// Throws UsageError if `n_samples` is shorter than the longest wavelet (`what` names it).
  static void require_fits(const WaveletScales& scales, long n_samples, const std::string& what);

 private:
  WaveletScales scales_;
  long n_ = 0;
  Nsgt nsgt_;  ///< the bands: low-pass, the K scales, high-pass
};

}  // namespace innmf::tf
