#include "innmf/model/fields.hpp"

#include <cmath>
#include <exception>
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

namespace {

/// value(:, o) = softplus(pre(:, o)) for one output column, through a contiguous copy so that
/// nn::softplus_array vectorises (scalar libm calls were ~2 % of an epoch).
template <typename Scalar>
void softplus_column(const RowMatrix<Scalar>& pre, RowMatrix<Scalar>& value, int o) {
  thread_local Eigen::Array<Scalar, Eigen::Dynamic, 1> x;
  x = pre.col(o).array();
  value.col(o) = nn::softplus_array(x).matrix();
}

/// d_pre(:, o) = d_value(:, o) ⊙ softplus'(pre(:, o)), vectorised as above.
template <typename Scalar>
void softplus_backward_column(const RowMatrix<Scalar>& pre, const RowMatrix<Scalar>& d_value, RowMatrix<Scalar>& d_pre,
                              int o) {
  thread_local Eigen::Array<Scalar, Eigen::Dynamic, 1> x;
  x = pre.col(o).array();
  d_pre.col(o) = (d_value.col(o).array() * nn::softplus_derivative_array(x)).matrix();
}

}  // namespace

namespace {

/// Rows per block when activations are recomputed: 17 of nn::Mlp's 60-row tiles, so that one
/// network's activations of a block (1020 × 64 × 3 floats, 780 kB at h = 64) stay in L2 between
/// the recomputation and the backward pass that reads them.
constexpr Eigen::Index kRecomputeRows = 1020;

/// One thread's working set for recomputation: a block of the encoded coordinates, the network's
/// activations on it, its output and the gradient at its output.
template <typename Scalar>
struct RecomputeBlock {
  RowMatrix<Scalar> features;
  nn::MlpCache<Scalar> cache;
  RowMatrix<Scalar> pre;
  RowMatrix<Scalar> d_pre;
};

template <typename Scalar>
RecomputeBlock<Scalar>& thread_block() {
  thread_local RecomputeBlock<Scalar> block;
  return block;
}

/// Runs body(k) for networks k in [first, last) (in reverse when `reverse`), over the threads
/// when there are several networks. An exception (std::bad_alloc for a large batch) must not
/// leave a parallel region (std::terminate): the first one is rethrown after it.
template <typename Body>
void for_each_network(int first, int last, bool reverse, bool parallel, const Body& body) {
  std::exception_ptr failure;
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
  for (int i = first; i < last; ++i) {
    try {
      body(reverse ? last - 1 - (i - first) : i);
    } catch (...) {
#pragma omp critical(innmf_field_failure)
      if (!failure) failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace

template <typename Scalar>
bool NeuralField<Scalar>::recomputes(const FieldBatch<Scalar>& batch, int first, int last) const {
  const auto rows = static_cast<std::size_t>(batch.features.rows());
  return rows * static_cast<std::size_t>(last - first) * mlp_.cache_bytes_per_row() > batch.cache_limit_bytes;
}

template <typename Scalar>
void NeuralField<Scalar>::forward(const Scalar* params, FieldBatch<Scalar>& batch, int first, int last) const {
  const Eigen::Index n = batch.features.rows();
  if (first < 0 || last < first || last > mlp_.n_networks())
    throw Error(ExitCode::failure, fmt::format("NeuralField: networks [{}, {}) out of the {} networks", first, last,
                                               mlp_.n_networks()));
  mlp_.size_outputs(n, batch.pre, batch.caches);
  if (batch.value.rows() != n || batch.value.cols() != batch.pre.cols()) batch.value.resize(n, batch.pre.cols());
  const int width = mlp_.network_outputs();
  const bool recompute = recomputes(batch, first, last);
  if (recompute) batch.caches.assign(batch.caches.size(), nn::MlpCache<Scalar>{});  // free what a smaller batch kept
  // One parallel region: threads take whole networks one at a time and the softplus of their
  // columns (dynamic, nn::Mlp::forward).
  for_each_network(first, last, false, mlp_.n_networks() > 1, [&](int k) {
    if (!recompute) {
      mlp_.forward_network(params, batch.features, batch.pre, batch.caches, k);
    } else {
      auto& block = thread_block<Scalar>();
      for (Eigen::Index r0 = 0; r0 < n; r0 += kRecomputeRows) {
        const Eigen::Index rows = std::min(kRecomputeRows, n - r0);
        block.features = batch.features.middleRows(r0, rows);
        mlp_.forward_network_rows(params, block.features, block.cache,
                                  batch.pre.data() + r0 * batch.pre.cols() + static_cast<Eigen::Index>(k) * width,
                                  batch.pre.cols(), k);
      }
    }
    for (int o = k * width; o < (k + 1) * width; ++o) softplus_column(batch.pre, batch.value, o);
  });
}

template <typename Scalar>
void NeuralField<Scalar>::backward(const Scalar* params, const FieldBatch<Scalar>& batch,
                                   const RowMatrix<Scalar>& d_value, Scalar* grad, int first, int last) const {
  if (first < 0 || last < first || last > mlp_.n_networks())
    throw Error(ExitCode::failure, fmt::format("NeuralField: networks [{}, {}) out of the {} networks", first, last,
                                               mlp_.n_networks()));
  const Eigen::Index n = batch.pre.rows();
  const int width = mlp_.network_outputs();
  if (!recomputes(batch, first, last)) {
    // d_pre = d_value ⊙ softplus'(pre), in the networks' columns only (the others are not read),
    // each network's column by the thread that back-propagates it.
    RowMatrix<Scalar> d_pre(n, batch.pre.cols());
    for_each_network(first, last, true, mlp_.n_networks() > 1, [&](int k) {
      for (int o = k * width; o < (k + 1) * width; ++o) softplus_backward_column(batch.pre, d_value, d_pre, o);
      mlp_.backward_network(params, batch.features, d_pre, batch.caches, grad, k);
    });
    return;
  }
  // Recomputation: per block of rows, the network's activations again (its output is not
  // needed: pre holds it), then back-propagation through them while they are in cache.
  for_each_network(first, last, true, mlp_.n_networks() > 1, [&](int k) {
    auto& block = thread_block<Scalar>();
    for (Eigen::Index r0 = 0; r0 < n; r0 += kRecomputeRows) {
      const Eigen::Index rows = std::min(kRecomputeRows, n - r0);
      block.features = batch.features.middleRows(r0, rows);
      block.pre.resize(rows, width);
      mlp_.forward_network_rows(params, block.features, block.cache, block.pre.data(), width, k);
      const auto columns = Eigen::seqN(static_cast<Eigen::Index>(k) * width, width);
      block.d_pre = (d_value.middleRows(r0, rows)(Eigen::all, columns).array() *
                     nn::softplus_derivative_array(batch.pre.middleRows(r0, rows)(Eigen::all, columns).array()))
                        .matrix();
      mlp_.backward_network_rows(params, block.features, block.d_pre.data(), width, block.cache, grad, k);
    }
  });
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
void GridField<Scalar>::size_tables(Batch& batch) const {
  const auto n = static_cast<Eigen::Index>(batch.left.size());
  if (batch.knot_value.rows() != n_knots_ || batch.knot_value.cols() != rank_) batch.knot_value.resize(n_knots_, rank_);
  if (batch.knot_slope.rows() != n_knots_ || batch.knot_slope.cols() != rank_) batch.knot_slope.resize(n_knots_, rank_);
  if (batch.value.rows() != n || batch.value.cols() != rank_) batch.value.resize(n, rank_);
}

template <typename Scalar>
void GridField<Scalar>::knots(const Scalar* theta, Batch& batch, Eigen::Index begin, Eigen::Index end) const {
  for (Eigen::Index j = begin; j < end; ++j)
    for (int k = 0; k < rank_; ++k) {
      const Scalar x = theta[static_cast<std::size_t>(j) * rank_ + k];
      batch.knot_value(j, k) = nn::softplus(x);
      batch.knot_slope(j, k) = nn::softplus_derivative(x);
    }
}

template <typename Scalar>
void GridField<Scalar>::interpolate(Batch& batch, Eigen::Index begin, Eigen::Index end) const {
  for (Eigen::Index i = begin; i < end; ++i) {
    const Scalar a = batch.fraction[static_cast<std::size_t>(i)];
    const Scalar* left = batch.knot_value.data() + static_cast<std::size_t>(batch.left[static_cast<std::size_t>(i)]) * rank_;
    const Scalar* right = left + rank_;
    for (int k = 0; k < rank_; ++k)
      batch.value(i, k) = (1 - a) * left[k] + (a != 0 ? a * right[k] : Scalar(0));
  }
}

template <typename Scalar>
void GridField<Scalar>::backward(const Scalar* /*theta*/, const Batch& batch,
                                 const RowMatrix<Scalar>& d_value, Scalar* grad) const {
  // Sequential over points: two points may share a knot.
  const Scalar* slope = batch.knot_slope.data();
  for (std::size_t i = 0; i < batch.left.size(); ++i) {
    const Scalar a = batch.fraction[i];
    const std::size_t left = static_cast<std::size_t>(batch.left[i]) * rank_;
    for (int k = 0; k < rank_; ++k) {
      const Scalar d = d_value(static_cast<Eigen::Index>(i), k);
      grad[left + k] += (1 - a) * d * slope[left + k];
      if (a != 0) grad[left + rank_ + k] += a * d * slope[left + rank_ + k];
    }
  }
}

template <typename Scalar>
void GridField<Scalar>::interpolation_transpose(const Batch& batch, const RowMatrix<Scalar>& values,
                                                RowMatrix<Scalar>& knot_sums) const {
  knot_sums.setZero(n_knots_, rank_);
  for (std::size_t i = 0; i < batch.left.size(); ++i) {
    const Scalar a = batch.fraction[i];
    const auto left = static_cast<Eigen::Index>(batch.left[i]), row = static_cast<Eigen::Index>(i);
    knot_sums.row(left) += (1 - a) * values.row(row);
    if (a != 0) knot_sums.row(left + 1) += a * values.row(row);
  }
}

template class NeuralField<float>;
template class NeuralField<double>;
template class GridField<float>;
template class GridField<double>;

}  // namespace innmf::model
