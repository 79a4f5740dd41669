#include "innmf/model/classic_nmf.hpp"

#include <omp.h>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <exception>
#include <fmt/format.h>
#include <memory>
#include <random>

#include "innmf/core/error.hpp"
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

/// The exponent γ of the update ratio (Févotte & Idier 2011; scikit-learn's `gamma`).
double gamma_of(double beta) {
  if (beta < 1) return 1.0 / (2.0 - beta);
  if (beta > 2) return 1.0 / (beta - 1.0);
  return 1.0;
}

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
  /// Over row tiles of V: returns Σ D_β(V | WH); when `delta` is given, also the update factors
  /// of W, delta (n_freqs, K) = (numerator / denominator)^γ.
  virtual double row_pass(const Matrix& W, const Matrix& H, Matrix* delta) = 0;
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
      : V_(V), beta_(Beta::of(beta)), gamma_(gamma_of(beta)),
        workspaces_(static_cast<std::size_t>(std::max(1, omp_get_max_threads()))) {}

  const char* name() const override { return "eigen"; }

  double row_pass(const Matrix& W, const Matrix& H, Matrix* delta) override {
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
        loss += elementwise(beta_, V_.block(r0, c0, rows, cols), wh, a, b, update, true);
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
// β = 1 (generalised KL, the default) with AVX2 + FMA micro-kernels: the same arithmetic as
// EigenPasses, arranged so that WH never leaves the cache:
//  - product_16x6: a 16 × 6 block of WH = W·H in 12 registers (depth K), stored into the tile's
//    buffer; ratio_in_place then makes R = V / max(WH, ε) and Σ V·log(max(WH, ε)) over the tile
//    while it is in L1/L2;
//  - dot_4x3: num = Wᵀ R for the H update (dot products along the frequencies);
//  - outer_16x6: num += R Hᵀ for the W update (outer products along the frames).
// One block shape each, accumulators as named variables (GCC keeps arrays of them in memory):
// V, W and H are held zero-padded to 16 rows, 12 templates and 6 frames. Padding adds exact zeros everywhere (V = 0
// gives R = 0 and V·log(·) = 0; zero rows of W and H add nothing to WH).
// The KL loss is summed as Σ_{V>0} V·log V − Σ V (constants, once) + Σ WH (from the column
// sums of W and row sums of H) − Σ V·log(max(WH, ε)) (per entry).
namespace avx2 {

// Block shapes (measured on Zen 3: the 12-accumulator shapes that leave GCC enough registers).
constexpr Index kRows = 16;             // rows of product and outer blocks
constexpr Index kFrames = 6;            // frames of a product block
constexpr Index kTemplates = 12;        // K is padded to a multiple of 12 (dot: 4, outer: 6)
constexpr Index kColumnTile = 36;       // frames per tile of the H pass (a multiple of 6)

Index round_up(Index n, Index multiple) { return (n + multiple - 1) / multiple * multiple; }

inline float horizontal_sum(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

inline void add_to(float* out, __m256 value) {
  _mm256_storeu_ps(out, _mm256_add_ps(_mm256_loadu_ps(out), value));
}

#define INNMF_FMA(a, b, c) c = _mm256_fmadd_ps(a, b, c)

/// out[0:16, 0:6] = W[0:16, 0:K]·H[0:K, 0:6]. w: W at the block's first row (column stride
/// ldw); h: H at the block's first frame (column stride ldh); out: column stride ldo.
inline void product_16x6(const float* w, Index ldw, const float* h, Index K, Index ldh,
                         float* out, Index ldo) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
         c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (Index k = 0; k < K; ++k) {
    const float* wk = w + k * ldw;
    const __m256 w0 = _mm256_loadu_ps(wk), w1 = _mm256_loadu_ps(wk + 8);
    __m256 hk = _mm256_broadcast_ss(h + k);
    INNMF_FMA(w0, hk, c00);
    INNMF_FMA(w1, hk, c01);
    hk = _mm256_broadcast_ss(h + ldh + k);
    INNMF_FMA(w0, hk, c10);
    INNMF_FMA(w1, hk, c11);
    hk = _mm256_broadcast_ss(h + 2 * ldh + k);
    INNMF_FMA(w0, hk, c20);
    INNMF_FMA(w1, hk, c21);
    hk = _mm256_broadcast_ss(h + 3 * ldh + k);
    INNMF_FMA(w0, hk, c30);
    INNMF_FMA(w1, hk, c31);
    hk = _mm256_broadcast_ss(h + 4 * ldh + k);
    INNMF_FMA(w0, hk, c40);
    INNMF_FMA(w1, hk, c41);
    hk = _mm256_broadcast_ss(h + 5 * ldh + k);
    INNMF_FMA(w0, hk, c50);
    INNMF_FMA(w1, hk, c51);
  }
  _mm256_storeu_ps(out, c00);
  _mm256_storeu_ps(out + 8, c01);
  _mm256_storeu_ps(out + ldo, c10);
  _mm256_storeu_ps(out + ldo + 8, c11);
  _mm256_storeu_ps(out + 2 * ldo, c20);
  _mm256_storeu_ps(out + 2 * ldo + 8, c21);
  _mm256_storeu_ps(out + 3 * ldo, c30);
  _mm256_storeu_ps(out + 3 * ldo + 8, c31);
  _mm256_storeu_ps(out + 4 * ldo, c40);
  _mm256_storeu_ps(out + 4 * ldo + 8, c41);
  _mm256_storeu_ps(out + 5 * ldo, c50);
  _mm256_storeu_ps(out + 5 * ldo + 8, c51);
}

/// num[0:4, 0:3] = Σ_f W[f, 0:4]·R[f, 0:3] over `rows` rows (a multiple of 8). w: W at the
/// block's first template (column stride ldw); r: R at its first frame (column stride ldr);
/// num at (k0, j0), column stride ldn.
inline void dot_4x3(const float* w, Index ldw, const float* r, Index ldr, Index rows, float* num,
                    Index ldn) {
  __m256 a00 = _mm256_setzero_ps(), a01 = a00, a02 = a00, a10 = a00, a11 = a00, a12 = a00,
         a20 = a00, a21 = a00, a22 = a00, a30 = a00, a31 = a00, a32 = a00;
  for (Index f = 0; f < rows; f += 8) {
    const __m256 r0 = _mm256_loadu_ps(r + f), r1 = _mm256_loadu_ps(r + ldr + f),
                 r2 = _mm256_loadu_ps(r + 2 * ldr + f);
    __m256 wk = _mm256_loadu_ps(w + f);
    INNMF_FMA(wk, r0, a00);
    INNMF_FMA(wk, r1, a01);
    INNMF_FMA(wk, r2, a02);
    wk = _mm256_loadu_ps(w + ldw + f);
    INNMF_FMA(wk, r0, a10);
    INNMF_FMA(wk, r1, a11);
    INNMF_FMA(wk, r2, a12);
    wk = _mm256_loadu_ps(w + 2 * ldw + f);
    INNMF_FMA(wk, r0, a20);
    INNMF_FMA(wk, r1, a21);
    INNMF_FMA(wk, r2, a22);
    wk = _mm256_loadu_ps(w + 3 * ldw + f);
    INNMF_FMA(wk, r0, a30);
    INNMF_FMA(wk, r1, a31);
    INNMF_FMA(wk, r2, a32);
  }
  num[0] = horizontal_sum(a00);
  num[1] = horizontal_sum(a10);
  num[2] = horizontal_sum(a20);
  num[3] = horizontal_sum(a30);
  num[ldn] = horizontal_sum(a01);
  num[ldn + 1] = horizontal_sum(a11);
  num[ldn + 2] = horizontal_sum(a21);
  num[ldn + 3] = horizontal_sum(a31);
  num[2 * ldn] = horizontal_sum(a02);
  num[2 * ldn + 1] = horizontal_sum(a12);
  num[2 * ldn + 2] = horizontal_sum(a22);
  num[2 * ldn + 3] = horizontal_sum(a32);
}

/// num[0:16, 0:6] += Σ_j R[0:16, j]·H[0:6, j] over `cols` frames. r: R block (column stride
/// ldr); h: H at (k0, j0) (column stride ldh); num at (0, k0), column stride ldn.
inline void outer_16x6(const float* r, Index ldr, const float* h, Index ldh, Index cols,
                       float* num, Index ldn) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
         c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (Index j = 0; j < cols; ++j) {
    const float* rj = r + j * ldr;
    const float* hj = h + j * ldh;
    const __m256 r0 = _mm256_loadu_ps(rj), r1 = _mm256_loadu_ps(rj + 8);
    __m256 hk = _mm256_broadcast_ss(hj);
    INNMF_FMA(r0, hk, c00);
    INNMF_FMA(r1, hk, c01);
    hk = _mm256_broadcast_ss(hj + 1);
    INNMF_FMA(r0, hk, c10);
    INNMF_FMA(r1, hk, c11);
    hk = _mm256_broadcast_ss(hj + 2);
    INNMF_FMA(r0, hk, c20);
    INNMF_FMA(r1, hk, c21);
    hk = _mm256_broadcast_ss(hj + 3);
    INNMF_FMA(r0, hk, c30);
    INNMF_FMA(r1, hk, c31);
    hk = _mm256_broadcast_ss(hj + 4);
    INNMF_FMA(r0, hk, c40);
    INNMF_FMA(r1, hk, c41);
    hk = _mm256_broadcast_ss(hj + 5);
    INNMF_FMA(r0, hk, c50);
    INNMF_FMA(r1, hk, c51);
  }
  add_to(num, c00);
  add_to(num + 8, c01);
  add_to(num + ldn, c10);
  add_to(num + ldn + 8, c11);
  add_to(num + 2 * ldn, c20);
  add_to(num + 2 * ldn + 8, c21);
  add_to(num + 3 * ldn, c30);
  add_to(num + 3 * ldn + 8, c31);
  add_to(num + 4 * ldn, c40);
  add_to(num + 4 * ldn + 8, c41);
  add_to(num + 5 * ldn, c50);
  add_to(num + 5 * ldn + 8, c51);
}

#undef INNMF_FMA

/// log x for normal positive x (the caller passes max(WH, ε); no 0, denormal, ∞ or NaN to
/// handle, unlike Eigen's plog): Cephes' logf, x = m·2^e with m in [√½, √2),
/// log x = e·ln 2 + log1p(m − 1), log1p by its degree-9 polynomial; error ~1 ulp.
inline __m256 log_positive(__m256 x) {
  const __m256i bits = _mm256_castps_si256(x);
  const __m256i exponent = _mm256_sub_epi32(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(127));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(
      _mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f800000)));
  const __m256 above = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356237f), _CMP_GT_OQ);
  m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), above);  // [√½, √2)
  const __m256 e = _mm256_add_ps(_mm256_cvtepi32_ps(exponent), _mm256_and_ps(above, _mm256_set1_ps(1.0f)));
  const __m256 t = _mm256_sub_ps(m, _mm256_set1_ps(1.0f));
  __m256 p = _mm256_set1_ps(7.0376836292e-2f);
  for (float c : {-1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f,
                  -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f})
    p = _mm256_fmadd_ps(p, t, _mm256_set1_ps(c));
  const __m256 t2 = _mm256_mul_ps(t, t);
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, t), t2);
  y = _mm256_fmadd_ps(e, _mm256_set1_ps(-2.12194440e-4f), y);
  y = _mm256_fmadd_ps(t2, _mm256_set1_ps(-0.5f), y);
  y = _mm256_add_ps(t, y);
  return _mm256_fmadd_ps(e, _mm256_set1_ps(0.693359375f), y);
}

