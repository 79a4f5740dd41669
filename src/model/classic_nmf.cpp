#include "innmf/model/classic_nmf.hpp"

#include <omp.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cassert>
#include <cfloat>
#include <cmath>
#include <exception>
#include <fmt/format.h>
#include <memory>
#include <random>

#include "innmf/core/error.hpp"
#include "innmf/core/huge_pages.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/model/beta_divergence.hpp"

namespace innmf::model::classic {
namespace {

using Index = Eigen::Index;
using MapMatrix = Eigen::Map<Matrix>;

// Tile shapes of the portable passes: fixed, so that results do not depend on the thread count.
// A tile's WH, its two elementwise factors and its slice of V stay within a core's L2 cache.
constexpr Index kRowTile = 64;          // rows of V per tile of the W pass
constexpr Index kRowTileColumns = 256;  // columns per step within a W-pass tile
constexpr Index kColumnTile = 64;       // columns of V per tile of the H pass

constexpr float kEpsilon = static_cast<float>(kBetaEpsilon);
// scikit-learn zeroes entries below numpy.finfo(float64).eps after updates with β < 1 (W) and
// β ≤ 1 (H): "necessary for stability".
constexpr float kZeroBelow = static_cast<float>(DBL_EPSILON);

/// Per-thread scratch buffers, grown on demand and used through compact Maps.
struct Workspace {
  Eigen::VectorXf wh, a, b, num, den;
  void reserve(Index tile_entries, Index factor_entries) {
    for (auto* buffer : {&wh, &a, &b})
      if (buffer->size() < tile_entries) buffer->resize(tile_entries);
    for (auto* buffer : {&num, &den})
      if (buffer->size() < factor_entries) buffer->resize(factor_entries);
  }
};

/// The elementwise part of one tile, given WH (r × c) and the same block of V:
///   A = V ⊙ WH^(β−2) into `a` and B = WH^(β−1) into `b` when `update` (B is not needed for
///   β = 1, whose denominator is a sum of H or W alone),
/// and Σ D_β(V | WH) over the tile when `with_loss` (each column summed in float, the columns in
/// double). WH is floored at kBetaEpsilon except for β = 2, as beta_divergence() does.
template <typename VBlock>
double elementwise(const Beta& beta, const VBlock& v, const MapMatrix& wh, MapMatrix& a,
                   MapMatrix& b, bool update, bool with_loss) {
  const Index cols = wh.cols();
  double loss = 0;
  switch (beta.kind) {
    case BetaKind::kullback_leibler: {
      if (update) {
        a.array() = v.array() / wh.array().max(kEpsilon);
        // D = V·log(V / WH) − V + WH, reusing A = V / WH; where V = 0, A = 0 is raised to
        // FLT_MIN so that V·log(A) = 0 (0·log 0 = 0).
        if (with_loss)
          for (Index j = 0; j < cols; ++j)
            loss += static_cast<double>(
                (v.col(j).array() * a.col(j).array().max(FLT_MIN).log() - v.col(j).array() +
                 wh.col(j).array().max(kEpsilon))
                    .sum());
      } else if (with_loss) {
        for (Index j = 0; j < cols; ++j) {
          const auto model = wh.col(j).array().max(kEpsilon);
          loss += static_cast<double>(
              (v.col(j).array() * (v.col(j).array() / model).max(FLT_MIN).log() -
               v.col(j).array() + model)
                  .sum());
        }
      }
      break;
    }
    case BetaKind::itakura_saito: {
      // B = 1 / WH, A = V / WH²; D = r − log r − 1 with r = max(V, ε) / WH.
      b.array() = wh.array().max(kEpsilon).inverse();
      if (update) a.array() = v.array() * b.array().square();
      if (with_loss)
        for (Index j = 0; j < cols; ++j) {
          const auto ratio = v.col(j).array().max(kEpsilon) * b.col(j).array();
          loss += static_cast<double>((ratio - ratio.log() - 1.0f).sum());
        }
      break;
    }
    case BetaKind::euclidean: {
      if (update) {
        a = v;
        b = wh;
      }
      if (with_loss)
        for (Index j = 0; j < cols; ++j)
          loss += 0.5 * static_cast<double>((v.col(j) - wh.col(j)).squaredNorm());
      break;
    }
    case BetaKind::general: {
      // B = WH^(β−2) first, then A = V ⊙ B and B ← WH ⊙ B = WH^(β−1).
      const float power = static_cast<float>(beta.beta);
      b.array() = wh.array().max(kEpsilon).pow(power - 2.0f);
      if (update) a.array() = v.array() * b.array();
      b.array() *= wh.array().max(kEpsilon);
      if (with_loss) {
        // D = (V^β + (β−1)·WH^β − β·V·WH^(β−1)) / (β(β−1)), V raised to ε for β ≤ 0.
        const float scale = 1.0f / (power * (power - 1.0f));
        const float floor = beta.beta <= 0 ? kEpsilon : 0.0f;
        for (Index j = 0; j < cols; ++j) {
          const auto target = v.col(j).array().max(floor);
          const auto model = wh.col(j).array().max(kEpsilon);
          loss += static_cast<double>(
              ((target.pow(power) + (power - 1.0f) * model * b.col(j).array() -
                power * target * b.col(j).array()) *
               scale)
                  .sum());
        }
      }
      break;
    }
  }
  return loss;
}

/// Runs `body(tile)` for tile = 0..n_tiles-1 on OpenMP threads (dynamic schedule: each tile
/// writes only its own outputs, so the order does not matter); rethrows the first exception
/// of the lowest tile after the loop (none escapes the parallel region).
template <typename Body>
void for_each_tile(Index n_tiles, Body&& body) {
  std::vector<std::exception_ptr> errors(static_cast<std::size_t>(n_tiles));
#pragma omp parallel for schedule(dynamic, 1)
  for (Index t = 0; t < n_tiles; ++t) {
    try {
      body(t);
    } catch (...) {
      errors[static_cast<std::size_t>(t)] = std::current_exception();
    }
  }
  for (const auto& error : errors)
    if (error) std::rethrow_exception(error);
}

template <typename Vector>
void replace_zeros(Vector& values, float replacement) {
  for (Index i = 0; i < values.size(); ++i)
    if (values[i] == 0.0f) values[i] = replacement;
}

double sum_in_order(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return sum;
}

/// The update, then scikit-learn's thresholds (β < 1 for W, β ≤ 1 for H).
void apply_w(Matrix& W, const Matrix& delta, double beta) {
  W.array() *= delta.array();
  if (beta < 1) W = (W.array() < kZeroBelow).select(0.0f, W);
}
void apply_h(Matrix& H, const Matrix& delta, double beta) {
  H.array() *= delta.array();
  if (beta <= 1) H = (H.array() < kZeroBelow).select(0.0f, H);
}

/// The two passes over V of one factorisation problem, whichever kernels compute them.
class Passes {
 public:
  virtual ~Passes() = default;
  /// Over row tiles of V: returns Σ D_β(V | WH) when `with_loss` (else 0); when `delta` is
  /// given, also the update factors of W, delta (n_freqs, K) = (numerator / denominator)^γ.
  virtual double row_pass(const Matrix& W, const Matrix& H, Matrix* delta, bool with_loss) = 0;
  /// Over column tiles of V: returns Σ D_β(V | WH) when `with_loss` (else 0); when `delta` is
  /// given, also the update factors of H, delta (K, n_frames) = (numerator / denominator)^γ.
  virtual double column_pass(const Matrix& W, const Matrix& H, Matrix* delta, bool with_loss) = 0;
  virtual const char* name() const = 0;
};

/// Portable passes: Eigen GEMMs on tiles and Eigen array expressions, any β. The reference of
/// the AVX2 kernels below, and what runs where they do not apply.
class EigenPasses final : public Passes {
 public:
  EigenPasses(const Eigen::Ref<const Matrix>& V, double beta)
      : V_(V), beta_(Beta::of(beta)), gamma_(multiplicative_update_exponent(beta)),
        workspaces_(static_cast<std::size_t>(std::max(1, omp_get_max_threads()))) {}

