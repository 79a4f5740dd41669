// SourceModel::templates_at_bins with training-grid sampling on a model trained on a CQT point
// set: the model file records the frequencies it was fitted at (the point set's unique
// frequencies), the templates at an STFT's bins are the linear interpolation of the networks
// between those, and at a training frequency they are the networks themselves. Model files
// written before the frequencies were stored fall back to the training STFT's bins, or to
// direct evaluation.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "innmf/audio/audio_io.hpp"
#include "innmf/core/error.hpp"
#include "innmf/corpus/feature_extraction.hpp"
#include "innmf/io/innmf_model_file.hpp"
#include "innmf/io/model_file.hpp"
#include "innmf/io/point_file.hpp"
#include "innmf/sep/source_model.hpp"
#include "innmf/train/trained_model.hpp"
#include "innmf/train/trainer.hpp"
#include "test_util.hpp"

using namespace innmf;

namespace {

constexpr double kRate = 8000;
// CQT centres 125 · 2^(k/12) Hz up to 3 kHz: 1 + floor(12 · log2(3000/125)) = 1 + floor(55.02)
// = 56 of them. Every 12th is an octave of 125 Hz (250, 500, 1000, 2000 Hz), which is also a bin
// of an STFT of 1024 points at 8 kHz (7.8125 Hz apart: bins 32, 64, 128, 256).
constexpr double kFmin = 125, kFmax = 3000;
constexpr int kBinsPerOctave = 12, kCentres = 56;
constexpr int kNfft = 1024;

/// Bin frequencies k · kRate / n_fft [Hz], k = 0..n_fft/2.
std::vector<double> bins(int n_fft) {
  std::vector<double> f;
  for (int k = 0; k <= n_fft / 2; ++k) f.push_back(k * kRate / n_fft);
  return f;
}

/// The reference interpolation, written plainly: the rows of `values` (n, K) at the increasing
/// `knots` (n), at frequency f, linear between the two knots around f, constant outside.
std::vector<double> interpolate_naive(const std::vector<double>& knots, const model::RowMatrix<float>& values,
                                      double f) {
  const auto K = values.cols();
  std::vector<double> out(static_cast<std::size_t>(K));
  std::size_t lo = 0, hi = 0;
  double w = 0;
  if (f <= knots.front()) {
    lo = hi = 0;
  } else if (f >= knots.back()) {
    lo = hi = knots.size() - 1;
  } else {
    while (knots[lo + 1] <= f) ++lo;
    hi = lo + 1;
    w = (f - knots[lo]) / (knots[hi] - knots[lo]);
  }
  for (Eigen::Index k = 0; k < K; ++k)
    out[static_cast<std::size_t>(k)] = (1 - w) * values(static_cast<Eigen::Index>(lo), k) +
                                       w * values(static_cast<Eigen::Index>(hi), k);
  return out;
}

/// |a − b| ≤ 1e-5 · (1 + |b|) for every entry of `actual` (n_freqs, K) against the reference
/// interpolation at `freqs`; returns the number of mismatches (and reports the first few).
int mismatches(const model::classic::Matrix& actual, const std::vector<double>& knots,
               const model::RowMatrix<float>& values, const std::vector<double>& freqs) {
  int bad = 0;
  for (std::size_t i = 0; i < freqs.size(); ++i) {
    const auto expected = interpolate_naive(knots, values, freqs[i]);
    for (std::size_t k = 0; k < expected.size(); ++k) {
      const double a = actual(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k));
      if (std::abs(a - expected[k]) > 1e-5 * (1 + std::abs(expected[k])) && ++bad <= 5)
        ADD_FAILURE() << "bin " << i << " (" << freqs[i] << " Hz), template " << k << ": " << a << ", expected "
                      << expected[k];
    }
  }
  return bad;
}

/// A harmonic voice (200 Hz, 6 harmonics) for 1 s → CQT point set → a small iN-NMF model
/// (rank 2, 30 epochs: only its sampling is tested, not its quality).
class SeparationTemplateSampling : public ::testing::Test {
 protected:
  void SetUp() override {
    audio::Audio voice;
    voice.sample_rate = kRate;
    voice.samples.assign(static_cast<std::size_t>(kRate), 0.0f);
    for (int h = 1; h <= 6; ++h) {
      const auto t = innmf::testing::tone(200.0 * h, kRate, static_cast<long>(kRate), 0.3 / h);
      for (std::size_t n = 0; n < voice.samples.size(); ++n) voice.samples[n] += t.samples[n];
    }
    audio::write_wav(dir_ / "voice.wav", voice, "float");
    const auto self = mpi::Comm::self();
    corpus::FeatureConfig features;
    features.representation = "cqt";
    features.cqt = {kFmin, kFmax, kBinsPerOctave};
    features.config_json = "{}";
    corpus::extract_features({dir_ / "voice.wav"}, features, points_, self);
    train::TrainConfig config;
    config.model.rank = 2;
    config.model.hidden = 16;
    config.epochs = 30;
    config.config_json = "{}";
    train::train({points_}, config, model_, self);
  }

