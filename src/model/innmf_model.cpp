#include "innmf/model/innmf_model.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <random>
#include <type_traits>

#include "innmf/core/error.hpp"
#include "innmf/nn/activations.hpp"

namespace innmf::model {

ActivationKind parse_activation_kind(const std::string& name) {
  if (name == "grid") return ActivationKind::grid;
  if (name == "mlp") return ActivationKind::mlp;
  throw UsageError(fmt::format("--activations {}: use grid (knots, the paper's explicit H) or mlp "
                               "(an implicit network per clip)",
                               name));
}

std::string activation_kind_name(ActivationKind kind) { return kind == ActivationKind::grid ? "grid" : "mlp"; }

namespace {

nn::MlpShape shape_of(const ModelConfig& config) {
  return {2 * config.n_fourier, config.hidden, config.layers, config.rank, config.architecture};
}

/// Seeds derived from the run's seed, one stream per purpose (and per clip), so that a clip's
/// initial activations do not depend on which rank holds it.
std::uint64_t derived_seed(std::uint64_t seed, std::uint64_t stream, std::uint64_t index = 0) {
  std::seed_seq sequence{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32),
                         static_cast<std::uint32_t>(stream), static_cast<std::uint32_t>(index),
                         static_cast<std::uint32_t>(index >> 32)};
  std::uint64_t out[1];
  std::uint32_t words[2];
  sequence.generate(words, words + 2);
  out[0] = (static_cast<std::uint64_t>(words[0]) << 32) | words[1];
  return out[0];
}

enum Stream : std::uint64_t { kTemplateEncoding = 1, kTemplateWeights, kActivationEncoding, kActivationInit };

}  // namespace

nn::FourierFeatures activation_encoding(std::uint64_t seed, int n_fourier, std::uint64_t global_index) {
  return nn::FourierFeatures(n_fourier, derived_seed(seed, kActivationEncoding, global_index));
}

template <typename Scalar>
InnmfModel<Scalar>::InnmfModel(const ModelConfig& config, const PreparedPoints& points,
                               double mean_target)
    : config_(config), beta_(Beta::of(config.beta)) {
  if (config.rank < 1) throw UsageError(fmt::format("--rank {}: must be at least 1", config.rank));
  if (!(config.f_ref > 0))
    throw UsageError(fmt::format("f_ref {} Hz: must be positive (the corpus Nyquist)", config.f_ref));
  if (config.activations == ActivationKind::grid && !(config.knot_spacing > 0))
    throw UsageError(fmt::format("--knot-spacing {}: grid activations need a positive knot spacing [s]",
                                 config.knot_spacing));
  template_field_ = std::make_unique<NeuralField<Scalar>>(
      shape_of(config), nn::FourierFeatures(config.n_fourier, derived_seed(config.seed, kTemplateEncoding)),
      config.f_ref);
  template_params_.resize(template_field_->n_parameters());
  template_field_->initialize(template_params_.data(), derived_seed(config.seed, kTemplateWeights), config.sine_scale);
  template_batch_ = template_field_->prepare(points.unique_freqs);

  // Scale of the initial activations: ŷ = Σ_k W_k H_k ≈ K · mean(W) · h0 should match the mean
  // target. mean(W) over a fixed frequency grid, so that every rank computes the same h0.
  std::vector<double> probe(256);
  for (std::size_t i = 0; i < probe.size(); ++i) probe[i] = config.f_ref * i / (probe.size() - 1);
  const RowMatrix<Scalar> w_probe = templates_at(probe);
  const double mean_w = std::max(1e-6, static_cast<double>(w_probe.mean()));
  const double h0 = std::max(1e-6, mean_target / (config.rank * mean_w));

  std::size_t offset = 0;
  clips_.resize(points.clips.size());
  for (std::size_t c = 0; c < points.clips.size(); ++c) {
    const auto& clip = points.clips[c];
    auto& field = clips_[c];
    field.offset = offset;
    const double duration = std::max(clip.info.duration, clip.unique_times.empty() ? 0.0 : clip.unique_times.back());
    if (config.activations == ActivationKind::grid) {
      field.grid = std::make_unique<GridField<Scalar>>(config.knot_spacing, duration, config.rank);
      field.size = field.grid->n_parameters();
      field.grid_batch = field.grid->prepare(clip.unique_times);
    } else {
      field.mlp = std::make_unique<NeuralField<Scalar>>(
          shape_of(config),
          activation_encoding(config.seed, config.n_fourier, clip.global_index),
          std::max(duration, 1e-3));
      field.size = field.mlp->n_parameters();
      field.mlp_batch = field.mlp->prepare(clip.unique_times);
    }
    offset += field.size;
  }
  activation_params_.resize(offset);
  for (std::size_t c = 0; c < clips_.size(); ++c) {
    auto& field = clips_[c];
    Scalar* theta = activation_params_.data() + field.offset;
    const auto seed = derived_seed(config.seed, kActivationInit, points.clips[c].global_index);
    if (field.grid) {
      std::mt19937_64 rng(seed);
      std::uniform_real_distribution<double> jitter(0.5, 1.5);
      for (std::size_t i = 0; i < field.size; ++i)
        theta[i] = static_cast<Scalar>(nn::softplus_inverse(h0 * jitter(rng)));
    } else {
      field.mlp->initialize(theta, seed, config.sine_scale);
      // Shift the output biases so that softplus(out) starts near h0.
      const auto& mlp = field.mlp->mlp();
      const std::size_t per_network = mlp.n_parameters() / static_cast<std::size_t>(mlp.n_networks());
      const int outputs_per_network = config.rank / mlp.n_networks();
      for (int k = 0; k < mlp.n_networks(); ++k)
        for (int o = 0; o < outputs_per_network; ++o)
          theta[(static_cast<std::size_t>(k) + 1) * per_network - static_cast<std::size_t>(outputs_per_network - o)] +=
              static_cast<Scalar>(nn::softplus_inverse(h0) - nn::softplus(0.0));
    }
  }
}

