#include "innmf/train/trainer.hpp"

#include <csignal>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/corpus/inputs.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/io/innmf_model_file.hpp"
#include "innmf/io/point_file.hpp"
#include "innmf/model/points.hpp"
#include "innmf/tf/representation.hpp"
#include "innmf/tf/sines.hpp"
#include "innmf/train/checkpoint.hpp"

namespace innmf::train {
namespace {

using json = nlohmann::json;

/// One clip of the corpus: where it is and how big.
struct ClipRef {
  std::size_t file = 0, index = 0;
  std::uint64_t count = 0;
};

struct CorpusPlan {
  std::vector<ClipRef> clips;
  std::string representation_json;
  double sample_rate = 0;  ///< Hz (the highest over the files)
  double knot_spacing = 0;  ///< s, tf::default_knot_spacing of the files (an STFT's hop, …); 0 if unknown
  std::uint64_t max_grid_freqs = 0;
};

/// "stft n_fft 1024 at 8000 Hz" from a point file's representation attribute (its kind alone
/// when the fields are missing, the JSON itself when it is not JSON).
std::string representation_summary(const std::string& representation_json) {
  const auto j = json::parse(representation_json, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("kind")) return representation_json;
  std::string summary = j.value("kind", std::string("?"));
  if (j.contains("n_fft")) summary += fmt::format(" n_fft {}", j.at("n_fft").dump());
  if (j.contains("sample_rate")) summary += fmt::format(" at {} Hz", j.at("sample_rate").dump());
  return summary;
}

CorpusPlan plan_corpus(const std::vector<std::string>& files) {
  corpus::refuse_repeated_files(files);  // (one file twice would weigh its points double)
  CorpusPlan plan;
  std::vector<std::string> file_representations;
  for (std::size_t f = 0; f < files.size(); ++f) {
    const io::PointFile file(files[f]);
    if (file.total_points() == 0)
      throw InputError(fmt::format("{}: holds no points: regenerate it with `innmf features`", files[f]));
    if (f == 0) {
      plan.representation_json = file.header().representation_json;
    } else if (file.header().representation_json != file_representations.front()) {
      log::warn("{} and {} hold different representations ({} and {}): their magnitudes need not share a "
                "scale, and the model records them as the parts of one hybrid; for one model of several "
                "representations write them into one file with `innmf features --repr PART,PART` "
                "(amplitude-normalised parts)",
                files.front(), files[f], representation_summary(file_representations.front()),
                representation_summary(file.header().representation_json));
    }
    file_representations.push_back(file.header().representation_json);
    for (std::size_t c = 0; c < file.clips().size(); ++c) {
      const auto& clip = file.clips()[c];
      if (clip.count == 0) {  // e.g. peaks of a silent clip: nothing to fit
        log::warn("{}: clip {} has no points: left out of the model", files[f], clip.name);
        continue;
      }
      plan.clips.push_back({f, c, clip.count});
      plan.sample_rate = std::max(plan.sample_rate, clip.sample_rate);
      plan.max_grid_freqs = std::max(plan.max_grid_freqs, clip.n_freqs);
    }
    // Default knot spacing of grid activations, from the data (tf::default_knot_spacing: an
    // STFT's hop, a CQT's or wavelet's middle bin's hop). The smallest over the files.
    const double spacing =
        tf::default_knot_spacing(json::parse(file.header().representation_json, nullptr, false));
    if (spacing > 0) plan.knot_spacing = plan.knot_spacing == 0 ? spacing : std::min(plan.knot_spacing, spacing);
  }
  // Files of several representations (another STFT size, another sample rate): the model records
  // every distinct part, as a hybrid, so that separation knows each band and size it was trained on.
  std::vector<json> parts;
  for (const auto& text : file_representations) {
    const auto representation = json::parse(text, nullptr, false);
    if (representation.is_discarded() || !representation.is_object()) return plan;  // (the first is kept)
    for (const auto& part : tf::representation_parts(representation))
      if (std::find(parts.begin(), parts.end(), part) == parts.end()) parts.push_back(part);
  }
  if (parts.size() > 1 && std::any_of(file_representations.begin(), file_representations.end(),
                                      [&](const std::string& text) { return text != file_representations.front(); }))
    plan.representation_json = json{{"kind", "hybrid"}, {"parts", parts}}.dump();
  return plan;
}

std::string plan_to_json(const CorpusPlan& plan) {
  json clips = json::array();
  for (const auto& c : plan.clips) clips.push_back({c.file, c.index, c.count});
  return json{{"clips", clips}, {"representation", plan.representation_json}, {"sample_rate", plan.sample_rate},
              {"knot_spacing", plan.knot_spacing}, {"max_grid_freqs", plan.max_grid_freqs}}
      .dump();
}

CorpusPlan plan_from_json(const std::string& text) {
  const auto j = json::parse(text);
  CorpusPlan plan;
  for (const auto& c : j.at("clips")) plan.clips.push_back({c.at(0), c.at(1), c.at(2)});
  plan.representation_json = j.at("representation");
  plan.sample_rate = j.at("sample_rate");
  plan.knot_spacing = j.at("knot_spacing");
  plan.max_grid_freqs = j.at("max_grid_freqs");
  return plan;
}

/// Writes the per-epoch JSON lines (rank 0 only). A fresh run (`resumed_epoch` 0) starts the
/// file afresh. A run resumed from a checkpoint of epoch `resumed_epoch` appends to it, after
/// dropping the lines past that epoch (logged by a run killed or preempted after its last
/// checkpoint; the resumed run repeats those epochs) and any partial line, the file rewritten
/// atomically: the file of a preempted and resumed run holds every epoch exactly once, in
/// order. A file that does not exist yet starts at the resumed run's first epoch.
class MetricsLog {
 public:
  MetricsLog(const std::string& path, int resumed_epoch) {
    if (path.empty()) return;
    if (resumed_epoch > 0) keep_through(path, resumed_epoch);
    out_ = std::make_unique<std::ofstream>(path, resumed_epoch > 0 ? std::ios::app : std::ios::trunc);
    if (!*out_) throw UsageError(fmt::format("--metrics {}: cannot create the file", path));
  }
  void write(const json& line) {
    if (out_) *out_ << line.dump() << '\n' << std::flush;
  }

