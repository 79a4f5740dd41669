#include "innmf/sep/bss_eval.hpp"

#include <fftw3.h>
#include <omp.h>

#include <Eigen/LU>
#include <Eigen/SVD>
#include <algorithm>
#include <cassert>
#include <cmath>
#include <complex>
#include <fmt/format.h>
#include <limits>
#include <mutex>
#include <numeric>
#include <optional>

#include "innmf/core/error.hpp"
#include "innmf/core/huge_pages.hpp"

namespace innmf::sep {
namespace {

using Spectrum = std::vector<std::complex<double>>;  // n/2+1 bins of a real signal of length n

/// FFTW's double-precision planner (plan creation and destruction) is not thread-safe.
std::mutex& fftw_double_planner_mutex() {
  static std::mutex mutex;
  return mutex;
}

/// Transform length [samples] from which RealFft's plans use every OpenMP thread: 2¹⁸, about
/// 6 s of 44.1 kHz audio.
constexpr long kThreadedFftLength = 1L << 18;

/// Real FFTs of one length n (double precision), planned once. The transforms run on the
/// plans' own aligned buffers, so one object serves one thread at a time.
class RealFft {
 public:
  explicit RealFft(long n)
      : n_(n),
        real_(static_cast<double*>(fftw_malloc(sizeof(double) * static_cast<std::size_t>(n)))),
        complex_(static_cast<fftw_complex*>(
            fftw_malloc(sizeof(fftw_complex) * static_cast<std::size_t>(n / 2 + 1)))) {
    if (!real_ || !complex_) {
      release();
      throw std::bad_alloc();
    }
    const int size = static_cast<int>(n);
    std::lock_guard<std::mutex> lock(fftw_double_planner_mutex());
    // Minutes of audio make transforms of 2²⁴ doubles, 25 of them for two sources: those run
    // on the OpenMP threads (FFTW's omp library). Short ones stay on one thread, where threads
    // would only add their start-up.
    static const bool threads_ready = fftw_init_threads() != 0;
    fftw_plan_with_nthreads(threads_ready && n >= kThreadedFftLength ? omp_get_max_threads() : 1);
    forward_ = fftw_plan_dft_r2c_1d(size, real_, complex_, FFTW_ESTIMATE);
    inverse_ = fftw_plan_dft_c2r_1d(size, complex_, real_, FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
    fftw_plan_with_nthreads(1);
    if (!forward_ || !inverse_) {
      release_plans();
      release();
      throw Error(ExitCode::failure, fmt::format("FFTW could not plan a size-{} FFT", n));
    }
  }
  ~RealFft() {
    {
      std::lock_guard<std::mutex> lock(fftw_double_planner_mutex());
      release_plans();
    }
    release();
  }
  RealFft(const RealFft&) = delete;
  RealFft& operator=(const RealFft&) = delete;

  /// Unnormalised spectrum of x[0..count) zero-padded to n (count <= n).
  template <typename T>
  Spectrum forward(const T* x, long count) {
    assert(count <= n_);
    std::fill(real_, real_ + n_, 0.0);
    std::copy(x, x + count, real_);
    fftw_execute(forward_);
    const auto* bins = reinterpret_cast<const std::complex<double>*>(complex_);
    auto spectrum = zeroed_vector_on_huge_pages<std::complex<double>>(static_cast<std::size_t>(n_ / 2 + 1));
    std::copy(bins, bins + n_ / 2 + 1, spectrum.begin());
    return spectrum;
  }

  /// forward() without the copy: the n/2+1 bins in the plan's own buffer, valid until the next
  /// transform (a fresh 2²⁴-point spectrum costs more in page faults than its FFT).
  template <typename T>
  const std::complex<double>* forward_in_place(const T* x, long count) {
    assert(count <= n_);
    std::fill(real_, real_ + n_, 0.0);
    std::copy(x, x + count, real_);
    fftw_execute(forward_);
    return reinterpret_cast<const std::complex<double>*>(complex_);
  }

  /// n times the circular cross-correlation of the signals whose spectra are `a` and `b`,
  /// r[k] = Σ_m a[m + k] · b[m], indices mod n (mir_eval: real(ifft(A · conj(B))) without the
  /// 1/n of ifft: multiply by scale()), in the plan's own buffer until the next transform.
  const double* correlate_in_place(const Spectrum& a, const Spectrum& b) {
    auto* bins = reinterpret_cast<std::complex<double>*>(complex_);
    for (std::size_t k = 0; k < a.size(); ++k) bins[k] = a[k] * std::conj(b[k]);
    fftw_execute(inverse_);
    return real_;
  }
  double scale() const { return 1.0 / static_cast<double>(n_); }

  /// The real signal (length n) whose forward() is `spectrum`: the inverse DFT, scaled by 1/n.
  std::vector<double> inverse(const Spectrum& spectrum) {
    std::copy(spectrum.begin(), spectrum.end(), reinterpret_cast<std::complex<double>*>(complex_));
    fftw_execute(inverse_);
    auto x = zeroed_vector_on_huge_pages<double>(static_cast<std::size_t>(n_));
    const double scale = 1.0 / static_cast<double>(n_);
    std::transform(real_, real_ + n_, x.begin(), [scale](double v) { return v * scale; });
    return x;
  }

 private:
  void release_plans() {
    if (forward_) fftw_destroy_plan(forward_);
    if (inverse_) fftw_destroy_plan(inverse_);
    forward_ = inverse_ = nullptr;
  }
  void release() {
    fftw_free(real_);
    fftw_free(complex_);
    real_ = nullptr;
    complex_ = nullptr;
  }

  long n_;
  double* real_;
  fftw_complex* complex_;
  fftw_plan forward_ = nullptr;
  fftw_plan inverse_ = nullptr;
};

/// The least-squares solver of one Gram system G c = d, factored once: LU with partial
/// pivoting, as numpy.linalg.solve (LAPACK gesv). Where gesv would stop at an exactly zero
/// pivot (LinAlgError), mir_eval falls back to numpy.linalg.lstsq(G, d) with its default
/// rcond (machine epsilon): the SVD's minimum-norm solution.
class GramSolver {
 public:
  explicit GramSolver(const Eigen::MatrixXd& gram) : lu_(gram) {
    if ((lu_.matrixLU().diagonal().array() == 0.0).any()) {
      svd_.emplace(gram, Eigen::ComputeThinU | Eigen::ComputeThinV);
      svd_->setThreshold(std::numeric_limits<double>::epsilon());
    }
  }
  Eigen::VectorXd solve(const Eigen::VectorXd& d) const {
    if (svd_) return svd_->solve(d);
    return lu_.solve(d);
  }