template <typename Scalar>
void InnmfModel<Scalar>::forward_activations(std::size_t c) {
  auto& field = clips_[c];
  const Scalar* theta = activation_params_.data() + field.offset;
  if (field.grid)
    field.grid->forward(theta, field.grid_batch);
  else
    field.mlp->forward(theta, field.mlp_batch);
}

template <typename Scalar>
const RowMatrix<Scalar>& InnmfModel<Scalar>::activation_values(std::size_t c) const {
  return clips_[c].grid ? clips_[c].grid_batch.value : clips_[c].mlp_batch.value;
}

template <typename Scalar>
void InnmfModel<Scalar>::backward_activations(std::size_t c, const RowMatrix<Scalar>& d_value, Scalar* grad) {
  auto& field = clips_[c];
  const Scalar* theta = activation_params_.data() + field.offset;
  if (field.grid)
    field.grid->backward(theta, field.grid_batch, d_value, grad + field.offset);
  else
    field.mlp->backward(theta, field.mlp_batch, d_value, grad + field.offset);
}

template <typename Scalar>
double divergence_row(const Beta& beta, double normalizer, const float* y, Scalar* g, Eigen::Index n,
                      Eigen::Array<Scalar, Eigen::Dynamic, 1>& ratio) {
  if constexpr (std::is_same_v<Scalar, float>) {
    if (beta.kind == BetaKind::kullback_leibler) {
      // D = y·log(y/ŷ) − y + ŷ and ∂D/∂ŷ = 1 − y/ŷ with ŷ floored at ε, as beta_divergence;
      // y = 0 gives 0·log(FLT_MIN) = 0 (0·log 0 = 0). Three passes over an L1-resident row.
      const auto epsilon = static_cast<float>(kBetaEpsilon);
      Eigen::Map<Eigen::ArrayXf> block(g, n);
      const Eigen::Map<const Eigen::ArrayXf> target(y, n);
      ratio.resize(n);
      ratio = target / block.max(epsilon);
      const float sum =
          (block.max(epsilon) - target + target * ratio.max(std::numeric_limits<float>::min()).log()).sum();
      block = static_cast<float>(normalizer) * (1.0f - ratio);
      return sum;
    }
  }
  double sum = 0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double yhat = g[i];
    sum += beta_divergence(beta, y[i], yhat);
    g[i] = static_cast<Scalar>(normalizer * beta_gradient(beta, y[i], yhat));
  }
  return sum;
}

template double divergence_row<float>(const Beta&, double, const float*, float*, Eigen::Index,
                                      Eigen::ArrayXf&);
template double divergence_row<double>(const Beta&, double, const float*, double*, Eigen::Index,
                                       Eigen::ArrayXd&);

