#include "cli.hpp"

#include <cmath>
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "innmf/audio/resample.hpp"
#include "innmf/core/error.hpp"
#include "innmf/io/atomic_file.hpp"

namespace innmf::cli {
namespace {

/// CLI11 config reader backed by toml++ (the full TOML grammar, with line numbers in errors).
/// Keys are option long names (n_fft or n-fft). Top-level keys apply to whichever subcommand
/// reads the file (keys that belong to other subcommands are skipped, unknown keys are an
/// error); a table named after a subcommand holds keys for it alone and wins over top-level
/// ones, so one file can configure a whole pipeline.
class TomlConfig : public CLI::Config {
 public:
  explicit TomlConfig(CLI::App* root) : root_(root) {}

  std::string to_config(const CLI::App*, bool, bool, std::string) const override {
    return {};  // writing config files is not offered
  }

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    // CLI11 reads config files on the main app only, after the command line: the subcommand
    // being run is known by now.
    sub_ = nullptr;
    for (auto* parsed : root_->get_subcommands()) sub_ = parsed;
    if (!sub_) return {};
    path_ = root_->get_option("--config")->as<std::string>();
    io::protect_input(path_);  // no output of this run may replace its own config
    std::stringstream buffer;
    buffer << input.rdbuf();
    toml::table root;
    try {
      root = toml::parse(buffer.str());
    } catch (const toml::parse_error& e) {
      throw CLI::ConfigError(fmt::format("--config {}: line {}, column {}: {}", path_,
                                         e.source().begin.line, e.source().begin.column,
                                         e.description()));
    }
    std::map<std::string, std::vector<std::string>> values;  // option name → inputs
    if (const auto* own = root[sub_->get_name()].as_table()) add_table(*own, values, true);
    add_table(root, values, false);
    std::vector<CLI::ConfigItem> items;
    for (auto& [name, inputs] : values) {
      CLI::ConfigItem item;
      item.parents = {sub_->get_name()};
      item.name = name;
      item.inputs = inputs;
      items.push_back(std::move(item));
    }
    return items;
  }

 private:
  static std::string normalise(std::string key) {
    for (auto& c : key)
      if (c == '_') c = '-';
    return key;
  }

  bool is_subcommand_name(const std::string& key) const {
    const auto* root = sub_->get_parent();
    if (!root) return false;
    for (const auto* other : root->get_subcommands([](const CLI::App*) { return true; }))
      if (other->get_name() == key) return true;
    return false;
  }

  bool belongs_to_other_subcommand(const std::string& name) const {
    const auto* root = sub_->get_parent();
    if (!root) return false;
    for (const auto* other : root->get_subcommands([](const CLI::App*) { return true; }))
      if (other != sub_ && other->get_option_no_throw("--" + name)) return true;
    return false;
  }

  std::string scalar_text(const toml::node& node, const std::string& key) const {
    if (auto s = node.value<std::string>(); s && node.is_string()) return *s;
    if (node.is_boolean()) return *node.value<bool>() ? "true" : "false";
    if (node.is_integer()) return std::to_string(*node.value<std::int64_t>());
    if (node.is_floating_point()) return fmt::format("{}", *node.value<double>());
    throw CLI::ConfigError(fmt::format("--config {}: key '{}' must be a string, number or boolean", path_, key));
  }

  void add_table(const toml::table& table, std::map<std::string, std::vector<std::string>>& values,
                 bool own_table) const {
    std::map<std::string, std::string> keys_here;  // option name → its key in this table
    for (const auto& [raw_key, node] : table) {
      const std::string key(raw_key.str());
      if (node.is_table()) {
        if (own_table || !is_subcommand_name(key))
          throw CLI::ConfigError(fmt::format("--config {}: [{}] is not a subcommand's table", path_, key));
        continue;  // another subcommand's table
      }
      const std::string name = normalise(key);
      const bool known = sub_->get_option_no_throw("--" + name) || sub_->get_option_no_throw(name);
      if (!known) {
        if (!own_table && belongs_to_other_subcommand(name)) continue;
        throw CLI::ConfigError(fmt::format("--config {}: unknown option '{}' for `innmf {}`",
                                           path_, key, sub_->get_name()));
      }
      // n_fft and n-fft are one option: both in one table is a contradiction, not a choice.
      if (const auto [spelled, inserted] = keys_here.emplace(name, key); !inserted)
        throw CLI::ConfigError(fmt::format("--config {}: '{}' and '{}' are the same option: keep one", path_,
                                           spelled->second, key));
      if (values.count(name)) continue;  // the subcommand's own table was read first and wins
      std::vector<std::string> inputs;
      if (const auto* array = node.as_array()) {
        for (const auto& element : *array) inputs.push_back(scalar_text(element, key));
      } else {
        inputs.push_back(scalar_text(node, key));
      }
      values[name] = inputs;
    }
  }

  CLI::App* root_;
  mutable const CLI::App* sub_ = nullptr;  // the subcommand being run
  mutable std::string path_;               // the config file, for messages
};

nlohmann::json typed(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  if (!text.empty() && end == text.c_str() + text.size()) {
    if (text.find_first_of(".eEnN") == std::string::npos) {
      // Integers beyond int64 (a --seed up to 2^64 − 1) stay exact as unsigned; a negative one
      // beyond int64 keeps its text.
      errno = 0;
      const long long value = std::strtoll(text.c_str(), nullptr, 10);
      if (errno != ERANGE) return value;
      errno = 0;
      const unsigned long long unsigned_value = std::strtoull(text.c_str(), nullptr, 10);
      if (errno != ERANGE && text.front() != '-') return unsigned_value;
      return text;
    }
    return number;
  }
  return text;
}

}  // namespace

