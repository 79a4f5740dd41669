#include "innmf/train/optimizer.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "innmf/core/error.hpp"

namespace innmf::train {

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "rprop") return OptimizerKind::rprop;
  if (name == "adam") return OptimizerKind::adam;
  throw UsageError(fmt::format("--optimizer {}: use rprop (full batch, the paper's) or adam", name));
}

std::string optimizer_name(OptimizerKind kind) { return kind == OptimizerKind::rprop ? "rprop" : "adam"; }

Rprop::Rprop(std::size_t n, double lr, double eta_minus, double eta_plus, double step_min,
             double step_max)
    : step_size_(n, static_cast<float>(lr)),
      previous_(n, 0.0f),
      eta_minus_(static_cast<float>(eta_minus)),
      eta_plus_(static_cast<float>(eta_plus)),
      step_min_(static_cast<float>(step_min)),
      step_max_(static_cast<float>(step_max)) {}

namespace {

/// Rprop on n parameters, branch-free (the sign pattern of real gradients defeats the branch
/// predictor) so that the loop vectorises: torch.optim.Rprop's arithmetic, element by element.
void rprop_kernel(long n, float* __restrict theta, const float* __restrict gradient, float* __restrict step,
                  float* __restrict previous, float eta_plus, float eta_minus, float step_max, float step_min) {
  for (long i = 0; i < n; ++i) {
    const float g0 = gradient[i];
    const float agreement = g0 * previous[i];
    const float s = step[i];
    const float grown = std::min(s * eta_plus, step_max);
    const float shrunk = std::max(s * eta_minus, step_min);
    float size = agreement > 0 ? grown : s;
    size = agreement < 0 ? shrunk : size;
    const float g = agreement < 0 ? 0.0f : g0;  // no update after a sign change; the next step compares with 0
    const float up = g > 0 ? 1.0f : 0.0f, down = g < 0 ? 1.0f : 0.0f;
    theta[i] -= (up - down) * size;
    step[i] = size;
    previous[i] = g;
  }
}

void check_range(std::size_t begin, std::size_t end, std::size_t n) {
  if (begin > end || end > n)
    throw Error(ExitCode::failure, fmt::format("optimizer step over [{}, {}) of {} parameters", begin, end, n));
}

}  // namespace

void Rprop::step(float* params, const float* grad, std::size_t first, std::size_t last) {
  check_range(first, last, step_size_.size());
  const auto n = static_cast<long>(last);
  constexpr long kBlock = 4096;
#pragma omp parallel for schedule(static)
  for (long begin = static_cast<long>(first); begin < n; begin += kBlock)
    rprop_kernel(std::min(kBlock, n - begin), params + begin, grad + begin, step_size_.data() + begin,
                 previous_.data() + begin, eta_plus_, eta_minus_, step_max_, step_min_);
}

std::vector<double> Optimizer::state() {
  std::vector<double> s;
  for (const auto* buffer : per_parameter_state()) s.insert(s.end(), buffer->begin(), buffer->end());
  for (double x : scalar_state()) s.push_back(x);
  return s;
}

Adam::Adam(std::size_t n, double lr, double beta1, double beta2, double epsilon)
    : m_(n, 0.0f), v_(n, 0.0f), lr_(lr), beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {}

void Adam::step(float* params, const float* grad, std::size_t first, std::size_t last) {
  check_range(first, last, m_.size());
  ++t_;
  const double correction1 = 1 - std::pow(beta1_, static_cast<double>(t_));
  const double correction2 = 1 - std::pow(beta2_, static_cast<double>(t_));
  const auto step_size = static_cast<float>(lr_ / correction1);
  const auto sqrt_correction2 = static_cast<float>(std::sqrt(correction2));
  const auto b1 = static_cast<float>(beta1_), b2 = static_cast<float>(beta2_);
  const auto eps = static_cast<float>(epsilon_);
  const auto n = static_cast<long>(last);
#pragma omp parallel for schedule(static)
  for (long i = static_cast<long>(first); i < n; ++i) {
    m_[i] = b1 * m_[i] + (1 - b1) * grad[i];
    v_[i] = b2 * v_[i] + (1 - b2) * grad[i] * grad[i];
    params[i] -= step_size * m_[i] / (std::sqrt(v_[i]) / sqrt_correction2 + eps);
  }
}

std::unique_ptr<Optimizer> make_optimizer(OptimizerKind kind, std::size_t n, double lr) {
  if (kind == OptimizerKind::rprop) return std::make_unique<Rprop>(n, lr);
  return std::make_unique<Adam>(n, lr);
}

}  // namespace innmf::train
