#include "innmf/nn/mlp.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <random>
#include <type_traits>

#include "innmf/core/error.hpp"
#include "innmf/nn/activations.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define INNMF_NN_AVX2 1
#else
#define INNMF_NN_AVX2 0
#endif
// 16-lane kernels where the build targets AVX-512 (-march=native on such a machine): the same
// operations on twice the lanes, so the values are the same bits as the 8-lane ones. On cores
// with full-width 512-bit FMA pipes (Zen 5) they double the peak; the 8-lane kernels still
// take column remainders of 8.
#if INNMF_NN_AVX2 && defined(__AVX512F__) && defined(__AVX512DQ__)
#define INNMF_NN_AVX512 1
#else
#define INNMF_NN_AVX512 0
#endif

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
void Mlp<Scalar>::initialize(Scalar* params, std::uint64_t seed, double sine_scale) const {
  std::mt19937_64 rng(seed);
  for (int k = 0; k < n_networks(); ++k) {
    Scalar* net = params + static_cast<std::size_t>(k) * per_network_;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      const auto& layer = layers_[l];
      const bool feeds_sine = l >= 1 && l + 1 < layers_.size();  // not the first, not the output
      const double bound = (feeds_sine ? sine_scale : 1.0) / std::sqrt(static_cast<double>(layer.in));
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

// One range reduction for both: x = q·π + r with |r| ≤ π/2 (Cody–Waite, π in three parts, exact
// products for |q| < 2^16, so kSinCosLimit leaves room), then an odd polynomial of degree 9 for
// sin r and an even one of degree 10 for cos r (near-minimax on [0, π/2] by Lawson-weighted least
// squares, coefficients rounded to float: relative error 6·10⁻⁹ and absolute 3·10⁻¹⁰, below float
// rounding), both times (−1)^q. In float, ≤ 1.4·10⁻⁷ from the exact values (the reduction's
// rounding of r up to π/2 dominates; quadrants of π/2 gave 0.9·10⁻⁷). No quadrant swap: sin
// alone (the forward's activation, packed with cos's sign, which is (−1)^q) is 14 operations,
// half of a sincos by quadrants of π/2.
// q's parity is the last bit of v/π + 1.5·2^23 (the addition rounds to an integer). Branch-free;
// the 8-lane versions below are the same operations (bit-identical lane by lane).
namespace {
constexpr float kInvPi = 0.318309886183790672f;
constexpr float kRoundToInteger = 12582912.0f;  // 1.5·2^23
constexpr float kPi1 = 3.140625f, kPi2 = 9.67502593994140625e-4f, kPi3 = 1.509957990978376432e-7f;
constexpr float kSin3 = -0.16666659712791443f, kSin5 = 0.00833306647837162f, kSin7 = -0.00019809603691101074f,
                kSin9 = 2.60578212873952e-06f;
constexpr float kCos2 = -0.5f, kCos4 = 0.04166664183139801f, kCos6 = -0.00138884037733078f,
                kCos8 = 2.4761886379565112e-05f, kCos10 = -2.607710598567792e-07f;

/// r = v − q·π with |r| ≤ π/2; `negative` ← q odd.
inline float reduce_scalar(float v, bool& negative) {
  const float t = std::fma(v, kInvPi, kRoundToInteger);
  std::uint32_t bits;
  std::memcpy(&bits, &t, sizeof bits);
  negative = (bits & 1u) != 0;
  const float q = t - kRoundToInteger;
  float r = std::fma(q, -kPi1, v);
  r = std::fma(q, -kPi2, r);
  return std::fma(q, -kPi3, r);
}
inline float sin_scalar(float r, float r2) {
  return std::fma(r * r2, std::fma(std::fma(std::fma(kSin9, r2, kSin7), r2, kSin5), r2, kSin3), r);
}
inline float cos_scalar(float r2) {
  return std::fma(r2, std::fma(std::fma(std::fma(std::fma(kCos10, r2, kCos8), r2, kCos6), r2, kCos4), r2, kCos2),
                  1.0f);
}
inline void sincos_scalar(float v, float& sin_out, float& cos_out) {
  bool negative;
  const float r = reduce_scalar(v, negative);
  const float r2 = r * r;
  const float s = sin_scalar(r, r2), c = cos_scalar(r2);
  sin_out = negative ? -s : s;
  cos_out = negative ? -c : c;
}
/// sincos_scalar within kSinCosLimit, else (or NaN) the standard library.
inline void sincos_lane(float v, float& sin_out, float& cos_out) {
  if (std::abs(v) <= kSinCosLimit) {
    sincos_scalar(v, sin_out, cos_out);
  } else {
    sin_out = std::sin(v);
    cos_out = std::cos(v);
  }
}
/// packed_sin of one float (the 8-lane code's values, lane by lane).
inline float packed_sin_scalar(float v) {
  float s;
  bool cos_negative;
  if (std::abs(v) <= kSinCosLimit) {
    const float r = reduce_scalar(v, cos_negative);
    s = sin_scalar(r, r * r);
    if (cos_negative) s = -s;
  } else {
    s = std::sin(v);
    cos_negative = std::signbit(std::cos(v));
  }
  std::uint32_t bits;
  std::memcpy(&bits, &s, sizeof bits);
  bits = (bits & ~1u) | (cos_negative ? 1u : 0u);
  std::memcpy(&s, &bits, sizeof bits);
  return s;
}
inline float cos_of_packed_scalar(float packed) {
  std::uint32_t bits;
  std::memcpy(&bits, &packed, sizeof bits);
  const float one_minus_square = std::fma(-packed, packed, 1.0f);
  // (As _mm256_max_ps(0, x): a NaN passes through.)
  const float magnitude = std::sqrt(one_minus_square < 0.0f ? 0.0f : one_minus_square);
  return (bits & 1u) != 0 ? -magnitude : magnitude;
}

#if INNMF_NN_AVX2
/// reduce_scalar on 8 lanes; `sign` ← the sign bit where q is odd.
inline __m256 reduce8(__m256 v, __m256& sign) {
  const __m256 t = _mm256_fmadd_ps(v, _mm256_set1_ps(kInvPi), _mm256_set1_ps(kRoundToInteger));
  sign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(t), 31));
  const __m256 q = _mm256_sub_ps(t, _mm256_set1_ps(kRoundToInteger));
  __m256 r = _mm256_fmadd_ps(q, _mm256_set1_ps(-kPi1), v);
  r = _mm256_fmadd_ps(q, _mm256_set1_ps(-kPi2), r);
  return _mm256_fmadd_ps(q, _mm256_set1_ps(-kPi3), r);
}
inline __m256 sin8_reduced(__m256 r, __m256 r2) {
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kSin9), r2, _mm256_set1_ps(kSin7));
  p = _mm256_fmadd_ps(p, r2, _mm256_set1_ps(kSin5));
  p = _mm256_fmadd_ps(p, r2, _mm256_set1_ps(kSin3));
  return _mm256_fmadd_ps(_mm256_mul_ps(r, r2), p, r);
}
inline __m256 cos8_reduced(__m256 r2) {
  __m256 p = _mm256_fmadd_ps(_mm256_set1_ps(kCos10), r2, _mm256_set1_ps(kCos8));
  p = _mm256_fmadd_ps(p, r2, _mm256_set1_ps(kCos6));
  p = _mm256_fmadd_ps(p, r2, _mm256_set1_ps(kCos4));
  p = _mm256_fmadd_ps(p, r2, _mm256_set1_ps(kCos2));
  return _mm256_fmadd_ps(r2, p, _mm256_set1_ps(1.0f));
}
inline void sincos8(__m256 v, __m256& sin_out, __m256& cos_out) {
  __m256 sign;
  const __m256 r = reduce8(v, sign);
  const __m256 r2 = _mm256_mul_ps(r, r);
  sin_out = _mm256_xor_ps(sin8_reduced(r, r2), sign);
  cos_out = _mm256_xor_ps(cos8_reduced(r2), sign);
}
/// True if some lane is beyond kSinCosLimit (or NaN): the scalar code takes the vector.
inline bool beyond_limit(__m256 v) {
  const __m256 magnitude = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v);
  return _mm256_movemask_ps(_mm256_cmp_ps(magnitude, _mm256_set1_ps(kSinCosLimit), _CMP_NLE_UQ)) != 0;
}
/// sincos8, or sincos_lane lane by lane where some lane is beyond kSinCosLimit.
inline void sincos8_checked(__m256 v, __m256& sin_out, __m256& cos_out) {
  if (beyond_limit(v)) {
    alignas(32) float z[8], s[8], c[8];
    _mm256_store_ps(z, v);
    for (int lane = 0; lane < 8; ++lane) sincos_lane(z[lane], s[lane], c[lane]);
    sin_out = _mm256_load_ps(s);
    cos_out = _mm256_load_ps(c);
    return;
  }
  sincos8(v, sin_out, cos_out);
}
/// packed_sin8_checked without the range check: every lane within kSinCosLimit.
inline __m256 packed_sin8(__m256 v) {
  __m256 sign;
  const __m256 r = reduce8(v, sign);
  const __m256 s = _mm256_xor_ps(sin8_reduced(r, _mm256_mul_ps(r, r)), sign);
  const __m256i bits = _mm256_castps_si256(s);
  const __m256i cos_negative = _mm256_srli_epi32(_mm256_castps_si256(sign), 31);
  return _mm256_castsi256_ps(_mm256_or_si256(_mm256_andnot_si256(_mm256_set1_epi32(1), bits), cos_negative));
}
/// sin with the sign of cos in its lowest bit (packed_sin in activations.hpp), the same values as
/// packed_sin_scalar's. cos r ≥ 0 for |r| ≤ π/2, so cos z has the sign (−1)^q, the bit sin
/// already carries into its sign: moved to bit 0. (Where v/π rounds to the neighbouring q,
/// |r| exceeds π/2 by an ulp and the sign is wrong, for |cos z| of ~10⁻⁶ at most.)
inline __m256 packed_sin8_checked(__m256 v) {
  if (beyond_limit(v)) {
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, v);
    for (float& lane : lanes) lane = packed_sin_scalar(lane);
    return _mm256_load_ps(lanes);
  }
  return packed_sin8(v);
}
/// cos z = ±√(1 − s²) from a packed sine s, the same values as cos_of_packed_scalar's.
inline __m256 cos8_of_packed(__m256 packed) {
  const __m256 one_minus_square = _mm256_fnmadd_ps(packed, packed, _mm256_set1_ps(1.0f));
  const __m256 magnitude = _mm256_sqrt_ps(_mm256_max_ps(_mm256_setzero_ps(), one_minus_square));
  const __m256 sign = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_castps_si256(packed), 31));
  return _mm256_xor_ps(magnitude, sign);
}
#endif
#if INNMF_NN_AVX512
// The 8-lane functions above on 16 lanes, operation for operation.
inline __m512 reduce16(__m512 v, __m512& sign) {
  const __m512 t = _mm512_fmadd_ps(v, _mm512_set1_ps(kInvPi), _mm512_set1_ps(kRoundToInteger));
  sign = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(t), 31));
  const __m512 q = _mm512_sub_ps(t, _mm512_set1_ps(kRoundToInteger));
  __m512 r = _mm512_fmadd_ps(q, _mm512_set1_ps(-kPi1), v);
  r = _mm512_fmadd_ps(q, _mm512_set1_ps(-kPi2), r);
  return _mm512_fmadd_ps(q, _mm512_set1_ps(-kPi3), r);
}
inline __m512 sin16_reduced(__m512 r, __m512 r2) {
  __m512 p = _mm512_fmadd_ps(_mm512_set1_ps(kSin9), r2, _mm512_set1_ps(kSin7));
  p = _mm512_fmadd_ps(p, r2, _mm512_set1_ps(kSin5));
  p = _mm512_fmadd_ps(p, r2, _mm512_set1_ps(kSin3));
  return _mm512_fmadd_ps(_mm512_mul_ps(r, r2), p, r);
}
inline __m512 abs16(__m512 v) { return _mm512_andnot_ps(_mm512_set1_ps(-0.0f), v); }
/// True if some lane is beyond kSinCosLimit (or NaN).
inline bool beyond_limit16(__m512 v) {
  return _mm512_cmp_ps_mask(abs16(v), _mm512_set1_ps(kSinCosLimit), _CMP_NLE_UQ) != 0;
}
inline __m512 packed_sin16(__m512 v) {
  __m512 sign;
  const __m512 r = reduce16(v, sign);
  const __m512 s = _mm512_xor_ps(sin16_reduced(r, _mm512_mul_ps(r, r)), sign);
  const __m512i bits = _mm512_castps_si512(s);
  const __m512i cos_negative = _mm512_srli_epi32(_mm512_castps_si512(sign), 31);
  return _mm512_castsi512_ps(_mm512_or_si512(_mm512_andnot_si512(_mm512_set1_epi32(1), bits), cos_negative));
}
inline __m512 packed_sin16_checked(__m512 v) {
  if (beyond_limit16(v)) {
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, v);
    for (float& lane : lanes) lane = packed_sin_scalar(lane);
    return _mm512_load_ps(lanes);
  }
  return packed_sin16(v);
}
inline __m512 cos16_of_packed(__m512 packed) {
  const __m512 one_minus_square = _mm512_fnmadd_ps(packed, packed, _mm512_set1_ps(1.0f));
  const __m512 magnitude = _mm512_sqrt_ps(_mm512_max_ps(_mm512_setzero_ps(), one_minus_square));
  const __m512 sign = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_castps_si512(packed), 31));
  return _mm512_xor_ps(magnitude, sign);
}
#endif
}  // namespace

