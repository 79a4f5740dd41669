// innmf reconstruct MODEL.h5 AUDIO --n-fft N: how well a model's templates explain a recording
// at an STFT resolution of the user's choice (DESIGN.md §4): templates sampled at the STFT's
// bins, activations fitted with the templates fixed, the paper's KL and spectral SDR.

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "innmf/audio/audio_io.hpp"
#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/model/classic_nmf.hpp"
#include "innmf/sep/source_model.hpp"
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
  std::string template_sampling = "grid";  ///< [--template-sampling]
};

nlohmann::json run_reconstruct(ReconstructOptions& o) {
  Stopwatch watch;
  const auto model = sep::SourceModel::load(o.model);
  const auto& header = model.header();
  const auto audio = read_audio_at_rate(o.audio, header.sample_rate, o.resample,
                                        fmt::format("--resample (the rate {} was trained at)", o.model));
  sep::warn_if_band_not_covered(model, audio.sample_rate);
  sep::warn_if_trained_on_peaks_alone(model);
  o.stft.window = tf::parse_window(sep::choose_window({model}, o.window));
  const tf::Stft stft(o.stft);
  const long n = static_cast<long>(audio.samples.size());
  stft.require_fits(n, o.audio);
  const classic::Matrix W = model.templates_at_bins(o.stft.n_fft, audio.sample_rate,
                                                    sep::parse_template_sampling(o.template_sampling));

  const tf::MagnitudeSpectrogram magnitude = stft.magnitude(audio.samples.data(), n);
  // A silent recording has nothing to reconstruct, and sdr_freq (over mean |X|) is undefined.
  if (!(magnitude.maxCoeff() > 0))
    throw InputError(fmt::format("{}: the audio is silent (every magnitude is 0): nothing to reconstruct, and "
                                 "sdr_freq is undefined",
                                 o.audio));
  const classic::Matrix V = classic::compressed(magnitude, header.power);
  const Eigen::Map<const classic::Matrix> X(magnitude.data(), magnitude.cols(), magnitude.rows());
  log::info("{} with {} ({} templates, kind '{}'): STFT n_fft {} hop {} {}, {} bins × {} frames",
            o.audio, o.model, W.cols(), model.kind(), o.stft.n_fft, o.stft.hop,
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
          {"kind", model.kind()},
          {"n_fft", o.stft.n_fft},
          {"hop", o.stft.hop},
          {"window", tf::window_name(o.stft.window)},
          {"template_sampling", o.template_sampling},
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
  sub->add_option("model", o.model, "Model file (HDF5) written by `innmf train` (iN-NMF: any --n-fft) or `innmf nmf` (classic: its own --n-fft only)")->required();
  sub->add_option("audio", o.audio, "Audio file to reconstruct (mixed to mono)")->required();
  sub->add_option("--n-fft", o.stft.n_fft, "STFT window and FFT length [samples]")->required()->default_str("");
  o.stft.hop = 0;
  sub->add_option("--hop", o.stft.hop, "STFT hop [samples] (0: n_fft / 4)");
  sub->add_option("--window", o.window,
                  "Analysis window: sqrt-hann, hann, hamming, blackman (default: the model's)");
  sub->add_flag("--resample", o.resample,
                "Resample the audio to the model's sample rate (libsoxr) when they differ");
  sub->add_option("--iters", o.mu.iterations, "Maximum number of updates of the activations");
  sub->add_option("--tol", o.mu.tolerance,
                  "Stop once the loss falls by less than this fraction in one update (0: never stop early)");
  sub->add_option("--template-sampling", o.template_sampling,
                  "iN-NMF models between their training frequencies: grid (evaluate at the training "
                  "frequencies of any representation, interpolate linearly: no ripple) or direct "
                  "(evaluate the networks at the bins)")
      ->capture_default_str();
  sub->add_option("--metrics", o.metrics, "Also write the result (one JSON line) to this file");
  add_common_options(*sub, common);

  Command command;
  command.app = sub;
  command.run = [options](const mpi::Comm& comm) {
    auto& o = *options;
    // Every rank checks the options; rank 0 computes, the others wait for its verdict.
    if (o.stft.hop == 0) o.stft.hop = std::max(1, o.stft.n_fft / 4);
    if (!o.window.empty()) tf::parse_window(o.window);
    const tf::Stft check(o.stft);
    classic::validate(o.mu);
    sep::parse_template_sampling(o.template_sampling);
    if (!o.metrics.empty()) {
      io::require_writable_path(o.metrics, "--metrics");
      io::refuse_input_as_output(o.metrics, "--metrics", {o.model, o.audio});
    }
    mpi::on_root(comm, [&] {
      const auto result = run_reconstruct(o);
      const std::string line = result.dump();
      if (!o.metrics.empty()) write_metrics_line(o.metrics, line);
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
      log::info("kl {:.4g}, sdr_freq {:.2f} dB after {} of the activations", result.at("kl").get<double>(),
                result.at("sdr_freq").get<double>(), log::counted(result.at("iters").get<std::size_t>(), "update"));
    });
    return 0;
  };
  return command;
}

}  // namespace innmf::cli
