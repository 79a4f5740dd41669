// Finite-difference checks of the coordinate networks, in double precision so that a wrong
// derivative (relative error ~1) stands far above the difference error (~1e-8).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <utility>

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

namespace {

/// The obvious layer-by-layer evaluation (a_0 formed, no fold), in double: the oracle of forward().
RowMatrix<double> forward_reference(const nn::MlpShape& shape, const std::vector<double>& params,
                                    const RowMatrix<double>& X) {
  const int networks = shape.architecture == nn::Architecture::per_component ? shape.n_outputs : 1;
  const int outputs = shape.architecture == nn::Architecture::per_component ? 1 : shape.n_outputs;
  const std::size_t per_network = params.size() / static_cast<std::size_t>(networks);
  RowMatrix<double> out(X.rows(), shape.n_outputs);
  for (int k = 0; k < networks; ++k) {
    const double* p = params.data() + static_cast<std::size_t>(k) * per_network;
    RowMatrix<double> a = X;
    auto linear = [&](int in, int n_out) {
      const Eigen::Map<const RowMatrix<double>> W(p, n_out, in);
      const Eigen::Map<const Eigen::RowVectorXd> b(p + static_cast<std::ptrdiff_t>(in) * n_out, n_out);
      p += static_cast<std::ptrdiff_t>(in) * n_out + n_out;
      RowMatrix<double> z = a * W.transpose();
      z.rowwise() += b;
      return z;
    };
    a = linear(shape.n_inputs, shape.hidden);
    for (int l = 1; l < shape.layers; ++l) a = linear(shape.hidden, shape.hidden).array().sin().matrix();
    const RowMatrix<double> o = linear(shape.hidden, outputs);
    out.middleCols(shape.architecture == nn::Architecture::per_component ? k : 0, outputs) = o;
  }
  return out;
}

}  // namespace

TEST(Mlp, FoldedForwardEqualsTheLayerByLayerReference) {
  // Double: the fold of layer 0 into layer 1 is exact up to round-off. Float (the training
  // path: fused sin/cos, float GEMMs) to float round-off.
  for (const nn::MlpShape shape : {nn::MlpShape{20, 64, 4, 5, nn::Architecture::per_component},
                                   nn::MlpShape{6, 5, 2, 3, nn::Architecture::shared},
                                   nn::MlpShape{4, 3, 1, 2, nn::Architecture::shared}}) {
    nn::Mlp<double> exact(shape);
    nn::Mlp<float> single(shape);
    std::vector<double> params(exact.n_parameters());
    exact.initialize(params.data(), 9);
    const std::vector<float> params_f(params.begin(), params.end());
    std::mt19937_64 rng(4);
    std::uniform_real_distribution<double> uniform(-1, 1);
    RowMatrix<double> X(37, shape.n_inputs);
    for (auto& v : X.reshaped()) v = uniform(rng);
    const RowMatrix<double> expected = forward_reference(shape, params, X);
    RowMatrix<double> out;
    std::vector<nn::MlpCache<double>> caches;
    exact.forward(params.data(), X, out, caches);
    EXPECT_LT((out - expected).cwiseAbs().maxCoeff(), 1e-12) << "layers " << shape.layers;
    RowMatrix<float> out_f;
    std::vector<nn::MlpCache<float>> caches_f;
    single.forward(params_f.data(), X.cast<float>(), out_f, caches_f);
    EXPECT_LT((out_f.cast<double>() - expected).cwiseAbs().maxCoeff(), 2e-5) << "layers " << shape.layers;
  }
}

