#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <random>

#include "innmf/core/error.hpp"
#include "test_util.hpp"
#include "innmf/tf/stft.hpp"
#include "innmf/tf/stft_reference.hpp"

using namespace innmf;
using innmf::testing::snr_db;

namespace {

std::vector<float> sine(double frequency, double rate, long n, double amplitude = 1.0) {
  std::vector<float> x(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) x[i] = static_cast<float>(amplitude * std::sin(2 * M_PI * frequency * i / rate));
  return x;
}

std::vector<float> noise(long n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (auto& v : x) v = normal(rng);
  return x;
}

}  // namespace

TEST(Stft, ShapeTimesAndFrequencies) {
  tf::Stft stft({1000, 500, tf::WindowKind::sqrt_hann});
  EXPECT_EQ(stft.n_bins(), 501);
  EXPECT_EQ(stft.n_frames(8000), 17);  // 1 + 8000 / 500, frames centred on 0, 500, …, 8000
  const auto t = stft.frame_times(17, 8000);
  EXPECT_FLOAT_EQ(t[1], 0.0625f);
  EXPECT_FLOAT_EQ(t[16], 1.0f);
  const auto f = stft.bin_frequencies(8000);
  EXPECT_FLOAT_EQ(f[0], 0.0f);
  EXPECT_FLOAT_EQ(f[1], 8.0f);
  EXPECT_FLOAT_EQ(f[500], 4000.0f);
}

TEST(Stft, PureToneLandsInItsBinWithExpectedAmplitude) {
  // 1 kHz at 16 kHz with N = 512: exactly bin 32. A sinusoid of amplitude A gives
  // |X[k]| = A · Σw / 2 in its bin for a frame fully inside the signal.
  const double rate = 16000, amplitude = 0.5;
  tf::Stft stft({512, 128, tf::WindowKind::hann});
  const auto x = sine(1000, rate, 16000, amplitude);
  const auto mag = stft.magnitude(x.data(), static_cast<long>(x.size()));
  double window_sum = 0;
  for (float w : stft.window()) window_sum += w;
  const long j = mag.rows() / 2;
  Eigen::Index peak = 0;
  mag.row(j).maxCoeff(&peak);
  EXPECT_EQ(peak, 32);
  EXPECT_NEAR(mag(j, 32), amplitude * window_sum / 2, 1e-3 * amplitude * window_sum);
  // Hann leaks only into the neighbouring bins for a bin-centred tone.
  EXPECT_LT(mag(j, 35), 1e-4 * mag(j, 32));
}

TEST(Stft, MatchesNaiveDftForEveryWindowAndAnOddLength) {
  const auto x = noise(3001, 7);
  for (auto kind : {tf::WindowKind::sqrt_hann, tf::WindowKind::hann, tf::WindowKind::hamming,
                    tf::WindowKind::blackman}) {
    for (auto [n_fft, hop] : {std::pair{256, 64}, std::pair{255, 100}}) {
      const tf::StftConfig config{n_fft, hop, kind};
      tf::Stft stft(config);
      const auto fast = stft.analyze(x.data(), static_cast<long>(x.size()));
      const auto slow = tf::reference::stft_naive(x.data(), static_cast<long>(x.size()), config);
      ASSERT_EQ(fast.rows(), slow.rows());
      ASSERT_EQ(fast.cols(), slow.cols());
      const double error = (fast - slow).cwiseAbs().maxCoeff();
      const double scale = slow.cwiseAbs().maxCoeff();
      EXPECT_LT(error, 2e-6 * scale) << tf::window_name(kind) << " n_fft " << n_fft;
    }
  }
}

TEST(Stft, MagnitudeEqualsAbsOfAnalyze) {
  const auto x = noise(5000, 3);
  tf::Stft stft({400, 100, tf::WindowKind::sqrt_hann});
  const auto complex = stft.analyze(x.data(), 5000);
  const auto magnitude = stft.magnitude(x.data(), 5000);
  EXPECT_LT((complex.cwiseAbs() - magnitude).cwiseAbs().maxCoeff(), 1e-6 * magnitude.maxCoeff());
}

TEST(Stft, InverseReconstructsAbove100dB) {
  const auto x = noise(20000, 11);
  struct Case {
    tf::WindowKind window;
    int n_fft, hop;
  };
  // The two cases, plus other windows, hops and an odd length.
  for (const auto& c : {Case{tf::WindowKind::sqrt_hann, 1024, 512}, Case{tf::WindowKind::hann, 1024, 256},
                        Case{tf::WindowKind::sqrt_hann, 1000, 500}, Case{tf::WindowKind::hamming, 512, 128},
                        Case{tf::WindowKind::blackman, 513, 100}, Case{tf::WindowKind::hann, 64, 64 / 3}}) {
    tf::Stft stft({c.n_fft, c.hop, c.window});
    const auto spectrum = stft.analyze(x.data(), static_cast<long>(x.size()));
    const auto y = stft.synthesize(spectrum, static_cast<long>(x.size()));
    ASSERT_EQ(y.size(), x.size());
    EXPECT_GT(snr_db(x, y), 100.0) << tf::window_name(c.window) << " " << c.n_fft << "/" << c.hop;
  }
}

