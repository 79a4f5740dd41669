#pragma once
// Optimizers over one flat parameter buffer (STYLE.md §4): one loop, state in flat buffers of
// the same length, identical on every rank when fed identical gradients.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace innmf::train {

enum class OptimizerKind { rprop, adam };
OptimizerKind parse_optimizer(const std::string& name);
std::string optimizer_name(OptimizerKind kind);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  /// One update of params (n) from grad (n).
  void step(float* params, const float* grad) { step(params, grad, 0, size()); }
  /// One update of parameters [begin, end) only (params and grad: the whole buffers, n): the
  /// state is per parameter, so this is exactly the full step's update of that range, and the
  /// rest is left alone. Scalar state (Adam's step count) advances as in a full step, so every
  /// rank of a split template field calls it once per step, with an empty range if need be.
  virtual void step(float* params, const float* grad, std::size_t begin, std::size_t end) = 0;
  /// n, the number of parameters.
  virtual std::size_t size() const = 0;
  /// The state for checkpoints: arrays with one value per parameter (sliced per clip for
  /// rank-local parameters), and a few scalars.
  virtual std::vector<std::vector<float>*> per_parameter_state() = 0;
  virtual std::vector<double> scalar_state() const { return {}; }
  virtual void set_scalar_state(const std::vector<double>&) {}
  /// Everything, flat, for tests and fingerprints.
  std::vector<double> state();
};

/// Rprop with PyTorch's semantics (torch.optim.Rprop): per-parameter step sizes, start at lr,
/// ×η+ (1.2) while the gradient keeps its sign, ×η− (0.5) when it flips (and that step is
/// skipped), bounded to [1e-6, 50]; the update is −sign(g)·step. Needs full-batch gradients.
class Rprop : public Optimizer {
 public:
  Rprop(std::size_t n, double lr, double eta_minus = 0.5, double eta_plus = 1.2,
        double step_min = 1e-6, double step_max = 50);
  using Optimizer::step;
  void step(float* params, const float* grad, std::size_t begin, std::size_t end) override;
  std::size_t size() const override { return step_size_.size(); }
  std::vector<std::vector<float>*> per_parameter_state() override { return {&step_size_, &previous_}; }

 private:
  std::vector<float> step_size_, previous_;
  float eta_minus_, eta_plus_, step_min_, step_max_;
};

/// Adam (Kingma & Ba) with bias correction, as torch.optim.Adam (β1 0.9, β2 0.999, ε 1e-8).
class Adam : public Optimizer {
 public:
  Adam(std::size_t n, double lr, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8);
  using Optimizer::step;
  void step(float* params, const float* grad, std::size_t begin, std::size_t end) override;
  std::size_t size() const override { return m_.size(); }
  std::vector<std::vector<float>*> per_parameter_state() override { return {&m_, &v_}; }
  std::vector<double> scalar_state() const override { return {static_cast<double>(t_)}; }
  void set_scalar_state(const std::vector<double>& s) override { t_ = static_cast<std::int64_t>(s.at(0)); }

 private:
  std::vector<float> m_, v_;
  double lr_, beta1_, beta2_, epsilon_;
  std::int64_t t_ = 0;
};

std::unique_ptr<Optimizer> make_optimizer(OptimizerKind kind, std::size_t n, double lr);

}  // namespace innmf::train
