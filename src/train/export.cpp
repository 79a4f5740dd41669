#include "innmf/train/export.hpp"

#include <cmath>
#include <fmt/format.h>

#include "innmf/core/error.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/io/hdf5.hpp"

namespace innmf::train {

namespace {

/// What an export file holds, whatever kind of model it came from.
struct ExportData {
  std::int64_t rank = 0;
  double power = 0, beta = 0, f_ref = 0;
  std::string activations, representation_json, config_json;  ///< model attributes, copied
  std::vector<double> freqs;     ///< [n_freqs] Hz
  std::vector<float> W;          ///< [n_freqs × K] row-major
  std::vector<std::string> clip_names;
  std::vector<std::uint64_t> offsets, counts;  ///< per clip: rows of times/H
  std::vector<double> times;     ///< [rows] s from the clip's start
  std::vector<float> H;          ///< [rows × K] row-major
};

/// The model attributes every export carries, from an iN-NMF model's record or a classic
/// model's header (both name them alike).
template <typename Attributes>
void copy_attributes(ExportData& e, const Attributes& a) {
  e.rank = a.rank;
  e.power = a.power;
  e.beta = a.beta;
  e.f_ref = a.f_ref;
  e.representation_json = a.representation_json;
  e.config_json = a.config_json;
}

void write_export(const ExportData& e, const std::string& output) {
  io::AtomicOutput atomic(output);
  auto file = io::h5::create_file(atomic.temporary_path());
  io::h5::write_attribute(file, "format", std::string("innmf.export"));
  io::h5::write_attribute(file, "format_version", std::int64_t{1});
  io::h5::write_attribute(file, "rank", e.rank);
  io::h5::write_attribute(file, "power", e.power);
  io::h5::write_attribute(file, "beta", e.beta);
  io::h5::write_attribute(file, "f_ref", e.f_ref);
  io::h5::write_attribute(file, "activations", e.activations);
  io::h5::write_attribute(file, "representation", e.representation_json);
  io::h5::write_attribute(file, "config", e.config_json);
  {
    const auto rank = static_cast<std::uint64_t>(e.rank);
    auto templates = io::h5::create_group(file, "templates");
    io::h5::write_vector(templates, "freqs", e.freqs, "Hz");
    io::h5::write_matrix(templates, "W", e.W, e.freqs.size(), rank, "magnitude^power");
    auto activations = io::h5::create_group(file, "activations");
    io::h5::write_strings(activations, "name", e.clip_names);
    io::h5::write_vector(activations, "offset", e.offsets, "rows");
    io::h5::write_vector(activations, "count", e.counts, "rows");
    io::h5::write_vector(activations, "times", e.times, "s");
    io::h5::write_matrix(activations, "H", e.H, e.times.size(), rank, "");
  }
  file.reset();
  atomic.commit();
}

}  // namespace

void export_model(const TrainedModel& model, const ExportConfig& config, const std::string& output) {
  const auto& r = model.record();
  if (config.n_freqs < 2) throw UsageError(fmt::format("--n-freqs {}: must be at least 2", config.n_freqs));
  if (!(config.fmax >= 0) || !std::isfinite(config.fmax))
    throw UsageError(fmt::format("--fmax {}: must be a finite frequency ≥ 0 Hz (0: the highest the model was "
                                 "fitted at)",
                                 config.fmax));
  if (config.time_step < 0) throw UsageError(fmt::format("--time-step {}: must be ≥ 0 s", config.time_step));
  const double step = config.time_step > 0 ? config.time_step : (r.activations == "grid" ? r.knot_spacing : 0.01);
  // The size up front: a tiny --time-step would otherwise run for minutes and fill the disk.
  double values = static_cast<double>(config.n_freqs) * r.rank;
  for (const double duration : r.clip_durations) values += (std::floor(duration / step + 1e-9) + 1) * r.rank;
  constexpr double kMaxValues = 268435456;  // 2^28 floats: 1 GiB
  if (values > kMaxValues)
    throw UsageError(fmt::format("--time-step {} s, --n-freqs {}: the export would hold {:.3g} values ({:.1f} GB, "
                                 "at most {:.3g}); raise --time-step (the model's knots are {} s apart) or lower "
                                 "--n-freqs",
                                 step, config.n_freqs, values, values * 4 / 1e9, kMaxValues, r.knot_spacing));
  io::require_writable_path(output, "-o");
  ExportData e;
  copy_attributes(e, r);
  e.activations = r.activations;
  // By default up to the highest frequency the templates were fitted at (a CQT's top centre, the
  // highest peak of sines; an STFT's Nyquist): above it the networks are unconstrained.
  const double fmax = config.fmax > 0 ? config.fmax : !r.training_freqs.empty() ? r.training_freqs.back() : r.f_ref;
  e.freqs.resize(static_cast<std::size_t>(config.n_freqs));
  for (std::size_t i = 0; i < e.freqs.size(); ++i) e.freqs[i] = fmax * static_cast<double>(i) / (e.freqs.size() - 1);
  const auto W = model.templates_at(e.freqs);
  e.W.assign(W.data(), W.data() + W.size());
  e.clip_names = r.clip_names;
  for (std::size_t c = 0; c < model.n_clips(); ++c) {
    std::vector<double> times;
    const auto n = static_cast<std::size_t>(std::floor(r.clip_durations[c] / step + 1e-9)) + 1;
    for (std::size_t j = 0; j < n; ++j) times.push_back(static_cast<double>(j) * step);
    const auto H = model.activations_at(c, times);
    e.offsets.push_back(e.times.size());
    e.counts.push_back(times.size());
    e.times.insert(e.times.end(), times.begin(), times.end());
    e.H.insert(e.H.end(), H.data(), H.data() + H.size());
  }
  write_export(e, output);
}

void export_classic_model(const io::ClassicModel& model, const std::string& output) {
  const auto& h = model.header;
  const auto K = static_cast<Eigen::Index>(h.rank);
  ExportData e;
  copy_attributes(e, h);
  e.activations = "frames";
  e.freqs.assign(model.freqs.begin(), model.freqs.end());
  e.W.reserve(static_cast<std::size_t>(model.W.size()));
  for (Eigen::Index i = 0; i < model.W.rows(); ++i)
    for (Eigen::Index k = 0; k < K; ++k) e.W.push_back(model.W(i, k));
  // One clip per source file, its frames' times from the file's start.
  const auto n_frames = static_cast<std::uint64_t>(model.H.cols());
  for (std::size_t s = 0; s < model.sources.size(); ++s) {
    const std::uint64_t first = model.first_frame[s];
    const std::uint64_t end = s + 1 < model.sources.size() ? model.first_frame[s + 1] : n_frames;
    e.clip_names.push_back(model.sources[s]);
    e.offsets.push_back(first);
    e.counts.push_back(end - first);
    for (std::uint64_t j = first; j < end; ++j) {
      e.times.push_back(static_cast<double>(model.times[j]) - static_cast<double>(model.times[first]));
      for (Eigen::Index k = 0; k < K; ++k) e.H.push_back(model.H(k, static_cast<Eigen::Index>(j)));
    }
  }
  write_export(e, output);
}

}  // namespace innmf::train