void sincos(const float* z, float* s, float* c, std::ptrdiff_t n) {
  std::ptrdiff_t i = 0;
#if INNMF_NN_AVX2
  for (; i + 8 <= n; i += 8) {
    __m256 sv, cv;
    sincos8_checked(_mm256_loadu_ps(z + i), sv, cv);
    _mm256_storeu_ps(s + i, sv);
    _mm256_storeu_ps(c + i, cv);
  }
#endif
  for (; i < n; ++i) {
    const float v = z[i];  // s may be z
    sincos_lane(v, s[i], c[i]);
  }
}

void packed_sin(const float* z, float* packed, std::ptrdiff_t n) {
  std::ptrdiff_t i = 0;
#if INNMF_NN_AVX512
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(packed + i, packed_sin16_checked(_mm512_loadu_ps(z + i)));
#endif
#if INNMF_NN_AVX2
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(packed + i, packed_sin8_checked(_mm256_loadu_ps(z + i)));
#endif
  for (; i < n; ++i) packed[i] = packed_sin_scalar(z[i]);
}

void cos_of_packed(const float* packed, float* c, std::ptrdiff_t n) {
  std::ptrdiff_t i = 0;
#if INNMF_NN_AVX512
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(c + i, cos16_of_packed(_mm512_loadu_ps(packed + i)));
#endif
#if INNMF_NN_AVX2
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(c + i, cos8_of_packed(_mm256_loadu_ps(packed + i)));
#endif
  for (; i < n; ++i) c[i] = cos_of_packed_scalar(packed[i]);
}