TEST(SinCos, FusedPassMatchesTheStandardLibrary) {
  // Every quadrant, the range reduction up to the limit, the fallback beyond it (a lone lane
  // of a vector and the scalar tail), computed in place (s = z).
  std::vector<float> x;
  for (int i = -200000; i <= 200000; ++i) x.push_back(static_cast<float>(i) * 1e-4f);  // [−20, 20]
  for (int i = -10000; i <= 10000; ++i) x.push_back(static_cast<float>(i) * (nn::kSinCosLimit / 10000));
  x.insert(x.begin() + 3, 3.0f * nn::kSinCosLimit);
  x.push_back(-5.0f * nn::kSinCosLimit);
  std::vector<float> s = x, c(x.size());
  nn::sincos(s.data(), s.data(), c.data(), static_cast<std::ptrdiff_t>(x.size()));
  double worst = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    worst = std::max(worst, std::abs(s[i] - std::sin(static_cast<double>(x[i]))));
    worst = std::max(worst, std::abs(c[i] - std::cos(static_cast<double>(x[i]))));
  }
  EXPECT_LT(worst, 2e-7);  // absolute: ~2 ulp of 1
}

TEST(SinCos, PackedSineCarriesTheCosine) {
  // The fast path's one saved float per hidden unit: sin z within 1 ulp of sincos's, the sign of
  // cos z in bit 0, and cos z recovered from it within the bound activations.hpp states (2δ/|cos|,
  // at most √(2δ), δ = 2·10⁻⁷), also next to the zeros of cos, beyond the reduction's limit
  // (the standard library's values) and in place. The vector code (16 lanes on AVX-512 builds,
  // then 8) and the scalar code agree bit for bit.
  std::vector<float> x;
  for (int i = -200000; i <= 200000; ++i) x.push_back(static_cast<float>(i) * 1e-4f);  // [−20, 20]
  for (int q = -6; q <= 6; ++q) {  // the 41 floats around each zero of cos, (q + ½)·π
    float v = static_cast<float>((q + 0.5) * M_PI);
    for (int step = 0; step < 20; ++step) v = std::nextafter(v, -100.0f);
    for (int step = 0; step <= 40; ++step, v = std::nextafter(v, 100.0f)) x.push_back(v);
  }
  x.insert(x.begin() + 3, 3.0f * nn::kSinCosLimit);
  x.push_back(-5.0f * nn::kSinCosLimit);
  std::vector<float> s(x.size()), c(x.size()), packed(x.size());
  nn::sincos(x.data(), s.data(), c.data(), static_cast<std::ptrdiff_t>(x.size()));
  nn::packed_sin(x.data(), packed.data(), static_cast<std::ptrdiff_t>(x.size()));
  std::vector<float> cosines = packed;
  nn::cos_of_packed(cosines.data(), cosines.data(), static_cast<std::ptrdiff_t>(x.size()));
  double worst_sin = 0, worst_cos_ratio = 0;
  int sign_errors = 0, lane_mismatches = 0, not_sincos_sine = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double exact_cos = std::cos(static_cast<double>(x[i]));
    worst_sin = std::max(worst_sin, std::abs(packed[i] - std::sin(static_cast<double>(x[i]))));
    std::uint32_t packed_bits, sincos_bits;  // sincos's sine but for bit 0
    std::memcpy(&packed_bits, &packed[i], sizeof packed_bits);
    std::memcpy(&sincos_bits, &s[i], sizeof sincos_bits);
    if ((packed_bits | 1u) != (sincos_bits | 1u)) ++not_sincos_sine;
    const double bound = std::min(2 * 2e-7 / std::abs(exact_cos), std::sqrt(2 * 2e-7)) + 1e-7;
    worst_cos_ratio = std::max(worst_cos_ratio, std::abs(cosines[i] - exact_cos) / bound);
    // (Where s rounds to ±1, the cosine comes out ±0: |cos z| < √(2δ), within the bound.)
    if (std::abs(exact_cos) > 1e-5 && cosines[i] != 0 && (cosines[i] < 0) != (exact_cos < 0)) ++sign_errors;
    float one_packed, one_cos;  // a lone value takes the scalar code
    nn::packed_sin(&x[i], &one_packed, 1);
    nn::cos_of_packed(&one_packed, &one_cos, 1);
    if (std::memcmp(&one_packed, &packed[i], sizeof(float)) != 0 || std::memcmp(&one_cos, &cosines[i], sizeof(float)) != 0)
      ++lane_mismatches;
  }
  EXPECT_LT(worst_sin, 2e-7);
  EXPECT_LE(worst_cos_ratio, 1.0);
  EXPECT_EQ(sign_errors, 0);
  EXPECT_EQ(lane_mismatches, 0);
  EXPECT_EQ(not_sincos_sine, 0);
}

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

