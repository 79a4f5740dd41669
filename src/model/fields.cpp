#include "innmf/model/fields.hpp"

#include <cmath>
#include <fmt/format.h>

#include "innmf/core/error.hpp"
#include "innmf/nn/activations.hpp"

namespace innmf::model {

template <typename Scalar>
NeuralField<Scalar>::NeuralField(const nn::MlpShape& shape, nn::FourierFeatures encoding,
                                 double scale)
    : encoding_(std::move(encoding)), mlp_(shape), scale_(scale) {
  if (!(scale > 0)) throw UsageError(fmt::format("field coordinate scale {} must be positive", scale));
  if (shape.n_inputs != encoding_.dim())
    throw Error(ExitCode::failure, "NeuralField: network inputs do not match the encoding");
}

template <typename Scalar>
FieldBatch<Scalar> NeuralField<Scalar>::prepare(const std::vector<double>& coordinates) const {
  std::vector<double> x(coordinates.size());
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = coordinates[i] / scale_;
  FieldBatch<Scalar> batch;
  batch.features = encoding_.template encode<Scalar>(x);
  return batch;
}

template <typename Scalar>
void NeuralField<Scalar>::forward(const Scalar* params, FieldBatch<Scalar>& batch, int first, int last) const {
  mlp_.forward(params, batch.features, batch.pre, batch.caches, first, last);
  if (first == 0 && last == mlp_.n_networks()) {
    batch.value = batch.pre.unaryExpr([](Scalar x) { return nn::softplus(x); });
    return;
  }
  if (batch.value.rows() != batch.pre.rows() || batch.value.cols() != batch.pre.cols())
    batch.value.resize(batch.pre.rows(), batch.pre.cols());
  const int width = mlp_.network_outputs();
  batch.value.middleCols(first * width, (last - first) * width) =
      batch.pre.middleCols(first * width, (last - first) * width).unaryExpr([](Scalar x) { return nn::softplus(x); });
}

template <typename Scalar>
void NeuralField<Scalar>::backward(const Scalar* params, const FieldBatch<Scalar>& batch,
                                   const RowMatrix<Scalar>& d_value, Scalar* grad, int first, int last) const {
  // d_pre = d_value ⊙ softplus'(pre), in the networks' columns only (the others are not read).
  const int width = mlp_.network_outputs();
  const Eigen::Index begin = first * width, columns = (last - first) * width;
  RowMatrix<Scalar> d_pre(batch.pre.rows(), batch.pre.cols());
  d_pre.middleCols(begin, columns) =
      (d_value.middleCols(begin, columns).array() *
       batch.pre.middleCols(begin, columns).unaryExpr([](Scalar x) { return nn::softplus_derivative(x); }).array())
          .matrix();
  mlp_.backward(params, batch.features, d_pre, batch.caches, grad, first, last);
}

template <typename Scalar>
GridField<Scalar>::GridField(double knot_spacing, double duration, int rank)
    : spacing_(knot_spacing), rank_(rank) {
  if (!(knot_spacing > 0))
    throw UsageError(fmt::format("activation knot spacing {} s must be positive", knot_spacing));
  n_knots_ = static_cast<int>(std::floor(duration / knot_spacing + 1e-6)) + 2;
}

template <typename Scalar>
typename GridField<Scalar>::Batch GridField<Scalar>::prepare(const std::vector<double>& times) const {
  Batch batch;
  for (double t : times) {
    const double position = std::max(0.0, t / spacing_);
    // A time within 1e-4 knot of a knot sits on it: STFT frames are on knots, but their times
    // are float32 in the file (relative error 6e-8, times 10⁴ frames in a long clip).
    const double nearest = std::round(position);
    int left = static_cast<int>(std::abs(position - nearest) < 1e-4 ? nearest : std::floor(position));
    double fraction = std::abs(position - nearest) < 1e-4 ? 0.0 : position - left;
    if (left >= n_knots_ - 1) {
      left = n_knots_ - 2;
      fraction = 1;
    }
    batch.left.push_back(left);
    batch.fraction.push_back(static_cast<Scalar>(fraction));
  }
  return batch;
}

template <typename Scalar>
void GridField<Scalar>::forward(const Scalar* theta, Batch& batch) const {
  const auto n = static_cast<Eigen::Index>(batch.left.size());
  batch.value.resize(n, rank_);
  for (Eigen::Index i = 0; i < n; ++i) {
    const Scalar a = batch.fraction[static_cast<std::size_t>(i)];
    const Scalar* left = theta + static_cast<std::size_t>(batch.left[static_cast<std::size_t>(i)]) * rank_;
    const Scalar* right = left + rank_;
    for (int k = 0; k < rank_; ++k)
      batch.value(i, k) = (1 - a) * nn::softplus(left[k]) + (a != 0 ? a * nn::softplus(right[k]) : Scalar(0));
  }
}

template <typename Scalar>
void GridField<Scalar>::backward(const Scalar* theta, const Batch& batch,
                                 const RowMatrix<Scalar>& d_value, Scalar* grad) const {
  // Sequential over points: two points may share a knot.
  for (std::size_t i = 0; i < batch.left.size(); ++i) {
    const Scalar a = batch.fraction[i];
    const std::size_t left = static_cast<std::size_t>(batch.left[i]) * rank_;
    for (int k = 0; k < rank_; ++k) {
      const Scalar d = d_value(static_cast<Eigen::Index>(i), k);
      grad[left + k] += (1 - a) * d * nn::softplus_derivative(theta[left + k]);
      if (a != 0) grad[left + rank_ + k] += a * d * nn::softplus_derivative(theta[left + rank_ + k]);
    }
  }
}

template class NeuralField<float>;
template class NeuralField<double>;
template class GridField<float>;
template class GridField<double>;

}  // namespace innmf::model