  const char* name() const override { return "eigen"; }

  double row_pass(const Matrix& W, const Matrix& H, Matrix* delta, bool with_loss) override {
    const Index F = V_.rows(), T = V_.cols(), K = W.cols();
    const Index n_tiles = (F + kRowTile - 1) / kRowTile;
    const bool update = delta != nullptr;
    const bool kl = beta_.kind == BetaKind::kullback_leibler;
    Eigen::RowVectorXf h_sum;  // β = 1: the denominator 1·Hᵀ, the same for every row of W
    if (update && kl) {
      h_sum = H.rowwise().sum().transpose();
      replace_zeros(h_sum, kEpsilon);
    }
    std::vector<double> tile_loss(static_cast<std::size_t>(n_tiles), 0.0);
    for_each_tile(n_tiles, [&](Index t) {
      const Index r0 = t * kRowTile, rows = std::min(kRowTile, F - r0);
      Workspace& ws = workspace();
      ws.reserve(rows * std::min(kRowTileColumns, T), rows * K);
      MapMatrix num(ws.num.data(), rows, K), den(ws.den.data(), rows, K);
      if (update) {
        num.setZero();
        if (!kl) den.setZero();
      }
      double loss = 0;
      for (Index c0 = 0; c0 < T; c0 += kRowTileColumns) {
        const Index cols = std::min(kRowTileColumns, T - c0);
        MapMatrix wh(ws.wh.data(), rows, cols), a(ws.a.data(), rows, cols),
            b(ws.b.data(), rows, cols);
        const auto h = H.middleCols(c0, cols);
        wh.noalias() = W.middleRows(r0, rows) * h;  // (rows, cols)
        loss += elementwise(beta_, V_.block(r0, c0, rows, cols), wh, a, b, update, with_loss);
        if (update) {
          num.noalias() += a * h.transpose();  // (rows, K)
          if (!kl) den.noalias() += b * h.transpose();
        }
      }
      tile_loss[static_cast<std::size_t>(t)] = loss;
      if (update) {
        auto out = delta->middleRows(r0, rows);
        if (kl)
          out.array() = num.array().rowwise() / h_sum.array();
        else
          out.array() = num.array() / (den.array() == 0.0f).select(kEpsilon, den.array());
        if (gamma_ != 1.0) out.array() = out.array().pow(static_cast<float>(gamma_));
      }
    });
    return sum_in_order(tile_loss);
  }

  double column_pass(const Matrix& W, const Matrix& H, Matrix* delta, bool with_loss) override {
    const Index F = V_.rows(), T = V_.cols(), K = W.cols();
    const Index n_tiles = (T + kColumnTile - 1) / kColumnTile;
    const bool update = delta != nullptr;
    const bool kl = beta_.kind == BetaKind::kullback_leibler;
    Eigen::VectorXf w_sum;  // β = 1: the denominator Wᵀ·1, the same for every column of H
    if (update && kl) {
      w_sum = W.colwise().sum().transpose();
      replace_zeros(w_sum, 1.0f);
    }
    std::vector<double> tile_loss(static_cast<std::size_t>(n_tiles), 0.0);
    for_each_tile(n_tiles, [&](Index t) {
      const Index c0 = t * kColumnTile, cols = std::min(kColumnTile, T - c0);
      Workspace& ws = workspace();
      ws.reserve(F * std::min(kColumnTile, T), K * std::min(kColumnTile, T));
      MapMatrix wh(ws.wh.data(), F, cols), a(ws.a.data(), F, cols), b(ws.b.data(), F, cols);
      wh.noalias() = W * H.middleCols(c0, cols);  // (F, cols)
      tile_loss[static_cast<std::size_t>(t)] =
          elementwise(beta_, V_.middleCols(c0, cols), wh, a, b, update, with_loss);
      if (!update) return;
      MapMatrix num(ws.num.data(), K, cols), den(ws.den.data(), K, cols);
      num.noalias() = W.transpose() * a;  // (K, cols)
      auto out = delta->middleCols(c0, cols);
      if (kl) {
        out.array() = num.array().colwise() / w_sum.array();
      } else {
        den.noalias() = W.transpose() * b;
        out.array() = num.array() / (den.array() == 0.0f).select(kEpsilon, den.array());
      }
      if (gamma_ != 1.0) out.array() = out.array().pow(static_cast<float>(gamma_));
    });
    return sum_in_order(tile_loss);
  }

 private:
  Workspace& workspace() {
    const auto thread = static_cast<std::size_t>(omp_get_thread_num());
    return workspaces_.at(thread);
  }

