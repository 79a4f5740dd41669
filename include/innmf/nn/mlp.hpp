#pragma once
// The coordinate networks of iN-NMF (DESIGN.md §1) over ONE flat parameter buffer
// (STYLE.md §4): layers are views into it, gradients live in a buffer of the same layout.
//
// One network ("per-component" has K of them, "shared" has one with K outputs):
//   a_0 = X·W_0ᵀ + b_0                    X (n, n_inputs) → (n, hidden), no activation
//   a_l = sin(a_{l−1}·W_lᵀ + b_l)         l = 1..layers−1, (n, hidden)
//   out = a_{L−1}·W_outᵀ + b_out          (n, outputs): 1 per-component, K shared
// Weights are stored row-major (out_features, in_features), like torch.nn.Linear, and
// initialised like it: U(−1/√in, 1/√in) for weights and biases.
// Evaluation folds layer 0 into layer 1 (nothing lies between them): z_1 = X·(W_1·W_0)ᵀ +
// (W_1·b_0 + b_1), and back-propagates through the fold to W_0, b_0, W_1, b_1 — the same
// parameters and gradients, exact in real arithmetic, without the (n, hidden) × (hidden, hidden)
// products of a_0 forward and backward.
// The softplus that makes the fields non-negative is applied by the caller (fields.hpp).

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "innmf/nn/encoding.hpp"

namespace innmf::nn {

enum class Architecture { per_component, shared };
Architecture parse_architecture(const std::string& name);
std::string architecture_name(Architecture architecture);

struct MlpShape {
  int n_inputs = 20;   ///< width of the encoding (2·n_fourier)
  int hidden = 64;     ///< h
  int layers = 4;      ///< linear layers before the output layer (paper: 4)
  int n_outputs = 20;  ///< K
  Architecture architecture = Architecture::per_component;
};

/// C (m, n) = init + A·B in float, register-blocked (AVX2 + FMA; a plain loop elsewhere), for the
/// networks' small GEMMs: A element (i, p) at a[i·a_row + p·a_col] (so Aᵀ of a row-major matrix
/// is a_row = 1), B (k, n) row-major with leading dimension ldb, C row-major (ldc); n a multiple
/// of 8. init: C's own values when `accumulate`, else `bias` (n) on every row, else 0.
/// The naive triple loop is its reference (tests/nn/test_mlp.cpp).
void small_gemm(int m, int n, int k, const float* a, long a_row, long a_col, const float* b, long ldb,
                const float* bias, bool accumulate, float* c, long ldc);

/// Saved forward activations of one network for a batch, needed by backward.
template <typename Scalar>
struct MlpCache {
  std::vector<RowMatrix<Scalar>> activations;  ///< a_0 … a_{L−1}, each (n, hidden); a_0 unused when folded
  std::vector<RowMatrix<Scalar>> cosines;      ///< cos(z_l) for l ≥ 1 (index l), sin's derivative
  /// The fast path (Mlp::uses_fast_kernels) keeps one float per hidden unit, packed_sin(z_l) for
  /// l ≥ 1 (index l), (n, hidden): the activation itself, and the derivative cos(z_l) unpacked
  /// from it in backward (cos_of_packed). Half the bytes of sin and cos, and no trigonometry in
  /// backward; `activations` and `cosines` then hold empty entries.
  std::vector<RowMatrix<Scalar>> packed_sines;
  RowMatrix<Scalar> folded_weight;             ///< (hidden, n_inputs) W_1·W_0 (layers ≥ 2; Eigen path only)
};

template <typename Scalar>
class Mlp {
 public:
  explicit Mlp(const MlpShape& shape);
  const MlpShape& shape() const { return shape_; }
  std::size_t n_parameters() const { return n_networks() * per_network_; }
  int n_networks() const { return shape_.architecture == Architecture::per_component ? shape_.n_outputs : 1; }

  /// Fills `params` (n_parameters()) with torch.nn.Linear's default initialisation, U(±1/√fan_in)
  /// for weights and biases, the layers whose output goes through sin (layers 1 … layers−1)
  /// scaled by `sine_scale` (SIREN's ω0 idea: larger pre-activations, so that the sines are
  /// not nearly linear at the start and fine detail is learned sooner; 1: PyTorch's default).
  void initialize(Scalar* params, std::uint64_t seed, double sine_scale = 1.0) const;

  /// Parameters of one network: network k's are [k·network_size(), (k+1)·network_size()) of
  /// the flat buffer.
  std::size_t network_size() const { return per_network_; }
  /// Output columns of one network: 1 per-component, n_outputs shared.
  int network_outputs() const { return shape_.architecture == Architecture::per_component ? 1 : shape_.n_outputs; }

