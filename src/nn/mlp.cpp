#include "innmf/nn/mlp.hpp"

#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <random>
#include <type_traits>

#include "innmf/core/error.hpp"
#include "innmf/nn/activations.hpp"

namespace innmf::nn {

Architecture parse_architecture(const std::string& name) {
  if (name == "per-component") return Architecture::per_component;
  if (name == "shared") return Architecture::shared;
  throw UsageError(fmt::format("--arch {}: use per-component (the paper's, K networks) or shared "
                               "(one trunk with K outputs)",
                               name));
}

std::string architecture_name(Architecture architecture) {
  return architecture == Architecture::per_component ? "per-component" : "shared";
}

template <typename Scalar>
Mlp<Scalar>::Mlp(const MlpShape& shape) : shape_(shape) {
  if (shape.layers < 1 || shape.hidden < 1 || shape.n_inputs < 1 || shape.n_outputs < 1)
    throw UsageError(fmt::format("network shape: layers {}, hidden {}, inputs {}, outputs {} must "
                                 "all be at least 1",
                                 shape.layers, shape.hidden, shape.n_inputs, shape.n_outputs));
  std::size_t offset = 0;
  auto add = [&](int in, int out) {
    Layer layer{offset, offset + static_cast<std::size_t>(in) * out, in, out};
    offset += static_cast<std::size_t>(in) * out + out;
    layers_.push_back(layer);
  };
  add(shape.n_inputs, shape.hidden);
  for (int l = 1; l < shape.layers; ++l) add(shape.hidden, shape.hidden);
  add(shape.hidden, shape.architecture == Architecture::per_component ? 1 : shape.n_outputs);
  per_network_ = offset;
}

template <typename Scalar>
void Mlp<Scalar>::initialize(Scalar* params, std::uint64_t seed) const {
  std::mt19937_64 rng(seed);
  for (int k = 0; k < n_networks(); ++k) {
    Scalar* net = params + static_cast<std::size_t>(k) * per_network_;
    for (const auto& layer : layers_) {
      const double bound = 1.0 / std::sqrt(static_cast<double>(layer.in));
      std::uniform_real_distribution<double> uniform(-bound, bound);
      for (std::size_t i = 0; i < static_cast<std::size_t>(layer.in) * layer.out; ++i)
        net[layer.weight + i] = static_cast<Scalar>(uniform(rng));
      for (int i = 0; i < layer.out; ++i) net[layer.bias + static_cast<std::size_t>(i)] = static_cast<Scalar>(uniform(rng));
    }
  }
}

namespace {
template <typename Scalar>
using ConstWeights = Eigen::Map<const RowMatrix<Scalar>>;
template <typename Scalar>
using ConstVector = Eigen::Map<const Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>;
template <typename Scalar>
using Vector = Eigen::Map<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>;

/// a (n, bias.size()) ← bias on every row (a row copy at a time: Eigen's replicate() divides per
/// coefficient).
template <typename Scalar, typename Bias>
void fill_rows(RowMatrix<Scalar>& a, Eigen::Index n, const Bias& bias) {
  a.resize(n, bias.size());
  for (Eigen::Index i = 0; i < n; ++i) a.row(i) = bias;
}

}  // namespace

// One range reduction for both: x = q·π/2 + r with |r| ≤ π/4 (Cody–Waite, π/2 in three parts,
// exact products for |q| < 2^16, so kSinCosLimit leaves room), then Cephes' sinf/cosf
// polynomials on r and the quadrant's swap and signs. Branch-free, so that the loop vectorises.
void sincos_in_place(float* __restrict x, float* __restrict c, std::ptrdiff_t n) {
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const float v = x[i];
    const float q = (v * 0.636619772367581f + 12582912.0f) - 12582912.0f;  // round(v·2/π)
    const int quadrant = static_cast<int>(q);
    float r = std::fma(q, -1.5703125f, v);
    r = std::fma(q, -4.837512969970703125e-4f, r);
    r = std::fma(q, -7.54978995489188216e-8f, r);
    const float r2 = r * r;
    const float sine = std::fma(r * r2, std::fma(r2, std::fma(r2, -1.9515295891e-4f, 8.3321608736e-3f), -1.6666654611e-1f), r);
    const float cosine = std::fma(r2 * r2,
                                  std::fma(r2, std::fma(r2, 2.443315711809948e-5f, -1.388731625493765e-3f), 4.166664568298827e-2f),
                                  std::fma(r2, -0.5f, 1.0f));
    const float s = (quadrant & 1) ? cosine : sine;
    const float k = (quadrant & 1) ? sine : cosine;
    x[i] = (quadrant & 2) ? -s : s;
    c[i] = ((quadrant + 1) & 2) ? -k : k;
  }
}

