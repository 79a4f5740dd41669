#include "innmf/nn/mlp.hpp"

#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <random>

#include "innmf/core/error.hpp"

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
}  // namespace

template <typename Scalar>
void Mlp<Scalar>::forward_one(const Scalar* net, const RowMatrix<Scalar>& X, MlpCache<Scalar>& cache,
                              Scalar* out, Eigen::Index out_stride, int n_out) const {
  const int hidden_layers = shape_.layers;
  cache.activations.resize(static_cast<std::size_t>(hidden_layers));
  cache.cosines.resize(static_cast<std::size_t>(hidden_layers));
  const Eigen::Index n = X.rows();
  for (int l = 0; l < hidden_layers; ++l) {
    const Layer& layer = layers_[static_cast<std::size_t>(l)];
    ConstWeights<Scalar> W(net + layer.weight, layer.out, layer.in);
    ConstVector<Scalar> b(net + layer.bias, layer.out);
    const RowMatrix<Scalar>& input = l == 0 ? X : cache.activations[static_cast<std::size_t>(l - 1)];
    auto& a = cache.activations[static_cast<std::size_t>(l)];
    a.noalias() = input * W.transpose();
    a.rowwise() += b;
    if (l > 0) {  // no activation after the first layer (paper)
      cache.cosines[static_cast<std::size_t>(l)] = a.array().cos().matrix();
      a = a.array().sin().matrix();
    }
  }
  const Layer& last = layers_.back();
  ConstWeights<Scalar> W(net + last.weight, last.out, last.in);
  ConstVector<Scalar> b(net + last.bias, last.out);
  RowMatrix<Scalar> result = cache.activations.back() * W.transpose();
  result.rowwise() += b;
  for (Eigen::Index i = 0; i < n; ++i)
    for (int o = 0; o < n_out; ++o) out[i * out_stride + o] = result(i, o);
}

template <typename Scalar>
void Mlp<Scalar>::forward(const Scalar* params, const RowMatrix<Scalar>& X, RowMatrix<Scalar>& out,
                          std::vector<MlpCache<Scalar>>& caches) const {
  out.resize(X.rows(), shape_.n_outputs);
  caches.resize(static_cast<std::size_t>(n_networks()));
  if (shape_.architecture == Architecture::shared) {
    forward_one(params, X, caches[0], out.data(), shape_.n_outputs, shape_.n_outputs);
    return;
  }
  // Per-component: the K networks are independent; each thread writes its own column.
#pragma omp parallel for schedule(static)
  for (int k = 0; k < shape_.n_outputs; ++k)
    forward_one(params + static_cast<std::size_t>(k) * per_network_, X,
                caches[static_cast<std::size_t>(k)], out.data() + k, shape_.n_outputs, 1);
}

template <typename Scalar>
void Mlp<Scalar>::backward(const Scalar* params, const RowMatrix<Scalar>& X,
                           const RowMatrix<Scalar>& d_out,
                           const std::vector<MlpCache<Scalar>>& caches, Scalar* grad) const {
  auto backward_one = [&](int k, const RowMatrix<Scalar>& d_result) {
    const Scalar* net = params + static_cast<std::size_t>(k) * per_network_;
    Scalar* g = grad + static_cast<std::size_t>(k) * per_network_;
    const auto& cache = caches[static_cast<std::size_t>(k)];
    const Layer& last = layers_.back();
    // Output layer: dW = d_resultᵀ · a_{L−1}, db = Σ_rows d_result, d_a = d_result · W.
    Eigen::Map<RowMatrix<Scalar>>(g + last.weight, last.out, last.in).noalias() +=
        d_result.transpose() * cache.activations.back();
    Eigen::Map<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>(g + last.bias, last.out) +=
        d_result.colwise().sum();
    RowMatrix<Scalar> d_a = d_result * ConstWeights<Scalar>(net + last.weight, last.out, last.in);
    for (int l = shape_.layers - 1; l >= 0; --l) {
      const Layer& layer = layers_[static_cast<std::size_t>(l)];
      if (l > 0)  // a_l = sin(z_l) ⇒ dz_l = da_l ⊙ cos(z_l)
        d_a = (d_a.array() * cache.cosines[static_cast<std::size_t>(l)].array()).matrix();
      const RowMatrix<Scalar>& input = l == 0 ? X : cache.activations[static_cast<std::size_t>(l - 1)];
      Eigen::Map<RowMatrix<Scalar>>(g + layer.weight, layer.out, layer.in).noalias() +=
          d_a.transpose() * input;
      Eigen::Map<Eigen::Matrix<Scalar, 1, Eigen::Dynamic>>(g + layer.bias, layer.out) +=
          d_a.colwise().sum();
      if (l > 0) d_a = d_a * ConstWeights<Scalar>(net + layer.weight, layer.out, layer.in);
    }
  };
  if (shape_.architecture == Architecture::shared) {
    backward_one(0, d_out);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int k = 0; k < shape_.n_outputs; ++k) backward_one(k, d_out.col(k));
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
