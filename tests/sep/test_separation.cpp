// sep::separate on signals whose answer is known: two harmonic sounds in disjoint bands, each
// source's templates learned (classic NMF) on that source alone.

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "innmf/core/error.hpp"
#include "innmf/model/beta_divergence.hpp"
#include "innmf/sep/separation.hpp"
#include "test_util.hpp"

namespace innmf::sep {
namespace {

using model::classic::Matrix;
constexpr double kRate = 8000;
constexpr long kSamples = 16000;  // 2 s

/// A harmonic sound: fundamental `f0` [Hz] with three harmonics of falling amplitude,
/// amplitude-modulated at `am_hz` so that its activations vary over time.
std::vector<float> harmonic(double f0, double am_hz) {
  std::vector<float> x(kSamples, 0.0f);
  for (int h = 1; h <= 3; ++h) {
    const auto t = testing::tone(h * f0, kRate, kSamples, 0.3 / h);
    for (long n = 0; n < kSamples; ++n)
      x[n] += static_cast<float>(t.samples[n] * (0.6 + 0.4 * std::sin(2 * M_PI * am_hz * n / kRate)));
  }
  return x;
}

/// Classic NMF templates (n_bins, rank) of `x` alone.
Matrix learn_templates(const std::vector<float>& x, const tf::Stft& stft, int rank) {
  const Matrix V = model::classic::compressed(stft.magnitude(x.data(), kSamples), 0.5);
  auto factors = model::classic::random_init(V, rank, 7);
  model::classic::MuOptions mu;
  mu.iterations = 300;
  mu.tolerance = 0;
  model::classic::fit(V, factors, mu);
  return factors.W;
}

/// 10·log10(Σ reference² / Σ (reference − estimate)²) [dB].
double snr_db(const std::vector<float>& reference, const std::vector<float>& estimate) {
  double signal = 0, error = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    signal += double(reference[i]) * reference[i];
    error += std::pow(double(reference[i]) - estimate[i], 2);
  }
  return 10 * std::log10(signal / error);
}

class SeparationTest : public ::testing::Test {
 protected:
  SeparationTest() : stft_(tf::StftConfig{512, 128, tf::WindowKind::sqrt_hann}) {
    low_ = harmonic(220, 3);      // 220, 440, 660 Hz
    high_ = harmonic(1250, 5);    // 1250, 2500, 3750 Hz
    mixture_.resize(kSamples);
    for (long n = 0; n < kSamples; ++n) mixture_[n] = low_[n] + high_[n];
  }
  /// The fit of the mixture with the low source's 2 templates and 2 free ones, at β, after one
  /// and after two multiplicative updates.
  std::pair<Separation, Separation> first_two_updates(double beta) const {
    const std::vector<Matrix> templates{learn_templates(low_, stft_, 2)};
    SeparationOptions options;
    options.beta = beta;
    options.tolerance = 0;
    options.free_templates = 2;
    options.iterations = 1;
    auto one = separate(mixture_.data(), kSamples, stft_, templates, options);
    options.iterations = 2;
    return {std::move(one), separate(mixture_.data(), kSamples, stft_, templates, options)};
  }
  tf::Stft stft_;
  std::vector<float> low_, high_, mixture_;
};

TEST(SeparationDc, PowerShareOfTheMean) {
  // A sinusoid of amplitude A over whole periods plus d: power A²/2 + d², of which d² is DC.
  std::vector<float> x(8000);
  for (std::size_t n = 0; n < x.size(); ++n) x[n] = static_cast<float>(0.5 * std::sin(2 * M_PI * 100 * n / 8000.0));
  EXPECT_NEAR(dc_power_share(x), 0.0, 1e-9);
  for (float& v : x) v += 0.25f;
  EXPECT_NEAR(dc_power_share(x), 0.0625 / (0.125 + 0.0625), 1e-6);
  EXPECT_EQ(dc_power_share(std::vector<float>(100, 0.0f)), 0.0);
  EXPECT_EQ(dc_power_share({}), 0.0);
  EXPECT_NEAR(dc_power_share(std::vector<float>(100, -0.3f)), 1.0, 1e-12);
}

TEST_F(SeparationTest, MasksAreFractionsThatSumToOne) {
  const Matrix W = Matrix::Random(20, 3).cwiseAbs();
  Matrix H = Matrix::Random(3, 9).cwiseAbs();
  H.col(4).setZero();  // no source at all in frame 4: equal shares
  for (const double q : {0.5, 1.0, 2.0}) {
    const auto masks = soft_masks(W, H, {1, 2}, 0.5, q);
    ASSERT_EQ(masks.size(), 2u);
    const Matrix total = masks[0] + masks[1];
    EXPECT_LT((total.array() - 1).abs().maxCoeff(), 1e-5) << "q " << q;
    EXPECT_GE(masks[0].minCoeff(), 0.0f);
    EXPECT_LE(masks[0].maxCoeff(), 1.0f + 1e-6f);
    EXPECT_FLOAT_EQ(masks[1](3, 4), 0.5f);
  }
  // A larger q sharpens: the dominant source's share grows.
  const auto soft = soft_masks(W, H, {1, 2}, 0.5, 1.0), sharp = soft_masks(W, H, {1, 2}, 0.5, 2.0);
  const Matrix dominant_soft = soft[0].cwiseMax(soft[1]), dominant_sharp = sharp[0].cwiseMax(sharp[1]);
  EXPECT_GT((dominant_sharp - dominant_soft).minCoeff(), -1e-6f);
  EXPECT_GT((dominant_sharp - dominant_soft).maxCoeff(), 0.01f);
}

TEST_F(SeparationTest, TwoModelsRecoverTheirSources) {
  const std::vector<Matrix> templates{learn_templates(low_, stft_, 3), learn_templates(high_, stft_, 3)};
  for (const auto fit : {FitMethod::mu, FitMethod::rprop}) {
    SeparationOptions options;
    options.fit = fit;
    options.iterations = fit == FitMethod::mu ? 200 : 400;
    options.learning_rate = 1e-2;
    const auto result = separate(mixture_.data(), kSamples, stft_, templates, options);
    ASSERT_EQ(result.signals.size(), 2u);
    ASSERT_EQ(result.signals[0].size(), mixture_.size());
    EXPECT_GT(snr_db(low_, result.signals[0]), 15) << fit_method_name(fit);
    EXPECT_GT(snr_db(high_, result.signals[1]), 15) << fit_method_name(fit);
    EXPECT_LT(result.fit.loss.back(), 0.5 * result.fit.loss.front()) << fit_method_name(fit);
    // The masks sum to one, so the sources add up to the mixture.
    std::vector<float> sum(kSamples);
    for (long n = 0; n < kSamples; ++n) sum[n] = result.signals[0][n] + result.signals[1][n];
    EXPECT_GT(snr_db(mixture_, sum), 60) << fit_method_name(fit);
  }
}

TEST_F(SeparationTest, MasksFilterTheChannelsOfAStereoMixture) {
  // A stereo mixture, low panned left and high right; its mix-down is separated and the masks
  // filter each channel (separate_blocks' filtered signals, as `innmf separate` gives them): every
  // source keeps its pan, and per channel the sources add up.
  std::vector<float> left(kSamples), right(kSamples), mono(kSamples);
  for (long n = 0; n < kSamples; ++n) {
    left[n] = 0.9f * low_[n] + 0.3f * high_[n];
    right[n] = 0.1f * low_[n] + 0.7f * high_[n];
    mono[n] = 0.5f * (left[n] + right[n]);
  }
  const std::vector<Matrix> templates{learn_templates(low_, stft_, 3), learn_templates(high_, stft_, 3)};
  const auto result = separate(mono.data(), kSamples, stft_, templates, SeparationOptions{});
  // sources[s][c]: source s in filtered signal c = mono, left, right.
  std::vector<std::vector<std::vector<float>>> sources;
  const auto keep = [&](long begin, long count, const std::vector<std::vector<std::vector<float>>>& block) {
    ASSERT_EQ(begin, 0);  // one block: the mixture is shorter than any block
    ASSERT_EQ(count, kSamples);
    sources = block;
  };
  separate_blocks({mono.data(), {mono.data(), left.data(), right.data()}, kSamples}, stft_, templates,
                  SeparationOptions{}, keep);
  ASSERT_EQ(sources.size(), 2u);
  // Applied to the signal that was separated, a mask gives that signal's source bit for bit.
  EXPECT_EQ(sources[1][0], result.signals[1]);
  const auto& low_left = sources[0][1];
  const auto& low_right = sources[0][2];
  const auto& high_left = sources[1][1];
  const auto& high_right = sources[1][2];
  const auto scaled = [](const std::vector<float>& x, float gain) {
    std::vector<float> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = gain * x[i];
    return y;
  };
  EXPECT_GT(snr_db(scaled(low_, 0.9f), low_left), 15);
  EXPECT_GT(snr_db(scaled(low_, 0.1f), low_right), 15);
  EXPECT_GT(snr_db(scaled(high_, 0.3f), high_left), 15);
  EXPECT_GT(snr_db(scaled(high_, 0.7f), high_right), 15);
  std::vector<float> sum_left(kSamples), mixdown_of_low(kSamples);
  for (long n = 0; n < kSamples; ++n) {
    sum_left[n] = low_left[n] + high_left[n];
    mixdown_of_low[n] = 0.5f * (low_left[n] + low_right[n]);
  }
  EXPECT_GT(snr_db(left, sum_left), 60);
  // Linear: the channels' sources mix down to the source separated from the mix-down.
  EXPECT_GT(snr_db(result.signals[0], mixdown_of_low), 100);
  // A spectrum of the wrong shape for the STFT is refused, not resynthesised.
  const tf::ComplexSpectrogram wrong_shape = tf::ComplexSpectrogram::Zero(stft_.n_frames(kSamples), stft_.n_bins() + 1);
  EXPECT_THROW(stft_.synthesize_samples(wrong_shape, nullptr, 0, kSamples, 0, kSamples), Error);
}

TEST_F(SeparationTest, MultiplicativeFitNeverIncreasesTheLoss) {
  const std::vector<Matrix> templates{learn_templates(low_, stft_, 2), learn_templates(high_, stft_, 2)};
  for (const double beta : {0.0, 1.0, 2.0}) {
    SeparationOptions options;
    options.beta = beta;
    options.tolerance = 0;
    options.iterations = 50;
    options.free_templates = 1;  // the generic path (W_free and H move)
    const auto result = separate(mixture_.data(), kSamples, stft_, templates, options);
    for (std::size_t i = 1; i < result.fit.loss.size(); ++i)
      EXPECT_LE(result.fit.loss[i], result.fit.loss[i - 1] * (1 + 1e-5)) << "β " << beta << " update " << i;
  }
}

TEST_F(SeparationTest, KlUpdatesWithFreeTemplatesFollowTheMultiplicativeRule) {
  // β = 1 takes a shortcut (Wᵀ·1 and 1·H_freeᵀ as column and row sums). The second update of a
  // fit, redone here from the first one's state by the rule's general form (Févotte & Idier:
  // up = V ⊘ WH, down = 1, exponent 1), must give the fit's W and H after two updates.
  const auto [one, two] = first_two_updates(1.0);
  const auto eps = static_cast<float>(model::kBetaEpsilon);
  const Matrix V = model::classic::compressed(stft_.magnitude(mixture_.data(), kSamples), SeparationOptions{}.power);
  const Matrix ones = Matrix::Ones(V.rows(), V.cols());
  Matrix W = one.W, H = one.H;
  Matrix ratio = (V.array() / (W * H).array().max(eps)).matrix();
  H.array() *= (W.transpose() * ratio).array() / (W.transpose() * ones).array().max(eps);
  ratio = (V.array() / (W * H).array().max(eps)).matrix();
  const Matrix H_free = H.bottomRows(2);
  W.rightCols(2).array() *= (ratio * H_free.transpose()).array() / (ones * H_free.transpose()).array().max(eps);

  EXPECT_LT((two.H - H).cwiseAbs().maxCoeff(), 1e-4f * H.cwiseAbs().maxCoeff());
  EXPECT_LT((two.W - W).cwiseAbs().maxCoeff(), 1e-4f * W.cwiseAbs().maxCoeff());
  EXPECT_GT((two.W - one.W).cwiseAbs().maxCoeff(), 1e-3f * W.cwiseAbs().maxCoeff());  // it did move
}

TEST_F(SeparationTest, BetaHalfUpdatesWithFreeTemplatesFollowTheMultiplicativeRule) {
  // β ≠ 1 takes the general form in buffers the fit sizes once. The second update, redone here
  // from the first one's state (up = V ⊙ Λ^(β−2), down = Λ^(β−1), exponent 1/(2 − β) for β < 1),
  // must give the fit's W and H after two updates.
  const double beta = 0.5;
  const auto [one, two] = first_two_updates(beta);
  const auto eps = static_cast<float>(model::kBetaEpsilon);
  const auto b = static_cast<float>(beta), exponent = static_cast<float>(1 / (2 - beta));
  const Matrix V = model::classic::compressed(stft_.magnitude(mixture_.data(), kSamples), SeparationOptions{}.power);
  Matrix W = one.W, H = one.H;
  auto parts = [&](Matrix& up, Matrix& down) {
    const Eigen::ArrayXXf lambda = (W * H).array().max(eps);
    up = (V.array() * lambda.pow(b - 2)).matrix();
    down = lambda.pow(b - 1).matrix();
  };
  Matrix up, down;
  parts(up, down);
  H.array() *= ((W.transpose() * up).array() / (W.transpose() * down).array().max(eps)).pow(exponent);
  parts(up, down);
  const Matrix H_free = H.bottomRows(2);
  W.rightCols(2).array() *=
      ((up * H_free.transpose()).array() / (down * H_free.transpose()).array().max(eps)).pow(exponent);

  EXPECT_LT((two.H - H).cwiseAbs().maxCoeff(), 1e-4f * H.cwiseAbs().maxCoeff());
  EXPECT_LT((two.W - W).cwiseAbs().maxCoeff(), 1e-4f * W.cwiseAbs().maxCoeff());
  EXPECT_GT((two.W - one.W).cwiseAbs().maxCoeff(), 1e-3f * W.cwiseAbs().maxCoeff());  // it did move
}

TEST_F(SeparationTest, FreeTemplatesCaptureTheSourceWithoutAModel) {
  const std::vector<Matrix> templates{learn_templates(low_, stft_, 3)};
  SeparationOptions options;
  options.free_templates = 3;
  options.iterations = 300;
  const auto result = separate(mixture_.data(), kSamples, stft_, templates, options);
  ASSERT_EQ(result.signals.size(), 2u);  // the model's source, then the free source
  EXPECT_GT(snr_db(low_, result.signals[0]), 10);
  EXPECT_GT(snr_db(high_, result.signals[1]), 10);
  // The model's templates did not move.
  EXPECT_EQ((result.W.leftCols(3) - templates[0]).cwiseAbs().maxCoeff(), 0.0f);
}

// --block: with fixed templates every frame's activations are fitted on their own, so fitting
// and resynthesising 13 frames at a time (126 frames: 10 blocks) must give the separation of
// the whole mixture, up to round-off, for both fits; with free templates the fit stays whole.
TEST_F(SeparationTest, BlocksOfFramesGiveTheSeparationOfTheWhole) {
  const std::vector<Matrix> templates{learn_templates(low_, stft_, 2), learn_templates(high_, stft_, 2)};
  for (const auto fit : {FitMethod::mu, FitMethod::rprop}) {
    for (const int free : {0, 2}) {
      SeparationOptions options;
      options.fit = fit;
      options.tolerance = 0;  // the same number of updates in every block
      options.iterations = 60;
      options.learning_rate = 0.01;
      options.free_templates = free;
      const auto whole = separate(mixture_.data(), kSamples, stft_, templates, options);
      options.block_frames = 13;
      const auto blocks = separate(mixture_.data(), kSamples, stft_, templates, options);
      const std::string what = fit_method_name(fit) + (free ? " with free templates" : "");
      ASSERT_EQ(stft_.n_frames(kSamples), 126) << what;
      EXPECT_EQ(whole.fit.blocks, 1) << what;
      EXPECT_EQ(blocks.fit.blocks, free ? 1 : 10) << what;
      ASSERT_EQ(blocks.fit.loss.size(), whole.fit.loss.size()) << what;
      EXPECT_NEAR(blocks.fit.loss.back(), whole.fit.loss.back(), 1e-5 * whole.fit.loss.back()) << what;
      EXPECT_LT((blocks.H - whole.H).cwiseAbs().maxCoeff(), 1e-4f * whole.H.cwiseAbs().maxCoeff()) << what;
      ASSERT_EQ(blocks.signals.size(), whole.signals.size()) << what;
      for (std::size_t s = 0; s < whole.signals.size(); ++s) {
        ASSERT_EQ(blocks.signals[s].size(), static_cast<std::size_t>(kSamples)) << what;
        EXPECT_GT(snr_db(whole.signals[s], blocks.signals[s]), 80) << what << ", source " << s;
      }
    }
  }
}

TEST_F(SeparationTest, OneSourceIsAnError) {
  const std::vector<Matrix> templates{learn_templates(low_, stft_, 2)};
  EXPECT_THROW(separate(mixture_.data(), kSamples, stft_, templates, SeparationOptions{}), UsageError);
  SeparationOptions bad;
  bad.mask_power = 0;
  EXPECT_THROW(validate(bad), UsageError);
  EXPECT_THROW(parse_fit_method("lbfgs"), UsageError);
}

}  // namespace
}  // namespace innmf::sep
