#pragma once
// The β-divergence D_β(y | ŷ) between a target y ≥ 0 and a model ŷ > 0 (DESIGN.md §1), and its
// derivative in ŷ. Elementwise, inline: these run once per point per step.
//
//   β = 1  generalised Kullback-Leibler  y·log(y/ŷ) − y + ŷ        (0·log 0 = 0)
//   β = 0  Itakura-Saito                 y/ŷ − log(y/ŷ) − 1
//   β = 2  squared Euclidean             (y − ŷ)² / 2
//   other  (y^β + (β−1)·ŷ^β − β·y·ŷ^(β−1)) / (β(β−1))
//
// Zeros and underflow, as scikit-learn's NMF handles them: ŷ is floored at kBetaEpsilon
// (float32 machine epsilon) wherever it is divided by or logged, and for β ≤ 0 (where y = 0
// makes the divergence infinite) y is raised to kBetaEpsilon as well.

#include <cmath>

namespace innmf::model {

inline constexpr double kBetaEpsilon = 1.1920928955078125e-07;  // numpy.finfo(float32).eps

/// Which formula applies; chosen once per run, not per point.
enum class BetaKind { itakura_saito, kullback_leibler, euclidean, general };

struct Beta {
  double beta = 1.0;
  BetaKind kind = BetaKind::kullback_leibler;
  static Beta of(double beta) {
    Beta b;
    b.beta = beta;
    b.kind = beta == 1.0   ? BetaKind::kullback_leibler
             : beta == 0.0 ? BetaKind::itakura_saito
             : beta == 2.0 ? BetaKind::euclidean
                           : BetaKind::general;
    return b;
  }
};

/// D_β(y | ŷ) for one point.
inline double beta_divergence(const Beta& b, double y, double yhat) {
  const double model = std::max(yhat, kBetaEpsilon);
  switch (b.kind) {
    case BetaKind::kullback_leibler:
      return (y > 0 ? y * std::log(y / model) : 0.0) - y + model;
    case BetaKind::itakura_saito: {
      const double ratio = std::max(y, kBetaEpsilon) / model;
      return ratio - std::log(ratio) - 1.0;
    }
    case BetaKind::euclidean:
      return 0.5 * (y - yhat) * (y - yhat);
    case BetaKind::general: {
      const double target = b.beta <= 0 ? std::max(y, kBetaEpsilon) : y;
      return (std::pow(target, b.beta) + (b.beta - 1) * std::pow(model, b.beta) -
              b.beta * target * std::pow(model, b.beta - 1)) /
             (b.beta * (b.beta - 1));
    }
  }
  return 0;
}

/// ∂D_β(y | ŷ)/∂ŷ = ŷ^(β−2)·(ŷ − y) for one point.
inline double beta_gradient(const Beta& b, double y, double yhat) {
  const double model = std::max(yhat, kBetaEpsilon);
  switch (b.kind) {
    case BetaKind::kullback_leibler: return 1.0 - y / model;
    case BetaKind::itakura_saito: return (model - std::max(y, kBetaEpsilon)) / (model * model);
    case BetaKind::euclidean: return yhat - y;
    case BetaKind::general: {
      const double target = b.beta <= 0 ? std::max(y, kBetaEpsilon) : y;
      return std::pow(model, b.beta - 2) * (model - target);
    }
  }
  return 0;
}

/// The positive part of ∂D_β/∂ŷ: ∂D/∂ŷ = ŷ^(β−1) − y·ŷ^(β−2) splits into this, ŷ^(β−1) (with ŷ
/// floored as in beta_gradient), minus a part that is never negative. Multiplicative updates
/// divide the negative part by this one (classic NMF's denominator; innmf_model.cpp's grid
/// activations). 1 for KL, whatever ŷ.
inline double beta_gradient_positive(const Beta& b, double yhat) {
  switch (b.kind) {
    case BetaKind::kullback_leibler: return 1.0;
    case BetaKind::itakura_saito: return 1.0 / std::max(yhat, kBetaEpsilon);
    case BetaKind::euclidean: return yhat;
    case BetaKind::general: return std::pow(std::max(yhat, kBetaEpsilon), b.beta - 1);
  }
  return 0;
}

/// The exponent γ of a multiplicative update's ratio (Févotte & Idier 2011; scikit-learn's
/// `gamma`): with it, each update of one factor with the other fixed never increases D_β.
inline double multiplicative_update_exponent(double beta) {
  if (beta < 1) return 1.0 / (2.0 - beta);
  if (beta > 2) return 1.0 / (beta - 1.0);
  return 1.0;
}

}  // namespace innmf::model
