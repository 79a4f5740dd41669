#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "innmf/audio/audio_io.hpp"
#include "innmf/core/error.hpp"
#include "test_util.hpp"
#include "innmf/tf/cqt.hpp"
#include "innmf/tf/point_set.hpp"
#include "innmf/tf/representation.hpp"

#include <nlohmann/json.hpp>

using namespace innmf;
using innmf::testing::snr_db;

namespace {

std::vector<float> cosine(double frequency, double rate, long n, double amplitude) {
  std::vector<float> x(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) x[i] = static_cast<float>(amplitude * std::cos(2 * M_PI * frequency * i / rate));
  return x;
}

}  // namespace

TEST(Cqt, BinsFollowTheOptions) {
  // 16 kHz, fmin 32.7, default fmax = Nyquist/2 = 4 kHz, 24 bins per octave:
  // log2(4000/32.7) = 6.934 octaves → 1 + floor(166.4) = 167 bins.
  const tf::CqtBins bins({32.7, 0, 24}, 16000);
  EXPECT_DOUBLE_EQ(bins.fmax, 4000);
  ASSERT_EQ(bins.n_bins(), 167);
  EXPECT_NEAR(bins.freqs[24], 65.4, 1e-9);
  EXPECT_LE(bins.freqs.back(), 4000);
  EXPECT_GT(bins.freqs.back() * std::exp2(1.0 / 24), 4000);
  // Constant Q: Ω_k / f_k is the same for every bin.
  for (int k = 0; k < bins.n_bins(); ++k)
    EXPECT_NEAR(bins.bandwidths[k] / bins.freqs[k], bins.bandwidths[0] / bins.freqs[0], 1e-12);
  // Longest window 2/Ω_0 = 2 / (32.7 · (2^(1/24) − 2^(−1/24))) ≈ 1.059 s.
  EXPECT_NEAR(bins.min_samples() / 16000.0, 1.059, 1e-3);
}

TEST(Cqt, OffGridToneLandsInTheNearestBin) {
  // A tone 0.3 of a bin step above bin 40 of (fmin 50, 12 per octave) at 8 kHz: bin 40 is the
  // nearest on the log axis, so it must hold the largest mean magnitude, ≈ A/2 · g(f).
  const double rate = 8000, amplitude = 0.8;
  const tf::CqtConfig config{50, 0, 12};
  const tf::Cqt cqt(config, rate, 3 * 8000 + 17);  // an odd length on purpose
  const double f = cqt.bins().freqs[40] * std::exp2(0.3 / 12);
  const auto x = cosine(f, rate, cqt.n_samples(), amplitude);
  const auto c = cqt.analyze(x.data());
  int best = -1;
  double best_mean = -1;
  for (int k = 0; k < cqt.n_bins(); ++k) {
    double mean = 0;
    for (const auto& v : c.bands[k + 1]) mean += std::abs(v);
    mean /= static_cast<double>(c.bands[k + 1].size());
    if (mean > best_mean) best_mean = mean, best = k;
  }
  EXPECT_EQ(best, 40);
  // The Hann window of bin 40 at f: cos²(π (f − f_40) / Ω_40).
  const double g = std::pow(std::cos(M_PI * (f - cqt.bins().freqs[40]) / cqt.bins().bandwidths[40]), 2);
  EXPECT_NEAR(best_mean, amplitude / 2 * g, 0.02 * amplitude);
}

TEST(Cqt, ToneOnABinHasMagnitudeHalfItsAmplitude) {
  // f_k on an exact FFT bin (N = rate · 4 s → δ = 0.25 Hz; fmin 110, 12/oct, bin 12 = 220 Hz).
  const double rate = 16000, amplitude = 0.5;
  const tf::Cqt cqt({110, 2000, 12}, rate, 4 * 16000);
  const auto x = cosine(220, rate, cqt.n_samples(), amplitude);
  const auto points = tf::cqt_points(cqt, x.data());
  float peak = 0;
  for (std::size_t i = 0; i < points.size(); ++i)
    if (points.f[i] == static_cast<float>(cqt.bins().freqs[12])) peak = std::max(peak, points.m[i]);
  EXPECT_NEAR(peak, amplitude / 2, 1e-3);
}

