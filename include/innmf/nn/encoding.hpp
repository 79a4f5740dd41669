#pragma once
// Fourier-feature encoding of a scalar coordinate (DESIGN.md §1):
//   γ(x) = [cos(π·2^j·x + b_j), sin(π·2^j·x + b_j)],  j = 0..n_fourier−1,
// with fixed random phases b_j (drawn once, stored in the model). x is a normalised
// coordinate (f / f_ref or t / duration), nominally in [0, 1].

#include <Eigen/Core>
#include <Eigen/StdVector>
#include <cstdint>
#include <vector>

namespace innmf::nn {

template <typename Scalar>
using RowMatrix = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// A flat parameter (or gradient) buffer. Aligned like Eigen's own matrices: Eigen's vectorised
/// kernels peel unaligned heads, so a buffer whose alignment varied from run to run would give
/// results that differ in the last bits from run to run; aligned, they are reproducible.
template <typename Scalar>
using ParameterBuffer = std::vector<Scalar, Eigen::aligned_allocator<Scalar>>;

class FourierFeatures {
 public:
  /// Phases drawn uniformly in [0, 2π) from `seed` (std::mt19937_64), so a model can be
  /// rebuilt from (n_fourier, seed) or from its stored phases.
  FourierFeatures(int n_fourier, std::uint64_t seed);
  explicit FourierFeatures(std::vector<double> phases);

  int n_fourier() const { return static_cast<int>(phases_.size()); }
  int dim() const { return 2 * n_fourier(); }  ///< output width
  const std::vector<double>& phases() const { return phases_; }

  /// (n, dim) features of n coordinates; columns [cos_0, sin_0, cos_1, sin_1, …].
  template <typename Scalar>
  RowMatrix<Scalar> encode(const std::vector<double>& x) const;

 private:
  std::vector<double> phases_;
};

}  // namespace innmf::nn
