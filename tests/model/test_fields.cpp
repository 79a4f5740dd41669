#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "innmf/model/fields.hpp"

using namespace innmf;
using namespace innmf::model;

namespace {

/// ∂L/∂params and the field's values for n random frequencies in [0, 8 kHz], with activations
/// kept (the default limit) or recomputed (limit 0), for L = Σ d_value ⊙ value with a fixed
/// random d_value.
template <typename Scalar>
struct FieldRun {
  RowMatrix<Scalar> value;
  std::vector<Scalar> grad;
  bool caches_empty = false;
};

template <typename Scalar>
FieldRun<Scalar> run_field(nn::Architecture architecture, Eigen::Index n, std::size_t cache_limit_bytes, int first,
                           int last) {
  const nn::MlpShape shape{20, 64, 4, 6, architecture};
  const NeuralField<Scalar> field(shape, nn::FourierFeatures(10, 7), 8000.0);
  std::vector<Scalar> params(field.n_parameters());
  field.initialize(params.data(), 11, 4.0);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> uniform(0, 8000);
  std::vector<double> freqs(static_cast<std::size_t>(n));
  for (auto& f : freqs) f = uniform(rng);
  auto batch = field.prepare(freqs);
  batch.cache_limit_bytes = cache_limit_bytes;
  field.forward(params.data(), batch, first, last);
  RowMatrix<Scalar> d_value(n, shape.n_outputs);
  std::normal_distribution<double> normal;
  for (Eigen::Index i = 0; i < d_value.size(); ++i) d_value.data()[i] = static_cast<Scalar>(normal(rng));
  FieldRun<Scalar> run;
  run.grad.assign(params.size(), Scalar(0));
  field.backward(params.data(), batch, d_value, run.grad.data(), first, last);
  run.value = batch.value;
  run.caches_empty = true;
  for (const auto& cache : batch.caches)
    for (const auto& layer : cache.packed_sines) run.caches_empty = run.caches_empty && layer.size() == 0;
  for (const auto& cache : batch.caches)
    for (const auto& layer : cache.activations) run.caches_empty = run.caches_empty && layer.size() == 0;
  return run;
}

template <typename Scalar>
void expect_recomputation_matches(nn::Architecture architecture, int first, int last, double tolerance) {
  // 2500 rows: two whole blocks of recomputation and a part block.
  const Eigen::Index n = 2500;
  const auto kept = run_field<Scalar>(architecture, n, kDefaultFieldCacheBytes, first, last);
  const auto recomputed = run_field<Scalar>(architecture, n, 0, first, last);
  EXPECT_FALSE(kept.caches_empty);
  EXPECT_TRUE(recomputed.caches_empty) << "recomputation keeps no activations between forward and backward";
  const int width = architecture == nn::Architecture::shared ? 6 : 1;
  for (Eigen::Index i = 0; i < n; ++i)
    for (int o = first * width; o < last * width; ++o)
      ASSERT_NEAR(recomputed.value(i, o), kept.value(i, o), tolerance * std::abs(kept.value(i, o))) << i << ", " << o;
  double scale = 0;
  for (auto g : kept.grad) scale = std::max(scale, std::abs(static_cast<double>(g)));
  ASSERT_GT(scale, 0);
  std::size_t nonzero = 0;
  for (std::size_t p = 0; p < kept.grad.size(); ++p) {
    ASSERT_NEAR(recomputed.grad[p], kept.grad[p], tolerance * scale) << "parameter " << p;
    nonzero += recomputed.grad[p] != 0;
  }
  EXPECT_GT(nonzero, kept.grad.size() / 4);
}

}  // namespace

// Many distinct coordinates (sinusoidal peaks) would keep gigabytes of activations between
// forward and backward; beyond a limit the field recomputes them block by block instead. The
// values are the same computation, the gradients the same sums in another order.
TEST(NeuralField, RecomputedActivationsGiveTheKeptOnesGradients) {
  expect_recomputation_matches<float>(nn::Architecture::per_component, 0, 6, 1e-4);
  expect_recomputation_matches<float>(nn::Architecture::per_component, 2, 5, 1e-4);
  expect_recomputation_matches<double>(nn::Architecture::per_component, 0, 6, 1e-10);
  expect_recomputation_matches<float>(nn::Architecture::shared, 0, 1, 1e-4);
  expect_recomputation_matches<double>(nn::Architecture::shared, 0, 1, 1e-10);
}

TEST(NeuralField, RecomputesOnlyBeyondTheCacheLimit) {
  const nn::MlpShape shape{20, 64, 4, 20, nn::Architecture::per_component};
  const NeuralField<float> field(shape, nn::FourierFeatures(10, 7), 8000.0);
  auto batch = field.prepare(std::vector<double>(1000, 440.0));
  EXPECT_FALSE(field.recomputes(batch, 0, 20));  // an STFT's bins: ~1000 × 20 × 768 B = 15 MB
  batch.cache_limit_bytes = 1000 * 20 * field.mlp().cache_bytes_per_row() - 1;
  EXPECT_TRUE(field.recomputes(batch, 0, 20));
  EXPECT_FALSE(field.recomputes(batch, 0, 19));  // a rank's share of the networks counts
}