  /// The point set's unique frequencies [Hz], increasing (float32 in the file, as training reads them).
  std::vector<double> point_frequencies() const {
    const io::PointFile file(points_);
    std::set<double> unique;
    for (std::size_t c = 0; c < file.clips().size(); ++c) {
      const auto clip = file.read_clip(c);
      for (std::size_t i = 0; i < clip.size(); ++i) unique.insert(clip.freq_of(i));
    }
    return {unique.begin(), unique.end()};
  }

  innmf::testing::TempDir dir_;
  std::string points_ = dir_ / "cqt.h5", model_ = dir_ / "model.h5";
};

}  // namespace

TEST_F(SeparationTemplateSampling, CqtModelStoresThePointSetsUniqueFrequencies) {
  const auto expected = point_frequencies();
  ASSERT_EQ(expected.size(), static_cast<std::size_t>(kCentres));
  EXPECT_EQ(train::TrainedModel::load(model_).record().training_freqs, expected);
  EXPECT_EQ(sep::SourceModel::load(model_).training_frequencies(), expected);
  // `innmf info` reports them.
  const auto summary = io::summarize(io::ModelFile(model_));
  EXPECT_EQ(summary.n_training_freqs, static_cast<std::size_t>(kCentres));
  EXPECT_DOUBLE_EQ(summary.min_training_freq, kFmin);
  EXPECT_NEAR(summary.max_training_freq, kFmin * std::exp2(55.0 / 12), 1e-3);
  EXPECT_NE(io::to_text(summary).find("56 frequencies, 125.0 – "), std::string::npos) << io::to_text(summary);
}

TEST_F(SeparationTemplateSampling, GridInterpolatesTheNetworksBetweenCqtCentres) {
  const auto source = sep::SourceModel::load(model_);
  const auto trained = train::TrainedModel::load(model_);
  const auto knots = trained.record().training_freqs;
  ASSERT_EQ(knots.size(), static_cast<std::size_t>(kCentres));
  const auto at_knots = trained.templates_at(knots);  // (56, 2)
  const auto freqs = bins(kNfft);
  const auto grid = source.templates_at_bins(kNfft, kRate, sep::TemplateSampling::training_grid);
  const auto direct = source.templates_at_bins(kNfft, kRate, sep::TemplateSampling::direct);
  ASSERT_EQ(grid.rows(), kNfft / 2 + 1);
  ASSERT_EQ(grid.cols(), 2);
  EXPECT_EQ(mismatches(grid, knots, at_knots, freqs), 0);

  // Bins 32, 64, 128, 256 are the centres 250, 500, 1000, 2000 Hz: there grid = the networks.
  for (const int bin : {32, 64, 128, 256}) {
    ASSERT_TRUE(std::binary_search(knots.begin(), knots.end(), freqs[bin])) << freqs[bin];
    for (int k = 0; k < 2; ++k) EXPECT_FLOAT_EQ(grid(bin, k), direct(bin, k)) << "bin " << bin;
  }
  // Below the lowest centre (bins 0..15 < 125 Hz) the value at 125 Hz.
  for (int bin = 0; bin < 16; ++bin)
    for (int k = 0; k < 2; ++k) EXPECT_FLOAT_EQ(grid(bin, k), at_knots(0, k)) << "bin " << bin;
  // Between centres the networks are free: direct evaluation differs from the interpolation
  // somewhere (otherwise this test could not tell the two apart).
  EXPECT_GT((grid - direct).cwiseAbs().maxCoeff(), 1e-4 * direct.cwiseAbs().maxCoeff());
}

TEST_F(SeparationTemplateSampling, FilesWithoutTrainingFrequenciesFallBack) {
  auto record = io::read_innmf_model(model_);
  record.training_freqs.clear();
  const auto old_cqt = dir_ / "old_cqt.h5";
  io::write_innmf_model(old_cqt, record);
  // A CQT model from before: nothing to interpolate between, so grid is direct.
  const auto cqt = sep::SourceModel::load(old_cqt);
  EXPECT_TRUE(cqt.training_frequencies().empty());
  EXPECT_EQ(io::summarize(io::ModelFile(old_cqt)).n_training_freqs, 0u);
  const auto direct = cqt.templates_at_bins(kNfft, kRate, sep::TemplateSampling::direct);
  EXPECT_TRUE(cqt.templates_at_bins(kNfft, kRate) == direct);

  // An STFT model from before (same networks, an STFT of 512 points said to be its data): the
  // training STFT's bins are the knots.
  record.representation_json = R"({"kind":"stft","n_fft":512,"hop":128,"window":"sqrt-hann","sample_rate":8000})";
  const auto old_stft = dir_ / "old_stft.h5";
  io::write_innmf_model(old_stft, record);
  const auto stft = sep::SourceModel::load(old_stft);
  const auto knots = bins(512);
  EXPECT_EQ(stft.training_frequencies(), knots);
  const auto at_knots = train::TrainedModel::load(old_stft).templates_at(knots);
  EXPECT_EQ(mismatches(stft.templates_at_bins(kNfft, kRate), knots, at_knots, bins(kNfft)), 0);
  // At the training size every bin is a knot: grid is direct.
  EXPECT_TRUE(stft.templates_at_bins(512, kRate) == stft.templates_at_bins(512, kRate, sep::TemplateSampling::direct));
}

