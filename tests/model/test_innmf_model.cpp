#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>

#include "innmf/core/error.hpp"
#include "innmf/model/beta_divergence.hpp"
#include "innmf/model/classic_nmf.hpp"
#include "innmf/model/innmf_model.hpp"

using namespace innmf;
using namespace innmf::model;

// ---------------------------------------------------------------------------------------------
// β-divergence: values computed by hand.

TEST(BetaDivergence, KnownValues) {
  EXPECT_NEAR(beta_divergence(Beta::of(1), 2, 1), 2 * std::log(2.0) - 2 + 1, 1e-12);
  EXPECT_NEAR(beta_divergence(Beta::of(1), 0, 3), 3.0, 1e-12);  // 0·log 0 = 0
  EXPECT_NEAR(beta_divergence(Beta::of(0), 2, 1), 2 - std::log(2.0) - 1, 1e-12);
  EXPECT_NEAR(beta_divergence(Beta::of(2), 3, 1), 2.0, 1e-12);
  // β = 0.5: (y^β + (β−1)ŷ^β − β·y·ŷ^(β−1)) / (β(β−1)) at y = 4, ŷ = 1: (2 − 0.5 − 2)/(−0.25) = 2
  EXPECT_NEAR(beta_divergence(Beta::of(0.5), 4, 1), 2.0, 1e-12);
  // The general formula tends to KL as β → 1.
  EXPECT_NEAR(beta_divergence(Beta::of(1 + 1e-7), 2, 1), beta_divergence(Beta::of(1), 2, 1), 1e-5);
  for (double b : {0.0, 0.5, 1.0, 1.5, 2.0, 3.0}) EXPECT_NEAR(beta_divergence(Beta::of(b), 1.7, 1.7), 0, 1e-12);
}

TEST(BetaDivergence, GradientsMatchFiniteDifferences) {
  for (double b : {0.0, 0.5, 1.0, 1.5, 2.0, 3.0}) {
    for (double y : {0.0, 0.3, 2.0}) {
      if (b <= 0 && y == 0) continue;  // y is floored at ε there: the divergence is steep
      const Beta beta = Beta::of(b);
      const double yhat = 0.8, h = 1e-6;
      const double numeric =
          (beta_divergence(beta, y, yhat + h) - beta_divergence(beta, y, yhat - h)) / (2 * h);
      EXPECT_NEAR(beta_gradient(beta, y, yhat), numeric, 1e-6) << "beta " << b << " y " << y;
    }
  }
}

TEST(BetaDivergence, PositivePartLeavesANonNegativeRemainder) {
  // ∂D/∂ŷ = P − N with P = beta_gradient_positive and N = y·ŷ^(β−2) ≥ 0 (the multiplicative
  // updates' numerator).
  for (double b : {0.0, 0.5, 1.0, 1.5, 2.0, 3.0})
    for (double y : {0.0, 0.3, 2.0})
      for (double yhat : {0.2, 0.8, 3.0}) {
        const Beta beta = Beta::of(b);
        const double target = b <= 0 ? std::max(y, kBetaEpsilon) : y;
        const double negative = beta_gradient_positive(beta, yhat) - beta_gradient(beta, y, yhat);
        EXPECT_NEAR(negative, target * std::pow(yhat, b - 2), 1e-12) << "beta " << b << " y " << y;
        EXPECT_GE(negative, -1e-15 * beta_gradient_positive(beta, yhat));  // 0 for y = 0, to round-off
      }
  EXPECT_EQ(multiplicative_update_exponent(0.0), 0.5);
  EXPECT_EQ(multiplicative_update_exponent(1.5), 1.0);
  EXPECT_EQ(multiplicative_update_exponent(3.0), 0.5);
}

TEST(BetaDivergence, ZeroModelIsFlooredNotInfinite) {
  EXPECT_TRUE(std::isfinite(beta_divergence(Beta::of(1), 1.0, 0.0)));
  EXPECT_TRUE(std::isfinite(beta_gradient(Beta::of(1), 1.0, 0.0)));
  EXPECT_TRUE(std::isfinite(beta_divergence(Beta::of(0), 0.0, 0.0)));
}

