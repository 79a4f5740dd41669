#include "innmf/train/checkpoint.hpp"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "innmf/core/error.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/io/hdf5.hpp"

namespace innmf::train {
namespace h5 = io::h5;

namespace {

constexpr const char* kFormat = "innmf.checkpoint";
constexpr std::int64_t kVersion = 1;

void write_group(hid_t file, const std::string& name, const std::vector<float>& params,
                 const std::vector<std::vector<float>>& state, const std::vector<double>& scalars) {
  auto group = h5::create_group(file, name);
  h5::write_vector(group, "params", params, "");
  for (std::size_t i = 0; i < state.size(); ++i) h5::write_vector(group, "state_" + std::to_string(i), state[i], "");
  h5::write_vector(group, "scalars", scalars, "");
  h5::write_attribute(group, "n_state", static_cast<std::int64_t>(state.size()));
}

void read_group(hid_t file, const std::string& name, std::vector<float>& params,
                std::vector<std::vector<float>>& state, std::vector<double>& scalars) {
  auto group = h5::open_group(file, name);
  params = h5::read_vector<float>(group, "params");
  const auto n_state = h5::read_int_attribute(group, "n_state");
  state.clear();
  for (std::int64_t i = 0; i < n_state; ++i) {
    state.push_back(h5::read_vector<float>(group, "state_" + std::to_string(i)));
    if (state.back().size() != params.size())
      throw InputError(fmt::format("/{}/state_{} has {} values for {} parameters", name, i,
                                   state.back().size(), params.size()));
  }
  scalars = h5::read_vector<double>(group, "scalars");
}

/// The first key whose value differs between two JSON objects, spelled for a message.
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b, const std::string& prefix = "") {
  if (a.is_object() && b.is_object()) {
    for (const auto& [key, value] : a.items()) {
      if (!b.contains(key)) return prefix + key + " (missing now)";
      const auto inner = first_difference(value, b.at(key), prefix + key + ".");
      if (!inner.empty()) return inner;
    }
    for (const auto& [key, value] : b.items())
      if (!a.contains(key)) return prefix + key + " (new)";
    return "";
  }
  if (a != b) return fmt::format("{} was {}, now {}", prefix.empty() ? "value" : prefix.substr(0, prefix.size() - 1),
                                 a.dump(), b.dump());
  return "";
}

}  // namespace

void write_checkpoint(const std::string& path, const Checkpoint& c) {
  io::AtomicOutput atomic(path, "--checkpoint");
  {
    auto file = h5::create_file(atomic.temporary_path());
    h5::write_attribute(file, "format", std::string(kFormat));
    h5::write_attribute(file, "format_version", kVersion);
    h5::write_attribute(file, "epoch", static_cast<std::int64_t>(c.epoch));
    h5::write_attribute(file, "compatibility", c.compatibility_json);
    h5::write_attribute(file, "created_by", std::string("innmf " INNMF_VERSION));
    h5::write_vector(file, "loss", c.loss, "");
    write_group(file, "template", c.template_params, c.template_state, c.template_scalars);
    write_group(file, "activation", c.activation_params, c.activation_state, c.activation_scalars);
  }
  atomic.commit();
}

CheckpointSummary summarize_checkpoint(const std::string& path) {
  CheckpointSummary summary;
  try {
    auto file = h5::open_file_read(path);
    if (!h5::has_attribute(file, "format") || h5::read_string_attribute(file, "format") != kFormat)
      throw InputError("is not a checkpoint");
    if (h5::read_int_attribute(file, "format_version") != kVersion)
      throw InputError("checkpoint of another format version");
    summary.epoch = static_cast<int>(h5::read_int_attribute(file, "epoch"));
    summary.compatibility_json = h5::read_string_attribute(file, "compatibility");
    summary.created_by = h5::has_attribute(file, "created_by") ? h5::read_string_attribute(file, "created_by") : "";
    const auto loss = h5::read_vector<double>(file, "loss");
    summary.last_loss = loss.empty() ? std::nan("") : loss.back();
  } catch (const InputError& e) {
    throw InputError(fmt::format("{}: {}", path, e.what()));
  }
  return summary;
}

