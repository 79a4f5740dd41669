#include "innmf/io/model_file.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <limits>
#include <nlohmann/json.hpp>

#include "innmf/core/error.hpp"
#include "innmf/tf/representation.hpp"

namespace innmf::io {
namespace {

using json = nlohmann::json;
using RowMajorMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

constexpr const char* kWhatToGive = "give a file written by `innmf nmf` or `innmf train`";

/// A 2-D float32 dataset [rows, cols] in HDF5's (C) order from a column-major matrix.
void write_matrix(hid_t parent, const std::string& name, const Eigen::MatrixXf& matrix,
                  const std::string& units) {
  const RowMajorMatrix row_major = matrix;
  const hsize_t dims[2] = {static_cast<hsize_t>(matrix.rows()), static_cast<hsize_t>(matrix.cols())};
  h5::Id space(h5::check(H5Screate_simple(2, dims, nullptr), "H5Screate_simple"));
  h5::Id dataset(h5::check(H5Dcreate2(parent, name.c_str(), H5T_NATIVE_FLOAT, space, H5P_DEFAULT,
                                      H5P_DEFAULT, H5P_DEFAULT),
                           "creating dataset " + name));
  if (matrix.size() > 0)
    h5::check(H5Dwrite(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, row_major.data()),
              "writing dataset " + name);
  h5::write_attribute(dataset, "units", units);
}

/// A 2-D dataset [rows, cols] of any float type as a column-major float32 matrix.
Eigen::MatrixXf read_matrix(hid_t parent, const std::string& name) {
  if (!h5::exists(parent, name)) throw InputError(fmt::format("dataset '{}' is missing", name));
  h5::Id dataset(h5::check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening dataset " + name));
  h5::Id space(h5::check(H5Dget_space(dataset), "H5Dget_space"));
  if (H5Sget_simple_extent_ndims(space) != 2)
    throw InputError(fmt::format("dataset '{}' is not two-dimensional", name));
  hsize_t dims[2] = {0, 0};
  h5::check(H5Sget_simple_extent_dims(space, dims, nullptr), "H5Sget_simple_extent_dims");
  RowMajorMatrix row_major(static_cast<Eigen::Index>(dims[0]), static_cast<Eigen::Index>(dims[1]));
  if (row_major.size() > 0)
    h5::check(H5Dread(dataset, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, row_major.data()),
              "reading dataset " + name);
  return row_major;
}

std::string beta_name(double beta) {
  if (beta == 1.0) return "generalised Kullback-Leibler";
  if (beta == 0.0) return "Itakura-Saito";
  if (beta == 2.0) return "squared Euclidean";
  return "β-divergence";
}

}  // namespace

const std::vector<std::string>& known_model_kinds() {
  static const std::vector<std::string> kinds = {kClassicModelKind, kInnmfModelKind};
  return kinds;
}

std::string stft_representation_json(int n_fft, int hop, const std::string& window,
                                     double sample_rate) {
  // The keys `innmf features` writes into point sets.
  return json{{"kind", "stft"},
              {"n_fft", n_fft},
              {"hop", hop},
              {"window", window},
              {"sample_rate", sample_rate},
              {"center", true},
              {"magnitude", "abs of unnormalised DFT"}}
      .dump();
}

void write_classic_model(const std::string& path, const ClassicModel& m) {
  const auto K = m.W.cols();
  if (m.H.rows() != K || m.W.rows() != static_cast<Eigen::Index>(m.freqs.size()) ||
      m.H.cols() != static_cast<Eigen::Index>(m.times.size()) || m.header.rank != K ||
      m.sources.size() != m.first_frame.size() || m.loss.size() != m.seconds.size() + 1)
    throw Error(ExitCode::failure,
                fmt::format("write_classic_model: inconsistent model (W {} × {}, H {} × {}, {} "
                            "freqs, {} times, rank {})",
                            m.W.rows(), m.W.cols(), m.H.rows(), m.H.cols(), m.freqs.size(),
                            m.times.size(), m.header.rank));
  try {
    auto file = h5::create_file(path);
    h5::write_attribute(file, "format", std::string(kModelFormat));
    h5::write_attribute(file, "format_version", kModelFormatVersion);
    h5::write_attribute(file, "kind", std::string(kClassicModelKind));
    h5::write_attribute(file, "rank", static_cast<std::int64_t>(K));
    h5::write_attribute(file, "power", m.header.power);
    h5::write_attribute(file, "beta", m.header.beta);
    h5::write_attribute(file, "sample_rate", m.header.sample_rate);
    h5::write_attribute(file, "f_ref", m.header.f_ref);
    h5::write_attribute(file, "representation",
                        stft_representation_json(m.n_fft, m.hop, m.window, m.header.sample_rate));
    h5::write_attribute(file, "config", m.header.config_json);
    h5::write_attribute(file, "created_by", std::string("innmf " INNMF_VERSION));

    const std::string compressed = fmt::format("|X|^{} (compressed STFT magnitude)", m.header.power);
    auto templates = h5::create_group(file, "templates");
    write_matrix(templates, "W", m.W, compressed + " per unit activation; template k is column k");
    h5::write_vector(templates, "freqs", m.freqs, "Hz");

    auto activations = h5::create_group(file, "activations");
    write_matrix(activations, "H", m.H, "1 (weights of the templates; W·H approximates " + compressed + ")");
    h5::write_vector(activations, "times", m.times, "s");
    h5::write_strings(activations, "sources", m.sources);
    h5::write_vector(activations, "first_frame", m.first_frame, "frames");

    auto training = h5::create_group(file, "training");
    h5::write_vector(training, "loss", m.loss, "mean beta-divergence per entry");
    h5::write_vector(training, "seconds", m.seconds, "s");
    h5::write_attribute(training, "iterations", static_cast<std::int64_t>(m.seconds.size()));
    h5::write_attribute(training, "converged", static_cast<std::int64_t>(m.converged ? 1 : 0));
    h5::write_attribute(training, "seed", static_cast<std::int64_t>(m.seed));
    if (H5Fflush(file, H5F_SCOPE_GLOBAL) < 0)
      throw InputError("flushing the HDF5 file failed: is the disk full?");
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path, e.what()));
  }
}