// ---------------------------------------------------------------------------------------------
// The factorised loss against the per-point reference, and against finite differences.

namespace {

/// Three clips: a full grid, a grid on a subset of the frequencies, and scattered points at
/// continuous frequencies and irregular times.
PreparedPoints small_corpus() {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> magnitude(0.0f, 2.0f);
  std::vector<tf::ClipInfo> infos(3);
  std::vector<tf::ClipPoints> clips(3);
  clips[0].times = {0.0f, 0.1f, 0.2f, 0.3f};
  clips[0].freqs = {0.0f, 1000.0f, 2000.0f, 3000.0f, 4000.0f};
  clips[1].times = {0.0f, 0.1f, 0.2f};
  clips[1].freqs = {1000.0f, 3000.0f};
  for (int c = 0; c < 2; ++c) clips[c].m.resize(clips[c].times.size() * clips[c].freqs.size());
  clips[2].t = {0.05f, 0.05f, 0.12f, 0.31f, 0.31f, 0.44f};
  clips[2].f = {440.0f, 881.5f, 440.0f, 3999.0f, 1000.0f, 123.25f};
  clips[2].m.resize(6);
  for (auto& clip : clips)
    for (auto& m : clip.m) m = magnitude(rng);
  clips[0].m[3] = 0.0f;  // exact zeros occur in real data
  for (int c = 0; c < 3; ++c) infos[c].duration = 0.5;
  return prepare_points(infos, clips, 0.5);
}

ModelConfig small_config(ActivationKind activations, nn::Architecture architecture, double beta) {
  ModelConfig config;
  config.rank = 3;
  config.hidden = 6;
  config.layers = 3;
  config.n_fourier = 4;
  config.architecture = architecture;
  config.activations = activations;
  config.knot_spacing = 0.1;
  config.f_ref = 4000;
  config.beta = beta;
  config.seed = 5;
  return config;
}

struct Case {
  ActivationKind activations;
  nn::Architecture architecture;
  double beta;
};

const Case kCases[] = {
    {ActivationKind::grid, nn::Architecture::per_component, 1.0},
    {ActivationKind::grid, nn::Architecture::shared, 0.0},
    {ActivationKind::mlp, nn::Architecture::per_component, 2.0},
    {ActivationKind::mlp, nn::Architecture::shared, 1.5},
};

}  // namespace

TEST(PreparePoints, UniqueCoordinatesAndIndices) {
  const auto points = small_corpus();
  // U_f: 0, 123.25, 440, 881.5, 1000, 2000, 3000, 3999, 4000
  ASSERT_EQ(points.unique_freqs.size(), 9u);
  EXPECT_EQ(points.n_points, 20u + 6u + 6u);
  EXPECT_FALSE(points.clips[0].all_frequencies);  // U_f also holds the scattered frequencies
  EXPECT_EQ(points.clips[1].freq_index, (std::vector<int>{4, 6}));
  EXPECT_EQ(points.clips[2].unique_times.size(), 4u);
  EXPECT_EQ(points.clips[2].time_index, (std::vector<int>{0, 0, 1, 2, 2, 3}));  // (already in time order)
  EXPECT_FLOAT_EQ(points.clips[0].y[1], std::sqrt(small_corpus().clips[0].y[1] * small_corpus().clips[0].y[1]));
}