std::string to_text(const std::string& path, const CheckpointSummary& s) {
  const auto run = nlohmann::json::parse(s.compatibility_json, nullptr, false);
  std::string out = fmt::format("{:<16}{}\n{:<16}innmf.checkpoint: training state for `innmf train --resume`\n",
                                "file", path, "format");
  out += fmt::format("{:<16}{} epoch{} done, loss {:.6g} after the last\n", "training", s.epoch,
                     s.epoch == 1 ? "" : "s", s.last_loss);
  if (run.is_object()) {
    if (run.contains("point_files")) {
      std::vector<std::string> files;
      for (const auto& f : run["point_files"]) files.push_back(f.get<std::string>());
      const int clips = run.value("clips", 0);
      out += fmt::format("{:<16}{} ({} clip{}, {} points{})\n", "point files", fmt::join(files, ", "), clips,
                         clips == 1 ? "" : "s", run.value("points", std::uint64_t{0}),
                         run.contains("content")
                             ? fmt::format(", content digest {}: any file names", run["content"].get<std::string>())
                             : std::string("; these file names"));
    }
    if (run.contains("model")) out += fmt::format("{:<16}{}\n", "model", run["model"].dump());
    out += fmt::format("{:<16}{} lr {}, f_quantum {}\n", "optimizer", run.value("optimizer", std::string("?")),
                       run.value("lr", 0.0), run.value("f_quantum", 0.0));
  }
  out += fmt::format("{:<16}resume with the same options and point files, --resume {} and --epochs above {}\n",
                     "continue", path, s.epoch);
  out += fmt::format("{:<16}{}\n", "written by", s.created_by.empty() ? "?" : s.created_by);
  return out;
}

std::string to_json(const std::string& path, const CheckpointSummary& s) {
  return nlohmann::json{{"file", path},
                        {"format", kFormat},
                        {"epoch", s.epoch},
                        {"last_loss", std::isfinite(s.last_loss) ? nlohmann::json(s.last_loss) : nlohmann::json()},
                        {"run", nlohmann::json::parse(s.compatibility_json, nullptr, false)},
                        {"created_by", s.created_by}}
      .dump();
}

Checkpoint read_checkpoint(const std::string& path, const std::string& compatibility_json) {
  if (!h5::is_hdf5_file(path)) {
    if (!std::filesystem::exists(path))
      throw InputError(fmt::format("--resume {}: no such file", path));
    if (std::filesystem::is_directory(path))
      throw InputError(fmt::format("--resume {}: is a folder: give a checkpoint file", path));
    throw InputError(fmt::format("--resume {}: not an HDF5 file (truncated or corrupt?): resume from "
                                 "another checkpoint or start afresh",
                                 path));
  }
  Checkpoint c;
  try {
    auto file = h5::open_file_read(path, "resume from another checkpoint or start afresh");
    const auto format = h5::has_attribute(file, "format") ? h5::read_string_attribute(file, "format") : "";
    if (format != kFormat)
      throw InputError(fmt::format("is not a checkpoint (format '{}'): give a file written by --checkpoint", format));
    if (h5::read_int_attribute(file, "format_version") != kVersion)
      throw InputError("checkpoint of another format version");
    c.epoch = static_cast<int>(h5::read_int_attribute(file, "epoch"));
    c.compatibility_json = h5::read_string_attribute(file, "compatibility");
    c.loss = h5::read_vector<double>(file, "loss");
    read_group(file, "template", c.template_params, c.template_state, c.template_scalars);
    read_group(file, "activation", c.activation_params, c.activation_state, c.activation_scalars);
  } catch (const InputError& e) {
    throw InputError(fmt::format("--resume {}: {}", path, e.what()));
  }
  if (static_cast<int>(c.loss.size()) != c.epoch)
    throw InputError(fmt::format("--resume {}: {} loss values for {} epochs: the file is damaged", path,
                                 c.loss.size(), c.epoch));
  auto stored = nlohmann::json::parse(c.compatibility_json, nullptr, false);
  auto now = nlohmann::json::parse(compatibility_json);
  // "content" is a digest of the points (checkpoints before it existed have none). When both
  // runs have one, it decides whether the data are the same, and the files' names may differ:
  // point files get renamed and moved between scratch folders.
  if (stored.is_object() && now.is_object()) {
    if (!stored.contains("content")) {
      now.erase("content");
    } else if (now.contains("content")) {
      if (stored["content"] != now["content"])
        throw InputError(fmt::format("--resume {}: written for other points (content digest {}, these point files' "
                                     "{}): give the point files of that run, in the same order, or start afresh",
                                     path, stored["content"].get<std::string>(), now["content"].get<std::string>()));
      stored.erase("point_files");
      now.erase("point_files");
    }
  }
  const auto difference = first_difference(stored, now);
  if (!difference.empty())
    throw InputError(fmt::format("--resume {}: written for another run ({}): resume with the same "
                                 "options and point files, or start afresh",
                                 path, difference));
  return c;
}

}  // namespace innmf::train
