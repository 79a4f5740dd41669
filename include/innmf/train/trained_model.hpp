#pragma once
// A trained iN-NMF model, loaded from its file, ready to evaluate: templates at any
// frequencies (what reconstruction and separation need) and the stored activations.

#include <memory>
#include <string>
#include <vector>

#include "innmf/io/innmf_model_file.hpp"
#include "innmf/model/fields.hpp"

namespace innmf::train {

class TrainedModel {
 public:
  explicit TrainedModel(io::InnmfModelRecord record);
  /// Reads and checks `path` (InputError naming it).
  static TrainedModel load(const std::string& path);

  const io::InnmfModelRecord& record() const { return record_; }
  int rank() const { return static_cast<int>(record_.rank); }

  /// W at `freqs` [Hz]: (n, K), non-negative.
  model::RowMatrix<float> templates_at(const std::vector<double>& freqs) const;

  /// H of clip `c` (in the model's clip order) at `times` [s]: (n, K), either kind.
  model::RowMatrix<float> activations_at(std::size_t c, const std::vector<double>& times) const;
  std::size_t n_clips() const { return record_.clip_names.size(); }

  /// Grid activations of clip `c` at its knots: times [s] (j · knot_spacing) and H (n_knots, K).
  /// Throws UsageError for mlp activations (they are networks: sample them with activations_at).
  void knot_activations(std::size_t c, std::vector<double>& times, model::RowMatrix<float>& H) const;

 private:
  io::InnmfModelRecord record_;
  nn::ParameterBuffer<float> template_params_;    ///< aligned copy of record_.template_params
  nn::ParameterBuffer<float> activation_params_;  ///< aligned copy of record_.activation_params
  std::unique_ptr<model::NeuralField<float>> templates_;
};

}  // namespace innmf::train