namespace {

// The networks' small GEMMs (C (m, n) = init + A·B, n a multiple of 8) with what follows them
// fused into the store while C is in registers: the packed sine of the hidden layers (forward),
// the product with the cosine unpacked from it (backward). Micro-tiles of 6 rows × 16 columns
// on AVX2 (12 accumulators, 2 loads of B and 6 broadcasts of A per step of k, so that the 2 FMA
// pipes, not the loads, set the pace) and 6 × 64 on AVX-512 (24 accumulators, 4 loads, 6
// broadcasts: row_block below).
enum class Init { zero, bias, accumulate };
enum class Epilogue {
  store,       ///< C = acc
  packed_sin,  ///< C = packed_sin(acc)
  times_cos,   ///< C = acc ⊙ cos_of_packed(C2)
};

struct GemmArgs {
  int m, n, k;
  const float* a;
  long a_row, a_col;
  const float* b;
  long ldb;
  const float* bias;  ///< Init::bias
  float* c;
  long ldc;
  const float* c2;  ///< Epilogue::times_cos: the packed sines (m, n)
  long ldc2;
};

#if INNMF_NN_AVX2
// The register types the micro-kernel is written against: 8 lanes (AVX2) and, on AVX-512
// builds, 16. Each maps the kernel's few operations to its intrinsics; the sine and cosine are
// the functions above, the same operations on both widths.
struct Lanes8 {
  using V = __m256;
  static constexpr int kWidth = 8;
  static V zero() { return _mm256_setzero_ps(); }
  static V load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static V fmadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  /// max(running, |v|) (a NaN in v passes through, as beyond_limit needs).
  static V max_magnitude(V running, V v) { return _mm256_max_ps(running, _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v)); }
  static bool beyond_limit(V v) { return innmf::nn::beyond_limit(v); }
  static V packed_sin(V v) { return packed_sin8(v); }
  static V packed_sin_checked(V v) { return packed_sin8_checked(v); }
  static V cos_of_packed(V v) { return cos8_of_packed(v); }
};
#endif
#if INNMF_NN_AVX512
struct Lanes16 {
  using V = __m512;
  static constexpr int kWidth = 16;
  static V zero() { return _mm512_setzero_ps(); }
  static V load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static V fmadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V max_magnitude(V running, V v) { return _mm512_max_ps(running, abs16(v)); }
  static bool beyond_limit(V v) { return beyond_limit16(v); }
  static V packed_sin(V v) { return packed_sin16(v); }
  static V packed_sin_checked(V v) { return packed_sin16_checked(v); }
  static V cos_of_packed(V v) { return cos16_of_packed(v); }
};
#endif