  Eigen::Ref<const Matrix> V_;
  Beta beta_;
  double gamma_;
  std::vector<Workspace> workspaces_;
};

#if defined(__AVX2__) && defined(__FMA__)
// ---------------------------------------------------------------------------------------------
// β = 1 (generalised KL, the default) with AVX2 + FMA micro-kernels (AVX-512 where the build
// targets it: 16-lane registers, tiles of 32 columns, 8-row product blocks). Both half-updates are one
// problem, "update B in V ≈ A·B" (V: M × N, A: M × K, B: K × N):
//   B ← B ⊙ (Aᵀ R) / (Aᵀ 1),   R = V / max(A·B, ε),
// the H update with (V, W, H) and the W update with the transposed problem (Vᵀ, Hᵀ, Wᵀ).
// One pass over V computes it in tiles of kTileWidth columns of V (each writes its own columns
// of the update, so results do not depend on the thread count) and, within a tile, in chunks of
// kChunkRows rows whose A and R stay in L1:
//  - product_ratio: a block of R = V / max(A·B, ε) (4 rows × 24 columns in 12 registers, depth
//    K) into the chunk's R buffer, and Σ V·log(max(A·B, ε)) over it for the loss;
//  - numerator: Aᵀ R (4 rows of the numerator × 24 columns in 12 registers, depth: the chunk's
//    rows), accumulated over the chunks in the tile's numerator.
// (Figures for 8 lanes.) Every kernel vectorises along V's columns (8 per register), so K needs no padding beyond a
// multiple of 4. Each direction keeps its own copy of V, zero-padded and packed tile by tile
// (a tile's rows contiguous, the tiles one after the other: one stream), built once; A and B
// are packed at every pass. Padding adds exact zeros everywhere (V = 0 gives R = 0 and
// V·log(·) = 0; zero rows of A and B add nothing to A·B).
// Measured on Zen 3 (2 cores, 501 × 321 and 513 × 9375, K = 20): both kernels run at ~95 % of
// the FMA peak once the row of B (of R) is held in registers; GCC otherwise folds the load
// into every FMA and the 256-bit load ports (2 per cycle) become the limit (−20 %). On Zen 5
// (full-width 512-bit FMA pipes) the 16-lane kernels take an update of 501 × 321 from 0.27 to
// 0.16 ms on one core, 0.17 to 0.12 ms on two (rank 20; the same loss to 8 digits).
// The KL loss is summed as Σ_{V>0} V·log V − Σ V (a constant, once) + Σ WH (from the column
// sums of W and row sums of H) − Σ V·log(max(WH, ε)) (per entry, one fast log).
namespace avx2 {

// The register type of the kernels: 16 lanes where the build targets AVX-512 (-march=native on
// such a machine; the FMA peak doubles on cores with full-width 512-bit pipes, Zen 5), else 8.
// The kernels below are written once against these few wrappers.
#if defined(__AVX512F__) && defined(__AVX512DQ__)
using Vec = __m512;
using VecInt = __m512i;
constexpr Index kLanes = 16;        // floats per register
constexpr Index kTileVectors = 2;   // registers per tile row: 32 columns (the last tile may be 16)
inline Vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline Vec vbroadcast(const float* p) { return _mm512_set1_ps(*p); }
inline Vec vset1(float x) { return _mm512_set1_ps(x); }
inline Vec vzero() { return _mm512_setzero_ps(); }
inline Vec vfmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline Vec vadd(Vec a, Vec b) { return _mm512_add_ps(a, b); }
inline Vec vsub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
inline Vec vmul(Vec a, Vec b) { return _mm512_mul_ps(a, b); }
inline Vec vdiv(Vec a, Vec b) { return _mm512_div_ps(a, b); }
inline Vec vmax(Vec a, Vec b) { return _mm512_max_ps(a, b); }
inline VecInt vbits(Vec v) { return _mm512_castps_si512(v); }
inline Vec vfloat_bits(VecInt v) { return _mm512_castsi512_ps(v); }
inline VecInt vsub_int(VecInt a, VecInt b) { return _mm512_sub_epi32(a, b); }
inline VecInt vset1_int(int x) { return _mm512_set1_epi32(x); }
inline VecInt vshift_right_arithmetic(VecInt v, int n) { return _mm512_srai_epi32(v, static_cast<unsigned>(n)); }
inline VecInt vshift_left(VecInt v, int n) { return _mm512_slli_epi32(v, static_cast<unsigned>(n)); }
inline Vec vint_to_float(VecInt v) { return _mm512_cvtepi32_ps(v); }
/// Σ of the lanes in double, in a fixed order.
inline double sum_lanes(Vec v) {
  const __m512d lanes = _mm512_add_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(v)),
                                      _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1)));
  alignas(64) double d[8];
  _mm512_store_pd(d, lanes);
  return ((d[0] + d[1]) + (d[2] + d[3])) + ((d[4] + d[5]) + (d[6] + d[7]));
}
#else
using Vec = __m256;
using VecInt = __m256i;
constexpr Index kLanes = 8;         // floats per register
constexpr Index kTileVectors = 3;   // registers per tile row: 24 columns (the last may be 8 or 16)
inline Vec vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline Vec vbroadcast(const float* p) { return _mm256_broadcast_ss(p); }
inline Vec vset1(float x) { return _mm256_set1_ps(x); }
inline Vec vzero() { return _mm256_setzero_ps(); }
inline Vec vfmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline Vec vadd(Vec a, Vec b) { return _mm256_add_ps(a, b); }
inline Vec vsub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
inline Vec vmul(Vec a, Vec b) { return _mm256_mul_ps(a, b); }
inline Vec vdiv(Vec a, Vec b) { return _mm256_div_ps(a, b); }
inline Vec vmax(Vec a, Vec b) { return _mm256_max_ps(a, b); }
inline VecInt vbits(Vec v) { return _mm256_castps_si256(v); }
inline Vec vfloat_bits(VecInt v) { return _mm256_castsi256_ps(v); }
inline VecInt vsub_int(VecInt a, VecInt b) { return _mm256_sub_epi32(a, b); }
inline VecInt vset1_int(int x) { return _mm256_set1_epi32(x); }
inline VecInt vshift_right_arithmetic(VecInt v, int n) { return _mm256_srai_epi32(v, n); }
inline VecInt vshift_left(VecInt v, int n) { return _mm256_slli_epi32(v, n); }
inline Vec vint_to_float(VecInt v) { return _mm256_cvtepi32_ps(v); }
/// Σ of the lanes in double, in a fixed order.
inline double sum_lanes(Vec v) {
  const __m256d lanes = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
                                      _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
  alignas(32) double d[4];
  _mm256_store_pd(d, lanes);
  return (d[0] + d[1]) + (d[2] + d[3]);
}
#endif
constexpr Index kTileWidth = kTileVectors * kLanes;  // columns of V per tile
constexpr Index kRowAlign = 8;      // M is padded to a multiple of this (product blocks: 4 or 8 rows)
constexpr Index kKBlock = 4;        // numerator rows per block; K is padded to a multiple of this
constexpr Index kChunkRows = 96;    // rows per chunk: A (96 × K) and R (96 × 24) stay in L1
constexpr double kLn2 = 0.693147180559945309;