 private:
  static void keep_through(const std::string& path, int last_epoch) {
    std::ifstream in(path);
    if (!in) return;
    std::string kept, line;
    std::size_t dropped = 0;
    while (std::getline(in, line)) {
      const auto j = json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("epoch") && j["epoch"].is_number_integer() &&
          j["epoch"].get<long long>() <= last_epoch)
        kept += line + '\n';
      else
        ++dropped;
    }
    in.close();
    if (dropped == 0) return;
    io::AtomicOutput atomic(path, "--metrics");
    {
      std::ofstream out(atomic.temporary_path(), std::ios::trunc);
      out << kept << std::flush;
      if (!out) throw InputError(fmt::format("--metrics {}: cannot rewrite it: is the disk full?", path));
    }
    atomic.commit();
    log::info("--metrics {}: dropped {} line{} past the checkpoint's epoch {}", path, dropped,
              dropped == 1 ? "" : "s", last_epoch);
  }

  std::unique_ptr<std::ofstream> out_;
};

/// Set by SIGTERM/SIGUSR1 (Slurm's --signal, preemption) and by a first SIGINT (Ctrl-C); read
/// once per epoch and agreed on in the all-reduce, so that every rank stops after the same epoch.
volatile std::sig_atomic_t g_stop_requested = 0;
extern "C" void request_stop(int) { g_stop_requested = 1; }
/// SIGINT's handler before training took it: io's cleanup of temporary files, or the default.
void (*g_previous_interrupt)(int) = SIG_DFL;
/// Ctrl-C: the first stops after the epoch with a checkpoint; the handler then gives SIGINT back
/// to the previous handler, so that a second Ctrl-C quits at once (removing temporary files).
/// (signal() is async-signal-safe.)
extern "C" void request_stop_interactive(int) {
  g_stop_requested = 1;
  std::signal(SIGINT, g_previous_interrupt);
}

/// Installs the handlers for its lifetime. SIGINT keeps being ignored where it was (a
/// background job of a non-interactive shell must not stop on its parent's Ctrl-C).
class StopSignals {
 public:
  StopSignals() {
    g_stop_requested = 0;
    io::install_signal_cleanup();  // so that the handlers replaced here, and restored, are the cleanup ones
    previous_term_ = std::signal(SIGTERM, request_stop);
    previous_usr1_ = std::signal(SIGUSR1, request_stop);
    previous_int_ = std::signal(SIGINT, SIG_IGN);
    g_previous_interrupt = previous_int_;
    if (previous_int_ != SIG_IGN) std::signal(SIGINT, request_stop_interactive);
  }
  ~StopSignals() {
    std::signal(SIGTERM, previous_term_);
    std::signal(SIGUSR1, previous_usr1_);
    std::signal(SIGINT, previous_int_);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  void (*previous_term_)(int);
  void (*previous_usr1_)(int);
  void (*previous_int_)(int);
};

/// What must match between a checkpoint and the run that resumes from it.
std::string compatibility_json(const TrainConfig& config, const model::ModelConfig& m,
                               const std::vector<std::string>& files, const CorpusPlan& plan,
                               std::uint64_t content_digest) {
  json points = json::array();
  for (const auto& file : files) points.push_back(std::filesystem::path(file).filename().string());
  json compatibility{{"model", {{"rank", m.rank}, {"architecture", nn::architecture_name(m.architecture)},
                                {"hidden", m.hidden}, {"layers", m.layers}, {"n_fourier", m.n_fourier},
                                {"activations", model::activation_kind_name(m.activations)},
                                {"knot_spacing", m.knot_spacing}, {"f_ref", m.f_ref}, {"power", m.power},
                                {"beta", m.beta}, {"l1", m.l1_activations}, {"seed", m.seed}}},
                     {"optimizer", optimizer_name(config.optimizer)}, {"lr", config.lr},
                     {"f_quantum", config.f_quantum}, {"point_files", points},
                     {"clips", plan.clips.size()},
                     {"points", [&] {
                        std::uint64_t n = 0;
                        for (const auto& c : plan.clips) n += c.count;
                        return n;
                      }()},
                     {"representation", plan.representation_json},
                     {"content", fmt::format("{:016x}", content_digest)}};
  // Only when not the default, so that checkpoints written before the option existed still resume.
  if (config.activation_update != ActivationUpdate::gradient)
    compatibility["activation_update"] = activation_update_name(config.activation_update);
  return compatibility.dump();
}

/// Every clip's activation-parameter count, in global clip order, on every rank.
std::vector<std::uint64_t> global_activation_sizes(const mpi::Comm& comm, const model::InnmfModel<float>& model,
                                                   const std::vector<std::size_t>& global_index, std::size_t n_global) {
  std::vector<std::uint64_t> sizes(n_global, 0);
  for (std::size_t c = 0; c < global_index.size(); ++c) sizes[global_index[c]] = model.activation_size(c);
  comm.allreduce_sum(sizes.data(), sizes.size());
  return sizes;
}

/// Collective: a rank-local per-clip buffer (laid out like activation_params) gathered on rank 0
/// in global clip order (empty elsewhere).
std::vector<float> gather_by_clip(const mpi::Comm& comm, const model::InnmfModel<float>& model,
                                  const float* local, const std::vector<int>& owner,
                                  const std::vector<std::size_t>& global_index) {
  constexpr int kTagSize = 21, kTagValues = 22;
  std::vector<std::size_t> position(owner.size(), 0);
  for (std::size_t c = 0; c < global_index.size(); ++c) position[global_index[c]] = c;
  std::vector<float> global;
  for (std::size_t g = 0; g < owner.size(); ++g) {
    const int source = owner[g];
    std::vector<float> values;
    if (source == comm.rank()) {
      const auto c = position[g];
      const float* begin = local + model.activation_offset(c);
      values.assign(begin, begin + static_cast<std::ptrdiff_t>(model.activation_size(c)));
      if (!comm.is_root()) {
        const std::uint64_t size = values.size();
        comm.send(&size, 1, 0, kTagSize);
        comm.send(values.data(), values.size(), 0, kTagValues);
      }
    } else if (comm.is_root()) {
      std::uint64_t size = 0;
      comm.receive(&size, 1, source, kTagSize);
      values.resize(size);
      comm.receive(values.data(), size, source, kTagValues);
    }
    if (comm.is_root()) global.insert(global.end(), values.begin(), values.end());
  }
  return global;
}

/// The inverse for resuming: every rank takes its clips' slices out of a global buffer.
void scatter_by_clip(const model::InnmfModel<float>& model, const std::vector<float>& global,
                     const std::vector<std::uint64_t>& global_sizes, const std::vector<std::size_t>& global_index,
                     float* local) {
  std::vector<std::uint64_t> global_offset(global_sizes.size() + 1, 0);
  for (std::size_t g = 0; g < global_sizes.size(); ++g) global_offset[g + 1] = global_offset[g] + global_sizes[g];
  if (global.size() != global_offset.back())
    throw InputError(fmt::format("checkpoint holds {} activation values, this run needs {}", global.size(),
                                 global_offset.back()));
  for (std::size_t c = 0; c < global_index.size(); ++c) {
    const auto from = global.begin() + static_cast<std::ptrdiff_t>(global_offset[global_index[c]]);
    std::copy(from, from + static_cast<std::ptrdiff_t>(model.activation_size(c)),
              local + model.activation_offset(c));
  }
}

void broadcast_floats(const mpi::Comm& comm, std::vector<float>& values) {
  std::uint64_t n = values.size();
  comm.broadcast(&n, 1);
  values.resize(n);
  comm.broadcast(values.data(), n);
}

void broadcast_doubles(const mpi::Comm& comm, std::vector<double>& values) {
  std::uint64_t n = values.size();
  comm.broadcast(&n, 1);
  values.resize(n);
  comm.broadcast(values.data(), n);
}

/// Collective: the union of every rank's unique frequencies [Hz], sorted: the one U_f at which
/// every rank evaluates the template networks (a rank's own set may lack frequencies of other
/// ranks' clips, e.g. scattered points).
/// Sinusoidal peaks sit at continuous frequencies, so U_f grows with the audio (60 s of piano:
/// 236,000) and every epoch runs the template networks at each one: ~20× the time an STFT's
/// few thousand bins take. Rounding to 1 Hz (far below any template's detail) bounds U_f by the
/// Nyquist frequency in Hz; say so when it would at least halve the work. Every rank holds the
/// same U_f, and only rank 0 logs.
void warn_about_continuous_frequencies(const std::vector<double>& unique_freqs, double f_quantum) {
  constexpr std::size_t kManyFrequencies = 10000;
  if (f_quantum > 0 || unique_freqs.size() < kManyFrequencies) return;
  std::size_t rounded = 0;
  double last = -1;
  for (double f : unique_freqs) {  // increasing, so equal roundings are adjacent
    const double r = std::round(f);
    rounded += r != last;
    last = r;
  }
  if (2 * rounded > unique_freqs.size()) return;
  log::warn("{} distinct frequencies (continuous, as sinusoidal peaks are): every epoch runs the template "
            "networks at each; --f-quantum 1 rounds them to whole Hz, {} frequencies, {:.0f}× less of that work",
            unique_freqs.size(), rounded, static_cast<double>(unique_freqs.size()) / static_cast<double>(rounded));
}

std::vector<double> global_unique_frequencies(const mpi::Comm& comm, const std::vector<double>& local) {
  if (comm.size() == 1) return local;
  std::vector<std::uint64_t> sizes(static_cast<std::size_t>(comm.size()), 0);
  sizes[static_cast<std::size_t>(comm.rank())] = local.size();
  comm.allreduce_sum(sizes.data(), sizes.size());
  const std::vector<std::size_t> counts(sizes.begin(), sizes.end());
  std::size_t offset = 0, total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    if (r < static_cast<std::size_t>(comm.rank())) offset += counts[r];
    total += counts[r];
  }
  std::vector<double> all(total);
  std::copy(local.begin(), local.end(), all.begin() + static_cast<std::ptrdiff_t>(offset));
  comm.allgatherv(all.data(), counts);
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  return all;
}

/// The template field split across ranks by network (DESIGN.md §2; per-component templates on
/// more than one rank): rank r owns the contiguous block of networks [first, last) (balanced;
/// none when ranks > K), evaluates and back-propagates only those at the global U_f, and steps
/// the optimizer only on their parameters (network k's are contiguous in the flat buffer). Per
/// step, W at U_f (|U_f|·K floats) is all-gathered; the all-reduce then carries ∂L/∂W at U_f.
/// Parameters and optimizer state of all networks are gathered on every rank only for
/// checkpoints and the model file. `shared` templates (one trunk) and single-rank runs are not
/// split: every rank owns every network and nothing is exchanged but the all-reduce.
class TemplateSplit {
 public:
  TemplateSplit(const mpi::Comm& comm, const model::InnmfModel<float>& model)
      : comm_(comm),
        active_(comm.size() > 1 && model.config().architecture == nn::Architecture::per_component),
        network_size_(model.template_network_size()) {
    const int n = model.n_template_networks();
    for (int r = 0; r < comm.size(); ++r) {
      const int first = active_ ? static_cast<int>(static_cast<long>(n) * r / comm.size()) : 0;
      const int last = active_ ? static_cast<int>(static_cast<long>(n) * (r + 1) / comm.size()) : n;
      blocks_.push_back({first, last});
    }
  }
  bool active() const { return active_; }
  int first() const { return blocks_[static_cast<std::size_t>(comm_.rank())].first; }
  int last() const { return blocks_[static_cast<std::size_t>(comm_.rank())].last; }
  /// This rank's range of the template parameter buffer.
  std::size_t parameter_begin() const { return static_cast<std::size_t>(first()) * network_size_; }
  std::size_t parameter_end() const { return static_cast<std::size_t>(last()) * network_size_; }

