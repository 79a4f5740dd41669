// Classic NMF (model/classic_nmf.hpp) against answers we can reason about: the loss never
// increases, an exactly low-rank V is recovered, one update equals a naive triple loop written
// from scikit-learn's formulas, H is recovered with the true W, and results do not depend on
// the thread count.

#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>
#include <tuple>

#include "innmf/core/error.hpp"
#include "innmf/model/beta_divergence.hpp"
#include "innmf/model/classic_nmf.hpp"

using namespace innmf;
using namespace innmf::model::classic;
using Eigen::Index;

namespace {

using MatrixD = Eigen::MatrixXd;

/// Uniform entries in [low, high), a fraction `zeros` of them set to 0.
Matrix random_matrix(Index rows, Index cols, std::uint64_t seed, double low = 0.0,
                     double high = 1.0, double zeros = 0.0) {
  std::mt19937_64 generator(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  Matrix m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) {
    const double u = uniform(generator);
    m.data()[i] = uniform(generator) < zeros ? 0.0f : static_cast<float>(low + (high - low) * u);
  }
  return m;
}

/// Σ D_β(V | WH) in double by the definition (beta_divergence.hpp), one entry at a time.
double naive_loss_sum(const Matrix& V, const Matrix& W, const Matrix& H, double beta) {
  const auto b = model::Beta::of(beta);
  double sum = 0;
  for (Index f = 0; f < V.rows(); ++f)
    for (Index t = 0; t < V.cols(); ++t) {
      double wh = 0;
      for (Index k = 0; k < W.cols(); ++k) wh += static_cast<double>(W(f, k)) * H(k, t);
      sum += model::beta_divergence(b, V(f, t), wh);
    }
  return sum;
}

/// W·H in double.
MatrixD product(const MatrixD& W, const MatrixD& H) {
  MatrixD WH = MatrixD::Zero(W.rows(), H.cols());
  for (Index f = 0; f < W.rows(); ++f)
    for (Index t = 0; t < H.cols(); ++t)
      for (Index k = 0; k < W.cols(); ++k) WH(f, t) += W(f, k) * H(k, t);
  return WH;
}

double gamma_of(double beta) { return beta < 1 ? 1 / (2 - beta) : beta > 2 ? 1 / (beta - 1) : 1; }

/// H ← H ⊙ ([Wᵀ (V ⊙ WH^(β−2))] / [Wᵀ WH^(β−1)])^γ as scikit-learn's _multiplicative_update_h,
/// written out as triple loops in double, with the same floors.
void naive_update_h(const MatrixD& V, const MatrixD& W, MatrixD& H, double beta) {
  const double eps = model::kBetaEpsilon;
  const double gamma = gamma_of(beta);
  const Index F = V.rows(), T = V.cols(), K = W.cols();
  // Denominator Σ_f W(f, k) for β = 1.
  const MatrixD WH = product(W, H);
  MatrixD H_new = H;
  for (Index k = 0; k < K; ++k)
    for (Index t = 0; t < T; ++t) {
      double num = 0, den = 0;
      for (Index f = 0; f < F; ++f) {
        const double model = beta == 2 ? WH(f, t) : std::max(WH(f, t), eps);
        num += W(f, k) * V(f, t) * std::pow(model, beta - 2);
        den += W(f, k) * (beta == 1 ? 1.0 : std::pow(model, beta - 1));
      }
      if (den == 0) den = beta == 1 ? 1.0 : eps;
      H_new(k, t) = H(k, t) * std::pow(num / den, gamma);
      if (beta <= 1 && H_new(k, t) < 2.220446049250313e-16) H_new(k, t) = 0;
    }
  H = H_new;
}

/// One iteration of scikit-learn's _fit_multiplicative_update (W, then H), written out as triple
/// loops in double from the formulas in _multiplicative_update_w/_h, with the same floors.
void naive_update(const MatrixD& V, MatrixD& W, MatrixD& H, double beta) {
  const double eps = model::kBetaEpsilon;
  const double gamma = gamma_of(beta);
  const Index F = V.rows(), T = V.cols(), K = W.cols();
  // W ← W ⊙ ([(V ⊙ WH^(β−2)) Hᵀ] / [WH^(β−1) Hᵀ])^γ, denominator Σ_t H(k, t) for β = 1.
  MatrixD WH = product(W, H);
  MatrixD W_new = W;
  for (Index f = 0; f < F; ++f)
    for (Index k = 0; k < K; ++k) {
      double num = 0, den = 0;
      for (Index t = 0; t < T; ++t) {
        const double model = beta == 2 ? WH(f, t) : std::max(WH(f, t), eps);
        num += V(f, t) * std::pow(model, beta - 2) * H(k, t);
        den += (beta == 1 ? 1.0 : std::pow(model, beta - 1)) * H(k, t);
      }
      if (den == 0) den = eps;
      W_new(f, k) = W(f, k) * std::pow(num / den, gamma);
      if (beta < 1 && W_new(f, k) < 2.220446049250313e-16) W_new(f, k) = 0;
    }
  W = W_new;
  naive_update_h(V, W, H, beta);
}

double max_relative_difference(const MatrixD& a, const MatrixD& b) {
  return ((a - b).array().abs() / b.array().abs().max(1e-6)).maxCoeff();
}

MuOptions options_with(double beta, int iterations, double tolerance = 0) {
  MuOptions options;
  options.beta = beta;
  options.iterations = iterations;
  options.tolerance = tolerance;
  return options;
}

/// Runs `f` with `threads` OpenMP threads, restoring the previous setting.
template <typename F>
void with_threads(int threads, F&& f) {
  const int previous = omp_get_max_threads();
  omp_set_num_threads(threads);
  f();
  omp_set_num_threads(previous);
}

}  // namespace

