// BSS Eval and SI-SDR (sep/bss_eval.hpp) against answers we can reason about: the FFT/Gram
// path equals the definition (explicit delayed-reference matrix, QR least squares), a perfect
// estimate scores far above 100 dB, white noise at a known SNR gives SDR ≈ SAR ≈ that SNR,
// 10 % leakage of another source gives SIR ≈ 20 dB, swapped estimates are matched back, SI-SDR
// ignores the estimate's scale, and bad input is refused with the file named.
// (Agreement with mir_eval itself is tests/cli/check_eval_mir_eval.py.)

#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "innmf/core/error.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/sep/bss_eval.hpp"
#include "innmf/sep/bss_eval_reference.hpp"

using namespace innmf;
using Signals = std::vector<std::vector<float>>;

namespace {

std::vector<float> white(long n, unsigned seed, double deviation = 0.3) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, deviation);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (auto& v : x) v = static_cast<float>(normal(rng));
  return x;
}

/// Noise coloured by a two-pole resonance at `frequency` (a fraction of the sample rate) plus
/// a little white noise: broadband but not flat, like a source in a recording.
std::vector<float> coloured(long n, unsigned seed, double frequency) {
  const auto e = white(n, seed);
  const double r = 0.95, c = 2 * r * std::cos(2 * M_PI * frequency);
  std::vector<float> x(e.size());
  double y1 = 0, y2 = 0;
  for (std::size_t t = 0; t < e.size(); ++t) {
    const double y = e[t] + c * y1 - r * r * y2;
    y2 = y1;
    y1 = y;
    x[t] = static_cast<float>(0.1 * y + 0.05 * e[t]);
  }
  return x;
}

double energy(const std::vector<float>& x) {
  double sum = 0;
  for (float v : x) sum += double(v) * v;
  return sum;
}

/// a + gain · b, sample by sample.
std::vector<float> plus(const std::vector<float>& a, const std::vector<float>& b, double gain = 1.0) {
  std::vector<float> x(a.size());
  for (std::size_t t = 0; t < a.size(); ++t) x[t] = static_cast<float>(a[t] + gain * b[t]);
  return x;
}

/// `x` through the FIR filter h (causal, same length as x).
std::vector<float> filtered(const std::vector<float>& x, const std::vector<double>& h) {
  std::vector<float> y(x.size());
  for (std::size_t t = 0; t < x.size(); ++t) {
    double sum = 0;
    for (std::size_t k = 0; k < h.size() && k <= t; ++k) sum += h[k] * x[t - k];
    y[t] = static_cast<float>(sum);
  }
  return y;
}

std::vector<std::string> names(const char* stem, std::size_t count) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < count; ++i) out.push_back(stem + std::to_string(i) + ".wav");
  return out;
}

void expect_matrices_near(const Eigen::MatrixXd& fast, const Eigen::MatrixXd& naive, double tolerance,
                          const char* what) {
  ASSERT_EQ(fast.rows(), naive.rows());
  ASSERT_EQ(fast.cols(), naive.cols());
  for (Eigen::Index e = 0; e < fast.rows(); ++e)
    for (Eigen::Index r = 0; r < fast.cols(); ++r)
      EXPECT_NEAR(fast(e, r), naive(e, r), tolerance) << what << " of estimate " << e << " vs reference " << r;
}

}  // namespace

TEST(BssEval, BlockwisePathEqualsTheDefinition) {
  // Three coloured sources; estimates mix them, filter one, add noise. Taps 64 and 256 keep
  // the explicit (n + taps − 1) × (3 · taps) matrix of the reference small. The blocks: the
  // default (one block here), blocks longer and shorter than the filters, and a length that
  // does not divide the signal, so that seams fall inside a filter's reach on both sides.
  for (const int taps : {64, 256}) {
    const long n = taps == 64 ? 3000 : 900;
    const Signals refs = {coloured(n, 1, 0.05), coloured(n, 2, 0.2), coloured(n, 3, 0.35)};
    const Signals ests = {plus(plus(refs[0], refs[1], 0.2), white(n, 4, 0.02)),
                          plus(filtered(refs[1], {0.6, 0.3, -0.2, 0.1}), refs[2], 0.3),
                          plus(refs[2], white(n, 5, 0.1))};
    const auto naive = sep::reference::bss_eval_pairs_naive(refs, ests, taps);
    // The criteria differ between pairs: the comparisons below are not of constants.
    EXPECT_GT(naive.sdr.maxCoeff() - naive.sdr.minCoeff(), 10.0);
    for (const long block : {0L, 1000L, 333L, 37L}) {
      SCOPED_TRACE("taps " + std::to_string(taps) + ", blocks of " + std::to_string(block) + " samples");
      const auto fast = sep::bss_eval_pairs(refs, ests, taps, block);
      expect_matrices_near(fast.sdr, naive.sdr, 1e-6, "SDR");
      expect_matrices_near(fast.sir, naive.sir, 1e-6, "SIR");
      expect_matrices_near(fast.sar, naive.sar, 1e-6, "SAR");
    }
  }
}

