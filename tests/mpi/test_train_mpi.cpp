// Distributed training: any number of ranks learns the same model (the loss curve agrees to
// float round-off with a single-rank run), and one rank's bad file stops every rank. With
// per-component templates each rank trains a block of the networks (trainer.cpp); the cases
// below include a rank with no network (K < ranks) and ranks whose points have different
// frequencies (scattered points: the networks run at the union of the ranks' frequencies).

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "innmf/audio/audio_io.hpp"
#include "innmf/core/error.hpp"
#include "innmf/corpus/feature_extraction.hpp"
#include "innmf/io/innmf_model_file.hpp"
#include "innmf/io/point_file.hpp"
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

/// Rank 0 writes a point file of `n_clips` scattered clips, each with its own random
/// frequencies (so that ranks holding different clips have different unique frequencies) and
/// a few shared ones.
void make_scattered_point_file(const SharedDir& dir, const mpi::Comm& world, int n_clips) {
  if (world.is_root()) {
    std::mt19937_64 rng(17);
    std::uniform_real_distribution<float> frequency(0.0f, 4000.0f), time(0.0f, 0.9f), magnitude(0.0f, 3.0f);
    io::PointSetHeader header;
    header.representation_json = R"({"kind":"test"})";
    header.config_json = "{}";
    std::vector<tf::ClipPoints> clips(static_cast<std::size_t>(n_clips));
    for (int c = 0; c < n_clips; ++c) {
      auto& clip = clips[static_cast<std::size_t>(c)];
      const int n = 150 + 40 * c;
      for (int i = 0; i < n; ++i) {
        clip.t.push_back(time(rng));
        clip.f.push_back(i % 3 == 0 ? 500.0f * static_cast<float>(i % 7) : frequency(rng));
        clip.m.push_back(magnitude(rng));
      }
      header.clips.push_back({"clip" + std::to_string(c), "test", 8000, 0, 1.0, 0,
                              static_cast<std::uint64_t>(n), 0, 0});
    }
    io::assign_offsets(header.clips);
    io::PointFileWriter writer(dir / "scattered.h5", header, 0);
    for (int c = 0; c < n_clips; ++c) writer.write_clip(static_cast<std::size_t>(c), clips[static_cast<std::size_t>(c)]);
    writer.close();
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
  struct Case {
    model::ActivationKind activations;
    train::ActivationUpdate update;
  };
  for (const auto [activations, update] : {Case{model::ActivationKind::grid, train::ActivationUpdate::gradient},
                                           Case{model::ActivationKind::mlp, train::ActivationUpdate::gradient},
                                           Case{model::ActivationKind::grid, train::ActivationUpdate::multiplicative}}) {
    auto config = small_training();
    config.model.activations = activations;
    config.activation_update = update;
    const auto distributed = train::train({dir / "points.h5"}, config, dir / "world.h5", world);
    if (world.is_root()) {
      const auto single = train::train({dir / "points.h5"}, config, dir / "self.h5", mpi::Comm::self());
      ASSERT_EQ(distributed.loss.size(), single.loss.size());
      EXPECT_LT(single.loss.back(), single.loss.front());
      for (std::size_t e = 0; e < single.loss.size(); ++e)
        EXPECT_NEAR(distributed.loss[e], single.loss[e], 1e-5 * single.loss[e])
            << "epoch " << e + 1 << " on " << world.size() << " ranks, "
            << model::activation_kind_name(activations) << ", " << train::activation_update_name(update);
    }
    world.barrier();
  }
}

TEST(TrainMpi, AllgathervCollectsEveryRanksBlockInPlace) {
  // Rank r contributes r + 1 values (rank 1: none), each 10·r + i.
  const auto world = mpi::Comm::world();
  std::vector<std::size_t> counts;
  for (int r = 0; r < world.size(); ++r) counts.push_back(r == 1 ? 0 : static_cast<std::size_t>(r + 1));
  std::size_t total = 0, offset = 0;
  for (int r = 0; r < world.size(); ++r) {
    if (r == world.rank()) offset = total;
    total += counts[static_cast<std::size_t>(r)];
  }
  std::vector<double> values(total, -1.0);
  for (std::size_t i = 0; i < counts[static_cast<std::size_t>(world.rank())]; ++i)
    values[offset + i] = 10.0 * world.rank() + static_cast<double>(i);
  world.allgatherv(values.data(), counts);
  std::vector<double> expected;
  for (int r = 0; r < world.size(); ++r)
    for (std::size_t i = 0; i < counts[static_cast<std::size_t>(r)]; ++i) expected.push_back(10.0 * r + static_cast<double>(i));
  EXPECT_EQ(values, expected);
}

TEST(TrainMpi, SplitTemplatesLearnTheSameModelOnScatteredPointsAndMoreRanksThanNetworks) {
  // K = 3 networks: at 4 ranks one rank owns none. Scattered clips: every rank's frequencies
  // differ. Both architectures (shared: one trunk on every rank), both optimizers.
  const auto world = mpi::Comm::world();
  SharedDir dir(world);
  make_scattered_point_file(dir, world, 5);
  struct Case {
    nn::Architecture architecture;
    train::OptimizerKind optimizer;
  };
  for (const auto& c : {Case{nn::Architecture::per_component, train::OptimizerKind::rprop},
                        Case{nn::Architecture::per_component, train::OptimizerKind::adam},
                        Case{nn::Architecture::shared, train::OptimizerKind::rprop}}) {
    auto config = small_training();
    config.model.rank = 3;
    config.model.architecture = c.architecture;
    config.optimizer = c.optimizer;
    config.epochs = 20;
    const auto distributed = train::train({dir / "scattered.h5"}, config, dir / "world.h5", world);
    const auto again = train::train({dir / "scattered.h5"}, config, dir / "again.h5", world);
    EXPECT_EQ(again.loss, distributed.loss);  // same rank and thread counts: bit-identical
    if (world.is_root()) {
      const auto single = train::train({dir / "scattered.h5"}, config, dir / "self.h5", mpi::Comm::self());
      const std::string what = nn::architecture_name(c.architecture) + " " + train::optimizer_name(c.optimizer) +
                                " on " + std::to_string(world.size()) + " ranks";
      ASSERT_EQ(distributed.loss.size(), single.loss.size());
      EXPECT_LT(single.loss.back(), single.loss.front()) << what;
      for (std::size_t e = 0; e < single.loss.size(); ++e)
        EXPECT_NEAR(distributed.loss[e], single.loss[e], 1e-5 * single.loss[e]) << "epoch " << e + 1 << ", " << what;
      // The model file holds every network's parameters, gathered from their owners.
      const auto a = io::read_innmf_model(dir / "world.h5");
      const auto b = io::read_innmf_model(dir / "again.h5");
      const auto s = io::read_innmf_model(dir / "self.h5");
      EXPECT_EQ(a.template_params, b.template_params) << what;
      ASSERT_EQ(a.template_params.size(), s.template_params.size());
      // Round-off may flip the sign of a near-zero gradient and so an Rprop step (≥ 1e-3) of a
      // few parameters; a network left out of the gather would differ in all of its.
      std::size_t differ = 0;
      for (std::size_t i = 0; i < s.template_params.size(); ++i)
        differ += std::abs(a.template_params[i] - s.template_params[i]) > 1e-4f;
      EXPECT_LT(differ, s.template_params.size() / 20) << what;
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
  for (auto [optimizer, update] : {std::pair{train::OptimizerKind::rprop, train::ActivationUpdate::gradient},
                                   std::pair{train::OptimizerKind::adam, train::ActivationUpdate::gradient},
                                   std::pair{train::OptimizerKind::rprop, train::ActivationUpdate::multiplicative}}) {
    auto config = small_training();
    config.optimizer = optimizer;
    config.activation_update = update;
    config.epochs = 16;
    const auto whole = train::train({dir / "points.h5"}, config, dir / "whole.h5", world);
    config.epochs = 7;
    config.checkpoint_path = dir / "half.ckpt.h5";
    train::train({dir / "points.h5"}, config, dir / "half.h5", world);
    config.epochs = 16;
    config.checkpoint_path.clear();
    config.resume_path = dir / "half.ckpt.h5";
    const auto resumed = train::train({dir / "points.h5"}, config, dir / "resumed.h5", world);
    const auto label = train::optimizer_name(optimizer) + ", " + train::activation_update_name(update);
    EXPECT_EQ(resumed.loss, whole.loss) << label;
    if (world.is_root()) {
      const auto a = io::read_innmf_model(dir / "whole.h5");
      const auto b = io::read_innmf_model(dir / "resumed.h5");
      EXPECT_EQ(a.template_params, b.template_params) << label;
      EXPECT_EQ(a.activation_params, b.activation_params) << label;
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
  config.model.rank = 4;
  config.activation_update = train::ActivationUpdate::multiplicative;  // another way to learn H
  try {
    train::train({dir / "points.h5"}, config, dir / "other.h5", world);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("activation_update"), std::string::npos) << e.what();
  }
  config.activation_update = train::ActivationUpdate::gradient;
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