class ClassicNmfBeta : public ::testing::TestWithParam<double> {};

// Multiplicative updates with scikit-learn's exponent γ are majorisation-minimisation steps:
// the loss must never increase. Checked on the losses fit() reports and, independently, on the
// naive double-precision loss of the factors after every single update. The slack (1e-6
// relative) covers float32 rounding of the factors themselves.
TEST_P(ClassicNmfBeta, LossNeverIncreases) {
  const double beta = GetParam();
  // 150 × 200 spans several tiles of both passes; 10% zeros exercise the floors.
  const Matrix V = random_matrix(150, 200, 7, 0.0, 2.0, 0.1);
  auto factors = random_init(V, 8, 3);
  std::vector<double> reported;
  const auto result = fit(V, factors, options_with(beta, 60),
                          [&](const MuProgress& p) { reported.push_back(p.loss); });
  ASSERT_EQ(result.iterations, 60);
  ASSERT_EQ(reported.size(), 61u);
  EXPECT_EQ(reported, result.loss);
  for (std::size_t i = 1; i < reported.size(); ++i)
    EXPECT_LE(reported[i], reported[i - 1] * (1 + 1e-6)) << "β = " << beta << ", update " << i;
  EXPECT_LT(reported.back(), 0.8 * reported.front()) << "β = " << beta;

  auto stepped = random_init(V, 8, 3);
  double previous = naive_loss_sum(V, stepped.W, stepped.H, beta);
  for (int i = 1; i <= 30; ++i) {
    fit(V, stepped, options_with(beta, 1));
    const double current = naive_loss_sum(V, stepped.W, stepped.H, beta);
    EXPECT_LE(current, previous * (1 + 1e-6)) << "β = " << beta << ", update " << i;
    previous = current;
  }
}

// The loss fit() reports (float32 entries, double sums, fused into the update passes) agrees
// with the definition computed entry by entry in double.
TEST_P(ClassicNmfBeta, FusedLossMatchesDefinition) {
  const double beta = GetParam();
  const Matrix V = random_matrix(130, 170, 11, 0.0, 3.0, 0.05);
  auto factors = random_init(V, 5, 1);
  const double expected = naive_loss_sum(V, factors.W, factors.H, beta);
  const auto l = loss(V, factors.W, factors.H, beta);
  EXPECT_NEAR(l.sum, expected, 1e-5 * std::abs(expected)) << "β = " << beta;
  EXPECT_DOUBLE_EQ(l.mean, l.sum / static_cast<double>(V.size()));
  std::vector<double> reported;
  fit(V, factors, options_with(beta, 1), [&](const MuProgress& p) { reported.push_back(p.loss); });
  ASSERT_EQ(reported.size(), 2u);
  EXPECT_NEAR(reported[0], expected / static_cast<double>(V.size()),
              1e-5 * std::abs(expected) / static_cast<double>(V.size()));
  const double after = naive_loss_sum(V, factors.W, factors.H, beta) / static_cast<double>(V.size());
  EXPECT_NEAR(reported[1], after, 1e-5 * std::abs(after));
}