Index round_up(Index n, Index multiple) { return (n + multiple - 1) / multiple * multiple; }

/// log₂ x for normal positive x (the caller passes max(WH, ε): no 0, denormal, ∞ or NaN to
/// handle): x = m·2^e with m in [√½, √2) (integer arithmetic on the bits), and
/// log₂ m = (2/ln 2)·atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.1716, as s·q(s²) with q the
/// minimax quadratic (absolute error < 4e-8 with float coefficients, about float32's rounding
/// of the result). Few operations on the FMA ports: the loss shares them with the products.
inline Vec log2_positive(Vec x) {
  const VecInt bits = vbits(x);
  const VecInt shifted = vsub_int(bits, vset1_int(0x3f3504f3));  // bits of √½
  const VecInt exponent = vshift_right_arithmetic(shifted, 23);
  const Vec m = vfloat_bits(vsub_int(bits, vshift_left(exponent, 23)));
  const Vec one = vset1(1.0f);
  const Vec s = vdiv(vsub(m, one), vadd(m, one));
  const Vec z = vmul(s, s);
  Vec q = vfmadd(z, vset1(5.9897162878e-01f), vset1(9.6147087697e-01f));
  q = vfmadd(q, z, vset1(2.8853912890e+00f));
  return vfmadd(s, q, vint_to_float(exponent));
}

/// Rows of a product block for tiles of NV registers: 12 accumulators where possible of the 16
/// registers of AVX2, 16 of the 32 of AVX-512 (8 rows; kRowAlign pads M for them).
template <int NV>
constexpr int product_rows() {
  if constexpr (kLanes == 16) return 8;
  return NV == 3 ? 4 : NV == 2 ? 4 : 8;
}

/// R[0:MR, 0:kLanes·NV] = V / max(A·B, ε) for one block (MR·NV accumulators, depth K), and (WithLoss)
/// Σ V·log₂(max(A·B, ε)) added to `loss` (two sums of float lanes: two dependency chains).
/// a: A at the block's first row (row stride lda, K contiguous); b: B at the tile's first
/// column (row stride ldb); v, r: the block in the tile's V and in the chunk's R buffer, both
/// with row stride kLanes·NV.
template <int MR, int NV, bool WithLoss>
inline void product_ratio(const float* a, Index lda, const float* b, Index ldb, Index K,
                          const float* v, float* r, Vec (&loss)[2]) {
  constexpr int W = NV * kLanes;
  Vec c[MR][NV];
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) c[i][j] = vzero();
  for (Index k = 0; k < K; ++k) {
    Vec bk[NV];
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) {
      bk[j] = vload(b + k * ldb + j * kLanes);
      asm("" : "+v"(bk[j]));  // in a register: not reloaded as an operand of every FMA
    }
#pragma GCC unroll 8
    for (int i = 0; i < MR; ++i) {
      const Vec ai = vbroadcast(a + i * lda + k);
#pragma GCC unroll 3
      for (int j = 0; j < NV; ++j) c[i][j] = vfmadd(ai, bk[j], c[i][j]);
    }
  }
  const Vec epsilon = vset1(kEpsilon);
#pragma GCC unroll 8
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) {
      const Vec m = vmax(c[i][j], epsilon);
      const Index at = i * W + j * kLanes;
      const Vec target = vload(v + at);
      vstore(r + at, vdiv(target, m));
      if constexpr (WithLoss) {
        Vec& sum = loss[(i * NV + j) % 2];
        sum = vfmadd(target, log2_positive(m), sum);
      }
    }
}

/// num[0:4, 0:kLanes·NV] += Σ_{m < rows} A[m, 0:4]ᵀ·R[m, 0:kLanes·NV]. a: A at (first row, k0), row stride
/// lda; r: the chunk's R (row stride kLanes·NV); num at row k0 of the tile's numerator (row
/// stride kLanes·NV).
template <int NV>
inline void numerator(const float* a, Index lda, const float* r, Index rows, float* num) {
  constexpr int W = NV * kLanes;
  Vec c[kKBlock][NV];
#pragma GCC unroll 4
  for (int i = 0; i < kKBlock; ++i)
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) c[i][j] = vload(num + i * W + j * kLanes);
  for (Index m = 0; m < rows; ++m) {
    Vec rm[NV];
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) {
      rm[j] = vload(r + m * W + j * kLanes);
      asm("" : "+v"(rm[j]));  // in a register: not reloaded as an operand of every FMA
    }
#pragma GCC unroll 4
    for (int i = 0; i < kKBlock; ++i) {
      const Vec ai = vbroadcast(a + m * lda + i);
#pragma GCC unroll 3
      for (int j = 0; j < NV; ++j) c[i][j] = vfmadd(ai, rm[j], c[i][j]);
    }
  }
#pragma GCC unroll 4
  for (int i = 0; i < kKBlock; ++i)
#pragma GCC unroll 3
    for (int j = 0; j < NV; ++j) vstore(num + i * W + j * kLanes, c[i][j]);
}

/// One direction of the updates: V (M × N) ≈ A (M × K) · B (K × N), B to be updated.
class Direction {
 public:
  /// `v(m, n)` gives V's entries in this direction's orientation.
  template <typename Entry>
  Direction(Index M, Index N, Entry&& v) : M_(M), N_(N), Mp_(round_up(M, kRowAlign)) {
    for (Index c0 = 0; c0 < N; c0 += kTileWidth) tiles_.push_back(c0);
    padded_columns_ = tiles_.back() + width(tiles_.size() - 1);
    V_.resize(Mp_ * padded_columns_);
    advise_huge_pages(V_);
    V_.setZero();
    const auto n_tiles = static_cast<Index>(tiles_.size());
#pragma omp parallel for schedule(static)
    for (Index t = 0; t < n_tiles; ++t) {
      const auto tt = static_cast<std::size_t>(t);
      const Index c0 = tiles_[tt], w = width(tt), cols = std::min(w, N - c0);
      float* tile = V_.data() + c0 * Mp_;
      for (Index m = 0; m < M; ++m)
        for (Index j = 0; j < cols; ++j) tile[m * w + j] = v(m, c0 + j);
    }
  }

  Index N() const { return N_; }
  std::size_t n_tiles() const { return tiles_.size(); }