  /// Collective (when active): W (|U_f|, K; one column per network) complete on every rank,
  /// from each network's owner. Bytes sent by this rank: its columns, 4·|U_f| each.
  void complete_templates(nn::RowMatrix<float>& W) {
    if (!active_) return;
    const auto n_freqs = static_cast<std::size_t>(W.rows()), K = static_cast<std::size_t>(W.cols());
    exchange_.resize(n_freqs * K);  // (K, |U_f|): network-major, so that every rank's block is contiguous
    for (int k = first(); k < last(); ++k)
      for (std::size_t i = 0; i < n_freqs; ++i)
        exchange_[static_cast<std::size_t>(k) * n_freqs + i] = W(static_cast<Eigen::Index>(i), k);
    comm_.allgatherv(exchange_.data(), counts(n_freqs));
    for (std::size_t i = 0; i < n_freqs; ++i)
      for (std::size_t k = 0; k < K; ++k)
        W(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(k)) = exchange_[k * n_freqs + i];
  }

  /// Collective (when active): the parameters and per-parameter optimizer state of every
  /// network on every rank, from their owners (for a checkpoint or the model file).
  void gather_parameters(nn::ParameterBuffer<float>& params, Optimizer& optimizer) const {
    if (!active_) return;
    const auto c = counts(network_size_);
    comm_.allgatherv(params.data(), c);
    for (auto* state : optimizer.per_parameter_state()) comm_.allgatherv(state->data(), c);
  }

