#pragma once
// The iN-NMF model on one rank (DESIGN.md §1): a template field W(f) whose parameters every
// rank holds (all networks; under MPI each rank trains a block of them, trainer.cpp), and one
// activation field H_c(t) per local clip (rank-local). Parameters are two flat buffers,
// `template_params` and `activation_params` (all local clips back to back), so that the
// optimizer is one loop.
//
//   y_i = m_i^p,  ŷ_i = Σ_k W_k(f_i)·H_{c_i,k}(t_i),
//   L = normalizer · Σ_i D_β(y_i | ŷ_i) + λ_H · Σ|H| (over the evaluated activations)
// with normalizer = 1 / (total point count over all ranks).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "innmf/model/beta_divergence.hpp"
#include "innmf/model/fields.hpp"
#include "innmf/model/points.hpp"

namespace innmf::model {

enum class ActivationKind { grid, mlp };
ActivationKind parse_activation_kind(const std::string& name);
std::string activation_kind_name(ActivationKind kind);

/// Declared once (STYLE.md §14); the CLI spelling is in brackets.
struct ModelConfig {
  int rank = 20;                                  ///< [--rank] K
  nn::Architecture architecture = nn::Architecture::per_component;  ///< [--arch]
  int hidden = 64;                                ///< [--hidden] h
  int layers = 4;                                 ///< [--layers] linear layers before the output
  int n_fourier = 10;                             ///< [--n-fourier] Fourier feature pairs
  double sine_scale = 4.0;                        ///< [--sine-scale] initial scale of the sine layers (nn::Mlp::initialize);
                                                  ///< 1 is the paper's (PyTorch's) initialisation
  ActivationKind activations = ActivationKind::grid;  ///< [--activations]
  double knot_spacing = 0;                        ///< [--knot-spacing] grid knots [s]; 0: the data's frame spacing
  double f_ref = 0;                               ///< frequency normalisation [Hz]: the corpus Nyquist
  double power = 0.5;                             ///< [--power] p
  double beta = 1.0;                              ///< [--beta]
  double l1_activations = 0;                      ///< [--l1] λ_H
  std::uint64_t seed = 0;                         ///< [--seed]
};

/// The Fourier encoding of clip `global_index`'s mlp activation field: derived from the run's
/// seed, so it is not stored in model files.
nn::FourierFeatures activation_encoding(std::uint64_t seed, int n_fourier, std::uint64_t global_index);

/// Loss and gradients of one evaluation.
struct Evaluation {
  double loss = 0;           ///< this rank's share of L (sums to L over ranks)
  double divergence = 0;     ///< this rank's share of normalizer·Σ D
};

template <typename Scalar>
class InnmfModel {
 public:
  /// Builds the fields for `points` (this rank's clips) and initialises all parameters from the
  /// seed; activations are scaled so that the initial ŷ matches the mean target `mean_target`
  /// (the global mean, so every rank starts alike).
  InnmfModel(const ModelConfig& config, const PreparedPoints& points, double mean_target);

  const ModelConfig& config() const { return config_; }
  nn::ParameterBuffer<Scalar>& template_params() { return template_params_; }
  nn::ParameterBuffer<Scalar>& activation_params() { return activation_params_; }
  const nn::ParameterBuffer<Scalar>& template_params() const { return template_params_; }
  const nn::ParameterBuffer<Scalar>& activation_params() const { return activation_params_; }
  const NeuralField<Scalar>& template_field() const { return *template_field_; }

  /// Factorised loss over `points` (the same the model was built for) and its gradients,
  /// written (not added) to template_grad (template_params().size()) and activation_grad.
  /// OpenMP over clips; deterministic for a given thread count.
  Evaluation evaluate(const PreparedPoints& points, double normalizer, Scalar* template_grad,
                      Scalar* activation_grad);