log::Verbosity CommonOptions::verbosity() const {
  if (quiet) return log::Verbosity::quiet;
  if (verbose) return log::Verbosity::verbose;
  return log::Verbosity::normal;
}

CLI::Validator unsigned_64_bit() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        const bool digits = !value.empty() && value.size() <= 20 &&
                            std::all_of(value.begin(), value.end(), [](unsigned char c) { return std::isdigit(c); });
        if (!digits || (value.size() == 20 && value > "18446744073709551615"))
          return fmt::format("'{}' is not a whole number from 0 to 18446744073709551615", value);
        return "";
      },
      "");
}

CLI::Validator sample_rate() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        double rate = 0;
        try {
          std::size_t used = 0;
          rate = std::stod(value, &used);
          if (used != value.size()) rate = -1;
        } catch (const std::exception&) {
          rate = -1;
        }
        if (!(rate == 0 || (rate >= audio::kMinTargetRate && rate <= audio::kMaxTargetRate)))
          return fmt::format("{} is out of range: give 0 (no resampling) or a rate from {} to {} Hz", value,
                             audio::kMinTargetRate, audio::kMaxTargetRate);
        // Audio files store whole rates: a fractional one would be written rounded into the
        // outputs' headers, which would then disagree with their samples.
        if (rate != std::round(rate))
          return fmt::format("{} is not a whole number of Hz: audio files store whole rates (e.g. {:.0f})", value,
                             std::round(rate));
        return "";
      },
      "");
}

void add_common_options(CLI::App& sub, CommonOptions& common) {
  sub.add_option("--threads", common.threads,
                 "OpenMP threads per rank (0: OpenMP's default, i.e. OMP_NUM_THREADS or all cores)")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            // (CLI11's NonNegativeNumber names its bound as a 300-digit number)
            return !value.empty() && value[0] == '-' ? "give 0 (OpenMP's default) or a positive count" : "";
          },
          ""))
      ->group("Common options");
  auto* verbose = sub.add_flag("-v,--verbose", common.verbose, "Log more (debug lines: timings per phase, "
                                                                 "updates of a fit)")
                      ->group("Common options");
  // Both at once (one of them from a config file, say) is a contradiction, not a silent choice.
  sub.add_flag("-q,--quiet", common.quiet, "Log warnings and errors only")->group("Common options")->excludes(verbose);
  sub.footer("Every option can also come from a TOML file: innmf " + sub.get_name() +
             " --config FILE.toml … (keys are option names; the command line wins).\n");
}

void add_config_option(CLI::App& app) {
  // On the main app because CLI11 reads config files there only; subcommands fall through to
  // it, so `innmf features --config f.toml` works as users expect.
  app.fallthrough();
  app.set_config("--config", "",
                 "Read options from a TOML file: keys are the subcommand's option names, a "
                 "[subcommand] table wins over top-level keys, the command line wins over both")
      ->check(CLI::ExistingFile);
  app.config_formatter(std::make_shared<TomlConfig>(&app));
}

std::string resolved_config_json(const CLI::App& sub) {
  nlohmann::json options = nlohmann::json::object();
  for (const auto* option : sub.get_options()) {
    std::string name = option->get_single_name();
    if (name.empty() || name == "help" || name == "config" || name == "h") continue;
    const auto& results = option->results();
    if (option->count() > 0 || !results.empty()) {
      if (option->get_items_expected_max() > 1 || results.size() > 1) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& r : results) list.push_back(typed(r));
        options[name] = list;
      } else if (!results.empty()) {
        options[name] = typed(results.front());
      }
    } else if (option->get_expected_min() == 0) {
      options[name] = false;  // a flag not given
    } else if (!option->get_default_str().empty()) {
      options[name] = typed(option->get_default_str());
    } else {
      options[name] = nullptr;
    }
  }
  return nlohmann::json{{"command", sub.get_name()}, {"options", options},
                        {"innmf_version", INNMF_VERSION}}
      .dump();
}

namespace {
/// `audio` (read from `path`) at `rate` Hz: itself, resampled, or a UsageError (read_audio_at_rate).
template <typename AnyAudio>
AnyAudio at_rate(AnyAudio audio, const std::string& path, double rate, bool resample,
                 const std::string& how_to_resample) {
  if (audio.sample_rate == rate) return audio;
  if (!resample)
    throw UsageError(fmt::format("{} is at {} Hz, not {} Hz: give {} to resample it (libsoxr), or "
                                 "resample it yourself",
                                 path, audio.sample_rate, rate, how_to_resample));
  log::info("resampling {} from {} Hz to {} Hz", path, audio.sample_rate, rate);
  return audio::resample(audio, rate, path);
}
}  // namespace

audio::Audio read_audio_at_rate(const std::string& path, double rate, bool resample,
                                const std::string& how_to_resample) {
  return at_rate(audio::read_audio(path), path, rate, resample, how_to_resample);
}

audio::MultichannelAudio read_audio_channels_at_rate(const std::string& path, double rate, bool resample,
                                                     const std::string& how_to_resample) {
  return at_rate(audio::read_audio_channels(path), path, rate, resample, how_to_resample);
}

void write_metrics_line(const std::string& path, const std::string& line) {
  io::AtomicOutput output(path, "--metrics");
  std::ofstream stream(output.temporary_path(), std::ios::trunc);
  stream << line << '\n';
  stream.close();
  if (stream.fail()) throw InputError(fmt::format("--metrics {}: writing failed: is the disk full?", path));
  output.commit();
}

}  // namespace innmf::cli