TEST(BssEval, LongSignalsScoreTheSameOnOneThreadAndOnSeveral) {
  // 300,000 samples: five blocks of the default length, shared out over the threads.
  const long n = 300000;
  const Signals refs = {coloured(n, 1, 0.05), coloured(n, 2, 0.2)};
  const Signals ests = {plus(refs[0], refs[1], 0.3), plus(filtered(refs[1], {0.6, 0.3, -0.2}), white(n, 4, 0.02))};
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = sep::bss_eval_pairs(refs, ests);
  omp_set_num_threads(std::max(3, threads));
  const auto several = sep::bss_eval_pairs(refs, ests);
  omp_set_num_threads(threads);
  // The blocks' sums are added in one order on any number of threads: the same bits.
  EXPECT_EQ(several.sdr, one.sdr);
  EXPECT_EQ(several.sir, one.sir);
  EXPECT_EQ(several.sar, one.sar);
  EXPECT_GT(one.sdr.maxCoeff() - one.sdr.minCoeff(), 10.0);
  // And the blocks agree with one transform of the whole (a block longer than the signal).
  const auto whole = sep::bss_eval_pairs(refs, ests, sep::kDistortionFilterTaps, n + 1);
  expect_matrices_near(whole.sdr, one.sdr, 1e-9, "SDR");
  expect_matrices_near(whole.sir, one.sir, 1e-9, "SIR");
  expect_matrices_near(whole.sar, one.sar, 1e-9, "SAR");
}

TEST(BssEval, PerfectEstimatesScoreAbove100Db) {
  const long n = 8000;
  const Signals refs = {coloured(n, 11, 0.1), coloured(n, 12, 0.3)};
  const auto s = sep::score_separation(refs, refs, names("ref", 2));
  ASSERT_EQ(s.sdr.size(), 2u);
  EXPECT_EQ(s.permutation, (std::vector<int>{0, 1}));
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_GT(s.sdr[i], 100.0) << i;  // +inf allowed (an exactly zero error)
    EXPECT_GT(s.sir[i], 100.0) << i;
    EXPECT_GT(s.sar[i], 100.0) << i;
    EXPECT_GT(s.si_sdr[i], 100.0) << i;
    EXPECT_FALSE(std::isnan(s.sdr[i]));
  }
}

TEST(BssEval, WhiteNoiseAtKnownSnrGivesThatSdrAndSar) {
  // est_i = ref_i + noise_i scaled so that ‖ref_i‖² / ‖noise_i‖² is exactly 10 dB. The
  // projection onto the 2 · 512 delayed references takes only ~1024 / n of the noise's energy
  // (0.11 dB at n = 40 000), so SDR ≈ SAR ≈ 10 dB; the noise is not another source, so SIR is
  // large.
  const long n = 40000;  // 5 s at 8 kHz
  const double snr_db = 10.0;
  const Signals refs = {coloured(n, 21, 0.07), coloured(n, 22, 0.23)};
  Signals ests;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    const auto noise = white(n, 23 + static_cast<unsigned>(i));
    const double gain = std::sqrt(energy(refs[i]) / energy(noise) / std::pow(10.0, snr_db / 10));
    ests.push_back(plus(refs[i], noise, gain));
  }
  Stopwatch watch;
  const auto s = sep::score_separation(refs, ests, names("ref", 2));
  const double seconds = watch.seconds();
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(s.sdr[i], snr_db, 0.3) << i;
    EXPECT_NEAR(s.sar[i], snr_db, 0.3) << i;
    EXPECT_GT(s.sir[i], 25.0) << i;
    EXPECT_NEAR(s.si_sdr[i], snr_db, 0.1) << i;  // white noise is nearly orthogonal to ref_i
  }
  EXPECT_NEAR(s.mean_sdr(), snr_db, 0.3);
  std::printf("[          ] 2 sources × 5 s at 8 kHz scored in %.3f s\n", seconds);
}

