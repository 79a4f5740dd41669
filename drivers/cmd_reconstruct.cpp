// innmf reconstruct MODEL.h5 AUDIO --n-fft N: how well a model's templates explain a recording
// at an STFT resolution of the user's choice (DESIGN.md §4): templates sampled at the STFT's
// bins, activations fitted with the templates fixed, the paper's KL and spectral SDR.

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "innmf/audio/audio_io.hpp"
#include "innmf/audio/resample.hpp"
#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/io/model_file.hpp"
#include "innmf/model/classic_nmf.hpp"
#include "innmf/tf/stft.hpp"

namespace innmf::cli {
namespace {

namespace classic = model::classic;

struct ReconstructOptions {
  std::string model;
  std::string audio;
  tf::StftConfig stft;    ///< [--n-fft, --hop, --window]
  std::string window;     ///< empty: the model's window
  bool resample = false;  ///< [--resample] convert the audio to the model's rate
  classic::MuOptions mu;  ///< [--iters, --tol]; β is the model's
  std::string metrics;    ///< [--metrics] one JSON line
};

/// The model's templates sampled at the bin frequencies of `stft` at `sample_rate` [Hz]:
/// (n_bins, K). One branch per model kind. A classic model has templates only at the bins it
/// was learned on, so it serves only the same n_fft at the same rate.
classic::Matrix templates_at_bins(const io::ModelFile& file, const tf::Stft& stft, double sample_rate) {
  if (file.kind() == io::kClassicModelKind) {
    auto model = file.read_classic();
    classic::require_same_bins({model.n_fft, model.header.sample_rate},
                               {stft.config().n_fft, sample_rate});
    return std::move(model.W);
  }
  // iN-NMF models evaluate their template field at the bins (train::TrainedModel::templates_at).
  throw UsageError(fmt::format("{}: `innmf reconstruct` in innmf {} reads classic NMF models (kind "
                               "'nmf', from `innmf nmf`), not '{}' models yet",
                               file.path(), INNMF_VERSION, file.kind()));
}

/// The analysis window: the one the model was trained with unless --window says otherwise.
std::string window_of(const io::ModelFile& file, const std::string& requested) {
  const auto representation = nlohmann::json::parse(file.header().representation_json, nullptr, false);
  const std::string trained =
      representation.is_object() ? representation.value("window", std::string()) : std::string();
  if (requested.empty()) return trained.empty() ? "sqrt-hann" : trained;
  if (!trained.empty() && trained != requested)
    log::warn("--window {} differs from the {} window {} was trained with: magnitudes scale "
              "differently, expect a worse fit",
              requested, trained, file.path());
  return requested;
}

nlohmann::json run_reconstruct(ReconstructOptions& o) {
  Stopwatch watch;
  const io::ModelFile file(o.model);
  const auto& header = file.header();
  auto audio = audio::read_audio(o.audio);
  if (audio.sample_rate != header.sample_rate) {
    if (!o.resample)
      throw UsageError(fmt::format("{} is at {} Hz but {} was trained at {} Hz: give --resample to "
                                   "convert it (libsoxr), or resample it yourself",
                                   o.audio, audio.sample_rate, o.model, header.sample_rate));
    log::info("resampling {} from {} Hz to the model's {} Hz", o.audio, audio.sample_rate,
              header.sample_rate);
    audio = audio::resample(audio, header.sample_rate);
  }
  o.stft.window = tf::parse_window(window_of(file, o.window));
  const tf::Stft stft(o.stft);
  const long n = static_cast<long>(audio.samples.size());
  stft.require_fits(n, o.audio);
  const classic::Matrix W = templates_at_bins(file, stft, audio.sample_rate);

  const tf::MagnitudeSpectrogram magnitude = stft.magnitude(audio.samples.data(), n);
  const classic::Matrix V = classic::compressed(magnitude, header.power);
  const Eigen::Map<const classic::Matrix> X(magnitude.data(), magnitude.cols(), magnitude.rows());
  log::info("{} with {} ({} templates, kind '{}'): STFT n_fft {} hop {} {}, {} bins × {} frames",
            o.audio, o.model, W.cols(), file.kind(), o.stft.n_fft, o.stft.hop,
            tf::window_name(o.stft.window), V.rows(), V.cols());

  auto mu = o.mu;
  mu.beta = header.beta;  // the loss the templates were learned with
  classic::Matrix H = classic::constant_activations(V, W.cols());
  const auto fit = classic::fit_activations(V, W, H, mu, [](const classic::MuProgress& p) {
    log::debug("update {:>5}  loss {:.6g}  ({:.3f} ms)", p.iteration, p.loss, 1e3 * p.seconds);
  });
  const auto metrics = classic::reconstruction_metrics(X, V, W, H, header.power);
  return {{"model", o.model},
          {"audio", o.audio},
          {"kind", file.kind()},
          {"n_fft", o.stft.n_fft},
          {"hop", o.stft.hop},
          {"window", tf::window_name(o.stft.window)},
          {"frames", V.cols()},
          {"iters", fit.iterations},
          {"converged", fit.converged},
          {"beta", mu.beta},
          {"loss", fit.loss.back()},
          {"kl", metrics.kl},
          {"sdr_freq", metrics.sdr_freq},
          {"seconds", watch.seconds()}};
}

}  // namespace

Command add_reconstruct_command(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand(
      "reconstruct",
      "Reconstruct a recording's STFT with a model's templates (activations fitted, templates "
      "fixed): prints KL and spectral SDR");
  auto options = std::make_shared<ReconstructOptions>();
  auto& o = *options;
  sub->add_option("model", o.model, "Model file (HDF5) written by `innmf nmf`")->required();
  sub->add_option("audio", o.audio, "Audio file to reconstruct (mixed to mono)")->required();
  sub->add_option("--n-fft", o.stft.n_fft, "STFT window and FFT length [samples]")->required();
  o.stft.hop = 0;
  sub->add_option("--hop", o.stft.hop, "STFT hop [samples] (0: n_fft / 4)");
  sub->add_option("--window", o.window,
                  "Analysis window: sqrt-hann, hann, hamming, blackman (default: the model's)");
  sub->add_flag("--resample", o.resample,
                "Resample the audio to the model's sample rate (libsoxr) when they differ");
  sub->add_option("--iters", o.mu.iterations, "Maximum number of updates of the activations");
  sub->add_option("--tol", o.mu.tolerance,
                  "Stop once the loss falls by less than this fraction in one update (0: never stop early)");
  sub->add_option("--metrics", o.metrics, "Also write the result (one JSON line) to this file");
  add_common_options(*sub, common);

  Command command;
  command.app = sub;
  command.run = [options](const mpi::Comm& comm) {
    auto& o = *options;
    // Every rank checks the options; rank 0 computes, the others wait for its verdict.
    if (o.stft.hop == 0) o.stft.hop = o.stft.n_fft / 4;
    if (!o.window.empty()) tf::parse_window(o.window);
    const tf::Stft check(o.stft);
    classic::validate(o.mu);
    if (!o.metrics.empty()) io::require_writable_path(o.metrics, "--metrics");
    mpi::on_root(comm, [&] {
      const auto result = run_reconstruct(o);
      const std::string line = result.dump();
      if (!o.metrics.empty()) {
        io::AtomicOutput output(o.metrics, "--metrics");
        std::ofstream stream(output.temporary_path(), std::ios::trunc);
        stream << line << '\n';
        stream.close();
        if (stream.fail())
          throw InputError(fmt::format("--metrics {}: writing failed: is the disk full?", o.metrics));
        output.commit();
      }
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
      log::info("kl {:.4g}, sdr_freq {:.2f} dB after {} updates of the activations",
                result.at("kl").get<double>(), result.at("sdr_freq").get<double>(),
                result.at("iters").get<int>());
    });
    return 0;
  };
  return command;
}

}  // namespace innmf::cli
