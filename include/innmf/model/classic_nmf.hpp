#pragma once
// Classic NMF (DESIGN.md §1): V ≈ W·H for a non-negative matrix V by multiplicative updates for
// the β-divergence, as scikit-learn's NMF(solver="mu") computes them (scikit-learn 1.2,
// sklearn/decomposition/_nmf.py: _multiplicative_update_w, _multiplicative_update_h,
// _fit_multiplicative_update; Févotte & Idier, "Algorithms for nonnegative matrix
// factorization with the β-divergence", Neural Computation 23(9), 2011):
//
//   W ← W ⊙ ( [(V ⊙ (WH)^(β−2)) Hᵀ] / [(WH)^(β−1) Hᵀ] )^γ       (β = 1: denominator 1·Hᵀ)
//   H ← H ⊙ ( [Wᵀ (V ⊙ (WH)^(β−2))] / [Wᵀ (WH)^(β−1)] )^γ       (β = 1: denominator Wᵀ·1)
//   γ = 1/(2−β) for β < 1, 1/(β−1) for β > 2, else 1: with this exponent each update is a
//   majorisation-minimisation step and the loss never increases (Févotte & Idier).
//
// One iteration updates W, then H (scikit-learn's order). Zeros as scikit-learn handles them:
// WH is floored at kBetaEpsilon wherever it is divided by, logged or raised to a power (every
// β but 2; scikit-learn floors only exact zeros and only for β < 2, the same up to 1e-7), a
// zero denominator becomes kBetaEpsilon (a zero column sum Wᵀ·1 becomes 1), and entries of W
// (β < 1) and of H (β ≤ 1) below DBL_EPSILON are set to 0 after their update.
//
// Layout: V (n_freqs, n_frames), W (n_freqs, K), H (K, n_frames); float32, column-major
// (Eigen's default), so column j of V is frame j and a row-major (frames × bins) STFT
// magnitude is V's memory as it is. Losses are β-divergences D_β(V | WH) (beta_divergence.hpp)
// summed over every entry in double, and their mean per entry.
//
// Speed: each half-iteration is one pass over V in cache-sized tiles that fuses the GEMM
// WH = W·H, the elementwise V ⊙ (WH)^(β−2) (and the loss, which costs one log per entry), and
// the GEMM with Hᵀ or Wᵀ, so the whole WH is never held. For β = 1 on a CPU with AVX2 + FMA
// (an -march=native build), hand-written micro-kernels do this on tiles of 24 columns of V for
// the H update and of 24 rows for the W update, in chunks that stay in L1 (each direction
// keeps its own packed copy of V: 8 bytes per entry of V); elsewhere (any other β, or
// Kernels::portable) each tile runs single-threaded Eigen GEMMs (EIGEN_DONT_PARALLELIZE).
// Tiles depend only on the shapes, never on the thread count, and every tile writes its own
// output: results are bit-identical for any number of OpenMP threads.

#include <Eigen/Core>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "innmf/tf/stft.hpp"

