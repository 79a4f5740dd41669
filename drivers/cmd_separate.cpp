// innmf separate MIX --model A.h5 --model B.h5 … -o OUTDIR: one WAV per source model
// (DESIGN.md §4). The arithmetic is in sep::separate; this file reads, checks and writes.

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "cli.hpp"
#include "innmf/audio/audio_io.hpp"
#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/io/model_file.hpp"
#include "innmf/sep/bss_eval.hpp"
#include "innmf/sep/separation.hpp"
#include "innmf/sep/source_model.hpp"
#include "innmf/tf/stft.hpp"

namespace innmf::cli {
namespace {

constexpr const char* kFreeSourceStem = "free";

struct SeparateOptions {
  std::string mixture;
  std::vector<std::string> models;      ///< [--model] one per source
  std::string output_dir;               ///< [-o]
  tf::StftConfig stft;                  ///< [--n-fft, --hop]; n_fft 0: the models'
  std::string window;                   ///< [--window] empty: the models'
  double sample_rate = 0;               ///< [--sr] 0: the mixture's
  std::string fit = "mu";               ///< [--fit]
  std::string template_sampling = "grid";  ///< [--template-sampling]
  sep::SeparationOptions separation;    ///< [--iters, --tol, --lr, --mask-power, --free, --seed]
  std::vector<std::string> references;  ///< [--ref] one per model, same order
  std::string metrics;                  ///< [--metrics] one JSON line
  bool mono = false;                    ///< [--mono] mono sources from a multichannel mixture
  double block_seconds = 60;            ///< [--block] seconds of the mixture fitted and written at a time
};

/// Every model must fit the analysis: same compression p and β (they are fitted jointly),
/// templates that know the sample rate. (Output names: checked with the options.)
void check_models(const std::vector<sep::SourceModel>& models, double sample_rate, bool rate_given) {
  const auto& first = models.front();
  for (const auto& model : models) {
    if (model.header().power != first.header().power || model.header().beta != first.header().beta)
      throw UsageError(fmt::format("--model {} approximates |X|^{} with β = {}, but {} |X|^{} with "
                                   "β = {}: sources are fitted jointly, train them alike",
                                   model.path(), model.header().power, model.header().beta,
                                   first.path(), first.header().power, first.header().beta));
    if (model.header().sample_rate != sample_rate && !rate_given)
      throw UsageError(fmt::format("the mixture is at {} Hz but --model {} was trained at {} Hz: "
                                   "give --sr {} to resample the mixture to the model's rate, or --sr {} "
                                   "to keep the mixture's (every model's templates are sampled at its bins)",
                                   sample_rate, model.path(), model.header().sample_rate,
                                   model.header().sample_rate, sample_rate));
    if (model.header().sample_rate != sample_rate && model.kind() == io::kClassicModelKind)
      throw UsageError(fmt::format("--model {} is a classic NMF model trained at {} Hz: its templates exist only "
                                   "at its own bins, so the mixture must be at that rate: give --sr {}",
                                   model.path(), model.header().sample_rate, model.header().sample_rate));
  }
}

/// Throws UsageError before any work unless `folder` exists or can be made: its nearest
/// existing ancestor must be a writable folder.
void require_creatable_folder(const std::string& folder) {
  if (folder.empty()) throw UsageError("-o: give a folder for the separated sources (an empty path is none)");
  std::filesystem::path existing = std::filesystem::absolute(folder);
  std::error_code ec;
  while (!std::filesystem::exists(existing, ec) && existing.has_parent_path() && existing != existing.parent_path())
    existing = existing.parent_path();
  if (!std::filesystem::is_directory(existing, ec))
    throw UsageError(fmt::format("-o {}: {} is not a folder", folder, existing.string()));
  if (::access(existing.c_str(), W_OK) != 0)
    throw UsageError(fmt::format("-o {}: {} is not writable: give an output folder you can write to", folder,
                                 existing.string()));
}

/// --n-fft if given, else the STFT size the models were trained on if they agree.
int choose_n_fft(const std::vector<sep::SourceModel>& models, int requested) {
  if (requested > 0) return requested;
  const int trained = models.front().trained_n_fft();
  const bool agree = trained > 0 && std::all_of(models.begin(), models.end(), [&](const sep::SourceModel& model) {
                       return model.trained_n_fft() == trained;
                     });
  if (agree) return trained;
  std::vector<std::string> sizes;
  bool any_stft = false;
  for (const auto& model : models) {
    any_stft = any_stft || model.trained_n_fft() > 0;
    sizes.push_back(fmt::format("{}: {}", model.path(),
                                model.trained_n_fft() ? fmt::format("STFT {}", model.trained_n_fft())
                                                      : std::string("no STFT (cqt or wavelet points)")));
  }
  throw UsageError(fmt::format("give --n-fft: {} ({})",
                               any_stft ? "the models were not all trained on one STFT size"
                                        : "no model was trained on an STFT, so there is no size to start from",
                               fmt::join(sizes, "; ")));
}

/// What a separation reports: the JSON line and, with --ref, the score table.
struct SeparateResult {
  nlohmann::json line;
  std::string table;  ///< empty without --ref
};

SeparateResult run_separate(SeparateOptions& o) {
  Stopwatch watch;
  std::vector<sep::SourceModel> models;
  for (const auto& path : o.models) models.push_back(sep::SourceModel::load(path));
  const bool rate_given = o.sample_rate > 0;
  // The activations are fitted on the mono mix-down; its masks then filter every channel.
  auto mixture_channels = read_audio_channels_at_rate(
      o.mixture, rate_given ? o.sample_rate : audio::probe_audio(o.mixture).sample_rate, rate_given, "--sr");
  const std::size_t n_channels = mixture_channels.channels.size();
  // A mono file's one channel is its mix-down: moved rather than copied (on a long recording the
  // samples are the largest buffer a separation in blocks holds).
  const auto mixture = n_channels == 1 ? audio::Audio{std::move(mixture_channels.channels.front()),
                                                      mixture_channels.sample_rate}
                                       : mixture_channels.mono_mixdown();
  const double rate = mixture.sample_rate;
  // The fit sees the mix-down only: if it is silent there is nothing to separate, even where
  // the channels are not (L = −R cancels).
  const auto silent = [](const std::vector<float>& samples) {
    return std::all_of(samples.begin(), samples.end(), [](float v) { return v == 0.0f; });
  };
  if (silent(mixture.samples)) {
    const bool channels_silent =
        n_channels == 1 || std::all_of(mixture_channels.channels.begin(), mixture_channels.channels.end(), silent);
    throw InputError(channels_silent
                         ? fmt::format("{}: the mixture is silent: nothing to separate", o.mixture)
                         : fmt::format("{}: its channels cancel in the mono mix-down (e.g. left = −right), on which "
                                       "the sources are fitted: separate one channel (e.g. `sox {} left.wav "
                                       "remix 1`)",
                                       o.mixture, o.mixture));
  }
  sep::warn_if_dc_offset(mixture.samples, o.mixture);
  const bool keep_channels = n_channels > 1 && !o.mono;
  const bool with_free = o.separation.free_templates > 0;
  check_models(models, rate, rate_given);

  // References are checked before any work: their count, rate and length.
  std::vector<std::vector<float>> references;
  for (const auto& path : o.references) {
    auto reference = read_audio_at_rate(path, rate, rate_given, fmt::format("--sr {}", rate));
    if (reference.samples.size() != mixture.samples.size())
      throw InputError(fmt::format("--ref {} has {} samples but the mixture {} has {} (at {} Hz): "
                                   "references must be as long as the mixture",
                                   path, reference.samples.size(), o.mixture, mixture.samples.size(), rate));
    references.push_back(std::move(reference.samples));
  }
  sep::check_references(references, o.references);  // silent or unusable: say so before the work

  o.stft.n_fft = choose_n_fft(models, o.stft.n_fft);
  // (after the errors a user must fix first: a warning and then "give --n-fft" reads as if the
  // warning were the problem)
  for (const auto& model : models) {
    sep::warn_if_band_not_covered(model, rate);
    sep::warn_if_trained_on_peaks_alone(model);
  }
  if (o.stft.hop == 0) o.stft.hop = std::max(1, o.stft.n_fft / 4);
  o.stft.window = tf::parse_window(sep::choose_window(models, o.window));
  const tf::Stft stft(o.stft);
  const long n = static_cast<long>(mixture.samples.size());
  stft.require_fits(n, o.mixture);
  stft.require_resynthesis(o.mixture);

  std::vector<model::classic::Matrix> templates;
  const auto sampling = sep::parse_template_sampling(o.template_sampling);
  for (const auto& model : models) templates.push_back(model.templates_at_bins(o.stft.n_fft, rate, sampling));
  o.separation.power = models.front().header().power;
  o.separation.beta = models.front().header().beta;
  o.separation.fit = sep::parse_fit_method(o.fit);
  const std::string channels_note =
      n_channels == 1 ? "mono"
                      : fmt::format("{} channels ({})", n_channels,
                                    keep_channels ? "the mix-down's masks filter each" : "sources mixed to mono");
  // Frames per block: the fit and the resynthesis hold this many frames' spectra at a time.
  if (o.block_seconds > 0)
    o.separation.block_frames = static_cast<long>(std::ceil(o.block_seconds * rate / o.stft.hop));
  const bool in_blocks = o.separation.block_frames > 0 && o.separation.block_frames < stft.n_frames(n);
  // Before the line that announces the work. Every output goes to a temporary first and appears
  // only once all are written; a folder made here is removed again if that fails or a signal
  // ends the run.
  const io::OutputFolder folder(o.output_dir, "-o");  // (outlives `outputs`: their temporaries go first)
  log::info("{}: {}{}, STFT n_fft {} hop {} {}, {} Hz, {}, fit {} ({} updates at most{})", o.mixture,
            log::counted(models.size(), "source"), with_free ? fmt::format(" + {} free templates", o.separation.free_templates) : "",
            o.stft.n_fft, o.stft.hop, tf::window_name(o.stft.window), rate, channels_note, o.fit,
            o.separation.iterations,
            in_blocks ? fmt::format(", in blocks of {} s", o.block_seconds) : std::string());
  if (!keep_channels) mixture_channels.channels = {};  // the mix-down is all that is read: free the rest

  const std::size_t n_sources = models.size() + (with_free ? 1 : 0);
  std::vector<std::unique_ptr<io::AtomicOutput>> outputs;
  std::vector<std::unique_ptr<audio::WavWriter>> writers;
  std::vector<std::string> written;
  for (std::size_t s = 0; s < n_sources; ++s) {
    const std::string stem = s < models.size() ? models[s].stem() : kFreeSourceStem;
    written.push_back((std::filesystem::path(o.output_dir) / (stem + ".wav")).string());
    outputs.push_back(std::make_unique<io::AtomicOutput>(written.back(), "-o"));
    writers.push_back(std::make_unique<audio::WavWriter>(outputs.back()->temporary_path(),
                                                         keep_channels ? static_cast<int>(n_channels) : 1, rate,
                                                         "float", static_cast<std::uint64_t>(n)));
  }
  // Float WAVs keep samples beyond full scale (a loud or clipped mixture's sources can exceed
  // it); a later conversion to 16-bit would clip them, so say so once.
  float peak = 0;
  std::string loudest;
  // With --ref, the scored estimates: each source's mono mix-down, kept whole.
  std::vector<std::vector<float>> estimates(references.size());
  for (auto& estimate : estimates) estimate.reserve(static_cast<std::size_t>(n));
  const auto write_block = [&](long begin, long count, const std::vector<std::vector<std::vector<float>>>& sources) {
    for (std::size_t s = 0; s < sources.size(); ++s) {
      std::vector<const float*> channels;
      for (const auto& channel : sources[s]) {
        channels.push_back(channel.data());
        for (float v : channel)
          if (std::abs(v) > peak) {
            peak = std::abs(v);
            loudest = written[s];
          }
      }
      writers[s]->write(channels, static_cast<std::size_t>(count));
      if (s >= estimates.size()) continue;
      estimates[s].resize(static_cast<std::size_t>(begin + count));
      audio::mix_down(channels, static_cast<std::size_t>(count), estimates[s].data() + begin);
    }
  };
  sep::MixtureSignals signals{mixture.samples.data(), {}, n};
  if (keep_channels)
    for (const auto& channel : mixture_channels.channels) signals.filtered.push_back(channel.data());
  const auto separation = sep::separate_blocks(signals, stft, templates, o.separation, write_block);
  for (auto& writer : writers) writer->finish();
  const auto& fit_loss = separation.fit.loss;
  if (fit_loss.size() > 1 && fit_loss.back() > fit_loss.front())
    log::warn("the fit's loss rose from {:.4g} to {:.4g}: the activations diverged and the sources are likely "
              "poor{}",
              fit_loss.front(), fit_loss.back(),
              o.fit == "rprop" ? fmt::format("; lower --lr (now {})", o.separation.learning_rate) : std::string());
  if (peak > 1.0f)
    log::warn("{} peaks at {:.2f}, above full scale (32-bit float WAV keeps it): lower the gain before converting "
              "to a fixed-point format (e.g. `sox --norm=-1 IN.wav -b 16 OUT.wav`), or it clips",
              loudest, peak);

  std::string table;
  nlohmann::json result{{"mixture", o.mixture},
                        {"models", o.models},
                        {"sample_rate", rate},
                        {"n_fft", o.stft.n_fft},
                        {"hop", o.stft.hop},
                        {"window", tf::window_name(o.stft.window)},
                        {"fit", o.fit},
                        {"template_sampling", o.template_sampling},
                        {"iters", separation.fit.iterations},
                        // rprop has no stopping test (--tol is mu's): null, not a false "did not converge"
                        {"converged", o.separation.fit == sep::FitMethod::mu ? nlohmann::json(separation.fit.converged)
                                                                              : nlohmann::json(nullptr)},
                        {"loss", separation.fit.loss.back()},
                        {"blocks", separation.fit.blocks},
                        {"mask_power", o.separation.mask_power},
                        {"free", o.separation.free_templates},
                        {"channels", keep_channels ? n_channels : 1}};
  if (!references.empty()) {
    // One reference per model, and one more for the free source when given (it comes last).
    std::vector<std::string> estimate_names, names;
    for (std::size_t s = 0; s < references.size(); ++s) {
      estimate_names.push_back(s < models.size() ? "the source separated with " + models[s].path()
                                                 : std::string("the free source (--free)"));
      names.push_back(std::filesystem::path(written[s]).filename().string());
    }
    const auto scores = sep::score_separation(references, estimates, o.references, estimate_names);
    result["references"] = o.references;
    result.update(sep::to_json(scores));
    table = sep::score_table(scores, o.references, names);
  }
  result["outputs"] = written;
  result["seconds"] = watch.seconds();
  for (auto& output : outputs) output->commit();
  if (!o.metrics.empty()) write_metrics_line(o.metrics, result.dump());
  return {result, table};
}

void report(const SeparateResult& result) {
  std::printf("%s\n", result.line.dump().c_str());
  std::fflush(stdout);
  log::info("wrote {} after {} (loss {:.4g})", fmt::join(result.line.at("outputs"), ", "),
            log::counted(result.line.at("iters").get<std::size_t>(), "update"), result.line.at("loss").get<double>());
  // The table goes to the log (stderr), so that stdout holds the JSON line only.
  std::istringstream lines(result.table);
  for (std::string line; std::getline(lines, line);) log::info("{}", line);
}

}  // namespace

Command add_separate_command(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand(
      "separate",
      "Separate a mixture into one WAV per source model (templates fixed, activations fitted on "
      "the mixture, soft masks, mixture phase)");
  auto options = std::make_shared<SeparateOptions>();
  auto& o = *options;
  sub->add_option("mixture", o.mixture,
                  "The mixture (audio file; a multichannel one is separated on its mono mix-down, "
                  "and the masks filter each channel)")
      ->required();
  sub->add_option("--model", o.models,
                  "Model of one source (`innmf train` or `innmf nmf`); repeat once per source")
      ->required();
  sub->add_option("-o,--output", o.output_dir,
                  "Folder for the separated sources (created if missing): MODEL_STEM.wav per "
                  "model and free.wav for --free, 32-bit float WAV as long as the mixture, with its "
                  "channels")
      ->required();
  o.stft.n_fft = 0;
  o.stft.hop = 0;
  sub->add_option("--n-fft", o.stft.n_fft,
                  "STFT window and FFT length [samples] (default: the models' own, if they agree)");
  sub->add_option("--hop", o.stft.hop, "STFT hop [samples] (0: n_fft / 4)");
  sub->add_option("--window", o.window,
                  "Analysis window: sqrt-hann, hann, hamming, blackman (default: the models')");
  sub->add_option("--sr", o.sample_rate,
                  "Resample the mixture and references to this whole rate [Hz], 1000 to 1000000 (libsoxr); "
                  "needed when the models were trained at another rate")
      ->check(cli::sample_rate());
  sub->add_option("--fit", o.fit, "How the activations are fitted: mu (multiplicative updates) or "
                                  "rprop (the paper's gradient fit)")
      ->capture_default_str();
  sub->add_option("--template-sampling", o.template_sampling,
                  "iN-NMF models between their training frequencies: grid (evaluate at the training "
                  "frequencies of any representation, interpolate linearly: no ripple) or direct "
                  "(evaluate the networks at the bins)")
      ->capture_default_str();
  auto& s = o.separation;
  sub->add_option("--iters", s.iterations, "Maximum number of updates of the activations")->capture_default_str();
  sub->add_option("--tol", s.tolerance,
                  "mu: stop once the loss falls by less than this fraction in one update (0: never)")
      ->capture_default_str();
  sub->add_option("--lr", s.learning_rate, "rprop: initial step size")->capture_default_str();
  sub->add_option("--mask-power", s.mask_power,
                  "Soft-mask exponent on the sources' magnitude estimates (1: magnitude ratio, 2: "
                  "Wiener-like)")
      ->capture_default_str();
  sub->add_option("--free", s.free_templates,
                  "Add this many free templates learned on the mixture, for a source without a "
                  "model (written to free.wav)")
      ->capture_default_str();
  sub->add_option("--seed", s.seed, "Seed of the free templates' initial values")->check(unsigned_64_bit())->capture_default_str();
  sub->add_option("--ref", o.references,
                  "Reference signal of each model's source, in --model order, and optionally one "
                  "more for the --free source: adds SDR/SIR/SAR (BSS Eval) and SI-SDR to the "
                  "output, scored on mono mix-downs");
  sub->add_option("--metrics", o.metrics, "Also write the result (one JSON line) to this file");
  sub->add_option("--block", o.block_seconds,
                  "Seconds of the mixture whose spectrogram is held at a time (0: all): bounds memory on "
                  "long recordings; with fixed templates each block is fitted on its own (--tol judged per "
                  "block), with --free the fit still holds the whole spectrogram")
      ->capture_default_str();
  sub->add_flag("--mono", o.mono,
                "Write mono sources (separated from the mix-down) even when the mixture has several "
                "channels");
  add_common_options(*sub, common);

  Command command;
  command.app = sub;
  command.run = [options](const mpi::Comm& comm) {
    auto& o = *options;
    // Every rank checks the options; rank 0 separates, the others wait for its verdict.
    sep::validate(o.separation);
    sep::parse_fit_method(o.fit);
    sep::parse_template_sampling(o.template_sampling);
    if (!o.window.empty()) tf::parse_window(o.window);
    if (o.stft.n_fft != 0) {
      tf::StftConfig check = o.stft;
      if (check.hop == 0) check.hop = std::max(1, check.n_fft / 4);
      const tf::Stft validated(check);
    }
    if (o.sample_rate < 0) throw UsageError(fmt::format("--sr {}: must be positive", o.sample_rate));
    if (!(o.block_seconds == 0 || (o.block_seconds >= 1 && std::isfinite(o.block_seconds))))
      throw UsageError(fmt::format("--block {}: give 0 (the whole mixture at once) or at least 1 second",
                                   o.block_seconds));
    if (o.models.size() + (o.separation.free_templates > 0 ? 1 : 0) < 2)
      throw UsageError("separation needs at least two sources: give another --model, or --free K "
                       "for a source that has no model");
    const bool with_free = o.separation.free_templates > 0;
    if (!o.references.empty() && o.references.size() != o.models.size() &&
        !(with_free && o.references.size() == o.models.size() + 1))
      throw UsageError(fmt::format("{} --ref for {} --model: give one reference per model, in the "
                                   "same order{}",
                                   o.references.size(), o.models.size(),
                                   with_free ? ", and optionally one for the --free source last" : ""));
    if (std::filesystem::exists(o.output_dir) && !std::filesystem::is_directory(o.output_dir))
      throw UsageError(fmt::format("-o {}: exists and is not a folder", o.output_dir));
    require_creatable_folder(o.output_dir);
    if (!o.metrics.empty()) io::require_writable_path(o.metrics, "--metrics");
    // No output may be one of the inputs (e.g. the mixture inside -o, named like a model).
    std::vector<std::string> inputs = o.models;
    inputs.push_back(o.mixture);
    inputs.insert(inputs.end(), o.references.begin(), o.references.end());
    // Each source is written to OUTDIR/STEM.wav: two models of one stem (a/piano.h5, b/piano.h5)
    // or a model named like the free source would overwrite each other.
    std::vector<std::string> stems;
    if (o.separation.free_templates > 0) stems.push_back(kFreeSourceStem);
    for (const auto& model : o.models) {
      const auto stem = std::filesystem::path(model).stem().string();
      if (std::find(stems.begin(), stems.end(), stem) != stems.end())
        throw UsageError(fmt::format("--model {}: another source is also written to {}.wav{}: each source is "
                                     "named after its model file, so give the model files different names",
                                     model, stem, stem == kFreeSourceStem ? " (the --free source)" : ""));
      stems.push_back(stem);
    }
    std::vector<std::pair<std::string, std::string>> outputs{{"--metrics", o.metrics}};
    for (const auto& stem : stems) {
      const auto path = (std::filesystem::path(o.output_dir) / (stem + ".wav")).string();
      // libsndfile opens the temporary file, whose name is longer.
      if (const auto temporary = io::temporary_path_for(path); temporary.size() > audio::kMaxAudioPathBytes)
        throw UsageError(fmt::format("-o {}: the path of {}.wav would be {} bytes ({} while it is written); "
                                     "libsndfile opens paths of at most {}: choose a shorter folder",
                                     o.output_dir.substr(0, 60) + (o.output_dir.size() > 60 ? "…" : ""), stem,
                                     path.size(), temporary.size(), audio::kMaxAudioPathBytes));
      io::refuse_input_as_output(path, "-o", inputs);
      outputs.emplace_back("-o", path);
    }
    io::refuse_shared_outputs(outputs);
    if (!o.metrics.empty()) io::refuse_input_as_output(o.metrics, "--metrics", inputs);
    mpi::on_root(comm, [&] { report(run_separate(o)); });
    return 0;
  };
  return command;
}

}  // namespace innmf::cli
