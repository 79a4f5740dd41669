// innmf features AUDIO... -o POINTS.h5: audio → time-frequency point set.

#include <fmt/format.h>
#include <omp.h>

#include "cli.hpp"
#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/corpus/feature_extraction.hpp"
#include "innmf/corpus/inputs.hpp"

namespace innmf::cli {

Command add_features_command(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand("features", "Audio files → time-frequency point set (HDF5)");
  struct Options {
    std::vector<std::string> inputs;
    std::string output;
    std::string repr = "stft";
    std::string window = "sqrt-hann";
    corpus::FeatureConfig config;
  };
  auto options = std::make_shared<Options>();
  sub->add_option("inputs", options->inputs,
                  "Audio files (any format libsndfile reads), folders (searched recursively) or "
                  "@list.txt (one path per line, relative to the list's folder)")
      ->required();
  sub->add_option("-o,--output", options->output, "Point-set file to write (HDF5)")->required();
  sub->add_option("--repr", options->repr,
                  "Representation: stft or cqt (a comma-separated list for hybrids later; "
                  "wavelet and sines are not implemented yet)");
  sub->add_option("--n-fft", options->config.stft.n_fft, "STFT window and FFT length [samples]");
  sub->add_option("--hop", options->config.stft.hop, "STFT hop [samples]");
  sub->add_option("--window", options->window, "Analysis window: sqrt-hann, hann, hamming, blackman");
  sub->add_option("--fmin", options->config.cqt.fmin, "CQT: lowest bin centre [Hz] (> 0)");
  sub->add_option("--fmax", options->config.cqt.fmax,
                  "CQT: highest bin centre at most this [Hz], ≤ Nyquist (0: Nyquist/2)");
  sub->add_option("--bins-per-octave", options->config.cqt.bins_per_octave,
                  "CQT: bins per octave (≥ 1); each bin's hop is proportional to its window length");
  sub->add_option("--sr", options->config.sample_rate,
                  "Resample every file to this rate [Hz] (0: keep the files' rate, which must "
                  "then be the same for all)");
  sub->add_option("--clip-seconds", options->config.clip_seconds,
                  "Cut longer files into equal clips of at most this length [s]");
  sub->add_option("--compression", options->config.compression,
                  "Deflate level of the magnitudes, 0 (none, fastest) to 9; they shrink only ~1.2× "
                  "(times and frequencies are always compressed, ~300×)");
  add_common_options(*sub, common);

  Command command;
  command.app = sub;
  command.run = [sub, options](const mpi::Comm& comm) {
    auto& config = options->config;
    config.representation = corpus::parse_representation(options->repr);
    config.stft.window = tf::parse_window(options->window);
    config.config_json = resolved_config_json(*sub);
    corpus::validate(config);

    Stopwatch watch;
    std::vector<std::string> files;
    mpi::on_root(comm, [&] { files = corpus::expand_inputs(options->inputs); });
    std::uint64_t n_files = files.size();
    comm.broadcast(&n_files, 1);
    files.resize(n_files);
    for (auto& file : files) comm.broadcast(file);

    const std::string transform =
        config.representation == "cqt"
            ? fmt::format("CQT fmin {} Hz fmax {} bins/octave {}", config.cqt.fmin,
                          config.cqt.fmax > 0 ? fmt::format("{} Hz", config.cqt.fmax) : "Nyquist/2",
                          config.cqt.bins_per_octave)
            : fmt::format("STFT n_fft {} hop {} {}", config.stft.n_fft, config.stft.hop, options->window);
    log::info("{} file{} → {} ({}, {} rank{} × {} thread{})", files.size(), files.size() == 1 ? "" : "s",
              options->output, transform, comm.size(), comm.size() == 1 ? "" : "s",
              omp_get_max_threads(), omp_get_max_threads() == 1 ? "" : "s");
    const auto report = corpus::extract_features(files, config, options->output, comm);
    const double seconds = watch.seconds();
    log::info("wrote {}: {} clip{}, {} points, {:.1f} s of audio at {} Hz in {:.2f} s ({:.0f} s of "
              "audio per second)",
              options->output, report.clips, report.clips == 1 ? "" : "s", report.points,
              report.audio_seconds, report.sample_rate, seconds, report.audio_seconds / seconds);
    for (const auto& phase : report.phases)
      log::debug("  {:<9} min {:8.3f} s  avg {:8.3f} s  max {:8.3f} s", phase.phase,
                 phase.min_seconds, phase.avg_seconds, phase.max_seconds);
    return 0;
  };
  return command;
}

}  // namespace innmf::cli