template <typename Scalar>
const RowMatrix<Scalar>& InnmfModel<Scalar>::clip_templates(const PreparedClip& clip, const RowMatrix<Scalar>& W,
                                                            DenseWorkspace& work) const {
  if (clip.all_frequencies) return W;
  const auto n_freqs = static_cast<Eigen::Index>(clip.freq_index.size());
  work.gathered.resize(n_freqs, config_.rank);
  for (Eigen::Index j = 0; j < n_freqs; ++j) work.gathered.row(j) = W.row(clip.freq_index[static_cast<std::size_t>(j)]);
  return work.gathered;
}

template <typename Scalar>
Eigen::Index InnmfModel<Scalar>::row_tile(Eigen::Index n_freqs, DenseWorkspace& work) {
  // Row tiles of ~128 KB: Ŷ/G is written, transformed and read by two products in L2.
  const Eigen::Index tile = std::max<Eigen::Index>(8, Eigen::Index{32768} / std::max<Eigen::Index>(1, n_freqs));
  if (work.block.size() < static_cast<std::size_t>(tile * n_freqs)) work.block.resize(static_cast<std::size_t>(tile * n_freqs));
  return tile;
}

template <typename Scalar>
double InnmfModel<Scalar>::dense_block(const PreparedClip& clip, const RowMatrix<Scalar>& W,
                                       const RowMatrix<Scalar>& H, double normalizer,
                                       RowMatrix<Scalar>& dH, DenseWorkspace& work, Eigen::Index row_begin,
                                       Eigen::Index row_end) const {
  const int K = config_.rank;
  const auto n_freqs = static_cast<Eigen::Index>(clip.freq_index.size());
  const RowMatrix<Scalar>& Wc = clip_templates(clip, W, work);  // (n_freqs, K)
  if (!clip.all_frequencies) work.d_gathered.setZero(n_freqs, K);
  RowMatrix<Scalar>& dWc = clip.all_frequencies ? work.d_templates : work.d_gathered;
  const Eigen::Index tile = row_tile(n_freqs, work);
  double sum = 0;
  for (Eigen::Index r0 = row_begin; r0 < row_end; r0 += tile) {
    const Eigen::Index rows = std::min(tile, row_end - r0);
    Eigen::Map<RowMatrix<Scalar>> G(work.block.data(), rows, n_freqs);
    const auto H_tile = H.middleRows(r0, rows);
    G.noalias() = H_tile * Wc.transpose();
    for (Eigen::Index i = 0; i < rows; ++i)
      sum += divergence_row(beta_, normalizer, clip.y.data() + (r0 + i) * n_freqs, G.row(i).data(), n_freqs,
                            work.ratio);
    dH.middleRows(r0, rows).noalias() = G * Wc;
    dWc.noalias() += G.transpose() * H_tile;
  }
  if (!clip.all_frequencies)
    for (Eigen::Index j = 0; j < n_freqs; ++j)
      work.d_templates.row(clip.freq_index[static_cast<std::size_t>(j)]) += work.d_gathered.row(j);
  return sum;
}

template <typename Scalar>
Evaluation InnmfModel<Scalar>::evaluate(const PreparedPoints& points, double normalizer,
                                        Scalar* template_grad, Scalar* activation_grad) {
  forward_templates(0, n_template_networks());
  const Evaluation result = evaluate_factors(points, normalizer, d_templates_, activation_grad);
  backward_templates(d_templates_, 0, n_template_networks(), template_grad);
  return result;
}

template <typename Scalar>
void InnmfModel<Scalar>::forward_templates(int first, int last) {
  template_field_->forward(template_params_.data(), template_batch_, first, last);
}

template <typename Scalar>
void InnmfModel<Scalar>::backward_templates(const RowMatrix<Scalar>& d_templates, int first, int last,
                                            Scalar* template_grad) {
  // Back-propagate through the networks once per unique coordinate.
  const std::size_t size = template_network_size();
  std::fill(template_grad + static_cast<std::size_t>(first) * size,
            template_grad + static_cast<std::size_t>(last) * size, Scalar(0));
  template_field_->backward(template_params_.data(), template_batch_, d_templates, template_grad, first, last);
}

