#include "innmf/nn/encoding.hpp"

#include <cmath>
#include <random>

namespace innmf::nn {

FourierFeatures::FourierFeatures(int n_fourier, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 2.0 * M_PI);
  for (int j = 0; j < n_fourier; ++j) phases_.push_back(uniform(rng));
}

FourierFeatures::FourierFeatures(std::vector<double> phases) : phases_(std::move(phases)) {}

template <typename Scalar>
RowMatrix<Scalar> FourierFeatures::encode(const std::vector<double>& x) const {
  RowMatrix<Scalar> out(static_cast<Eigen::Index>(x.size()), dim());
  for (std::size_t i = 0; i < x.size(); ++i) {
    for (int j = 0; j < n_fourier(); ++j) {
      // Computed in double: π·2^j·x reaches ~1600 rad for j = 9, where float loses digits.
      const double angle = M_PI * std::ldexp(1.0, j) * x[i] + phases_[static_cast<std::size_t>(j)];
      out(static_cast<Eigen::Index>(i), 2 * j) = static_cast<Scalar>(std::cos(angle));
      out(static_cast<Eigen::Index>(i), 2 * j + 1) = static_cast<Scalar>(std::sin(angle));
    }
  }
  return out;
}

template RowMatrix<float> FourierFeatures::encode<float>(const std::vector<double>&) const;
template RowMatrix<double> FourierFeatures::encode<double>(const std::vector<double>&) const;

}  // namespace innmf::nn
