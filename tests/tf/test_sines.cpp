#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "innmf/core/error.hpp"
#include "innmf/tf/sines.hpp"

using namespace innmf;

namespace {

constexpr double kRate = 16000;  // Hz
constexpr tf::WindowKind kWindows[] = {tf::WindowKind::sqrt_hann, tf::WindowKind::hann,
                                       tf::WindowKind::hamming, tf::WindowKind::blackman};

/// Σ amplitude_i · sin(2π f_i n / rate + phase_i), n = 0..n-1.
struct Tone {
  double frequency;  // Hz
  double amplitude;
  double phase = 0;  // rad
};
std::vector<float> tones(const std::vector<Tone>& parts, long n) {
  std::vector<float> x(static_cast<std::size_t>(n), 0.0f);
  for (long i = 0; i < n; ++i) {
    double v = 0;
    for (const Tone& p : parts) v += p.amplitude * std::sin(2 * M_PI * p.frequency * i / kRate + p.phase);
    x[static_cast<std::size_t>(i)] = static_cast<float>(v);
  }
  return x;
}

/// The points of one frame (by frame time) of a scattered clip, in clip order.
struct FramePoint {
  float f, m;
};
std::vector<std::vector<FramePoint>> by_frame(const tf::ClipPoints& points, const tf::Stft& stft,
                                              long n) {
  std::vector<std::vector<FramePoint>> frames(static_cast<std::size_t>(stft.n_frames(n)));
  for (std::size_t i = 0; i < points.size(); ++i) {
    const long j = std::lround(points.t[i] * kRate / stft.config().hop);
    frames.at(static_cast<std::size_t>(j)).push_back({points.f[i], points.m[i]});
  }
  return frames;
}

/// Frames whose window lies wholly inside the n samples (no zero padding under the window).
bool interior(const tf::Stft& stft, long j, long n) {
  const long start = j * stft.config().hop - stft.config().n_fft / 2;
  return start >= 0 && start + stft.config().n_fft <= n;
}

/// The point nearest to `frequency` [Hz].
FramePoint nearest(const std::vector<FramePoint>& frame, double frequency) {
  FramePoint best{std::numeric_limits<float>::quiet_NaN(), 0};
  for (const auto& p : frame)
    if (!(std::abs(p.f - frequency) >= std::abs(best.f - frequency))) best = p;
  return best;
}

double db(double amplitude) { return 20 * std::log10(amplitude); }

/// The documented residual error of a lone sinusoid (sines.hpp), with headroom for float
/// round-off: |amplitude error| [dB] and |frequency error| [bins], the same for every window.
constexpr double kAmplitudeDb = 0.01, kFrequencyBins = 0.001;

}  // namespace

TEST(SinesScalloping, ResidualErrorOverTheBinOffsetIsWithinTheDocumentedBound) {
  // Tones at (k0 + δ)·fs/N for δ from −0.499 to 0.499 bin; every interior frame's peak nearest
  // the tone. Prints the measured worst case per window (the numbers in sines.hpp).
  const int n_fft = 1024;
  const long n = 6144;
  const double bin_hz = kRate / n_fft, amplitude = 0.5;
  for (auto kind : kWindows) {
    tf::Stft stft({n_fft, 256, kind});
    double worst_df = 0, low_db = 0, high_db = -1e9;
    for (int s = 0; s <= 48; ++s) {  // δ = −0.499 … 0.499 in 49 steps
      const double frequency = (79 - 0.499 + 0.998 * s / 48) * bin_hz;
      const auto x = tones({{frequency, amplitude, 0.3}}, n);
      const auto points = tf::sines_points(stft, x.data(), n, kRate, {});
      const auto frames = by_frame(points, stft, n);
      for (long j = 0; j < static_cast<long>(frames.size()); ++j) {
        if (!interior(stft, j, n)) continue;
        const FramePoint p = nearest(frames[static_cast<std::size_t>(j)], frequency);
        ASSERT_FALSE(std::isnan(p.f)) << "no peak in frame " << j;
        worst_df = std::max(worst_df, std::abs(p.f - frequency) / bin_hz);
        const double error_db = db(2 * p.m / amplitude);  // m = A/2
        low_db = std::min(low_db, error_db);
        high_db = std::max(high_db, error_db);
      }
    }
    std::printf("[ sines    ] %-9s amplitude error %+.4f … %+.4f dB, frequency error ≤ %.5f bin "
                "(%.4f Hz at N = %d, %g Hz)\n",
                tf::window_name(kind).c_str(), low_db, high_db, worst_df, worst_df * bin_hz, n_fft,
                kRate);
    EXPECT_GE(low_db, -kAmplitudeDb) << tf::window_name(kind);
    EXPECT_LE(high_db, kAmplitudeDb) << tf::window_name(kind);
    EXPECT_LE(worst_df, kFrequencyBins) << tf::window_name(kind);
  }
}