/// In place over `rows` (a multiple of 8) × `cols` entries holding WH: R = V / max(WH, ε), and
/// if WithLoss Σ V·log(max(WH, ε)) added to `loss` (4 double lanes; each column's terms summed
/// in float first).
template <bool WithLoss>
inline void ratio_in_place(Index rows, Index cols, const float* v, Index ldv, float* r, Index ldr,
                           __m256d& loss) {
  const __m256 epsilon = _mm256_set1_ps(kEpsilon);
  for (Index j = 0; j < cols; ++j) {
    const float* vj = v + j * ldv;
    float* rj = r + j * ldr;
    __m256 column_loss = _mm256_setzero_ps();
    for (Index f = 0; f < rows; f += 8) {
      const __m256 model = _mm256_max_ps(_mm256_loadu_ps(rj + f), epsilon);
      const __m256 target = _mm256_loadu_ps(vj + f);
      _mm256_storeu_ps(rj + f, _mm256_div_ps(target, model));
      if (WithLoss)
        column_loss = _mm256_fmadd_ps(target, log_positive(model), column_loss);
    }
    if (WithLoss) {
      loss = _mm256_add_pd(loss, _mm256_cvtps_pd(_mm256_castps256_ps128(column_loss)));
      loss = _mm256_add_pd(loss, _mm256_cvtps_pd(_mm256_extractf128_ps(column_loss, 1)));
    }
  }
}

