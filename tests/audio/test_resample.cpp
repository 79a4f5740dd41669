#include <gtest/gtest.h>

#include <cmath>

#include "innmf/audio/resample.hpp"
#include "innmf/core/error.hpp"
#include "test_util.hpp"

using namespace innmf;

namespace {

/// Amplitude of the component of x at `frequency` (least squares against sin and cos).
double amplitude_at(const std::vector<float>& x, double frequency, double rate, long from, long to) {
  double s = 0, c = 0;
  for (long n = from; n < to; ++n) {
    s += x[n] * std::sin(2 * M_PI * frequency * n / rate);
    c += x[n] * std::cos(2 * M_PI * frequency * n / rate);
  }
  return 2 * std::hypot(s, c) / (to - from);
}

}  // namespace

TEST(Resample, ToneKeepsFrequencyAmplitudeAndLength) {
  const auto in = innmf::testing::tone(440, 44100, 44100, 0.5);
  const auto out = audio::resample(in, 16000);
  EXPECT_EQ(out.sample_rate, 16000);
  EXPECT_EQ(out.samples.size(), 16000u);
  // Away from the edges, the 440 Hz component keeps its amplitude (HQ passband ripple ≪ 0.1 dB).
  EXPECT_NEAR(amplitude_at(out.samples, 440, 16000, 2000, 14000), 0.5, 0.005);
  // …and the output is a clean tone: nothing at a nearby frequency.
  EXPECT_LT(amplitude_at(out.samples, 1000, 16000, 2000, 14000), 1e-3);
}

TEST(Resample, RemovesContentAboveTheNewNyquist) {
  // 6 kHz cannot exist at 8 kHz sampling: it must be filtered out, not aliased to 2 kHz.
  const auto in = innmf::testing::tone(6000, 16000, 16000, 0.5);
  const auto out = audio::resample(in, 8000);
  EXPECT_LT(amplitude_at(out.samples, 2000, 8000, 1000, 7000), 1e-3);
}

TEST(Resample, SameRateIsIdentityAndBadRateIsRefused) {
  const auto in = innmf::testing::tone(440, 8000, 100);
  EXPECT_EQ(audio::resample(in, 8000).samples, in.samples);
  EXPECT_THROW(audio::resample(in, 0), UsageError);
  EXPECT_THROW(audio::resample(in, -16000), UsageError);
  // libsoxr crashed at extreme ratios (44.1 kHz to 0.01 Hz): more than 1024× apart is refused,
  // naming the file; 1024× itself is converted.
  try {
    audio::resample(in, 8000.0 * 1025, "in.wav");
    ADD_FAILURE() << "a ratio of 1025 was resampled";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("in.wav: cannot resample from 8000 Hz to 8200000 Hz"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(audio::resample(in, 8000.0 / 1025), UsageError);
  EXPECT_EQ(audio::resample(in, 8000.0 * 1024).samples.size(), std::size_t{102400});
}

TEST(Resample, ChannelsAreResampledAlike) {
  audio::MultichannelAudio stereo;
  stereo.sample_rate = 16000;
  stereo.channels = {innmf::testing::tone(440, 16000, 8000).samples,
                     innmf::testing::tone(2500, 16000, 8000, 0.3).samples};
  const auto out = audio::resample(stereo, 11025);
  EXPECT_EQ(out.sample_rate, 11025);
  ASSERT_EQ(out.channels.size(), 2u);
  for (std::size_t c = 0; c < 2; ++c)
    EXPECT_EQ(out.channels[c], audio::resample(audio::Audio{stereo.channels[c], 16000}, 11025).samples) << c;
}