  /// evaluate() in three phases, for a template field split across ranks by network
  /// (trainer.cpp): forward_templates over this rank's networks [first, last), the caller
  /// completes the other columns of template_values(), evaluate_factors gives the loss, the
  /// activation gradient and ∂L/∂W at U_f, the caller sums that over ranks, and
  /// backward_templates back-propagates it through networks [first, last). Over all networks
  /// the phases are evaluate(), bit for bit.
  int n_template_networks() const { return template_field_->mlp().n_networks(); }
  /// Parameters of one template network (network k's start at k times this).
  std::size_t template_network_size() const { return template_field_->mlp().network_size(); }
  /// Columns of W per network: 1 per-component, K shared.
  int template_network_outputs() const { return template_field_->mlp().network_outputs(); }
  /// W at U_f (|U_f|, K) for networks [first, last): their columns of template_values().
  void forward_templates(int first, int last);
  /// W at U_f (|U_f|, K), as forward_templates left it; the caller may fill the columns of the
  /// networks it did not evaluate.
  RowMatrix<Scalar>& template_values() { return template_batch_.value; }
  /// Loss, activation_grad (written, not added) and d_templates = ∂L/∂W at U_f (|U_f|, K) over
  /// this rank's points. Needs every column of template_values().
  Evaluation evaluate_factors(const PreparedPoints& points, double normalizer, RowMatrix<Scalar>& d_templates,
                              Scalar* activation_grad);
  /// ∂L/∂params of networks [first, last) from d_templates (|U_f|, K, their columns read),
  /// written (not added) to their range of template_grad; the rest of it is not touched.
  void backward_templates(const RowMatrix<Scalar>& d_templates, int first, int last, Scalar* template_grad);

  /// The multiplicative update of grid activations, for W fixed at template_values(): after
  /// evaluate_factors() (same W, same θ), every knot value h_j = softplus(θ_j) becomes
  ///   h_j · (N_j / P_j)^γ,   ∂L/∂h_j = P_j − N_j,
  /// where P_j = Σ_points B_j(t)·W(f)·normalizer·ŷ^(β−1) (+ λ_H·Σ_t B_j(t)) and N_j ≥ 0 are the
  /// positive and negative parts of the gradient (beta_gradient_positive), B_j(t) the knot's
  /// interpolation weight and γ = multiplicative_update_exponent(β). With W fixed no such step
  /// increases the loss (Févotte & Idier 2011: ŷ is linear in the knot values, all factors are
  /// non-negative); with knots at the frames of a complete grid it is classic NMF's update of H.
  /// A knot no point reaches is left as it is; values are floored at kMinimumKnotValue (a knot
  /// at 0 could never grow again), then θ_j = softplus⁻¹(h_j). OpenMP; rank-local (needs no
  /// communication: W is complete on every rank). Throws UsageError for mlp activations.
  void multiplicative_activation_step(const PreparedPoints& points, double normalizer);
  static constexpr double kMinimumKnotValue = 1e-30;

  /// The same loss and gradients by the obvious per-point route: every point's f and t run
  /// through the fields on their own (no unique coordinates, no dense blocks). Test oracle.
  Evaluation evaluate_reference(const PreparedPoints& points, double normalizer,
                                Scalar* template_grad, Scalar* activation_grad);

  /// W at arbitrary frequencies [Hz]: (n, K).
  RowMatrix<Scalar> templates_at(const std::vector<double>& freqs) const;
  /// H of local clip c at arbitrary times [s]: (n, K).
  RowMatrix<Scalar> activations_at(std::size_t clip, const std::vector<double>& times) const;
  std::size_t n_clips() const { return clips_.size(); }
  /// Offset and size of clip c's parameters within activation_params().
  std::size_t activation_offset(std::size_t clip) const { return clips_[clip].offset; }
  std::size_t activation_size(std::size_t clip) const { return clips_[clip].size; }
  /// Grid activations: knots of clip c (n_knots, K after softplus is applied by the caller).
  const GridField<Scalar>* grid_field(std::size_t clip) const { return clips_[clip].grid.get(); }

