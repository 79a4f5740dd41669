#pragma once
// Sinusoidal analysis (DESIGN.md §3, `--repr sines`): the point set of STFT spectral peaks at
// continuous frequencies, each refined by parabolic interpolation of the log magnitude
// (the "quadratically interpolated FFT", QIFFT: J. O. Smith and X. Serra, "PARSHL: an
// analysis/synthesis program for non-harmonic sounds based on a sinusoidal representation",
// ICMC 1987; M. Abe and J. O. Smith, "Design criteria for simple sinusoidal parameter
// estimation based on quadratic interpolation of FFT magnitude peaks", AES 117th Conv., 2004).
//
// Conventions, on tf::Stft's frames (frame j centred on sample j·hop, N = n_fft, window w,
// unnormalised DFT, |X| of a full-scale sinusoid ≈ Σw/2):
// - a peak of frame j is a bin k = 1..N/2−1 with |X_jk| strictly greater than both neighbours
//   (DC and Nyquist are never peaks; a flat top of equal bins is no peak);
// - with a, b, c = ln|X| at k−1, k, k+1, the parabola through them has its vertex at the
//   fractional offset δ̂ = (a − c) / (2(a − 2b + c)) ∈ [−0.5, 0.5] (QIFFT);
// - the log-parabola is exact only for a Gaussian window. Plain QIFFT without zero padding,
//   measured over δ ∈ [−0.5, 0.5] at N = 1024, over-estimates the amplitude by up to
//   +6.2 dB (sqrt-hann, whose transform has zeros at ±1.5 bins), +0.32 dB (hann), +0.40 dB
//   (hamming), +0.09 dB (blackman), and misplaces the frequency by up to 0.044, 0.016, 0.016,
//   0.0066 bin (0.69, 0.25, 0.25, 0.10 Hz at 16 kHz). So the vertex is calibrated against the
//   analysis window itself (the bias correction of Abe & Smith, tabulated exactly instead of
//   fitted): from the window's transform W(ν) = Σ_n w[n]·e^{−2πiνn/N} (ν in bins, W(0) = Σw),
//   the offset δ of a lone sinusoid whose log-parabola vertex is at δ̂ (a monotone table of
//   256 points a bin, inverted by linear interpolation), so f = (k + δ)·fs/N [Hz];
// - its sinusoid amplitude is A = |X_k| / (|W(δ)|/2): at δ = 0 the division by Σw/2, with the
//   window's scalloping loss at δ ≠ 0 divided out too (dB re a full-scale sinusoid:
//   20·log10 A). Residual error for a lone stationary sinusoid in an interior frame, measured
//   over δ ∈ [−0.5, 0.5] at N = 1024 (tests/tf/test_sines.cpp, SinesScalloping):
//     window      amplitude error   frequency error
//     sqrt-hann   ≤ 0.002 dB        ≤ 0.0002 bin (0.003 Hz at 16 kHz)
//     hann        ≤ 0.0005 dB       ≤ 0.00005 bin
//     hamming     ≤ 0.002 dB        ≤ 0.0005 bin (0.007 Hz; its far side lobes pick up the
//                                                 negative-frequency image)
//     blackman    ≤ 0.0005 dB       ≤ 0.00005 bin
//   (the tests hold every window to 0.01 dB and 0.001 bin). Other sinusoids within a few bins,
//   noise, and amplitude or frequency modulation within the frame bias both estimates; frames
//   that overlap the start or end of the signal (zero padding) under-estimate A;
// - the point's magnitude is m = A/2: the CQT's convention in this project (a sinusoid of
//   amplitude A gives A/2, tf::cqt_points), so sines and CQT points mix in one point set on
//   one scale (tf::stft_points' grid holds raw |X| ≈ A·Σw/2, a different scale);
// - side lobes of a strong off-bin sinusoid are local maxima too (below the main peak by about
//   23 dB for sqrt-hann, 31 dB hann, 43 dB hamming, 58 dB blackman): raise --peak-threshold or
//   lower --max-peaks to keep only main lobes.

#include "innmf/tf/point_set.hpp"
#include "innmf/tf/stft.hpp"

namespace innmf::tf {

/// Declared once (STYLE.md §14): every sinusoidal-analysis option with its meaning and unit.
/// The STFT size, hop and window are tf::StftConfig's (--n-fft, --hop, --window).
struct SinesConfig {
  /// [--peak-threshold] keep peaks with 20·log10 A ≥ this [dB re a full-scale sinusoid of
  /// amplitude 1]; finite. −80 dB keeps everything above 16-bit quantisation noise.
  double peak_threshold_db = -80;
  /// [--max-peaks] keep at most this many peaks per frame, the strongest; ≥ 1. 60 covers the
  /// partials of two or three voiced sources below 8 kHz while bounding a noisy frame's points
  /// to ≈ 12 % of a 1024-point STFT frame's 513 bins.
  int max_peaks = 60;
};

/// Throws UsageError naming --peak-threshold (non-finite) or --max-peaks (< 1).
void validate(const SinesConfig& config);

/// Throws UsageError naming --f-quantum when rounding frequencies to multiples of `quantum`
/// [Hz] (0: no rounding) leaves fewer than kMinQuantisedFrequencies steps between 0 Hz and
/// Nyquist (sample_rate / 2 [Hz]): the data would collapse onto a handful of frequencies, some
/// above Nyquist.
inline constexpr int kMinQuantisedFrequencies = 16;
void check_frequency_quantum(double quantum, double sample_rate);

/// The sinusoidal point set of `n` samples at `sample_rate` Hz: a scattered clip with, for each
/// frame j = 0..stft.n_frames(n)−1, up to config.max_peaks peaks (the strongest) whose
/// 20·log10 A ≥ config.peak_threshold_db, as points t = j·hop/sample_rate [s],
/// f = (k + δ)·sample_rate/N [Hz], m = A/2 (linear, ≥ 0). Ordered by frame, then by increasing
/// frequency. Silence (no peak above the threshold) gives an empty clip: the caller reports it.
/// Calls validate(config). OpenMP over frames; the points do not depend on the thread count.
ClipPoints sines_points(const Stft& stft, const float* samples, long n, double sample_rate,
                        const SinesConfig& config);

}  // namespace innmf::tf
