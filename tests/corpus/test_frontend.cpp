// corpus::clip_layout: what a clip's points will be, from its length alone, must be what the
// transform gives (the feature pipeline writes a clip table from it before transforming clips
// beyond its memory budget).

#include <gtest/gtest.h>

#include <cmath>

#include "innmf/corpus/feature_extraction.hpp"
#include "innmf/corpus/frontend.hpp"

using namespace innmf;

namespace {

std::vector<float> noise(long n) {
  std::vector<float> x(static_cast<std::size_t>(n));
  std::uint32_t state = 12345;
  for (auto& v : x) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(state >> 8) / static_cast<float>(1u << 24) - 0.5f;
  }
  return x;
}

}  // namespace

TEST(ClipLayout, CountsAndShapesAreThoseOfTheTransform) {
  constexpr double kRate = 8000;
  corpus::FeatureConfig config;
  config.stft = {256, 64, tf::WindowKind::sqrt_hann};
  config.cqt.fmin = 200;
  config.wavelet.fmin = 200;
  for (const std::string representation : {"stft", "stft:100:30", "cqt", "wavelet", "stft:128,cqt,wavelet"}) {
    config.representation = representation;
    auto frontends = corpus::make_frontends(config, kRate);
    for (const long n : {4000L, 4001L, 12345L}) {
      for (auto& frontend : frontends) frontend->prepare(n);
      const auto samples = noise(n);
      const auto layout = corpus::clip_layout(frontends, n);
      ASSERT_TRUE(layout) << representation;
      const auto points = corpus::clip_points(frontends, samples.data(), n);
      EXPECT_EQ(layout->count, points.size()) << representation << ", " << n << " samples";
      EXPECT_EQ(layout->n_times, points.times.size()) << representation;
      EXPECT_EQ(layout->n_freqs, points.freqs.size()) << representation;
      const auto bytes = sizeof(float) * (points.times.size() + points.freqs.size() + points.t.size() +
                                          points.f.size() + points.m.size());
      EXPECT_EQ(layout->bytes, bytes) << representation;
      EXPECT_EQ(corpus::layout_of(points).bytes, bytes) << representation;
    }
  }
  // Peaks depend on the signal: no layout, alone or in a hybrid.
  for (const std::string representation : {"sines", "stft,sines"}) {
    config.representation = representation;
    const auto frontends = corpus::make_frontends(config, kRate);
    EXPECT_FALSE(corpus::clip_layout(frontends, 4000)) << representation;
  }
}
