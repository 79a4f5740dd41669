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
#include <functional>
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
  long block_frames = 0;             ///< [--block, in frames] frames fitted and resynthesised at
                                     ///< a time (0: all): bounds memory on long mixtures
  double beta = 1.0;                 ///< β of the fit: the models' (not an option)
  double power = 0.5;                ///< p: the models approximate |X|^p (not an option)
};

/// Throws UsageError naming --iters, --tol, --lr, --mask-power or --free for impossible values.
void validate(const SeparationOptions& options);

struct FitReport {
  int iterations = 0;           ///< updates made (in blocks: the most any block made)
  bool converged = false;       ///< stopped early by --tol (in blocks: every block did)
  /// Mean D_β(V | WH) per entry, [0] at the start; in blocks, after update i, the mean over
  /// every entry with each block at its i-th update or its last.
  std::vector<double> loss;
  double seconds = 0;           ///< wall time of the fit [s]
  long blocks = 1;              ///< blocks of frames fitted one after another (1 with --free)
};

/// The signals of a mixture: the one whose STFT the activations are fitted on (a multichannel
/// mixture's mono mix-down) and the ones the masks filter into sources (that signal itself, or
/// each channel of the mixture), `n` samples each.
struct MixtureSignals {
  const float* analysed = nullptr;
  std::vector<const float*> filtered;  ///< empty: `analysed` alone
  long n = 0;
};

/// Receives the separated audio in order, one block of samples at a time:
/// sources[s][c] holds `count` samples of source s in filtered signal c, from sample `begin`.
using SourceBlockSink =
    std::function<void(long begin, long count, const std::vector<std::vector<std::vector<float>>>& sources)>;

/// What separate_blocks learned: the fit and the factors it ended with.
struct FittedSources {
  FitReport fit;
  model::classic::Matrix W;  ///< (n_bins, ΣK_s + free) the templates used (free ones learned)
  model::classic::Matrix H;  ///< (ΣK_s + free, n_frames) fitted activations
  std::vector<int> ranks;    ///< columns of W per source, in `templates` order, then the free source
};

struct Separation {
  /// One signal per source in the order of `templates`, then the free source if any; each as
  /// long as the mixture.
  std::vector<std::vector<float>> signals;
  FitReport fit;
  model::classic::Matrix H;     ///< (ΣK_s + free, n_frames) fitted activations
  model::classic::Matrix W;     ///< (n_bins, ΣK_s + free) the templates used (free ones learned)
};

/// Separates a mixture into one signal per template set (then the free source), block by block:
/// with options.block_frames > 0, only that many frames' spectrograms and masks are held at a
/// time, and `sink` gets each block's samples as soon as they are resynthesised. With fixed
/// templates every frame's activations are fitted on its own, so blocks change nothing but
/// --tol's stopping point (judged per block) and the round-off; free templates are shared by
/// every frame, so with --free the fit holds the whole spectrogram (only the resynthesis is in
/// blocks). The activations start from one constant for the whole mixture in either case.
/// Errors as `separate`.
FittedSources separate_blocks(const MixtureSignals& mixture, const tf::Stft& stft,
                              const std::vector<model::classic::Matrix>& templates, const SeparationOptions& options,
                              const SourceBlockSink& sink);

/// Separates `mixture` (`n` samples) analysed by `stft` into one signal per template set, in
/// memory (separate_blocks with a sink that keeps everything).
/// `templates[s]` is (stft.n_bins(), K_s), non-negative. Throws UsageError if fewer than two
/// sources result (templates plus the free source), NumericalError if the fit diverges.
Separation separate(const float* mixture, long n, const tf::Stft& stft,
                    const std::vector<model::classic::Matrix>& templates,
                    const SeparationOptions& options);


/// The masks of separate_blocks for sources made of the column blocks `ranks` of W and the row
/// blocks of H (one block's frames, or all): masks[s] (n_bins, H.cols()), summing to one in every
/// T-F cell.
std::vector<model::classic::Matrix> soft_masks(const model::classic::Matrix& W,
                                               const Eigen::Ref<const model::classic::Matrix>& H,
                                               const std::vector<int>& ranks, double power,
                                               double mask_power);

/// The share of a signal's power that is its mean (DC): mean² / mean of squares, in [0, 1]
/// (0 for silence).
double dc_power_share(const std::vector<float>& samples);

/// Above this DC share of the mixture's power, warn_if_dc_offset warns.
inline constexpr double kDcShareWarning = 0.01;

/// Warns once, naming `name`, when a DC offset holds more than kDcShareWarning of the mixture's
/// power: the 0 Hz bins (and, through the window's main lobe, the next ones) go to whichever
/// source's templates are largest there, so one source takes the whole offset (piano + drums
/// with an offset of 0.1: 10.4 → −4.9 dB SDR).
void warn_if_dc_offset(const std::vector<float>& mixture, const std::string& name);

}  // namespace innmf::sep
