// Finite-difference checks of the coordinate networks, in double precision so that a wrong
// derivative (relative error ~1) stands far above the difference error (~1e-8).

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "innmf/core/error.hpp"
#include "innmf/nn/activations.hpp"
#include "innmf/nn/mlp.hpp"

using namespace innmf;
using nn::RowMatrix;

namespace {

/// L = Σ c_ij · out_ij with fixed random c, so ∂L/∂out = c.
double weighted_sum(const nn::Mlp<double>& mlp, const std::vector<double>& params,
                    const RowMatrix<double>& X, const RowMatrix<double>& c) {
  RowMatrix<double> out;
  std::vector<nn::MlpCache<double>> caches;
  mlp.forward(params.data(), X, out, caches);
  return (out.array() * c.array()).sum();
}

void check_gradients(const nn::MlpShape& shape) {
  nn::Mlp<double> mlp(shape);
  std::vector<double> params(mlp.n_parameters());
  mlp.initialize(params.data(), 42);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal;
  RowMatrix<double> X(9, shape.n_inputs), c(9, shape.n_outputs);
  for (auto& v : X.reshaped()) v = normal(rng);
  for (auto& v : c.reshaped()) v = normal(rng);

  RowMatrix<double> out;
  std::vector<nn::MlpCache<double>> caches;
  mlp.forward(params.data(), X, out, caches);
  std::vector<double> grad(params.size(), 0.0);
  mlp.backward(params.data(), X, c, caches, grad.data());

  const double h = 1e-6;
  double worst = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    auto plus = params, minus = params;
    plus[i] += h;
    minus[i] -= h;
    const double numeric = (weighted_sum(mlp, plus, X, c) - weighted_sum(mlp, minus, X, c)) / (2 * h);
    const double error = std::abs(numeric - grad[i]) / std::max(1.0, std::abs(numeric));
    worst = std::max(worst, error);
  }
  EXPECT_LT(worst, 1e-6) << nn::architecture_name(shape.architecture) << " layers " << shape.layers;
}

}  // namespace

TEST(Mlp, PerComponentGradientsMatchFiniteDifferences) {
  check_gradients({6, 5, 3, 3, nn::Architecture::per_component});
}

TEST(Mlp, SharedGradientsMatchFiniteDifferences) {
  check_gradients({6, 5, 4, 3, nn::Architecture::shared});
}

TEST(Mlp, SingleLinearLayerGradients) { check_gradients({4, 3, 1, 2, nn::Architecture::shared}); }

TEST(Mlp, ParameterCountOfThePapersModel) {
  // Per network: 20·64+64 + 3·(64·64+64) + 64+1 = 1344 + 12480 + 65 = 13889; K = 20 networks.
  nn::Mlp<float> paper({20, 64, 4, 20, nn::Architecture::per_component});
  EXPECT_EQ(paper.n_parameters(), 20u * 13889u);
  nn::Mlp<float> shared({20, 64, 4, 20, nn::Architecture::shared});
  EXPECT_EQ(shared.n_parameters(), 1344u + 12480u + 64u * 20u + 20u);
}

TEST(Mlp, PerComponentNetworksAreIndependent) {
  // Changing network 1's parameters must not change output 0.
  nn::Mlp<double> mlp({4, 8, 3, 2, nn::Architecture::per_component});
  std::vector<double> params(mlp.n_parameters());
  mlp.initialize(params.data(), 1);
  RowMatrix<double> X = RowMatrix<double>::Random(5, 4), a, b;
  std::vector<nn::MlpCache<double>> caches;
  mlp.forward(params.data(), X, a, caches);
  for (std::size_t i = mlp.n_parameters() / 2; i < mlp.n_parameters(); ++i) params[i] += 0.1;
  mlp.forward(params.data(), X, b, caches);
  EXPECT_EQ(a.col(0), b.col(0));
  EXPECT_NE(a.col(1), b.col(1));
}

TEST(Mlp, InitialisationFollowsTorchLinearBounds) {
  nn::Mlp<double> mlp({20, 64, 4, 1, nn::Architecture::shared});
  std::vector<double> params(mlp.n_parameters());
  mlp.initialize(params.data(), 3);
  // First layer: U(−1/√20, 1/√20); later layers U(−1/8, 1/8).
  double first_max = 0;
  for (int i = 0; i < 20 * 64; ++i) first_max = std::max(first_max, std::abs(params[i]));
  EXPECT_LE(first_max, 1 / std::sqrt(20.0));
  EXPECT_GT(first_max, 0.9 / std::sqrt(20.0));
}

TEST(Softplus, ValuesDerivativeAndInverse) {
  EXPECT_NEAR(nn::softplus(0.0), std::log(2.0), 1e-15);
  EXPECT_NEAR(nn::softplus(30.0), 30.0, 1e-12);
  EXPECT_NEAR(nn::softplus(-30.0), std::exp(-30.0), 1e-20);
  for (double x : {-5.0, -0.3, 0.0, 2.0, 15.0}) {
    EXPECT_NEAR(nn::softplus_inverse(nn::softplus(x)), x, 1e-9);
    EXPECT_NEAR(nn::softplus_derivative(x), (nn::softplus(x + 1e-6) - nn::softplus(x - 1e-6)) / 2e-6, 1e-8);
  }
}

TEST(FourierFeatures, EncodesWithPhases) {
  nn::FourierFeatures encoding(std::vector<double>{0.0, 0.5});
  const auto X = encoding.encode<double>({0.25});
  ASSERT_EQ(X.cols(), 4);
  EXPECT_NEAR(X(0, 0), std::cos(M_PI * 0.25), 1e-12);        // j = 0, b = 0
  EXPECT_NEAR(X(0, 1), std::sin(M_PI * 0.25), 1e-12);
  EXPECT_NEAR(X(0, 2), std::cos(2 * M_PI * 0.25 + 0.5), 1e-12);  // j = 1, b = 0.5
  EXPECT_NEAR(X(0, 3), std::sin(2 * M_PI * 0.25 + 0.5), 1e-12);
  // Same seed, same phases.
  EXPECT_EQ(nn::FourierFeatures(10, 5).phases(), nn::FourierFeatures(10, 5).phases());
}