// loss_against prepares V once and then gives, for any (W, H), the definition's number, and
// loss()'s to the bit; a W·H of another shape is an error.
TEST_P(ClassicNmfBeta, LossAgainstOneVMatchesLossForEveryFactorPair) {
  const double beta = GetParam();
  const Matrix V = random_matrix(130, 170, 12, 0.0, 3.0, 0.05);
  const auto loss_of = loss_against(V, beta);
  for (std::uint64_t seed = 1; seed <= 3; ++seed) {
    const auto factors = random_init(V, static_cast<int>(2 + seed), seed);
    const auto l = loss_of(factors.W, factors.H);
    const double expected = naive_loss_sum(V, factors.W, factors.H, beta);
    EXPECT_NEAR(l.sum, expected, 1e-5 * std::abs(expected)) << "β = " << beta << ", seed " << seed;
    EXPECT_EQ(l.sum, loss(V, factors.W, factors.H, beta).sum) << "β = " << beta << ", seed " << seed;
    EXPECT_DOUBLE_EQ(l.mean, l.sum / static_cast<double>(V.size()));
  }
  const auto wrong = random_init(random_matrix(130, 90, 13), 3, 1);  // 90 frames, not 170
  EXPECT_THROW(loss_of(wrong.W, wrong.H), Error);
}

// One update of fit() equals the naive triple loop, W then H, to float32 precision.
TEST_P(ClassicNmfBeta, OneUpdateMatchesNaiveTripleLoop) {
  const double beta = GetParam();
  const Matrix V = random_matrix(70, 90, 5, 0.0, 1.0, 0.1);
  auto factors = random_init(V, 4, 9);
  MatrixD W = factors.W.cast<double>(), H = factors.H.cast<double>();
  naive_update(V.cast<double>(), W, H, beta);
  fit(V, factors, options_with(beta, 1));
  EXPECT_LT(max_relative_difference(factors.W.cast<double>(), W), 2e-4) << "β = " << beta;
  EXPECT_LT(max_relative_difference(factors.H.cast<double>(), H), 2e-4) << "β = " << beta;
}

INSTANTIATE_TEST_SUITE_P(Betas, ClassicNmfBeta, ::testing::Values(0.0, 0.5, 1.0, 1.5, 2.0, 3.0),
                         [](const ::testing::TestParamInfo<double>& info) {
                           const int tenths = static_cast<int>(std::lround(info.param * 10));
                           return "beta_" + std::to_string(tenths / 10) + "_" + std::to_string(tenths % 10);
                         });

// V = W₀H₀ of rank 2 is factorised exactly: the loss goes to ~0 and WH reproduces V.
TEST(ClassicNmf, RecoversExactRankTwoMatrix) {
  for (double beta : {1.0, 2.0}) {
    const Matrix W0 = random_matrix(40, 2, 21, 0.1, 1.0);
    const Matrix H0 = random_matrix(2, 60, 22, 0.1, 1.0);
    const Matrix V = W0 * H0;
    auto factors = random_init(V, 2, 0);
    const auto result = fit(V, factors, options_with(beta, 3000));
    EXPECT_LT(result.loss.back(), 1e-6 * result.loss.front()) << "β = " << beta;
    const Matrix WH = factors.W * factors.H;
    EXPECT_LT(((WH - V).array().abs() / V.array()).maxCoeff(), 1e-2) << "β = " << beta;
  }
}

// With the true templates fixed, the activations of V = W₀H₀ are found again (KL is convex in
// H and W₀ has full column rank, so H₀ is the only minimiser).
TEST(ClassicNmf, FitActivationsWithTrueTemplatesRecoversH) {
  const Matrix W0 = random_matrix(50, 3, 31, 0.0, 1.0, 0.3);
  const Matrix H0 = random_matrix(3, 80, 32, 0.2, 1.0);
  const Matrix V = W0 * H0;
  Matrix H = constant_activations(V, 3);
  const auto result = fit_activations(V, W0, H, options_with(1.0, 2000));
  EXPECT_EQ(result.iterations, 2000);
  EXPECT_LT(result.loss.back(), 1e-6 * result.loss.front());
  EXPECT_LT(((H - H0).array().abs() / H0.array()).maxCoeff(), 1e-2);
}

