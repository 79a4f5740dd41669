// innmf nmf AUDIO... -o MODEL.h5: classic NMF (multiplicative updates, scikit-learn's) of an
// STFT magnitude, the baseline every iN-NMF result is compared with.

#include <fmt/format.h>
#include <omp.h>

#include <cmath>
#include <fstream>
#include <memory>
#include <numeric>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "innmf/audio/audio_io.hpp"
#include "innmf/audio/resample.hpp"
#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/corpus/inputs.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/model/points.hpp"
#include "innmf/io/model_file.hpp"
#include "innmf/model/classic_nmf.hpp"
#include "innmf/tf/stft.hpp"

namespace innmf::cli {
namespace {

namespace classic = model::classic;

struct NmfOptions {
  std::vector<std::string> inputs;
  std::string output;
  std::string window = "sqrt-hann";
  tf::StftConfig stft;        ///< [--n-fft, --hop, --window]
  double sample_rate = 0;     ///< [--sr] resample to this rate [Hz]; 0: keep the files' rate
  int rank = 20;              ///< [--rank] K
  double power = 0.5;         ///< [--power] p: V = |X|^p
  std::uint64_t seed = 0;     ///< [--seed] of the random initialisation
  classic::MuOptions mu;      ///< [--beta, --iters, --tol, --loss-every]
  std::string metrics;        ///< [--metrics] JSON lines, one per update
};

/// --metrics FILE: one JSON object per line, written to a hidden temporary file beside FILE
/// (flushed line by line) and renamed into place by commit(): no partial file on failure.
class MetricsLines {
 public:
  explicit MetricsLines(const std::string& path) : path_(path) {
    if (path.empty()) return;
    output_ = std::make_unique<io::AtomicOutput>(path, "--metrics");
    stream_.open(output_->temporary_path(), std::ios::trunc);
    if (!stream_) throw InputError(fmt::format("--metrics {}: cannot create the file", path));
  }
  void write(const nlohmann::json& line) {
    if (!output_) return;
    stream_ << line.dump() << '\n' << std::flush;
    if (!stream_) throw InputError(fmt::format("--metrics {}: writing failed: is the disk full?", path_));
  }
  void commit() {
    if (!output_) return;
    stream_.close();
    if (stream_.fail()) throw InputError(fmt::format("--metrics {}: writing failed: is the disk full?", path_));
    output_->commit();
  }