TEST(PreparePoints, ScatteredPointsAreOrderedByTimeKeepingEachPointWhole) {
  // Files of CQT or wavelet points list them bin by bin; the loss wants them in time order (its
  // activation rows then stream through the cache). Points of one time keep their file order.
  std::vector<tf::ClipInfo> infos(1);
  infos[0].duration = 1;
  std::vector<tf::ClipPoints> clips(1);
  clips[0].t = {0.3f, 0.1f, 0.2f, 0.1f, 0.3f, 0.0f};
  clips[0].f = {100.0f, 200.0f, 100.0f, 100.0f, 300.0f, 200.0f};
  clips[0].m = {1.0f, 4.0f, 9.0f, 16.0f, 25.0f, 36.0f};
  const auto points = prepare_points(infos, clips, 0.5);
  const auto& clip = points.clips[0];
  // (time index, frequency index, y = sqrt(m)) in time order; 0.1 s: 200 Hz before 100 Hz, as in the file.
  EXPECT_EQ(clip.time_index, (std::vector<int>{0, 1, 1, 2, 3, 3}));
  EXPECT_EQ(clip.freq_index, (std::vector<int>{1, 1, 0, 0, 0, 2}));
  EXPECT_EQ(clip.y, (std::vector<float>{6, 2, 4, 3, 1, 5}));
}

TEST(InnmfModel, FactorisedLossEqualsPerPointReference) {
  const auto points = small_corpus();
  for (const auto& c : kCases) {
    InnmfModel<double> model(small_config(c.activations, c.architecture, c.beta), points, points.mean_target);
    nn::ParameterBuffer<double> gw(model.template_params().size()), gh(model.activation_params().size());
    nn::ParameterBuffer<double> rw(gw.size()), rh(gh.size());
    const double normalizer = 1.0 / static_cast<double>(points.n_points);
    const auto fast = model.evaluate(points, normalizer, gw.data(), gh.data());
    const auto slow = model.evaluate_reference(points, normalizer, rw.data(), rh.data());
    EXPECT_NEAR(fast.loss, slow.loss, 1e-12 * std::abs(slow.loss));
    double scale = 0, error = 0;
    for (std::size_t i = 0; i < gw.size(); ++i) {
      scale = std::max(scale, std::abs(rw[i]));
      error = std::max(error, std::abs(gw[i] - rw[i]));
    }
    for (std::size_t i = 0; i < gh.size(); ++i) {
      scale = std::max(scale, std::abs(rh[i]));
      error = std::max(error, std::abs(gh[i] - rh[i]));
    }
    EXPECT_GT(scale, 0);
    EXPECT_LT(error, 1e-12 * scale) << activation_kind_name(c.activations) << " "
                                    << nn::architecture_name(c.architecture) << " beta " << c.beta;
  }
}

TEST(InnmfModel, PhasesOverBlocksOfNetworksEqualEvaluateBitForBit) {
  // Two "ranks" of a split template field in one process (src/train/trainer.cpp): each runs
  // forward_templates over its networks, W is completed from the other's columns, both run
  // evaluate_factors (same points here), and each back-propagates through its own networks.
  const auto points = small_corpus();
  for (const auto& c : kCases) {
    const auto config = small_config(c.activations, c.architecture, c.beta);
    InnmfModel<float> whole(config, points, points.mean_target), a(config, points, points.mean_target),
        b(config, points, points.mean_target);
    const double normalizer = 1.0 / static_cast<double>(points.n_points);
    std::vector<float> gw(whole.template_params().size()), gh(whole.activation_params().size());
    const auto expected = whole.evaluate(points, normalizer, gw.data(), gh.data());
    const int n = a.n_template_networks(), cut = (n + 1) / 2;  // shared (n = 1): b owns none
    a.forward_templates(0, cut);
    b.forward_templates(cut, n);
    const int width = a.template_network_outputs();
    a.template_values().middleCols(cut * width, (n - cut) * width) =
        b.template_values().middleCols(cut * width, (n - cut) * width);
    b.template_values().leftCols(cut * width) = a.template_values().leftCols(cut * width);
    RowMatrix<float> dW_a, dW_b;
    std::vector<float> gh_a(gh.size()), gh_b(gh.size()), gw_split(gw.size(), -1.0f);
    const auto loss_a = a.evaluate_factors(points, normalizer, dW_a, gh_a.data());
    const auto loss_b = b.evaluate_factors(points, normalizer, dW_b, gh_b.data());
    a.backward_templates(dW_a, 0, cut, gw_split.data());
    b.backward_templates(dW_b, cut, n, gw_split.data());
    const std::string what = nn::architecture_name(c.architecture);
    EXPECT_EQ(loss_a.loss, expected.loss) << what;
    EXPECT_EQ(loss_b.loss, expected.loss) << what;
    EXPECT_EQ(gh_a, gh) << what;
    EXPECT_EQ(gh_b, gh) << what;
    EXPECT_EQ(gw_split, gw) << what;
  }
}

