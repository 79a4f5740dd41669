#include "innmf/io/point_file.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <memory>
#include <fmt/format.h>

#include "innmf/core/error.hpp"
#include "innmf/tf/representation.hpp"

namespace innmf::io {

std::uint64_t assign_offsets(std::vector<tf::ClipInfo>& clips) {
  std::uint64_t offset = 0;
  for (auto& clip : clips) {
    clip.offset = offset;
    offset += clip.count;
  }
  return offset;
}

PointFileWriter::PointFileWriter(const std::string& path, const PointSetHeader& header,
                                 int compression)
    : path_(path), clips_(header.clips) {
  file_ = h5::create_file(path);
  h5::write_attribute(file_, "format", std::string(kPointFormat));
  h5::write_attribute(file_, "format_version", kPointFormatVersion);
  h5::write_attribute(file_, "representation", header.representation_json);
  h5::write_attribute(file_, "config", header.config_json);
  h5::write_attribute(file_, "created_by", std::string("innmf " INNMF_VERSION));

  h5::Id clips_group = h5::create_group(file_, "clips");
  std::vector<std::string> names, sources;
  std::vector<double> rates, starts, durations;
  std::vector<std::uint64_t> offsets, counts, n_times, n_freqs;
  std::uint64_t expected_offset = 0;
  for (const auto& clip : clips_) {
    if (clip.offset != expected_offset)
      throw Error(ExitCode::failure, "PointFileWriter: clip offsets are not consecutive");
    expected_offset += clip.count;
    names.push_back(clip.name);
    sources.push_back(clip.source);
    rates.push_back(clip.sample_rate);
    starts.push_back(clip.start);
    durations.push_back(clip.duration);
    offsets.push_back(clip.offset);
    counts.push_back(clip.count);
    n_times.push_back(clip.n_times);
    n_freqs.push_back(clip.n_freqs);
  }
  h5::write_strings(clips_group, "name", names);
  h5::write_strings(clips_group, "source", sources);
  h5::write_vector(clips_group, "sample_rate", rates, "Hz");
  h5::write_vector(clips_group, "start", starts, "s");
  h5::write_vector(clips_group, "duration", durations, "s");
  h5::write_vector(clips_group, "offset", offsets, "points");
  h5::write_vector(clips_group, "count", counts, "points");
  h5::write_vector(clips_group, "n_times", n_times, "frames");
  h5::write_vector(clips_group, "n_freqs", n_freqs, "bins");

  points_group_ = h5::create_group(file_, "points");
  const std::uint64_t total = expected_offset;
  // Coordinates repeat (a grid clip's t is each frame time n_freqs times, its f the same bins
  // every frame): shuffle + deflate level 1 shrinks them ~300× at little cost. Magnitudes
  // shrink only ~1.2× under deflate, at several times the cost of everything else, so their
  // level is the caller's choice (default 0: none).
  constexpr int kCoordinateDeflate = 1;
  t_ = std::make_unique<h5::FloatStreamWriter>(points_group_, "t", total, "s", kCoordinateDeflate);
  f_ = std::make_unique<h5::FloatStreamWriter>(points_group_, "f", total, "Hz", kCoordinateDeflate);
  m_ = std::make_unique<h5::FloatStreamWriter>(points_group_, "m", total,
                                               "linear magnitude (unnormalised DFT)", compression);
}

void PointFileWriter::write_clip(std::size_t index, const tf::ClipPoints& points) {
  if (index != next_clip_ || index >= clips_.size())
    throw Error(ExitCode::failure, fmt::format("PointFileWriter: clip {} written out of order", index));
  if (points.size() != clips_[index].count)
    throw Error(ExitCode::failure, fmt::format("PointFileWriter: clip {} has {} points, header says {}",
                                               index, points.size(), clips_[index].count));
  if (points.is_grid()) {
    // Expand the axes frame by frame: t is the frame time repeated, f the bin frequencies.
    std::vector<float> repeated_time(points.freqs.size());
    for (float time : points.times) {
      std::fill(repeated_time.begin(), repeated_time.end(), time);
      t_->append(repeated_time.data(), repeated_time.size());
      f_->append(points.freqs.data(), points.freqs.size());
    }
  } else {
    t_->append(points.t.data(), points.t.size());
    f_->append(points.f.data(), points.f.size());
  }
  m_->append(points.m.data(), points.m.size());
  ++next_clip_;
}

void PointFileWriter::close() {
  if (next_clip_ != clips_.size())
    throw Error(ExitCode::failure, fmt::format("PointFileWriter: {} of {} clips written",
                                               next_clip_, clips_.size()));
  t_->finish();
  f_->finish();
  m_->finish();
  t_.reset();
  f_.reset();
  m_.reset();
  points_group_.reset();
  if (H5Fflush(file_, H5F_SCOPE_GLOBAL) < 0)
    throw InputError(fmt::format("{}: flushing the HDF5 file failed: is the disk full?", path_));
  file_.reset();
}

PointFile::PointFile(const std::string& path) : path_(path) {
  if (!h5::is_hdf5_file(path)) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      throw InputError(fmt::format("{}: no such file: check the path", path));
    if (std::filesystem::is_directory(path, ec))
      throw InputError(fmt::format("{}: is a folder: give a point file written by `innmf features`", path));
    throw InputError(fmt::format(
        "{}: not an HDF5 file (corrupt or truncated?): regenerate it with `innmf features`", path));
  }
  try {
    file_ = h5::open_file_read(path, "regenerate it with `innmf features`");
    if (!h5::has_attribute(file_, "format"))
      throw InputError("no 'format' attribute: not written by innmf");
    const auto format = h5::read_string_attribute(file_, "format");
    if (format != kPointFormat)
      throw InputError(fmt::format("is an '{}' file, not a point set: give a file written by "
                                   "`innmf features`",
                                   format));
    const auto version = h5::read_int_attribute(file_, "format_version");
    if (version != kPointFormatVersion)
      throw InputError(fmt::format("point-set format version {}, this innmf reads version {}: "
                                   "regenerate it with this version's `innmf features`",
                                   version, kPointFormatVersion));
    header_.representation_json = h5::read_string_attribute(file_, "representation");
    header_.config_json = h5::read_string_attribute(file_, "config");

    h5::Id clips = h5::open_group(file_, "clips");
    const auto names = h5::read_strings(clips, "name");
    const auto sources = h5::read_strings(clips, "source");
    const auto rates = h5::read_vector<double>(clips, "sample_rate");
    const auto starts = h5::read_vector<double>(clips, "start");
    const auto durations = h5::read_vector<double>(clips, "duration");
    const auto offsets = h5::read_vector<std::uint64_t>(clips, "offset");
    const auto counts = h5::read_vector<std::uint64_t>(clips, "count");
    const auto n_times = h5::read_vector<std::uint64_t>(clips, "n_times");
    const auto n_freqs = h5::read_vector<std::uint64_t>(clips, "n_freqs");
    const std::size_t n = names.size();
    for (std::size_t size : {sources.size(), rates.size(), starts.size(), durations.size(),
                             offsets.size(), counts.size(), n_times.size(), n_freqs.size()})
      if (size != n) throw InputError("the /clips datasets have different lengths");
    std::uint64_t expected_offset = 0;
    for (std::size_t i = 0; i < n; ++i) {
      tf::ClipInfo clip{names[i], sources[i], rates[i], starts[i], durations[i],
                        offsets[i], counts[i], n_times[i], n_freqs[i]};
      if (clip.offset != expected_offset)
        throw InputError(fmt::format("clip {} ('{}') starts at point {}, expected {}", i,
                                     clip.name, clip.offset, expected_offset));
      if (clip.n_times * clip.n_freqs != 0 && clip.n_times * clip.n_freqs != clip.count)
        throw InputError(fmt::format("clip '{}': grid {} × {} does not hold its {} points",
                                     clip.name, clip.n_times, clip.n_freqs, clip.count));
      expected_offset += clip.count;
      header_.clips.push_back(std::move(clip));
    }
    for (const char* name : {"points/t", "points/f", "points/m"}) {
      const auto length = h5::dataset_length(file_, name);
      if (length != expected_offset)
        throw InputError(fmt::format("/{} has {} points, the clip table {}", name, length,
                                     expected_offset));
    }
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path, e.what()));
  }
}