  /// Sizes A and B for K templates (allocates when K changes; the padding stays zero).
  void resize(Index K) {
    if (K == K_) return;
    K_ = K;
    Kp_ = round_up(K, kKBlock);
    A_.setZero(Mp_ * Kp_);
    B_.setZero(Kp_ * padded_columns_);
  }

  /// Packs row m of A (row-major, Mp × Kp) from `a(m, k)`; rows are independent, so threads
  /// may share the packing out.
  template <typename AEntry>
  void pack_a_row(Index m, AEntry&& a) {
    for (Index k = 0; k < K_; ++k) A_[m * Kp_ + k] = a(m, k);
  }
  Index M() const { return M_; }

  /// Packs tile t's block of B (Kp × width(t), row-major) from `b(k, n)`; `b_by_column`: read B
  /// column by column (the source is column-major). Only tile t reads it: each tile packs its
  /// own, on its own thread, and the pass needs no barrier between packing and computing.
  template <typename BEntry>
  void pack_b(std::size_t t, BEntry&& b, bool b_by_column) {
    const Index c0 = tiles_[t], w = width(t), cols = std::min(w, N_ - c0);
    float* tile = B_.data() + c0 * Kp_;
    if (b_by_column) {
      for (Index j = 0; j < cols; ++j)
        for (Index k = 0; k < K_; ++k) tile[k * w + j] = b(k, c0 + j);
    } else {
      for (Index k = 0; k < K_; ++k)
        for (Index j = 0; j < cols; ++j) tile[k * w + j] = b(k, c0 + j);
    }
  }

  /// Tile t: Σ V·log(max(A·B, ε)) over it (WithLoss, else 0) and, when `num` is given, the
  /// numerator Aᵀ R into num (Kp × width(t), row-major). `r`: kChunkRows · kTileWidth floats.
  template <bool WithLoss>
  double tile(std::size_t t, float* r, float* num) const {
    static_assert(kTileVectors == 2 || kTileVectors == 3);
    switch (width(t) / kLanes) {
      case 3:
        if constexpr (kTileVectors == 3) return tile<3, WithLoss>(t, r, num);
        [[fallthrough]];  // (not a width of 16-lane tiles)
      case 2: return tile<2, WithLoss>(t, r, num);
      default: return tile<1, WithLoss>(t, r, num);
    }
  }

  Index tile_start(std::size_t t) const { return tiles_[t]; }
  /// Columns of tile t in the packed V (8, 16 or 24; real columns: min(width, N − start)).
  Index width(std::size_t t) const {
    return std::min(kTileWidth, round_up(N_ - tiles_[t], kLanes));
  }
  Index K() const { return K_; }
  Index Kp() const { return Kp_; }

 private:
  template <int NV, bool WithLoss>
  double tile(std::size_t t, float* r, float* num) const {
    constexpr int W = NV * kLanes, MR = product_rows<NV>();
    const Index c0 = tiles_[t];
    const Index v_start = c0 * Mp_;
    const float* v = V_.data() + v_start;
    const float* b = B_.data() + c0 * Kp_;
    if (num) std::fill(num, num + Kp_ * W, 0.0f);
    double loss = 0;
    for (Index m0 = 0; m0 < Mp_; m0 += kChunkRows) {
      const Index rows = std::min(kChunkRows, Mp_ - m0);
      Vec chunk_loss[2] = {vzero(), vzero()};
      for (Index m = m0; m < m0 + rows; m += MR) {
        // The same rows one chunk ahead (in this tile or the next: V_ is one stream) into L1
        // while this block computes: on long inputs V comes from memory (−12 % time).
        const Index ahead = v_start + (m + kChunkRows) * W;
        if (ahead + MR * W <= V_.size())
          for (Index i = 0; i < MR * W; i += 16)
            _mm_prefetch(reinterpret_cast<const char*>(V_.data() + ahead + i), _MM_HINT_T0);
        product_ratio<MR, NV, WithLoss>(A_.data() + m * Kp_, Kp_, b, W, K_, v + m * W,
                                        r + (m - m0) * W, chunk_loss);
      }
      if constexpr (WithLoss) loss += kLn2 * sum_lanes(vadd(chunk_loss[0], chunk_loss[1]));
      if (num)
        for (Index k = 0; k < Kp_; k += kKBlock)
          numerator<NV>(A_.data() + m0 * Kp_ + k, Kp_, r, rows, num + k * W);
    }
    return loss;
  }

  Index M_, N_, Mp_, padded_columns_ = 0, K_ = 0, Kp_ = 0;
  std::vector<Index> tiles_;  // first column of each tile
  Eigen::VectorXf V_;         // tile t: Mp × width(t), row-major, at V_[start(t) · Mp]
  Eigen::VectorXf A_;         // Mp × Kp, row-major
  Eigen::VectorXf B_;         // tile t: Kp × width(t), row-major, at B_[start(t) · Kp]
};

}  // namespace avx2

/// Σ x[0:n] in double (4 lanes, then in order): the sums the KL loss and the denominators use.
double sum_as_double(const float* x, Index n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0;
  Index i = 0;
  for (; i + 8 <= n; i += 8) {
    s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm_loadu_ps(x + i)));
    s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm_loadu_ps(x + i + 4)));
  }
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, _mm256_add_pd(s0, s1));
  double sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
  for (; i < n; ++i) sum += x[i];
  return sum;
}

class Avx2KlPasses final : public Passes {
 public:
  explicit Avx2KlPasses(const Eigen::Ref<const Matrix>& V)
      : F_(V.rows()), T_(V.cols()),
        // W update: Vᵀ (T × F) ≈ Hᵀ · Wᵀ; H update: V (F × T) ≈ W · H.
        w_update_(T_, F_, [&V](Index j, Index f) { return V(f, j); }),
        h_update_(F_, T_, [&V](Index f, Index j) { return V(f, j); }) {
    // Σ_{V>0} V·log V − Σ V, once.
    std::vector<double> column(static_cast<std::size_t>(T_));
#pragma omp parallel for schedule(static)
    for (Index j = 0; j < T_; ++j) {
      double sum = 0;
      for (Index f = 0; f < F_; ++f) {
        const double x = V(f, j);
        sum += (x > 0 ? x * std::log(x) : 0.0) - x;
      }
      column[static_cast<std::size_t>(j)] = sum;
    }
    constant_ = sum_in_order(column);
  }

  const char* name() const override { return "avx2-kl"; }

