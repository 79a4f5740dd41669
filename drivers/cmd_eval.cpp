// innmf eval --ref A.wav --ref B.wav … --est X.wav --est Y.wav …: separation quality of
// estimated sources against their references (DESIGN.md §4): SDR, SIR and SAR as mir_eval's
// bss_eval_sources computes them (best permutation by mean SIR), and SI-SDR.

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "innmf/audio/audio_io.hpp"
#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/sep/bss_eval.hpp"

namespace innmf::cli {
namespace {

struct EvalOptions {
  std::vector<std::string> references;  ///< [--ref] one file per source
  std::vector<std::string> estimates;   ///< [--est] as many, in any order
  std::string metrics;                  ///< [--metrics] one JSON line appended
};

/// Reads `paths` (mixed to mono). Every file must be at `sample_rate` [Hz] (0: the first
/// file's) and have the first file's length (mir_eval compares equal lengths; nothing is
/// padded or trimmed).
std::vector<audio::Audio> read_all(const std::vector<std::string>& paths, double& sample_rate,
                                   std::size_t& samples, std::string& first) {
  std::vector<audio::Audio> signals;
  for (const auto& path : paths) {
    auto a = audio::read_audio(path);
    if (first.empty()) {
      first = path;
      sample_rate = a.sample_rate;
      samples = a.samples.size();
    }
    if (a.sample_rate != sample_rate)
      throw UsageError(fmt::format("{} is at {} Hz but {} is at {} Hz: references and estimates "
                                   "must share one sample rate; resample them first",
                                   path, a.sample_rate, first, sample_rate));
    if (a.samples.size() != samples)
      throw InputError(fmt::format("{} has {} samples but {} has {}: references and estimates "
                                   "must have one length (as in mir_eval); trim or pad them first",
                                   path, a.samples.size(), first, samples));
    signals.push_back(std::move(a));
  }
  return signals;
}

/// Warns once for every pair of `paths` that name one file: a source scored against itself
/// makes the interference terms meaningless (SIR of hundreds of dB).
void warn_repeated(const std::vector<std::string>& paths, const std::string& option) {
  for (std::size_t i = 0; i < paths.size(); ++i)
    for (std::size_t j = i + 1; j < paths.size(); ++j) {
      std::error_code ec;
      if (std::filesystem::equivalent(paths[i], paths[j], ec))
        log::warn("{} {} and {} {} are one file: the scores of those sources are not meaningful", option, paths[i],
                  option, paths[j]);
    }
}

std::vector<std::vector<float>> samples_of(std::vector<audio::Audio>& signals) {
  std::vector<std::vector<float>> out;
  for (auto& s : signals) out.push_back(std::move(s.samples));
  return out;
}

nlohmann::json run_eval(const EvalOptions& o) {
  Stopwatch watch;
  double sample_rate = 0;
  std::size_t samples = 0;
  std::string first;
  auto references = read_all(o.references, sample_rate, samples, first);
  auto estimates = read_all(o.estimates, sample_rate, samples, first);
  warn_repeated(o.references, "--ref");
  warn_repeated(o.estimates, "--est");
  const auto scores = sep::score_separation(samples_of(references), samples_of(estimates),
                                            o.references, o.estimates);
  std::fputs(sep::score_table(scores, o.references, o.estimates).c_str(), stdout);
  std::fflush(stdout);
  auto result = sep::to_json(scores);
  result["references"] = o.references;
  result["estimates"] = o.estimates;
  result["sample_rate"] = sample_rate;
  result["samples"] = samples;
  result["filter_taps"] = sep::kDistortionFilterTaps;
  result["seconds"] = watch.seconds();
  log::info("{} of {} samples at {} Hz scored in {:.2f} s", log::counted(o.references.size(), "source"), samples,
            sample_rate, watch.seconds());
  return result;
}

/// Appends `line` and a newline to `path` (created if missing) in one write.
void append_line(const std::string& path, const std::string& line) {
  std::ofstream stream(path, std::ios::app);
  if (!stream) throw InputError(fmt::format("--metrics {}: cannot open the file for appending", path));
  stream << line + '\n';
  stream.close();
  if (stream.fail()) throw InputError(fmt::format("--metrics {}: writing failed: is the disk full?", path));
}

}  // namespace

Command add_eval_command(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand(
      "eval",
      "Score estimated sources against references: SDR, SIR, SAR (BSS Eval, as mir_eval's "
      "bss_eval_sources) and SI-SDR, best permutation by mean SIR");
  auto options = std::make_shared<EvalOptions>();
  auto& o = *options;
  sub->add_option("--ref", o.references,
                  "Reference source (audio, mixed to mono); repeat once per source")
      ->required();
  sub->add_option("--est", o.estimates,
                  "Estimated source, as many as --ref, in any order (matched by the permutation "
                  "of best mean SIR); same rate and length as the references")
      ->required();
  sub->add_option("--metrics", o.metrics,
                  "Append the result (one JSON line) to this file, created if missing; a failed "
                  "run appends nothing");
  add_common_options(*sub, common);

  Command command;
  command.app = sub;
  command.run = [options](const mpi::Comm& comm) {
    const auto& o = *options;
    // Every rank checks the options; rank 0 computes, the others wait for its verdict.
    if (o.references.size() != o.estimates.size())
      throw UsageError(fmt::format("{} --ref but {} --est: give one estimate per reference",
                                   o.references.size(), o.estimates.size()));
    if (!o.metrics.empty()) {
      io::require_writable_path(o.metrics, "--metrics");
      std::vector<std::string> inputs = o.references;
      inputs.insert(inputs.end(), o.estimates.begin(), o.estimates.end());
      io::refuse_input_as_output(o.metrics, "--metrics", inputs);
    }
    mpi::on_root(comm, [&] {
      const auto result = run_eval(o);
      if (!o.metrics.empty()) append_line(o.metrics, result.dump());
    });
    return 0;
  };
  return command;
}

}  // namespace innmf::cli