std::uint64_t PointFile::total_points() const {
  return header_.clips.empty() ? 0 : header_.clips.back().offset + header_.clips.back().count;
}

tf::ClipPoints PointFile::read_clip(std::size_t index) const {
  const auto& clip = header_.clips.at(index);
  tf::ClipPoints points;
  try {
    points.m = h5::read_float_slab(file_, "points/m", clip.offset, clip.count);
    if (clip.n_times > 0 && clip.n_freqs > 0) {
      // A grid's axes only: its first row of frequencies and every n_freqs-th time.
      points.times = h5::read_float_slab(file_, "points/t", clip.offset, clip.n_times, clip.n_freqs);
      points.freqs = h5::read_float_slab(file_, "points/f", clip.offset, clip.n_freqs);
    } else {
      points.t = h5::read_float_slab(file_, "points/t", clip.offset, clip.count);
      points.f = h5::read_float_slab(file_, "points/f", clip.offset, clip.count);
    }
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: clip '{}': {}", path_, clip.name, e.what()));
  }
  for (std::size_t i = 0; i < points.m.size(); ++i) {
    if (!(points.m[i] >= 0.0f) || !std::isfinite(points.m[i]))
      throw InputError(fmt::format("{}: clip '{}' point {} has magnitude {}: magnitudes must be "
                                   "finite and non-negative; regenerate the file",
                                   path_, clip.name, i, points.m[i]));
  }
  return points;
}

std::uint64_t PointFile::stored_point_bytes() const {
  return h5::storage_bytes(file_, "points/t") + h5::storage_bytes(file_, "points/f") +
         h5::storage_bytes(file_, "points/m");
}

}  // namespace innmf::io

#include <nlohmann/json.hpp>
#include <set>