#if INNMF_NN_AVX2
/// C[i0 : i0 + MR, j0 : j0 + NV·L::kWidth] = init + A·B, then the epilogue, on registers of L.
template <typename L, int MR, int NV, Init I, Epilogue E>
inline void micro_kernel(const GemmArgs& g, int i0, int j0) {
  constexpr int W = L::kWidth;
  typename L::V acc[MR][NV];
  const float* a = g.a + i0 * g.a_row;
  const float* b = g.b + j0;
  float* c = g.c + i0 * g.ldc + j0;
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      if constexpr (I == Init::zero) acc[r][v] = L::zero();
      if constexpr (I == Init::bias) acc[r][v] = L::load(g.bias + j0 + W * v);
      if constexpr (I == Init::accumulate) acc[r][v] = L::load(c + r * g.ldc + W * v);
    }
  // The struct's fields in registers, running offsets (no multiply per step).
  const long a_col = g.a_col, ldb = g.ldb;
  const int k = g.k;
  const float* a_rows[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) a_rows[r] = a + r * g.a_row;
  long a_offset = 0;
  for (int p = 0; p < k; ++p, b += ldb, a_offset += a_col) {
    typename L::V bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) bv[v] = L::load(b + W * v);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      const typename L::V av = L::broadcast(a_rows[r] + a_offset);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = L::fmadd(av, bv[v], acc[r][v]);
    }
  }
  if constexpr (E == Epilogue::packed_sin) {
    // One range check for the whole micro-tile (the common case: every lane within the limit),
    // then the unchecked sine; the rare tile with a large or NaN lane takes the checked path.
    typename L::V magnitude_max = L::zero();
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) magnitude_max = L::max_magnitude(magnitude_max, acc[r][v]);
    if (!L::beyond_limit(magnitude_max)) {
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) L::store(c + r * g.ldc + W * v, L::packed_sin(acc[r][v]));
      return;
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* out = c + r * g.ldc + W * v;
      if constexpr (E == Epilogue::store) L::store(out, acc[r][v]);
      if constexpr (E == Epilogue::packed_sin) L::store(out, L::packed_sin_checked(acc[r][v]));
      if constexpr (E == Epilogue::times_cos) {
        const float* packed = g.c2 + (i0 + r) * g.ldc2 + j0 + W * v;
        L::store(out, L::mul(acc[r][v], L::cos_of_packed(L::load(packed))));
      }
    }
}

