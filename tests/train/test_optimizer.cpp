#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <vector>

#include "innmf/core/error.hpp"
#include "innmf/train/optimizer.hpp"

using namespace innmf;

TEST(Rprop, FollowsPyTorchSemantics) {
  // One parameter, lr 0.1: steps grow ×1.2 while the sign holds, shrink ×0.5 (and skip) on a flip.
  train::Rprop rprop(1, 0.1);
  float x = 0;
  const float g_pos = 2.0f, g_neg = -3.0f;
  rprop.step(&x, &g_pos);  // first step: previous 0 → step stays 0.1
  EXPECT_FLOAT_EQ(x, -0.1f);
  rprop.step(&x, &g_pos);  // same sign → 0.12
  EXPECT_FLOAT_EQ(x, -0.22f);
  rprop.step(&x, &g_neg);  // flip → step 0.06, no update
  EXPECT_FLOAT_EQ(x, -0.22f);
  rprop.step(&x, &g_neg);  // previous was zeroed → step stays 0.06, update +0.06
  EXPECT_FLOAT_EQ(x, -0.16f);
}

TEST(Rprop, StepSizesStayWithinBounds) {
  train::Rprop rprop(1, 40.0);
  float x = 0;
  const float g = 1.0f;
  for (int i = 0; i < 10; ++i) rprop.step(&x, &g);
  EXPECT_FLOAT_EQ(static_cast<float>(rprop.state()[0]), 50.0f);
}

TEST(Rprop, VectorisedStepEqualsTheScalarReferenceBitForBit) {
  // The obvious branching loop (torch.optim.Rprop's logic, element by element) is the oracle.
  const std::size_t n = 1003;  // not a multiple of the vector width
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> pattern(0, 3);
  std::normal_distribution<float> normal;
  std::vector<float> params(n, 0.5f), reference = params, step(n, 0.01f), previous(n, 0.0f);
  train::Rprop rprop(n, 0.01);
  for (int epoch = 0; epoch < 60; ++epoch) {
    std::vector<float> grad(n);
    for (auto& g : grad) g = pattern(rng) == 0 ? 0.0f : normal(rng);  // zeros, flips, runs
    rprop.step(params.data(), grad.data());
    for (std::size_t i = 0; i < n; ++i) {
      float g = grad[i];
      const float agreement = g * previous[i];
      if (agreement > 0) {
        step[i] = std::min(step[i] * 1.2f, 50.0f);
      } else if (agreement < 0) {
        step[i] = std::max(step[i] * 0.5f, 1e-6f);
        g = 0;
      }
      reference[i] -= (g > 0 ? 1.0f : (g < 0 ? -1.0f : 0.0f)) * step[i];
      previous[i] = g;
    }
    ASSERT_EQ(params, reference) << "epoch " << epoch;
  }
  const auto state = rprop.state();
  for (std::size_t i = 0; i < n; ++i) {
    ASSERT_EQ(static_cast<float>(state[i]), step[i]);
    ASSERT_EQ(static_cast<float>(state[n + i]), previous[i]);
  }
}

TEST(Optimizer, StepsOnParameterRangesEqualTheFullStepBitForBit) {
  // A rank of a split template field steps only its networks' parameters; the state is per
  // parameter, so the union of the ranks' range steps is the full step, and each range's step
  // leaves the rest alone. Adam's step count advances once per step, even on an empty range.
  const std::size_t n = 5003;
  std::mt19937_64 rng(9);
  std::normal_distribution<float> normal;
  for (auto kind : {train::OptimizerKind::rprop, train::OptimizerKind::adam}) {
    auto whole = train::make_optimizer(kind, n, 0.01);
    std::vector<std::unique_ptr<train::Optimizer>> parts;
    const std::size_t cuts[] = {0, 1200, 1200, 5003};  // the second range is empty
    for (int r = 0; r < 3; ++r) parts.push_back(train::make_optimizer(kind, n, 0.01));
    std::vector<float> expected(n, 0.25f);
    std::vector<std::vector<float>> params(3, expected);
    for (int epoch = 0; epoch < 20; ++epoch) {
      std::vector<float> grad(n);
      for (auto& g : grad) g = normal(rng);
      whole->step(expected.data(), grad.data());
      for (int r = 0; r < 3; ++r) parts[r]->step(params[r].data(), grad.data(), cuts[r], cuts[r + 1]);
    }
    for (int r = 0; r < 3; ++r) {
      const auto state = parts[r]->state(), reference = whole->state();
      for (std::size_t i = 0; i < n; ++i) {
        const bool own = i >= cuts[r] && i < cuts[r + 1];
        ASSERT_EQ(params[r][i], own ? expected[i] : 0.25f) << train::optimizer_name(kind) << " part " << r << " at " << i;
        if (own) {
          ASSERT_EQ(state[i], reference[i]) << train::optimizer_name(kind);
          ASSERT_EQ(state[n + i], reference[n + i]) << train::optimizer_name(kind);
        }
      }
      EXPECT_EQ(parts[r]->scalar_state(), whole->scalar_state()) << train::optimizer_name(kind);
    }
  }
  train::Rprop rprop(4, 0.1);
  std::vector<float> x(4), g(4);
  EXPECT_THROW(rprop.step(x.data(), g.data(), 2, 5), Error);
}

TEST(Adam, FirstStepMovesByTheLearningRate) {
  // With bias correction the first update is lr · g/|g| (up to ε).
  train::Adam adam(2, 0.01);
  float x[2] = {1.0f, 1.0f};
  const float g[2] = {5.0f, -0.001f};
  adam.step(x, g);
  EXPECT_NEAR(x[0], 0.99f, 1e-6);
  EXPECT_NEAR(x[1], 1.01f, 1e-5);
}

TEST(Adam, MinimisesAQuadratic) {
  train::Adam adam(1, 0.05);
  float x = 3.0f;
  for (int i = 0; i < 2000; ++i) {
    const float g = 2 * (x - 1.0f);
    adam.step(&x, &g);
  }
  EXPECT_NEAR(x, 1.0f, 1e-3);
}

TEST(Optimizer, NamesParse) {
  EXPECT_EQ(train::parse_optimizer("adam"), train::OptimizerKind::adam);
  EXPECT_THROW(train::parse_optimizer("sgd"), UsageError);
}