TEST(PreparePoints, UnionOfFrequenciesReindexesAndKeepsTheLoss) {
  // A rank's points re-indexed into a larger U_f (the union over ranks): same points, the same
  // loss and gradients up to float round-off of the networks on more rows.
  const auto points = small_corpus();
  auto wider = small_corpus();
  std::vector<double> all = points.unique_freqs;
  for (double f : {50.0, 2500.0, 3500.0}) all.push_back(f);
  std::sort(all.begin(), all.end());
  use_unique_frequencies(wider, all);
  EXPECT_EQ(wider.unique_freqs, all);
  for (std::size_t c = 0; c < points.clips.size(); ++c)
    for (std::size_t i = 0; i < points.clips[c].freq_index.size(); ++i)
      EXPECT_EQ(wider.unique_freqs[static_cast<std::size_t>(wider.clips[c].freq_index[i])],
                points.unique_freqs[static_cast<std::size_t>(points.clips[c].freq_index[i])]);
  const auto config = small_config(ActivationKind::grid, nn::Architecture::per_component, 1.0);
  InnmfModel<double> narrow_model(config, points, points.mean_target), wide_model(config, wider, wider.mean_target);
  const double normalizer = 1.0 / static_cast<double>(points.n_points);
  std::vector<double> gw(narrow_model.template_params().size()), gh(narrow_model.activation_params().size());
  std::vector<double> ww(gw.size()), wh(gh.size());
  const double a = narrow_model.evaluate(points, normalizer, gw.data(), gh.data()).loss;
  const double b = wide_model.evaluate(wider, normalizer, ww.data(), wh.data()).loss;
  EXPECT_NEAR(a, b, 1e-12 * a);
  for (std::size_t i = 0; i < gw.size(); ++i) ASSERT_NEAR(gw[i], ww[i], 1e-12 * (1 + std::abs(gw[i])));
  // A grid clip is a full block only while its columns are the whole U_f.
  tf::ClipPoints grid;
  grid.times = {0.0f, 0.1f};
  grid.freqs = {1000.0f, 3000.0f};
  grid.m = {1.0f, 2.0f, 3.0f, 4.0f};
  auto alone = prepare_points({tf::ClipInfo{}}, {grid}, 0.5);
  EXPECT_TRUE(alone.clips[0].all_frequencies);
  use_unique_frequencies(alone, {500.0, 1000.0, 3000.0});
  EXPECT_FALSE(alone.clips[0].all_frequencies);
  EXPECT_EQ(alone.clips[0].freq_index, (std::vector<int>{1, 2}));
  EXPECT_THROW(use_unique_frequencies(alone, {500.0, 1000.0}), Error);
}

TEST(InnmfModel, WholeLossGradientMatchesFiniteDifferences) {
  const auto points = small_corpus();
  for (const auto& c : kCases) {
    InnmfModel<double> model(small_config(c.activations, c.architecture, c.beta), points, points.mean_target);
    const double normalizer = 1.0 / static_cast<double>(points.n_points);
    std::vector<double> gw(model.template_params().size()), gh(model.activation_params().size());
    model.evaluate(points, normalizer, gw.data(), gh.data());
    std::vector<double> sw(gw.size()), sh(gh.size());
    auto loss = [&] { return model.evaluate(points, normalizer, sw.data(), sh.data()).loss; };
    const double h = 1e-6;
    double worst = 0;
    // Every 7th parameter of each buffer (the whole set takes too long for no extra coverage).
    for (int buffer = 0; buffer < 2; ++buffer) {
      auto& params = buffer == 0 ? model.template_params() : model.activation_params();
      const auto& grad = buffer == 0 ? gw : gh;
      for (std::size_t i = 0; i < params.size(); i += 7) {
        const double saved = params[i];
        params[i] = saved + h;
        const double up = loss();
        params[i] = saved - h;
        const double down = loss();
        params[i] = saved;
        const double numeric = (up - down) / (2 * h);
        worst = std::max(worst, std::abs(numeric - grad[i]) / std::max(1e-3, std::abs(numeric)));
      }
    }
    EXPECT_LT(worst, 1e-4) << activation_kind_name(c.activations) << " "
                           << nn::architecture_name(c.architecture) << " beta " << c.beta;
  }
}