TEST(BssEval, TenPercentLeakageGivesSir20Db) {
  // est_a = ref_a + 0.1 · ref_b with ‖ref_a‖ = ‖ref_b‖: the interference carries 1 % of the
  // target's energy (20 dB), less the sliver of ref_b that delayed copies of ref_a explain.
  // Nothing else is in the estimate, so SAR is very high and SDR ≈ SIR.
  const long n = 16000;
  const auto a = coloured(n, 31, 0.1);
  auto b = white(n, 32);
  const double match = std::sqrt(energy(a) / energy(b));
  for (auto& v : b) v = static_cast<float>(v * match);
  const Signals refs = {a, b};
  const Signals ests = {plus(a, b, 0.1), plus(b, a, 0.1)};
  const auto s = sep::score_separation(refs, ests, names("ref", 2));
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(s.sir[i], 20.0, 0.2) << i;
    EXPECT_NEAR(s.sdr[i], 20.0, 0.2) << i;
    EXPECT_GT(s.sar[i], 60.0) << i;
  }
}

TEST(BssEval, SwappedEstimatesAreMatchedBack) {
  const long n = 8000;
  const Signals refs = {coloured(n, 41, 0.05), coloured(n, 42, 0.2), coloured(n, 43, 0.4)};
  const Signals in_order = {plus(refs[0], white(n, 44, 0.05)), plus(refs[1], refs[0], 0.3),
                            plus(refs[2], white(n, 45, 0.02))};
  // Estimate k of the shuffled list is in_order[order[k]]; reference i's estimate sits where
  // order holds i.
  const std::vector<int> order = {2, 0, 1};
  Signals shuffled;
  for (int k : order) shuffled.push_back(in_order[static_cast<std::size_t>(k)]);
  const auto straight = sep::score_separation(refs, in_order, names("ref", 3));
  const auto swapped = sep::score_separation(refs, shuffled, names("ref", 3));
  EXPECT_EQ(straight.permutation, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(swapped.permutation, (std::vector<int>{1, 2, 0}));
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(swapped.sdr[i], straight.sdr[i], 1e-9) << i;
    EXPECT_NEAR(swapped.sir[i], straight.sir[i], 1e-9) << i;
    EXPECT_NEAR(swapped.sar[i], straight.sar[i], 1e-9) << i;
    EXPECT_NEAR(swapped.si_sdr[i], straight.si_sdr[i], 1e-9) << i;
  }
}

TEST(BssEval, BestPermutationIsTheFirstWithLargestMeanSir) {
  // sir(e, r): the identity scores (1 + 2) / 2, the swap (20 + 10) / 2.
  Eigen::MatrixXd sir(2, 2);
  sir << 1, 10,  //
      20, 2;
  EXPECT_EQ(sep::best_permutation(sir), (std::vector<int>{1, 0}));
  // A tie keeps the earlier permutation in lexicographic order (numpy.argmax).
  sir << 5, 5,  //
      5, 5;
  EXPECT_EQ(sep::best_permutation(sir), (std::vector<int>{0, 1}));
  Eigen::MatrixXd three = Eigen::MatrixXd::Zero(3, 3);
  three(2, 0) = three(0, 1) = three(1, 2) = 30;  // estimate 2 ↔ reference 0, 0 ↔ 1, 1 ↔ 2
  EXPECT_EQ(sep::best_permutation(three), (std::vector<int>{2, 0, 1}));
  // +inf wins over any finite mean.
  sir << 50, 50,  //
      std::numeric_limits<double>::infinity(), 1;
  EXPECT_EQ(sep::best_permutation(sir), (std::vector<int>{1, 0}));
}

TEST(SiSdr, HandComputedCase) {
  // ref (1, 0, 0, 0), est (2, 1, 0, 0): α = 2, target (2, 0, 0, 0), noise (0, 1, 0, 0),
  // SI-SDR = 10 log10(4 / 1) = 6.0206 dB.
  EXPECT_NEAR(sep::si_sdr({1, 0, 0, 0}, {2, 1, 0, 0}), 10 * std::log10(4.0), 1e-12);
  // An estimate orthogonal to the reference: target 0 → -inf.
  EXPECT_EQ(sep::si_sdr({1, 0}, {0, 1}), -std::numeric_limits<double>::infinity());
}

