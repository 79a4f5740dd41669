#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "innmf/core/error.hpp"
#include "innmf/io/hdf5.hpp"
#include "innmf/io/point_file.hpp"
#include "test_util.hpp"

using namespace innmf;
using innmf::testing::TempDir;

namespace {

/// Two clips: a 3 × 2 grid and 4 scattered points.
io::PointSetHeader two_clip_header(tf::ClipPoints& grid, tf::ClipPoints& scattered) {
  grid.times = {0.0f, 0.5f, 1.0f};
  grid.freqs = {0.0f, 100.0f};
  grid.m = {1, 2, 3, 4, 5, 6};
  scattered.t = {0.1f, 0.2f, 0.2f, 0.7f};
  scattered.f = {440.0f, 441.5f, 880.25f, 50.0f};
  scattered.m = {0.5f, 0.0f, 2.5f, 1e-6f};
  io::PointSetHeader header;
  header.representation_json = R"({"kind":"test"})";
  header.config_json = R"({"command":"test"})";
  tf::ClipInfo a{"a.wav", "a.wav", 8000, 0, 1.0, 0, 6, 3, 2};
  tf::ClipInfo b{"b.wav#1", "b.wav", 8000, 30, 0.8, 0, 4, 0, 0};
  header.clips = {a, b};
  io::assign_offsets(header.clips);
  return header;
}

/// Writes the two clips of two_clip_header to `path`, deflating m at `compression`.
void write_two_clips(const std::string& path, tf::ClipPoints& grid, tf::ClipPoints& scattered, int compression) {
  io::PointFileWriter writer(path, two_clip_header(grid, scattered), compression);
  writer.write_clip(0, grid);
  writer.write_clip(1, scattered);
  writer.close();
}

std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

}  // namespace

TEST(PointFile, RoundTripKeepsGridAndScatteredClips) {
  TempDir dir;
  tf::ClipPoints grid, scattered;
  const auto header = two_clip_header(grid, scattered);
  io::PointFileWriter writer(dir / "p.h5", header, 4);
  writer.write_clip(0, grid);
  writer.write_clip(1, scattered);
  writer.close();

  const io::PointFile file(dir / "p.h5");
  ASSERT_EQ(file.clips().size(), 2u);
  EXPECT_EQ(file.total_points(), 10u);
  EXPECT_EQ(file.clips()[1].name, "b.wav#1");
  EXPECT_EQ(file.clips()[1].offset, 6u);
  EXPECT_DOUBLE_EQ(file.clips()[1].start, 30.0);
  EXPECT_EQ(file.header().representation_json, header.representation_json);
  EXPECT_EQ(file.header().config_json, header.config_json);

  const auto g = file.read_clip(0);
  ASSERT_TRUE(g.is_grid());
  EXPECT_EQ(g.times, grid.times);
  EXPECT_EQ(g.freqs, grid.freqs);
  EXPECT_EQ(g.m, grid.m);
  EXPECT_FLOAT_EQ(g.time_of(3), 0.5f);   // point 3 = frame 1, bin 1
  EXPECT_FLOAT_EQ(g.freq_of(3), 100.0f);
  const auto s = file.read_clip(1);
  ASSERT_FALSE(s.is_grid());
  EXPECT_EQ(s.t, scattered.t);
  EXPECT_EQ(s.f, scattered.f);
  EXPECT_EQ(s.m, scattered.m);
}

TEST(PointFile, FingerprintSurvivesTheFileAndTellsChangedPointsApart) {
  // `train --resume` knows its points by these digests, so they must not depend on the file.
  TempDir dir;
  tf::ClipPoints grid, scattered;
  write_two_clips(dir / "p.h5", grid, scattered, 4);
  const io::PointFile file(dir / "p.h5");
  EXPECT_EQ(tf::fingerprint(file.read_clip(0)), tf::fingerprint(grid));
  EXPECT_EQ(tf::fingerprint(file.read_clip(1)), tf::fingerprint(scattered));

  EXPECT_NE(tf::fingerprint(grid), tf::fingerprint(scattered));
  EXPECT_NE(tf::fingerprint(grid, 0), tf::fingerprint(grid, 1));  // the salt (a clip's index)
  auto changed = scattered;
  changed.m[3] = std::nextafter(changed.m[3], 1.0f);  // one ulp
  EXPECT_NE(tf::fingerprint(changed), tf::fingerprint(scattered));
  changed = scattered;
  std::swap(changed.f[0], changed.f[1]);
  EXPECT_NE(tf::fingerprint(changed), tf::fingerprint(scattered));
  changed = scattered;
  changed.t.pop_back(), changed.f.pop_back(), changed.m.pop_back();  // odd length: the tail word
  EXPECT_NE(tf::fingerprint(changed), tf::fingerprint(scattered));
  // The same values as a grid and as scattered points are different clips.
  tf::ClipPoints as_scattered;
  for (std::size_t i = 0; i < grid.size(); ++i) {
    as_scattered.t.push_back(grid.time_of(i));
    as_scattered.f.push_back(grid.freq_of(i));
    as_scattered.m.push_back(grid.m[i]);
  }
  EXPECT_NE(tf::fingerprint(as_scattered), tf::fingerprint(grid));
}