namespace {

/// a ← sin(a), cosines ← cos(a), elementwise (the hidden layers' activation and its derivative).
template <typename Scalar>
void sin_and_cos(RowMatrix<Scalar>& a, RowMatrix<Scalar>& cosines) {
  cosines.resize(a.rows(), a.cols());
  if constexpr (std::is_same_v<Scalar, float>) {
    if (a.size() == 0 || a.cwiseAbs().maxCoeff() <= kSinCosLimit) {
      sincos_in_place(a.data(), cosines.data(), a.size());
      return;
    }
  }
  cosines = a.array().cos().matrix();
  a = a.array().sin().matrix();
}
}  // namespace

template <typename Scalar>
void Mlp<Scalar>::forward_one(const Scalar* net, const RowMatrix<Scalar>& X, MlpCache<Scalar>& cache,
                              Scalar* out, Eigen::Index out_stride, int n_out) const {
  const int hidden_layers = shape_.layers;
  const bool fold = hidden_layers >= 2;
  cache.activations.resize(static_cast<std::size_t>(hidden_layers));
  cache.cosines.resize(static_cast<std::size_t>(hidden_layers));
  const Eigen::Index n = X.rows();
  for (int l = fold ? 1 : 0; l < hidden_layers; ++l) {
    const Layer& layer = layers_[static_cast<std::size_t>(l)];
    ConstWeights<Scalar> W(net + layer.weight, layer.out, layer.in);
    ConstVector<Scalar> b(net + layer.bias, layer.out);
    auto& a = cache.activations[static_cast<std::size_t>(l)];
    // The bias first, the product added onto it: no separate zero-fill and bias passes.
    if (l == 1 && fold) {
      const Layer& first = layers_[0];
      ConstWeights<Scalar> W0(net + first.weight, first.out, first.in);
      ConstVector<Scalar> b0(net + first.bias, first.out);
      cache.folded_weight.noalias() = W * W0;  // (hidden, n_inputs)
      const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> bias = b0 * W.transpose() + b;
      fill_rows(a, n, bias);
      a.noalias() += X * cache.folded_weight.transpose();
    } else {
      fill_rows(a, n, b);
      a.noalias() += (l == 0 ? X : cache.activations[static_cast<std::size_t>(l - 1)]) * W.transpose();
    }
    if (l > 0) sin_and_cos(a, cache.cosines[static_cast<std::size_t>(l)]);  // no activation after layer 0 (paper)
  }
  const Layer& last = layers_.back();
  ConstWeights<Scalar> W(net + last.weight, last.out, last.in);
  ConstVector<Scalar> b(net + last.bias, last.out);
  RowMatrix<Scalar> result;
  fill_rows(result, n, b);
  result.noalias() += cache.activations.back() * W.transpose();
  for (Eigen::Index i = 0; i < n; ++i)
    for (int o = 0; o < n_out; ++o) out[i * out_stride + o] = result(i, o);
}

template <typename Scalar>
void Mlp<Scalar>::forward(const Scalar* params, const RowMatrix<Scalar>& X, RowMatrix<Scalar>& out,
                          std::vector<MlpCache<Scalar>>& caches, int first, int last) const {
  check_range(first, last);
  if (out.rows() != X.rows() || out.cols() != shape_.n_outputs) out.resize(X.rows(), shape_.n_outputs);
  caches.resize(static_cast<std::size_t>(n_networks()));
  if (shape_.architecture == Architecture::shared) {
    if (first < last) forward_one(params, X, caches[0], out.data(), shape_.n_outputs, shape_.n_outputs);
    return;
  }
  // Per-component: the K networks are independent; each thread writes its own column.
#pragma omp parallel for schedule(static)
  for (int k = first; k < last; ++k)
    forward_one(params + static_cast<std::size_t>(k) * per_network_, X,
                caches[static_cast<std::size_t>(k)], out.data() + k, shape_.n_outputs, 1);
}