TEST_F(SeparationTemplateSampling, SinesModelsAreSilentBeyondTheirExtremePeaks) {
  // The same networks said to be trained on sinusoidal peaks of 8 kHz audio: that analysis saw
  // 0–4 kHz and found peaks only at the knots (125 Hz – 2.9 kHz), so beyond them the source was
  // quiet and grid sampling gives 0; between them, the interpolation as for the CQT.
  auto record = io::read_innmf_model(model_);
  record.representation_json =
      R"({"kind":"sines","n_fft":1024,"hop":256,"window":"sqrt-hann","sample_rate":8000,"f_quantum":0})";
  const auto sines_path = dir_ / "sines.h5";
  io::write_innmf_model(sines_path, record);
  const auto sines = sep::SourceModel::load(sines_path);
  const auto knots = record.training_freqs;
  const auto at_knots = train::TrainedModel::load(sines_path).templates_at(knots);
  const auto freqs = bins(kNfft);
  const auto grid = sines.templates_at_bins(kNfft, kRate);
  std::vector<double> inside;
  model::classic::Matrix grid_inside(grid.rows(), grid.cols());
  Eigen::Index rows = 0;
  for (std::size_t i = 0; i < freqs.size(); ++i) {
    const bool beyond = freqs[i] < knots.front() || freqs[i] > knots.back();
    if (beyond) {
      EXPECT_EQ(grid.row(static_cast<Eigen::Index>(i)).cwiseAbs().maxCoeff(), 0.0f) << freqs[i] << " Hz";
    } else {
      inside.push_back(freqs[i]);
      grid_inside.row(rows++) = grid.row(static_cast<Eigen::Index>(i));
    }
  }
  ASSERT_GT(inside.size(), 300u);
  EXPECT_EQ(mismatches(grid_inside.topRows(rows), knots, at_knots, inside), 0);
  EXPECT_TRUE(sines.analysed_at(4000));
  // Mixture bins above the Nyquist of the training audio were never analysed: held, not 0.
  const auto wider = sines.templates_at_bins(kNfft, 2 * kRate);
  const Eigen::Index top = kNfft / 2;  // 8 kHz
  EXPECT_FALSE(sines.analysed_at(8000));
  for (int k = 0; k < 2; ++k) EXPECT_FLOAT_EQ(wider(top, k), at_knots(static_cast<Eigen::Index>(knots.size()) - 1, k));
  // The CQT model itself keeps its edge values below its lowest centre (the test above).
  EXPECT_FALSE(sep::SourceModel::load(model_).analysed_at(100));
}

TEST_F(SeparationTemplateSampling, UnorderedTrainingFrequenciesAreRefused) {
  auto record = io::read_innmf_model(model_);
  record.training_freqs = {500, 250};
  const auto bad = dir_ / "bad.h5";
  io::write_innmf_model(bad, record);
  try {
    io::read_innmf_model(bad);
    FAIL() << "a model with decreasing training frequencies was read";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("training_freqs"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.h5"), std::string::npos) << e.what();
  }
}

TEST_F(SeparationTemplateSampling, NonFiniteWeightsAreRefusedNamingTheDataset) {
  // A NaN weight made every template NaN, and separate then blamed classic NMF's fit ("the loss
  // is NaN at the start (--beta 1)"), naming neither the file nor the problem.
  const auto record = io::read_innmf_model(model_);
  ASSERT_FALSE(record.template_params.empty());
  ASSERT_FALSE(record.activation_params.empty());
  for (const bool in_templates : {true, false}) {
    auto corrupt = record;
    auto& params = in_templates ? corrupt.template_params : corrupt.activation_params;
    params[params.size() / 2] = in_templates ? std::nanf("") : std::numeric_limits<float>::infinity();
    const auto path = dir_ / (in_templates ? "nan_templates.h5" : "inf_activations.h5");
    io::write_innmf_model(path, corrupt);
    try {
      sep::SourceModel::load(path);
      FAIL() << "a model with a non-finite weight was loaded";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(in_templates ? "/templates/params" : "/activations/params"),
                std::string::npos)
          << e.what();
    }
  }
}