TEST(Mlp, ABlockOfNetworksEqualsTheFullPassBitForBit) {
  // What a rank of a split template field computes (src/train/trainer.cpp): networks
  // [first, last) forward and backward, bit-identical to their part of the full pass; the other
  // output columns and parameter gradients are not touched. Float, the type training uses.
  nn::Mlp<float> mlp({6, 8, 3, 5, nn::Architecture::per_component});
  std::vector<float> params(mlp.n_parameters());
  mlp.initialize(params.data(), 4);
  const RowMatrix<float> X = RowMatrix<float>::Random(37, 6), d_out = RowMatrix<float>::Random(37, 5);
  RowMatrix<float> full;
  std::vector<nn::MlpCache<float>> full_caches;
  mlp.forward(params.data(), X, full, full_caches);
  std::vector<float> full_grad(params.size(), 0.0f);
  mlp.backward(params.data(), X, d_out, full_caches, full_grad.data());
  const std::size_t size = mlp.network_size();
  ASSERT_EQ(size * 5, mlp.n_parameters());
  for (const auto& [first, last] : {std::pair{0, 2}, std::pair{2, 5}, std::pair{3, 3}}) {
    RowMatrix<float> out = RowMatrix<float>::Constant(37, 5, -7.0f);
    std::vector<nn::MlpCache<float>> caches;
    mlp.forward(params.data(), X, out, caches, first, last);
    std::vector<float> grad(params.size(), 9.0f);
    std::fill(grad.begin() + static_cast<long>(first * size), grad.begin() + static_cast<long>(last * size), 0.0f);
    mlp.backward(params.data(), X, d_out, caches, grad.data(), first, last);
    for (int k = 0; k < 5; ++k) {
      const bool own = k >= first && k < last;
      if (own)
        EXPECT_EQ(out.col(k), full.col(k)) << "network " << k;
      else
        EXPECT_TRUE((out.col(k).array() == -7.0f).all()) << "network " << k;
      EXPECT_EQ(caches[static_cast<std::size_t>(k)].activations.empty(), !own);
      for (std::size_t i = k * size; i < (k + 1) * size; ++i)
        ASSERT_EQ(grad[i], own ? full_grad[i] : 9.0f) << "network " << k << " parameter " << i - k * size;
    }
  }
  RowMatrix<float> out;
  std::vector<nn::MlpCache<float>> caches;
  EXPECT_THROW(mlp.forward(params.data(), X, out, caches, 2, 6), Error);
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
  // --sine-scale 4: the three layers before a sine (weights and biases) ×4, the first and the
  // output layer as before, from the same random numbers.
  std::vector<double> scaled(params.size());
  mlp.initialize(scaled.data(), 3, 4.0);
  const std::size_t first = 20 * 64 + 64, sine_layers = 3 * (64 * 64 + 64);
  for (std::size_t i = 0; i < params.size(); ++i) {
    const bool feeds_sine = i >= first && i < first + sine_layers;
    ASSERT_DOUBLE_EQ(scaled[i], (feeds_sine ? 4.0 : 1.0) * params[i]) << "parameter " << i;
  }
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

TEST(Softplus, ArrayFormsMatchTheScalarOnes) {
  // Float arrays from −90 to 90 (where e^−|x| underflows, and 1 + e^−|x| rounds to 1 from
  // |x| ≈ 17 on), against the scalar forms in double.
  Eigen::ArrayXf x(3601);
  for (Eigen::Index i = 0; i < x.size(); ++i) x[i] = -90.0f + 0.05f * static_cast<float>(i);
  const Eigen::ArrayXf value = nn::softplus_array(x);
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    const double exact = nn::softplus(static_cast<double>(x[i]));
    EXPECT_NEAR(value[i], exact, 4e-7 * exact + (x[i] < -88 ? 3e-39 : 0.0)) << "x " << x[i];
  }
  const Eigen::ArrayXf y = (Eigen::ArrayXf(6) << 1e-30f, 1e-6f, 0.3f, 1.0f, 20.0f, 95.0f).finished();
  const Eigen::ArrayXf inverse = nn::softplus_inverse_array(y);
  for (Eigen::Index i = 0; i < y.size(); ++i)
    EXPECT_NEAR(nn::softplus(static_cast<double>(inverse[i])), y[i], 1e-6 * y[i]) << "y " << y[i];
  const Eigen::ArrayXf u = (Eigen::ArrayXf(5) << 1e-9f, 3e-8f, 1e-4f, 0.5f, 1.0f).finished();
  const Eigen::ArrayXf log1p = nn::log1p_array(u);
  for (Eigen::Index i = 0; i < u.size(); ++i)
    EXPECT_NEAR(log1p[i], std::log1p(static_cast<double>(u[i])), 2.5e-7 * log1p[i]) << "u " << u[i];
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

TEST(SmallGemm, MatchesTheTripleLoop) {
  // Every row remainder of the 6-row micro-tiles, every column block (8 and 16 wide on AVX2;
  // 64, 32, 16 and 8 on AVX-512: 120 = 64 + 32 + 16 + 8), A read transposed (a_row = 1) and
  // straight, and the three ways C starts (0, bias rows, its own values).
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> uniform(-1, 1);
  for (const int m : {1, 5, 6, 7, 13, 64}) {
    for (const int n : {8, 16, 24, 40, 64, 120}) {
      for (const int k : {1, 20, 37}) {
        for (const bool transposed : {false, true}) {
          for (const int init : {0, 1, 2}) {
            std::vector<float> a(static_cast<std::size_t>(m) * k), b(static_cast<std::size_t>(k) * (n + 3)),
                bias(static_cast<std::size_t>(n)), c(static_cast<std::size_t>(m) * (n + 5));
            for (auto* v : {&a, &b, &bias, &c})
              for (auto& x : *v) x = uniform(rng);
            const long a_row = transposed ? 1 : k, a_col = transposed ? m : 1;  // A (m, k)
            const long ldb = n + 3, ldc = n + 5;
            std::vector<double> expected(c.size());
            for (int i = 0; i < m; ++i)
              for (int j = 0; j < n + 5; ++j) {
                double sum = j >= n ? c[i * ldc + j] : init == 2 ? c[i * ldc + j] : init == 1 ? bias[j] : 0.0;
                if (j < n)
                  for (int p = 0; p < k; ++p) sum += static_cast<double>(a[i * a_row + p * a_col]) * b[p * ldb + j];
                expected[static_cast<std::size_t>(i * ldc + j)] = sum;
              }
            nn::small_gemm(m, n, k, a.data(), a_row, a_col, b.data(), ldb, init == 1 ? bias.data() : nullptr,
                           init == 2, c.data(), ldc);
            double worst = 0;
            for (std::size_t i = 0; i < c.size(); ++i) worst = std::max(worst, std::abs(c[i] - expected[i]));
            EXPECT_LT(worst, 1e-5) << m << " x " << n << " x " << k << " transposed " << transposed << " init " << init;
          }
        }
      }
    }
  }
}

TEST(Mlp, FastFloatKernelsMatchTheDoublePath) {
  // The register-blocked float path (fused packed sine, cos unpacked from it in backward, row
  // tiles) against the Eigen double path, itself checked against finite differences above:
  // outputs and every parameter gradient to float round-off. 150 rows: two full tiles and a
  // remainder; per-component (the paper's) and shared with several outputs.
  for (const nn::MlpShape shape : {nn::MlpShape{20, 64, 4, 3, nn::Architecture::per_component},
                                   nn::MlpShape{6, 16, 3, 4, nn::Architecture::shared},
                                   nn::MlpShape{5, 40, 3, 2, nn::Architecture::per_component},
                                   nn::MlpShape{4, 8, 2, 2, nn::Architecture::per_component}}) {
    nn::Mlp<double> exact(shape);
    nn::Mlp<float> single(shape);
    std::vector<double> params(exact.n_parameters());
    exact.initialize(params.data(), 5);
    const std::vector<float> params_f(params.begin(), params.end());
    std::mt19937_64 rng(6);
    std::uniform_real_distribution<double> uniform(-1, 1);
    RowMatrix<double> X(150, shape.n_inputs), d_out(150, shape.n_outputs);
    for (auto& v : X.reshaped()) v = uniform(rng);
    for (auto& v : d_out.reshaped()) v = uniform(rng);
    RowMatrix<double> out;
    std::vector<nn::MlpCache<double>> caches;
    exact.forward(params.data(), X, out, caches);
    std::vector<double> grad(params.size(), 0.0);
    exact.backward(params.data(), X, d_out, caches, grad.data());
    RowMatrix<float> out_f;
    std::vector<nn::MlpCache<float>> caches_f;
    single.forward(params_f.data(), X.cast<float>(), out_f, caches_f);
    std::vector<float> grad_f(params.size(), 0.0f);
    single.backward(params_f.data(), X.cast<float>(), d_out.cast<float>(), caches_f, grad_f.data());
    EXPECT_LT((out_f.cast<double>() - out).cwiseAbs().maxCoeff(), 2e-5);
    const double scale = std::max(1.0, *std::max_element(grad.begin(), grad.end(), [](double x, double y) {
      return std::abs(x) < std::abs(y);
    }));
    double worst = 0;
    for (std::size_t i = 0; i < grad.size(); ++i) worst = std::max(worst, std::abs(grad_f[i] - grad[i]) / scale);
    EXPECT_LT(worst, 2e-5) << "hidden " << shape.hidden << " layers " << shape.layers;
  }
#if defined(__AVX2__) && defined(__FMA__)
  // The paper's model takes the fast path on an AVX2 build (this machine's), so the above tests it.
  EXPECT_TRUE(nn::Mlp<float>({20, 64, 4, 20, nn::Architecture::per_component}).uses_fast_kernels());
#endif
  EXPECT_FALSE(nn::Mlp<double>({20, 64, 4, 20, nn::Architecture::per_component}).uses_fast_kernels());
}

TEST(Mlp, FastForwardFallsBackOnlyForTilesWithHugePreActivations) {
  // The forward kernel checks the range of a whole 6 × 16 micro-tile of pre-activations once and
  // takes the unchecked sine when every lane is within kSinCosLimit. One input row scaled by 10⁹
  // (pre-activations ~10⁸, where the unchecked range reduction fails) pushes its tile beyond the
  // limit: that row's saved sines must still be sines (finite, |s| ≤ 1), and the other rows of
  // its tile must be bit for bit what they are in a batch without the huge row.
  const nn::MlpShape shape{20, 64, 4, 2, nn::Architecture::per_component};
  nn::Mlp<float> mlp(shape);
  std::vector<float> params(mlp.n_parameters());
  mlp.initialize(params.data(), 3);
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<float> uniform(-1, 1);
  RowMatrix<float> X(30, shape.n_inputs);
  for (auto& v : X.reshaped()) v = uniform(rng);
  RowMatrix<float> huge = X;
  const int huge_row = 8;  // in the second micro-tile of 6 rows (rows 6–11)
  huge.row(huge_row) *= 1e9f;
  RowMatrix<float> out, out_huge;
  std::vector<nn::MlpCache<float>> caches, caches_huge;
  mlp.forward(params.data(), X, out, caches);
  mlp.forward(params.data(), huge, out_huge, caches_huge);
  for (int k = 0; k < mlp.n_networks(); ++k) {
    const auto& sines = mlp.uses_fast_kernels() ? caches_huge[static_cast<std::size_t>(k)].packed_sines[1]
                                                : caches_huge[static_cast<std::size_t>(k)].activations[1];
    EXPECT_TRUE(sines.row(huge_row).allFinite());
    EXPECT_LE(sines.row(huge_row).cwiseAbs().maxCoeff(), 1.0f);
    for (int i = 0; i < X.rows(); ++i) {
      if (i == huge_row) continue;
      EXPECT_EQ(out(i, k), out_huge(i, k)) << "network " << k << " row " << i;
    }
  }
}