template <typename Scalar>
void Mlp<Scalar>::check_range(int first, int last) const {
  if (first < 0 || last < first || last > n_networks())
    throw Error(ExitCode::failure,
                fmt::format("Mlp: networks [{}, {}) out of the {} networks", first, last, n_networks()));
}

template <typename Scalar>
void Mlp<Scalar>::backward(const Scalar* params, const RowMatrix<Scalar>& X,
                           const RowMatrix<Scalar>& d_out,
                           const std::vector<MlpCache<Scalar>>& caches, Scalar* grad, int first,
                           int last) const {
  check_range(first, last);
  const bool fold = shape_.layers >= 2;
  auto backward_one = [&](int k, const RowMatrix<Scalar>& d_result) {
    const Scalar* net = params + static_cast<std::size_t>(k) * per_network_;
    Scalar* g = grad + static_cast<std::size_t>(k) * per_network_;
    const auto& cache = caches[static_cast<std::size_t>(k)];
    const Layer& last = layers_.back();
    // Output layer: dW = d_resultᵀ · a_{L−1}, db = Σ_rows d_result, d_a = d_result · W.
    Eigen::Map<RowMatrix<Scalar>>(g + last.weight, last.out, last.in).noalias() +=
        d_result.transpose() * cache.activations.back();
    Vector<Scalar>(g + last.bias, last.out) += d_result.colwise().sum();
    RowMatrix<Scalar> d_a, d_next;
    d_a.noalias() = d_result * ConstWeights<Scalar>(net + last.weight, last.out, last.in);
    for (int l = shape_.layers - 1; l >= 0; --l) {
      const Layer& layer = layers_[static_cast<std::size_t>(l)];
      ConstWeights<Scalar> W(net + layer.weight, layer.out, layer.in);
      Eigen::Map<RowMatrix<Scalar>> dW(g + layer.weight, layer.out, layer.in);
      Vector<Scalar> db(g + layer.bias, layer.out);
      if (l > 0)  // a_l = sin(z_l) ⇒ dz_l = da_l ⊙ cos(z_l)
        d_a.array() *= cache.cosines[static_cast<std::size_t>(l)].array();
      if (l == 1 && fold) {
        // Through z_1 = (X·W_0ᵀ + b_0)·W_1ᵀ + b_1 without forming a_0 or its gradient:
        // M = dz_1ᵀ·X, s = Σ_rows dz_1; dW_1 += M·W_0ᵀ + sᵀ·b_0, db_1 += s, dW_0 += W_1ᵀ·M, db_0 += s·W_1.
        const Layer& first = layers_[0];
        ConstWeights<Scalar> W0(net + first.weight, first.out, first.in);
        ConstVector<Scalar> b0(net + first.bias, first.out);
        const RowMatrix<Scalar> M = d_a.transpose() * X;  // (hidden, n_inputs)
        const Eigen::Matrix<Scalar, 1, Eigen::Dynamic> s = d_a.colwise().sum();
        dW.noalias() += M * W0.transpose();
        dW.noalias() += s.transpose() * b0;
        db += s;
        Eigen::Map<RowMatrix<Scalar>>(g + first.weight, first.out, first.in).noalias() += W.transpose() * M;
        Vector<Scalar>(g + first.bias, first.out).noalias() += s * W;
        break;
      }
      const RowMatrix<Scalar>& input = l == 0 ? X : cache.activations[static_cast<std::size_t>(l - 1)];
      dW.noalias() += d_a.transpose() * input;
      db += d_a.colwise().sum();
      if (l > 0) {
        d_next.noalias() = d_a * W;
        std::swap(d_a, d_next);
      }
    }
  };
  if (shape_.architecture == Architecture::shared) {
    if (first < last) backward_one(0, d_out);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int k = first; k < last; ++k) backward_one(k, d_out.col(k));
}

template <typename Scalar>
std::string Mlp<Scalar>::layout_json() const {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& layer : layers_)
    layers.push_back({{"weight_offset", layer.weight}, {"bias_offset", layer.bias},
                      {"in", layer.in}, {"out", layer.out}});
  return nlohmann::json{{"architecture", architecture_name(shape_.architecture)},
                        {"networks", n_networks()},
                        {"parameters_per_network", per_network_},
                        {"layers", layers},
                        {"weight_layout", "row-major (out, in), network k at k * parameters_per_network"}}
      .dump();
}

template class Mlp<float>;
template class Mlp<double>;

}  // namespace innmf::nn