TEST(PointFile, SummaryCountsClipsPointsAndFrequencies) {
  TempDir dir;
  tf::ClipPoints grid, scattered;
  write_two_clips(dir / "p.h5", grid, scattered, 0);
  const auto summary = io::summarize(io::PointFile(dir / "p.h5"));
  EXPECT_EQ(summary.clips, 2u);
  EXPECT_EQ(summary.grid_clips, 1u);
  EXPECT_EQ(summary.sources, 2u);
  EXPECT_EQ(summary.points, 10u);
  EXPECT_DOUBLE_EQ(summary.total_seconds, 1.8);
  EXPECT_EQ(summary.unique_frequencies, 6u);  // 0, 100, 440, 441.5, 880.25, 50
  EXPECT_FLOAT_EQ(static_cast<float>(summary.max_frequency), 880.25f);
  EXPECT_FLOAT_EQ(static_cast<float>(summary.max_magnitude), 6.0f);
}

TEST(PointFile, ManyChunksAcrossClipBoundaries) {
  // More points than one 64 Ki chunk, split over clips of awkward sizes.
  TempDir dir;
  io::PointSetHeader header;
  header.representation_json = "{}";
  header.config_json = "{}";
  std::vector<tf::ClipPoints> clips;
  for (int c = 0; c < 5; ++c) {
    tf::ClipPoints p;
    const std::size_t n = 30011 + 7919 * c;
    for (std::size_t i = 0; i < n; ++i) {
      p.t.push_back(static_cast<float>(i) * 1e-3f);
      p.f.push_back(static_cast<float>(c));
      p.m.push_back(static_cast<float>(i % 977));
    }
    header.clips.push_back({"c" + std::to_string(c), "x", 8000, 0, 1, 0, n, 0, 0});
    clips.push_back(std::move(p));
  }
  io::assign_offsets(header.clips);
  io::PointFileWriter writer(dir / "big.h5", header, 1);
  for (std::size_t c = 0; c < clips.size(); ++c) writer.write_clip(c, clips[c]);
  writer.close();
  const io::PointFile file(dir / "big.h5");
  for (std::size_t c = 0; c < clips.size(); ++c) {
    const auto back = file.read_clip(c);
    EXPECT_EQ(back.m, clips[c].m);
    EXPECT_EQ(back.t, clips[c].t);
    EXPECT_EQ(back.f, clips[c].f);
  }
}

TEST(PointFile, RefusesFilesThatAreNotPointSets) {
  TempDir dir;
  EXPECT_NE(input_error_of([&] { io::PointFile(dir / "missing.h5"); }).find("no such file"),
            std::string::npos);
  std::ofstream(dir / "text.h5") << "hello";
  EXPECT_NE(input_error_of([&] { io::PointFile(dir / "text.h5"); }).find("not an HDF5 file"),
            std::string::npos);
  {
    auto file = io::h5::create_file(dir / "model.h5");
    io::h5::write_attribute(file, "format", std::string("innmf.model"));
  }
  EXPECT_NE(input_error_of([&] { io::PointFile(dir / "model.h5"); }).find("'innmf.model' file, not a point set"),
            std::string::npos);
  {
    auto file = io::h5::create_file(dir / "v9.h5");
    io::h5::write_attribute(file, "format", std::string(io::kPointFormat));
    io::h5::write_attribute(file, "format_version", std::int64_t{9});
  }
  EXPECT_NE(input_error_of([&] { io::PointFile(dir / "v9.h5"); }).find("format version 9"),
            std::string::npos);
}

TEST(PointFile, RefusesATruncatedFile) {
  TempDir dir;
  tf::ClipPoints grid, scattered;
  write_two_clips(dir / "p.h5", grid, scattered, 4);
  std::ifstream in(dir / "p.h5", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(dir / "cut.h5", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  const auto message = input_error_of([&] {
    io::PointFile file(dir / "cut.h5");
    for (std::size_t i = 0; i < file.clips().size(); ++i) file.read_clip(i);
  });
  EXPECT_NE(message.find("cut.h5"), std::string::npos) << message;
}

TEST(PointFile, RefusesNegativeOrNanMagnitudes) {
  TempDir dir;
  tf::ClipPoints grid, scattered;
  const auto header = two_clip_header(grid, scattered);
  scattered.m[2] = -1.0f;
  io::PointFileWriter writer(dir / "neg.h5", header, 0);
  writer.write_clip(0, grid);
  writer.write_clip(1, scattered);
  writer.close();
  const io::PointFile file(dir / "neg.h5");
  EXPECT_NO_THROW(file.read_clip(0));
  const auto message = input_error_of([&] { file.read_clip(1); });
  EXPECT_NE(message.find("clip 'b.wav#1' point 2 has magnitude -1"), std::string::npos) << message;
}