/// One block of MR rows across all n columns (a multiple of 8): 16-lane micro-tiles of 64, 32
/// and 16 columns where the build has AVX-512 (6 × 64: 24 of its 32 registers accumulate), the
/// 8-lane ones of 16 and 8 columns for the rest (12 of AVX2's 16 registers accumulate).
template <int MR, Init I, Epilogue E>
inline void row_block(const GemmArgs& g, int i0) {
  int j0 = 0;
#if INNMF_NN_AVX512
  for (; j0 + 64 <= g.n; j0 += 64) micro_kernel<Lanes16, MR, 4, I, E>(g, i0, j0);
  for (; j0 + 32 <= g.n; j0 += 32) micro_kernel<Lanes16, MR, 2, I, E>(g, i0, j0);
  for (; j0 + 16 <= g.n; j0 += 16) micro_kernel<Lanes16, MR, 1, I, E>(g, i0, j0);
#endif
  for (; j0 + 16 <= g.n; j0 += 16) micro_kernel<Lanes8, MR, 2, I, E>(g, i0, j0);
  if (j0 < g.n) micro_kernel<Lanes8, MR, 1, I, E>(g, i0, j0);
}
#endif

/// The same without AVX2: a plain loop, same contract.
template <Init I, Epilogue E>
void gemm_plain(const GemmArgs& g) {
  for (int i = 0; i < g.m; ++i)
    for (int j = 0; j < g.n; ++j) {
      float acc = I == Init::zero ? 0.0f : I == Init::bias ? g.bias[j] : g.c[i * g.ldc + j];
      for (int p = 0; p < g.k; ++p) acc += g.a[i * g.a_row + p * g.a_col] * g.b[p * g.ldb + j];
      float& out = g.c[i * g.ldc + j];
      if constexpr (E == Epilogue::store) out = acc;
      if constexpr (E == Epilogue::packed_sin) out = packed_sin_scalar(acc);
      if constexpr (E == Epilogue::times_cos) out = acc * cos_of_packed_scalar(g.c2[i * g.ldc2 + j]);
    }
}

template <Init I, Epilogue E>
void gemm(const GemmArgs& g) {
#if INNMF_NN_AVX2
  int i0 = 0;
  for (; i0 + 6 <= g.m; i0 += 6) row_block<6, I, E>(g, i0);
  switch (g.m - i0) {
    case 5: row_block<5, I, E>(g, i0); break;
    case 4: row_block<4, I, E>(g, i0); break;
    case 3: row_block<3, I, E>(g, i0); break;
    case 2: row_block<2, I, E>(g, i0); break;
    case 1: row_block<1, I, E>(g, i0); break;
    default: break;
  }
#else
  gemm_plain<I, E>(g);
#endif
}

}  // namespace

void small_gemm(int m, int n, int k, const float* a, long a_row, long a_col, const float* b, long ldb,
                const float* bias, bool accumulate, float* c, long ldc) {
  assert(n % 8 == 0);
  const GemmArgs g{m, n, k, a, a_row, a_col, b, ldb, bias, c, ldc, nullptr, 0};
  if (accumulate)
    gemm<Init::accumulate, Epilogue::store>(g);
  else if (bias != nullptr)
    gemm<Init::bias, Epilogue::store>(g);
  else
    gemm<Init::zero, Epilogue::store>(g);
}

namespace {

/// a ← sin(a), cosines ← cos(a), elementwise (the hidden layers' activation and its derivative).
template <typename Scalar>
void sin_and_cos(RowMatrix<Scalar>& a, RowMatrix<Scalar>& cosines) {
  cosines.resize(a.rows(), a.cols());
  if constexpr (std::is_same_v<Scalar, float>) {
    sincos(a.data(), a.data(), cosines.data(), a.size());
    return;
  }
  cosines = a.array().cos().matrix();
  a = a.array().sin().matrix();
}
}  // namespace

template <typename Scalar>
bool Mlp<Scalar>::uses_fast_kernels() const {
  return std::is_same_v<Scalar, float> && INNMF_NN_AVX2 && shape_.hidden % 8 == 0 && shape_.layers >= 2;
}

namespace {
/// Rows of a tile of the fast path: its activations (kTile × hidden floats, 15 kB at h = 64)
/// stay in L1 from one layer to the next, forward and backward. A multiple of the micro-kernel's
/// 6 rows: with 64, every tile ended in a 4-row kernel (~6 % of an epoch's samples; 60 is ~2 %
/// faster per epoch, 1 thread, 2026-11-27).
constexpr Eigen::Index kTile = 60;

/// Per-thread scratch of the fast path, kept across calls (no allocation per epoch).
std::vector<float>& thread_scratch(std::size_t size) {
  thread_local std::vector<float> scratch;
  if (scratch.size() < size) scratch.resize(size);
  return scratch;
}
}  // namespace