TEST(InnmfModel, FloatMatchesDoubleToRoundOff) {
  const auto points = small_corpus();
  const auto config = small_config(ActivationKind::grid, nn::Architecture::per_component, 1.0);
  InnmfModel<double> exact(config, points, points.mean_target);
  InnmfModel<float> single(config, points, points.mean_target);
  std::vector<double> dw(exact.template_params().size()), dh(exact.activation_params().size());
  std::vector<float> fw(dw.size()), fh(dh.size());
  const double normalizer = 1.0 / static_cast<double>(points.n_points);
  const double a = exact.evaluate(points, normalizer, dw.data(), dh.data()).loss;
  const double b = single.evaluate(points, normalizer, fw.data(), fh.data()).loss;
  EXPECT_NEAR(a, b, 1e-5 * a);
}

TEST(InnmfModel, L1AddsLambdaTimesSumOfActivations) {
  const auto points = small_corpus();
  auto config = small_config(ActivationKind::grid, nn::Architecture::per_component, 1.0);
  InnmfModel<double> plain(config, points, points.mean_target);
  config.l1_activations = 0.01;
  InnmfModel<double> sparse(config, points, points.mean_target);
  std::vector<double> gw(plain.template_params().size()), gh(plain.activation_params().size());
  const double normalizer = 1.0 / static_cast<double>(points.n_points);
  const auto a = plain.evaluate(points, normalizer, gw.data(), gh.data());
  const auto b = sparse.evaluate(points, normalizer, gw.data(), gh.data());
  EXPECT_NEAR(a.divergence, b.divergence, 1e-15);
  double sum_h = 0;
  for (std::size_t c = 0; c < points.clips.size(); ++c)
    sum_h += sparse.activations_at(c, points.clips[c].unique_times).sum();
  EXPECT_NEAR(b.loss - b.divergence, 0.01 * sum_h, 1e-12);
}

TEST(InnmfModel, InitialPredictionMatchesTheMeanTarget) {
  const auto points = small_corpus();
  InnmfModel<double> model(small_config(ActivationKind::grid, nn::Architecture::per_component, 1.0),
                           points, points.mean_target);
  const auto W = model.templates_at(points.unique_freqs);
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t c = 0; c < points.clips.size(); ++c) {
    const auto H = model.activations_at(c, points.clips[c].unique_times);
    sum += (H * W.transpose()).sum();
    n += static_cast<std::size_t>(H.rows() * W.rows());
  }
  // Within a factor 2 of the mean target (the jitter is ±50 %, W varies over frequency).
  EXPECT_GT(sum / n, 0.5 * points.mean_target);
  EXPECT_LT(sum / n, 2.0 * points.mean_target);
}