  double row_pass(const Matrix& W, const Matrix& H, Matrix* delta, bool with_loss) override {
    const auto sums = factor_sums(W, H, with_loss, with_loss || delta != nullptr);
    // The denominator 1·Hᵀ, as reciprocals: one multiply per entry of the update.
    const Eigen::VectorXf inverse_h_sum = reciprocals(sums.h);
    w_update_.resize(W.cols());
    const double v_log_model = run(
        w_update_, with_loss, delta != nullptr, [&H](Index j, Index k) { return H(k, j); },
        [&](std::size_t t) { w_update_.pack_b(t, [&W](Index k, Index f) { return W(f, k); }, false); },
        [&](Index k, Index f0, const float* num, Index count) {  // delta(f0 + j, k): contiguous
          delta->col(k).segment(f0, count) = Eigen::Map<const Eigen::VectorXf>(num, count) * inverse_h_sum[k];
        });
    return with_loss ? kl_loss(sums, v_log_model) : 0.0;
  }

  double column_pass(const Matrix& W, const Matrix& H, Matrix* delta, bool with_loss) override {
    const auto sums = factor_sums(W, H, with_loss || delta != nullptr, with_loss);
    const Eigen::VectorXf inverse_w_sum = reciprocals(sums.w);  // the denominator Wᵀ·1
    h_update_.resize(W.cols());
    const double v_log_model = run(
        h_update_, with_loss, delta != nullptr, [&W](Index f, Index k) { return W(f, k); },
        [&](std::size_t t) { h_update_.pack_b(t, [&H](Index k, Index j) { return H(k, j); }, true); },
        [&](Index k, Index j0, const float* num, Index count) {
          for (Index j = 0; j < count; ++j) (*delta)(k, j0 + j) = num[j] * inverse_w_sum[k];
        });
    return with_loss ? kl_loss(sums, v_log_model) : 0.0;
  }

 private:
  struct Buffers {
    Eigen::VectorXf r, num;
  };

  /// Column sums of W and row sums of H, in double; each only when asked for (zero otherwise):
  /// the loss needs both, an update its own denominator.
  struct FactorSums {
    Eigen::VectorXd w, h;
  };
  static FactorSums factor_sums(const Matrix& W, const Matrix& H, bool need_w, bool need_h) {
    const Index K = W.cols();
    FactorSums sums{Eigen::VectorXd::Zero(K), Eigen::VectorXd::Zero(K)};
    if (need_w)
      for (Index k = 0; k < K; ++k) sums.w[k] = sum_as_double(W.col(k).data(), W.rows());
    if (need_h)
      for (Index j = 0; j < H.cols(); ++j)
        for (Index k = 0; k < K; ++k) sums.h[k] += H(k, j);
    return sums;
  }

  /// 1 / sum in float; 1 for a zero sum (a template or activation row that is all zeros, whose
  /// numerator is zero too: its update factor stays 0, as with scikit-learn's ε).
  static Eigen::VectorXf reciprocals(const Eigen::VectorXd& sums) {
    Eigen::VectorXf out(sums.size());
    for (Index k = 0; k < sums.size(); ++k) {
      const auto sum = static_cast<float>(sums[k]);
      out[k] = sum == 0.0f ? 1.0f : 1.0f / sum;
    }
    return out;
  }

  /// One pass of direction `d` on OpenMP threads, in one parallel region: the threads pack A
  /// (`a(m, k)`, row by row) and meet at the one barrier; then every tile packs its block of B
  /// (`pack_b(t)`), computes, and when `update` calls `store_row(k, n0, numerator, count)` for
  /// each row k of its part of the numerator (columns n0 … n0 + count − 1). Returns
  /// Σ V·log(max(A·B, ε)) (when `with_loss`) in tile order. Nothing in the region throws.
  template <typename AEntry, typename PackB, typename StoreRow>
  double run(avx2::Direction& d, bool with_loss, bool update, AEntry&& a, PackB&& pack_b, StoreRow&& store_row) {
    const Index K = d.K();
    buffers_.resize(static_cast<std::size_t>(std::max(1, omp_get_max_threads())));
    for (auto& b : buffers_) {
      b.r.resize(avx2::kChunkRows * avx2::kTileWidth);
      b.num.resize(d.Kp() * avx2::kTileWidth);
    }
    const auto n_tiles = static_cast<Index>(d.n_tiles());
    tile_loss_.assign(d.n_tiles(), 0.0);
#pragma omp parallel
    {
      auto& b = buffers_[static_cast<std::size_t>(omp_get_thread_num())];
      float* num = update ? b.num.data() : nullptr;
#pragma omp for schedule(static)
      for (Index m = 0; m < d.M(); ++m) d.pack_a_row(m, a);
      // Static: a thread gets the same tiles at every update, so its part of the packed V stays
      // in its L2 between updates (501 × 321: 2 × 321 kB per thread of 2; −8 % per update
      // against dynamic scheduling on 2 cores of a Zen 5, where the tiles migrated).
#pragma omp for schedule(static) nowait
      for (Index t = 0; t < n_tiles; ++t) {
        const auto tt = static_cast<std::size_t>(t);
        pack_b(tt);
        tile_loss_[tt] = with_loss ? d.tile<true>(tt, b.r.data(), num) : d.tile<false>(tt, b.r.data(), num);
        if (!num) continue;
        const Index c0 = d.tile_start(tt), w = d.width(tt), cols = std::min(w, d.N() - c0);
        for (Index k = 0; k < K; ++k) store_row(k, c0, num + k * w, cols);
      }
    }
    return sum_in_order(tile_loss_);
  }

  /// Σ D_1(V | WH) from Σ V·log(max(WH, ε)) and the constants.
  double kl_loss(const FactorSums& sums, double v_log_model) const {
    return constant_ + sums.w.dot(sums.h) - v_log_model;
  }

  Index F_, T_;
  avx2::Direction w_update_;  // Vᵀ ≈ Hᵀ·Wᵀ
  avx2::Direction h_update_;  // V ≈ W·H
  double constant_ = 0;
  std::vector<Buffers> buffers_;
  std::vector<double> tile_loss_;  // per tile of the running pass, summed in tile order
};
#endif  // __AVX2__ && __FMA__

std::unique_ptr<Passes> make_passes(const Eigen::Ref<const Matrix>& V, double beta,
                                    Kernels kernels) {
#if defined(__AVX2__) && defined(__FMA__)
  if (kernels == Kernels::fastest && beta == 1.0) return std::make_unique<Avx2KlPasses>(V);
#endif
  return std::make_unique<EigenPasses>(V, beta);
}

/// Records losses, reports them, checks them and decides when to stop.
class Tracker {
 public:
  Tracker(const MuOptions& options, const MuCallback& callback, Index entries, const char* kernels)
      : options_(options), callback_(callback), entries_(static_cast<double>(entries)) {
    result_.kernels = kernels;
  }

