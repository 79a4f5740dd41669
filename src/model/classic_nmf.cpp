#include "innmf/model/classic_nmf.hpp"

#include <omp.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <exception>
#include <fmt/format.h>
#include <random>

#include "innmf/core/error.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/model/beta_divergence.hpp"

namespace innmf::model::classic {
namespace {

using Index = Eigen::Index;
using MapMatrix = Eigen::Map<Matrix>;

// Tile shapes: fixed, so that results do not depend on the thread count. A tile's WH, its two
// elementwise factors and its slice of V stay within a core's L2 cache (bench/nmf).
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

/// The two fused passes over V for one factorisation problem.
class Engine {
 public:
  Engine(const Eigen::Ref<const Matrix>& V, double beta)
      : V_(V), beta_(Beta::of(beta)), gamma_(gamma_of(beta)),
        workspaces_(static_cast<std::size_t>(std::max(1, omp_get_max_threads()))) {}

  /// Over row tiles of V: returns Σ D_β(V | WH); when `delta` is given, also the update factors
  /// of W, delta (n_freqs, K) = (numerator / denominator)^γ.
  double row_pass(const Matrix& W, const Matrix& H, Matrix* delta) {
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

  /// Over column tiles of V: returns Σ D_β(V | WH) when `with_loss` (else 0); when `delta` is
  /// given, also the update factors of H, delta (K, n_frames) = (numerator / denominator)^γ.
  double column_pass(const Matrix& W, const Matrix& H, Matrix* delta, bool with_loss) {
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

  /// scikit-learn's thresholds after an update (β < 1 for W, β ≤ 1 for H).
  void apply_w(Matrix& W, const Matrix& delta) const {
    W.array() *= delta.array();
    if (beta_.beta < 1) W = (W.array() < kZeroBelow).select(0.0f, W);
  }
  void apply_h(Matrix& H, const Matrix& delta) const {
    H.array() *= delta.array();
    if (beta_.beta <= 1) H = (H.array() < kZeroBelow).select(0.0f, H);
  }

 private:
  template <typename Vector>
  static void replace_zeros(Vector& values, float replacement) {
    for (Index i = 0; i < values.size(); ++i)
      if (values[i] == 0.0f) values[i] = replacement;
  }
  static double sum_in_order(const std::vector<double>& values) {
    double sum = 0;
    for (double v : values) sum += v;
    return sum;
  }
  Workspace& workspace() {
    const auto thread = static_cast<std::size_t>(omp_get_thread_num());
    return workspaces_.at(thread);
  }

  Eigen::Ref<const Matrix> V_;
  Beta beta_;
  double gamma_;
  std::vector<Workspace> workspaces_;
};

/// Records losses, reports them, checks them and decides when to stop.
class Tracker {
 public:
  Tracker(const MuOptions& options, const MuCallback& callback, Index entries)
      : options_(options), callback_(callback), entries_(static_cast<double>(entries)) {}

  /// The loss sum after `result_.loss.size()` updates. Returns true when the tolerance says stop.
  bool record(double sum) {
    const int iteration = static_cast<int>(result_.loss.size());
    const double mean = sum / entries_;
    if (!std::isfinite(mean))
      throw NumericalError(fmt::format(
          "classic NMF: the loss became {} after {} update{} (--beta {}): the multiplicative "
          "updates overflowed float32; use a --beta between 0 and 2",
          mean, iteration, iteration == 1 ? "" : "s", options_.beta));
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
  Engine engine(V, options.beta);
  Tracker tracker(options, callback, V.size());
  Matrix delta_w(W.rows(), W.cols()), delta_h(H.rows(), H.cols());
  for (int update = 1;; ++update) {
    const bool last = update > options.iterations;
    Stopwatch watch;
    // The loss of the current W, H (after update − 1) comes with the W pass of this update.
    const double loss = engine.row_pass(W, H, last ? nullptr : &delta_w);
    const double w_seconds = watch.seconds();
    const bool stop = tracker.record(loss);
    if (stop || last) return tracker.finish(stop && !last, total.seconds());
    watch.restart();
    engine.apply_w(W, delta_w);
    engine.column_pass(W, H, &delta_h, false);
    engine.apply_h(H, delta_h);
    tracker.add_seconds(w_seconds + watch.seconds());
  }
}

MuResult fit_activations(const Eigen::Ref<const Matrix>& V, const Matrix& W, Matrix& H,
                         const MuOptions& options, const MuCallback& callback) {
  validate(options);
  require_valid_input(V);
  require_shapes(V, W, H);
  Stopwatch total;
  Engine engine(V, options.beta);
  Tracker tracker(options, callback, V.size());
  Matrix delta_h(H.rows(), H.cols());
  for (int update = 1;; ++update) {
    const bool last = update > options.iterations;
    Stopwatch watch;
    const double loss = engine.column_pass(W, H, last ? nullptr : &delta_h, true);
    const double h_seconds = watch.seconds();
    const bool stop = tracker.record(loss);
    if (stop || last) return tracker.finish(stop && !last, total.seconds());
    watch.restart();
    engine.apply_h(H, delta_h);
    tracker.add_seconds(h_seconds + watch.seconds());
  }
}

Loss loss(const Eigen::Ref<const Matrix>& V, const Matrix& W, const Matrix& H, double beta) {
  require_shapes(V, W, H);
  Engine engine(V, beta);
  Loss result;
  result.sum = engine.row_pass(W, H, nullptr);
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
