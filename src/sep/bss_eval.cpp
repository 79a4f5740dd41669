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
#include <exception>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>

#include "innmf/core/error.hpp"

namespace innmf::sep {
namespace {

/// FFTW's double-precision planner (plan creation and destruction) is not thread-safe.
std::mutex& fftw_double_planner_mutex() {
  static std::mutex mutex;
  return mutex;
}

/// Real FFTs of one length n (double precision), planned once, on the plans' own aligned
/// buffers: one object serves one thread at a time.
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
    forward_ = fftw_plan_dft_r2c_1d(size, real_, complex_, FFTW_ESTIMATE);
    inverse_ = fftw_plan_dft_c2r_1d(size, complex_, real_, FFTW_ESTIMATE | FFTW_DESTROY_INPUT);
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

  std::size_t bins() const { return static_cast<std::size_t>(n_ / 2 + 1); }

  /// Unnormalised spectrum, into `spectrum` (bins() values), of the `length` samples
  /// x[begin, begin + length) zero-padded to n, where x is `signal` (n_signal samples) extended
  /// by zeros on both sides: begin may be negative and the range may pass the end.
  template <typename T>
  void forward(const T* signal, long n_signal, long begin, long length, std::complex<double>* spectrum) {
    assert(length <= n_);
    std::fill(real_, real_ + n_, 0.0);
    const long first = std::max(begin, 0L), last = std::min(begin + length, n_signal);
    for (long t = first; t < last; ++t) real_[t - begin] = signal[t];
    fftw_execute(forward_);
    const auto* out = reinterpret_cast<const std::complex<double>*>(complex_);
    std::copy(out, out + bins(), spectrum);
  }

  /// n times the inverse DFT of `spectrum` (bins() values): the circular convolution of the two
  /// signals whose forward() spectra were multiplied into it (mir_eval's real(ifft(·)) without
  /// ifft's 1/n: multiply by scale()). In the plan's own buffer until the next transform.
  const double* inverse(const std::complex<double>* spectrum) {
    std::copy(spectrum, spectrum + bins(), reinterpret_cast<std::complex<double>*>(complex_));
    fftw_execute(inverse_);
    return real_;
  }
  double scale() const { return 1.0 / static_cast<double>(n_); }

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

/// Spectra of one block: `count` spectra of `bins` bins each, contiguous.
class BlockSpectra {
 public:
  BlockSpectra(std::size_t count, std::size_t bins) : bins_(bins), values_(count * bins) {}
  std::complex<double>* operator[](std::size_t k) { return values_.data() + k * bins_; }
  const std::complex<double>* operator[](std::size_t k) const { return values_.data() + k * bins_; }