template <typename Scalar>
void Mlp<Scalar>::forward_fast(const float* net, const RowMatrix<float>& X, MlpCache<float>& cache, float* out,
                               Eigen::Index out_stride, int n_out) const {
  const int L = shape_.layers, H = shape_.hidden, n_in = shape_.n_inputs;
  const Eigen::Index n = X.rows();
  cache.activations.resize(static_cast<std::size_t>(L));
  cache.cosines.resize(static_cast<std::size_t>(L));
  cache.packed_sines.resize(static_cast<std::size_t>(L));
  for (int l = 1; l < L; ++l) cache.packed_sines[static_cast<std::size_t>(l)].resize(n, H);
  // The fold (header): z_1 = X·(W_1·W_0)ᵀ + (W_1·b_0 + b_1). B operands are the transposed
  // weights (in, out), row-major. (cache.folded_weight: the Eigen path's only.)
  const Layer& first = layers_[0];
  const Layer& second = layers_[1];
  ConstWeights<float> W1(net + second.weight, H, H);
  const std::size_t hh = static_cast<std::size_t>(H) * H;
  std::vector<float>& scratch = thread_scratch(static_cast<std::size_t>(H) * (n_in + 1) + (L - 1) * hh);
  float* bias1 = scratch.data();
  float* folded_t = bias1 + H;  // (n_inputs, hidden)
  float* weights_t = folded_t + static_cast<std::size_t>(n_in) * H;  // layer l ≥ 1 at (l − 1)·h²
  const auto a = [&](int l, Eigen::Index r0) { return cache.packed_sines[static_cast<std::size_t>(l)].data() + r0 * H; };
  for (int l = 1; l < L; ++l)
    Eigen::Map<RowMatrix<float>>(weights_t + (l - 1) * hh, H, H) =
        ConstWeights<float>(net + layers_[static_cast<std::size_t>(l)].weight, H, H).transpose();
  // (W_1·W_0)ᵀ = W_0ᵀ·W_1ᵀ on the own kernel (A = W_0ᵀ by strides): Eigen's packing cost more
  // than these 64·64·20 multiply-adds.
  gemm<Init::zero, Epilogue::store>(
      {n_in, H, H, net + first.weight, 1, n_in, weights_t, H, nullptr, folded_t, H, nullptr, 0});
  Vector<float>(bias1, H).noalias() = ConstVector<float>(net + first.bias, H) * W1.transpose();
  Vector<float>(bias1, H) += ConstVector<float>(net + second.bias, H);
  const Layer& last = layers_.back();
  const float* w_out = net + last.weight;  // (n_out, hidden)
  for (Eigen::Index r0 = 0; r0 < n; r0 += kTile) {
    const int rows = static_cast<int>(std::min(kTile, n - r0));
    // The tile's rows of every layer in turn (16 kB a layer at h = 64: the layer just written
    // is in L1 when the next one reads it).
    for (int l = 1; l < L; ++l) {
      const bool input = l == 1;
      const GemmArgs g{rows, H, input ? n_in : H,
                       input ? X.data() + r0 * n_in : a(l - 1, r0),
                       input ? n_in : H, 1,
                       input ? folded_t : weights_t + (l - 1) * hh, H,
                       input ? bias1 : net + layers_[static_cast<std::size_t>(l)].bias,
                       a(l, r0), H, nullptr, 0};
      gemm<Init::bias, Epilogue::packed_sin>(g);
    }
    // Output layer on the tile while a_{L−1} is in L1: out = a·W_outᵀ + b_out.
    for (int i = 0; i < rows; ++i)
      for (int o = 0; o < n_out; ++o) {
        const float* w = w_out + static_cast<std::ptrdiff_t>(o) * H;
        const float* x = a(L - 1, r0) + static_cast<std::ptrdiff_t>(i) * H;
#if INNMF_NN_AVX2
        __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
        int j = 0;
        for (; j + 16 <= H; j += 16) {
          s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(w + j), s0);
          s1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + j + 8), _mm256_loadu_ps(w + j + 8), s1);
        }
        if (j < H) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(w + j), s0);
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, _mm256_add_ps(s0, s1));
        float sum = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]));
#else
        float sum = 0;
        for (int j = 0; j < H; ++j) sum += x[j] * w[j];
#endif
        out[(r0 + i) * out_stride + o] = net[last.bias + static_cast<std::size_t>(o)] + sum;
      }
  }
}