  /// Whether the loss after `iteration` updates is computed: at the start, after every
  /// options.loss_every-th update and after the last.
  bool wants_loss(int iteration) const {
    return iteration % std::max(1, options_.loss_every) == 0 || iteration >= options_.iterations;
  }

  /// The loss sum after `result_.loss.size()` updates, NaN when it was not computed
  /// (wants_loss). Returns true when the tolerance says stop.
  bool record(double sum) {
    const int iteration = static_cast<int>(result_.loss.size());
    const double mean = sum / entries_;
    if (!wants_loss(iteration)) {
      result_.loss.push_back(std::nan(""));
      report(iteration, result_.loss.back(), result_.loss.back());
      return false;
    }
    if (!std::isfinite(mean))
      throw NumericalError(fmt::format(
          "classic NMF: the loss is {} {} (--beta {}): float32 overflowed; use a --beta between 0 "
          "and 2, or a smaller --power",
          std::isnan(mean) ? "NaN" : "infinite",
          iteration == 0 ? std::string("at the start")
                         : fmt::format("after {} update{}", iteration, iteration == 1 ? "" : "s"),
          options_.beta));
    result_.loss.push_back(mean);
    report(iteration, mean, sum);
    const double previous = previous_;
    previous_ = mean;
    if (iteration == 0 || options_.tolerance <= 0) return false;
    return previous <= 0 || (previous - mean) / previous < options_.tolerance;
  }

  void add_seconds(double seconds) {
    result_.seconds.push_back(seconds);
    elapsed_ += seconds;
  }

  MuResult finish(bool stopped_early, double total_seconds) {
    assert(!std::isnan(result_.loss.back()));  // the last loss is always computed
    result_.iterations = static_cast<int>(result_.loss.size()) - 1;
    result_.converged = stopped_early;
    result_.seconds_total = total_seconds;
    return std::move(result_);
  }

 private:
  void report(int iteration, double mean, double sum) {
    if (!callback_) return;
    MuProgress progress;
    progress.iteration = iteration;
    progress.loss = mean;
    progress.loss_sum = sum;
    progress.seconds = iteration > 0 ? result_.seconds[static_cast<std::size_t>(iteration - 1)] : 0;
    progress.elapsed = elapsed_;
    callback_(progress);
  }

  const MuOptions& options_;
  const MuCallback& callback_;
  double entries_;
  double elapsed_ = 0;
  double previous_ = 0;  // the last loss computed (mean per entry)
  MuResult result_;
};

void require_valid_input(const Eigen::Ref<const Matrix>& V) {
  if (V.size() == 0)
    throw InputError(fmt::format("classic NMF: V is empty ({} × {}): nothing to factorise",
                                 V.rows(), V.cols()));
  if (!V.allFinite() || (V.array() < 0.0f).any())
    throw InputError("classic NMF: V has a negative, NaN or infinite entry: NMF needs finite "
                     "non-negative values");
}

void require_shapes(Index v_rows, Index v_cols, const Matrix& W, const Matrix& H) {
  if (W.rows() != v_rows || H.cols() != v_cols || W.cols() != H.rows() || W.cols() < 1)
    throw Error(ExitCode::failure,
                fmt::format("classic NMF: shapes do not match: V {} × {}, W {} × {}, H {} × {}",
                            v_rows, v_cols, W.rows(), W.cols(), H.rows(), H.cols()));
}

void require_shapes(const Eigen::Ref<const Matrix>& V, const Matrix& W, const Matrix& H) {
  require_shapes(V.rows(), V.cols(), W, H);
}

void require_rank(Index rank) {
  if (rank < 1) throw UsageError(fmt::format("--rank {}: must be at least 1", rank));
}

}  // namespace

void validate(const MuOptions& options) {
  if (!std::isfinite(options.beta))
    throw UsageError(fmt::format("--beta {}: must be a finite number (0 Itakura-Saito, 1 "
                                 "Kullback-Leibler, 2 Euclidean)",
                                 options.beta));
  if (options.iterations < 1)
    throw UsageError(fmt::format("--iters {}: must be at least 1", options.iterations));
  if (!(options.tolerance >= 0) || !std::isfinite(options.tolerance))
    throw UsageError(fmt::format("--tol {}: must be ≥ 0 (0: never stop early)", options.tolerance));
  if (options.loss_every < 1)
    throw UsageError(fmt::format("--loss-every {}: must be at least 1 (1: the loss after every update)",
                                 options.loss_every));
}

double initial_scale(double mean_of_V, Eigen::Index rank) {
  return std::sqrt(mean_of_V / static_cast<double>(rank));
}

Factors random_init(const Eigen::Ref<const Matrix>& V, int rank, std::uint64_t seed) {
  require_rank(rank);
  const double scale = initial_scale(V.cast<double>().mean(), rank);
  std::mt19937_64 generator(seed);
  const auto uniform = [&generator] {
    return (static_cast<double>(generator() >> 11) + 0.5) * 0x1.0p-53;  // in (0, 1)
  };
  Factors factors;
  factors.W.resize(V.rows(), rank);
  factors.H.resize(rank, V.cols());
  for (auto* matrix : {&factors.W, &factors.H})
    for (Index i = 0; i < matrix->size(); ++i)
      matrix->data()[i] = static_cast<float>(scale * uniform());
  return factors;
}

Matrix constant_activations(const Eigen::Ref<const Matrix>& V, Eigen::Index rank) {
  require_rank(rank);
  const double value = initial_scale(V.cast<double>().mean(), rank);
  return Matrix::Constant(rank, V.cols(), static_cast<float>(value));
}

MuResult fit(const Eigen::Ref<const Matrix>& V, Factors& factors, const MuOptions& options,
             const MuCallback& callback) {
  validate(options);
  require_valid_input(V);
  auto& W = factors.W;
  auto& H = factors.H;
  require_shapes(V, W, H);
  Stopwatch total;
  const auto passes = make_passes(V, options.beta, options.kernels);
  Tracker tracker(options, callback, V.size(), passes->name());
  Matrix delta_w(W.rows(), W.cols()), delta_h(H.rows(), H.cols());
  for (int update = 1;; ++update) {
    const bool last = update > options.iterations;
    Stopwatch watch;
    // The loss of the current W, H (after update − 1) comes with the W pass of this update.
    const double loss = passes->row_pass(W, H, last ? nullptr : &delta_w, tracker.wants_loss(update - 1));
    const double w_seconds = watch.seconds();
    const bool stop = tracker.record(loss);
    if (stop || last) return tracker.finish(stop && !last, total.seconds());
    watch.restart();
    apply_w(W, delta_w, options.beta);
    passes->column_pass(W, H, &delta_h, false);
    apply_h(H, delta_h, options.beta);
    tracker.add_seconds(w_seconds + watch.seconds());
  }
}

