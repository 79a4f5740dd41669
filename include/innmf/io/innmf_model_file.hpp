#pragma once
// The iN-NMF model file (DESIGN.md §5), HDF5, kind "innmf" of the "innmf.model" format:
//
//   /                       attrs: format = "innmf.model", format_version = 1, kind = "innmf",
//                                  rank, power, beta, l1, f_ref [Hz], sample_rate [Hz],
//                                  architecture, activations, hidden, layers, n_fourier,
//                                  knot_spacing [s], seed, epochs, representation (JSON),
//                                  config (JSON), created_by
//   /templates/params       [n] float32, the template network's flat parameter buffer
//   /templates/phases       [n_fourier] float64, rad: the Fourier-feature phases b_j
//                           attr layout (JSON): where each layer's weights sit in params
//   /templates/training_freqs [n_freqs] float64, Hz: the sorted unique frequencies U_f of all
//                           training points (snapped by --f-quantum), where the networks were
//                           fitted; optional (files written before it lack it)
//   /activations/name       [clips] string, /activations/duration [clips] float64 s
//   /activations/offset     [clips] uint64, /activations/size [clips] uint64
//   /activations/params     [m] float32: per clip, grid knots θ (n_knots, K) row-major (H =
//                           softplus(θ) at t = j·knot_spacing), or an mlp's flat parameters
//   /activations/phases     [clips, n_fourier] float64 (mlp activations only)
//   /training/loss          [epochs] float64, the full-batch loss before each update

#include <cstdint>
#include <string>
#include <vector>

namespace innmf::io {

inline constexpr const char* kModelFormat = "innmf.model";
inline constexpr std::int64_t kModelFormatVersion = 1;

struct InnmfModelRecord {
  // Hyper-parameters (model::ModelConfig, spelled out so that io does not depend on model).
  std::int64_t rank = 0;
  double power = 0.5, beta = 1.0, l1 = 0.0;
  double f_ref = 0, sample_rate = 0;
  std::string architecture, activations;
  std::int64_t hidden = 0, layers = 0, n_fourier = 0;
  double knot_spacing = 0;
  std::uint64_t seed = 0;
  std::string representation_json, config_json;
  // Parameters.
  std::vector<float> template_params;
  std::vector<double> template_phases;
  std::string template_layout_json;
  /// U_f [Hz], increasing: the frequencies the networks were fitted at (the union of every
  /// clip's, over all ranks). Empty when the file predates the dataset.
  std::vector<double> training_freqs;
  std::vector<std::string> clip_names;
  std::vector<double> clip_durations;
  std::vector<std::uint64_t> activation_offsets, activation_sizes;
  std::vector<float> activation_params;
  std::vector<double> activation_phases;  ///< clips × n_fourier, mlp activations only
  std::vector<double> loss_curve;
};

void write_innmf_model(const std::string& path, const InnmfModelRecord& record);
/// Throws InputError naming the file if it is not an iN-NMF model of this format version.
InnmfModelRecord read_innmf_model(const std::string& path);

}  // namespace innmf::io