  /// out (n, n_outputs) = the networks at the rows of X (n, n_inputs). `caches` gets one entry
  /// per network. OpenMP: over networks (per-component) or row tiles (shared).
  void forward(const Scalar* params, const RowMatrix<Scalar>& X, RowMatrix<Scalar>& out,
               std::vector<MlpCache<Scalar>>& caches) const {
    forward(params, X, out, caches, 0, n_networks());
  }
  /// The same for networks [first, last) only: their output columns of `out` (sized (n,
  /// n_outputs); the other columns are left as they were) and their caches (the others are
  /// left empty). Each network's result is bit-identical to the full forward's.
  void forward(const Scalar* params, const RowMatrix<Scalar>& X, RowMatrix<Scalar>& out,
               std::vector<MlpCache<Scalar>>& caches, int first, int last) const;

  /// Adds ∂L/∂params to `grad` (n_parameters()) given d_out = ∂L/∂out (n, n_outputs) and the
  /// caches of the forward pass on the same X. Deterministic for any thread count.
  void backward(const Scalar* params, const RowMatrix<Scalar>& X, const RowMatrix<Scalar>& d_out,
                const std::vector<MlpCache<Scalar>>& caches, Scalar* grad) const {
    backward(params, X, d_out, caches, grad, 0, n_networks());
  }
  /// The same for networks [first, last) only (after a forward over at least them): reads only
  /// their columns of d_out, adds only to their parameter range of `grad`.
  void backward(const Scalar* params, const RowMatrix<Scalar>& X, const RowMatrix<Scalar>& d_out,
                const std::vector<MlpCache<Scalar>>& caches, Scalar* grad, int first, int last) const;

  /// Sizes `out` (n, n_outputs; kept if already so) and `caches` (one per network) for
  /// forward_network calls from several threads.
  void size_outputs(Eigen::Index n, RowMatrix<Scalar>& out, std::vector<MlpCache<Scalar>>& caches) const;
  /// Network k alone, without OpenMP (the caller spreads networks over its threads, e.g. one
  /// parallel region for the network and the softplus after it, fields.cpp): its output
  /// column(s) of `out` and caches[k], bit-identical to forward()'s. Needs size_outputs first.
  void forward_network(const Scalar* params, const RowMatrix<Scalar>& X, RowMatrix<Scalar>& out,
                       std::vector<MlpCache<Scalar>>& caches, int k) const;
  /// Network k alone, without OpenMP: adds its ∂L/∂params to its range of `grad`, bit-identical
  /// to backward()'s.
  void backward_network(const Scalar* params, const RowMatrix<Scalar>& X, const RowMatrix<Scalar>& d_out,
                        const std::vector<MlpCache<Scalar>>& caches, Scalar* grad, int k) const;

  /// Network k alone on all rows of X with the caller's cache, without OpenMP: its output
  /// column(s) at `out` (row stride `out_stride`). For recomputation a block of rows at a time
  /// (model::NeuralField), where no cache per network is kept; bit-identical, row for row, to
  /// forward_network's.
  void forward_network_rows(const Scalar* params, const RowMatrix<Scalar>& X, MlpCache<Scalar>& cache, Scalar* out,
                            Eigen::Index out_stride, int k) const;
  /// Network k alone: adds to its range of `grad` given d_out (X.rows() rows of network_outputs()
  /// values at row stride `d_stride`) and the cache of forward_network_rows on the same X.
  void backward_network_rows(const Scalar* params, const RowMatrix<Scalar>& X, const Scalar* d_out,
                             Eigen::Index d_stride, const MlpCache<Scalar>& cache, Scalar* grad, int k) const;
  /// Bytes one row of X adds to one network's cache (its activations, as forward keeps them).
  std::size_t cache_bytes_per_row() const;

  /// True when networks run through the register-blocked float kernels (float, AVX2 + FMA,
  /// hidden a multiple of 8, at least 2 hidden layers); otherwise through Eigen.
  bool uses_fast_kernels() const;

  /// Human-readable layout ("network k, layer l: weight (out, in) at offset …") for the model file.
  std::string layout_json() const;

 private:
  struct Layer {
    std::size_t weight;  ///< offset of the (out, in) weight within one network
    std::size_t bias;    ///< offset of the (out) bias
    int in, out;
  };
  void check_range(int first, int last) const;
  void forward_one(const Scalar* net, const RowMatrix<Scalar>& X, MlpCache<Scalar>& cache,
                   Scalar* out, Eigen::Index out_stride, int n_out) const;
  void backward_one(const Scalar* net, const RowMatrix<Scalar>& X, const Scalar* d_out, Eigen::Index d_stride,
                    const MlpCache<Scalar>& cache, Scalar* g) const;
  // The register-blocked float path of forward_one / backward_one (uses_fast_kernels()).
  void forward_fast(const float* net, const RowMatrix<float>& X, MlpCache<float>& cache, float* out,
                    Eigen::Index out_stride, int n_out) const;
  void backward_fast(const float* net, const RowMatrix<float>& X, const float* d_out, Eigen::Index d_stride,
                     const MlpCache<float>& cache, float* g) const;
  MlpShape shape_;
  std::vector<Layer> layers_;  ///< layers_[0..layers−1] hidden, layers_.back() output
  std::size_t per_network_ = 0;
};

}  // namespace innmf::nn
