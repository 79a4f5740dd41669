// The frequency-domain filterbank engine (tf::Nsgt) against a naive DFT, the CQT on it against
// the formulas of its header, and the Morlet wavelet transform (tf::Wavelet, wavelet_points).

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <random>

#include "innmf/audio/audio_io.hpp"
#include "innmf/core/error.hpp"
#include "innmf/tf/cqt.hpp"
#include "innmf/tf/nsgt.hpp"
#include "innmf/tf/point_set.hpp"
#include "innmf/tf/wavelet.hpp"
#include "test_util.hpp"

using namespace innmf;
using innmf::testing::snr_db;

namespace {

using cdouble = std::complex<double>;

std::vector<float> cosine(double frequency, double rate, long n, double amplitude) {
  std::vector<float> x(static_cast<std::size_t>(n));
  for (long i = 0; i < n; ++i) x[i] = static_cast<float>(amplitude * std::cos(2 * M_PI * frequency * i / rate));
  return x;
}

std::vector<float> noise(long n, unsigned seed, float sigma = 0.3f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, sigma);
  std::vector<float> x(static_cast<std::size_t>(n));
  for (auto& v : x) v = normal(rng);
  return x;
}

/// Naive DFT bins 0..N/2 of x, double precision: X[j] = Σ_t x[t] e^(−2πi·j·t/N).
std::vector<cdouble> naive_rfft(const std::vector<float>& x) {
  const long n = static_cast<long>(x.size());
  std::vector<cdouble> X(static_cast<std::size_t>(n / 2 + 1));
  for (long j = 0; j <= n / 2; ++j)
    for (long t = 0; t < n; ++t) X[j] += double(x[t]) * std::polar(1.0, -2 * M_PI * double((j * t) % n) / n);
  return X;
}

/// The band formula of nsgt.hpp, naively: c(m) = (1/N) Σ_n g[n] X[a+n] e^(+2πi·n·m/M).
std::vector<cdouble> naive_band(const std::vector<cdouble>& X, long n_samples, long first,
                                const std::vector<double>& g, long m_count) {
  std::vector<cdouble> c(static_cast<std::size_t>(m_count));
  for (long m = 0; m < m_count; ++m)
    for (std::size_t n = 0; n < g.size(); ++n)
      c[m] += g[n] * X[first + n] * std::polar(1.0, 2 * M_PI * double((long(n) * m) % m_count) / m_count);
  for (auto& v : c) v /= double(n_samples);
  return c;
}

/// Smallest 2^a·3^b·5^c·7^d ≥ n, as cqt.hpp specifies M_k.
long smooth(long n) {
  for (long m = std::max(n, 1L);; ++m) {
    long r = m;
    for (long p : {2L, 3L, 5L, 7L})
      while (r % p == 0) r /= p;
    if (r == 1) return m;
  }
}