TEST(InnmfModel, FloatDenseKernelEqualsPerPointReference) {
  // The float β = 1 path (row tiles of the dense block, vectorised log and gradient) against the
  // per-point reference (beta_divergence/beta_gradient in double, per point), on clips large
  // enough for several row tiles: a full grid (160 frames × 501 bins, zeros included), a grid on
  // a subset of the frequencies (odd width), and scattered points.
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<float> magnitude(0.0f, 2.0f);
  std::vector<tf::ClipInfo> infos(3);
  std::vector<tf::ClipPoints> clips(3);
  for (int j = 0; j < 160; ++j) clips[0].times.push_back(0.0625f * j);
  for (int i = 0; i <= 500; ++i) clips[0].freqs.push_back(8.0f * i);
  for (int j = 0; j < 90; ++j) clips[1].times.push_back(0.0625f * j);
  for (int i = 3; i < 500; i += 7) clips[1].freqs.push_back(8.0f * i);
  for (int c = 0; c < 2; ++c) {
    clips[c].m.resize(clips[c].times.size() * clips[c].freqs.size());
    for (auto& m : clips[c].m) m = magnitude(rng) * magnitude(rng);
    for (std::size_t i = 0; i < clips[c].m.size(); i += 13) clips[c].m[i] = 0.0f;
  }
  clips[2].t = {0.05f, 0.05f, 0.12f};
  clips[2].f = {440.0f, 880.0f, 440.0f};
  clips[2].m = {0.3f, 0.0f, 1.2f};
  for (int c = 0; c < 3; ++c) infos[c].duration = 10.0;
  const auto points = prepare_points(infos, clips, 0.5);
  ASSERT_TRUE(points.clips[0].all_frequencies);
  auto config = small_config(ActivationKind::grid, nn::Architecture::per_component, 1.0);
  config.knot_spacing = 0.0625;
  InnmfModel<float> model(config, points, points.mean_target);
  nn::ParameterBuffer<float> gw(model.template_params().size()), gh(model.activation_params().size());
  nn::ParameterBuffer<float> rw(gw.size()), rh(gh.size());
  const double normalizer = 1.0 / static_cast<double>(points.n_points);
  const auto fast = model.evaluate(points, normalizer, gw.data(), gh.data());
  const auto slow = model.evaluate_reference(points, normalizer, rw.data(), rh.data());
  EXPECT_NEAR(fast.loss, slow.loss, 1e-6 * slow.loss);
  auto worst = [](const nn::ParameterBuffer<float>& a, const nn::ParameterBuffer<float>& b) {
    double scale = 0, error = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      scale = std::max(scale, std::abs(static_cast<double>(b[i])));
      error = std::max(error, std::abs(static_cast<double>(a[i]) - b[i]));
    }
    return error / scale;
  };
  EXPECT_LT(worst(gw, rw), 1e-4);
  EXPECT_LT(worst(gh, rh), 1e-5);
  // The same again: scratch buffers reused across calls give the same answer, bit for bit.
  nn::ParameterBuffer<float> gw2(gw.size()), gh2(gh.size());
  EXPECT_EQ(model.evaluate(points, normalizer, gw2.data(), gh2.data()).loss, fast.loss);
  EXPECT_EQ(gw2, gw);
  EXPECT_EQ(gh2, gh);
}

// ---------------------------------------------------------------------------------------------
// Multiplicative updates of grid activations (the trainer's --activation-update multiplicative).

namespace {

/// L after evaluate_factors with the templates as forward_templates left them.
double loss_with_templates_fixed(InnmfModel<double>& model, const PreparedPoints& points, double normalizer) {
  RowMatrix<double> d_templates;
  std::vector<double> activation_grad(model.activation_params().size());
  return model.evaluate_factors(points, normalizer, d_templates, activation_grad.data()).loss;
}

}  // namespace

TEST(InnmfModel, MultiplicativeActivationStepNeverIncreasesTheLossWithTemplatesFixed) {
  // The majorisation-minimisation guarantee, on all three kinds of clip (a full grid, a grid on
  // a subset of the frequencies, scattered points), with knots at the grid's frames (0.1 s) and
  // coarser knots that interpolate (0.25 s), for β inside and outside [1, 2] (exponent γ ≠ 1)
  // and with an L1 penalty.
  const auto points = small_corpus();
  const double normalizer = 1.0 / static_cast<double>(points.n_points);
  for (double beta : {0.0, 0.5, 1.0, 1.5, 2.0, 3.0})
    for (double spacing : {0.1, 0.25})
      for (double l1 : {0.0, 0.05}) {
        auto config = small_config(ActivationKind::grid, nn::Architecture::per_component, beta);
        config.knot_spacing = spacing;
        config.l1_activations = l1;
        InnmfModel<double> model(config, points, points.mean_target);
        model.forward_templates(0, model.n_template_networks());
        const double first = loss_with_templates_fixed(model, points, normalizer);
        double previous = first;
        for (int step = 0; step < 40; ++step) {
          model.multiplicative_activation_step(points, normalizer);
          const double loss = loss_with_templates_fixed(model, points, normalizer);
          ASSERT_LE(loss, previous * (1 + 1e-12)) << "β " << beta << " spacing " << spacing << " λ " << l1
                                                  << " step " << step;
          previous = loss;
        }
        // It moves (IS on random data with exact zeros, γ = 1/2, slowest: −2 % in 40 steps).
        EXPECT_LT(previous, 0.99 * first) << "β " << beta << " spacing " << spacing << " λ " << l1;
      }
}