template <typename Scalar>
void Mlp<Scalar>::backward_fast(const float* net, const RowMatrix<float>& X, const float* d_out,
                                Eigen::Index d_stride, const MlpCache<float>& cache, float* g) const {
  const int L = shape_.layers, H = shape_.hidden, n_in = shape_.n_inputs;
  const Layer& last = layers_.back();
  const int n_out = last.out;
  const Eigen::Index n = X.rows();
  const std::size_t tile_size = static_cast<std::size_t>(kTile) * H;
  // [dz | dz_next | Mᵀ (n_inputs, hidden) | Σ_rows dz_l (hidden) at row l − 1 for l = 1..L−1 |
  // [W_0ᵀ; b_0] | [Mᵀ; s]·W_1], the last two (n_inputs + 1, hidden). Mᵀ and s = Σ_rows dz_1 are
  // adjacent: [Mᵀ; s] is one operand.
  const std::size_t fold_size = static_cast<std::size_t>(n_in + 1) * H;
  std::vector<float>& scratch = thread_scratch(2 * tile_size + static_cast<std::size_t>(n_in) * H +
                                               static_cast<std::size_t>(L - 1) * H + 2 * fold_size);
  float* dz = scratch.data();
  float* dz_next = dz + tile_size;
  float* m_t = dz_next + tile_size;
  float* sums = m_t + static_cast<std::size_t>(n_in) * H;
  float* w0_t = sums + static_cast<std::size_t>(L - 1) * H;
  float* m_w1 = w0_t + fold_size;
  std::fill(m_t, w0_t, 0.0f);
  auto add_column_sums = [H](const float* rows_of, int rows, float* sum) {
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < H; ++j) sum[j] += rows_of[static_cast<std::ptrdiff_t>(i) * H + j];
  };
  for (Eigen::Index r0 = 0; r0 < n; r0 += kTile) {
    const int rows = static_cast<int>(std::min(kTile, n - r0));
    const float* d = d_out + r0 * d_stride;
    // The tile's a_l = sin(z_l) as forward saved them, cos(z_l) unpacked in the epilogues.
    const auto a = [&](int l) { return cache.packed_sines[static_cast<std::size_t>(l)].data() + r0 * H; };
    // Output layer: dz_{L−1} = (d·W_out) ⊙ cos(z_{L−1}); dW_out += dᵀ·a_{L−1}; db_out += Σ_rows d.
    gemm<Init::zero, Epilogue::times_cos>(
        {rows, H, n_out, d, d_stride, 1, net + last.weight, H, nullptr, dz, H, a(L - 1), H});
    gemm<Init::accumulate, Epilogue::store>(
        {n_out, H, rows, d, 1, d_stride, a(L - 1), H, nullptr, g + last.weight, H, nullptr, 0});
    for (int i = 0; i < rows; ++i)
      for (int o = 0; o < n_out; ++o) g[last.bias + static_cast<std::size_t>(o)] += d[i * d_stride + o];
    // Hidden layers l = L−1..2: dW_l += dz_lᵀ·a_{l−1}; dz_{l−1} = (dz_l·W_l) ⊙ cos(z_{l−1}).
    for (int l = L - 1; l >= 2; --l) {
      const Layer& layer = layers_[static_cast<std::size_t>(l)];
      add_column_sums(dz, rows, sums + static_cast<std::ptrdiff_t>(l - 1) * H);
      gemm<Init::accumulate, Epilogue::store>(
          {H, H, rows, dz, 1, H, a(l - 1), H, nullptr, g + layer.weight, H, nullptr, 0});
      gemm<Init::zero, Epilogue::times_cos>(
          {rows, H, H, dz, H, 1, net + layer.weight, H, nullptr, dz_next, H, a(l - 1), H});
      std::swap(dz, dz_next);
    }
    // Layer 1 through the fold: Mᵀ += Xᵀ·dz_1 (n_inputs, hidden), s = Σ_rows dz_1.
    add_column_sums(dz, rows, sums);
    gemm<Init::accumulate, Epilogue::store>(
        {n_in, H, rows, X.data() + r0 * n_in, 1, n_in, dz, H, nullptr, m_t, H, nullptr, 0});
  }
  for (int l = 1; l < L; ++l)
    Vector<float>(g + layers_[static_cast<std::size_t>(l)].bias, H) +=
        ConstVector<float>(sums + static_cast<std::ptrdiff_t>(l - 1) * H, H);  // db_1 += s
  // dW_1 += M·W_0ᵀ + sᵀ·b_0 = [Mᵀ; s]ᵀ·[W_0ᵀ; b_0], dW_0ᵀ += Mᵀ·W_1 and db_0 += s·W_1, the rows
  // of [Mᵀ; s]·W_1 (backward() below): two products on the own kernel, k = n_inputs + 1 and h.
  const Layer& first = layers_[0];
  const Layer& second = layers_[1];
  Eigen::Map<RowMatrix<float>>(w0_t, n_in, H) = ConstWeights<float>(net + first.weight, H, n_in).transpose();
  std::copy(net + first.bias, net + first.bias + H, w0_t + static_cast<std::ptrdiff_t>(n_in) * H);
  gemm<Init::accumulate, Epilogue::store>(
      {H, H, n_in + 1, m_t, 1, H, w0_t, H, nullptr, g + second.weight, H, nullptr, 0});
  gemm<Init::zero, Epilogue::store>({n_in + 1, H, H, m_t, H, 1, net + second.weight, H, nullptr, m_w1, H, nullptr, 0});
  Eigen::Map<RowMatrix<float>>(g + first.weight, H, n_in) += Eigen::Map<const RowMatrix<float>>(m_w1, n_in, H).transpose();
  Vector<float>(g + first.bias, H) += ConstVector<float>(m_w1 + static_cast<std::ptrdiff_t>(n_in) * H, H);
}

