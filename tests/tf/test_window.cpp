#include <gtest/gtest.h>

#include <cmath>

#include "innmf/core/error.hpp"
#include "innmf/tf/window.hpp"

using namespace innmf;

TEST(Window, PeriodicHannIsZeroAtStartAndOneAtCentre) {
  const auto w = tf::make_window(tf::WindowKind::hann, 8);
  EXPECT_FLOAT_EQ(w[0], 0.0f);
  EXPECT_FLOAT_EQ(w[4], 1.0f);            // periodic: the peak is at length/2
  EXPECT_NEAR(w[1], w[7], 1e-7);          // symmetric about length/2
}

TEST(Window, SqrtHannSquaredSumsToOneAtHalfOverlap) {
  // Princen-Bradley: w²[n] + w²[n + N/2] = 1 for the periodic sqrt-Hann window.
  const int n = 1000;
  const auto w = tf::make_window(tf::WindowKind::sqrt_hann, n);
  for (int i = 0; i < n / 2; ++i) EXPECT_NEAR(w[i] * w[i] + w[i + n / 2] * w[i + n / 2], 1.0, 1e-6);
}

TEST(Window, HammingAndBlackmanEndpoints) {
  EXPECT_NEAR(tf::make_window(tf::WindowKind::hamming, 16)[0], 0.08, 1e-6);
  EXPECT_NEAR(tf::make_window(tf::WindowKind::blackman, 16)[0], 0.0, 1e-6);
  EXPECT_NEAR(tf::make_window(tf::WindowKind::blackman, 16)[8], 1.0, 1e-6);
}

TEST(Window, ParseNamesAndRejectsUnknown) {
  EXPECT_EQ(tf::parse_window("sqrt-hann"), tf::WindowKind::sqrt_hann);
  EXPECT_EQ(tf::window_name(tf::parse_window("blackman")), "blackman");
  try {
    tf::parse_window("kaiser");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("--window kaiser"), std::string::npos) << e.what();
  }
}
