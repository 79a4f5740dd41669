#include "innmf/train/export.hpp"

#include <cmath>
#include <fmt/format.h>

#include "innmf/core/error.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/io/hdf5.hpp"

namespace innmf::train {

void export_model(const TrainedModel& model, const ExportConfig& config, const std::string& output) {
  const auto& r = model.record();
  if (config.n_freqs < 2) throw UsageError(fmt::format("--n-freqs {}: must be at least 2", config.n_freqs));
  if (config.fmax < 0) throw UsageError(fmt::format("--fmax {}: must be ≥ 0 Hz", config.fmax));
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
  io::AtomicOutput atomic(output);
  const double fmax = config.fmax > 0 ? config.fmax : r.f_ref;
  std::vector<double> freqs(static_cast<std::size_t>(config.n_freqs));
  for (std::size_t i = 0; i < freqs.size(); ++i) freqs[i] = fmax * static_cast<double>(i) / (freqs.size() - 1);
  const auto W = model.templates_at(freqs);

  std::vector<double> all_times;
  std::vector<float> all_h;
  std::vector<std::uint64_t> offsets, counts;
  for (std::size_t c = 0; c < model.n_clips(); ++c) {
    std::vector<double> times;
    const auto n = static_cast<std::size_t>(std::floor(r.clip_durations[c] / step + 1e-9)) + 1;
    for (std::size_t j = 0; j < n; ++j) times.push_back(static_cast<double>(j) * step);
    const auto H = model.activations_at(c, times);
    offsets.push_back(all_times.size());
    counts.push_back(times.size());
    all_times.insert(all_times.end(), times.begin(), times.end());
    all_h.insert(all_h.end(), H.data(), H.data() + H.size());
  }

  auto file = io::h5::create_file(atomic.temporary_path());
  io::h5::write_attribute(file, "format", std::string("innmf.export"));
  io::h5::write_attribute(file, "format_version", std::int64_t{1});
  io::h5::write_attribute(file, "rank", r.rank);
  io::h5::write_attribute(file, "power", r.power);
  io::h5::write_attribute(file, "beta", r.beta);
  io::h5::write_attribute(file, "f_ref", r.f_ref);
  io::h5::write_attribute(file, "activations", r.activations);
  io::h5::write_attribute(file, "representation", r.representation_json);
  io::h5::write_attribute(file, "config", r.config_json);
  {
    auto templates = io::h5::create_group(file, "templates");
    io::h5::write_vector(templates, "freqs", freqs, "Hz");
    io::h5::write_matrix(templates, "W", std::vector<float>(W.data(), W.data() + W.size()),
                         static_cast<std::uint64_t>(W.rows()), static_cast<std::uint64_t>(W.cols()),
                         "magnitude^power");
    auto activations = io::h5::create_group(file, "activations");
    io::h5::write_strings(activations, "name", r.clip_names);
    io::h5::write_vector(activations, "offset", offsets, "rows");
    io::h5::write_vector(activations, "count", counts, "rows");
    io::h5::write_vector(activations, "times", all_times, "s");
    io::h5::write_matrix(activations, "H", all_h, all_times.size(), static_cast<std::uint64_t>(r.rank), "");
  }
  file.reset();
  atomic.commit();
}

}  // namespace innmf::train