std::string peek_format(const std::string& path) {
  if (!h5::is_hdf5_file(path)) return "";
  h5::Id file;
  try {
    file = h5::open_file_read(path, "write it again with the innmf command that made it (features, train, nmf "
                                    "or export), or restore a copy");
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path, e.what()));
  }
  try {
    if (!h5::has_attribute(file, "format")) return "";
    return h5::read_string_attribute(file, "format");
  } catch (const InputError&) {
    return "";
  }
}

ModelFile::ModelFile(const std::string& path) : path_(path) {
  if (!h5::is_hdf5_file(path)) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      throw InputError(fmt::format("{}: no such file: check the path", path));
    if (std::filesystem::is_directory(path, ec))
      throw InputError(fmt::format("{}: is a folder: {}", path, kWhatToGive));
    throw InputError(fmt::format("{}: not an HDF5 file: {}", path, kWhatToGive));
  }
  try {
    file_ = h5::open_file_read(path, kWhatToGive);
    if (!h5::has_attribute(file_, "format"))
      throw InputError(fmt::format("no 'format' attribute, not written by innmf: {}", kWhatToGive));
    const auto format = h5::read_string_attribute(file_, "format");
    if (format != kModelFormat)
      throw InputError(fmt::format("is an '{}' file, not a model: {}", format, kWhatToGive));
    const auto version = h5::read_int_attribute(file_, "format_version");
    if (version != kModelFormatVersion)
      throw InputError(fmt::format("model format version {}, this innmf reads version {}: use the "
                                   "innmf that wrote it, or retrain",
                                   version, kModelFormatVersion));
    header_.kind = h5::read_string_attribute(file_, "kind");
    const auto& kinds = known_model_kinds();
    if (std::find(kinds.begin(), kinds.end(), header_.kind) == kinds.end())
      throw InputError(fmt::format("model kind '{}' is unknown to innmf {} (it reads {}): was it "
                                   "written by a newer version?",
                                   header_.kind, INNMF_VERSION, fmt::join(kinds, ", ")));
    header_.rank = h5::read_int_attribute(file_, "rank");
    header_.power = h5::read_double_attribute(file_, "power");
    header_.beta = h5::read_double_attribute(file_, "beta");
    header_.sample_rate = h5::read_double_attribute(file_, "sample_rate");
    header_.f_ref = h5::read_double_attribute(file_, "f_ref");
    header_.representation_json = h5::read_string_attribute(file_, "representation");
    header_.config_json = h5::read_string_attribute(file_, "config");
    if (h5::has_attribute(file_, "created_by"))
      header_.created_by = h5::read_string_attribute(file_, "created_by");
    if (header_.rank < 1 || !(header_.power > 0) || !(header_.sample_rate > 0) ||
        !std::isfinite(header_.beta))
      throw InputError(fmt::format("inconsistent model: rank {}, power {}, sample_rate {} Hz, "
                                   "beta {}; regenerate it",
                                   header_.rank, header_.power, header_.sample_rate, header_.beta));
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path, e.what()));
  }
}