// The masked synthesis of `innmf separate`: synthesize(X, gains) multiplies each frame as it
// goes; it must give the bits of synthesizing the product. 1.5 M samples, so that the buffers
// are large enough to be advised onto huge pages, and short signals (fewer frames than
// overlap), where the sum of squared windows has few terms.
TEST(Stft, SynthesisWithGainsEqualsSynthesisOfTheMaskedSpectrum) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  for (const long n : {1500000L, 300L, 1024L}) {
    const auto x = noise(n, 17);
    tf::Stft stft({1024, 256, tf::WindowKind::sqrt_hann});
    const auto X = stft.analyze(x.data(), n);
    std::vector<float> gains(static_cast<std::size_t>(X.size()));
    for (auto& g : gains) g = unit(rng);
    tf::ComplexSpectrogram masked = X;
    for (Eigen::Index j = 0; j < X.rows(); ++j)
      for (Eigen::Index k = 0; k < X.cols(); ++k) masked(j, k) *= gains[static_cast<std::size_t>(j * X.cols() + k)];
    EXPECT_TRUE(stft.synthesize(X, gains.data(), n) == stft.synthesize(masked, n)) << n;
    const auto y = stft.synthesize(X, nullptr, n);
    ASSERT_EQ(static_cast<long>(y.size()), n);
    EXPECT_GT(snr_db(x, y), 100.0) << n;
  }
}

// `innmf separate --block`: a long signal analysed and resynthesised a block at a time must give
// the bits of doing it whole, at block seams that fall anywhere in a hop, for windows longer
// and shorter than several hops, and at both ends of the signal.
TEST(Stft, BlocksOfFramesAndSamplesGiveTheBitsOfTheWhole) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> unit(0.0f, 1.0f);
  struct Case {
    int n_fft, hop;
    long n, block;  // samples, samples per block
  };
  for (const auto& c : {Case{1024, 256, 20000, 3000}, Case{512, 512, 9001, 1000}, Case{1000, 333, 7777, 2500},
                        Case{64, 21, 5000, 61}}) {
    tf::Stft stft({c.n_fft, c.hop, c.hop == c.n_fft ? tf::WindowKind::hann : tf::WindowKind::sqrt_hann});
    const auto x = noise(c.n, 23);
    const auto X = stft.analyze(x.data(), c.n);
    std::vector<float> gains(static_cast<std::size_t>(X.size()));
    for (auto& g : gains) g = unit(rng);
    const auto whole = stft.synthesize(X, gains.data(), c.n);
    std::vector<float> pieced;
    for (long begin = 0; begin < c.n; begin += c.block) {
      const long end = std::min(c.n, begin + c.block);
      const tf::FrameRange range = stft.frames_covering(c.n, begin, end);
      const auto rows = stft.analyze_frames(x.data(), c.n, range.first, range.count());
      ASSERT_TRUE(rows == X.middleRows(range.first, range.count())) << c.n_fft << " frames from " << range.first;
      const auto samples = stft.synthesize_samples(rows, gains.data() + range.first * stft.n_bins(), range.first, c.n,
                                                   begin, end);
      pieced.insert(pieced.end(), samples.begin(), samples.end());
      // One frame short at either side is refused, not silently wrong.
      if (range.first > 0) {
        EXPECT_THROW(stft.synthesize_samples(rows.bottomRows(range.count() - 1), gains.data(), range.first + 1,
                                             c.n, begin, end),
                     Error);
      }
    }
    EXPECT_TRUE(pieced == whole) << c.n_fft << "/" << c.hop;
  }
}

TEST(Stft, SameBitsOnOneAndTwoThreads) {
  const auto x = noise(30000, 5);
  tf::Stft stft({1024, 256, tf::WindowKind::sqrt_hann});
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = stft.magnitude(x.data(), 30000);
  const auto y_one = stft.synthesize(stft.analyze(x.data(), 30000), 30000);
  omp_set_num_threads(2);
  const auto two = stft.magnitude(x.data(), 30000);
  const auto y_two = stft.synthesize(stft.analyze(x.data(), 30000), 30000);
  omp_set_num_threads(saved);
  EXPECT_TRUE(one == two);
  EXPECT_TRUE(y_one == y_two);
}

TEST(Stft, RejectsImpossibleSizes) {
  EXPECT_THROW(tf::Stft({0, 1, tf::WindowKind::hann}), UsageError);
  EXPECT_THROW(tf::Stft({512, 0, tf::WindowKind::hann}), UsageError);
  EXPECT_THROW(tf::Stft({512, 513, tf::WindowKind::hann}), UsageError);
  tf::Stft stft({512, 128, tf::WindowKind::hann});
  try {
    stft.require_fits(100, "a.wav");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("--n-fft 512"), std::string::npos) << message;
    EXPECT_NE(message.find("a.wav"), std::string::npos) << message;
  }
}
