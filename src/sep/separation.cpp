#include "innmf/sep/separation.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "innmf/core/error.hpp"
#include "innmf/core/huge_pages.hpp"
#include "innmf/core/log.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/model/beta_divergence.hpp"
#include "innmf/nn/activations.hpp"
#include "innmf/train/optimizer.hpp"

namespace innmf::sep {
namespace {

using model::classic::Matrix;
using Array = Eigen::ArrayXXf;
constexpr float kEpsilon = static_cast<float>(model::kBetaEpsilon);

/// The exponent that makes a multiplicative update a majorisation-minimisation step
/// (Févotte & Idier 2011; classic_nmf.hpp).
double mm_exponent(double beta) {
  if (beta < 1) return 1.0 / (2.0 - beta);
  if (beta > 2) return 1.0 / (beta - 1.0);
  return 1.0;
}

/// The fit's bins × frames buffers, sized once (a new array per update would be tens of MB of
/// page faults on a long mixture): `ratio` for KL (β = 1), `up` and `down` for other β.
struct FitBuffers {
  Matrix ratio;  ///< V ⊘ max(WH, ε)
  Matrix up;     ///< V ⊙ Λ^(β−2)
  Matrix down;   ///< Λ^(β−1)
};

/// The two factors of the β-divergence's gradient with respect to Λ = WH, floored at ε, for
/// β ≠ 1: ∂D/∂Λ = Λ^(β−1) − V ⊙ Λ^(β−2) = `down` − `up`, into the buffers.
void gradient_parts(const Matrix& V, const Matrix& W, const Matrix& H, double beta, FitBuffers& buffers) {
  buffers.down.noalias() = W * H;
  auto lambda = buffers.down.array();
  lambda = lambda.max(kEpsilon);
  if (beta == 2) {
    buffers.up = V;  // and down = Λ
    return;
  }
  const auto b = static_cast<float>(beta);
  buffers.up.array() = V.array() * lambda.pow(b - 2);
  lambda = lambda.pow(b - 1);
}

/// ∂D/∂Λ = `down` − `up` (the operations of gradient_parts, so the same bits) into
/// `gradient` (bins, frames), which the caller sizes once per fit: no other bins × frames array.
void loss_gradient(const Matrix& V, const Matrix& W, const Matrix& H, double beta, Matrix& gradient) {
  gradient.noalias() = W * H;
  auto lambda = gradient.array();
  lambda = lambda.max(kEpsilon);
  const auto b = static_cast<float>(beta);
  if (beta == 1)
    lambda = 1.0f - V.array() / lambda;
  else if (beta == 2)
    lambda = lambda - V.array();
  else
    lambda = lambda.pow(b - 1) - V.array() * lambda.pow(b - 2);
}

/// factor^e elementwise, with e = mm_exponent(β): 1 for β in [1, 2], where the power is skipped.
template <typename Expression>
void scale_by_factor(Eigen::ArrayBase<Expression>& target, const Array& factor, double beta) {
  const double exponent = mm_exponent(beta);
  if (exponent == 1.0)
    target *= factor;
  else
    target *= factor.pow(static_cast<float>(exponent));
}

/// ratio = V ⊘ max(WH, ε), (bins, frames): for KL (β = 1) the whole gradient but for the constant
/// term.
void kl_ratio(const Matrix& V, const Matrix& W, const Matrix& H, Matrix& ratio) {
  ratio.noalias() = W * H;
  ratio.array() = V.array() / ratio.array().max(kEpsilon);
}

/// One multiplicative update of H (all rows) with W fixed.
void update_activations(const Matrix& V, const Matrix& W, Matrix& H, double beta, FitBuffers& buffers) {
  if (beta == 1) {
    // KL: the `down` factor is all ones, so Wᵀ·1 is W's column sums, the same for every frame:
    // one product (Wᵀ·ratio) instead of two.
    kl_ratio(V, W, H, buffers.ratio);
    const Array numerator = W.transpose() * buffers.ratio;                                // (K, T)
    const Eigen::ArrayXf column_sums = W.colwise().sum().transpose().array().max(kEpsilon);  // (K)
    auto h = H.array();
    scale_by_factor(h, numerator.colwise() / column_sums, beta);
    return;
  }
  gradient_parts(V, W, H, beta, buffers);
  const Array numerator = W.transpose() * buffers.up;
  const Array denominator = (W.transpose() * buffers.down).array().max(kEpsilon);
  auto h = H.array();
  scale_by_factor(h, numerator / denominator, beta);
}

/// One multiplicative update of the last `n_free` columns of W with H fixed.
void update_free_templates(const Matrix& V, Matrix& W, const Matrix& H, int n_free, double beta, FitBuffers& buffers) {
  const auto H_free = H.bottomRows(n_free);
  auto w_free = W.rightCols(n_free).array();
  if (beta == 1) {  // KL: 1·H_freeᵀ is H_free's row sums, the same for every bin
    kl_ratio(V, W, H, buffers.ratio);
    const Array numerator = buffers.ratio * H_free.transpose();                                       // (F, n_free)
    const Eigen::Array<float, 1, Eigen::Dynamic> row_sums = H_free.rowwise().sum().transpose().array().max(kEpsilon);  // (n_free)
    scale_by_factor(w_free, numerator.rowwise() / row_sums, beta);
    return;
  }
  gradient_parts(V, W, H, beta, buffers);
  const Array numerator = buffers.up * H_free.transpose();
  const Array denominator = (buffers.down * H_free.transpose()).array().max(kEpsilon);
  scale_by_factor(w_free, numerator / denominator, beta);
}

/// D_β(V | WH) against the fit's V, prepared once (model::classic::loss_against).
using LossOfFit = std::function<model::classic::Loss(const Matrix& W, const Matrix& H)>;

double mean_loss(const LossOfFit& loss_of, const Matrix& W, const Matrix& H) {
  const double loss = loss_of(W, H).mean;
  if (!std::isfinite(loss))
    throw NumericalError(fmt::format("the fit of the activations diverged (loss {}): with --fit "
                                     "rprop lower --lr, or use --fit mu",
                                     loss));
  return loss;
}

bool converged(const std::vector<double>& loss, double tolerance) {
  const double previous = loss[loss.size() - 2], current = loss.back();
  return tolerance > 0 && previous > 0 && (previous - current) / previous < tolerance;
}

/// Multiplicative updates of H and of the free templates (the fixed templates never move).
FitReport fit_multiplicative(const Matrix& V, Matrix& W, Matrix& H, const SeparationOptions& o) {
  FitReport report;
  if (o.free_templates == 0) {  // only H moves: the fast fused kernels of classic NMF
    model::classic::MuOptions mu;
    mu.beta = o.beta;
    mu.iterations = o.iterations;
    mu.tolerance = o.tolerance;
    const auto result = model::classic::fit_activations(V, W, H, mu);
    report.iterations = result.iterations;
    report.converged = result.converged;
    report.loss = result.loss;
    return report;
  }
  const auto loss_of = model::classic::loss_against(V, o.beta);
  FitBuffers buffers;
  for (Matrix* buffer : o.beta == 1 ? std::vector<Matrix*>{&buffers.ratio} : std::vector<Matrix*>{&buffers.up, &buffers.down}) {
    buffer->resize(V.rows(), V.cols());
    advise_huge_pages(*buffer);
  }
  report.loss.push_back(mean_loss(loss_of, W, H));
  for (int i = 1; i <= o.iterations; ++i) {
    update_activations(V, W, H, o.beta, buffers);
    update_free_templates(V, W, H, o.free_templates, o.beta, buffers);
    report.loss.push_back(mean_loss(loss_of, W, H));
    report.iterations = i;
    if (converged(report.loss, o.tolerance)) {
      report.converged = true;
      break;
    }
  }
  return report;
}

/// The paper's fit: full-batch Rprop on unconstrained θ with H = softplus(θ) (and the free
/// templates likewise), all in one flat parameter buffer [θ_H (column-major) | θ_Wfree].
FitReport fit_rprop(const Matrix& V, Matrix& W, Matrix& H, const SeparationOptions& o) {
  const Eigen::Index h_size = H.size(), free_size = V.rows() * o.free_templates;
  std::vector<float> theta(static_cast<std::size_t>(h_size + free_size));
  std::vector<float> gradient(theta.size());
  Eigen::Map<Eigen::ArrayXf> theta_h(theta.data(), h_size), grad_h(gradient.data(), h_size);
  Eigen::Map<Eigen::ArrayXf> theta_w(theta.data() + h_size, free_size),
      grad_w(gradient.data() + h_size, free_size);
  const auto inverse = [](float y) { return nn::softplus_inverse(std::max(y, 1e-6f)); };
  theta_h = H.reshaped().array().unaryExpr(inverse);
  if (o.free_templates > 0) theta_w = W.rightCols(o.free_templates).reshaped().array().unaryExpr(inverse);
  const auto softplus = [](float x) { return nn::softplus(x); };
  const auto sigmoid = [](float x) { return nn::softplus_derivative(x); };
  const auto unpack = [&] {
    H.reshaped() = theta_h.unaryExpr(softplus).matrix();
    if (o.free_templates > 0) W.rightCols(o.free_templates).reshaped() = theta_w.unaryExpr(softplus).matrix();
  };

  train::Rprop rprop(theta.size(), o.learning_rate);
  const auto loss_of = model::classic::loss_against(V, o.beta);
  FitReport report;
  unpack();
  report.loss.push_back(mean_loss(loss_of, W, H));
  Matrix dLambda(V.rows(), V.cols());  // ∂D/∂Λ (up to the 1/size of the mean)
  advise_huge_pages(dLambda);
  for (int i = 1; i <= o.iterations; ++i) {
    loss_gradient(V, W, H, o.beta, dLambda);
    const Matrix dH = W.transpose() * dLambda;
    grad_h = dH.reshaped().array() * theta_h.unaryExpr(sigmoid);
    if (o.free_templates > 0) {
      const Matrix dW = dLambda * H.bottomRows(o.free_templates).transpose();
      grad_w = dW.reshaped().array() * theta_w.unaryExpr(sigmoid);
    }
    rprop.step(theta.data(), gradient.data());
    unpack();
    report.loss.push_back(mean_loss(loss_of, W, H));
    report.iterations = i;
  }
  return report;
}

}  // namespace

FitMethod parse_fit_method(const std::string& name) {
  if (name == "mu") return FitMethod::mu;
  if (name == "rprop") return FitMethod::rprop;
  throw UsageError(fmt::format("--fit {}: expected mu (multiplicative updates) or rprop", name));
}

std::string fit_method_name(FitMethod method) { return method == FitMethod::mu ? "mu" : "rprop"; }

void validate(const SeparationOptions& o) {
  if (o.iterations < 1) throw UsageError(fmt::format("--iters {}: must be at least 1", o.iterations));
  if (!(o.tolerance >= 0 && o.tolerance < 1))
    throw UsageError(fmt::format("--tol {}: must be in [0, 1)", o.tolerance));
  if (!(o.learning_rate > 0 && std::isfinite(o.learning_rate)))
    throw UsageError(fmt::format("--lr {}: must be positive", o.learning_rate));
  if (!(o.mask_power > 0 && o.mask_power <= 16))
    throw UsageError(fmt::format("--mask-power {}: must be in (0, 16] (1: magnitude ratio, 2: "
                                 "Wiener-like)",
                                 o.mask_power));
  if (o.free_templates < 0 || o.free_templates > 1000)
    throw UsageError(fmt::format("--free {}: must be between 0 and 1000", o.free_templates));
}

std::vector<Matrix> soft_masks(const Matrix& W, const Eigen::Ref<const Matrix>& H, const std::vector<int>& ranks,
                               double power, double mask_power) {
  // Λ_s = W_s H_s straight into the masks, then one pass over each frame turns them into
  // (Λ_s / max_r Λ_r)^(q/p) / Σ_s (…): no other bins × frames matrix is made (they are
  // 64 MB each for three minutes at 44.1 kHz, and every new one is page faults).
  const auto n_sources = ranks.size();
  std::vector<Matrix> masks(n_sources);
  Eigen::Index first = 0;
  for (std::size_t s = 0; s < n_sources; ++s) {
    masks[s].resize(W.rows(), H.cols());
    advise_huge_pages(masks[s]);
    masks[s].noalias() = W.middleCols(first, ranks[s]) * H.middleRows(first, ranks[s]);
    first += ranks[s];
  }
  const auto exponent = static_cast<float>(mask_power / power);
  const float equal_share = 1.0f / static_cast<float>(n_sources);
  const Eigen::Index bins = W.rows(), frames = H.cols();
#pragma omp parallel
  {
    std::vector<float*> column(n_sources);
    Eigen::ArrayXf largest(bins), total(bins);
#pragma omp for schedule(static)
    for (Eigen::Index j = 0; j < frames; ++j) {
      for (std::size_t s = 0; s < n_sources; ++s) column[s] = masks[s].col(j).data();
      // Divide by the largest source before raising to q/p (up to 32 for p = 0.5, q = 16): no overflow.
      largest.setZero();
      for (const float* c : column) largest = largest.max(Eigen::Map<const Eigen::ArrayXf>(c, bins));
      largest = largest.max(std::numeric_limits<float>::min());
      total.setZero();
      for (float* c : column) {
        Eigen::Map<Eigen::ArrayXf> e(c, bins);
        e = (e / largest).max(0.0f).pow(exponent);
        total += e;
      }
      for (float* c : column) {
        Eigen::Map<Eigen::ArrayXf> e(c, bins);
        e = (total > 0).select(e / total, equal_share);
      }
    }
  }
  return masks;
}

namespace {

/// V = |X|^p of frames [first, first + count) of the fitted signal: (n_bins, count).
Matrix compressed_frames(const tf::Stft& stft, const MixtureSignals& mixture, long first, long count, double power) {
  return model::classic::compressed(stft.analyze_frames(mixture.analysed, mixture.n, first, count), power);
}

/// V = |X|^p of every frame, (n_bins, n_frames), computed `chunk_frames` frames at a time (the
/// complex spectra of one chunk are all that is held besides V).
Matrix compressed_whole(const tf::Stft& stft, const MixtureSignals& mixture, long chunk_frames, double power) {
  const long frames = stft.n_frames(mixture.n);
  if (chunk_frames >= frames) return compressed_frames(stft, mixture, 0, frames, power);
  Matrix V(stft.n_bins(), frames);
  advise_huge_pages(V);
  for (long first = 0; first < frames; first += chunk_frames) {
    const long count = std::min(chunk_frames, frames - first);
    V.middleCols(first, count) = compressed_frames(stft, mixture, first, count, power);
  }
  return V;
}

/// The value every activation starts from, that of classic::constant_activations, with the mean
/// of V over the whole mixture taken block by block.
float initial_activation(const tf::Stft& stft, const MixtureSignals& mixture, long block_frames, Eigen::Index rank,
                         double power) {
  const long frames = stft.n_frames(mixture.n);
  double sum = 0;
  for (long first = 0; first < frames; first += block_frames) {
    const long count = std::min(block_frames, frames - first);
    sum += compressed_frames(stft, mixture, first, count, power).cast<double>().sum();
  }
  return static_cast<float>(model::classic::initial_scale(sum / (static_cast<double>(frames) * stft.n_bins()), rank));
}

FitReport fit(const Matrix& V, Matrix& W, Matrix& H, const SeparationOptions& o) {
  return o.fit == FitMethod::mu ? fit_multiplicative(V, W, H, o) : fit_rprop(V, W, H, o);
}

/// Fits H block after block of frames with W fixed (no free templates), each block from the
/// same constant; the blocks' loss curves merge into one weighted by their entries.
FitReport fit_in_blocks(const tf::Stft& stft, const MixtureSignals& mixture, const Matrix& W, Matrix& H,
                        long block_frames, const SeparationOptions& o) {
  const long frames = H.cols();
  const float start = initial_activation(stft, mixture, block_frames, W.cols(), o.power);
  FitReport report;
  report.converged = true;
  report.blocks = 0;
  std::vector<std::pair<long, std::vector<double>>> curves;  // (frames, loss per update) per block
  for (long first = 0; first < frames; first += block_frames) {
    const long count = std::min(block_frames, frames - first);
    const Matrix V = compressed_frames(stft, mixture, first, count, o.power);
    Matrix H_block = Matrix::Constant(W.cols(), count, start);
    Matrix W_block = W;  // the fits take W by reference to move free templates; there are none here
    auto block = fit(V, W_block, H_block, o);
    H.middleCols(first, count) = H_block;
    report.iterations = std::max(report.iterations, block.iterations);
    report.converged = report.converged && block.converged;
    curves.emplace_back(count, std::move(block.loss));
    ++report.blocks;
  }
  std::size_t longest = 0;
  for (const auto& curve : curves) longest = std::max(longest, curve.second.size());
  report.loss.assign(longest, 0.0);
  for (const auto& [count, loss] : curves)
    for (std::size_t i = 0; i < longest; ++i)
      report.loss[i] += static_cast<double>(count) / static_cast<double>(frames) * loss[std::min(i, loss.size() - 1)];
  return report;
}

}  // namespace

FittedSources separate_blocks(const MixtureSignals& mixture, const tf::Stft& stft, const std::vector<Matrix>& templates,
                              const SeparationOptions& o, const SourceBlockSink& sink) {
  validate(o);
  const auto n_sources = templates.size() + (o.free_templates > 0 ? 1 : 0);
  if (n_sources < 2)
    throw UsageError("separation needs at least two sources: give another --model, or --free K for "
                     "a source that has no model");
  Stopwatch watch;
  const long n = mixture.n, frames = stft.n_frames(n);
  const Eigen::Index bins = stft.n_bins();
  const long block_frames = o.block_frames > 0 ? std::min(o.block_frames, frames) : frames;

  FittedSources result;
  Eigen::Index total_rank = o.free_templates;
  for (const auto& W_s : templates) {
    if (W_s.rows() != bins)
      throw Error(ExitCode::failure, fmt::format("templates have {} bins, the STFT {}", W_s.rows(), bins));
    result.ranks.push_back(static_cast<int>(W_s.cols()));
    total_rank += W_s.cols();
  }
  result.W.resize(bins, total_rank);
  Eigen::Index first_column = 0;
  for (const auto& W_s : templates) {
    result.W.middleCols(first_column, W_s.cols()) = W_s;
    first_column += W_s.cols();
  }
  if (o.free_templates > 0) result.ranks.push_back(o.free_templates);

  // The fit. Free templates are shared by every frame: one fit over the whole spectrogram.
  if (o.free_templates > 0 || block_frames == frames) {
    const Matrix V = compressed_whole(stft, mixture, block_frames, o.power);
    if (o.free_templates > 0)
      result.W.rightCols(o.free_templates) = model::classic::random_init(V, o.free_templates, o.seed).W;
    result.H = model::classic::constant_activations(V, total_rank);
    result.fit = fit(V, result.W, result.H, o);
  } else {
    result.H.resize(total_rank, frames);
    result.fit = fit_in_blocks(stft, mixture, result.W, result.H, block_frames, o);
  }

  // The resynthesis, block_frames · hop samples at a time: each block's masks and spectra cover
  // the frames that reach its samples (a few more than its own), so the seams are exact.
  std::vector<const float*> filtered = mixture.filtered;
  if (filtered.empty()) filtered.push_back(mixture.analysed);
  const long block_samples = block_frames * stft.config().hop;
  std::vector<std::vector<std::vector<float>>> sources(n_sources, std::vector<std::vector<float>>(filtered.size()));
  for (long begin = 0; begin < n; begin += block_samples) {
    const long end = block_frames == frames ? n : std::min(n, begin + block_samples);
    const tf::FrameRange range = stft.frames_covering(n, begin, end);
    const auto masks = soft_masks(result.W, result.H.middleCols(range.first, range.count()), result.ranks, o.power,
                                  o.mask_power);
    for (std::size_t c = 0; c < filtered.size(); ++c) {
      const tf::ComplexSpectrogram X = stft.analyze_frames(filtered[c], n, range.first, range.count());
      for (std::size_t s = 0; s < n_sources; ++s)
        sources[s][c] = stft.synthesize_samples(X, masks[s].data(), range.first, n, begin, end);
    }
    sink(begin, end - begin, sources);
    if (end == n) break;
  }
  result.fit.seconds = watch.seconds();
  return result;
}

Separation separate(const float* mixture, long n, const tf::Stft& stft, const std::vector<Matrix>& templates,
                    const SeparationOptions& o) {
  Separation result;
  const auto keep = [&](long begin, long count, const std::vector<std::vector<std::vector<float>>>& sources) {
    result.signals.resize(sources.size());
    for (std::size_t s = 0; s < sources.size(); ++s) {
      result.signals[s].resize(static_cast<std::size_t>(begin + count));
      std::copy(sources[s][0].begin(), sources[s][0].end(), result.signals[s].begin() + begin);
    }
  };
  auto fitted = separate_blocks({mixture, {}, n}, stft, templates, o, keep);
  result.fit = std::move(fitted.fit);
  result.W = std::move(fitted.W);
  result.H = std::move(fitted.H);
  return result;
}

double dc_power_share(const std::vector<float>& samples) {
  if (samples.empty()) return 0;
  double sum = 0, sum_of_squares = 0;
  for (const float x : samples) {
    sum += x;
    sum_of_squares += static_cast<double>(x) * x;
  }
  const double n = static_cast<double>(samples.size());
  return sum_of_squares > 0 ? std::min(1.0, (sum / n) * (sum / n) / (sum_of_squares / n)) : 0.0;
}

void warn_if_dc_offset(const std::vector<float>& mixture, const std::string& name) {
  const double share = dc_power_share(mixture);
  if (share <= kDcShareWarning) return;
  log::warn("{}: a DC offset holds {:.0f} % of the mixture's power: the lowest bins go to whichever source's "
            "templates are largest there, so one source takes the whole offset; remove it first (e.g. `sox {} "
            "out.wav highpass 10`)",
            name, 100 * share, name);
}

}  // namespace innmf::sep
