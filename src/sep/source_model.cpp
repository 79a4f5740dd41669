#include "innmf/sep/source_model.hpp"

#include <fmt/format.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/train/trained_model.hpp"

namespace innmf::sep {
namespace {

/// The model's representation attribute as a JSON object (an empty object if it is not one).
nlohmann::json representation_of(const io::ModelHeader& header) {
  auto representation = nlohmann::json::parse(header.representation_json, nullptr, false);
  return representation.is_object() ? representation : nlohmann::json::object();
}

}  // namespace

SourceModel SourceModel::load(const std::string& path) {
  const io::ModelFile file(path);
  SourceModel model;
  model.path_ = path;
  model.header_ = file.header();
  if (file.kind() == io::kClassicModelKind)
    model.classic_ = std::make_shared<const io::ClassicModel>(file.read_classic());
  else
    model.neural_ = std::make_shared<const train::TrainedModel>(train::TrainedModel::load(path));
  return model;
}

std::string SourceModel::stem() const { return std::filesystem::path(path_).stem().string(); }

model::classic::Matrix SourceModel::templates_at_bins(int n_fft, double sample_rate) const {
  if (classic_) {
    model::classic::require_same_bins({classic_->n_fft, classic_->header.sample_rate}, {n_fft, sample_rate});
    return classic_->W;
  }
  const int n_bins = n_fft / 2 + 1;
  std::vector<double> freqs(static_cast<std::size_t>(n_bins));
  for (int k = 0; k < n_bins; ++k) freqs[static_cast<std::size_t>(k)] = k * sample_rate / n_fft;
  const auto W = neural_->templates_at(freqs);  // (n_bins, K) row-major
  return W;                                     // Eigen converts to column-major
}

std::string SourceModel::trained_window() const {
  return representation_of(header_).value("window", std::string());
}

int SourceModel::trained_n_fft() const {
  const auto representation = representation_of(header_);
  if (representation.value("kind", std::string()) != "stft") return 0;
  return representation.value("n_fft", 0);
}

std::string choose_window(const std::vector<SourceModel>& models, const std::string& requested) {
  std::string trained;
  for (const auto& model : models) {
    const auto window = model.trained_window();
    if (window.empty()) continue;
    if (trained.empty()) {
      trained = window;
    } else if (window != trained) {
      log::warn("{} was trained with the {} window but an earlier model with {}: analysing with "
                "{} (give --window to choose)",
                model.path(), window, trained, requested.empty() ? trained : requested);
      break;
    }
  }
  if (requested.empty()) return trained.empty() ? "sqrt-hann" : trained;
  if (!trained.empty() && trained != requested)
    log::warn("--window {} differs from the {} window the model was trained with: magnitudes "
              "scale differently, expect a worse fit",
              requested, trained);
  return requested;
}

}  // namespace innmf::sep