 private:
  std::string path_;
  std::unique_ptr<io::AtomicOutput> output_;
  std::ofstream stream_;
};

/// The STFT magnitudes of every file, joined along time, and where each file's frames start.
struct Spectrogram {
  classic::Matrix V;                      ///< (n_bins, n_frames) = |X|^p
  std::vector<float> times;               ///< n_frames [s], files back to back
  std::vector<std::uint64_t> first_frame;  ///< per file
  double sample_rate = 0;                 ///< Hz
  double seconds = 0;                     ///< of audio
};

Spectrogram analyse(const std::vector<std::string>& files, const NmfOptions& o, const tf::Stft& stft) {
  std::vector<classic::Matrix> parts;
  Spectrogram s;
  s.sample_rate = o.sample_rate;
  std::string first_file;
  Eigen::Index frames = 0;
  for (const auto& file : files) {
    auto audio = audio::read_audio(file);
    if (o.sample_rate > 0) {
      audio = audio::resample(audio, o.sample_rate, file);
    } else if (s.sample_rate == 0) {
      s.sample_rate = audio.sample_rate;
      first_file = file;
    } else if (audio.sample_rate != s.sample_rate) {
      throw UsageError(fmt::format("{} is at {} Hz but {} is at {} Hz: give --sr to resample every "
                                   "file to one rate",
                                   file, audio.sample_rate, first_file, s.sample_rate));
    }
    const long n = static_cast<long>(audio.samples.size());
    stft.require_fits(n, file);
    parts.push_back(classic::compressed(stft.magnitude(audio.samples.data(), n), o.power));
    s.first_frame.push_back(static_cast<std::uint64_t>(frames));
    // Frames of later files continue the time axis where the previous file's samples end.
    for (long j = 0; j < parts.back().cols(); ++j)
      s.times.push_back(static_cast<float>(s.seconds + static_cast<double>(j) * o.stft.hop / s.sample_rate));
    frames += parts.back().cols();
    s.seconds += static_cast<double>(n) / s.sample_rate;
  }
  s.V.resize(stft.n_bins(), frames);
  Eigen::Index column = 0;
  for (const auto& part : parts) {
    s.V.middleCols(column, part.cols()) = part;
    column += part.cols();
  }
  if (s.V.maxCoeff() <= 0.0f)
    throw InputError(fmt::format("{}: the audio is silent (every magnitude is 0): nothing to "
                                 "factorise",
                                 fmt::join(files, ", ")));
  return s;
}

void run_nmf(const NmfOptions& o, const tf::Stft& stft, const std::string& config_json) {
  Stopwatch watch;
  const auto files = corpus::expand_inputs(o.inputs);
  io::refuse_input_as_output(o.output, "-o", files);
  if (!o.metrics.empty()) io::refuse_input_as_output(o.metrics, "--metrics", files);
  const auto s = analyse(files, o, stft);
  const auto F = s.V.rows(), T = s.V.cols();
  log::info("{} → {}: STFT n_fft {} hop {} {} at {} Hz, {} bins × {} frames ({:.1f} s), rank {}, "
            "β {}, p {}, {} thread{}",
            files.size() == 1 ? files.front() : fmt::format("{} files", files.size()), o.output,
            o.stft.n_fft, o.stft.hop, o.window, s.sample_rate, F, T, s.seconds, o.rank,
            o.mu.beta, o.power, omp_get_max_threads(), omp_get_max_threads() == 1 ? "" : "s");
  if (files.size() > 1)
    log::info("{} files: each is transformed on its own and their spectrograms are joined along "
              "time, in this order",
              files.size());
  log::debug("read and transformed in {:.2f} s", watch.seconds());

  auto factors = classic::random_init(s.V, o.rank, o.seed);
  MetricsLines metrics(o.metrics);
  const int every = std::max(1, o.mu.iterations / 10);
  const auto progress = [&](const classic::MuProgress& p) {
    metrics.write({{"iter", p.iteration},
                   {"loss", p.loss},
                   {"loss_sum", p.loss_sum},
                   {"seconds", p.seconds},
                   {"elapsed", p.elapsed}});
    // Updates between two computed losses (--loss-every) log "loss –".
    const auto loss = std::isfinite(p.loss) ? fmt::format("{:.6g}", p.loss) : std::string("–");
    if (p.iteration % every == 0)
      log::info("update {:>5}  loss {}{}", p.iteration, loss,
                p.iteration > 0 ? fmt::format("  ({:.2f} ms per update)", 1e3 * p.elapsed / p.iteration)
                                : std::string());
    else
      log::debug("update {:>5}  loss {}  ({:.3f} ms)", p.iteration, loss, 1e3 * p.seconds);
  };
  const auto result = classic::fit(s.V, factors, o.mu, progress);

  io::ClassicModel model;
  model.header.rank = o.rank;
  model.header.power = o.power;
  model.header.beta = o.mu.beta;
  model.header.sample_rate = s.sample_rate;
  model.header.f_ref = s.sample_rate / 2;
  model.header.config_json = config_json;
  model.n_fft = o.stft.n_fft;
  model.hop = o.stft.hop;
  model.window = tf::window_name(o.stft.window);
  model.W = std::move(factors.W);
  model.H = std::move(factors.H);
  model.freqs = stft.bin_frequencies(s.sample_rate);
  model.times = s.times;
  model.sources = files;
  model.first_frame = s.first_frame;
  model.loss = result.loss;
  model.seconds = result.seconds;
  model.converged = result.converged;
  model.seed = o.seed;
  io::AtomicOutput output(o.output);
  io::write_classic_model(output.temporary_path(), model);
  output.commit();
  metrics.commit();
  const double update_seconds = std::accumulate(result.seconds.begin(), result.seconds.end(), 0.0);
  const double per_update = result.iterations > 0 ? 1e3 * update_seconds / result.iterations : 0.0;
  log::info("wrote {}: loss {:.6g} → {:.6g} after {} update{}{} in {:.2f} s ({:.2f} ms per update)",
            o.output, result.loss.front(), result.loss.back(), result.iterations,
            result.iterations == 1 ? "" : "s",
            result.converged ? fmt::format(" (relative change below --tol {})", o.mu.tolerance) : "",
            watch.seconds(), per_update);
}

}  // namespace

Command add_nmf_command(CLI::App& app, CommonOptions& common) {
  auto* sub = app.add_subcommand(
      "nmf", "Classic NMF of audio: STFT magnitude^p ≈ W·H by multiplicative updates (scikit-learn's), the baseline");
  auto options = std::make_shared<NmfOptions>();
  auto& o = *options;
  sub->add_option("inputs", o.inputs,
                  "Audio file (any format libsndfile reads; mixed to mono). Several files, folders or "
                  "@list.txt: each is transformed on its own and the spectrograms are joined along time")
      ->required();
  sub->add_option("-o,--output", o.output, "Model file to write (HDF5, kind 'nmf')")->required();
  sub->add_option("--rank", o.rank, "Number of templates K");
  sub->add_option("--n-fft", o.stft.n_fft, "STFT window and FFT length [samples]");
  sub->add_option("--hop", o.stft.hop, "STFT hop [samples]");
  sub->add_option("--window", o.window, "Analysis window: sqrt-hann, hann, hamming, blackman");
  sub->add_option("--sr", o.sample_rate,
                  "Resample every file to this whole rate [Hz], 1000 to 1000000 (0: keep the files' rate, "
                  "which must then be the same for all)")
      ->check(cli::sample_rate());
  sub->add_option("--beta", o.mu.beta,
                  "β of the β-divergence: 1 generalised KL (the paper's), 0 Itakura-Saito, 2 Euclidean, any real");
  sub->add_option("--power", o.power, "Compression p: W·H approximates magnitude^p");
  sub->add_option("--iters", o.mu.iterations, "Maximum number of updates (of W, then H)");
  sub->add_option("--tol", o.mu.tolerance,
                  "Stop once the loss falls by less than this fraction between two computed losses "
                  "(0: never stop early)");
  sub->add_option("--loss-every", o.mu.loss_every,
                  "Compute the loss at the start, after every N-th update and after the last (the "
                  "others are null in --metrics); the factors do not depend on N. The loss costs ~10 % "
                  "of an update; scikit-learn checks its tolerance every 10");
  sub->add_option("--seed", o.seed, "Seed of the random initialisation (std::mt19937_64)")->check(unsigned_64_bit());
  sub->add_option("--metrics", o.metrics,
                  "Write one JSON line per update (iter, loss, loss_sum, seconds, elapsed) to this file");
  add_common_options(*sub, common);

  Command command;
  command.app = sub;
  command.run = [sub, options](const mpi::Comm& comm) {
    // Every rank checks the options before any work (STYLE.md §9); then rank 0 computes (a
    // single matrix: OpenMP threads, no MPI) while the other ranks wait politely for its verdict.
    auto& o = *options;
    o.stft.window = tf::parse_window(o.window);
    const tf::Stft stft(o.stft);
    if (!stft.covers_every_sample())
      log::warn("--hop {} with the {}-sample {} window: some samples fall where every window is 0 and are not "
                "analysed; --hop {} or less covers them",
                o.stft.hop, o.stft.n_fft, o.window, o.stft.n_fft / 2);
    classic::validate(o.mu);
    if (o.rank < 1) throw UsageError(fmt::format("--rank {}: must be at least 1", o.rank));
    // As `innmf train`: more templates than bins can reproduce any spectrogram exactly (and a
    // --rank 100000 took 7 GB to do so).
    if (o.rank > stft.n_bins())
      throw UsageError(fmt::format("--rank {} is larger than the {} frequencies of the {}-point STFT: choose a rank "
                                   "below that",
                                   o.rank, stft.n_bins(), o.stft.n_fft));
    if (!(o.power > 0) || !(o.power <= model::kMaxPower))
      throw UsageError(fmt::format("--power {}: must be in (0, {}] (0.5: square root of the magnitudes)", o.power,
                                   model::kMaxPower));
    io::require_writable_path(o.output, "-o");
    if (!o.metrics.empty()) io::require_writable_path(o.metrics, "--metrics");
    io::refuse_shared_outputs({{"-o", o.output}, {"--metrics", o.metrics}});
    const std::string config_json = resolved_config_json(*sub);
    mpi::on_root(comm, [&] { run_nmf(o, stft, config_json); });
    return 0;
  };
  return command;
}

}  // namespace innmf::cli