TEST(Sines, PureOffBinToneGivesOnePeakAtItsFrequencyInEveryInteriorFrame) {
  // 1234.56 Hz at 16 kHz with N = 1024 is bin 79.01; the others fall between bins too
  // (440 Hz: 28.16, 3001.7 Hz: 192.1, 6543.21 Hz: 418.77).
  const long n = 16000;
  const double amplitude = 0.5;
  for (double frequency : {1234.56, 440.0, 3001.7, 6543.21}) {
    for (auto [kind, n_fft] : {std::pair{tf::WindowKind::sqrt_hann, 1024},
                               std::pair{tf::WindowKind::hann, 1024},
                               std::pair{tf::WindowKind::hamming, 1024},
                               std::pair{tf::WindowKind::blackman, 1024},
                               std::pair{tf::WindowKind::sqrt_hann, 1001},  // odd N
                               std::pair{tf::WindowKind::hamming, 512}}) {
      tf::Stft stft({n_fft, 256, kind});
      const auto x = tones({{frequency, amplitude}}, n);
      tf::SinesConfig config;
      config.max_peaks = 1;  // the strongest peak is the tone's main lobe
      const auto points = tf::sines_points(stft, x.data(), n, kRate, config);
      EXPECT_FALSE(points.is_grid());
      ASSERT_EQ(points.t.size(), points.size());
      ASSERT_EQ(points.f.size(), points.size());
      const auto frames = by_frame(points, stft, n);
      int checked = 0;
      for (long j = 0; j < static_cast<long>(frames.size()); ++j) {
        if (!interior(stft, j, n)) continue;
        const auto& frame = frames[static_cast<std::size_t>(j)];
        ASSERT_EQ(frame.size(), 1u) << frequency << " Hz " << tf::window_name(kind) << " frame " << j;
        EXPECT_NEAR(frame[0].f, frequency, 0.5) << tf::window_name(kind) << " N " << n_fft;
        EXPECT_NEAR(db(2 * frame[0].m / amplitude), 0.0, kAmplitudeDb)
            << frequency << " Hz " << tf::window_name(kind) << " N " << n_fft;
        ++checked;
      }
      EXPECT_GT(checked, 50);
    }
  }
}

TEST(Sines, TwoTonesGiveTwoPeaksOrderedByFrequency) {
  const long n = 8000;
  tf::Stft stft({1024, 256, tf::WindowKind::hann});
  const auto x = tones({{2500.7, 0.25, 1.0}, {1000.3, 0.5}}, n);
  tf::SinesConfig config;
  config.peak_threshold_db = -30;  // the tones are at −6 and −12 dB, Hann side lobes < −37 dB
  const auto points = tf::sines_points(stft, x.data(), n, kRate, config);
  const auto frames = by_frame(points, stft, n);
  for (long j = 0; j < static_cast<long>(frames.size()); ++j) {
    if (!interior(stft, j, n)) continue;
    const auto& frame = frames[static_cast<std::size_t>(j)];
    ASSERT_EQ(frame.size(), 2u) << "frame " << j;
    EXPECT_NEAR(frame[0].f, 1000.3, 0.5);
    EXPECT_NEAR(frame[1].f, 2500.7, 0.5);
    EXPECT_NEAR(2 * frame[0].m, 0.5, 0.5 * 0.02);
    EXPECT_NEAR(2 * frame[1].m, 0.25, 0.25 * 0.02);
  }
}

TEST(Sines, MaxPeaksKeepsTheStrongest) {
  const long n = 8000;
  tf::Stft stft({1024, 256, tf::WindowKind::blackman});
  // Strongest in the middle, weakest lowest: truncation is by level, not by frequency.
  const auto x = tones({{500.2, 0.05}, {1500.9, 0.4}, {3200.4, 0.2}}, n);
  tf::SinesConfig config;
  config.peak_threshold_db = -40;  // tones at −26, −8, −14 dB; Blackman side lobes < −58 dB
  for (int max_peaks : {3, 2, 1}) {
    config.max_peaks = max_peaks;
    const auto points = tf::sines_points(stft, x.data(), n, kRate, config);
    const auto frames = by_frame(points, stft, n);
    const std::vector<double> expected =
        max_peaks == 3 ? std::vector<double>{500.2, 1500.9, 3200.4}
        : max_peaks == 2 ? std::vector<double>{1500.9, 3200.4}
                         : std::vector<double>{1500.9};
    for (long j = 0; j < static_cast<long>(frames.size()); ++j) {
      const auto& frame = frames[static_cast<std::size_t>(j)];
      ASSERT_LE(frame.size(), static_cast<std::size_t>(max_peaks)) << "frame " << j;
      if (!interior(stft, j, n)) continue;
      ASSERT_EQ(frame.size(), expected.size()) << "max_peaks " << max_peaks << " frame " << j;
      for (std::size_t i = 0; i < expected.size(); ++i)
        EXPECT_NEAR(frame[i].f, expected[i], 0.5) << "max_peaks " << max_peaks << " frame " << j;
    }
  }
}