 private:
  struct Block {
    int first, last;
  };
  /// Per rank: its networks × `per_network` values.
  std::vector<std::size_t> counts(std::size_t per_network) const {
    std::vector<std::size_t> c;
    for (const auto& b : blocks_) c.push_back(static_cast<std::size_t>(b.last - b.first) * per_network);
    return c;
  }

  const mpi::Comm& comm_;
  bool active_;
  std::size_t network_size_;
  std::vector<Block> blocks_;
  std::vector<float> exchange_;
};

}  // namespace

ActivationUpdate parse_activation_update(const std::string& name) {
  if (name == "gradient") return ActivationUpdate::gradient;
  if (name == "multiplicative") return ActivationUpdate::multiplicative;
  throw UsageError(fmt::format("--activation-update {}: use gradient (the --optimizer, the paper's) or "
                               "multiplicative (classic NMF's exact update; grid activations)",
                               name));
}

std::string activation_update_name(ActivationUpdate update) {
  return update == ActivationUpdate::gradient ? "gradient" : "multiplicative";
}

void validate(const TrainConfig& config) {
  const auto& m = config.model;
  if (config.activation_update == ActivationUpdate::multiplicative && m.activations != model::ActivationKind::grid)
    throw UsageError("--activation-update multiplicative: needs --activations grid (an mlp field has no "
                     "multiplicative update): use --activation-update gradient");
  if (config.epochs < 1) throw UsageError(fmt::format("--epochs {}: must be at least 1", config.epochs));
  if (!(config.lr > 0) || !std::isfinite(config.lr))
    throw UsageError(fmt::format("--lr {}: must be a positive number", config.lr));
  if (m.rank < 1) throw UsageError(fmt::format("--rank {}: must be at least 1", m.rank));
  if (!(m.power > 0) || !(m.power <= model::kMaxPower))
    throw UsageError(fmt::format("--power {}: must be in (0, {}] (0.5: square root of the magnitudes, the "
                                 "paper's; 1: magnitudes; 2: power)",
                                 m.power, model::kMaxPower));
  if (!std::isfinite(m.beta)) throw UsageError(fmt::format("--beta {}: must be a number", m.beta));
  if (!(m.sine_scale > 0) || !std::isfinite(m.sine_scale))
    throw UsageError(fmt::format("--sine-scale {}: must be a positive number (1: PyTorch's initialisation)",
                                 m.sine_scale));
  if (m.hidden < 1 || m.layers < 1 || m.n_fourier < 1)
    throw UsageError(fmt::format("--hidden {}, --layers {}, --n-fourier {}: each must be at least 1",
                                 m.hidden, m.layers, m.n_fourier));
  if (m.knot_spacing < 0) throw UsageError(fmt::format("--knot-spacing {}: must be ≥ 0 s", m.knot_spacing));
  // (1e6: far beyond any useful weight of ΣH against a divergence per point, and far from the
  // overflow to an infinite loss that 1e308 gave)
  if (!(m.l1_activations >= 0 && m.l1_activations <= 1e6))
    throw UsageError(fmt::format("--l1 {}: must be a weight from 0 (none) to 1e6", m.l1_activations));
  if (config.f_quantum < 0) throw UsageError(fmt::format("--f-quantum {}: must be ≥ 0 Hz", config.f_quantum));
  if (config.checkpoint_every < 0)
    throw UsageError(fmt::format("--checkpoint-every {}: must be ≥ 0 epochs", config.checkpoint_every));
  if (config.checkpoint_every > 0 && config.checkpoint_path.empty())
    throw UsageError("--checkpoint-every needs --checkpoint FILE");
  if (!config.checkpoint_path.empty()) io::require_writable_path(config.checkpoint_path, "--checkpoint");
  if (!config.metrics_path.empty()) io::require_writable_path(config.metrics_path, "--metrics");
}

