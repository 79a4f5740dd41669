// The whole pipeline on a signal with a known answer: two harmonic notes, one after the other.
// A rank-2 model must learn one template per note (peaks at that note's harmonics) and
// activations that switch where the notes switch.

#include <gtest/gtest.h>

#include <cmath>

#include "innmf/audio/audio_io.hpp"
#include "innmf/corpus/feature_extraction.hpp"
#include "innmf/train/trained_model.hpp"
#include "innmf/train/trainer.hpp"
#include "test_util.hpp"

using namespace innmf;

namespace {

constexpr double kRate = 8000;
constexpr double kNoteA = 220.0, kNoteB = 311.0;  // no common harmonic below 4 kHz
constexpr double kSwitch = 1.0;                    // note A in [0, 1) s, note B in [1, 2) s

audio::Audio two_notes() {
  audio::Audio a;
  a.sample_rate = kRate;
  a.samples.resize(static_cast<std::size_t>(2 * kRate));
  for (std::size_t n = 0; n < a.samples.size(); ++n) {
    const double t = n / kRate;
    const double f0 = t < kSwitch ? kNoteA : kNoteB;
    double x = 0;
    for (int h = 1; h <= 5; ++h) x += std::sin(2 * M_PI * h * f0 * t) / h;
    a.samples[n] = static_cast<float>(0.2 * x);
  }
  return a;
}

/// Frequencies of the `count` largest local maxima of w over freqs.
std::vector<double> peaks(const std::vector<double>& freqs, const Eigen::VectorXf& w, int count) {
  std::vector<std::pair<float, double>> maxima;
  for (Eigen::Index i = 1; i + 1 < w.size(); ++i)
    if (w(i) > w(i - 1) && w(i) >= w(i + 1)) maxima.push_back({w(i), freqs[static_cast<std::size_t>(i)]});
  std::sort(maxima.rbegin(), maxima.rend());
  std::vector<double> out;
  for (int i = 0; i < count && i < static_cast<int>(maxima.size()); ++i) out.push_back(maxima[static_cast<std::size_t>(i)].second);
  return out;
}

/// True if f is within `tolerance` Hz of a harmonic 1..5 of f0.
bool is_harmonic(double f, double f0, double tolerance) {
  for (int h = 1; h <= 5; ++h)
    if (std::abs(f - h * f0) <= tolerance) return true;
  return false;
}

}  // namespace

TEST(TwoNotes, RankTwoModelLearnsOneTemplatePerNoteAndWhenEachPlays) {
  innmf::testing::TempDir dir;
  audio::write_wav(dir / "notes.wav", two_notes(), "float");
  const auto self = mpi::Comm::self();
  corpus::FeatureConfig features;
  features.stft = {512, 128, tf::WindowKind::sqrt_hann};  // bins 15.6 Hz apart, frames 16 ms
  features.config_json = "{}";
  corpus::extract_features({dir / "notes.wav"}, features, dir / "notes.h5", self);

  train::TrainConfig config;
  config.model.rank = 2;
  config.model.hidden = 32;
  config.epochs = 500;
  config.lr = 1e-3;
  config.config_json = "{}";
  const auto report = train::train({dir / "notes.h5"}, config, dir / "model.h5", self);
  ASSERT_EQ(report.loss.size(), 500u);
  EXPECT_LT(report.loss.back(), 0.25 * report.loss.front());

  const auto model = train::TrainedModel::load(dir / "model.h5");
  std::vector<double> freqs;
  // The STFT's bins: where the data constrains the templates.
  const double bin = kRate / 512;
  for (int i = 0; i <= 256; ++i) freqs.push_back(i * bin);
  const auto W = model.templates_at(freqs);

  // Which template is note A's: the one with more energy near 220 Hz.
  auto energy_near = [&](int k, double f) { return W(static_cast<Eigen::Index>(std::lround(f / bin)), k); };
  const int a = energy_near(0, kNoteA) > energy_near(1, kNoteA) ? 0 : 1, b = 1 - a;
  const double tolerance = 15.6;  // one STFT bin
  for (double f : peaks(freqs, W.col(a), 5)) EXPECT_TRUE(is_harmonic(f, kNoteA, tolerance)) << "A peak " << f;
  for (double f : peaks(freqs, W.col(b), 5)) EXPECT_TRUE(is_harmonic(f, kNoteB, tolerance)) << "B peak " << f;

  // Activations: A dominates before the switch, B after (away from the 64 ms transition).
  std::vector<double> times;
  model::RowMatrix<float> H;
  model.knot_activations(0, times, H);
  int agree = 0, total = 0;
  for (std::size_t j = 0; j < times.size(); ++j) {
    if (std::abs(times[j] - kSwitch) < 0.064 || times[j] > 1.95) continue;
    const bool a_louder = H(static_cast<Eigen::Index>(j), a) > H(static_cast<Eigen::Index>(j), b);
    agree += (times[j] < kSwitch) == a_louder;
    ++total;
  }
  EXPECT_GE(agree, total * 95 / 100) << agree << " of " << total << " frames";
}
