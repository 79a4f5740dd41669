#pragma once
// The point-set file (DESIGN.md §5), HDF5:
//
//   /                     attrs: format = "innmf.points", format_version = 1,
//                                representation (JSON), config (JSON), created_by
//   /clips/name           [n_clips] string
//   /clips/source         [n_clips] string, the audio file each clip was cut from
//   /clips/sample_rate    [n_clips] float64, Hz
//   /clips/start          [n_clips] float64, s: where the clip starts in its source
//   /clips/duration       [n_clips] float64, s
//   /clips/offset         [n_clips] uint64: index of the clip's first point in /points
//   /clips/count          [n_clips] uint64: number of points of the clip
//   /clips/n_times        [n_clips] uint64: grid clips: frame times (0 when scattered)
//   /clips/n_freqs        [n_clips] uint64: grid clips: frequencies (0 when scattered)
//   /points/t             [n_points] float32, s from the clip start   (chunked, shuffle+deflate 1)
//   /points/f             [n_points] float32, Hz                     (chunked, shuffle+deflate 1)
//   /points/m             [n_points] float32, linear magnitude |X| (unnormalised DFT)
//                         (chunked; shuffle+deflate at --compression when > 0)
//
// Points are grouped by clip; a grid clip's points are time-major (all frequencies of the
// first frame, then the next frame, …).

#include <memory>
#include <string>
#include <vector>

#include "innmf/io/hdf5.hpp"
#include "innmf/tf/point_set.hpp"

namespace innmf::io {

inline constexpr const char* kPointFormat = "innmf.points";
inline constexpr std::int64_t kPointFormatVersion = 1;

/// Everything but the points themselves.
struct PointSetHeader {
  std::string representation_json;  ///< e.g. {"kind":"stft","n_fft":1024,"hop":256,...}
  std::string config_json;          ///< the resolved options of the run that wrote the file
  std::vector<tf::ClipInfo> clips;  ///< offset and count must describe consecutive groups
};

/// Sets offset of every clip to the running sum of counts; returns the total point count.
std::uint64_t assign_offsets(std::vector<tf::ClipInfo>& clips);

/// Writes a point file clip by clip, in order, without holding more than one clip.
class PointFileWriter {
 public:
  /// `compression`: deflate level 0–9 of /points/m (t and f are always deflated at level 1).
  PointFileWriter(const std::string& path, const PointSetHeader& header, int compression);
  /// Writes clip `index` (must be the next one) whose point count must match the header.
  void write_clip(std::size_t index, const tf::ClipPoints& points);
  /// Checks that every clip was written and closes the file.
  void close();

 private:
  std::string path_;
  std::vector<tf::ClipInfo> clips_;
  std::size_t next_clip_ = 0;
  h5::Id file_;
  h5::Id points_group_;
  std::unique_ptr<h5::FloatStreamWriter> t_, f_, m_;
};

/// A point file opened for reading. The constructor validates the format and the clip table
/// and throws InputError naming the file on anything wrong.
class PointFile {
 public:
  explicit PointFile(const std::string& path);
  const std::string& path() const { return path_; }
  const PointSetHeader& header() const { return header_; }
  const std::vector<tf::ClipInfo>& clips() const { return header_.clips; }
  std::uint64_t total_points() const;
  /// Reads clip `index` (a hyperslab of /points). Grid clips come back as grids.
  tf::ClipPoints read_clip(std::size_t index) const;
  /// Bytes /points/{t,f,m} take in the file.
  std::uint64_t stored_point_bytes() const;

 private:
  std::string path_;
  PointSetHeader header_;
  h5::Id file_;
};

}  // namespace innmf::io

namespace innmf::io {

/// What `innmf info` reports about a point file.
struct PointSetSummary {
  std::string path;
  std::uint64_t file_bytes = 0;
  std::uint64_t stored_point_bytes = 0;  ///< /points/{t,f,m} after compression
  std::string representation_json;
  std::size_t clips = 0;
  std::size_t grid_clips = 0;
  std::size_t sources = 0;               ///< distinct source files
  std::uint64_t points = 0;
  double total_seconds = 0;
  double min_clip_seconds = 0, median_clip_seconds = 0, max_clip_seconds = 0;
  std::vector<double> sample_rates;      ///< distinct, Hz
  double min_frequency = 0, max_frequency = 0;  ///< Hz
  std::size_t unique_frequencies = 0;
  double min_magnitude = 0, max_magnitude = 0;
};

/// Reads the clip table and every clip's coordinates (grid clips: only their axes).
PointSetSummary summarize(const PointFile& file);

/// The summary as JSON (for scripts) or as aligned text lines (for people).
std::string to_json(const PointSetSummary& summary);
std::string to_text(const PointSetSummary& summary);

}  // namespace innmf::io