/// Largest |a − b| over two bands, relative to the largest |b|.
double relative_error(const std::vector<std::complex<float>>& a, const std::vector<cdouble>& b) {
  double error = 0, scale = 1e-30;
  for (std::size_t i = 0; i < b.size(); ++i) {
    error = std::max(error, std::abs(cdouble(a[i]) - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return error / scale;
}

/// Mean |c| over the middle half of a band (away from the clip's circular wrap).
double middle_mean(const std::vector<std::complex<float>>& band) {
  const std::size_t lo = band.size() / 4, hi = std::max(lo + 1, 3 * band.size() / 4);
  double sum = 0;
  for (std::size_t i = lo; i < hi; ++i) sum += std::abs(band[i]);
  return sum / double(hi - lo);
}

template <typename Transform, typename Config>
std::string usage_message(const Config& config, double rate, long n) {
  try {
    Transform transform(config, rate, n);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// ---- the engine ----------------------------------------------------------------------------

TEST(Nsgt, MatchesANaiveDftAndInvertsExactly) {
  // 96 samples at 96 Hz (δ = 1 Hz, bins 0..48): a low-pass on bins 0..5, three bands with
  // hand-made windows (one with M > L), a high-pass on bins 30..48; every bin covered.
  const long n = 96;
  const double rate = 96;
  auto band = [&](double centre, long first, long last, double width, auto window) {
    return tf::sample_band(centre, first, last, width, rate, n, window);
  };
  auto hann = [](double centre, double width) {
    return [=](double nu) { return std::pow(std::cos(M_PI * (nu - centre) / width), 2); };
  };
  tf::NsgtBand low = band(0, -3, 5, 0, [](double nu) { return nu < 3 ? 1.0 : 0.5; });
  std::vector<tf::NsgtBand> bands;
  bands.push_back(band(6, 1, 11, 12, hann(6, 12)));     // L = 11, M = smooth(12) = 12
  bands.push_back(band(14, 5, 23, 19.5, hann(14, 20)));  // L = 19, M = smooth(20) = 20
  bands.push_back(band(26, 17, 35, 0, hann(26, 20)));   // L = 19, M = smooth(19) = 20
  tf::NsgtBand high = band(48, 30, 60, 0, [](double) { return 0.75; });  // clipped to 30..48
  EXPECT_EQ(low.first, 0);
  EXPECT_EQ(low.g.size(), 6u);
  EXPECT_EQ(bands[0].n_coeffs, 12);
  EXPECT_EQ(bands[1].n_coeffs, 20);
  EXPECT_EQ(bands[2].n_coeffs, 20);
  EXPECT_EQ(high.g.size(), 19u);
  EXPECT_EQ(high.n_coeffs, 20);
  std::vector<std::vector<double>> windows;  // the sampled windows in double, for the reference
  std::vector<long> firsts, counts;
  for (const auto* b : {&low, &bands[0], &bands[1], &bands[2], &high}) {
    windows.emplace_back(b->g.begin(), b->g.end());
    firsts.push_back(b->first);
    counts.push_back(b->n_coeffs);
  }
  const tf::Nsgt nsgt(rate, n, low, bands, high, "test NSGT");
  ASSERT_EQ(nsgt.n_bands(), 3);
  EXPECT_EQ(nsgt.n_points(), 12u + 20 + 20);
  EXPECT_DOUBLE_EQ(nsgt.hop_seconds(0), 96.0 / 12 / 96);
  EXPECT_DOUBLE_EQ(nsgt.centre(1), 14);

  const auto x = noise(n, 11, 1.0f);
  const auto c = nsgt.analyze(x.data());
  ASSERT_EQ(c.size(), 5u);
  const auto X = naive_rfft(x);
  for (std::size_t b = 0; b < c.size(); ++b) {
    ASSERT_EQ(static_cast<long>(c[b].size()), counts[b]);
    EXPECT_LT(relative_error(c[b], naive_band(X, n, firsts[b], windows[b], counts[b])), 1e-5) << "band " << b;
  }
  EXPECT_GT(snr_db(x, nsgt.synthesize(c)), 100);
  // A band left out is a broken builder, not bad input.
  auto broken = bands;
  broken.erase(broken.begin() + 1);
  EXPECT_THROW(tf::Nsgt(rate, n, low, broken, high, "gappy"), Error);
}

// ---- the CQT on the engine: still the transform its header documents ----------------------

TEST(Nsgt, CqtMatchesItsFormulasComputedNaively) {
  // The pre-engine CQT, restated from cqt.hpp in double precision with a naive DFT: Hann bands
  // cos²(π(ν−f_k)/Ω_k) on the open support, M_k = smooth(ceil(Ω_k/δ)), the low-pass band 1 up to
  // f_0 − Ω_0/2 then cos² to 0 at f_0, the high-pass band sin² from f_{K-1} to f_{K-1} + Ω/2.
  const double rate = 8000;
  const long n = 3001;  // odd on purpose; ≥ min_samples (0.173 s = 1384 samples)
  const tf::CqtConfig config{100, 3000, 12};
  const tf::Cqt cqt(config, rate, n);
  const auto& bins = cqt.bins();
  const double delta = rate / n;
  const long half = n / 2;
  const auto x = noise(n, 5);
  const auto c = cqt.analyze(x.data());
  const auto X = naive_rfft(x);
  const int K = cqt.n_bins();
  ASSERT_EQ(static_cast<int>(c.bands.size()), K + 2);
  double worst = 0;
  for (int k = 0; k < K; ++k) {
    const double fk = bins.freqs[k], width = bins.bandwidths[k];
    const long first = std::max(0L, static_cast<long>(std::floor((fk - width / 2) / delta)) + 1);
    const long last = std::min(half, static_cast<long>(std::ceil((fk + width / 2) / delta)) - 1);
    std::vector<double> g;
    for (long j = first; j <= last; ++j) g.push_back(std::pow(std::cos(M_PI * (j * delta - fk) / width), 2));
    const long m = smooth(std::max(static_cast<long>(std::ceil(width / delta - 1e-9)), static_cast<long>(g.size())));
    ASSERT_EQ(cqt.n_coefficients(k), m) << k;
    worst = std::max(worst, relative_error(c.bands[k + 1], naive_band(X, n, first, g, m)));
  }
  EXPECT_LT(worst, 2e-5);
  const double f0 = bins.freqs[0], edge = f0 - bins.bandwidths[0] / 2;
  std::vector<double> g_low;
  for (long j = 0; j * delta < f0; ++j)
    g_low.push_back(j * delta <= edge ? 1.0 : std::pow(std::cos(M_PI / 2 * (j * delta - edge) / (f0 - edge)), 2));
  EXPECT_LT(relative_error(c.bands[0], naive_band(X, n, 0, g_low, smooth(static_cast<long>(g_low.size())))), 2e-5);
  const double top = bins.freqs.back(), top_edge = top + bins.bandwidths.back() / 2;
  const long top_first = static_cast<long>(std::floor(top / delta)) + 1;
  std::vector<double> g_high;
  for (long j = top_first; j <= half; ++j)
    g_high.push_back(j * delta >= top_edge ? 1.0 : std::pow(std::sin(M_PI / 2 * (j * delta - top) / (top_edge - top)), 2));
  EXPECT_LT(relative_error(c.bands[K + 1], naive_band(X, n, top_first, g_high, smooth(static_cast<long>(g_high.size())))),
            2e-5);
}

// ---- the Morlet wavelet transform --------------------------------------------------------

TEST(Wavelet, ScalesFollowTheOptions) {
  // 16 kHz, fmin 32.7, default fmax = Nyquist/2 = 4 kHz, 12 scales per octave:
  // log2(4000/32.7) = 6.934 octaves → 1 + floor(83.2) = 84 scales.
  const tf::WaveletScales scales({32.7, 0, 12, 6}, 16000);
  EXPECT_DOUBLE_EQ(scales.fmax, 4000);
  ASSERT_EQ(scales.n_scales(), 84);
  EXPECT_NEAR(scales.freqs[12], 65.4, 1e-9);
  EXPECT_LE(scales.freqs.back(), 4000);
  EXPECT_GT(scales.freqs.back() * std::exp2(1.0 / 12), 4000);
  for (int k = 0; k < scales.n_scales(); ++k) EXPECT_NEAR(scales.sigmas[k], scales.freqs[k] / 6, 1e-12);
  // Cut at 1e-4: c = sqrt(2 ln 1e4) = 4.2919 standard deviations.
  EXPECT_NEAR(tf::WaveletScales::cutoff_sigmas(), 4.2919, 1e-4);
  // Longest wavelet: 2c·τ_0 = c·ω0/(π f_0) = 4.2919 · 6 / (π · 32.7) = 0.25067 s = 4011 samples.
  EXPECT_NEAR(scales.duration_seconds(0), 0.25067, 1e-5);
  EXPECT_EQ(scales.min_samples(), 4011);
  // Smallest nominal hop: 1/(2c σ_83), σ_83 = f_83/6.
  EXPECT_NEAR(scales.min_hop_seconds(), 6 / (2 * 4.2919 * scales.freqs.back()), 1e-6);
  // The middle scale's (42, f = 32.7·2^(42/12) ≈ 370 Hz): the default knot spacing, 1.9 ms.
  EXPECT_NEAR(scales.median_hop_seconds(), 6 / (2 * 4.2919 * 32.7 * std::exp2(42.0 / 12)), 1e-6);
}

TEST(Wavelet, ToneOnAScaleAndABinHasMagnitudeHalfItsAmplitude) {
  // f_12 = 220 Hz on an exact FFT bin (N = 4 s at 16 kHz → δ = 0.25 Hz; fmin 110, 12/oct).
  const double rate = 16000, amplitude = 0.5;
  const tf::Wavelet wavelet({110, 2000, 12, 6}, rate, 4 * 16000);
  const auto x = cosine(220, rate, wavelet.n_samples(), amplitude);
  const auto points = tf::wavelet_points(wavelet, x.data());
  float peak = 0, low = 1e9f;
  for (std::size_t i = 0; i < points.size(); ++i)
    if (points.f[i] == static_cast<float>(wavelet.scales().freqs[12])) {
      peak = std::max(peak, points.m[i]);
      low = std::min(low, points.m[i]);
    }
  EXPECT_NEAR(peak, amplitude / 2, 1e-3);
  EXPECT_NEAR(low, amplitude / 2, 1e-3);  // steady: the same magnitude at every time
}

TEST(Wavelet, TonesPeakAtTheNearestScaleWithMagnitudeHalfTheAmplitude) {
  // Tones on a scale and 0.3 of a scale step off it, across the range, at an odd clip length
  // (so no tone is on an FFT bin): the nearest scale on the log axis holds the largest mean
  // magnitude, ≈ A/2 · g_k(f), g_k(f) = exp(−(f − f_k)²/(2σ_k²)).
  const double rate = 16000, amplitude = 0.8;
  const tf::WaveletConfig config{32.7, 0, 12, 6};
  const tf::Wavelet wavelet(config, rate, 2 * 16000 + 7);
  const auto& scales = wavelet.scales();
  for (const int k : {6, 30, 55, 80})
    for (const double offset : {0.0, 0.3, -0.3}) {
      const double f = scales.freqs[k] * std::exp2(offset / 12);
      const auto x = cosine(f, rate, wavelet.n_samples(), amplitude);
      const auto c = wavelet.analyze(x.data());
      int best = -1;
      double best_mean = -1;
      for (int s = 0; s < wavelet.n_scales(); ++s) {
        const double mean = middle_mean(c.bands[s + 1]);
        if (mean > best_mean) best_mean = mean, best = s;
      }
      EXPECT_EQ(best, k) << "f = " << f;
      const double g = std::exp(-0.5 * std::pow((f - scales.freqs[k]) / scales.sigmas[k], 2));
      EXPECT_NEAR(best_mean, amplitude / 2 * g, 0.02 * amplitude / 2) << "f = " << f;
      RecordProperty("peak_error_percent_" + std::to_string(k) + "_" + std::to_string(offset),
                     std::to_string(100 * (best_mean / (amplitude / 2 * g) - 1)));
    }
}

TEST(Wavelet, ClickPeaksAtTheNearestCoefficient) {
  // A unit impulse at n0: |c_k(m)| is a Gaussian in m centred on t0/hop_k (σ = (c/π) ≈ 1.4
  // coefficients), so its largest value is at the coefficient nearest t0.
  const double rate = 16000;
  const tf::Wavelet wavelet({32.7, 0, 12, 6}, rate, 16000);
  for (const long n0 : {6000L, 9001L}) {
    std::vector<float> x(16000, 0.0f);
    x[n0] = 1.0f;
    const auto c = wavelet.analyze(x.data());
    const double t0 = n0 / rate;
    for (int k = 0; k < wavelet.n_scales(); ++k) {
      const auto& band = c.bands[k + 1];
      const auto peak = std::max_element(band.begin(), band.end(),
                                         [](auto a, auto b) { return std::abs(a) < std::abs(b); }) - band.begin();
      // The nearest coefficient, or either of two equally near ones (t0/hop_k = 187.5).
      EXPECT_LE(std::abs(static_cast<double>(peak) - t0 / wavelet.hop_seconds(k)), 0.5 + 1e-6)
          << "scale " << k << ", n0 = " << n0;
    }
  }
}

TEST(Wavelet, PointTimesAreMultiplesOfEachScalesHop) {
  const double rate = 16000;
  const tf::Wavelet wavelet({32.7, 0, 12, 6}, rate, 40000);
  const auto x = noise(40000, 9);
  const auto points = tf::wavelet_points(wavelet, x.data());
  ASSERT_EQ(points.size(), wavelet.n_points());
  ASSERT_FALSE(points.is_grid());
  std::size_t i = 0;
  double previous_hop = 1e9;
  for (int k = 0; k < wavelet.n_scales(); ++k) {
    const double hop = wavelet.hop_seconds(k);
    EXPECT_LE(hop, previous_hop) << k;  // higher scales: shorter wavelets, shorter hops
    previous_hop = hop;
    // hop ≤ 1/support, close to it: proportional to the wavelet's duration (hop ≈ 0.73 τ_k).
    const double support = wavelet.scales().support_hz(k);
    EXPECT_LE(hop * support, 1.0 + 1e-12) << k;
    EXPECT_GT(hop * support, 0.85) << k;
    for (long m = 0; m < wavelet.n_coefficients(k); ++m, ++i) {
      ASSERT_FLOAT_EQ(points.f[i], static_cast<float>(wavelet.scales().freqs[k]));
      ASSERT_NEAR(points.t[i], m * hop, 1e-6);
      ASSERT_LT(points.t[i], 40000 / rate);
      ASSERT_GE(points.m[i], 0.0f);
    }
  }
  EXPECT_EQ(i, points.size());
  EXPECT_LT(wavelet.hop_seconds(wavelet.n_scales() - 1) * 50, wavelet.hop_seconds(0));
  RecordProperty("points_per_sample", std::to_string(double(wavelet.n_points()) / 40000));
}

TEST(Wavelet, NoiseRoundTripIsExact) {
  for (long n : {16000L * 2, 16000L * 2 + 1, 33331L}) {  // even, odd, prime lengths
    const tf::Wavelet wavelet({32.7, 0, 12, 6}, 16000, n);
    const auto x = noise(n, 7);
    const auto y = wavelet.synthesize(wavelet.analyze(x.data()));
    ASSERT_EQ(y.size(), x.size());
    const double snr = snr_db(x, y);
    EXPECT_GT(snr, 60) << "n = " << n;
    RecordProperty("snr_db_" + std::to_string(n), std::to_string(snr));
  }
}

TEST(Wavelet, RoundTripAtTheEdgesOfTheOptions) {
  // fmax at Nyquist (empty high-pass band), one scale per octave, ω0 at both of its limits.
  for (const tf::WaveletConfig config :
       {tf::WaveletConfig{100, 8000, 1, 6}, tf::WaveletConfig{62.5, 8000, 7, 6}, tf::WaveletConfig{50, 0, 1, 9},
        tf::WaveletConfig{40, 0, 4, 3}, tf::WaveletConfig{200, 7000, 24, 20}}) {
    const tf::Wavelet wavelet(config, 16000, 20000);
    const auto x = noise(20000, 3, 1.0f);
    const double snr = snr_db(x, wavelet.synthesize(wavelet.analyze(x.data())));
    EXPECT_GT(snr, 60) << config.scales_per_octave << " " << config.omega0;
    RecordProperty("snr_db_S" + std::to_string(config.scales_per_octave) + "_w" +
                       std::to_string(static_cast<int>(config.omega0)),
                   std::to_string(snr));
  }
}

TEST(Wavelet, SpeechRoundTripAbove60Db) {
  const auto audio = audio::read_audio(INNMF_DATA_DIR "/speech/es_test.wav");
  ASSERT_GT(audio.samples.size(), 16000u);
  const long n = static_cast<long>(audio.samples.size());
  for (const tf::WaveletConfig config : {tf::WaveletConfig{}, tf::WaveletConfig{32.7, audio.sample_rate / 2, 12, 6}}) {
    const tf::Wavelet wavelet(config, audio.sample_rate, n);
    const auto y = wavelet.synthesize(wavelet.analyze(audio.samples.data()));
    const double snr = snr_db(audio.samples, y);
    EXPECT_GT(snr, 60) << "fmax " << config.fmax;
    RecordProperty(config.fmax > 0 ? "snr_db_fmax_nyquist" : "snr_db", std::to_string(snr));
  }
}

TEST(Wavelet, BadOptionsAreUsageErrors) {
  auto message = [](const tf::WaveletConfig& config, double rate, long n) {
    return usage_message<tf::Wavelet>(config, rate, n);
  };
  EXPECT_NE(message({32.7, 9000, 12, 6}, 16000, 32000).find("--fmax 9000 Hz is above Nyquist (8000 Hz)"),
            std::string::npos);
  EXPECT_NE(message({0, 0, 12, 6}, 16000, 32000).find("--fmin 0"), std::string::npos);
  EXPECT_NE(message({-5, 0, 12, 6}, 16000, 32000).find("--fmin -5"), std::string::npos);
  EXPECT_NE(message({32.7, -1, 12, 6}, 16000, 32000).find("--fmax -1"), std::string::npos);
  EXPECT_NE(message({32.7, 0, 0, 6}, 16000, 32000).find("--scales-per-octave 0"), std::string::npos);
  EXPECT_NE(message({5000, 0, 12, 6}, 16000, 32000).find("--fmin 5000 Hz is above"), std::string::npos);
  EXPECT_NE(message({32.7, 0, 12, 2}, 16000, 32000).find("--omega0 2"), std::string::npos);
  // One scale per octave: adjacent Gaussians cross at exp(−x²/2), x = ω0/3; ω0 ≤ 9.1.
  const auto gappy = message({32.7, 0, 1, 12}, 16000, 32000);
  EXPECT_NE(gappy.find("--omega0 12 is too large for --scales-per-octave 1"), std::string::npos) << gappy;
  EXPECT_NE(gappy.find("at most 9.1"), std::string::npos) << gappy;
  EXPECT_THROW(tf::validate(tf::WaveletConfig{32.7, 0, 12, std::nan("")}), UsageError);
  EXPECT_NO_THROW(tf::validate(tf::WaveletConfig{}));
  // 2000 samples (0.125 s) is shorter than scale 0's 0.251 s wavelet: the message says so.
  const auto short_message = message({32.7, 0, 12, 6}, 16000, 2000);
  EXPECT_NE(short_message.find("2000 samples (0.125 s)"), std::string::npos) << short_message;
  EXPECT_NE(short_message.find("4011 samples (0.251 s)"), std::string::npos) << short_message;
  EXPECT_NE(short_message.find("--fmin"), std::string::npos) << short_message;
  EXPECT_THROW(tf::Wavelet::require_fits(tf::WaveletScales({32.7, 0, 12, 6}, 16000), 4010, "x.wav"), UsageError);
  EXPECT_NO_THROW(tf::Wavelet::require_fits(tf::WaveletScales({32.7, 0, 12, 6}, 16000), 4011, "x.wav"));
  EXPECT_NO_THROW(tf::Wavelet({32.7, 0, 12, 6}, 16000, 4011));
}