namespace innmf::io {

PointSetSummary summarize(const PointFile& file) {
  PointSetSummary s;
  s.path = file.path();
  std::error_code ec;
  s.file_bytes = std::filesystem::file_size(file.path(), ec);
  s.stored_point_bytes = file.stored_point_bytes();
  s.representation_json = file.header().representation_json;
  s.clips = file.clips().size();
  s.points = file.total_points();
  std::set<std::string> sources;
  std::set<double> rates;
  std::set<float> frequencies;
  std::vector<double> durations;
  float min_m = std::numeric_limits<float>::infinity(), max_m = 0;
  for (std::size_t i = 0; i < file.clips().size(); ++i) {
    const auto& clip = file.clips()[i];
    sources.insert(clip.source);
    rates.insert(clip.sample_rate);
    durations.push_back(clip.duration);
    s.total_seconds += clip.duration;
    if (clip.n_times > 0) ++s.grid_clips;
    const auto points = file.read_clip(i);
    if (points.is_grid())
      frequencies.insert(points.freqs.begin(), points.freqs.end());
    else
      frequencies.insert(points.f.begin(), points.f.end());
    for (float m : points.m) {
      min_m = std::min(min_m, m);
      max_m = std::max(max_m, m);
    }
  }
  s.sources = sources.size();
  s.sample_rates.assign(rates.begin(), rates.end());
  if (!durations.empty()) {
    std::sort(durations.begin(), durations.end());
    s.min_clip_seconds = durations.front();
    s.max_clip_seconds = durations.back();
    s.median_clip_seconds = durations[durations.size() / 2];
  }
  if (!frequencies.empty()) {
    s.min_frequency = *frequencies.begin();
    s.max_frequency = *frequencies.rbegin();
  }
  s.unique_frequencies = frequencies.size();
  if (s.points > 0) {
    s.min_magnitude = min_m;
    s.max_magnitude = max_m;
  }
  return s;
}

std::string to_json(const PointSetSummary& s) {
  nlohmann::json j{{"path", s.path},
                   {"format", kPointFormat},
                   {"format_version", kPointFormatVersion},
                   {"file_bytes", s.file_bytes},
                   {"stored_point_bytes", s.stored_point_bytes},
                   {"representation", nlohmann::json::parse(s.representation_json, nullptr, false)},
                   {"clips", s.clips},
                   {"grid_clips", s.grid_clips},
                   {"sources", s.sources},
                   {"points", s.points},
                   {"total_seconds", s.total_seconds},
                   {"clip_seconds", {{"min", s.min_clip_seconds}, {"median", s.median_clip_seconds},
                                     {"max", s.max_clip_seconds}}},
                   {"sample_rates", s.sample_rates},
                   {"frequency_hz", {{"min", s.min_frequency}, {"max", s.max_frequency},
                                     {"unique", s.unique_frequencies}}},
                   {"magnitude", {{"min", s.min_magnitude}, {"max", s.max_magnitude}}}};
  return j.dump(2);
}

std::string to_text(const PointSetSummary& s) {
  std::string rates;
  for (double r : s.sample_rates) rates += fmt::format("{}{} Hz", rates.empty() ? "" : ", ", r);
  const double raw_bytes = 12.0 * static_cast<double>(s.points);
  const auto parsed = nlohmann::json::parse(s.representation_json, nullptr, false);
  const std::string representation =
      parsed.is_object() ? tf::describe_representation(parsed) : s.representation_json;
  std::string out;
  out += fmt::format("{:<16}{}\n", "file", s.path);
  out += fmt::format("{:<16}innmf point set, format version {}\n", "format", kPointFormatVersion);
  out += fmt::format("{:<16}{}\n", "representation", representation);
  out += fmt::format("{:<16}{}\n", "sample rate", rates.empty() ? "-" : rates);
  out += fmt::format("{:<16}{} ({} grid) from {} source file{}\n", "clips", s.clips, s.grid_clips,
                     s.sources, s.sources == 1 ? "" : "s");
  out += fmt::format("{:<16}{:.2f} s in all; per clip min {:.2f} / median {:.2f} / max {:.2f} s\n",
                     "duration", s.total_seconds, s.min_clip_seconds, s.median_clip_seconds,
                     s.max_clip_seconds);
  out += fmt::format("{:<16}{}\n", "points", s.points);
  out += fmt::format("{:<16}{:.1f} – {:.1f} Hz, {} distinct\n", "frequencies", s.min_frequency,
                     s.max_frequency, s.unique_frequencies);
  out += fmt::format("{:<16}{:.3g} – {:.3g}\n", "magnitudes", s.min_magnitude, s.max_magnitude);
  out += fmt::format("{:<16}{:.1f} MB on disk; points {:.1f} MB stored, {:.2f} B/point ({:.1f}× "
                     "compression)\n",
                     "size", s.file_bytes / 1e6, s.stored_point_bytes / 1e6,
                     s.points ? s.stored_point_bytes / static_cast<double>(s.points) : 0.0,
                     s.stored_point_bytes ? raw_bytes / s.stored_point_bytes : 0.0);
  return out;
}

}  // namespace innmf::io
