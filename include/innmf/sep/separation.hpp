#pragma once
// Source separation with fixed templates (DESIGN.md §4): the mixture's STFT X (any window
// size), V = |X|^p, the templates of every source stacked W = [W_1 … W_S (W_free)], the
// activations of all sources fitted jointly on V with W fixed, then soft masks
//
//   X̂_s = (W_s H_s)^(1/p)                      the source's linear magnitude estimate
//   M_s = X̂_s^q / Σ_r X̂_r^q   (q = mask_power)  q = 1: magnitude ratio, q = 2: Wiener-like
//   Y_s = M_s ⊙ X                               the mixture's phase
//
// and the inverse STFT of each Y_s. The masks sum to one wherever any source is non-zero, so
// the separated signals add up to the mixture (up to the STFT's round-off).
//
// Shapes: V (n_bins, n_frames), W_s (n_bins, K_s), H (ΣK_s, n_frames), column-major float32, as
// in classic_nmf.hpp.

#include <cstdint>
#include <string>
#include <vector>

#include "innmf/model/classic_nmf.hpp"
#include "innmf/tf/stft.hpp"

namespace innmf::sep {

/// How the activations are fitted with the templates fixed.
enum class FitMethod {
  mu,     ///< multiplicative updates for the β-divergence (monotone, no step size): the default
  rprop,  ///< the paper's gradient fit: Rprop on θ with H = softplus(θ), full batch
};
FitMethod parse_fit_method(const std::string& name);  ///< "mu" | "rprop", else UsageError
std::string fit_method_name(FitMethod method);

/// The options of a separation, declared once (their CLI spelling in brackets).
struct SeparationOptions {
  FitMethod fit = FitMethod::mu;     ///< [--fit]
  int iterations = 200;              ///< [--iters] updates of the activations
  double tolerance = 1e-4;           ///< [--tol] stop once the loss falls by less than this
                                     ///< fraction in one update (0: never early); mu only
  double learning_rate = 1e-3;       ///< [--lr] Rprop's initial step (rprop only)
  double mask_power = 1.0;           ///< [--mask-power] q of the masks, > 0
  int free_templates = 0;            ///< [--free] K extra templates learned on the mixture
  std::uint64_t seed = 0;            ///< [--seed] initial values of the free templates
  double beta = 1.0;                 ///< β of the fit: the models' (not an option)
  double power = 0.5;                ///< p: the models approximate |X|^p (not an option)
};

/// Throws UsageError naming --iters, --tol, --lr, --mask-power or --free for impossible values.
void validate(const SeparationOptions& options);

struct FitReport {
  int iterations = 0;           ///< updates made
  bool converged = false;       ///< stopped early by --tol
  std::vector<double> loss;     ///< mean D_β(V | WH) per entry, [0] at the start
  double seconds = 0;           ///< wall time of the fit [s]
};

struct Separation {
  /// One signal per source in the order of `templates`, then the free source if any; each as
  /// long as the mixture.
  std::vector<std::vector<float>> signals;
  FitReport fit;
  model::classic::Matrix H;     ///< (ΣK_s + free, n_frames) fitted activations
  model::classic::Matrix W;     ///< (n_bins, ΣK_s + free) the templates used (free ones learned)
  /// The soft masks, one per signal: (n_bins, n_frames), summing to one in every T-F cell.
  /// apply_mask gives them to other signals of the same length (the channels of a stereo
  /// mixture whose mono mix-down was separated).
  std::vector<model::classic::Matrix> masks;
};

/// Separates `mixture` (`n` samples) analysed by `stft` into one signal per template set.
/// `templates[s]` is (stft.n_bins(), K_s), non-negative. Throws UsageError if fewer than two
/// sources result (templates plus the free source), NumericalError if the fit diverges.
Separation separate(const float* mixture, long n, const tf::Stft& stft,
                    const std::vector<model::classic::Matrix>& templates,
                    const SeparationOptions& options);

/// The inverse STFT of `mask` ⊙ STFT(signal): `signal` (`n` samples) filtered by a mask of
/// `separate` (mask (stft.n_bins(), frames of n samples)). Linear in `signal`: the masked
/// channels of a multichannel mixture mix down to the masked mix-down.
std::vector<float> apply_mask(const tf::Stft& stft, const model::classic::Matrix& mask, const float* signal, long n);

/// The masks of `separate` for sources made of the column blocks `ranks` of W and the row
/// blocks of H: masks[s] (n_bins, n_frames). Exposed for tests.
std::vector<model::classic::Matrix> soft_masks(const model::classic::Matrix& W,
                                               const model::classic::Matrix& H,
                                               const std::vector<int>& ranks, double power,
                                               double mask_power);

}  // namespace innmf::sep