TEST(SiSdr, ScaleOfTheEstimateDoesNotMatter) {
  const long n = 8000;
  const auto ref = coloured(n, 51, 0.15);
  const auto est = plus(ref, white(n, 52, 0.1));
  const double base = sep::si_sdr(ref, est);
  EXPECT_TRUE(std::isfinite(base));  // a real error, not a perfect estimate
  EXPECT_LT(base, 40.0);
  for (const double scale : {0.5, 2.0, -1.0}) {  // exact in float
    std::vector<float> scaled(est.size());
    for (std::size_t t = 0; t < est.size(); ++t) scaled[t] = static_cast<float>(scale * est[t]);
    EXPECT_NEAR(sep::si_sdr(ref, scaled), base, 1e-9) << scale;
  }
  std::vector<float> scaled(est.size());
  for (std::size_t t = 0; t < est.size(); ++t) scaled[t] = static_cast<float>(0.3 * est[t]);
  EXPECT_NEAR(sep::si_sdr(ref, scaled), base, 1e-4);  // float rounding of 0.3 · est only
  // …whereas a plain SNR would change by 20 log10(0.3) ≈ -10.5 dB, and scoring through
  // score_separation gives the same SI-SDR.
  const auto s = sep::score_separation({ref}, {scaled}, {"ref.wav"});
  EXPECT_NEAR(s.si_sdr[0], base, 1e-4);
}

TEST(BssEval, SilentReferenceIsRefusedNamingIt) {
  const long n = 2000;
  const Signals refs = {coloured(n, 61, 0.1), std::vector<float>(n, 0.0f)};
  const Signals ests = {coloured(n, 62, 0.1), coloured(n, 63, 0.2)};
  try {
    sep::score_separation(refs, ests, {"drums.wav", "silence.wav"});
    FAIL() << "a silent reference was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("silence.wav"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("silent"), std::string::npos) << e.what();
  }
}

TEST(BssEval, SilentEstimateIsRefusedNamingIt) {
  const long n = 2000;
  const Signals refs = {coloured(n, 64, 0.1), coloured(n, 65, 0.2)};
  const Signals ests = {coloured(n, 66, 0.1), std::vector<float>(n, 0.0f)};
  try {
    sep::score_separation(refs, ests, {"a.wav", "b.wav"}, {"x.wav", "y.wav"});
    FAIL() << "a silent estimate was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("y.wav"), std::string::npos) << e.what();
  }
  // Without estimate names the estimate is named by its position.
  try {
    sep::score_separation(refs, ests, {"a.wav", "b.wav"});
    FAIL() << "a silent estimate was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("estimate 2"), std::string::npos) << e.what();
  }
}

TEST(BssEval, CountAndLengthMismatchesAreUsageErrors) {
  const Signals two = {coloured(1000, 71, 0.1), coloured(1000, 72, 0.2)};
  const Signals one = {coloured(1000, 73, 0.1)};
  EXPECT_THROW(sep::score_separation(two, one, {"a.wav", "b.wav"}), UsageError);
  EXPECT_THROW(sep::score_separation({}, {}, {}), UsageError);
  const Signals shorter = {coloured(1000, 74, 0.1), coloured(999, 75, 0.2)};
  try {
    sep::score_separation(two, shorter, {"a.wav", "b.wav"}, {"x.wav", "y.wav"});
    FAIL() << "estimates of another length were accepted";
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("y.wav has 999 samples"), std::string::npos) << message;
    EXPECT_NE(message.find("a.wav has 1000"), std::string::npos) << message;
  }
}

TEST(BssEval, JsonHasMeansPerSourceListsAndPermutation) {
  sep::SeparationScores s;
  s.sdr = {10, 20};
  s.sir = {30, std::numeric_limits<double>::infinity()};
  s.sar = {1, 3};
  s.si_sdr = {9, 19};
  s.permutation = {1, 0};
  const auto j = sep::to_json(s);
  EXPECT_DOUBLE_EQ(j.at("sdr").get<double>(), 15.0);
  EXPECT_DOUBLE_EQ(j.at("sar").get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j.at("si_sdr").get<double>(), 14.0);
  EXPECT_EQ(j.at("per_source").at("sdr").get<std::vector<double>>(), s.sdr);
  EXPECT_EQ(j.at("permutation").get<std::vector<int>>(), s.permutation);
  // JSON has no infinity: the infinite SIR and the mean it makes are written as null.
  const std::string text = j.dump();
  EXPECT_NE(text.find("\"sir\":null"), std::string::npos) << text;
  EXPECT_NE(text.find("[30.0,null]"), std::string::npos) << text;
}