template <typename Scalar>
Evaluation InnmfModel<Scalar>::evaluate_factors(const PreparedPoints& points, double normalizer,
                                                RowMatrix<Scalar>& d_templates, Scalar* activation_grad) {
  const int K = config_.rank;
  // 1. The activation fields at the unique times (W: forward_templates and the caller).
  const RowMatrix<Scalar>& W = template_batch_.value;  // (|U_f|, K)
  const auto n_clips = static_cast<long>(clips_.size());
  if (config_.activations == ActivationKind::mlp)  // (grid: inside the parallel region below)
    for (long c = 0; c < n_clips; ++c) forward_activations(static_cast<std::size_t>(c));  // parallel inside

  // 2.–3. ŷ, D and ∂D/∂ŷ per point, then dW and dH: threads take whole clips, or row ranges
  // of a grid clip when there are fewer clips than threads; each thread accumulates dW in its own
  // buffer, summed below in thread order (deterministic for a given thread count).
  const int n_threads = omp_get_max_threads();
  if (workspaces_.size() != static_cast<std::size_t>(n_threads))
    workspaces_.assign(static_cast<std::size_t>(n_threads), DenseWorkspace{});
  d_activations_.resize(clips_.size());
  items_.clear();
  const bool split_clips = n_clips < n_threads;
  for (std::size_t c = 0; c < clips_.size(); ++c) {
    const auto rows = static_cast<Eigen::Index>(points.clips[c].unique_times.size());
    if (d_activations_[c].rows() != rows || d_activations_[c].cols() != K) d_activations_[c].resize(rows, K);
    if (points.clips[c].grid && split_clips) {
      const Eigen::Index chunk = (rows + n_threads - 1) / n_threads;
      for (Eigen::Index r0 = 0; r0 < rows; r0 += chunk) items_.push_back({c, r0, std::min(rows, r0 + chunk)});
    } else {
      items_.push_back({c, 0, rows});
    }
  }
  if (d_templates.rows() != W.rows() || d_templates.cols() != K) d_templates.resize(W.rows(), K);
  // Every thread's dW (|U_f|, K) is allocated here, not in the parallel region: 10⁶ peak
  // frequencies make it ~100 MB, and a std::bad_alloc must not leave an OpenMP region
  // (std::terminate) but reach the caller's "out of memory" report.
  for (auto& work : workspaces_)
    if (work.d_templates.rows() != W.rows() || work.d_templates.cols() != K) work.d_templates.resize(W.rows(), K);
  std::fill(activation_grad, activation_grad + activation_params_.size(), Scalar(0));
  std::vector<double> divergence(static_cast<std::size_t>(n_threads), 0.0);
  const Beta beta = beta_;
  const bool grid = config_.activations == ActivationKind::grid;
  const auto n_items = static_cast<long>(items_.size());
  // One parallel region for the activation fields' forward, the points, the merge of dW and the
  // activation fields' backward (grid; an mlp field runs its networks in parallel itself).
#pragma omp parallel num_threads(n_threads)
  {
    const int thread = omp_get_thread_num();
    if (grid && split_clips) {
      // Fewer clips than threads (one 20-s clip): every thread takes a share of each clip's
      // knots (softplus and its derivative), then of its rows (interpolation).
#pragma omp single
      for (std::size_t c = 0; c < clips_.size(); ++c) clips_[c].grid->size_tables(clips_[c].grid_batch);
      for (std::size_t c = 0; c < clips_.size(); ++c) {
        auto& field = clips_[c];
        const Scalar* theta = activation_params_.data() + field.offset;
#pragma omp for schedule(static)
        for (Eigen::Index j = 0; j < field.grid->n_knots(); ++j) field.grid->knots(theta, field.grid_batch, j, j + 1);
#pragma omp for schedule(static)
        for (Eigen::Index i = 0; i < field.grid_batch.value.rows(); ++i) field.grid->interpolate(field.grid_batch, i, i + 1);
      }
    } else if (grid) {
#pragma omp for schedule(static)
      for (long c = 0; c < n_clips; ++c) forward_activations(static_cast<std::size_t>(c));
    }
    DenseWorkspace& work = workspaces_[static_cast<std::size_t>(thread)];
    RowMatrix<Scalar>& dW = work.d_templates;
    dW.setZero();
    double local = 0;
#pragma omp for schedule(static)
    for (long item = 0; item < n_items; ++item) {
      const WorkItem& unit = items_[static_cast<std::size_t>(item)];
      const auto& clip = points.clips[unit.clip];
      const RowMatrix<Scalar>& H = activation_values(unit.clip);  // (|U_t|, K)
      RowMatrix<Scalar>& dH = d_activations_[unit.clip];
      if (clip.grid) {
        local += dense_block(clip, W, H, normalizer, dH, work, unit.begin, unit.end);
      } else {
        dH.setZero();
        for (std::size_t i = 0; i < clip.y.size(); ++i) {
          const int u_f = clip.freq_index[i], u_t = clip.time_index[i];
          const double yhat = W.row(u_f).dot(H.row(u_t));
          local += beta_divergence(beta, clip.y[i], yhat);
          const auto g = static_cast<Scalar>(normalizer * beta_gradient(beta, clip.y[i], yhat));
          dW.row(u_f) += g * H.row(u_t);
          dH.row(u_t) += g * W.row(u_f);
        }
      }
      if (config_.l1_activations > 0)
        dH.middleRows(unit.begin, unit.end - unit.begin).array() += static_cast<Scalar>(config_.l1_activations);
    }
    divergence[static_cast<std::size_t>(thread)] = local;
    // (the omp for's barrier: every thread's dW is complete) ∂L/∂W = Σ_threads dW, in thread order.
#pragma omp for schedule(static)
    for (Eigen::Index j = 0; j < W.rows(); ++j) {
      d_templates.row(j) = workspaces_[0].d_templates.row(j);
      for (int t = 1; t < n_threads; ++t) d_templates.row(j) += workspaces_[static_cast<std::size_t>(t)].d_templates.row(j);
    }
    // 4. Back-propagate through the grid activation fields (the templates: backward_templates).
    if (grid) {
#pragma omp for schedule(static)
      for (long c = 0; c < n_clips; ++c)
        backward_activations(static_cast<std::size_t>(c), d_activations_[static_cast<std::size_t>(c)], activation_grad);
    }
  }
  Evaluation result;
  for (int t = 0; t < n_threads; ++t) result.divergence += divergence[static_cast<std::size_t>(t)];
  result.divergence *= normalizer;
  result.loss = result.divergence;
  if (config_.l1_activations > 0)
    for (std::size_t c = 0; c < clips_.size(); ++c)
      result.loss += config_.l1_activations * static_cast<double>(activation_values(c).sum());
  if (!grid)
    for (long c = 0; c < n_clips; ++c)
      backward_activations(static_cast<std::size_t>(c), d_activations_[static_cast<std::size_t>(c)], activation_grad);
  return result;
}