TrainReport train(const std::vector<std::string>& point_files, const TrainConfig& config,
                  const std::string& output, const mpi::Comm& comm) {
  validate(config);
  io::require_writable_path(output, "-o");
  if (point_files.empty()) throw UsageError("give at least one point file (from `innmf features`)");
  Stopwatch total;

  // 1. Rank 0 reads the clip tables; everyone agrees on the plan.
  std::string plan_text;
  std::exception_ptr failure;
  if (comm.is_root()) {
    try {
      const auto plan = plan_corpus(point_files);
      if (plan.max_grid_freqs > 0 && static_cast<std::uint64_t>(config.model.rank) > plan.max_grid_freqs)
        throw UsageError(fmt::format("--rank {} is larger than the {} frequencies of the data: "
                                     "choose a rank below that",
                                     config.model.rank, plan.max_grid_freqs));
      plan_text = plan_to_json(plan);
    } catch (...) {
      failure = std::current_exception();
    }
  }
  comm.agree_on_failure(failure);
  comm.broadcast(plan_text);
  const CorpusPlan plan = plan_from_json(plan_text);
  tf::check_frequency_quantum(config.f_quantum, plan.sample_rate);  // (the same plan on every rank: all throw alike)

  // 2. Clips to ranks by point count; each rank reads its own.
  std::vector<std::uint64_t> sizes;
  for (const auto& c : plan.clips) sizes.push_back(c.count);
  const auto owner = corpus::balance_by_size(sizes, comm.size());
  std::vector<tf::ClipInfo> infos;
  std::vector<tf::ClipPoints> points;
  std::vector<std::size_t> global_index;
  // Identifies the points themselves, so that --resume accepts renamed point files.
  std::uint64_t content_digest = 0;
  failure = nullptr;
  try {
    std::vector<std::unique_ptr<io::PointFile>> files(point_files.size());
    for (std::size_t g = 0; g < plan.clips.size(); ++g) {
      if (owner[g] != comm.rank()) continue;
      const auto& ref = plan.clips[g];
      if (!files[ref.file]) files[ref.file] = std::make_unique<io::PointFile>(point_files[ref.file]);
      infos.push_back(files[ref.file]->clips()[ref.index]);
      points.push_back(files[ref.file]->read_clip(ref.index));
      global_index.push_back(g);
      content_digest += tf::fingerprint(points.back(), g);
    }
  } catch (...) {
    failure = std::current_exception();
  }
  comm.agree_on_failure(failure);
  // The sum over clips (mod 2⁶⁴) does not depend on which rank read which clip.
  content_digest = comm.allreduce_sum(content_digest);
  auto prepared = model::prepare_points(infos, std::move(points), config.model.power, config.f_quantum);
  for (std::size_t c = 0; c < prepared.clips.size(); ++c) prepared.clips[c].global_index = global_index[c];
  // One U_f on every rank (the union), at which the template networks are evaluated.
  model::use_unique_frequencies(prepared, global_unique_frequencies(comm, prepared.unique_freqs));
  warn_about_continuous_frequencies(prepared.unique_freqs, config.f_quantum);

  double totals[2] = {prepared.mean_target * static_cast<double>(prepared.n_points),
                      static_cast<double>(prepared.n_points)};
  comm.allreduce_sum(totals, 2);
  // Every rank sees the same sums, so every rank throws here or none does.
  if (!(totals[0] > 0))
    throw InputError(fmt::format("{}: every magnitude is 0 (silent audio): nothing to learn; check the "
                                 "audio given to `innmf features`",
                                 fmt::join(point_files, ", ")));
  const double mean_target = totals[0] / totals[1];
  const double normalizer = 1.0 / totals[1];

  // 3. The model, with data-derived defaults resolved.
  model::ModelConfig model_config = config.model;
  model_config.f_ref = plan.sample_rate / 2;
  // --knot-spacing 0: the data's spacing (plan_corpus); 10 ms for a representation that records
  // none (a point file not written by `innmf features`).
  if (model_config.knot_spacing == 0) model_config.knot_spacing = plan.knot_spacing > 0 ? plan.knot_spacing : 0.01;
  // Knots closer than a sample would only multiply the parameters (and the model file: 4 s of
  // audio at --knot-spacing 1e-6 made 321 MB); every rank holds the same plan, so all throw alike.
  if (model_config.knot_spacing * plan.sample_rate < 1)
    throw UsageError(fmt::format("--knot-spacing {} s: closer than one sample at {} Hz; give at least {:.3g} s "
                                 "(the data's frames are {:.3g} s apart)",
                                 model_config.knot_spacing, plan.sample_rate, 1 / plan.sample_rate,
                                 plan.knot_spacing > 0 ? plan.knot_spacing : 0.01));
  model::InnmfModel<float> model(model_config, prepared, mean_target);
  auto template_optimizer = make_optimizer(config.optimizer, model.template_params().size(), config.lr);
  // Multiplicative activation updates need no optimizer, hence keep no optimizer state.
  const bool multiplicative = config.activation_update == ActivationUpdate::multiplicative;
  auto activation_optimizer =
      multiplicative ? nullptr : make_optimizer(config.optimizer, model.activation_params().size(), config.lr);
  auto activation_state = [&] {
    return activation_optimizer ? activation_optimizer->per_parameter_state() : std::vector<std::vector<float>*>{};
  };
  nn::ParameterBuffer<float> template_grad(model.template_params().size());
  nn::ParameterBuffer<float> activation_grad(model.activation_params().size());
  TemplateSplit split(comm, model);

  log::info("training: {}, {} points over {} rank{}; rank {} {} templates (h {}, {} layers, "
            "{} parameters), {} activations ({} local parameters, {} updates), β {}, p {}, {} lr {}, {} epochs",
            log::counted(plan.clips.size(), "clip"), static_cast<std::uint64_t>(totals[1]), comm.size(), comm.size() == 1 ? "" : "s",
            model_config.rank, nn::architecture_name(model_config.architecture), model_config.hidden,
            model_config.layers, model.template_params().size(),
            model::activation_kind_name(model_config.activations), model.activation_params().size(),
            activation_update_name(config.activation_update), model_config.beta, model_config.power,
            optimizer_name(config.optimizer), config.lr, config.epochs);

  // 4. Resume from a checkpoint: rank 0 reads and checks it, every rank takes its part.
  const auto compatibility = compatibility_json(config, model_config, point_files, plan, content_digest);
  const auto global_sizes = global_activation_sizes(comm, model, global_index, plan.clips.size());
  TrainReport report;
  report.clips = plan.clips.size();
  report.points = static_cast<std::uint64_t>(totals[1]);
  int first_epoch = 1;
  if (!config.resume_path.empty()) {
    Checkpoint checkpoint;
    failure = nullptr;
    if (comm.is_root()) {
      try {
        checkpoint = read_checkpoint(config.resume_path, compatibility);
        if (checkpoint.epoch >= config.epochs)
          throw UsageError(fmt::format("--resume {}: the checkpoint has {} epochs, --epochs is {}: raise "
                                       "--epochs to train further",
                                       config.resume_path, checkpoint.epoch, config.epochs));
        if (checkpoint.template_params.size() != model.template_params().size() ||
            checkpoint.template_state.size() != template_optimizer->per_parameter_state().size() ||
            checkpoint.activation_state.size() != activation_state().size())
          throw InputError(fmt::format("--resume {}: parameter counts differ from this run's", config.resume_path));
      } catch (...) {
        failure = std::current_exception();
      }
    }
    comm.agree_on_failure(failure);
    comm.broadcast(&checkpoint.epoch, 1);
    broadcast_doubles(comm, checkpoint.loss);
    broadcast_floats(comm, checkpoint.template_params);
    broadcast_doubles(comm, checkpoint.template_scalars);
    broadcast_floats(comm, checkpoint.activation_params);
    broadcast_doubles(comm, checkpoint.activation_scalars);
    checkpoint.template_state.resize(template_optimizer->per_parameter_state().size());
    checkpoint.activation_state.resize(activation_state().size());
    for (auto& state : checkpoint.template_state) broadcast_floats(comm, state);
    for (auto& state : checkpoint.activation_state) broadcast_floats(comm, state);
    model.template_params().assign(checkpoint.template_params.begin(), checkpoint.template_params.end());
    for (std::size_t i = 0; i < checkpoint.template_state.size(); ++i)
      *template_optimizer->per_parameter_state()[i] = checkpoint.template_state[i];
    template_optimizer->set_scalar_state(checkpoint.template_scalars);
    failure = nullptr;
    try {
      scatter_by_clip(model, checkpoint.activation_params, global_sizes, global_index, model.activation_params().data());
      for (std::size_t i = 0; i < checkpoint.activation_state.size(); ++i)
        scatter_by_clip(model, checkpoint.activation_state[i], global_sizes, global_index,
                        activation_state()[i]->data());
    } catch (...) {
      failure = std::current_exception();
    }
    comm.agree_on_failure(failure);
    if (activation_optimizer) activation_optimizer->set_scalar_state(checkpoint.activation_scalars);
    report.loss = checkpoint.loss;
    first_epoch = checkpoint.epoch + 1;
    log::info("resuming from {} after epoch {}", config.resume_path, checkpoint.epoch);
  }

  // Collective: everything a resume needs, written by rank 0.
  auto save_checkpoint = [&](int epoch, const std::string& path) {
    Checkpoint c;
    c.epoch = epoch;
    c.compatibility_json = compatibility;
    c.loss = report.loss;
    split.gather_parameters(model.template_params(), *template_optimizer);
    c.template_params.assign(model.template_params().begin(), model.template_params().end());
    for (const auto* state : template_optimizer->per_parameter_state()) c.template_state.push_back(*state);
    c.template_scalars = template_optimizer->scalar_state();
    c.activation_params = gather_by_clip(comm, model, model.activation_params().data(), owner, global_index);
    for (const auto* state : activation_state())
      c.activation_state.push_back(gather_by_clip(comm, model, state->data(), owner, global_index));
    if (activation_optimizer) c.activation_scalars = activation_optimizer->scalar_state();
    std::exception_ptr write_failure;
    if (comm.is_root()) {
      try {
        write_checkpoint(path, c);
        log::debug("checkpoint after epoch {} written to {}", epoch, path);
      } catch (...) {
        write_failure = std::current_exception();
      }
    }
    comm.agree_on_failure(write_failure);
  };

  // 5. Full-batch steps.
  std::unique_ptr<MetricsLog> metrics;
  failure = nullptr;
  if (comm.is_root()) {
    try {
      metrics = std::make_unique<MetricsLog>(config.metrics_path, first_epoch - 1);
    } catch (...) {
      failure = std::current_exception();
    }
  }
  comm.agree_on_failure(failure);
  const StopSignals signals;
  // One step (DESIGN.md §2): W at U_f for this rank's networks; the all-gather completes W
  // (split only); loss, ∂L/∂W at U_f and ∂L/∂H over the rank's points; ONE all-reduce of
  // [∂L/∂W at U_f | loss | divergence | stop] (skipped on one rank); back-propagation of ∂L/∂W through the
  // rank's networks; optimizer steps on the rank's networks and its activations. (The loss is
  // the divergence plus, with --l1, λ·ΣH; the divergence is reduced too, to report both.)
  const std::size_t n_values = prepared.unique_freqs.size() * static_cast<std::size_t>(model_config.rank);
  std::vector<double> reduced(n_values + 3);  // [∂L/∂W at U_f (|U_f|, K) | loss | divergence | stop]
  nn::RowMatrix<float> d_templates;           // (|U_f|, K)
  if (comm.size() > 1)
    log::info("{}; per step: {}all-reduce of {} B ([dL/dW at {} frequencies | loss | divergence | stop], doubles)",
              split.active() ? fmt::format("template networks split across {} ranks ({} on rank 0)", comm.size(),
                                           split.last() - split.first())
                             : std::string("template network on every rank"),
              split.active() ? fmt::format("all-gather of W ({} B), ", 4 * n_values) : std::string(),
              8 * (n_values + 3), prepared.unique_freqs.size());
  const bool terminal = comm.is_root() && isatty(fileno(stderr));
  const int log_every = std::max(1, config.epochs / 10);
  Stopwatch training;
  for (int epoch = first_epoch; epoch <= config.epochs; ++epoch) {
    Stopwatch step;
    model.forward_templates(split.first(), split.last());
    double compute = step.seconds();
    Stopwatch gathering;
    split.complete_templates(model.template_values());
    report.allgather_seconds += gathering.seconds();
    Stopwatch factors;
    const auto evaluation = model.evaluate_factors(prepared, normalizer, d_templates, activation_grad.data());
    compute += factors.seconds();
    double loss = evaluation.loss;
    double divergence = evaluation.divergence;
    bool stop = g_stop_requested != 0;
    if (comm.size() > 1) {
      const float* d = d_templates.data();
      for (std::size_t i = 0; i < n_values; ++i) reduced[i] = d[i];
      reduced[n_values] = evaluation.loss;
      reduced[n_values + 1] = evaluation.divergence;
      reduced[n_values + 2] = stop ? 1.0 : 0.0;
      Stopwatch communication;
      comm.allreduce_sum(reduced.data(), reduced.size());  // the one all-reduce of the step
      report.allreduce_seconds += communication.seconds();
      loss = reduced[n_values];
      divergence = reduced[n_values + 1];
      stop = reduced[n_values + 2] > 0;
    }
    if (!std::isfinite(loss))
      throw NumericalError(fmt::format("epoch {}: the loss is {}: lower --lr (now {}){}", epoch,
                                       std::isnan(loss) ? "NaN" : "infinite", config.lr,
                                       config.model.beta < 0 || config.model.beta > 2 || config.model.power > 1
                                           ? fmt::format(", or use a --beta in [0, 2] and a --power ≤ 1 (now {} "
                                                         "and {})",
                                                         config.model.beta, config.model.power)
                                           : ""));
    Stopwatch backward;
    if (comm.size() > 1) {
      float* d = d_templates.data();
      for (std::size_t i = 0; i < n_values; ++i) d[i] = static_cast<float>(reduced[i]);
    }
    model.backward_templates(d_templates, split.first(), split.last(), template_grad.data());
    report.compute_seconds += compute + backward.seconds();
    template_optimizer->step(model.template_params().data(), template_grad.data(), split.parameter_begin(),
                             split.parameter_end());
    if (multiplicative)
      model.multiplicative_activation_step(prepared, normalizer);  // W at U_f and θ: as evaluated above
    else
      activation_optimizer->step(model.activation_params().data(), activation_grad.data());
    report.loss.push_back(loss);
    ++report.epochs_run;

    const double seconds = step.seconds();
    if (comm.is_root()) {
      metrics->write({{"epoch", epoch}, {"loss", loss}, {"divergence", divergence}, {"seconds", seconds},
                      {"points_per_second", totals[1] / seconds}});
      // With --l1 the loss adds λ·ΣH to the mean divergence per point: show the two parts.
      const std::string parts = model_config.l1_activations > 0
                                    ? fmt::format(" (divergence {:.6g} + L1 {:.6g})", divergence, loss - divergence)
                                    : std::string();
      const double elapsed = training.seconds();
      const double eta = elapsed / (epoch - first_epoch + 1) * (config.epochs - epoch);
      if (terminal) {
        std::fprintf(stderr, "\repoch %d/%d  loss %.6g%s  %.2f Mpoints/s  ETA %.0f s   ", epoch, config.epochs,
                     loss, parts.c_str(), totals[1] / seconds / 1e6, eta);
        if (epoch == config.epochs || stop) std::fprintf(stderr, "\n");
      } else if (epoch % log_every == 0 || epoch == first_epoch || epoch == config.epochs) {
        log::info("epoch {}/{}  loss {:.6g}{}  {:.2f} Mpoints/s  ETA {:.0f} s", epoch, config.epochs, loss, parts,
                  totals[1] / seconds / 1e6, eta);
      }
    }
    if (stop) {
      const std::string path = config.checkpoint_path.empty() ? output + ".checkpoint.h5" : config.checkpoint_path;
      save_checkpoint(epoch, path);
      throw Error(ExitCode::interrupted,
                  fmt::format("stopped by a signal after epoch {}; checkpoint written to {}: continue with "
                              "--resume {}",
                              epoch, path, path));
    }
    if (!config.checkpoint_path.empty() &&
        ((config.checkpoint_every > 0 && epoch % config.checkpoint_every == 0) || epoch == config.epochs))
      save_checkpoint(epoch, config.checkpoint_path);
  }
  report.seconds = training.seconds();
  const double epochs_run = std::max(1, config.epochs - first_epoch + 1);
  log::debug("per epoch on rank 0: compute {:.4f} s, all-gather {:.4f} s, all-reduce {:.4f} s (each "
             "includes waiting for the slowest rank)",
             report.compute_seconds / epochs_run, report.allgather_seconds / epochs_run,
             report.allreduce_seconds / epochs_run);

  // 6. Gather every rank's activations on rank 0 and write the model.
  io::InnmfModelRecord record;
  record.rank = model_config.rank;
  record.power = model_config.power;
  record.beta = model_config.beta;
  record.l1 = model_config.l1_activations;
  record.f_ref = model_config.f_ref;
  record.sample_rate = plan.sample_rate;
  record.architecture = nn::architecture_name(model_config.architecture);
  record.activations = model::activation_kind_name(model_config.activations);
  record.hidden = model_config.hidden;
  record.layers = model_config.layers;
  record.n_fourier = model_config.n_fourier;
  record.knot_spacing = model_config.knot_spacing;
  record.seed = model_config.seed;
  record.representation_json = plan.representation_json;
  record.config_json = config.config_json;
  split.gather_parameters(model.template_params(), *template_optimizer);
  record.template_params.assign(model.template_params().begin(), model.template_params().end());
  record.template_phases = model.template_field().encoding().phases();
  record.template_layout_json = model.template_field().mlp().layout_json();
  // The global U_f (every rank's since use_unique_frequencies): where the networks were fitted,
  // so that separation can interpolate between these instead of evaluating the ripple between them.
  record.training_freqs = prepared.unique_freqs;
  record.loss_curve = report.loss;
  if (comm.is_root() && report.loss.size() > 1 && report.loss.back() > report.loss.front())
    log::warn("the loss rose from {:.6g} (epoch 1) to {:.6g} (epoch {}): training diverged and the model is "
              "likely poor; lower --lr (now {})",
              report.loss.front(), report.loss.back(), report.loss.size(), config.lr);
  record.activation_params = gather_by_clip(comm, model, model.activation_params().data(), owner, global_index);
  if (comm.is_root()) {
    std::uint64_t offset = 0;
    for (const auto size : global_sizes) {
      record.activation_offsets.push_back(offset);
      record.activation_sizes.push_back(size);
      offset += size;
    }
  }
  failure = nullptr;
  std::unique_ptr<io::AtomicOutput> atomic;
  if (comm.is_root()) {
    try {
      for (std::size_t f = 0; f < point_files.size(); ++f) {
        const io::PointFile file(point_files[f]);
        for (const auto& clip : file.clips()) {
          record.clip_names.push_back(point_files.size() > 1 ? point_files[f] + ":" + clip.name : clip.name);
          record.clip_durations.push_back(clip.duration);
        }
      }
      atomic = std::make_unique<io::AtomicOutput>(output);
      io::write_innmf_model(atomic->temporary_path(), record);
      atomic->commit();
    } catch (...) {
      failure = std::current_exception();
    }
  }
  comm.agree_on_failure(failure);
  report.seconds = total.seconds();
  return report;
}

}  // namespace innmf::train