namespace innmf::model::classic {

/// float32, column-major.
using Matrix = Eigen::MatrixXf;

/// Which implementation of the passes over V runs.
enum class Kernels {
  fastest,   ///< AVX2 + FMA micro-kernels where they apply (β = 1 on an AVX2 build), else portable
  portable,  ///< Eigen GEMMs and array expressions, any β: the reference of the fast kernels
};

/// The options of the multiplicative updates, declared once (their CLI spelling in brackets).
struct MuOptions {
  double beta = 1.0;        ///< [--beta] β of D_β: 0 Itakura-Saito, 1 generalised KL, 2 squared
                            ///< Euclidean (halved), any other real
  int iterations = 200;     ///< [--iters] maximum number of updates, ≥ 1
  double tolerance = 1e-4;  ///< [--tol] stop after update i once (L_{i−n} − L_i) / L_{i−n} < tol,
                            ///< L: the loss, n: loss_every (checked where L is computed); 0: make
                            ///< every update
  int loss_every = 1;       ///< [--loss-every] n ≥ 1: compute the loss at the start, after every
                            ///< n-th update and after the last (scikit-learn checks every 10);
                            ///< the others are reported as NaN. The factors do not depend on n.
                            ///< β = 1: the loss costs one log per entry, ~10 % of an update.
  Kernels kernels = Kernels::fastest;  ///< (not an option: tests compare the two)
};

/// Throws UsageError naming --beta, --iters, --tol or --loss-every when a value is impossible.
void validate(const MuOptions& options);

/// W (n_freqs, K) and H (K, n_frames).
struct Factors {
  Matrix W;
  Matrix H;
};

/// Random non-negative factors with the scale of scikit-learn's init="random": every entry is
/// √(mean(V) / K) · u with u uniform in (0, 1) (scikit-learn draws |N(0, 1)| instead). The u come
/// from std::mt19937_64 seeded with `seed`, W first then H, each column-major, each 64-bit
/// output x mapped to ((x >> 11) + 0.5) · 2⁻⁵³: the same numbers on every platform (unlike
/// std::uniform_real_distribution), and never 0 (a zero entry never moves under multiplicative
/// updates). Throws UsageError naming --rank if `rank` < 1.
Factors random_init(const Eigen::Ref<const Matrix>& V, int rank, std::uint64_t seed);

/// H (K, n_frames) with every entry √(mean(V) / K): the start scikit-learn's solver="mu" uses
/// for the factor it fits while the other is fixed (NMF.transform).
Matrix constant_activations(const Eigen::Ref<const Matrix>& V, Eigen::Index rank);
/// √(mean_of_V / K), the scale of random_init and the value of constant_activations, for a
/// caller that takes V's mean block by block (separation of a long mixture).
double initial_scale(double mean_of_V, Eigen::Index rank);

/// The loss after `iteration` updates (0: at the start), reported as soon as it is known.
struct MuProgress {
  int iteration = 0;
  double loss = 0;      ///< mean D_β(V | WH) per entry; NaN if not computed (MuOptions::loss_every)
  double loss_sum = 0;  ///< Σ D_β(V | WH); NaN likewise
  double seconds = 0;   ///< wall time of update `iteration` [s] (0 for iteration 0)
  double elapsed = 0;   ///< wall time of updates 1..iteration [s]
};
using MuCallback = std::function<void(const MuProgress&)>;

struct MuResult {
  std::vector<double> loss;     ///< [i]: mean D_β per entry after i updates, [0] at the start;
                                ///< NaN where not computed (loss_every), never [0] or the last
  std::vector<double> seconds;  ///< [i − 1]: wall time of update i [s]
  int iterations = 0;           ///< updates made (loss.size() − 1)
  bool converged = false;       ///< stopped early by the tolerance
  double seconds_total = 0;     ///< wall time of the whole fit, final loss included [s]
  std::string kernels;          ///< which ran: "avx2-kl" or "eigen"
};

/// Fits W and H to V from their values in `factors` (e.g. random_init's), updating both in
/// place. `callback` sees every iteration (0 to the last) as soon as its loss is known (or
/// known not to be computed): the loss after update i comes from the pass that makes update
/// i + 1. Throws NumericalError if a computed loss is NaN or infinite, InputError if V has a
/// negative, NaN or infinite entry.
MuResult fit(const Eigen::Ref<const Matrix>& V, Factors& factors, const MuOptions& options,
             const MuCallback& callback = {});

/// Fits H to V with W fixed (e.g. to reconstruct a new recording with learned templates), from
/// its value in `H` (e.g. constant_activations(V, K)). Same reports and errors as fit().
MuResult fit_activations(const Eigen::Ref<const Matrix>& V, const Matrix& W, Matrix& H,
                         const MuOptions& options, const MuCallback& callback = {});

struct Loss {
  double sum = 0;   ///< Σ D_β(V | WH) over every entry
  double mean = 0;  ///< sum / (n_freqs · n_frames)
};

/// D_β(V | WH), computed as fit() computes it (float32 entries, double sums).
Loss loss(const Eigen::Ref<const Matrix>& V, const Matrix& W, const Matrix& H, double beta,
          Kernels kernels = Kernels::fastest);

/// loss() for many (W, H) against one V, e.g. after every update of a fit: V is prepared (packed
/// for the fast KL kernels: two copies of V) once, not at every call. The same numbers as
/// loss(). V must outlive the returned function.
std::function<Loss(const Matrix& W, const Matrix& H)> loss_against(const Eigen::Ref<const Matrix>& V, double beta,
                                                                   Kernels kernels = Kernels::fastest);

/// V = |X|^power (n_bins, n_frames) of a (frames, bins) magnitude spectrogram (DESIGN.md §1:
/// compression, p = 0.5 by default). Throws UsageError naming --power unless power > 0.
Matrix compressed(const tf::MagnitudeSpectrogram& magnitude, double power);
/// The same of a (frames, bins) complex spectrum, without the magnitude matrix in between.
Matrix compressed(const tf::ComplexSpectrogram& spectrum, double power);

/// The STFT grid a classic model's templates live on: bins k · sample_rate / n_fft.
struct BinGrid {
  int n_fft = 0;
  double sample_rate = 0;  ///< Hz
};

/// Classic templates exist only at the bins they were learned on. Throws UsageError unless an
/// STFT on `wanted` has the same bins as `trained` (same n_fft at the same sample rate), naming
/// --n-fft and what to do instead.
void require_same_bins(const BinGrid& trained, const BinGrid& wanted);

/// The paper's reconstruction metrics of a model WH of V = |X|^power (not specific to classic
/// NMF: any templates sampled at the bins, with their fitted activations):
struct ReconstructionMetrics {
  double kl = 0;        ///< mean generalised KL divergence D_1(V | WH) over every T-F entry
                        ///< (beta_divergence.hpp's conventions; the paper's kld_freq)
  double sdr_freq = 0;  ///< 20·log10(mean |X| / mean | |X| − X̂ |) [dB] with X̂ = (WH)^(1/power),
                        ///< on linear magnitudes
};

/// `magnitude` is |X| (n_bins, n_frames), V = |X|^power the matrix W and H were fitted to.
ReconstructionMetrics reconstruction_metrics(const Eigen::Ref<const Matrix>& magnitude,
                                             const Eigen::Ref<const Matrix>& V, const Matrix& W,
                                             const Matrix& H, double power);

}  // namespace innmf::model::classic