template <typename Scalar>
void InnmfModel<Scalar>::dense_positive_part(const PreparedClip& clip, const RowMatrix<Scalar>& W,
                                             const RowMatrix<Scalar>& H, double normalizer,
                                             RowMatrix<Scalar>& positive, DenseWorkspace& work,
                                             Eigen::Index row_begin, Eigen::Index row_end) const {
  const RowMatrix<Scalar>& Wc = clip_templates(clip, W, work);  // (n_freqs, K)
  if (beta_.kind == BetaKind::kullback_leibler) {  // ŷ^0 = 1: P is the same in every row
    const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> sums = static_cast<Scalar>(normalizer) * Wc.colwise().sum();
    positive.middleRows(row_begin, row_end - row_begin).rowwise() = sums;
    return;
  }
  const auto n_freqs = Wc.rows();
  const Eigen::Index tile = row_tile(n_freqs, work);
  for (Eigen::Index r0 = row_begin; r0 < row_end; r0 += tile) {
    const Eigen::Index rows = std::min(tile, row_end - r0);
    Eigen::Map<RowMatrix<Scalar>> Y(work.block.data(), rows, n_freqs);
    Y.noalias() = H.middleRows(r0, rows) * Wc.transpose();
    for (Eigen::Index i = 0; i < Y.size(); ++i)
      Y.data()[i] = static_cast<Scalar>(normalizer * beta_gradient_positive(beta_, Y.data()[i]));
    positive.middleRows(r0, rows).noalias() = Y * Wc;
  }
}