TEST(Cqt, NoiseRoundTripIsExact) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 0.3f);
  for (long n : {16000L * 2, 16000L * 2 + 1, 33331L}) {  // even, odd, prime lengths
    const tf::Cqt cqt({32.7, 0, 24}, 16000, n);
    std::vector<float> x(static_cast<std::size_t>(n));
    for (auto& v : x) v = normal(rng);
    const auto y = cqt.synthesize(cqt.analyze(x.data()));
    ASSERT_EQ(y.size(), x.size());
    const double snr = snr_db(x, y);
    EXPECT_GT(snr, 60) << "n = " << n;
    RecordProperty("snr_db_" + std::to_string(n), std::to_string(snr));
  }
}

TEST(Cqt, RoundTripWithFmaxAtNyquistAndOneBinPerOctave) {
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  for (const tf::CqtConfig config : {tf::CqtConfig{100, 8000, 1}, tf::CqtConfig{62.5, 8000, 7}}) {
    const tf::Cqt cqt(config, 16000, 20000);
    std::vector<float> x(20000);
    for (auto& v : x) v = normal(rng);
    EXPECT_GT(snr_db(x, cqt.synthesize(cqt.analyze(x.data()))), 60) << config.bins_per_octave;
  }
}

TEST(Cqt, SpeechRoundTripAbove60Db) {
  const auto audio = audio::read_audio(INNMF_DATA_DIR "/speech/es_test.wav");
  ASSERT_GT(audio.samples.size(), 16000u);
  const tf::Cqt cqt({32.7, 0, 24}, audio.sample_rate, static_cast<long>(audio.samples.size()));
  const auto y = cqt.synthesize(cqt.analyze(audio.samples.data()));
  const double snr = snr_db(audio.samples, y);
  EXPECT_GT(snr, 60);
  RecordProperty("snr_db", std::to_string(snr));
}

TEST(Cqt, PointTimesAreMultiplesOfEachBinsHop) {
  const double rate = 16000;
  const tf::Cqt cqt({32.7, 0, 24}, rate, 40000);
  std::vector<float> x(40000, 0.1f);
  const auto points = tf::cqt_points(cqt, x.data());
  ASSERT_EQ(points.size(), cqt.n_points());
  ASSERT_FALSE(points.is_grid());
  std::size_t i = 0;
  double previous_hop = 1e9;
  for (int k = 0; k < cqt.n_bins(); ++k) {
    const double hop = cqt.hop_seconds(k);
    EXPECT_LE(hop, previous_hop);  // higher bins: shorter windows, shorter hops
    previous_hop = hop;
    // Hop ≤ 1/Ω_k, close to it (M_k is ceil(Ω_k · 2.5 s) rounded up to an FFT-friendly size;
    // bin 0: Ω_0 · 2.5 s = 4.7 → 5 → hop·Ω_0 = 0.94): proportional to the window length.
    EXPECT_LE(hop * cqt.bins().bandwidths[k], 1.0 + 1e-12) << k;
    EXPECT_GT(hop * cqt.bins().bandwidths[k], 0.8) << k;
    for (long m = 0; m < cqt.n_coefficients(k); ++m, ++i) {
      ASSERT_FLOAT_EQ(points.f[i], static_cast<float>(cqt.bins().freqs[k]));
      ASSERT_NEAR(points.t[i], m * hop, 1e-6);
      ASSERT_LT(points.t[i], 40000 / rate);
    }
  }
  EXPECT_EQ(i, points.size());
  // Hops differ across bins (irregular times): top hop much shorter than the bottom one.
  EXPECT_LT(cqt.hop_seconds(cqt.n_bins() - 1) * 50, cqt.hop_seconds(0));
}

