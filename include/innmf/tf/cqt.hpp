#pragma once
// Constant-Q transform as a non-stationary Gabor transform (NSGT) in the frequency domain, on
// FFTW (single precision), with its exact inverse. The transform itself is tf::Nsgt (nsgt.hpp,
// the one frequency-domain filterbank engine); Cqt chooses its bands (Hann windows).
//
// References: Velasco, Holighaus, Dörfler, Grill, "Constructing an invertible constant-Q
// transform with nonstationary Gabor frames" (DAFx 2011); Holighaus, Dörfler, Velasco, Grill,
// "A framework for invertible, real-time constant-Q transforms" (IEEE TASLP 2013).
//
// Conventions, for a clip of N samples at rate fs (δ = fs/N Hz between FFT bins):
// - bins f_k = fmin · 2^(k/B), k = 0..K-1, K = 1 + floor(B · log2(fmax/fmin)) (so f_{K-1} ≤ fmax);
// - bandwidth Ω_k = f_k · (2^(1/B) − 2^(−1/B)) (constant Q = f_k/Ω_k); bin k's window is a
//   Hann of full width Ω_k centred on f_k in the frequency domain: g_k(ν) = cos²(π(ν−f_k)/Ω_k);
// - two extra bands make the frame cover [0, fs/2] (painless, invertible): a low-pass band, 1
//   on [0, f_0 − Ω_0/2] and a cos² ramp down to 0 at f_0, and a high-pass band, a sin² ramp up
//   from f_{K-1} to f_{K-1} + Ω_{K-1}/2 and 1 up to fs/2. They serve the inverse only: they
//   are not constant-Q and never become points;
// - X = r2c FFT of the whole clip (N/2+1 bins, unnormalised). Band b's support is the FFT bins
//   j with ν_j = j·δ inside its window's open support, j = a_b .. a_b + L_b − 1. Its M_b
//   coefficients are c_b(m) = (1/N) · Σ_{n<L_b} g_b(ν_{a_b+n}) X[a_b+n] · exp(+2πi·n·m/M_b),
//   m = 0..M_b−1 (an inverse FFT of length M_b ≥ L_b: the band demodulated to baseband);
//   for a CQT bin M_k is the smallest 2^a·3^b·5^c·7^d ≥ ceil(Ω_k/δ) (≥ L_k; FFT-friendly),
//   for the low/high-pass bands the smallest such ≥ L_b;
// - coefficient m of bin k sits at time m · hop_k, hop_k = N / M_k samples ≤ fs/Ω_k (within
//   a few % for long clips; each bin has its own hop, proportional to its window length and
//   non-increasing in k, so times are irregular across bins);
// - scale: a sinusoid of amplitude A at f_k gives |c_k(m)| = A/2 (independent of N and k);
// - the window length of bin k is 2/Ω_k seconds (≈ librosa's filter length Q·fs/f_k); a clip
//   must be at least as long as the longest (bin 0's): min_samples();
// - inverse: the canonical dual frame, X̂(ν_j) = Σ_b γ_b(ν_j) · (N/M_b) · FFT_{M_b}(c_b)[j − a_b]
//   with γ_b = g_b / Σ_b' g_b'² (> 0 at every bin), then x = c2r(X̂) / N. Exact up to float
//   round-off (SNR > 100 dB in the tests).
//
// Plans are made once per length in the constructor (FFTW_ESTIMATE: the same bits on every run
// and rank) and executed with FFTW's new-array functions from any number of threads.
// Construct Cqt objects outside parallel regions (FFTW's planner is not thread-safe).

#include <complex>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "innmf/tf/nsgt.hpp"

namespace innmf::tf {

/// Declared once (STYLE.md §14): every CQT option with its meaning and unit.
struct CqtConfig {
  double fmin = 32.7;        ///< [--fmin] lowest bin centre [Hz] (C1), > 0
  double fmax = 0;           ///< [--fmax] highest bin centre at most this [Hz]; 0: Nyquist/2
  int bins_per_octave = 24;  ///< [--bins-per-octave] ≥ 1
};

/// Throws UsageError for options wrong at any sample rate: fmin ≤ 0, fmax < 0,
/// bins_per_octave < 1, non-finite values.
void validate(const CqtConfig& config);

/// The CQT bins at a sample rate, without a signal length: resolved fmax, f_k, Ω_k.
/// Throws UsageError (naming the option) if fmin ≤ 0, bins_per_octave < 1, fmax above Nyquist
/// or fmax below fmin.
struct CqtBins {
  CqtBins(const CqtConfig& config, double sample_rate);
  double sample_rate = 0;          ///< Hz
  double fmin = 0, fmax = 0;       ///< Hz, fmax resolved
  int bins_per_octave = 0;
  std::vector<double> freqs;       ///< f_k [Hz], k = 0..K-1
  std::vector<double> bandwidths;  ///< Ω_k [Hz]
  int n_bins() const { return static_cast<int>(freqs.size()); }
  /// Longest window (bin 0's), 2/Ω_0 s, in samples (rounded up): the shortest clip accepted.
  long min_samples() const;
  /// Nominal smallest hop (the top bin's), 1/Ω_{K-1} [s]; a clip's hops are within a few % of it.
  double min_hop_seconds() const { return 1.0 / bandwidths.back(); }
  /// Nominal hop of the middle bin (K/2), 1/Ω_{K/2} [s]: half the bins hop further, half less.
  double median_hop_seconds() const { return 1.0 / bandwidths[bandwidths.size() / 2]; }
};

/// Complex coefficients of one clip: bands[0] low-pass, bands[1..K] the CQT bins,
/// bands[K+1] high-pass (M_b entries each; the high-pass band is empty when fmax = Nyquist).
struct CqtCoefficients {
  std::vector<std::vector<std::complex<float>>> bands;
};

/// The CQT of clips of one length `n_samples` at one rate.
class Cqt {
 public:
  /// Throws UsageError for bad options (see CqtBins) or if n_samples < min_samples(), saying
  /// how many samples (seconds) are needed and which option shortens the window.
  Cqt(const CqtConfig& config, double sample_rate, long n_samples);
  ~Cqt();
  Cqt(const Cqt&) = delete;
  Cqt& operator=(const Cqt&) = delete;

  const CqtBins& bins() const { return bins_; }
  int n_bins() const { return bins_.n_bins(); }
  long n_samples() const { return n_; }
  /// M for CQT bin k (0..K-1).
  long n_coefficients(int k) const { return nsgt_.n_coefficients(k); }
  /// hop of CQT bin k, N / M_k [s].
  double hop_seconds(int k) const;
  /// Σ_k M_k over the CQT bins: the clip's point count.
  std::uint64_t n_points() const;

  /// OpenMP over bands (each thread writes its own bands).
  CqtCoefficients analyze(const float* signal) const;
  /// The canonical dual: synthesize(analyze(x)) == x up to round-off. Returns n_samples().
  std::vector<float> synthesize(const CqtCoefficients& coefficients) const;

  /// Throws UsageError if `n_samples` is shorter than the longest window (`what` names it).
  static void require_fits(const CqtBins& bins, long n_samples, const std::string& what);

 private:
  CqtBins bins_;
  long n_ = 0;
  Nsgt nsgt_;  ///< the bands: low-pass, the K bins, high-pass
};

}  // namespace innmf::tf