template <typename Scalar>
void InnmfModel<Scalar>::update_knots(std::size_t c, const DenseWorkspace& work, Eigen::Index begin, Eigen::Index end) {
  using Array = Eigen::Array<Scalar, Eigen::Dynamic, 1>;
  const auto& field = clips_[c];
  const Eigen::Index K = config_.rank, first = begin * K, n = (end - begin) * K;
  if (n <= 0) return;
  const Eigen::Map<const Array> positive(work.knot_positive.data() + first, n);
  const Eigen::Map<const Array> gradient(work.knot_gradient.data() + first, n);
  const Eigen::Map<const Array> value(field.grid_batch.knot_value.data() + first, n);
  Eigen::Map<Array> theta(activation_params_.data() + field.offset + static_cast<std::size_t>(first), n);
  // N/P = (P − ∂L/∂h)/P; round-off can make P − ∂L/∂h slightly negative where N ≈ 0.
  Array ratio = (positive - gradient).max(Scalar(0)) / positive;
  const double gamma = multiplicative_update_exponent(config_.beta);
  if (gamma != 1.0) ratio = ratio.pow(static_cast<Scalar>(gamma));
  const Array updated = (value * ratio).max(static_cast<Scalar>(kMinimumKnotValue));
  theta = (positive > Scalar(0)).select(nn::softplus_inverse_array(updated), theta);
}

template <typename Scalar>
void InnmfModel<Scalar>::multiplicative_activation_step(const PreparedPoints& points, double normalizer) {
  if (config_.activations != ActivationKind::grid)
    throw UsageError("multiplicative activation updates need grid activations (--activations grid)");
  const int K = config_.rank;
  const RowMatrix<Scalar>& W = template_batch_.value;  // (|U_f|, K), as evaluate_factors used it
  positive_.resize(clips_.size());
  for (std::size_t c = 0; c < clips_.size(); ++c) positive_[c].resize(d_activations_[c].rows(), K);
  const auto n_items = static_cast<long>(items_.size());
  const auto n_clips = static_cast<long>(clips_.size());
  const int n_threads = static_cast<int>(workspaces_.size());
  const bool split_clips = n_clips < n_threads;  // as evaluate_factors split them
  const auto lambda = static_cast<Scalar>(config_.l1_activations);
#pragma omp parallel num_threads(n_threads)
  {
    DenseWorkspace& work = workspaces_[static_cast<std::size_t>(omp_get_thread_num())];
    // P at every clip's unique times, over evaluate_factors' work items.
#pragma omp for schedule(static)
    for (long item = 0; item < n_items; ++item) {
      const WorkItem& unit = items_[static_cast<std::size_t>(item)];
      const auto& clip = points.clips[unit.clip];
      const RowMatrix<Scalar>& H = activation_values(unit.clip);
      RowMatrix<Scalar>& P = positive_[unit.clip];
      if (clip.grid) {
        dense_positive_part(clip, W, H, normalizer, P, work, unit.begin, unit.end);
      } else {
        P.setZero();
        for (std::size_t i = 0; i < clip.y.size(); ++i) {
          const int u_f = clip.freq_index[i], u_t = clip.time_index[i];
          const double yhat = beta_.kind == BetaKind::kullback_leibler ? 1.0 : W.row(u_f).dot(H.row(u_t));
          P.row(u_t) += static_cast<Scalar>(normalizer * beta_gradient_positive(beta_, yhat)) * W.row(u_f);
        }
      }
      if (lambda > 0) P.middleRows(unit.begin, unit.end - unit.begin).array() += lambda;
    }
    // P_j and ∂L/∂h_j per knot (Bᵀ), then the update: a clip's knots shared among the threads
    // when there are fewer clips than threads, else whole clips per thread.
    if (split_clips) {
      DenseWorkspace& shared = workspaces_[0];
      for (std::size_t c = 0; c < clips_.size(); ++c) {
        const auto& field = clips_[c];
#pragma omp single
        {
          field.grid->interpolation_transpose(field.grid_batch, positive_[c], shared.knot_positive);
          field.grid->interpolation_transpose(field.grid_batch, d_activations_[c], shared.knot_gradient);
        }
        const Eigen::Index n_knots = field.grid->n_knots();
        const int thread = omp_get_thread_num();
        const Eigen::Index chunk = (n_knots + n_threads - 1) / n_threads;
        update_knots(c, shared, std::min(n_knots, thread * chunk), std::min(n_knots, (thread + 1) * chunk));
#pragma omp barrier
      }
    } else {
#pragma omp for schedule(static)
      for (long c = 0; c < n_clips; ++c) {
        const auto& field = clips_[static_cast<std::size_t>(c)];
        field.grid->interpolation_transpose(field.grid_batch, positive_[static_cast<std::size_t>(c)], work.knot_positive);
        field.grid->interpolation_transpose(field.grid_batch, d_activations_[static_cast<std::size_t>(c)],
                                            work.knot_gradient);
        update_knots(static_cast<std::size_t>(c), work, 0, field.grid->n_knots());
      }
    }
  }
}

