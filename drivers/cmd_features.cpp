// innmf features AUDIO... -o POINTS.h5: audio → time-frequency point set.

#include <algorithm>
#include <fmt/format.h>
#include <omp.h>

#include "cli.hpp"
#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/corpus/feature_extraction.hpp"
#include "innmf/corpus/inputs.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/tf/representation.hpp"
#include "innmf/tf/stft.hpp"

namespace innmf::cli {

namespace {

/// Warns once for each option given (on the command line or in a config file) that no part of
/// the representation reads: `--repr stft --fmin 100` analyses as if --fmin were not there.
void warn_of_unused_options(const CLI::App& sub, const std::string& repr,
                            const std::vector<tf::RepresentationPart>& parts) {
  using Kind = tf::RepresentationKind;
  const auto uses = [&](std::initializer_list<Kind> kinds) {
    return std::any_of(parts.begin(), parts.end(), [&](const tf::RepresentationPart& part) {
      return std::find(kinds.begin(), kinds.end(), part.kind) != kinds.end();
    });
  };
  // --n-fft and --hop size only the parts written without a size (stft:512 sets its own).
  const bool plain_stft = std::any_of(parts.begin(), parts.end(), [](const tf::RepresentationPart& part) {
    return (part.kind == Kind::stft || part.kind == Kind::sines) && part.spelling.find(':') == std::string::npos;
  });
  const struct {
    const char* option;
    bool used;
    const char* readers;
  } options[] = {
      {"--n-fft", plain_stft, "stft and sines parts without a size of their own (stft:N:H sets it)"},
      {"--hop", plain_stft, "stft and sines parts without a size of their own (stft:N:H sets it)"},
      {"--fmin", uses({Kind::cqt, Kind::wavelet}), "cqt and wavelet points"},
      {"--fmax", uses({Kind::cqt, Kind::wavelet}), "cqt and wavelet points"},
      {"--bins-per-octave", uses({Kind::cqt}), "cqt points"},
      {"--scales-per-octave", uses({Kind::wavelet}), "wavelet points"},
      {"--omega0", uses({Kind::wavelet}), "wavelet points"},
      {"--peak-threshold", uses({Kind::sines}), "sines points"},
      {"--max-peaks", uses({Kind::sines}), "sines points"},
      {"--f-quantum", uses({Kind::sines}), "sines points"},
  };
  for (const auto& o : options)
    if (!o.used && sub.get_option(o.option)->count() > 0)
      log::warn("{} is for {}: --repr {} does not read it", o.option, o.readers, repr);
}

}  // namespace

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
                  "Representation: stft, cqt, wavelet, sines (STFT peaks at continuous "
                  "frequencies), or a comma-separated list of parts for a hybrid point set (e.g. "
                  "stft:128,stft:1024,cqt); stft:N (and sines:N) use an N-sample window with hop "
                  "N/4, stft:N:H sets the hop; a plain stft or sines takes --n-fft/--hop. Parts of "
                  "a hybrid are amplitude-normalised (a sinusoid of amplitude A gives A/2)");
  sub->add_option("--n-fft", options->config.stft.n_fft, "STFT window and FFT length [samples]");
  sub->add_option("--hop", options->config.stft.hop, "STFT hop [samples]");
  sub->add_option("--window", options->window, "Analysis window: sqrt-hann, hann, hamming, blackman");
  sub->add_option("--fmin", options->config.cqt.fmin, "CQT and wavelet: lowest bin centre [Hz] (> 0)");
  sub->add_option("--fmax", options->config.cqt.fmax,
                  "CQT and wavelet: highest bin centre at most this [Hz], ≤ Nyquist (0: Nyquist/2)");
  sub->add_option("--bins-per-octave", options->config.cqt.bins_per_octave,
                  "CQT: bins per octave (≥ 1); each bin's hop is proportional to its window length");
  sub->add_option("--scales-per-octave", options->config.wavelet.scales_per_octave,
                  "Wavelet: Morlet scales per octave (≥ 1); about 6 points per sample at 12, fewer "
                  "with fewer scales");
  sub->add_option("--omega0", options->config.wavelet.omega0,
                  "Wavelet: Morlet parameter ω0 (≥ 3): larger is sharper in frequency, longer in time");
  sub->add_option("--peak-threshold", options->config.sines.peak_threshold_db,
                  "Sines: keep STFT peaks whose sinusoid amplitude is at least this [dB re full "
                  "scale]");
  sub->add_option("--max-peaks", options->config.sines.max_peaks,
                  "Sines: keep at most this many peaks per frame, the strongest (≥ 1)");
  sub->add_option("--f-quantum", options->config.f_quantum,
                  "Sines: round peak frequencies to multiples of this [Hz] so that training "
                  "evaluates the templates at a bounded set of frequencies (0: exact; at most Nyquist/16)");
  sub->add_option("--sr", options->config.sample_rate,
                  "Resample every file to this whole rate [Hz], 1000 to 1000000 (0: keep the files' rate, "
                  "which must then be the same for all)")
      ->check(cli::sample_rate());
  sub->add_option("--clip-seconds", options->config.clip_seconds,
                  "Cut longer files into equal clips of at most this length [s]");
  sub->add_flag("--skip-short", options->config.skip_short,
                "Leave out files shorter than the transform's longest window, with a warning (without it, "
                "such files are an error that names them)");
  sub->add_option("--compression", options->config.compression,
                  "Deflate level of the magnitudes, 0 (none, fastest) to 9; they shrink only ~1.2× "
                  "(times and frequencies are always compressed, ~300×)");
  add_common_options(*sub, common);

  Command command;
  command.app = sub;
  command.run = [sub, options](const mpi::Comm& comm) {
    auto& config = options->config;
    config.representation = options->repr;
    config.wavelet.fmin = config.cqt.fmin;  // one --fmin/--fmax for both filterbanks
    config.wavelet.fmax = config.cqt.fmax;
    config.stft.window = tf::parse_window(options->window);
    config.config_json = resolved_config_json(*sub);
    corpus::validate(config);

    Stopwatch watch;
    std::vector<std::string> files;
    mpi::on_root(comm, [&] {
      files = corpus::expand_inputs(options->inputs);
      io::refuse_input_as_output(options->output, "-o", files);
    });
    std::uint64_t n_files = files.size();
    comm.broadcast(&n_files, 1);
    files.resize(n_files);
    for (auto& file : files) comm.broadcast(file);

    const auto parts = tf::parse_representation(config.representation, config.stft);
    warn_of_unused_options(*sub, options->repr, parts);
    std::string transform;
    for (const auto& part : parts) {
      if (part.kind == tf::RepresentationKind::stft || part.kind == tf::RepresentationKind::sines) {
        const tf::Stft frames(part.stft);
        if (!frames.covers_every_sample())
          log::warn("hop {} with the {}-sample {} window: some samples fall where every window is 0 and are not "
                    "analysed; a hop of {} or less covers them",
                    part.stft.hop, part.stft.n_fft, options->window, part.stft.n_fft / 2);
      }
      if (!transform.empty()) transform += " + ";
      const auto fmax = config.cqt.fmax > 0 ? fmt::format("{} Hz", config.cqt.fmax) : std::string("Nyquist/2");
      if (part.kind == tf::RepresentationKind::cqt)
        transform += fmt::format("CQT fmin {} Hz fmax {} bins/octave {}", config.cqt.fmin, fmax,
                                 config.cqt.bins_per_octave);
      else if (part.kind == tf::RepresentationKind::wavelet)
        transform += fmt::format("Morlet wavelets fmin {} Hz fmax {} scales/octave {} ω0 {}", config.cqt.fmin,
                                 fmax, config.wavelet.scales_per_octave, config.wavelet.omega0);
      else
        transform += fmt::format("{} n_fft {} hop {} {}", part.kind == tf::RepresentationKind::stft ? "STFT" : "sines",
                                 part.stft.n_fft, part.stft.hop, options->window);
      if (part.kind == tf::RepresentationKind::sines)
        transform += fmt::format(" (peaks ≥ {} dB, ≤ {} a frame)", config.sines.peak_threshold_db,
                                 config.sines.max_peaks);
    }
    io::require_writable_path(options->output, "-o");  // before the line that announces it
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