ClassicModel ModelFile::read_classic() const {
  if (kind() != kClassicModelKind)
    throw InputError(fmt::format("{}: is an '{}' model, not a classic NMF model (kind '{}', "
                                 "written by `innmf nmf`)",
                                 path_, kind(), kClassicModelKind));
  ClassicModel m;
  m.header = header_;
  try {
    const auto representation = json::parse(header_.representation_json, nullptr, false);
    if (!representation.is_object() || representation.value("kind", std::string()) != "stft" ||
        !representation.contains("n_fft") || !representation.contains("hop"))
      throw InputError("the 'representation' attribute is not an STFT's JSON description");
    m.n_fft = representation.value("n_fft", 0);
    m.hop = representation.value("hop", 0);
    m.window = representation.value("window", std::string("sqrt-hann"));

    const auto templates = h5::open_group(file_, "templates");
    m.W = read_matrix(templates, "W");
    m.freqs = h5::read_vector<float>(templates, "freqs");
    const auto activations = h5::open_group(file_, "activations");
    m.H = read_matrix(activations, "H");
    m.times = h5::read_vector<float>(activations, "times");
    m.sources = h5::read_strings(activations, "sources");
    m.first_frame = h5::read_vector<std::uint64_t>(activations, "first_frame");
    const auto training = h5::open_group(file_, "training");
    m.loss = h5::read_vector<double>(training, "loss");
    m.seconds = h5::read_vector<double>(training, "seconds");
    m.converged = h5::read_int_attribute(training, "converged") != 0;
    m.seed = static_cast<std::uint64_t>(h5::read_int_attribute(training, "seed"));

    const auto n_freqs = m.W.rows();
    if (m.W.cols() != header_.rank || m.H.rows() != header_.rank)
      throw InputError(fmt::format("/templates/W is {} × {} and /activations/H {} × {}, but rank "
                                   "is {}",
                                   m.W.rows(), m.W.cols(), m.H.rows(), m.H.cols(), header_.rank));
    if (m.n_fft < 2 || n_freqs != m.n_fft / 2 + 1 ||
        static_cast<Eigen::Index>(m.freqs.size()) != n_freqs)
      throw InputError(fmt::format("/templates/W has {} rows and /templates/freqs {} values, but "
                                   "n_fft {} has {} bins",
                                   n_freqs, m.freqs.size(), m.n_fft, m.n_fft / 2 + 1));
    if (static_cast<Eigen::Index>(m.times.size()) != m.H.cols())
      throw InputError(fmt::format("/activations/H has {} frames, /activations/times {}",
                                   m.H.cols(), m.times.size()));
    if (m.sources.size() != m.first_frame.size())
      throw InputError("/activations/sources and /activations/first_frame differ in length");
    if (m.loss.empty() || m.loss.size() != m.seconds.size() + 1)
      throw InputError(fmt::format("/training/loss has {} values and /training/seconds {}: "
                                   "expected one more loss than updates",
                                   m.loss.size(), m.seconds.size()));
    if (!m.W.allFinite() || (m.W.array() < 0.0f).any() || !m.H.allFinite() ||
        (m.H.array() < 0.0f).any())
      throw InputError("/templates/W or /activations/H has negative or non-finite entries");
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path_, e.what()));
  }
  return m;
}

std::vector<double> ModelFile::training_loss() const {
  if (!h5::exists(file_, "training/loss")) return {};
  try {
    return h5::read_vector<double>(file_, "training/loss");
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path_, e.what()));
  }
}

std::optional<double> ModelFile::number_attribute(const std::string& name) const {
  if (!h5::has_attribute(file_, name)) return std::nullopt;
  return h5::read_double_attribute(file_, name);
}