// Tiles are fixed by the shapes and each writes its own output: 1 and 2 threads give the same
// bits (also for fit_activations and the loss).
TEST(ClassicNmf, ResultsDoNotDependOnThreadCount) {
  const Matrix V = random_matrix(200, 300, 41, 0.0, 1.0, 0.05);
  Factors one, two;
  MuResult result_one, result_two;
  Matrix H_one, H_two;
  const auto run = [&V](int threads, Factors& factors, MuResult& result, Matrix& H) {
    with_threads(threads, [&] {
      factors = random_init(V, 6, 5);
      result = fit(V, factors, options_with(1.0, 20));
      H = constant_activations(V, 6);
      fit_activations(V, factors.W, H, options_with(0.5, 10));
    });
  };
  run(1, one, result_one, H_one);
  run(2, two, result_two, H_two);
  EXPECT_EQ(result_one.loss, result_two.loss);
  EXPECT_TRUE(one.W == two.W);
  EXPECT_TRUE(one.H == two.H);
  EXPECT_TRUE(H_one == H_two);
}

// The AVX2 kernels (β = 1) and the portable Eigen ones compute the same updates and losses, on
// shapes that exercise the padding (rows and columns not multiples of 8, K not of 4).
TEST(ClassicNmf, FastAndPortableKernelsAgree) {
  for (auto [F, T, K] : {std::tuple<Index, Index, Index>{37, 50, 5}, {501, 321, 20}, {16, 6, 12}}) {
    const Matrix V = random_matrix(F, T, 61, 0.0, 2.0, 0.1);
    auto fast = random_init(V, static_cast<int>(K), 2), portable = fast;
    auto options = options_with(1.0, 5);
    const auto fast_result = fit(V, fast, options);
    options.kernels = Kernels::portable;
    const auto portable_result = fit(V, portable, options);
    EXPECT_EQ(portable_result.kernels, "eigen");
    ASSERT_EQ(fast_result.loss.size(), portable_result.loss.size());
    for (std::size_t i = 0; i < fast_result.loss.size(); ++i)
      EXPECT_NEAR(fast_result.loss[i], portable_result.loss[i], 1e-5 * portable_result.loss[i])
          << F << " × " << T << ", K " << K << ", update " << i;
    EXPECT_LT(max_relative_difference(fast.W.cast<double>(), portable.W.cast<double>()), 1e-3);
    EXPECT_LT(max_relative_difference(fast.H.cast<double>(), portable.H.cast<double>()), 1e-3);

    Matrix H_fast = constant_activations(V, K), H_portable = H_fast;
    const auto a = fit_activations(V, fast.W, H_fast, options_with(1.0, 5));
    options.kernels = Kernels::portable;
    const auto b = fit_activations(V, fast.W, H_portable, options);
    EXPECT_NEAR(a.loss.back(), b.loss.back(), 1e-5 * b.loss.back());
    EXPECT_LT(max_relative_difference(H_fast.cast<double>(), H_portable.cast<double>()), 1e-3);
    EXPECT_NEAR(loss(V, fast.W, fast.H, 1.0).sum,
                loss(V, fast.W, fast.H, 1.0, Kernels::portable).sum,
                1e-5 * loss(V, fast.W, fast.H, 1.0, Kernels::portable).sum);
  }
}

// The β = 1 kernels (AVX2 on an AVX2 build) against the naive double update and loss, on shapes
// that give every tile width in both directions (8, 16 and 24 columns of the packed V, tiles
// with 1 to 24 real columns), one or several row chunks (96 rows) with a partial last one, rows
// not a multiple of 8, and K = 1, 2, 4, 5, 7, 20 (padded to a multiple of 4 or not).
TEST(ClassicNmf, FastKlKernelsMatchNaiveOnEveryTileShape) {
  using Shape = std::tuple<Index, Index, Index>;
  for (auto [F, T, K] : {Shape{200, 130, 7}, Shape{37, 50, 1}, Shape{130, 217, 4}, Shape{9, 3, 2},
                         Shape{48, 72, 20}, Shape{192, 96, 5}}) {
    const Matrix V = random_matrix(F, T, 71, 0.0, 2.0, 0.1);
    auto factors = random_init(V, static_cast<int>(K), 4);
    const double expected = naive_loss_sum(V, factors.W, factors.H, 1.0);
    EXPECT_NEAR(loss(V, factors.W, factors.H, 1.0).sum, expected, 1e-5 * expected)
        << F << " × " << T << ", K " << K;
    MatrixD W = factors.W.cast<double>(), H = factors.H.cast<double>();
    naive_update(V.cast<double>(), W, H, 1.0);
    std::vector<double> reported;
    fit(V, factors, options_with(1.0, 1), [&](const MuProgress& p) { reported.push_back(p.loss_sum); });
    ASSERT_EQ(reported.size(), 2u);
    EXPECT_NEAR(reported[0], expected, 1e-5 * expected) << F << " × " << T << ", K " << K;
    EXPECT_LT(max_relative_difference(factors.W.cast<double>(), W), 2e-4) << F << " × " << T << ", K " << K;
    EXPECT_LT(max_relative_difference(factors.H.cast<double>(), H), 2e-4) << F << " × " << T << ", K " << K;

    Matrix H_fit = constant_activations(V, K);
    MatrixD H_naive = H_fit.cast<double>();
    naive_update_h(V.cast<double>(), factors.W.cast<double>(), H_naive, 1.0);
    fit_activations(V, factors.W, H_fit, options_with(1.0, 1));
    EXPECT_LT(max_relative_difference(H_fit.cast<double>(), H_naive), 2e-4) << F << " × " << T << ", K " << K;
  }
}

