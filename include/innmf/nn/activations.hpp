#pragma once
// Softplus, the map that keeps iN-NMF's fields non-negative, and its derivative.

#include <Eigen/Core>
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

/// log1p(u) on an Eigen array of u > −1, vectorised: Eigen 3.4's log1p of float arrays calls
/// libm's log1pf per element, its log is a packet op. Kahan's formula: with v = 1 + u rounded,
/// log(v)·u/(v − 1) is log1p(u) to a few ulp (the rounding of v cancels in the quotient), and
/// u itself where v rounds to 1.
template <typename Derived>
inline auto log1p_array(const Eigen::ArrayBase<Derived>& u) {
  using Scalar = typename Derived::Scalar;
  using Array = Eigen::Array<Scalar, Derived::RowsAtCompileTime, Derived::ColsAtCompileTime>;
  const Array v = u + Scalar(1);
  return Array((v == Scalar(1)).select(u, v.log() * (u / (v - Scalar(1)))));
}

/// softplus on an Eigen array, vectorised (exp and log as packets): max(x, 0) + log1p(e^−|x|),
/// stable for every x; the same function as the scalar form to float round-off, except below
/// x ≈ −88.4, where Eigen's float exp stops at 2.9·10⁻³⁹ instead of going on into denormals.
/// (Returns an evaluated array: an expression would refer to log1p_array's temporary.)
template <typename Derived>
inline auto softplus_array(const Eigen::ArrayBase<Derived>& x) {
  using Scalar = typename Derived::Scalar;
  using Array = Eigen::Array<Scalar, Derived::RowsAtCompileTime, Derived::ColsAtCompileTime>;
  return Array(x.max(Scalar(0)) + log1p_array((-x.abs()).exp()));
}

/// softplus' = 1 / (1 + e^−x) on an Eigen array, vectorised.
template <typename Derived>
inline auto softplus_derivative_array(const Eigen::ArrayBase<Derived>& x) {
  using Scalar = typename Derived::Scalar;
  return (Scalar(1) + (-x).exp()).inverse();
}

/// softplus⁻¹(y) = log(e^y − 1) for y > 0.
template <typename Scalar>
inline Scalar softplus_inverse(Scalar y) {
  if (y > Scalar(20)) return y;
  return std::log(std::expm1(y));
}

/// softplus⁻¹ on an Eigen array of y > 0, vectorised: y + log(1 − e^−y), stable for every y > 0
/// (log(e^y − 1) overflows past y ≈ 88 in float).
template <typename Derived>
inline auto softplus_inverse_array(const Eigen::ArrayBase<Derived>& y) {
  return y + (-(-y).expm1()).log();
}

/// Largest |x| that sincos reduces itself; beyond it (or NaN) it defers to std::sin/std::cos.
inline constexpr float kSinCosLimit = 8192.0f;

/// s ← sin z, c ← cos z for n floats, absolute error ≤ 1.4·10⁻⁷ (~2 ulp of 1), vectorised: the
/// sin activation of the hidden layers and its derivative in one pass (src/nn/mlp.cpp); s may
/// be z. The fused GEMM epilogues compute the same values bit for bit.
/// std::sin and std::cos are its reference (tests/nn/test_mlp.cpp).
void sincos(const float* z, float* s, float* c, std::ptrdiff_t n);

/// packed ← sin z with its lowest mantissa bit replaced by the sign of cos z (1 where cos z < 0),
/// for n floats: sin z as sincos computes it, give or take 1 ulp, and enough to recover cos z.
/// The fast MLP path saves this one float per hidden unit between forward and backward, and its
/// GEMM epilogues compute the same values bit for bit. packed may be z.
void packed_sin(const float* z, float* packed, std::ptrdiff_t n);

/// c ← cos z = ±√(1 − s²) from s = packed_sin(z) (fused multiply-add, correctly rounded square
/// root, the sign from bit 0), for n floats. With δ ≤ 2·10⁻⁷ the error of s (sincos's plus the
/// packed bit), the absolute error is ≤ 2δ/|cos z| (≤ 8·10⁻⁷ where |cos z| ≥ 0.5) and never more
/// than √(2δ) = 6.3·10⁻⁴, reached only as cos z → 0, where it scales a gradient's smallest
/// terms. c may be packed.
void cos_of_packed(const float* packed, float* c, std::ptrdiff_t n);

}  // namespace innmf::nn