template <typename Scalar>
Evaluation InnmfModel<Scalar>::evaluate_reference(const PreparedPoints& points, double normalizer,
                                                  Scalar* template_grad, Scalar* activation_grad) {
  const int K = config_.rank;
  std::fill(template_grad, template_grad + template_params_.size(), Scalar(0));
  std::fill(activation_grad, activation_grad + activation_params_.size(), Scalar(0));
  // Every point's own coordinates, in point order.
  std::vector<double> f_all;
  std::vector<std::vector<double>> t_clip(points.clips.size());
  for (std::size_t c = 0; c < points.clips.size(); ++c) {
    const auto& clip = points.clips[c];
    for (std::size_t i = 0; i < clip.y.size(); ++i) {
      const std::size_t column = clip.grid ? i % clip.freq_index.size() : i;
      const std::size_t row = clip.grid ? i / clip.freq_index.size() : static_cast<std::size_t>(clip.time_index[i]);
      f_all.push_back(points.unique_freqs[static_cast<std::size_t>(clip.freq_index[column])]);
      t_clip[c].push_back(clip.unique_times[row]);
    }
  }
  auto w_batch = template_field_->prepare(f_all);
  template_field_->forward(template_params_.data(), w_batch);
  RowMatrix<Scalar> dW_points = RowMatrix<Scalar>::Zero(w_batch.value.rows(), K);
  Evaluation result;
  std::size_t point = 0;
  for (std::size_t c = 0; c < points.clips.size(); ++c) {
    const auto& clip = points.clips[c];
    auto& field = clips_[c];
    const Scalar* theta = activation_params_.data() + field.offset;
    RowMatrix<Scalar> H;
    typename GridField<Scalar>::Batch grid_batch;
    FieldBatch<Scalar> mlp_batch;
    if (field.grid) {
      grid_batch = field.grid->prepare(t_clip[c]);
      field.grid->forward(theta, grid_batch);
      H = grid_batch.value;
    } else {
      mlp_batch = field.mlp->prepare(t_clip[c]);
      field.mlp->forward(theta, mlp_batch);
      H = mlp_batch.value;
    }
    RowMatrix<Scalar> dH = RowMatrix<Scalar>::Zero(H.rows(), K);
    for (std::size_t i = 0; i < clip.y.size(); ++i, ++point) {
      const auto p = static_cast<Eigen::Index>(point), r = static_cast<Eigen::Index>(i);
      const double yhat = w_batch.value.row(p).dot(H.row(r));
      result.divergence += beta_divergence(beta_, clip.y[i], yhat);
      const auto g = static_cast<Scalar>(normalizer * beta_gradient(beta_, clip.y[i], yhat));
      dW_points.row(p) = g * H.row(r);
      dH.row(r) = g * w_batch.value.row(p);
    }
    if (field.grid)
      field.grid->backward(theta, grid_batch, dH, activation_grad + field.offset);
    else
      field.mlp->backward(theta, mlp_batch, dH, activation_grad + field.offset);
  }
  template_field_->backward(template_params_.data(), w_batch, dW_points, template_grad);
  result.divergence *= normalizer;
  result.loss = result.divergence;
  return result;
}

template <typename Scalar>
RowMatrix<Scalar> InnmfModel<Scalar>::templates_at(const std::vector<double>& freqs) const {
  auto batch = template_field_->prepare(freqs);
  template_field_->forward(template_params_.data(), batch);
  return batch.value;
}

template <typename Scalar>
RowMatrix<Scalar> InnmfModel<Scalar>::activations_at(std::size_t clip, const std::vector<double>& times) const {
  const auto& field = clips_[clip];
  const Scalar* theta = activation_params_.data() + field.offset;
  if (field.grid) {
    auto batch = field.grid->prepare(times);
    field.grid->forward(theta, batch);
    return batch.value;
  }
  auto batch = field.mlp->prepare(times);
  field.mlp->forward(theta, batch);
  return batch.value;
}

template class InnmfModel<float>;
template class InnmfModel<double>;

}  // namespace innmf::model