// loss_every = n: losses at the start, after every n-th update and after the last, NaN between
// (the callback still sees every update); the factors and the computed losses are the same bits
// as with every loss computed. The tolerance compares losses n updates apart.
TEST(ClassicNmf, LossEveryComputesOnlyThoseLosses) {
  const Matrix V = random_matrix(60, 70, 81, 0.0, 1.0, 0.05);
  for (double beta : {1.0, 0.5}) {
    auto all = random_init(V, 3, 1), some = all;
    auto options = options_with(beta, 23);
    const auto every = fit(V, all, options);
    options.loss_every = 10;
    std::vector<int> calls, computed;
    const auto result = fit(V, some, options, [&](const MuProgress& p) {
      calls.push_back(p.iteration);
      if (!std::isnan(p.loss)) computed.push_back(p.iteration);
    });
    EXPECT_EQ(calls.size(), 24u) << "β = " << beta;
    EXPECT_EQ(computed, (std::vector<int>{0, 10, 20, 23})) << "β = " << beta;
    EXPECT_TRUE(all.W == some.W && all.H == some.H) << "β = " << beta;
    ASSERT_EQ(result.loss.size(), 24u);
    for (std::size_t i = 0; i < result.loss.size(); ++i) {
      if (i % 10 == 0 || i == 23)
        EXPECT_EQ(result.loss[i], every.loss[i]) << "β = " << beta << ", update " << i;
      else
        EXPECT_TRUE(std::isnan(result.loss[i])) << "β = " << beta << ", update " << i;
    }

    Matrix H_all = constant_activations(V, 3), H_some = H_all;
    auto activation_options = options_with(beta, 12);
    const auto activations_every = fit_activations(V, all.W, H_all, activation_options);
    activation_options.loss_every = 10;
    const auto activations_some = fit_activations(V, all.W, H_some, activation_options);
    EXPECT_TRUE(H_all == H_some);
    EXPECT_EQ(activations_some.loss.back(), activations_every.loss.back());
    EXPECT_TRUE(std::isnan(activations_some.loss[5]));
  }

  auto factors = random_init(V, 4, 0);
  auto options = options_with(1.0, 500, 1e-3);
  options.loss_every = 5;
  const auto result = fit(V, factors, options);
  EXPECT_TRUE(result.converged);
  EXPECT_EQ(result.iterations % 5, 0);
  const double last = result.loss.back(), before = result.loss[result.loss.size() - 6];
  EXPECT_LT((before - last) / before, 1e-3);

  options.loss_every = 0;
  try {
    fit(V, factors, options);
    FAIL() << "no UsageError";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--loss-every 0"), std::string::npos) << e.what();
  }
}

TEST(ClassicNmf, RandomInitIsSeededPositiveAndScaledLikeScikitLearn) {
  const Matrix V = Matrix::Constant(30, 40, 4.0f);
  const auto a = random_init(V, 4, 7), b = random_init(V, 4, 7), c = random_init(V, 4, 8);
  EXPECT_TRUE(a.W == b.W && a.H == b.H);
  EXPECT_FALSE(a.W == c.W);
  ASSERT_EQ(a.W.rows(), 30);
  ASSERT_EQ(a.W.cols(), 4);
  ASSERT_EQ(a.H.rows(), 4);
  ASSERT_EQ(a.H.cols(), 40);
  // √(mean(V)/K) = 1: entries in (0, 1), mean ≈ 1/2.
  EXPECT_GT(a.W.minCoeff(), 0.0f);
  EXPECT_LT(a.W.maxCoeff(), 1.0f);
  EXPECT_NEAR(a.H.mean(), 0.5, 0.1);
  EXPECT_TRUE((constant_activations(V, 4).array() == 1.0f).all());
}