/// R = V / max(W·H, ε) over rows [0, rows) and columns [0, cols) (multiples of 16 and 6), and
/// the loss term: the product block by block, then the elementwise part over the tile.
template <bool WithLoss>
void ratio_tile(Index rows, Index cols, const float* w, Index ldw, const float* h, Index K,
                Index ldh, const float* v, Index ldv, float* r, Index ldr, __m256d& loss) {
  for (Index j = 0; j < cols; j += kFrames)
    for (Index f = 0; f < rows; f += kRows)
      product_16x6(w + f, ldw, h + j * ldh, K, ldh, r + f + j * ldr, ldr);
  ratio_in_place<WithLoss>(rows, cols, v, ldv, r, ldr, loss);
}

double sum_lanes(__m256d v) {
  alignas(32) double lanes[4];
  _mm256_store_pd(lanes, v);
  return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

}  // namespace avx2

class Avx2KlPasses final : public Passes {
 public:
  Avx2KlPasses(const Eigen::Ref<const Matrix>& V)
      : F_(V.rows()), Fp_(avx2::round_up(V.rows(), avx2::kRows)), T_(V.cols()),
        Tp_(avx2::round_up(V.cols(), avx2::kFrames)),
        buffers_(static_cast<std::size_t>(std::max(1, omp_get_max_threads()))) {
    V_ = Matrix::Zero(Fp_, Tp_);
    V_.topLeftCorner(F_, T_) = V;
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

  // The W pass runs over column tiles too (V is read contiguously, the product blocks span
  // every row): each tile adds R Hᵀ into its own partial numerator (Fp, Kp), and the partials
  // are summed in tile order afterwards, row block by row block.
  double row_pass(const Matrix& W, const Matrix& H, Matrix* delta) override {
    load(W, H);
    const Index K = W.cols(), Kp = W_.cols();
    const Index tile = w_pass_tile();
    const Index n_tiles = (Tp_ + tile - 1) / tile;
    Eigen::RowVectorXf h_sum;  // the denominator 1·Hᵀ
    if (delta) {
      h_sum = H.rowwise().sum().transpose();
      replace_zeros(h_sum, kEpsilon);
      if (partials_.size() < n_tiles * Fp_ * Kp) partials_.resize(n_tiles * Fp_ * Kp);
    }
    std::vector<double> tile_loss(static_cast<std::size_t>(n_tiles), 0.0);
    for_each_tile(n_tiles, [&](Index t) {
      const Index c0 = t * tile, cols = std::min(tile, Tp_ - c0);
      auto& b = buffer(Fp_ * tile, 0);
      __m256d loss = _mm256_setzero_pd();
      const float* h = H_.data() + c0 * Kp;
      avx2::ratio_tile<true>(Fp_, cols, W_.data(), Fp_, h, K, Kp, V_.data() + c0 * Fp_, Fp_,
                             b.r.data(), Fp_, loss);
      tile_loss[static_cast<std::size_t>(t)] = avx2::sum_lanes(loss);
      if (!delta) return;
      float* num = partials_.data() + t * Fp_ * Kp;  // (Fp, Kp), column stride Fp
      std::fill(num, num + Fp_ * Kp, 0.0f);
      for (Index k = 0; k < Kp; k += 6)
        for (Index f = 0; f < Fp_; f += avx2::kRows)
          avx2::outer_16x6(b.r.data() + f, Fp_, h + k, Kp, cols, num + f + k * Fp_, Fp_);
    });
    if (delta) {
      const Index n_blocks = Fp_ / avx2::kRows;
      for_each_tile(n_blocks, [&](Index block) {
        const Index f0 = block * avx2::kRows, rows = std::min(avx2::kRows, F_ - f0);
        Eigen::Matrix<float, avx2::kRows, Eigen::Dynamic> sum =
            Eigen::Matrix<float, avx2::kRows, Eigen::Dynamic>::Zero(avx2::kRows, K);
        for (Index t = 0; t < n_tiles; ++t)  // tile order: the same sum for any thread count
          sum += Eigen::Map<const Matrix, 0, Eigen::OuterStride<>>(
              partials_.data() + t * Fp_ * Kp + f0, avx2::kRows, K, Eigen::OuterStride<>(Fp_));
        for (Index k = 0; k < K; ++k)
          for (Index f = 0; f < rows; ++f) (*delta)(f0 + f, k) = sum(f, k) / h_sum[k];
      });
    }
    return kl_loss(W, H, sum_in_order(tile_loss));
  }

  double column_pass(const Matrix& W, const Matrix& H, Matrix* delta, bool with_loss) override {
    load(W, H);
    const Index K = W.cols(), Kp = W_.cols();
    const Index n_tiles = (Tp_ + avx2::kColumnTile - 1) / avx2::kColumnTile;
    Eigen::VectorXf w_sum;  // the denominator Wᵀ·1
    if (delta) {
      w_sum = W.colwise().sum().transpose();
      replace_zeros(w_sum, 1.0f);
    }
    std::vector<double> tile_loss(static_cast<std::size_t>(n_tiles), 0.0);
    for_each_tile(n_tiles, [&](Index t) {
      const Index c0 = t * avx2::kColumnTile, cols = std::min(avx2::kColumnTile, Tp_ - c0);
      auto& b = buffer(Fp_ * avx2::kColumnTile, Kp * avx2::kColumnTile);
      __m256d loss = _mm256_setzero_pd();
      const float* h = H_.data() + c0 * Kp;
      const float* v = V_.data() + c0 * Fp_;
      if (with_loss)
        avx2::ratio_tile<true>(Fp_, cols, W_.data(), Fp_, h, K, Kp, v, Fp_, b.r.data(), Fp_, loss);
      else
        avx2::ratio_tile<false>(Fp_, cols, W_.data(), Fp_, h, K, Kp, v, Fp_, b.r.data(), Fp_, loss);
      tile_loss[static_cast<std::size_t>(t)] = avx2::sum_lanes(loss);
      if (!delta) return;
      float* num = b.num.data();  // (Kp, cols), column stride Kp
      for (Index j = 0; j < cols; j += 3)
        for (Index k = 0; k < Kp; k += 4)
          avx2::dot_4x3(W_.data() + k * Fp_, Fp_, b.r.data() + j * Fp_, Fp_, Fp_, num + k + j * Kp, Kp);
      const Index real_cols = std::min(cols, T_ - c0);  // padding frames are not H's
      for (Index j = 0; j < real_cols; ++j)
        for (Index k = 0; k < K; ++k) (*delta)(k, c0 + j) = num[j * Kp + k] / w_sum[k];
    });
    return with_loss ? kl_loss(W, H, sum_in_order(tile_loss)) : 0.0;
  }

 private:
  struct Buffers {
    Eigen::VectorXf r, num;
  };

  Buffers& buffer(Index r_entries, Index num_entries) {
    auto& b = buffers_.at(static_cast<std::size_t>(omp_get_thread_num()));
    if (b.r.size() < r_entries) b.r.resize(r_entries);
    if (b.num.size() < num_entries) b.num.resize(num_entries);
    return b;
  }

  /// W and H into their zero-padded copies: W_ (Fp, Kp), H_ (Kp, Tp).
  void load(const Matrix& W, const Matrix& H) {
    const Index Kp = avx2::round_up(W.cols(), avx2::kTemplates);
    if (W_.rows() != Fp_ || W_.cols() != Kp) W_ = Matrix::Zero(Fp_, Kp);
    if (H_.rows() != Kp || H_.cols() != Tp_) H_ = Matrix::Zero(Kp, Tp_);
    W_.topLeftCorner(F_, W.cols()) = W;
    H_.topLeftCorner(H.rows(), T_) = H;
  }

  /// Σ D_1(V | WH) from Σ V·log(max(WH, ε)) and the constants.
  double kl_loss(const Matrix& W, const Matrix& H, double v_log_model) const {
    const Eigen::VectorXd w_sums = W.cast<double>().colwise().sum().transpose();
    const Eigen::VectorXd h_sums = H.cast<double>().rowwise().sum();
    return constant_ + w_sums.dot(h_sums) - v_log_model;
  }

  /// Frames per W-pass tile: a multiple of 6 fixed by the frame count alone (never by the
  /// thread count), at most 64 tiles so that the partial numerators stay small.
  Index w_pass_tile() const {
    const Index n = std::clamp<Index>(Tp_ / avx2::kColumnTile, 1, 64);
    return avx2::round_up((Tp_ + n - 1) / n, avx2::kFrames);
  }

  Index F_, Fp_, T_, Tp_;
  Eigen::VectorXf partials_;  // W pass: one (Fp, Kp) numerator per tile
  Matrix V_;  // (Fp, Tp): V, then zeros
  Matrix W_;  // (Fp, Kp): W, then zeros
  Matrix H_;  // (Kp, Tp): H, then zeros
  double constant_ = 0;
  std::vector<Buffers> buffers_;
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

  /// The loss sum after `result_.loss.size()` updates. Returns true when the tolerance says stop.
  bool record(double sum) {
    const int iteration = static_cast<int>(result_.loss.size());
    const double mean = sum / entries_;
    if (!std::isfinite(mean))
      throw NumericalError(fmt::format(
          "classic NMF: the loss is {} {} (--beta {}): float32 overflowed; use a --beta between 0 "
          "and 2, or a smaller --power",
          std::isnan(mean) ? "NaN" : "infinite",
          iteration == 0 ? std::string("at the start")
                         : fmt::format("after {} update{}", iteration, iteration == 1 ? "" : "s"),
          options_.beta));
    result_.loss.push_back(mean);
    if (callback_) {
      MuProgress progress;
      progress.iteration = iteration;
      progress.loss = mean;
      progress.loss_sum = sum;
      progress.seconds = iteration > 0 ? result_.seconds[static_cast<std::size_t>(iteration - 1)] : 0;
      progress.elapsed = elapsed_;
      callback_(progress);
    }
    if (iteration == 0 || options_.tolerance <= 0) return false;
    const double previous = result_.loss[static_cast<std::size_t>(iteration - 1)];
    return previous <= 0 || (previous - mean) / previous < options_.tolerance;
  }

  void add_seconds(double seconds) {
    result_.seconds.push_back(seconds);
    elapsed_ += seconds;
  }

  MuResult finish(bool stopped_early, double total_seconds) {
    result_.iterations = static_cast<int>(result_.loss.size()) - 1;
    result_.converged = stopped_early;
    result_.seconds_total = total_seconds;
    return std::move(result_);
  }

 private:
  const MuOptions& options_;
  const MuCallback& callback_;
  double entries_;
  double elapsed_ = 0;
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

void require_shapes(const Eigen::Ref<const Matrix>& V, const Matrix& W, const Matrix& H) {
  if (W.rows() != V.rows() || H.cols() != V.cols() || W.cols() != H.rows() || W.cols() < 1)
    throw Error(ExitCode::failure,
                fmt::format("classic NMF: shapes do not match: V {} × {}, W {} × {}, H {} × {}",
                            V.rows(), V.cols(), W.rows(), W.cols(), H.rows(), H.cols()));
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
}

Factors random_init(const Eigen::Ref<const Matrix>& V, int rank, std::uint64_t seed) {
  require_rank(rank);
  const double scale = std::sqrt(V.cast<double>().mean() / rank);
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
  const double value = std::sqrt(V.cast<double>().mean() / static_cast<double>(rank));
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
    const double loss = passes->row_pass(W, H, last ? nullptr : &delta_w);
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
    const double loss = passes->column_pass(W, H, last ? nullptr : &delta_h, true);
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
  Loss result;
  result.sum = make_passes(V, beta, kernels)->row_pass(W, H, nullptr);
  result.mean = V.size() > 0 ? result.sum / static_cast<double>(V.size()) : 0.0;
  return result;
}

Matrix compressed(const tf::MagnitudeSpectrogram& magnitude, double power) {
  if (!(power > 0) || !std::isfinite(power))
    throw UsageError(fmt::format("--power {}: must be positive (0.5: square-root compression, 1: "
                                 "magnitudes as they are)",
                                 power));
  // A row-major (frames, bins) matrix is a column-major (bins, frames) one, byte for byte.
  const Eigen::Map<const Matrix> X(magnitude.data(), magnitude.cols(), magnitude.rows());
  if (power == 1.0) return X;
  if (power == 0.5) return X.array().sqrt().matrix();
  return X.array().pow(static_cast<float>(power)).matrix();
}

void require_same_bins(const BinGrid& trained, const BinGrid& wanted) {
  if (trained.sample_rate != wanted.sample_rate)
    throw UsageError(fmt::format(
        "classic NMF model trained at {} Hz cannot be used on audio at {} Hz: its templates "
        "exist only at its own bins; resample the audio (--resample) or retrain with innmf nmf",
        trained.sample_rate, wanted.sample_rate));
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
