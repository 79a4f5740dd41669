#pragma once
// Command-line plumbing shared by the subcommands: common options, TOML config files, the
// resolved configuration echoed into output files.

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>

#include "innmf/audio/audio_io.hpp"
#include "innmf/core/log.hpp"
#include "innmf/mpi/comm.hpp"

namespace innmf::cli {

/// Options every subcommand has.
struct CommonOptions {
  int threads = 0;  ///< OpenMP threads per rank; 0: OpenMP's default (OMP_NUM_THREADS)
  bool verbose = false;
  bool quiet = false;
  log::Verbosity verbosity() const;
};

/// A subcommand: its CLI11 app and what runs it. `run` returns the exit code.
struct Command {
  CLI::App* app = nullptr;
  std::function<int(const mpi::Comm&)> run;
};

/// Adds --threads, --verbose and --quiet to `sub`.
void add_common_options(CLI::App& sub, CommonOptions& common);

/// Accepts a whole number from 0 to 2⁶⁴ − 1 written in decimal digits only. CLI11 would read
/// "-1" into an unsigned option as 2⁶⁴ − 1 and ignore digits past the range; a seed must be
/// recorded as given.
CLI::Validator unsigned_64_bit();

/// Accepts a --sr value: 0 (no resampling) or a rate from audio::kMinTargetRate to
/// audio::kMaxTargetRate [Hz].
CLI::Validator sample_rate();

/// Adds --config FILE.toml to the main app (call before adding subcommands): a TOML reader
/// (toml++) that fills the options of whichever subcommand runs. See README, "Config files".
void add_config_option(CLI::App& app);

/// Reads `path` (mono) at `rate` Hz. When the file is at another rate it is resampled (libsoxr)
/// if `resample`, else a UsageError says so and names `how_to_resample` (e.g. "--sr 8000").
audio::Audio read_audio_at_rate(const std::string& path, double rate, bool resample,
                                const std::string& how_to_resample);
/// The same with the channels kept apart (each resampled alike).
audio::MultichannelAudio read_audio_channels_at_rate(const std::string& path, double rate, bool resample,
                                                     const std::string& how_to_resample);

/// Writes `line` and a newline to `path` as a whole new file (atomically: io::AtomicOutput),
/// for --metrics of one-shot commands. InputError names --metrics on failure.
void write_metrics_line(const std::string& path, const std::string& line);

/// The resolved options of `sub` (given, from the config file, or defaults) as a JSON object.
std::string resolved_config_json(const CLI::App& sub);

// Subcommand registration (one file each in drivers/).
Command add_features_command(CLI::App& app, CommonOptions& common);
Command add_train_command(CLI::App& app, CommonOptions& common);
Command add_info_command(CLI::App& app, CommonOptions& common);
Command add_nmf_command(CLI::App& app, CommonOptions& common);
Command add_reconstruct_command(CLI::App& app, CommonOptions& common);
Command add_export_command(CLI::App& app, CommonOptions& common);
Command add_separate_command(CLI::App& app, CommonOptions& common);
Command add_eval_command(CLI::App& app, CommonOptions& common);

}  // namespace innmf::cli