 private:
  struct ClipField {
    std::unique_ptr<GridField<Scalar>> grid;
    std::unique_ptr<NeuralField<Scalar>> mlp;
    std::size_t offset = 0, size = 0;
    typename GridField<Scalar>::Batch grid_batch;  ///< at the clip's U_t
    FieldBatch<Scalar> mlp_batch;                  ///< at the clip's U_t
  };
  /// Per-thread scratch of evaluate(), kept across calls so that no epoch allocates per clip.
  struct DenseWorkspace {
    RowMatrix<Scalar> d_templates;  ///< (|U_f|, K) this thread's share of dW
    RowMatrix<Scalar> gathered;     ///< (n_freqs, K) W at a grid clip's frequencies
    RowMatrix<Scalar> d_gathered;   ///< (n_freqs, K) dW at them
    nn::ParameterBuffer<Scalar> block;  ///< (rows, n_freqs) a row tile of Ŷ, then of G = ∂D/∂Ŷ
    Eigen::Array<Scalar, Eigen::Dynamic, 1> ratio;  ///< (n_freqs) y / ŷ of one row
    RowMatrix<Scalar> knot_positive, knot_gradient;  ///< (n_knots, K) P_j and ∂L/∂h_j of one clip
  };
  /// Rows per tile of a dense block of n_freqs columns (~128 KB of floats), with work.block
  /// grown to hold one tile.
  static Eigen::Index row_tile(Eigen::Index n_freqs, DenseWorkspace& work);
  /// W at a grid clip's frequencies (n_freqs, K): W itself when the clip has all of U_f, else
  /// gathered into work.gathered.
  const RowMatrix<Scalar>& clip_templates(const PreparedClip& clip, const RowMatrix<Scalar>& W,
                                          DenseWorkspace& work) const;
  /// Rows [row_begin, row_end) of a grid clip's P = normalizer·(ŷ^(β−1))·W_c (multiplicative
  /// step; for KL the column sums of W_c in every row), written into those rows of `positive`.
  void dense_positive_part(const PreparedClip& clip, const RowMatrix<Scalar>& W, const RowMatrix<Scalar>& H,
                           double normalizer, RowMatrix<Scalar>& positive, DenseWorkspace& work,
                           Eigen::Index row_begin, Eigen::Index row_end) const;
  /// Knots [begin, end) of clip c: h ← h·(N/P)^γ from work.knot_positive and work.knot_gradient.
  void update_knots(std::size_t c, const DenseWorkspace& work, Eigen::Index begin, Eigen::Index end);
  /// Rows [row_begin, row_end) (frames) of a grid clip as a dense block, a tile of rows at a time
  /// so that the tile stays in cache: Ŷ = H·W_cᵀ, G = normalizer·∂D/∂Ŷ, dH = G·W_c,
  /// dW_c += Gᵀ·H. Writes those rows of dH (sized (n_times, K) by the caller), adds dW into
  /// work.d_templates; returns Σ D over the rows (not normalised).
  double dense_block(const PreparedClip& clip, const RowMatrix<Scalar>& W, const RowMatrix<Scalar>& H,
                     double normalizer, RowMatrix<Scalar>& dH, DenseWorkspace& work, Eigen::Index row_begin,
                     Eigen::Index row_end) const;
  /// A unit of evaluate_factors' point work: rows [begin, end) of clip `clip` (a grid clip is
  /// split into one range per thread when there are fewer clips than threads).
  struct WorkItem {
    std::size_t clip;
    Eigen::Index begin, end;
  };
  void forward_activations(std::size_t c);
  const RowMatrix<Scalar>& activation_values(std::size_t c) const;
  void backward_activations(std::size_t c, const RowMatrix<Scalar>& d_value, Scalar* grad);

  ModelConfig config_;
  Beta beta_;
  std::unique_ptr<NeuralField<Scalar>> template_field_;
  nn::ParameterBuffer<Scalar> template_params_, activation_params_;
  FieldBatch<Scalar> template_batch_;  ///< at U_f
  std::vector<ClipField> clips_;
  std::vector<DenseWorkspace> workspaces_;      ///< one per OpenMP thread
  std::vector<RowMatrix<Scalar>> d_activations_;  ///< per clip: ∂L/∂H at its U_t
  std::vector<RowMatrix<Scalar>> positive_;       ///< per clip: P at its U_t (multiplicative step)
  RowMatrix<Scalar> d_templates_;                 ///< evaluate()'s ∂L/∂W at U_f (|U_f|, K)
  std::vector<WorkItem> items_;                   ///< evaluate_factors' work list
};

/// One row of a dense block, in place: ŷ in `g`, G = normalizer·∂D/∂ŷ out; returns Σ D_β(y|ŷ)
/// over the row. β = 1 in float runs vectorised (Eigen's log, ~1 ulp, in float, scratch
/// `ratio` of n values); every other case runs beta_divergence/beta_gradient per point in double.
/// The per-point functions are its reference (tests/model/test_innmf_model.cpp).
template <typename Scalar>
double divergence_row(const Beta& beta, double normalizer, const float* y, Scalar* g, Eigen::Index n,
                      Eigen::Array<Scalar, Eigen::Dynamic, 1>& ratio);

}  // namespace innmf::model