 private:
  Eigen::PartialPivLU<Eigen::MatrixXd> lu_;
  std::optional<Eigen::BDCSVD<Eigen::MatrixXd>> svd_;
};

/// 10 log10(num / den) [dB], +inf when den is 0 (mir_eval's `_safe_db`).
double safe_db(double num, double den) {
  if (den == 0) return std::numeric_limits<double>::infinity();
  return 10 * std::log10(num / den);
}

double mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? 0.0 : sum / static_cast<double>(values.size());
}

bool silent(const std::vector<float>& x) {
  return std::all_of(x.begin(), x.end(), [](float v) { return v == 0.0f; });
}

/// One length (that of `first_name`), at least the filters' taps, finite, not silent.
void check_signals(const std::vector<std::vector<float>>& signals, const std::vector<std::string>& names,
                   const char* role, const char* why_not_silent, std::size_t length, const std::string& first_name,
                   int filter_taps) {
  for (std::size_t i = 0; i < signals.size(); ++i) {
    const auto& x = signals[i];
    const auto& name = names[i];
    if (x.size() != length)
      throw UsageError(fmt::format(
          "{} has {} samples but {} has {}: BSS Eval (like mir_eval) needs references and "
          "estimates of one length; trim or pad them first",
          name, x.size(), first_name, length));
    if (x.empty()) throw InputError(fmt::format("{}: the {} has no samples", name, role));
    // Shorter than the distortion filters, the projections fit almost anything: SAR of 240 dB
    // on 10 samples of a 20-dB-SNR estimate.
    if (x.size() < static_cast<std::size_t>(filter_taps))
      throw InputError(fmt::format("{}: the {} has {} samples, fewer than BSS Eval's {}-tap distortion filters: "
                                   "the scores would mean nothing; score at least {} samples",
                                   name, role, x.size(), filter_taps, filter_taps));
    for (std::size_t k = 0; k < x.size(); ++k)
      if (!std::isfinite(x[k]))
        throw InputError(fmt::format("{}: sample {} of the {} is {}", name, k, role,
                                     std::isnan(x[k]) ? "NaN" : "infinite"));
    if (silent(x))
      throw InputError(fmt::format("{}: the {} is silent (every sample is 0): {}", name, role, why_not_silent));
  }
}

constexpr const char* kSilentReference =
    "SDR, SIR, SAR and SI-SDR are undefined against it (mir_eval refuses it too); leave this source out";

/// Inputs of score_separation: counts, lengths, finite and non-silent signals.
void validate(const std::vector<std::vector<float>>& references,
              const std::vector<std::vector<float>>& estimates,
              const std::vector<std::string>& reference_names,
              const std::vector<std::string>& estimate_names, int filter_taps) {
  assert(reference_names.size() == references.size());
  assert(estimate_names.size() == estimates.size());
  if (references.empty())
    throw UsageError("BSS Eval needs at least one reference and one estimate");
  if (references.size() != estimates.size())
    throw UsageError(fmt::format(
        "{} references but {} estimates: BSS Eval matches each reference with one estimate, "
        "give as many of each",
        references.size(), estimates.size()));
  const std::size_t length = references.front().size();
  check_signals(references, reference_names, "reference", kSilentReference, length, reference_names.front(),
                filter_taps);
  check_signals(estimates, estimate_names, "estimate",
                "BSS Eval is undefined for it (its projection problem has no unique answer; mir_eval "
                "refuses it too)",
                length, reference_names.front(), filter_taps);
}

}  // namespace

void check_references(const std::vector<std::vector<float>>& references, const std::vector<std::string>& names) {
  assert(names.size() == references.size());
  if (references.empty()) return;
  check_signals(references, names, "reference", kSilentReference, references.front().size(), names.front(),
                kDistortionFilterTaps);
}

double SeparationScores::mean_sdr() const { return mean(sdr); }
double SeparationScores::mean_sir() const { return mean(sir); }
double SeparationScores::mean_sar() const { return mean(sar); }
double SeparationScores::mean_si_sdr() const { return mean(si_sdr); }

PairCriteria bss_eval_pairs(const std::vector<std::vector<float>>& references,
                            const std::vector<std::vector<float>>& estimates, int filter_taps) {
  // mir_eval.separation._project and _bss_decomp_mtifilt, with what does not depend on the
  // estimate (spectra of the references, Gram matrices and their factorisations) done once.
  const long n_ref = static_cast<long>(references.size());
  const long n_est = static_cast<long>(estimates.size());
  const long taps = filter_taps;
  assert(n_ref >= 1 && taps >= 1);
  const long n = static_cast<long>(references.front().size());  // samples per signal
  const long padded = n + taps - 1;  // length of the projections: signal + filter tail
  long n_fft = 1;                    // 2^ceil(log2(padded)), as mir_eval
  while (n_fft < padded) n_fft *= 2;
  RealFft fft(n_fft);

  std::vector<Spectrum> reference_spectra;
  for (const auto& r : references) reference_spectra.push_back(fft.forward(r.data(), n));

  // Gram matrix of the delayed references: block (i, j) element (a, b) is
  // ⟨s_i delayed by a, s_j delayed by b⟩ = r_ij[(b - a) mod n_fft]. Filled as mir_eval leaves
  // it: block (i, j) for i > j from r_ij, its mirror the transpose, diagonal blocks transposed.
  const long size = n_ref * taps;
  Eigen::MatrixXd gram(size, size);
  for (long i = 0; i < n_ref; ++i) {
    for (long j = 0; j <= i; ++j) {
      // r = correlation(reference i, reference j); only its lags −taps < k < taps are read.
      const double* r = fft.correlate_in_place(reference_spectra[i], reference_spectra[j]);
      const double scale = fft.scale();
      Eigen::MatrixXd block(taps, taps);
      for (long a = 0; a < taps; ++a)
        for (long b = 0; b < taps; ++b) block(a, b) = r[(b - a + n_fft) % n_fft] * scale;
      if (i == j) {
        gram.block(i * taps, i * taps, taps, taps) = block.transpose();
      } else {
        gram.block(i * taps, j * taps, taps, taps) = block;
        gram.block(j * taps, i * taps, taps, taps) = block.transpose();
      }
    }
  }
  const GramSolver all_references(gram);
  std::vector<GramSolver> each_reference;  // the diagonal blocks: one reference alone
  for (long j = 0; j < n_ref; ++j) each_reference.emplace_back(gram.block(j * taps, j * taps, taps, taps));

  // Σ_i filters_i * s_i (full convolutions, first `padded` samples): filters (taps, count),
  // column k applied to reference first + k.
  const auto project = [&](const Eigen::VectorXd& filters, long first, long count) {
    auto sum = zeroed_vector_on_huge_pages<std::complex<double>>(static_cast<std::size_t>(n_fft / 2 + 1));
    for (long k = 0; k < count; ++k) {
      const auto* h = fft.forward_in_place(filters.data() + k * taps, taps);
      const auto& s = reference_spectra[static_cast<std::size_t>(first + k)];
      for (std::size_t f = 0; f < sum.size(); ++f) sum[f] += h[f] * s[f];
    }
    auto x = fft.inverse(sum);
    x.resize(static_cast<std::size_t>(padded));
    return x;
  };

  PairCriteria out{Eigen::MatrixXd(n_est, n_ref), Eigen::MatrixXd(n_est, n_ref),
                   Eigen::MatrixXd(n_est, n_ref)};
  for (long e = 0; e < n_est; ++e) {
    const auto& estimate = estimates[static_cast<std::size_t>(e)];
    const auto estimate_spectrum = fft.forward(estimate.data(), n);
    // ⟨s_i delayed by a, estimate⟩ = r_ie[(-a) mod n_fft].
    Eigen::VectorXd inner(size);
    for (long i = 0; i < n_ref; ++i) {
      const double* r = fft.correlate_in_place(reference_spectra[i], estimate_spectrum);
      for (long a = 0; a < taps; ++a) inner(i * taps + a) = r[(n_fft - a) % n_fft] * fft.scale();
    }
    const auto on_all = project(all_references.solve(inner), 0, n_ref);
    for (long j = 0; j < n_ref; ++j) {
      const auto on_own = project(each_reference[j].solve(inner.segment(j * taps, taps)), j, 1);
      // _bss_decomp_mtifilt then _bss_source_crit, element by element in mir_eval's order.
      const auto& reference = references[static_cast<std::size_t>(j)];
      double target = 0, distortion = 0, interference = 0, target_and_interference = 0,
             artefacts = 0;
      for (long t = 0; t < padded; ++t) {
        const double s_true = t < n ? reference[t] : 0.0;
        const double e_spat = on_own[t] - s_true;
        const double e_interf = on_all[t] - s_true - e_spat;
        double e_artif = -s_true - e_spat - e_interf;
        if (t < n) e_artif += estimate[t];
        const double s_filt = s_true + e_spat;
        target += s_filt * s_filt;
        distortion += (e_interf + e_artif) * (e_interf + e_artif);
        interference += e_interf * e_interf;
        target_and_interference += (s_filt + e_interf) * (s_filt + e_interf);
        artefacts += e_artif * e_artif;
      }
      out.sdr(e, j) = safe_db(target, distortion);
      out.sir(e, j) = safe_db(target, interference);
      out.sar(e, j) = safe_db(target_and_interference, artefacts);
    }
  }
  return out;
}

std::vector<int> best_permutation(const Eigen::MatrixXd& sir) {
  assert(sir.rows() == sir.cols() && sir.rows() >= 1);
  const int n = static_cast<int>(sir.rows());
  std::vector<int> permutation(static_cast<std::size_t>(n));
  std::iota(permutation.begin(), permutation.end(), 0);
  std::vector<int> best;
  double best_mean = 0;
  do {
    double sum = 0;
    for (int r = 0; r < n; ++r) sum += sir(permutation[r], r);
    const double mean_sir = sum / n;
    // numpy.argmax: the first maximum, a NaN counting as the maximum.
    if (best.empty() || (!std::isnan(best_mean) && (std::isnan(mean_sir) || mean_sir > best_mean))) {
      best = permutation;
      best_mean = mean_sir;
    }
  } while (std::next_permutation(permutation.begin(), permutation.end()));
  return best;
}

double si_sdr(const std::vector<float>& reference, const std::vector<float>& estimate) {
  assert(reference.size() == estimate.size());
  double cross = 0, reference_energy = 0;
  for (std::size_t t = 0; t < reference.size(); ++t) {
    cross += double(estimate[t]) * reference[t];
    reference_energy += double(reference[t]) * reference[t];
  }
  const double scale = cross / reference_energy;  // α of eq. 2: the target is α · reference
  double target = 0, noise = 0;
  for (std::size_t t = 0; t < reference.size(); ++t) {
    const double s = scale * reference[t];
    target += s * s;
    noise += (estimate[t] - s) * (estimate[t] - s);
  }
  return safe_db(target, noise);
}

SeparationScores score_separation(const std::vector<std::vector<float>>& references,
                                  const std::vector<std::vector<float>>& estimates,
                                  const std::vector<std::string>& reference_names) {
  std::vector<std::string> estimate_names;
  for (std::size_t i = 0; i < estimates.size(); ++i)
    estimate_names.push_back(fmt::format("estimate {}", i + 1));
  return score_separation(references, estimates, reference_names, estimate_names);
}

SeparationScores score_separation(const std::vector<std::vector<float>>& references,
                                  const std::vector<std::vector<float>>& estimates,
                                  const std::vector<std::string>& reference_names,
                                  const std::vector<std::string>& estimate_names) {
  validate(references, estimates, reference_names, estimate_names, kDistortionFilterTaps);
  const auto pairs = bss_eval_pairs(references, estimates);
  SeparationScores scores;
  scores.permutation = best_permutation(pairs.sir);
  for (std::size_t r = 0; r < references.size(); ++r) {
    const int e = scores.permutation[r];
    scores.sdr.push_back(pairs.sdr(e, static_cast<long>(r)));
    scores.sir.push_back(pairs.sir(e, static_cast<long>(r)));
    scores.sar.push_back(pairs.sar(e, static_cast<long>(r)));
    scores.si_sdr.push_back(si_sdr(references[r], estimates[static_cast<std::size_t>(e)]));
  }
  return scores;
}

nlohmann::json to_json(const SeparationScores& scores) {
  // nlohmann::json writes a non-finite double as null.
  return {{"sdr", scores.mean_sdr()},
          {"sir", scores.mean_sir()},
          {"sar", scores.mean_sar()},
          {"si_sdr", scores.mean_si_sdr()},
          {"per_source",
           {{"sdr", scores.sdr}, {"sir", scores.sir}, {"sar", scores.sar}, {"si_sdr", scores.si_sdr}}},
          {"permutation", scores.permutation}};
}

namespace {

std::string db(double value) { return std::isnan(value) ? std::string("undefined") : fmt::format("{:.2f}", value); }

}  // namespace

std::string score_table(const SeparationScores& s, const std::vector<std::string>& reference_names,
                        const std::vector<std::string>& estimate_names) {
  std::size_t ref_width = std::string("reference").size(), est_width = std::string("estimate").size();
  for (const auto& r : reference_names) ref_width = std::max(ref_width, r.size());
  for (const auto& e : estimate_names) est_width = std::max(est_width, e.size());
  const auto row = [&](const std::string& r, const std::string& e, const std::string& sdr,
                       const std::string& sir, const std::string& sar, const std::string& si_sdr) {
    return fmt::format("{:<{}}  {:<{}}  {:>9}  {:>9}  {:>9}  {:>11}\n", r, ref_width, e, est_width,
                       sdr, sir, sar, si_sdr);
  };
  std::string text = row("reference", "estimate", "SDR [dB]", "SIR [dB]", "SAR [dB]", "SI-SDR [dB]");
  for (std::size_t i = 0; i < reference_names.size(); ++i)
    text += row(reference_names[i], estimate_names.at(static_cast<std::size_t>(s.permutation[i])),
                db(s.sdr[i]), db(s.sir[i]), db(s.sar[i]), db(s.si_sdr[i]));
  text += row("mean", "", db(s.mean_sdr()), db(s.mean_sir()), db(s.mean_sar()), db(s.mean_si_sdr()));
  return text;
}

}  // namespace innmf::sep
