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
#include "mpi/shared_dir.hpp"

using namespace innmf;
using innmf::testing::SharedDir;

namespace {

/// Rank 0 writes tones of the given lengths [samples] at 8 kHz and their STFT point set.
void make_point_file(const SharedDir& dir, const mpi::Comm& world, const std::vector<long>& lengths) {
  if (world.is_root()) {
    std::vector<std::string> files;
    for (std::size_t i = 0; i < lengths.size(); ++i) {
      files.push_back(dir / ("c" + std::to_string(i) + ".wav"));
      audio::write_wav(files.back(), innmf::testing::tone(200.0 + 150 * i, 8000, lengths[i]), "float");
    }
    corpus::FeatureConfig features;
    features.stft = {256, 128, tf::WindowKind::sqrt_hann};
    features.config_json = "{}";
    corpus::extract_features(files, features, dir / "points.h5", mpi::Comm::self());
  }
  world.barrier();
}

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
  SharedDir dir(world);
  make_point_file(dir, world, {4000, 5500, 7000, 8500, 10000, 11500});  // six clips
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
  SharedDir dir(world);
  make_point_file(dir, world, {8000});
  auto config = small_training();
  config.lr = 1e30;  // the first step throws every parameter to ±1e30
  try {
    train::train({dir / "points.h5"}, config, dir / "model.h5", world);
    FAIL() << "no error";
  } catch (const NumericalError& e) {
    EXPECT_NE(std::string(e.what()).find("lower --lr"), std::string::npos) << e.what();
  }
  world.barrier();
  if (world.is_root()) {
    EXPECT_FALSE(std::filesystem::exists(dir / "model.h5"));
  }
}

TEST(TrainMpi, ResumedRunIsBitIdenticalToAnUninterruptedOne) {
  const auto world = mpi::Comm::world();
  SharedDir dir(world);
  make_point_file(dir, world, {6000, 8000, 10000});
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
  SharedDir dir(world);
  make_point_file(dir, world, {8000});
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
  if (world.is_root()) {
    EXPECT_FALSE(std::filesystem::exists(dir / "other.h5"));
  }
}
