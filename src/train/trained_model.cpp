#include "innmf/train/trained_model.hpp"

#include <fmt/format.h>

#include "innmf/core/error.hpp"
#include "innmf/model/innmf_model.hpp"
#include "innmf/nn/activations.hpp"

namespace innmf::train {

TrainedModel::TrainedModel(io::InnmfModelRecord record)
    : record_(std::move(record)),
      template_params_(record_.template_params.begin(), record_.template_params.end()),
      activation_params_(record_.activation_params.begin(), record_.activation_params.end()) {
  const nn::MlpShape shape{2 * static_cast<int>(record_.n_fourier), static_cast<int>(record_.hidden),
                           static_cast<int>(record_.layers), static_cast<int>(record_.rank),
                           nn::parse_architecture(record_.architecture)};
  templates_ = std::make_unique<model::NeuralField<float>>(shape, nn::FourierFeatures(record_.template_phases),
                                                           record_.f_ref);
  if (templates_->n_parameters() != record_.template_params.size())
    throw InputError(fmt::format("model: {} template parameters stored, the architecture needs {}",
                                 record_.template_params.size(), templates_->n_parameters()));
}

TrainedModel TrainedModel::load(const std::string& path) {
  try {
    return TrainedModel(io::read_innmf_model(path));
  } catch (const UsageError& e) {
    throw InputError(fmt::format("{}: {}", path, e.what()));
  }
}

model::RowMatrix<float> TrainedModel::templates_at(const std::vector<double>& freqs) const {
  auto batch = templates_->prepare(freqs);
  templates_->forward(template_params_.data(), batch);
  return batch.value;
}

model::RowMatrix<float> TrainedModel::activations_at(std::size_t c, const std::vector<double>& times) const {
  const int K = rank();
  const float* theta = activation_params_.data() + record_.activation_offsets.at(c);
  if (record_.activations == "grid") {
    const model::GridField<float> field(record_.knot_spacing, record_.clip_durations.at(c), K);
    if (field.n_parameters() != record_.activation_sizes.at(c))
      throw InputError(fmt::format("model: clip {} has {} activation parameters, expected {}", c,
                                   record_.activation_sizes.at(c), field.n_parameters()));
    auto batch = field.prepare(times);
    field.forward(theta, batch);
    return batch.value;
  }
  const nn::MlpShape shape{2 * static_cast<int>(record_.n_fourier), static_cast<int>(record_.hidden),
                           static_cast<int>(record_.layers), K, nn::parse_architecture(record_.architecture)};
  const model::NeuralField<float> field(
      shape, model::activation_encoding(record_.seed, static_cast<int>(record_.n_fourier), c),
      std::max(record_.clip_durations.at(c), 1e-3));
  auto batch = field.prepare(times);
  field.forward(theta, batch);
  return batch.value;
}

void TrainedModel::knot_activations(std::size_t c, std::vector<double>& times, model::RowMatrix<float>& H) const {
  if (record_.activations != "grid")
    throw UsageError("the model's activations are networks (mlp), not knots");
  const auto K = record_.rank;
  const auto size = record_.activation_sizes.at(c);
  const auto n_knots = static_cast<Eigen::Index>(size / static_cast<std::uint64_t>(K));
  const float* theta = activation_params_.data() + record_.activation_offsets.at(c);
  H.resize(n_knots, K);
  times.resize(static_cast<std::size_t>(n_knots));
  for (Eigen::Index j = 0; j < n_knots; ++j) {
    times[static_cast<std::size_t>(j)] = static_cast<double>(j) * record_.knot_spacing;
    for (Eigen::Index k = 0; k < K; ++k) H(j, k) = nn::softplus(theta[j * K + k]);
  }
}

}  // namespace innmf::train
