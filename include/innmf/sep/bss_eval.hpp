#pragma once
// Separation quality: BSS Eval's SDR, SIR and SAR as mir_eval 0.7's
// `mir_eval.separation.bss_eval_sources` computes them (Vincent, Gribonval & Févotte 2006,
// time-invariant distortion filters of 512 taps, best permutation by mean SIR), and SI-SDR
// (Le Roux, Wisdom, Erdogan & Hershey 2019, "SDR – half-baked or well done?").
//
// All ratios are in dB and computed in double precision. A ratio whose error energy is exactly
// zero is +inf (mir_eval's `_safe_db`); one whose signal energy is zero is -inf. Neither is
// ever NaN.

#include <Eigen/Core>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace innmf::sep {

/// Length of the distortion filters BSS Eval allows a reference before it counts as
/// interference or artefact [taps]: mir_eval's `bss_eval_sources` uses 512 at any sample rate.
inline constexpr int kDistortionFilterTaps = 512;

/// Scores of a set of estimates against their references: one entry per reference, in
/// reference order.
struct SeparationScores {
  std::vector<double> sdr, sir, sar, si_sdr;  ///< dB
  std::vector<int> permutation;  ///< permutation[i] = index of the estimate matched to reference i
  double mean_sdr() const;
  double mean_sir() const;
  double mean_sar() const;
  double mean_si_sdr() const;
};

/// SDR, SIR and SAR [dB] of every (estimate, reference) pair: element (e, r) scores estimate e
/// as an estimate of reference r. Shapes (n_estimates, n_references).
struct PairCriteria {
  Eigen::MatrixXd sdr, sir, sar;
};

/// BSS Eval of every estimate against every reference (mir_eval's `_bss_decomp_mtifilt` and
/// `_bss_source_crit`): each estimate is projected by least squares onto the delayed copies
/// (delays 0 … filter_taps-1 samples) of its reference alone and of all references; the
/// residuals are interference and artefacts. Gram systems solved by LU with partial pivoting
/// (as numpy.linalg.solve), falling back to a minimum-norm least-squares solution when a Gram
/// matrix is exactly singular. Where mir_eval transforms whole signals, the correlations and the
/// projections are summed over blocks of `block_samples` samples (0: 64,514 at 512 taps) by FFT
/// (FFTW, double) on the OpenMP threads: memory does not grow with the length, and the result
/// does not depend on the number of threads. No checks: the signals must be non-empty, of one
/// length, and the references not silent.
PairCriteria bss_eval_pairs(const std::vector<std::vector<float>>& references,
                            const std::vector<std::vector<float>>& estimates,
                            int filter_taps = kDistortionFilterTaps, long block_samples = 0);

/// The permutation mir_eval's `bss_eval_sources` picks: among all permutations in
/// lexicographic order (itertools.permutations), the first with the largest mean of
/// sir(permutation[r], r). `sir` is (n_estimates, n_references), square.
std::vector<int> best_permutation(const Eigen::MatrixXd& sir);

/// Scale-invariant SDR [dB] of `estimate` against `reference` (Le Roux et al. 2019, eq. 2–3):
/// with target = (⟨estimate, reference⟩ / ‖reference‖²) · reference,
/// SI-SDR = 10 log10(‖target‖² / ‖estimate − target‖²). No mean is removed from either signal
/// (the paper assumes zero-mean signals; audio files nearly are). Equal lengths, reference not
/// silent.
double si_sdr(const std::vector<float>& reference, const std::vector<float>& estimate);

/// BSS Eval with the best permutation (mir_eval's `bss_eval_sources(…, compute_permutation=True)`)
/// and the SI-SDR of each reference with its matched estimate.
/// references and estimates: equal counts (>= 1) and equal lengths, samples at one rate.
/// Throws InputError (innmf/core/error.hpp) naming `reference_names[i]` for a silent (all-zero)
/// reference, or the estimate for a silent estimate (mir_eval refuses both: the metrics are
/// undefined), UsageError for count or length mismatch.
SeparationScores score_separation(const std::vector<std::vector<float>>& references,
                                  const std::vector<std::vector<float>>& estimates,
                                  const std::vector<std::string>& reference_names);
/// The same, with the estimates' names for error messages (the overload above calls them
/// "estimate 1", "estimate 2", …).
SeparationScores score_separation(const std::vector<std::vector<float>>& references,
                                  const std::vector<std::vector<float>>& estimates,
                                  const std::vector<std::string>& reference_names,
                                  const std::vector<std::string>& estimate_names);

/// The checks score_separation makes of the references alone (one length, at least the
/// filters' taps, finite, not silent), for a caller that reads them before long work
/// (`separate --ref`): the same InputError/UsageError.
void check_references(const std::vector<std::vector<float>>& references, const std::vector<std::string>& names);

/// {"sdr": mean, "sir": mean, "sar": mean, "si_sdr": mean,
///  "per_source": {"sdr": […], "sir": […], "sar": […], "si_sdr": […]}, "permutation": […]}.
/// JSON has no infinity: a +inf or -inf value is written as null.
nlohmann::json to_json(const SeparationScores& scores);

/// The human-readable table of `scores`: a header, one row per reference with the estimate
/// matched to it, then the means; values in dB with two decimals, ±inf as such, "undefined" for
/// NaN (only a mean of +inf and −inf). Lines end with '\n'.
std::string score_table(const SeparationScores& scores, const std::vector<std::string>& reference_names,
                        const std::vector<std::string>& estimate_names);

}  // namespace innmf::sep
