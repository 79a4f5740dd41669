// Feature extraction under MPI: the file is the same for any number of ranks, and a bad file
// on one rank ends every rank with the same error and no output.

#include <gtest/gtest.h>

#include <filesystem>

#include "innmf/audio/audio_io.hpp"
#include "innmf/core/error.hpp"
#include "innmf/corpus/feature_extraction.hpp"
#include "innmf/io/point_file.hpp"
#include "mpi/shared_dir.hpp"

using namespace innmf;
namespace fs = std::filesystem;
using innmf::testing::SharedDir;

namespace {

/// Writes files of different lengths and frequencies (rank 0), returns their paths.
std::vector<std::string> make_corpus(const mpi::Comm& comm, const SharedDir& dir) {
  std::vector<std::string> files;
  for (int i = 0; i < 5; ++i) {
    const auto path = dir / ("f" + std::to_string(i) + ".wav");
    if (comm.is_root())
      audio::write_wav(path, innmf::testing::tone(300.0 + 100 * i, 8000, 8000 + 3000 * i), "float");
    files.push_back(path);
  }
  comm.barrier();
  return files;
}

void expect_same_points(const std::string& a, const std::string& b) {
  const io::PointFile fa(a), fb(b);
  ASSERT_EQ(fa.clips().size(), fb.clips().size());
  EXPECT_EQ(fa.header().representation_json, fb.header().representation_json);
  for (std::size_t c = 0; c < fa.clips().size(); ++c) {
    EXPECT_EQ(fa.clips()[c].name, fb.clips()[c].name);
    EXPECT_EQ(fa.clips()[c].offset, fb.clips()[c].offset);
    const auto pa = fa.read_clip(c), pb = fb.read_clip(c);
    EXPECT_EQ(pa.m, pb.m) << "clip " << c;  // bit-identical
    EXPECT_EQ(pa.times, pb.times);
    EXPECT_EQ(pa.freqs, pb.freqs);
    EXPECT_EQ(pa.t, pb.t);  // scattered clips
    EXPECT_EQ(pa.f, pb.f);
  }
}

corpus::FeatureConfig small_config() {
  corpus::FeatureConfig config;
  config.stft = {256, 64, tf::WindowKind::sqrt_hann};
  config.clip_seconds = 1.5;  // the longer files are cut into clips
  config.config_json = "{}";
  return config;
}

}  // namespace

TEST(FeaturesMpi, SameFileOnAnyNumberOfRanks) {
  const auto world = mpi::Comm::world();
  SharedDir dir(world);
  const auto files = make_corpus(world, dir);
  const auto config = small_config();
  const auto report = corpus::extract_features(files, config, dir / "world.h5", world);
  EXPECT_EQ(report.files, 5u);
  EXPECT_GT(report.clips, 5u);
  if (world.is_root()) {
    const auto self = mpi::Comm::self();
    corpus::extract_features(files, config, dir / "self.h5", self);
    expect_same_points(dir / "world.h5", dir / "self.h5");
    const io::PointFile file(dir / "world.h5");
    EXPECT_EQ(file.total_points(), report.points);
    // Clip 0 of f0 (1 s of 300 Hz at 8 kHz): the peak of a middle frame is at bin 300/31.25 ≈ 9.6.
    const auto clip = file.read_clip(0);
    const std::size_t bins = clip.freqs.size(), middle = clip.times.size() / 2;
    std::size_t peak = 0;
    for (std::size_t k = 0; k < bins; ++k)
      if (clip.m[middle * bins + k] > clip.m[middle * bins + peak]) peak = k;
    EXPECT_NEAR(clip.freqs[peak], 300.0, 31.25);
  }
}

// Clips beyond a rank's memory budget keep only their counts and are transformed when their turn
// to be written comes: the file is the same as with every clip held, for grid (stft) and
// scattered (cqt, wavelet, a hybrid with sines) clips, with none, some or all clips beyond it.
TEST(FeaturesMpi, ClipsBeyondTheMemoryBudgetAreTransformedAgainToTheSameFile) {
  const auto world = mpi::Comm::world();
  SharedDir dir(world);
  const auto files = make_corpus(world, dir);
  // (stft, cqt and wavelet clips beyond the budget are counted from their length and not
  // transformed before they are written; clips with sines are transformed twice.)
  for (const std::string representation : {"stft", "cqt", "wavelet", "stft:256,sines:128"}) {
    auto config = small_config();
    config.representation = representation;
    config.cqt.fmin = config.wavelet.fmin = 200;
    corpus::extract_features(files, config, dir / "held.h5", world);
    // A clip of 1 s at 8 kHz on the 256/64 STFT: 126 frames × 129 bins × 4 bytes ≈ 65 kB.
    for (const std::size_t budget : {std::size_t{0}, std::size_t{200'000}}) {
      config.held_points_bytes = budget;
      const auto report = corpus::extract_features(files, config, dir / "budget.h5", world);
      if (world.is_root()) {
        expect_same_points(dir / "held.h5", dir / "budget.h5");
        EXPECT_EQ(io::PointFile(dir / "budget.h5").total_points(), report.points);
      }
    }
  }
}

TEST(FeaturesMpi, BadFileOnOneRankStopsEveryRankWithoutOutput) {
  const auto world = mpi::Comm::world();
  SharedDir dir(world);
  auto files = make_corpus(world, dir);
  // The shortest file (goes to the least-loaded rank, the last one when ranks ≥ 2) holds a NaN.
  const auto bad = dir / "bad.wav";
  if (world.is_root()) {
    auto x = innmf::testing::tone(440, 8000, 4000);
    x.samples[1234] = std::nanf("");
    audio::write_wav(bad, x, "float");
  }
  world.barrier();
  files.push_back(bad);
  try {
    corpus::extract_features(files, small_config(), dir / "out.h5", world);
    FAIL() << "no error on rank " << world.rank();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.wav: sample 1234"), std::string::npos) << e.what();
  }
  world.barrier();
  if (world.is_root()) {
    EXPECT_FALSE(fs::exists(dir / "out.h5"));
    for (const auto& entry : fs::directory_iterator(fs::path(dir / "out.h5").parent_path()))
      EXPECT_EQ(entry.path().filename().string().find(".out.h5.tmp"), std::string::npos);
  }
}

TEST(FeaturesMpi, MixedSampleRatesNeedSr) {
  const auto world = mpi::Comm::world();
  SharedDir dir(world);
  if (world.is_root()) {
    audio::write_wav(dir / "a.wav", innmf::testing::tone(440, 8000, 8000));
    audio::write_wav(dir / "b.wav", innmf::testing::tone(440, 16000, 16000));
  }
  world.barrier();
  auto config = small_config();
  EXPECT_THROW(corpus::extract_features({dir / "a.wav", dir / "b.wav"}, config, dir / "o.h5", world),
               UsageError);
  config.sample_rate = 8000;
  const auto report = corpus::extract_features({dir / "a.wav", dir / "b.wav"}, config, dir / "o.h5", world);
  EXPECT_EQ(report.sample_rate, 8000);
  EXPECT_NEAR(report.audio_seconds, 2.0, 1e-9);
}
