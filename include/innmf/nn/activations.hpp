#pragma once
// Softplus, the map that keeps iN-NMF's fields non-negative, and its derivative.

#include <cmath>
#include <cstddef>

namespace innmf::nn {

/// log(1 + e^x), without overflow for large x or loss of precision for very negative x.
template <typename Scalar>
inline Scalar softplus(Scalar x) {
  if (x > Scalar(20)) return x;  // log1p(e^x) = x + log1p(e^−x) ≈ x within float precision
  return std::log1p(std::exp(x));
}

/// d softplus / dx = sigmoid(x) = 1 / (1 + e^−x).
template <typename Scalar>
inline Scalar softplus_derivative(Scalar x) {
  return Scalar(1) / (Scalar(1) + std::exp(-x));
}

/// softplus⁻¹(y) = log(e^y − 1) for y > 0.
template <typename Scalar>
inline Scalar softplus_inverse(Scalar y) {
  if (y > Scalar(20)) return y;
  return std::log(std::expm1(y));
}

/// Largest |x| that sincos reduces itself; beyond it (or NaN) it defers to std::sin/std::cos.
inline constexpr float kSinCosLimit = 8192.0f;

/// s ← sin z, c ← cos z for n floats, absolute error ≤ 1.4·10⁻⁷ (~2 ulp of 1), vectorised: the
/// sin activation of the hidden layers and its derivative in one pass (src/nn/mlp.cpp); s may
/// be z. The fused GEMM epilogues compute the same values bit for bit.
/// std::sin and std::cos are its reference (tests/nn/test_mlp.cpp).
void sincos(const float* z, float* s, float* c, std::ptrdiff_t n);

}  // namespace innmf::nn
