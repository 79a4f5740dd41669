#pragma once
// The fields of iN-NMF (DESIGN.md §1):
//   NeuralField   x ↦ softplus(MLP(γ(x / scale))) ∈ R^K_+ : the template field W(f) (scale =
//                 f_ref, the corpus Nyquist) and the `mlp` activation field H_c(t) (scale = clip
//                 duration);
//   GridField     t ↦ linear interpolation of softplus(θ_j) on knots j·Δt: the `grid`
//                 activation field (knots at STFT frames make it the paper's explicit H).
// Both are evaluated on a fixed set of coordinates prepared once (a FieldBatch): the rank's
// unique frequencies, or a clip's unique times. Parameters live in caller-owned flat buffers.

#include <cstdint>
#include <vector>

#include "innmf/nn/mlp.hpp"

namespace innmf::model {

using nn::RowMatrix;

/// Forward activations are kept for backward up to this many bytes (1 GiB); beyond it (10⁵–10⁶
/// sinusoidal-peak frequencies: 15 kB each for the paper's 20 networks) forward keeps none and
/// backward recomputes them, a block of rows at a time (one more forward: ~1.3× the time of a
/// pass through the networks, memory ~100 B per coordinate and network instead of ~800 B).
inline constexpr std::size_t kDefaultFieldCacheBytes = std::size_t{1} << 30;

template <typename Scalar>
struct FieldBatch {
  RowMatrix<Scalar> features;                  ///< (n, 2·n_fourier) γ(x / scale), fixed
  std::vector<nn::MlpCache<Scalar>> caches;    ///< forward activations (empty when recomputed)
  RowMatrix<Scalar> pre;                       ///< (n, K) before softplus
  RowMatrix<Scalar> value;                     ///< (n, K) the field: softplus(pre)
  std::size_t cache_limit_bytes = kDefaultFieldCacheBytes;  ///< see kDefaultFieldCacheBytes
};

template <typename Scalar>
class NeuralField {
 public:
  NeuralField(const nn::MlpShape& shape, nn::FourierFeatures encoding, double scale);
  std::size_t n_parameters() const { return mlp_.n_parameters(); }
  int rank() const { return mlp_.shape().n_outputs; }
  double scale() const { return scale_; }
  const nn::FourierFeatures& encoding() const { return encoding_; }
  const nn::Mlp<Scalar>& mlp() const { return mlp_; }
  void initialize(Scalar* params, std::uint64_t seed, double sine_scale = 1.0) const {
    mlp_.initialize(params, seed, sine_scale);
  }

  /// Encodes `coordinates` (Hz or s) once.
  FieldBatch<Scalar> prepare(const std::vector<double>& coordinates) const;
  /// batch.value (n, K) at the prepared coordinates.
  void forward(const Scalar* params, FieldBatch<Scalar>& batch) const {
    forward(params, batch, 0, mlp_.n_networks());
  }
  /// Networks [first, last) only (nn::Mlp::forward): their columns of batch.value (n, K); the
  /// other columns are left as they were, for the caller to fill (trainer.cpp's all-gather).
  void forward(const Scalar* params, FieldBatch<Scalar>& batch, int first, int last) const;
  /// True when forward over networks [first, last) keeps no activations and backward
  /// recomputes them (their caches would pass batch.cache_limit_bytes).
  bool recomputes(const FieldBatch<Scalar>& batch, int first, int last) const;
  /// grad += ∂L/∂params, given d_value = ∂L/∂value (n, K) after forward().
  void backward(const Scalar* params, const FieldBatch<Scalar>& batch,
                const RowMatrix<Scalar>& d_value, Scalar* grad) const {
    backward(params, batch, d_value, grad, 0, mlp_.n_networks());
  }
  /// Networks [first, last) only: reads their columns of d_value, adds to their parameters.
  void backward(const Scalar* params, const FieldBatch<Scalar>& batch, const RowMatrix<Scalar>& d_value,
                Scalar* grad, int first, int last) const;

 private:
  nn::FourierFeatures encoding_;
  nn::Mlp<Scalar> mlp_;
  double scale_;
};

/// Activations on knots t_j = j·Δt, j = 0..n_knots−1, linearly interpolated in between; θ is
/// (n_knots, K) row-major, H = interpolation of softplus(θ).
template <typename Scalar>
class GridField {
 public:
  /// Knots cover [0, duration]: n_knots = floor(duration / Δt + 1e-6) + 2 (one past the end, so
  /// every t ≤ duration has a right neighbour).
  GridField(double knot_spacing, double duration, int rank);
  std::size_t n_parameters() const { return static_cast<std::size_t>(n_knots_) * rank_; }
  int n_knots() const { return n_knots_; }
  double knot_spacing() const { return spacing_; }

  /// Interpolation weights of `times` [s]: knot index and fraction, computed once.
  struct Batch {
    std::vector<int> left;            ///< knot at or before t
    std::vector<Scalar> fraction;     ///< 0 at the left knot, < 1
    RowMatrix<Scalar> value;          ///< (n, K)
    RowMatrix<Scalar> knot_value;     ///< (n_knots, K) softplus(θ), by forward
    RowMatrix<Scalar> knot_slope;     ///< (n_knots, K) softplus'(θ), by forward, for backward
  };
  Batch prepare(const std::vector<double>& times) const;
  /// batch.value at the prepared times; softplus and its derivative once per knot.
  void forward(const Scalar* theta, Batch& batch) const {
    size_tables(batch);
    knots(theta, batch, 0, n_knots_);
    interpolate(batch, 0, static_cast<Eigen::Index>(batch.left.size()));
  }
  /// forward() in parts, for one clip shared by several threads: size_tables (one thread), then
  /// knots over disjoint knot ranges, then, once every knot is done, interpolate over disjoint
  /// row ranges.
  void size_tables(Batch& batch) const;
  void knots(const Scalar* theta, Batch& batch, Eigen::Index begin, Eigen::Index end) const;
  void interpolate(Batch& batch, Eigen::Index begin, Eigen::Index end) const;
  /// grad += ∂L/∂θ given d_value = ∂L/∂value, after forward() with the same θ.
  void backward(const Scalar* theta, const Batch& batch, const RowMatrix<Scalar>& d_value,
                Scalar* grad) const;
  /// knot_sums (n_knots, K) = Bᵀ·values: each knot's sum of `values` (n, K, at the prepared
  /// times) weighted by its interpolation weights B, i.e. ∂L/∂(knot value) when `values` is
  /// ∂L/∂value. backward() is this followed by ⊙ softplus'(θ).
  void interpolation_transpose(const Batch& batch, const RowMatrix<Scalar>& values,
                               RowMatrix<Scalar>& knot_sums) const;

 private:
  double spacing_;
  int n_knots_;
  int rank_;
};

}  // namespace innmf::model