template <typename Scalar>
void Mlp<Scalar>::forward_one(const Scalar* net, const RowMatrix<Scalar>& X, MlpCache<Scalar>& cache,
                              Scalar* out, Eigen::Index out_stride, int n_out) const {
  if constexpr (std::is_same_v<Scalar, float>) {
    if (uses_fast_kernels()) {
      forward_fast(net, X, cache, out, out_stride, n_out);
      return;
    }
  }
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
void Mlp<Scalar>::size_outputs(Eigen::Index n, RowMatrix<Scalar>& out, std::vector<MlpCache<Scalar>>& caches) const {
  if (out.rows() != n || out.cols() != shape_.n_outputs) out.resize(n, shape_.n_outputs);
  caches.resize(static_cast<std::size_t>(n_networks()));
}

template <typename Scalar>
void Mlp<Scalar>::forward_network(const Scalar* params, const RowMatrix<Scalar>& X, RowMatrix<Scalar>& out,
                                  std::vector<MlpCache<Scalar>>& caches, int k) const {
  assert(k >= 0 && k < n_networks() && out.rows() == X.rows() && caches.size() == static_cast<std::size_t>(n_networks()));
  const int width = network_outputs();
  forward_one(params + static_cast<std::size_t>(k) * per_network_, X, caches[static_cast<std::size_t>(k)],
              out.data() + static_cast<std::ptrdiff_t>(k) * width, shape_.n_outputs, width);
}

template <typename Scalar>
void Mlp<Scalar>::forward_network_rows(const Scalar* params, const RowMatrix<Scalar>& X, MlpCache<Scalar>& cache,
                                       Scalar* out, Eigen::Index out_stride, int k) const {
  assert(k >= 0 && k < n_networks());
  forward_one(params + static_cast<std::size_t>(k) * per_network_, X, cache, out, out_stride, network_outputs());
}

template <typename Scalar>
void Mlp<Scalar>::backward_network_rows(const Scalar* params, const RowMatrix<Scalar>& X, const Scalar* d_out,
                                        Eigen::Index d_stride, const MlpCache<Scalar>& cache, Scalar* grad,
                                        int k) const {
  assert(k >= 0 && k < n_networks());
  const std::size_t offset = static_cast<std::size_t>(k) * per_network_;
  backward_one(params + offset, X, d_out, d_stride, cache, grad + offset);
}

template <typename Scalar>
std::size_t Mlp<Scalar>::cache_bytes_per_row() const {
  // The fast path keeps packed sin(z_l) for l = 1 … L−1; the Eigen path a_l for every hidden
  // layer and cos(z_l) for l ≥ 1.
  const auto per_layer = static_cast<std::size_t>(shape_.hidden) * sizeof(Scalar);
  const auto layers = static_cast<std::size_t>(shape_.layers);
  return uses_fast_kernels() ? (layers - 1) * per_layer : (2 * layers - 1) * per_layer;
}

template <typename Scalar>
void Mlp<Scalar>::forward(const Scalar* params, const RowMatrix<Scalar>& X, RowMatrix<Scalar>& out,
                          std::vector<MlpCache<Scalar>>& caches, int first, int last) const {
  check_range(first, last);
  size_outputs(X.rows(), out, caches);
  if (shape_.architecture == Architecture::shared) {
    if (first < last) forward_network(params, X, out, caches, 0);
    return;
  }
  // Per-component: the K networks are independent, each writes its own column and cache, so
  // that which thread runs it does not change a bit. Threads take them one at a time (dynamic):
  // on a shared machine a thread that loses its core for a while takes fewer, instead of the
  // other waiting for its fixed half. Backward runs them in reverse order: the last networks
  // forwarded are the likeliest to have their caches still in L2.
#pragma omp parallel for schedule(dynamic, 1)
  for (int k = first; k < last; ++k) forward_network(params, X, out, caches, k);
}

template <typename Scalar>
void Mlp<Scalar>::check_range(int first, int last) const {
  if (first < 0 || last < first || last > n_networks())
    throw Error(ExitCode::failure,
                fmt::format("Mlp: networks [{}, {}) out of the {} networks", first, last, n_networks()));
}

template <typename Scalar>
void Mlp<Scalar>::backward_one(const Scalar* net, const RowMatrix<Scalar>& X, const Scalar* d_out,
                               Eigen::Index d_stride, const MlpCache<Scalar>& cache, Scalar* g) const {
  if constexpr (std::is_same_v<Scalar, float>) {
    if (uses_fast_kernels()) {
      backward_fast(net, X, d_out, d_stride, cache, g);
      return;
    }
  }
  const bool fold = shape_.layers >= 2;
  const Layer& last = layers_.back();
  const RowMatrix<Scalar> d_result =
      Eigen::Map<const RowMatrix<Scalar>, 0, Eigen::OuterStride<>>(d_out, X.rows(), last.out, Eigen::OuterStride<>(d_stride));
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
}

template <typename Scalar>
void Mlp<Scalar>::backward_network(const Scalar* params, const RowMatrix<Scalar>& X, const RowMatrix<Scalar>& d_out,
                                   const std::vector<MlpCache<Scalar>>& caches, Scalar* grad, int k) const {
  assert(k >= 0 && k < n_networks() && d_out.rows() == X.rows() && d_out.cols() == shape_.n_outputs);
  const std::size_t offset = static_cast<std::size_t>(k) * per_network_;
  backward_one(params + offset, X, d_out.data() + static_cast<std::ptrdiff_t>(k) * network_outputs(), d_out.cols(),
               caches[static_cast<std::size_t>(k)], grad + offset);
}

template <typename Scalar>
void Mlp<Scalar>::backward(const Scalar* params, const RowMatrix<Scalar>& X,
                           const RowMatrix<Scalar>& d_out,
                           const std::vector<MlpCache<Scalar>>& caches, Scalar* grad, int first,
                           int last) const {
  check_range(first, last);
  if (shape_.architecture == Architecture::shared) {
    if (first < last) backward_network(params, X, d_out, caches, grad, 0);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1)  // (forward above)
  for (int k = last - 1; k >= first; --k) backward_network(params, X, d_out, caches, grad, k);
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
