// Distributed training: any number of ranks learns the same model (the loss curve agrees to
// float round-off with a single-rank run), and one rank's bad file stops every rank.

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "innmf/audio/audio_io.hpp"
#include "innmf/core/error.hpp"
#include "innmf/corpus/feature_extraction.hpp"
#include "innmf/io/innmf_model_file.hpp"
#include "innmf/train/trainer.hpp"
#include "test_util.hpp"

using namespace innmf;

namespace {

/// A shared temporary folder: rank 0 creates it, everyone uses it.
struct SharedFolder {
  explicit SharedFolder(const mpi::Comm& comm) : comm(comm) {
    if (comm.is_root()) local = std::make_unique<innmf::testing::TempDir>();
    path = comm.is_root() ? local->path() : "";
    comm.broadcast(path);
  }
  ~SharedFolder() { comm.barrier(); }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
  const mpi::Comm& comm;
  std::unique_ptr<innmf::testing::TempDir> local;
  std::string path;
};

train::TrainConfig small_training() {
  train::TrainConfig config;
  config.model.rank = 4;
  config.model.hidden = 16;
  config.model.layers = 3;
  config.epochs = 30;
  config.config_json = "{}";
  return config;
}

}  // namespace

TEST(TrainMpi, LossCurveIsTheSameOnAnyNumberOfRanks) {
  const auto world = mpi::Comm::world();
  SharedFolder dir(world);
  if (world.is_root()) {
    // Six clips of different lengths and pitches.
    for (int i = 0; i < 6; ++i)
      audio::write_wav(dir / ("c" + std::to_string(i) + ".wav"),
                       innmf::testing::tone(200.0 + 150 * i, 8000, 4000 + 1500 * i), "float");
    corpus::FeatureConfig features;
    features.stft = {256, 128, tf::WindowKind::sqrt_hann};
    features.config_json = "{}";
    std::vector<std::string> files;
    for (int i = 0; i < 6; ++i) files.push_back(dir / ("c" + std::to_string(i) + ".wav"));
    corpus::extract_features(files, features, dir / "points.h5", mpi::Comm::self());
  }
  world.barrier();
  for (auto activations : {model::ActivationKind::grid, model::ActivationKind::mlp}) {
    auto config = small_training();
    config.model.activations = activations;
    const auto distributed = train::train({dir / "points.h5"}, config, dir / "world.h5", world);
    if (world.is_root()) {
      const auto single = train::train({dir / "points.h5"}, config, dir / "self.h5", mpi::Comm::self());
      ASSERT_EQ(distributed.loss.size(), single.loss.size());
      EXPECT_LT(single.loss.back(), single.loss.front());
      for (std::size_t e = 0; e < single.loss.size(); ++e)
        EXPECT_NEAR(distributed.loss[e], single.loss[e], 1e-5 * single.loss[e])
            << "epoch " << e + 1 << " on " << world.size() << " ranks, "
            << model::activation_kind_name(activations);
    }
    world.barrier();
  }
}

TEST(TrainMpi, NanLossStopsEveryRankWithExitCode4) {
  const auto world = mpi::Comm::world();
  SharedFolder dir(world);
  if (world.is_root()) {
    audio::write_wav(dir / "a.wav", innmf::testing::tone(440, 8000, 8000), "float");
    corpus::FeatureConfig features;
    features.stft = {256, 128, tf::WindowKind::sqrt_hann};
    features.config_json = "{}";
    corpus::extract_features({dir / "a.wav"}, features, dir / "points.h5", mpi::Comm::self());
  }
  world.barrier();
  auto config = small_training();
  config.lr = 1e30;  // the first step throws every parameter to ±1e30
  try {
    train::train({dir / "points.h5"}, config, dir / "model.h5", world);
    FAIL() << "no error";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("lower --lr"), std::string::npos) << e.what();
  }
  world.barrier();
  if (world.is_root()) EXPECT_FALSE(std::filesystem::exists(dir / "model.h5"));
}

TEST(TrainMpi, ResumedRunIsBitIdenticalToAnUninterruptedOne) {
  const auto world = mpi::Comm::world();
  SharedFolder dir(world);
  if (world.is_root()) {
    for (int i = 0; i < 3; ++i)
      audio::write_wav(dir / ("c" + std::to_string(i) + ".wav"),
                       innmf::testing::tone(300.0 + 200 * i, 8000, 6000 + 2000 * i), "float");
    corpus::FeatureConfig features;
    features.stft = {256, 128, tf::WindowKind::sqrt_hann};
    features.config_json = "{}";
    corpus::extract_features({dir / "c0.wav", dir / "c1.wav", dir / "c2.wav"}, features, dir / "points.h5",
                             mpi::Comm::self());
  }
  world.barrier();
  for (auto optimizer : {train::OptimizerKind::rprop, train::OptimizerKind::adam}) {
    auto config = small_training();
    config.optimizer = optimizer;
    config.epochs = 16;
    const auto whole = train::train({dir / "points.h5"}, config, dir / "whole.h5", world);
    config.epochs = 7;
    config.checkpoint_path = dir / "half.ckpt.h5";
    train::train({dir / "points.h5"}, config, dir / "half.h5", world);
    config.epochs = 16;
    config.checkpoint_path.clear();
    config.resume_path = dir / "half.ckpt.h5";
    const auto resumed = train::train({dir / "points.h5"}, config, dir / "resumed.h5", world);
    EXPECT_EQ(resumed.loss, whole.loss) << train::optimizer_name(optimizer);
    if (world.is_root()) {
      const auto a = io::read_innmf_model(dir / "whole.h5");
      const auto b = io::read_innmf_model(dir / "resumed.h5");
      EXPECT_EQ(a.template_params, b.template_params) << train::optimizer_name(optimizer);
      EXPECT_EQ(a.activation_params, b.activation_params) << train::optimizer_name(optimizer);
    }
    world.barrier();
  }
}

TEST(TrainMpi, CheckpointOfAnotherRunIsRefused) {
  const auto world = mpi::Comm::world();
  SharedFolder dir(world);
  if (world.is_root()) {
    audio::write_wav(dir / "a.wav", innmf::testing::tone(440, 8000, 8000), "float");
    corpus::FeatureConfig features;
    features.stft = {256, 128, tf::WindowKind::sqrt_hann};
    features.config_json = "{}";
    corpus::extract_features({dir / "a.wav"}, features, dir / "points.h5", mpi::Comm::self());
  }
  world.barrier();
  auto config = small_training();
  config.epochs = 3;
  config.checkpoint_path = dir / "run.ckpt.h5";
  train::train({dir / "points.h5"}, config, dir / "model.h5", world);
  config.checkpoint_path.clear();
  config.resume_path = dir / "run.ckpt.h5";
  config.epochs = 6;
  config.model.rank = 5;  // another model
  try {
    train::train({dir / "points.h5"}, config, dir / "other.h5", world);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("model.rank was 4, now 5"), std::string::npos) << e.what();
  }
  // A truncated checkpoint is refused, never half-used.
  if (world.is_root()) std::filesystem::resize_file(dir / "run.ckpt.h5", 2000);
  world.barrier();
  config.model.rank = 4;
  EXPECT_THROW(train::train({dir / "points.h5"}, config, dir / "other.h5", world), InputError);
  world.barrier();
  if (world.is_root()) EXPECT_FALSE(std::filesystem::exists(dir / "other.h5"));
}