std::string ModelFile::string_attribute(const std::string& name) const {
  return h5::has_attribute(file_, name) ? h5::read_string_attribute(file_, name) : std::string();
}

std::vector<double> ModelFile::training_frequencies() const {
  if (!h5::exists(file_, "templates/training_freqs")) return {};
  try {
    return h5::read_vector<double>(file_, "templates/training_freqs");
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path_, e.what()));
  }
}

std::uint64_t ModelFile::length_or_zero(const std::string& dataset) const {
  if (!h5::exists(file_, dataset)) return 0;
  try {
    return h5::dataset_length(file_, dataset);
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path_, e.what()));
  }
}

ModelSummary summarize(const ModelFile& file) {
  ModelSummary s;
  s.path = file.path();
  std::error_code ec;
  s.file_bytes = std::filesystem::file_size(file.path(), ec);
  s.header = file.header();
  s.final_loss = std::numeric_limits<double>::quiet_NaN();
  if (file.kind() == kClassicModelKind) {
    const auto model = file.read_classic();
    s.n_freqs = model.W.rows();
    s.min_frequency = model.freqs.empty() ? 0 : model.freqs.front();
    s.max_frequency = model.freqs.empty() ? 0 : model.freqs.back();
    s.n_frames = model.H.cols();
    if (model.hop > 0 && s.header.sample_rate > 0)
      s.seconds = static_cast<double>(s.n_frames) * model.hop / s.header.sample_rate;
    s.sources = model.sources.size();
    s.iterations = static_cast<std::int64_t>(model.seconds.size());
    s.final_loss = model.loss.back();
  } else {
    // Other kinds: what their common layout tells (a continuous template field up to f_ref).
    s.max_frequency = s.header.f_ref;
    s.sources = file.length_or_zero("activations/name");
    const auto loss = file.training_loss();
    s.iterations = static_cast<std::int64_t>(loss.size());
    if (!loss.empty()) s.final_loss = loss.back();
    s.l1 = file.number_attribute("l1").value_or(0.0);
    s.architecture = file.string_attribute("architecture");
    s.hidden = file.number_attribute("hidden");
    s.layers = file.number_attribute("layers");
    s.n_fourier = file.number_attribute("n_fourier");
    s.activations = file.string_attribute("activations");
    s.knot_spacing = file.number_attribute("knot_spacing");
    const auto freqs = file.training_frequencies();  // increasing
    s.n_training_freqs = freqs.size();
    if (!freqs.empty()) {
      s.min_training_freq = freqs.front();
      s.max_training_freq = freqs.back();
    }
  }
  return s;
}

std::string to_json(const ModelSummary& s) {
  const auto& h = s.header;
  json j{{"path", s.path},
         {"format", kModelFormat},
         {"format_version", kModelFormatVersion},
         {"kind", h.kind},
         {"file_bytes", s.file_bytes},
         {"rank", h.rank},
         {"power", h.power},
         {"beta", h.beta},
         {"sample_rate", h.sample_rate},
         {"f_ref", h.f_ref},
         {"representation", json::parse(h.representation_json, nullptr, false)},
         {"frequency_hz", {{"min", s.min_frequency}, {"max", s.max_frequency}}},
         {h.kind == kClassicModelKind ? "sources" : "clips", s.sources},
         {h.kind == kClassicModelKind ? "iterations" : "epochs", s.iterations},
         {"final_loss", std::isfinite(s.final_loss) ? json(s.final_loss) : json(nullptr)},
         {"l1", s.l1},
         {"created_by", h.created_by}};
  if (h.kind == kClassicModelKind) {
    // Templates at bins and activations at frames exist only for a classic model (an iN-NMF
    // model's fields are continuous: its training frequencies are below).
    j["n_freqs"] = s.n_freqs;
    j["n_frames"] = s.n_frames;
    j["seconds"] = s.seconds;
  } else {
    const bool stored = s.n_training_freqs > 0;
    j["training_freqs"] = {{"count", s.n_training_freqs},
                           {"min_hz", stored ? json(s.min_training_freq) : json(nullptr)},
                           {"max_hz", stored ? json(s.max_training_freq) : json(nullptr)}};
    const auto or_null = [](const std::optional<double>& value) { return value ? json(*value) : json(nullptr); };
    j["networks"] = {{"architecture", s.architecture},
                     {"layers", or_null(s.layers)},
                     {"hidden", or_null(s.hidden)},
                     {"n_fourier", or_null(s.n_fourier)}};
    j["activations"] = {{"kind", s.activations}, {"knot_spacing_s", or_null(s.knot_spacing)}};
  }
  return j.dump(2);
}