 private:
  std::size_t bins_;
  std::vector<std::complex<double>> values_;
};

/// Sums of per-block partial results over a range of blocks that come out the same on any
/// number of threads: the blocks are cut into groups of kBlocksPerGroup, each group is summed
/// in block order by one thread, then the groups' sums in group order.
constexpr long kBlocksPerGroup = 4;

/// For group g of the n_blocks blocks, calls add_block(block, fft, workspace, partial) for each
/// of its blocks in order (partial: that group's `width` sums, zeroed; fft: the thread's
/// transforms of `fft_size` points; workspace: the thread's make_workspace()), on every OpenMP
/// thread; returns the sums over all groups, added in group order.
template <typename MakeWorkspace, typename AddBlock>
std::vector<double> sum_over_blocks(long n_blocks, std::size_t width, long fft_size, MakeWorkspace make_workspace,
                                    AddBlock add_block) {
  const long n_groups = (n_blocks + kBlocksPerGroup - 1) / kBlocksPerGroup;
  std::vector<double> partials(static_cast<std::size_t>(n_groups) * width, 0.0);
  std::exception_ptr failure;
  const auto keep_first_failure = [&failure] {
#pragma omp critical(innmf_bss_eval_failure)
    if (!failure) failure = std::current_exception();
  };
  // (no more threads than groups: each plans its transforms and allocates a block's spectra)
  const int threads = static_cast<int>(std::max(1L, std::min<long>(omp_get_max_threads(), n_groups)));
#pragma omp parallel num_threads(threads)
  {
    // Every thread takes part in the loop even if its transforms failed (a thread that left
    // the worksharing construct would hang the others at its barrier).
    std::unique_ptr<RealFft> fft;
    std::optional<decltype(make_workspace())> workspace;
    try {
      fft = std::make_unique<RealFft>(fft_size);
      workspace = make_workspace();
    } catch (...) {
      fft.reset();
      keep_first_failure();
    }
#pragma omp for schedule(dynamic, 1)
    for (long g = 0; g < n_groups; ++g) {
      if (!fft) continue;
      try {
        double* partial = partials.data() + static_cast<std::size_t>(g) * width;
        for (long block = g * kBlocksPerGroup; block < std::min(n_blocks, (g + 1) * kBlocksPerGroup); ++block)
          add_block(block, *fft, *workspace, partial);
      } catch (...) {
        keep_first_failure();
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
  std::vector<double> sums(width, 0.0);
  for (long g = 0; g < n_groups; ++g)
    for (std::size_t k = 0; k < width; ++k) sums[k] += partials[static_cast<std::size_t>(g) * width + k];
  return sums;
}

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
                            const std::vector<std::vector<float>>& estimates, int filter_taps,
                            long block_samples) {
  // mir_eval.separation._project and _bss_decomp_mtifilt, streamed: mir_eval transforms whole
  // signals (FFTs of 2^⌈log2(n + taps − 1)⌉ points, ~2.5 GB for 10 minutes of two 44.1 kHz
  // sources); here the correlations (pass 1) and the projections with their energies (pass 2)
  // are summed block by block, so memory does not grow with the signals' length. The only
  // whole-signal quantities are the Gram systems' entries and the five energies of each pair.
  const long n_ref = static_cast<long>(references.size());
  const long n_est = static_cast<long>(estimates.size());
  const long taps = filter_taps;
  assert(n_ref >= 1 && taps >= 1);
  const long n = static_cast<long>(references.front().size());  // samples per signal
  const long padded = n + taps - 1;  // length of the projections: signal + filter tail
  const long lags = 2 * taps - 1;    // correlation lags −(taps − 1) … taps − 1
  // Block length L [samples] and transform size M ≥ L + 2(taps − 1): a block's correlations
  // read its samples with taps − 1 on each side, its projections with taps − 1 before it.
  long fft_size = 1;
  if (block_samples > 0) {
    while (fft_size < block_samples + 2 * (taps - 1)) fft_size *= 2;
  } else {
    fft_size = 1L << 16;  // 64,514 samples a block at 512 taps: 1.5 s of 44.1 kHz
    while (fft_size < 4 * taps) fft_size *= 2;
    block_samples = fft_size - 2 * (taps - 1);
  }
  const long block = block_samples;
  const std::size_t bins = static_cast<std::size_t>(fft_size / 2 + 1);
  const auto signal_of = [&](long k) -> const std::vector<float>& {  // references, then estimates
    return k < n_ref ? references[static_cast<std::size_t>(k)] : estimates[static_cast<std::size_t>(k - n_ref)];
  };

  // Pass 1. r_ij[k] = Σ_m s_i[m + k] s_j[m] for the reference pairs i ≥ j at every lag, and
  // r_ie[−a] = ⟨s_i delayed by a, e⟩ for every reference i and estimate e at a = 0 … taps − 1.
  // A block m ∈ [b, b + L): y_i = s_i[b − (taps − 1), b + L + taps − 1), x = signal[b, b + L),
  // and the circular correlation Σ_u y[u + d] x[u] (never wrapped: u + d < L + 2 taps − 2 ≤ M)
  // at d = k + taps − 1.
  const long n_pairs = n_ref * (n_ref + 1) / 2;
  const auto pair_index = [](long i, long j) { return i * (i + 1) / 2 + j; };  // i ≥ j
  const std::size_t inner_offset = static_cast<std::size_t>(n_pairs * lags);
  const std::size_t pass1_width = inner_offset + static_cast<std::size_t>(n_ref * n_est * taps);
  struct CorrelationWorkspace {
    BlockSpectra extended, plain;  // y of each reference; x of each reference, then estimate
    std::vector<std::complex<double>> product;
  };
  const auto correlations = sum_over_blocks(
      (n + block - 1) / block, pass1_width, fft_size,
      [&] {
        return CorrelationWorkspace{BlockSpectra(static_cast<std::size_t>(n_ref), bins),
                                    BlockSpectra(static_cast<std::size_t>(n_ref + n_est), bins),
                                    std::vector<std::complex<double>>(bins)};
      },
      [&](long b, RealFft& fft, CorrelationWorkspace& w, double* partial) {
        const long begin = b * block;
        for (long i = 0; i < n_ref; ++i)
          fft.forward(signal_of(i).data(), n, begin - (taps - 1), block + 2 * (taps - 1), w.extended[i]);
        for (long k = 0; k < n_ref + n_est; ++k) fft.forward(signal_of(k).data(), n, begin, block, w.plain[k]);
        const auto correlate = [&](long i, long k) {  // y of reference i with x of signal k
          const auto* y = w.extended[i];
          const auto* x = w.plain[k];
          for (std::size_t f = 0; f < bins; ++f) w.product[f] = y[f] * std::conj(x[f]);
          return fft.inverse(w.product.data());
        };
        for (long i = 0; i < n_ref; ++i) {
          for (long j = 0; j <= i; ++j) {
            const double* r = correlate(i, j);
            double* sums = partial + pair_index(i, j) * lags;
            for (long d = 0; d < lags; ++d) sums[d] += r[d] * fft.scale();
          }
          for (long e = 0; e < n_est; ++e) {
            const double* r = correlate(i, n_ref + e);
            double* sums = partial + inner_offset + (i * n_est + e) * taps;
            for (long a = 0; a < taps; ++a) sums[a] += r[taps - 1 - a] * fft.scale();
          }
        }
      });
  const auto correlation = [&](long i, long j, long k) {  // r_ij[k], i ≥ j, |k| < taps
    return correlations[static_cast<std::size_t>(pair_index(i, j) * lags + k + taps - 1)];
  };

  // Gram matrix of the delayed references: block (i, j) element (a, b) is
  // ⟨s_i delayed by a, s_j delayed by b⟩ = r_ij[b − a]. Filled as mir_eval leaves it: block
  // (i, j) for i > j from r_ij, its mirror the transpose, diagonal blocks transposed.
  const long size = n_ref * taps;
  Eigen::MatrixXd gram(size, size);
  for (long i = 0; i < n_ref; ++i) {
    for (long j = 0; j <= i; ++j) {
      Eigen::MatrixXd gram_block(taps, taps);
      for (long a = 0; a < taps; ++a)
        for (long b = 0; b < taps; ++b) gram_block(a, b) = correlation(i, j, b - a);
      if (i == j) {
        gram.block(i * taps, i * taps, taps, taps) = gram_block.transpose();
      } else {
        gram.block(i * taps, j * taps, taps, taps) = gram_block;
        gram.block(j * taps, i * taps, taps, taps) = gram_block.transpose();
      }
    }
  }
  const GramSolver all_references(gram);
  std::vector<GramSolver> each_reference;  // the diagonal blocks: one reference alone
  for (long j = 0; j < n_ref; ++j) each_reference.emplace_back(gram.block(j * taps, j * taps, taps, taps));

  // The distortion filters' spectra at M points: for estimate e, its projection on all
  // references (filter i applied to reference i) and on each reference j alone.
  BlockSpectra filters_on_all(static_cast<std::size_t>(n_est * n_ref), bins);
  BlockSpectra filters_on_own(static_cast<std::size_t>(n_est * n_ref), bins);
  {
    RealFft fft(fft_size);
    for (long e = 0; e < n_est; ++e) {
      Eigen::VectorXd inner(size);
      for (long i = 0; i < n_ref; ++i)
        for (long a = 0; a < taps; ++a)
          inner(i * taps + a) = correlations[inner_offset + static_cast<std::size_t>((i * n_est + e) * taps + a)];
      const Eigen::VectorXd on_all = all_references.solve(inner);
      for (long i = 0; i < n_ref; ++i) {
        fft.forward(on_all.data() + i * taps, taps, 0, taps, filters_on_all[e * n_ref + i]);
        const Eigen::VectorXd on_own = each_reference[i].solve(inner.segment(i * taps, taps));
        fft.forward(on_own.data(), taps, 0, taps, filters_on_own[e * n_ref + i]);
      }
    }
  }

  // Pass 2. For t ∈ [0, n + taps − 1): the projections P_all = Σ_i h_i * s_i and P_own = h_j * s_j
  // (full convolutions; a block's output t ∈ [b, b + L) needs s[b − (taps − 1), b + L), at
  // u + taps − 1 of the circular convolution), then _bss_decomp_mtifilt and _bss_source_crit's
  // five energies, element by element in mir_eval's order.
  constexpr long kEnergies = 5;  // target, distortion, interference, target + interference, artefacts
  struct ProjectionWorkspace {
    BlockSpectra references;
    std::vector<std::complex<double>> product;
    std::vector<double> on_all;  // one block of P_all
  };
  const auto energies = sum_over_blocks(
      (padded + block - 1) / block, static_cast<std::size_t>(n_est * n_ref * kEnergies), fft_size,
      [&] {
        return ProjectionWorkspace{BlockSpectra(static_cast<std::size_t>(n_ref), bins),
                                   std::vector<std::complex<double>>(bins),
                                   std::vector<double>(static_cast<std::size_t>(block))};
      },
      [&](long b, RealFft& fft, ProjectionWorkspace& w, double* partial) {
        const long begin = b * block;
        const long count = std::min(block, padded - begin);
        for (long i = 0; i < n_ref; ++i)
          fft.forward(references[static_cast<std::size_t>(i)].data(), n, begin - (taps - 1), block + taps - 1,
                      w.references[i]);
        for (long e = 0; e < n_est; ++e) {
          std::fill(w.product.begin(), w.product.end(), std::complex<double>());
          for (long i = 0; i < n_ref; ++i) {
            const auto* h = filters_on_all[e * n_ref + i];
            const auto* s = w.references[i];
            for (std::size_t f = 0; f < bins; ++f) w.product[f] += h[f] * s[f];
          }
          const double* all = fft.inverse(w.product.data());
          for (long u = 0; u < count; ++u) w.on_all[u] = all[u + taps - 1] * fft.scale();
          const auto& estimate = estimates[static_cast<std::size_t>(e)];
          for (long j = 0; j < n_ref; ++j) {
            const auto* h = filters_on_own[e * n_ref + j];
            const auto* s = w.references[j];
            for (std::size_t f = 0; f < bins; ++f) w.product[f] = h[f] * s[f];
            const double* own = fft.inverse(w.product.data());
            const auto& reference = references[static_cast<std::size_t>(j)];
            double* sums = partial + (e * n_ref + j) * kEnergies;
            for (long u = 0; u < count; ++u) {
              const long t = begin + u;
              const double s_true = t < n ? reference[t] : 0.0;
              const double e_spat = own[u + taps - 1] * fft.scale() - s_true;
              const double e_interf = w.on_all[u] - s_true - e_spat;
              double e_artif = -s_true - e_spat - e_interf;
              if (t < n) e_artif += estimate[t];
              const double s_filt = s_true + e_spat;
              sums[0] += s_filt * s_filt;
              sums[1] += (e_interf + e_artif) * (e_interf + e_artif);
              sums[2] += e_interf * e_interf;
              sums[3] += (s_filt + e_interf) * (s_filt + e_interf);
              sums[4] += e_artif * e_artif;
            }
          }
        }
      });

  PairCriteria out{Eigen::MatrixXd(n_est, n_ref), Eigen::MatrixXd(n_est, n_ref),
                   Eigen::MatrixXd(n_est, n_ref)};
  for (long e = 0; e < n_est; ++e) {
    for (long j = 0; j < n_ref; ++j) {
      const double* sums = energies.data() + (e * n_ref + j) * kEnergies;
      out.sdr(e, j) = safe_db(sums[0], sums[1]);
      out.sir(e, j) = safe_db(sums[0], sums[2]);
      out.sar(e, j) = safe_db(sums[3], sums[4]);
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
