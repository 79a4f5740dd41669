#pragma once
// Time-frequency point sets (DESIGN.md §1, §5): a corpus is a list of clips, each a set of
// points (t [s] from the clip start, f [Hz], m ≥ 0 linear magnitude).
//
// A clip whose points form a complete grid (every frame time × every bin frequency, as an
// STFT) is held densely: its magnitudes plus the two coordinate axes, 4 bytes a point.
// Other clips (peaks, CQT and wavelets with per-band hops) hold explicit (t, f, m) triples.

#include <cstdint>
#include <string>
#include <vector>

#include "innmf/tf/cqt.hpp"
#include "innmf/tf/stft.hpp"
#include "innmf/tf/wavelet.hpp"

namespace innmf::tf {

/// Describes one clip of a corpus. Clips longer than --clip-seconds are cut from a source file
/// into several clips at feature time.
struct ClipInfo {
  std::string name;          ///< unique within the point set, e.g. "speech/a.wav#2"
  std::string source;        ///< the audio file it was cut from
  double sample_rate = 0;    ///< Hz
  double start = 0;          ///< start of the clip within the source [s]
  double duration = 0;       ///< [s]
  std::uint64_t offset = 0;  ///< index of the clip's first point in /points
  std::uint64_t count = 0;   ///< number of points
  std::uint64_t n_times = 0; ///< grid clips: number of frame times, else 0
  std::uint64_t n_freqs = 0; ///< grid clips: number of frequencies, else 0
};

/// The points of one clip.
struct ClipPoints {
  // Grid clips: the axes, and m of size times.size() × freqs.size(), time-major
  // (m[j·n_freqs + k] is at (times[j], freqs[k])). t and f are empty.
  std::vector<float> times;  ///< [s], increasing
  std::vector<float> freqs;  ///< [Hz], increasing
  // Scattered clips: t, f, m of equal length; times and freqs are empty.
  std::vector<float> t, f;
  std::vector<float> m;  ///< linear magnitude ≥ 0

  bool is_grid() const { return !times.empty(); }
  std::size_t size() const { return m.size(); }
  /// (t, f) of point i, for either layout.
  float time_of(std::size_t i) const { return is_grid() ? times[i / freqs.size()] : t[i]; }
  float freq_of(std::size_t i) const { return is_grid() ? freqs[i % freqs.size()] : f[i]; }
};

/// A 64-bit digest of a clip's points (coordinates and magnitudes, bit for bit, and the layout).
/// Equal points give equal digests on every machine; any changed value changes the digest with
/// probability ≈ 1 − 2⁻⁶⁴. Not cryptographic: it tells files apart, it does not authenticate them.
/// `salt` enters the digest too (e.g. the clip's place in a corpus, so that a sum of digests
/// over the clips changes when two clips change places).
std::uint64_t fingerprint(const ClipPoints& points, std::uint64_t salt = 0);

/// The grid point set of a magnitude spectrogram: frame times × bin frequencies.
ClipPoints grid_points(const MagnitudeSpectrogram& magnitude, std::vector<float> times,
                       std::vector<float> freqs);

}  // namespace innmf::tf

namespace innmf::tf {

/// The STFT magnitude point set of `n` samples at `sample_rate` Hz: a grid of
/// stft.n_frames(n) frame times × stft.n_bins() bin frequencies.
ClipPoints stft_points(const Stft& stft, const float* samples, long n, double sample_rate);

}  // namespace innmf::tf

namespace innmf::tf {

/// The CQT magnitude point set of cqt.n_samples() samples: a scattered clip of cqt.n_points()
/// points, bin by bin (k = 0..K-1, increasing f), each bin's coefficients in time order:
/// t = m · hop_k [s] (m = 0..M_k−1), f = f_k [Hz], m = |c_k(m)| (a sinusoid of amplitude A at
/// f_k gives A/2). The low- and high-pass bands of the frame are not points.
ClipPoints cqt_points(const Cqt& cqt, const float* samples);

/// The Morlet wavelet magnitude point set of wavelet.n_samples() samples: a scattered clip of
/// wavelet.n_points() points, scale by scale (k = 0..K-1, increasing f), each scale's
/// coefficients in time order: t = m · hop_k [s] (m = 0..M_k−1), f = f_k [Hz], m = |c_k(m)|
/// (a sinusoid of amplitude A at f_k gives A/2, as cqt_points). The low- and high-pass bands
/// of the frame are not points.
ClipPoints wavelet_points(const Wavelet& wavelet, const float* samples);

}  // namespace innmf::tf
