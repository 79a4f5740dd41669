#pragma once
// A rank's points prepared for the factorised loss (DESIGN.md §1, "Factorised evaluation"):
// targets compressed once (y = m^p), the rank's sorted unique frequencies U_f, each clip's
// sorted unique times U_t, and index pairs into them. Grid clips (STFT) keep a dense
// (n_times, n_freqs) target block and a per-column frequency index; no per-point indices.

#include <cstdint>
#include <vector>

#include "innmf/tf/point_set.hpp"

namespace innmf::model {

struct PreparedClip {
  tf::ClipInfo info;
  bool grid = false;
  std::vector<double> unique_times;  ///< U_t of this clip [s], increasing
  std::vector<float> y;              ///< targets m^p: grid (n_times, n_freqs) row-major, else per point
  std::vector<int> freq_index;       ///< grid: per column; scattered: per point → U_f
  std::vector<int> time_index;       ///< scattered only: per point → U_t
  bool all_frequencies = false;      ///< grid clip whose columns are exactly U_f, in order
  std::uint64_t global_index = 0;    ///< the clip's index in the whole corpus (seeds its init)
  std::size_t n_points() const { return y.size(); }
};

struct PreparedPoints {
  std::vector<double> unique_freqs;  ///< U_f of the rank [Hz], increasing
  std::vector<PreparedClip> clips;
  std::uint64_t n_points = 0;
  double max_target = 0;             ///< largest y, for diagnostics
  double mean_target = 0;            ///< mean y over the rank's points
};

/// Largest compression power p of `innmf train` and `innmf nmf` (magnitudes^p): beyond it the
/// targets of ordinary audio overflow float (and no one compresses that way: 0.5 is the paper's).
inline constexpr double kMaxPower = 4.0;

/// Compresses magnitudes (y = m^power, in place: the magnitude arrays become the targets, so
/// the points are never held twice) and builds the unique coordinates and indices.
/// `f_quantum` > 0 snaps frequencies to multiples of it [Hz] (bounds |U_f| for peaks).
PreparedPoints prepare_points(const std::vector<tf::ClipInfo>& infos,
                              std::vector<tf::ClipPoints> clips, double power,
                              double f_quantum = 0);

/// Makes `frequencies` (sorted, unique, holding every one of points.unique_freqs: the union over
/// all ranks, say) the U_f of `points`: re-indexes every clip's freq_index into it and updates
/// all_frequencies. Throws if a frequency of `points` is missing from it.
void use_unique_frequencies(PreparedPoints& points, std::vector<double> frequencies);

}  // namespace innmf::model