TEST(Sines, ThresholdAboveTheToneLevelGivesNoPoints) {
  const long n = 8000;
  tf::Stft stft({1024, 256, tf::WindowKind::hann});
  const auto x = tones({{1234.56, 0.01}}, n);  // −40 dB
  tf::SinesConfig config;
  config.peak_threshold_db = -39;
  EXPECT_EQ(tf::sines_points(stft, x.data(), n, kRate, config).size(), 0u);
  config.peak_threshold_db = -41;  // just below: the main lobe is back in every frame
  const auto points = tf::sines_points(stft, x.data(), n, kRate, config);
  EXPECT_GE(points.size(), static_cast<std::size_t>(stft.n_frames(n) - 4));
}

TEST(Sines, SilenceGivesAnEmptyClip) {
  const long n = 4000;
  tf::Stft stft({512, 128, tf::WindowKind::sqrt_hann});
  const std::vector<float> x(static_cast<std::size_t>(n), 0.0f);
  const auto points = tf::sines_points(stft, x.data(), n, kRate, {});
  EXPECT_EQ(points.size(), 0u);
  EXPECT_TRUE(points.t.empty());
  EXPECT_TRUE(points.f.empty());
  EXPECT_FALSE(points.is_grid());
  // A click of 1e-3 has |X| ≤ 1e-3 in every bin, while Σw/2 ≈ 163 (sqrt-hann, N = 512): any
  // round-off ripple "peak" is near −100 dB, below the default −80 dB.
  std::vector<float> click = x;
  click[2000] = 1e-3f;
  EXPECT_EQ(tf::sines_points(stft, click.data(), n, kRate, {}).size(), 0u);
}

TEST(Sines, SamePointsOnOneAndTwoThreadsOrderedByTimeThenFrequency) {
  const long n = 24000;
  std::mt19937 rng(11);
  std::normal_distribution<float> normal(0.0f, 0.05f);
  auto x = tones({{220.0, 0.3}, {1234.56, 0.2, 0.5}, {5000.5, 0.1}}, n);
  for (auto& v : x) v += normal(rng);
  tf::Stft stft({1024, 256, tf::WindowKind::sqrt_hann});
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = tf::sines_points(stft, x.data(), n, kRate, {});
  omp_set_num_threads(2);
  const auto two = tf::sines_points(stft, x.data(), n, kRate, {});
  omp_set_num_threads(saved);
  ASSERT_GT(one.size(), static_cast<std::size_t>(stft.n_frames(n)));
  EXPECT_EQ(one.t, two.t);
  EXPECT_EQ(one.f, two.f);
  EXPECT_EQ(one.m, two.m);
  // Noise has more local maxima than max_peaks: every frame is full, never over.
  const auto frames = by_frame(one, stft, n);
  for (const auto& frame : frames) EXPECT_EQ(frame.size(), 60u);
  for (std::size_t i = 1; i < one.size(); ++i) {
    ASSERT_TRUE(one.t[i - 1] < one.t[i] || (one.t[i - 1] == one.t[i] && one.f[i - 1] < one.f[i]))
        << "point " << i;
  }
  for (std::size_t i = 0; i < one.size(); ++i) {
    ASSERT_GT(one.f[i], 0.0f);
    ASSERT_LT(one.f[i], kRate / 2);
    ASSERT_GT(one.m[i], 0.0f);
  }
}

TEST(Sines, BadOptionsAreUsageErrorsNamingTheOption) {
  const auto expect_usage = [](tf::SinesConfig config, const std::string& option) {
    try {
      tf::validate(config);
      ADD_FAILURE() << "no error for " << option;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find(option), std::string::npos) << e.what();
    }
  };
  tf::SinesConfig config;
  EXPECT_NO_THROW(tf::validate(config));
  config.peak_threshold_db = std::nan("");
  expect_usage(config, "--peak-threshold");
  config.peak_threshold_db = -std::numeric_limits<double>::infinity();
  expect_usage(config, "--peak-threshold");
  config = {};
  config.max_peaks = 0;
  expect_usage(config, "--max-peaks");
  config.max_peaks = -3;
  expect_usage(config, "--max-peaks");
  // sines_points validates too, before any work.
  tf::Stft stft({256, 64, tf::WindowKind::hann});
  const std::vector<float> x(1000, 0.0f);
  EXPECT_THROW(tf::sines_points(stft, x.data(), 1000, kRate, config), UsageError);
}