TEST(InnmfModel, MultiplicativeActivationStepIsClassicNmfsUpdateOnAGrid) {
  // One clip, a complete grid (12 frames × 9 bins), knots at its frames: one step must be
  // classic NMF's update of H with W fixed at the networks' values at the bins.
  std::mt19937_64 rng(23);
  std::uniform_real_distribution<float> magnitude(0.1f, 2.0f);
  std::vector<tf::ClipInfo> infos(1);
  std::vector<tf::ClipPoints> clips(1);
  for (int j = 0; j < 12; ++j) clips[0].times.push_back(0.1f * j);
  for (int i = 0; i <= 8; ++i) clips[0].freqs.push_back(500.0f * i);
  for (std::size_t i = 0; i < 12 * 9; ++i) clips[0].m.push_back(magnitude(rng));
  infos[0].duration = 1.1;
  const auto points = prepare_points(infos, clips, 0.5);
  ASSERT_TRUE(points.clips[0].grid);
  const double normalizer = 1.0 / static_cast<double>(points.n_points);
  for (double beta : {0.0, 0.5, 1.0, 2.0, 3.0}) {
    auto config = small_config(ActivationKind::grid, nn::Architecture::per_component, beta);
    InnmfModel<double> model(config, points, points.mean_target);
    model.forward_templates(0, model.n_template_networks());
    loss_with_templates_fixed(model, points, normalizer);
    const auto& times = points.clips[0].unique_times;
    const RowMatrix<double> W = model.template_values();   // (9, K)
    const RowMatrix<double> H = model.activations_at(0, times);  // (12, K)
    model.multiplicative_activation_step(points, normalizer);
    const RowMatrix<double> updated = model.activations_at(0, times);

    classic::Matrix V(9, 12);  // (bins, frames)
    for (int j = 0; j < 12; ++j)
      for (int i = 0; i < 9; ++i) V(i, j) = points.clips[0].y[static_cast<std::size_t>(j * 9 + i)];
    const classic::Matrix Wc = W.cast<float>();
    classic::Matrix Hc = H.transpose().cast<float>();
    classic::MuOptions options;
    options.beta = beta;
    options.iterations = 1;
    options.tolerance = 0;
    options.kernels = classic::Kernels::portable;
    classic::fit_activations(V, Wc, Hc, options);
    const double scale = H.maxCoeff();
    double moved = 0;
    for (int j = 0; j < 12; ++j)
      for (int k = 0; k < config.rank; ++k) {
        EXPECT_NEAR(updated(j, k), Hc(k, j), 1e-5 * scale) << "β " << beta << " frame " << j << " k " << k;
        moved = std::max(moved, std::abs(updated(j, k) - H(j, k)));
      }
    EXPECT_GT(moved, 1e-3 * scale) << "β " << beta;  // the step did something to compare
  }
}

TEST(InnmfModel, MultiplicativeActivationStepNeedsGridActivations) {
  const auto points = small_corpus();
  InnmfModel<double> model(small_config(ActivationKind::mlp, nn::Architecture::per_component, 1.0), points,
                           points.mean_target);
  EXPECT_THROW(model.multiplicative_activation_step(points, 1.0), UsageError);
}
