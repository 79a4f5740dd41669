#include "innmf/io/innmf_model_file.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>

#include "innmf/core/error.hpp"
#include "innmf/io/hdf5.hpp"

namespace innmf::io {

void write_innmf_model(const std::string& path, const InnmfModelRecord& r) {
  auto file = h5::create_file(path);
  h5::write_attribute(file, "format", std::string(kModelFormat));
  h5::write_attribute(file, "format_version", kModelFormatVersion);
  h5::write_attribute(file, "kind", std::string("innmf"));
  h5::write_attribute(file, "rank", r.rank);
  h5::write_attribute(file, "power", r.power);
  h5::write_attribute(file, "beta", r.beta);
  h5::write_attribute(file, "l1", r.l1);
  h5::write_attribute(file, "f_ref", r.f_ref);
  h5::write_attribute(file, "sample_rate", r.sample_rate);
  h5::write_attribute(file, "architecture", r.architecture);
  h5::write_attribute(file, "activations", r.activations);
  h5::write_attribute(file, "hidden", r.hidden);
  h5::write_attribute(file, "layers", r.layers);
  h5::write_attribute(file, "n_fourier", r.n_fourier);
  h5::write_attribute(file, "knot_spacing", r.knot_spacing);
  h5::write_attribute(file, "seed", static_cast<std::int64_t>(r.seed));
  h5::write_attribute(file, "epochs", static_cast<std::int64_t>(r.loss_curve.size()));
  h5::write_attribute(file, "representation", r.representation_json);
  h5::write_attribute(file, "config", r.config_json);
  h5::write_attribute(file, "created_by", std::string("innmf " INNMF_VERSION));

  auto templates = h5::create_group(file, "templates");
  h5::write_vector(templates, "params", r.template_params, "network parameters");
  h5::write_vector(templates, "phases", r.template_phases, "rad");
  h5::write_attribute(templates, "layout", r.template_layout_json);
  if (!r.training_freqs.empty()) h5::write_vector(templates, "training_freqs", r.training_freqs, "Hz");

  auto activations = h5::create_group(file, "activations");
  h5::write_strings(activations, "name", r.clip_names);
  h5::write_vector(activations, "duration", r.clip_durations, "s");
  h5::write_vector(activations, "offset", r.activation_offsets, "parameters");
  h5::write_vector(activations, "size", r.activation_sizes, "parameters");
  h5::write_vector(activations, "params", r.activation_params,
                   r.activations == "grid" ? "softplus^-1 of activations at knots" : "network parameters");
  if (!r.activation_phases.empty()) h5::write_vector(activations, "phases", r.activation_phases, "rad");

  auto training = h5::create_group(file, "training");
  h5::write_vector(training, "loss", r.loss_curve,
                   "per epoch: mean beta-divergence per point, plus l1 times the sum of the activations when the "
                   "l1 attribute is above 0");
}

InnmfModelRecord read_innmf_model(const std::string& path) {
  if (!h5::is_hdf5_file(path)) {
    if (!std::filesystem::exists(path)) throw InputError(fmt::format("{}: no such file: check the path", path));
    throw InputError(fmt::format("{}: not an HDF5 file: give a model written by `innmf train`", path));
  }
  InnmfModelRecord r;
  try {
    auto file = h5::open_file_read(path, "retrain it or restore a copy");
    const auto format = h5::has_attribute(file, "format") ? h5::read_string_attribute(file, "format") : "";
    if (format != kModelFormat)
      throw InputError(fmt::format("is {} file, not a model: give a file written by `innmf train`",
                                   format.empty() ? "not an innmf" : "an '" + format + "'"));
    const auto version = h5::read_int_attribute(file, "format_version");
    if (version != kModelFormatVersion)
      throw InputError(fmt::format("model format version {}, this innmf reads version {}", version,
                                   kModelFormatVersion));
    const auto kind = h5::read_string_attribute(file, "kind");
    if (kind != "innmf")
      throw InputError(fmt::format("is a '{}' model, expected an iN-NMF model from `innmf train`", kind));
    r.rank = h5::read_int_attribute(file, "rank");
    r.power = h5::read_double_attribute(file, "power");
    r.beta = h5::read_double_attribute(file, "beta");
    r.l1 = h5::read_double_attribute(file, "l1");
    r.f_ref = h5::read_double_attribute(file, "f_ref");
    r.sample_rate = h5::read_double_attribute(file, "sample_rate");
    r.architecture = h5::read_string_attribute(file, "architecture");
    r.activations = h5::read_string_attribute(file, "activations");
    r.hidden = h5::read_int_attribute(file, "hidden");
    r.layers = h5::read_int_attribute(file, "layers");
    r.n_fourier = h5::read_int_attribute(file, "n_fourier");
    r.knot_spacing = h5::read_double_attribute(file, "knot_spacing");
    r.seed = static_cast<std::uint64_t>(h5::read_int_attribute(file, "seed"));
    r.representation_json = h5::read_string_attribute(file, "representation");
    r.config_json = h5::read_string_attribute(file, "config");
    auto templates = h5::open_group(file, "templates");
    r.template_params = h5::read_vector<float>(templates, "params");
    r.template_phases = h5::read_vector<double>(templates, "phases");
    r.template_layout_json = h5::read_string_attribute(templates, "layout");
    // Optional: models written before it was recorded are still version 1 (nothing else changed).
    if (h5::exists(templates, "training_freqs"))
      r.training_freqs = h5::read_vector<double>(templates, "training_freqs");
    auto activations = h5::open_group(file, "activations");
    r.clip_names = h5::read_strings(activations, "name");
    r.clip_durations = h5::read_vector<double>(activations, "duration");
    r.activation_offsets = h5::read_vector<std::uint64_t>(activations, "offset");
    r.activation_sizes = h5::read_vector<std::uint64_t>(activations, "size");
    r.activation_params = h5::read_vector<float>(activations, "params");
    if (h5::exists(activations, "phases")) r.activation_phases = h5::read_vector<double>(activations, "phases");
    r.loss_curve = h5::read_vector<double>(h5::open_group(file, "training"), "loss");
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path, e.what()));
  }
  if (static_cast<std::int64_t>(r.template_phases.size()) != r.n_fourier || r.rank < 1)
    throw InputError(fmt::format("{}: inconsistent model (rank {}, {} phases for n_fourier {})", path,
                                 r.rank, r.template_phases.size(), r.n_fourier));
  // A NaN weight makes every template NaN downstream, where the error would blame the fit.
  const auto finite = [](const auto& values) {
    return std::all_of(values.begin(), values.end(), [](auto v) { return std::isfinite(v); });
  };
  for (const auto& [values_finite, dataset] :
       {std::pair{finite(r.template_params), "/templates/params"}, {finite(r.template_phases), "/templates/phases"},
        {finite(r.activation_params), "/activations/params"}, {finite(r.activation_phases), "/activations/phases"}})
    if (!values_finite)
      throw InputError(fmt::format("{}: {} holds NaN or infinite values: the model is corrupt; retrain it or "
                                   "restore a copy",
                                   path, dataset));
  if (!std::is_sorted(r.training_freqs.begin(), r.training_freqs.end()) ||
      std::adjacent_find(r.training_freqs.begin(), r.training_freqs.end()) != r.training_freqs.end() ||
      std::any_of(r.training_freqs.begin(), r.training_freqs.end(), [](double f) { return !std::isfinite(f); }))
    throw InputError(fmt::format("{}: /templates/training_freqs is not increasing and finite: regenerate "
                                 "the model",
                                 path));
  return r;
}

}  // namespace innmf::io