std::string to_text(const ModelSummary& s) {
  const auto& h = s.header;
  const bool classic = h.kind == kClassicModelKind;
  std::string out;
  out += fmt::format("{:<16}{}\n", "file", s.path);
  out += fmt::format("{:<16}innmf model, kind '{}' ({}), format version {}\n", "format", h.kind,
                     classic ? "classic NMF" : "iN-NMF", kModelFormatVersion);
  out += fmt::format("{:<16}{}\n", "rank", h.rank);
  out += fmt::format("{:<16}p = {} (the model approximates magnitude^{})\n", "compression", h.power,
                     h.power);
  out += fmt::format("{:<16}β = {} ({})\n", "loss", h.beta, beta_name(h.beta));
  const auto representation = json::parse(h.representation_json, nullptr, false);
  out += fmt::format("{:<16}{}\n", "representation", tf::describe_representation(representation));
  const auto parts = representation.is_object() ? tf::representation_parts(representation) : std::vector<json>{};
  const double representation_rate = parts.empty() ? 0.0 : parts.front().value("sample_rate", 0.0);
  // A model trained on point files of several rates records each as a part, and the highest rate
  // (its frequency range).
  const bool several_rates = std::any_of(parts.begin(), parts.end(), [&](const json& part) {
    return part.value("sample_rate", representation_rate) != representation_rate;
  });
  const std::string other_rate = several_rates ? std::string("; trained on audio of several rates: the parts above")
                                               : std::string();
  out += fmt::format("{:<16}{} Hz (f_ref {} Hz{})\n", "sample rate", h.sample_rate, h.f_ref, other_rate);
  if (classic) {
    out += fmt::format("{:<16}{} bins, {:.1f} – {:.1f} Hz\n", "templates", s.n_freqs,
                       s.min_frequency, s.max_frequency);
    out += fmt::format("{:<16}{} frames, {:.2f} s from {} source file{}\n", "activations",
                       s.n_frames, s.seconds, s.sources, s.sources == 1 ? "" : "s");
  } else {
    out += fmt::format("{:<16}continuous field over 0 – {:.1f} Hz\n", "templates", s.max_frequency);
    if (s.n_training_freqs > 0)
      out += fmt::format("{:<16}{} frequencies, {:.1f} – {:.1f} Hz\n", "fitted at", s.n_training_freqs,
                         s.min_training_freq, s.max_training_freq);
    else
      out += fmt::format("{:<16}not stored (a model file from before they were)\n", "fitted at");
    const auto number = [](const std::optional<double>& value) {
      return value ? fmt::format("{:g}", *value) : std::string("?");
    };
    if (!s.architecture.empty())
      out += fmt::format("{:<16}{}, {} layers of width {}, {} Fourier frequencies\n", "networks", s.architecture,
                         number(s.layers), number(s.hidden), number(s.n_fourier));
    std::string kind;
    if (s.activations == "grid" && s.knot_spacing && *s.knot_spacing > 0)
      kind = fmt::format(", grid fields (knots every {:.2f} ms)", 1e3 * *s.knot_spacing);
    else if (!s.activations.empty())
      kind = fmt::format(", {} fields", s.activations);
    out += fmt::format("{:<16}{} clip{}{}\n", "activations", s.sources, s.sources == 1 ? "" : "s", kind);
  }
  const std::string steps = classic ? "updates" : "epochs";
  if (std::isfinite(s.final_loss))
    out += fmt::format("{:<16}{} {}, final loss {:.6g} (mean β-divergence per entry{})\n", "training",
                       s.iterations, steps, s.final_loss,
                       s.l1 > 0 ? fmt::format(" + {:g} × the sum of the activations (--l1)", s.l1) : "");
  else
    out += fmt::format("{:<16}{} {}, no loss recorded\n", "training", s.iterations, steps);
  out += fmt::format("{:<16}{:.2f} MB on disk, written by {}\n", "size", s.file_bytes / 1e6,
                     h.created_by.empty() ? "?" : h.created_by);
  return out;
}

}  // namespace innmf::io