TEST(ClassicNmf, ToleranceStopsEarly) {
  const Matrix V = random_matrix(60, 80, 51);
  auto factors = random_init(V, 4, 0);
  const auto result = fit(V, factors, options_with(1.0, 500, 1e-3));
  EXPECT_TRUE(result.converged);
  EXPECT_LT(result.iterations, 500);
  ASSERT_GE(result.loss.size(), 2u);
  const double last = result.loss.back(), before = result.loss[result.loss.size() - 2];
  EXPECT_LT((before - last) / before, 1e-3);
  EXPECT_EQ(result.seconds.size(), static_cast<std::size_t>(result.iterations));
}

TEST(ClassicNmf, ImpossibleOptionsAndInputsAreErrors) {
  const Matrix V = random_matrix(10, 12, 1);
  EXPECT_THROW(random_init(V, 0, 0), UsageError);
  auto factors = random_init(V, 2, 0);
  EXPECT_THROW(fit(V, factors, options_with(1.0, 0)), UsageError);
  EXPECT_THROW(fit(V, factors, options_with(std::nan(""), 10)), UsageError);
  EXPECT_THROW(fit(V, factors, options_with(1.0, 10, -1)), UsageError);
  Matrix negative = V;
  negative(3, 4) = -1;
  EXPECT_THROW(fit(negative, factors, options_with(1.0, 10)), InputError);
  try {
    fit(V, factors, options_with(1.0, 0));
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--iters 0"), std::string::npos) << e.what();
  }
}

// Large values with a large β overflow float32: a NumericalError, not NaN factors.
TEST(ClassicNmf, OverflowIsANumericalError) {
  const Matrix V = random_matrix(20, 30, 3, 1e3, 1e4);
  auto factors = random_init(V, 3, 0);
  EXPECT_THROW(fit(V, factors, options_with(40.0, 50)), NumericalError);
}

TEST(ClassicNmf, CompressedIsTheTransposedPower) {
  tf::MagnitudeSpectrogram X(3, 5);  // 3 frames × 5 bins
  for (Index j = 0; j < 3; ++j)
    for (Index k = 0; k < 5; ++k) X(j, k) = static_cast<float>(10 * j + k);
  for (double p : {0.5, 1.0, 0.3}) {
    const Matrix V = compressed(X, p);
    ASSERT_EQ(V.rows(), 5);
    ASSERT_EQ(V.cols(), 3);
    for (Index j = 0; j < 3; ++j)
      for (Index k = 0; k < 5; ++k) EXPECT_NEAR(V(k, j), std::pow(X(j, k), p), 1e-4);
  }
  EXPECT_THROW(compressed(X, 0.0), UsageError);
}

// By hand: |X| = 1 everywhere, WH = 0.5, p = 1: KL = 1·log 2 − 1 + 0.5 = 0.19315 per entry and
// SDR = 20·log10(1 / 0.5) = 6.0206 dB. With p = 0.5, X̂ = 0.5² = 0.25: SDR = 20·log10(1/0.75).
TEST(ClassicNmf, ReconstructionMetricsByHand) {
  const Matrix X = Matrix::Ones(4, 6);
  const Matrix W = Matrix::Constant(4, 1, 0.5f), H = Matrix::Ones(1, 6);
  auto m = reconstruction_metrics(X, X, W, H, 1.0);
  EXPECT_NEAR(m.kl, std::log(2.0) - 0.5, 1e-6);
  EXPECT_NEAR(m.sdr_freq, 20 * std::log10(2.0), 1e-6);
  m = reconstruction_metrics(X, X, W, H, 0.5);
  EXPECT_NEAR(m.sdr_freq, 20 * std::log10(1 / 0.75), 1e-5);
}

TEST(ClassicNmf, TemplatesOnlyAtTheirOwnBins) {
  EXPECT_NO_THROW(require_same_bins({1000, 8000}, {1000, 8000}));
  try {
    require_same_bins({1000, 8000}, {512, 8000});
    FAIL() << "no UsageError";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("--n-fft 1000 at 8000 Hz"), std::string::npos) << message;
    EXPECT_NE(message.find("--n-fft 512"), std::string::npos) << message;
    EXPECT_NE(message.find("innmf nmf"), std::string::npos) << message;
  }
  EXPECT_THROW(require_same_bins({1000, 8000}, {1000, 16000}), UsageError);
}