TEST(Cqt, BadOptionsAreUsageErrors) {
  auto message = [](const tf::CqtConfig& config, double rate, long n) -> std::string {
    try {
      tf::Cqt cqt(config, rate, n);
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(message({32.7, 9000, 24}, 16000, 32000).find("--fmax 9000 Hz is above Nyquist (8000 Hz)"),
            std::string::npos);
  EXPECT_NE(message({0, 0, 24}, 16000, 32000).find("--fmin 0"), std::string::npos);
  EXPECT_NE(message({-5, 0, 24}, 16000, 32000).find("--fmin -5"), std::string::npos);
  EXPECT_NE(message({32.7, 0, 0}, 16000, 32000).find("--bins-per-octave 0"), std::string::npos);
  EXPECT_NE(message({5000, 0, 24}, 16000, 32000).find("--fmin 5000 Hz is above"), std::string::npos);
  // 8000 samples (0.5 s) is shorter than the 1.059 s window of bin 0: the message says so.
  const auto short_message = message({32.7, 0, 24}, 16000, 8000);
  EXPECT_NE(short_message.find("8000 samples"), std::string::npos) << short_message;
  EXPECT_NE(short_message.find("16940 samples (1.059 s)"), std::string::npos) << short_message;
}

// The default knot spacing of grid activations (tf::default_knot_spacing): an STFT's hop, a
// CQT's middle bin's hop, the smallest over a hybrid's parts; a file from before median_hop was
// recorded falls back to min_hop.
TEST(Cqt, DefaultKnotSpacingIsTheMiddleBinsHop) {
  const tf::CqtBins bins({50, 3900, 24}, 8000);
  ASSERT_EQ(bins.n_bins(), 151);
  // Bin 75: f = 50·2^(75/24) ≈ 433 Hz, Ω = f·(2^(1/24) − 2^(−1/24)) ≈ 25.0 Hz → 40 ms.
  EXPECT_NEAR(bins.median_hop_seconds(), 1 / (50 * std::exp2(75.0 / 24) * (std::exp2(1.0 / 24) - std::exp2(-1.0 / 24))),
              1e-12);
  EXPECT_NEAR(bins.median_hop_seconds(), 0.040, 0.001);
  EXPECT_NEAR(bins.min_hop_seconds(), 0.0045, 0.0001);

  const nlohmann::json cqt = {{"kind", "cqt"}, {"min_hop", bins.min_hop_seconds()},
                              {"median_hop", bins.median_hop_seconds()}};
  EXPECT_DOUBLE_EQ(tf::default_knot_spacing(cqt), bins.median_hop_seconds());
  nlohmann::json old_cqt = cqt;
  old_cqt.erase("median_hop");
  EXPECT_DOUBLE_EQ(tf::default_knot_spacing(old_cqt), bins.min_hop_seconds());

  const nlohmann::json stft_256 = {{"kind", "stft"}, {"n_fft", 256}, {"hop", 128}, {"sample_rate", 8000.0}};
  const nlohmann::json stft_1000 = {{"kind", "stft"}, {"n_fft", 1000}, {"hop", 500}, {"sample_rate", 8000.0}};
  EXPECT_DOUBLE_EQ(tf::default_knot_spacing(stft_1000), 0.0625);
  // Hybrids: the smallest part's spacing, whichever part it is.
  EXPECT_DOUBLE_EQ(tf::default_knot_spacing({{"kind", "hybrid"}, {"parts", {stft_256, stft_1000, cqt}}}), 0.016);
  EXPECT_DOUBLE_EQ(tf::default_knot_spacing({{"kind", "hybrid"}, {"parts", {stft_1000, cqt}}}),
                   bins.median_hop_seconds());
  EXPECT_EQ(tf::default_knot_spacing(nlohmann::json::object()), 0.0);
}