MuResult fit_activations(const Eigen::Ref<const Matrix>& V, const Matrix& W, Matrix& H,
                         const MuOptions& options, const MuCallback& callback) {
  validate(options);
  require_valid_input(V);
  require_shapes(V, W, H);
  Stopwatch total;
  const auto passes = make_passes(V, options.beta, options.kernels);
  Tracker tracker(options, callback, V.size(), passes->name());
  Matrix delta_h(H.rows(), H.cols());
  for (int update = 1;; ++update) {
    const bool last = update > options.iterations;
    Stopwatch watch;
    const double loss =
        passes->column_pass(W, H, last ? nullptr : &delta_h, tracker.wants_loss(update - 1));
    const double h_seconds = watch.seconds();
    const bool stop = tracker.record(loss);
    if (stop || last) return tracker.finish(stop && !last, total.seconds());
    watch.restart();
    apply_h(H, delta_h, options.beta);
    tracker.add_seconds(h_seconds + watch.seconds());
  }
}

Loss loss(const Eigen::Ref<const Matrix>& V, const Matrix& W, const Matrix& H, double beta,
          Kernels kernels) {
  require_shapes(V, W, H);
  return loss_against(V, beta, kernels)(W, H);
}

std::function<Loss(const Matrix& W, const Matrix& H)> loss_against(const Eigen::Ref<const Matrix>& V, double beta,
                                                                   Kernels kernels) {
  std::shared_ptr<Passes> passes = make_passes(V, beta, kernels);
  const Eigen::Index rows = V.rows(), cols = V.cols();
  return [passes, rows, cols](const Matrix& W, const Matrix& H) {
    require_shapes(rows, cols, W, H);
    Loss result;
    result.sum = passes->row_pass(W, H, nullptr, true);
    result.mean = rows * cols > 0 ? result.sum / static_cast<double>(rows * cols) : 0.0;
    return result;
  };
}

namespace {

void require_valid_power(double power) {
  if (!(power > 0) || !std::isfinite(power))
    throw UsageError(fmt::format("--power {}: must be positive (0.5: square-root compression, 1: "
                                 "magnitudes as they are)",
                                 power));
}

/// |X|^p in place.
void compress_in_place(Matrix& V, double power) {
  if (power == 1.0) return;
  if (power == 0.5)
    V.array() = V.array().sqrt();
  else
    V.array() = V.array().pow(static_cast<float>(power));
}

}  // namespace

Matrix compressed(const tf::MagnitudeSpectrogram& magnitude, double power) {
  require_valid_power(power);
  // A row-major (frames, bins) matrix is a column-major (bins, frames) one, byte for byte.
  Matrix V(magnitude.cols(), magnitude.rows());
  advise_huge_pages(V);
  V = Eigen::Map<const Matrix>(magnitude.data(), magnitude.cols(), magnitude.rows());
  compress_in_place(V, power);
  return V;
}

Matrix compressed(const tf::ComplexSpectrogram& spectrum, double power) {
  require_valid_power(power);
  using ComplexColumnMajor = Eigen::Matrix<std::complex<float>, Eigen::Dynamic, Eigen::Dynamic>;
  Matrix V(spectrum.cols(), spectrum.rows());
  advise_huge_pages(V);
  V = Eigen::Map<const ComplexColumnMajor>(spectrum.data(), spectrum.cols(), spectrum.rows()).cwiseAbs();
  compress_in_place(V, power);
  return V;
}

void require_same_bins(const BinGrid& trained, const BinGrid& wanted) {
  if (trained.sample_rate != wanted.sample_rate)
    throw UsageError(fmt::format(
        "classic NMF model trained at {} Hz cannot be used on audio at {} Hz: its templates "
        "exist only at its own bins; resample the audio to {} Hz (reconstruct: --resample; separate: "
        "--sr {}) or retrain with innmf nmf",
        trained.sample_rate, wanted.sample_rate, trained.sample_rate, trained.sample_rate));
  if (trained.n_fft != wanted.n_fft)
    throw UsageError(fmt::format(
        "classic NMF model trained with --n-fft {} at {} Hz cannot be used at --n-fft {}: "
        "retrain with innmf nmf, or use an iN-NMF model",
        trained.n_fft, trained.sample_rate, wanted.n_fft));
}

ReconstructionMetrics reconstruction_metrics(const Eigen::Ref<const Matrix>& magnitude,
                                             const Eigen::Ref<const Matrix>& V, const Matrix& W,
                                             const Matrix& H, double power) {
  require_shapes(V, W, H);
  if (magnitude.rows() != V.rows() || magnitude.cols() != V.cols())
    throw Error(ExitCode::failure, "reconstruction_metrics: |X| and V differ in shape");
  const Index F = V.rows(), T = V.cols();
  // Per frame, in double; frames summed in order (deterministic for any thread count).
  std::vector<double> kl(static_cast<std::size_t>(T)), reference(kl.size()), error(kl.size());
  const Beta kl_beta = Beta::of(1.0);
  const double inverse_power = 1.0 / power;
#pragma omp parallel
  {
    Eigen::VectorXf wh(F);
#pragma omp for schedule(static)
    for (Index j = 0; j < T; ++j) {
      wh.noalias() = W * H.col(j);
      double k = 0, m = 0, e = 0;
      for (Index i = 0; i < F; ++i) {
        k += beta_divergence(kl_beta, V(i, j), wh[i]);
        const double estimate = std::pow(std::max(0.0, static_cast<double>(wh[i])), inverse_power);
        m += std::abs(static_cast<double>(magnitude(i, j)));
        e += std::abs(static_cast<double>(magnitude(i, j)) - estimate);
      }
      const auto jj = static_cast<std::size_t>(j);
      kl[jj] = k;
      reference[jj] = m;
      error[jj] = e;
    }
  }
  double kl_sum = 0, reference_sum = 0, error_sum = 0;
  for (std::size_t j = 0; j < kl.size(); ++j) {
    kl_sum += kl[j];
    reference_sum += reference[j];
    error_sum += error[j];
  }
  ReconstructionMetrics metrics;
  metrics.kl = kl_sum / static_cast<double>(V.size());
  metrics.sdr_freq = 20.0 * std::log10(reference_sum / error_sum);  // ratio of means = of sums
  return metrics;
}

}  // namespace innmf::model::classic
