#include "innmf/corpus/feature_extraction.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <fmt/format.h>
#include <memory>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <optional>

#include "innmf/audio/audio_io.hpp"
#include "innmf/audio/resample.hpp"
#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/core/timer.hpp"
#include "innmf/corpus/frontend.hpp"
#include "innmf/corpus/inputs.hpp"
#include "innmf/io/atomic_file.hpp"
#include "innmf/io/point_file.hpp"
#include "innmf/tf/point_set.hpp"

namespace innmf::corpus {
namespace {

using json = nlohmann::json;

/// What rank 0 learns from a file's header, shared with every rank.
struct FilePlan {
  std::string path;
  double source_rate = 0;          ///< Hz, as stored
  std::int64_t samples = 0;        ///< after resampling to the point set's rate
  std::vector<ClipSpan> clips;     ///< in samples at the point set's rate
  std::size_t first_clip = 0;      ///< global index of its first clip
};

json to_json(const std::vector<FilePlan>& plans, double rate) {
  json files = json::array();
  for (const auto& p : plans) files.push_back({p.path, p.source_rate, p.samples});
  return {{"rate", rate}, {"files", files}};
}

/// Rank 0: reads every header, picks the point set's rate and cuts files into clips.
std::vector<FilePlan> plan_files(const std::vector<std::string>& paths, const FeatureConfig& config,
                                 double& rate) {
  std::vector<FilePlan> plans;
  std::string first_path;
  rate = config.sample_rate;
  for (const auto& path : paths) {
    const auto info = audio::probe_audio(path);
    if (config.sample_rate == 0) {
      if (rate == 0) {
        rate = info.sample_rate;
        first_path = path;
      } else if (info.sample_rate != rate) {
        throw UsageError(fmt::format(
            "{} is at {} Hz but {} is at {} Hz: a point set has one sample rate; give --sr to "
            "resample every file",
            path, info.sample_rate, first_path, rate));
      }
    }
    FilePlan plan;
    plan.path = path;
    plan.source_rate = info.sample_rate;
    plan.samples = static_cast<std::int64_t>(
        std::llround(static_cast<double>(info.frames) * rate / info.sample_rate));
    plans.push_back(std::move(plan));
  }
  return plans;
}

/// Rank 0: files shorter than a transform's longest window. A corpus of short prompts may hold
/// dozens, so one message names how many and a few; with --skip-short they are left out with a
/// warning instead. A single input is left to cut_into_clips, whose message is about that file.
void leave_out_short_files(std::vector<FilePlan>& plans, double rate, const FeatureConfig& config,
                           const std::vector<std::unique_ptr<Frontend>>& frontends) {
  long longest = 0;
  std::string window;  // e.g. "the STFT's window", "the CQT's longest window"
  for (const auto& frontend : frontends)
    if (frontend->min_samples() > longest) {
      longest = frontend->min_samples();
      const std::string kind = frontend->describe().value("kind", std::string());
      window = kind == "stft"    ? "the STFT's window"
               : kind == "sines" ? "the sinusoidal analysis's STFT window"
               : kind == "cqt"   ? "the CQT's longest window"
                                 : "the longest wavelet";
    }
  std::vector<FilePlan> kept;
  std::vector<std::string> short_files;
  for (auto& plan : plans) {
    if (plan.samples >= longest) {
      kept.push_back(std::move(plan));
      continue;
    }
    if (short_files.size() < 3)
      short_files.push_back(fmt::format("{} ({:.3f} s)", plan.path, static_cast<double>(plan.samples) / rate));
    else if (short_files.size() == 3)
      short_files.push_back("…");
  }
  const std::size_t n_short = plans.size() - kept.size();
  if (n_short == 0 || (plans.size() == 1 && !config.skip_short)) {
    if (n_short == 0) plans = std::move(kept);
    return;
  }
  const auto what = fmt::format("{} of the {} files {} shorter than {} ({} samples, {:.3f} s): {}",
                                n_short, plans.size(), n_short == 1 ? "is" : "are", window, longest,
                                static_cast<double>(longest) / rate, fmt::join(short_files, ", "));
  if (!config.skip_short)
    throw UsageError(what + "; leave them out with --skip-short, or choose a shorter window (--n-fft; for "
                            "cqt and wavelet a higher --fmin)");
  if (kept.empty()) throw UsageError(what + "; nothing is left to analyse: choose a shorter window");
  log::warn("{}; left out (--skip-short)", what);
  plans = std::move(kept);
}

void cut_into_clips(std::vector<FilePlan>& plans, double rate, const FeatureConfig& config,
                    const std::vector<std::unique_ptr<Frontend>>& frontends) {
  // (capped: --clip-seconds 1e15 at 44.1 kHz would overflow the cast; no file is that long)
  const auto max_length = static_cast<std::int64_t>(std::floor(std::min(config.clip_seconds * rate, 1e18)));
  std::size_t next = 0;
  for (auto& plan : plans) {
    plan.clips = split_into_clips(plan.samples, max_length);
    plan.first_clip = next;
    next += plan.clips.size();
    for (const auto& clip : plan.clips)
      for (const auto& frontend : frontends) {
        if (clip.length >= frontend->min_samples()) continue;
        if (plan.clips.size() == 1) frontend->require_fits(clip.length, plan.path);
        throw UsageError(fmt::format("--clip-seconds {} cuts {} into clips of {} samples, shorter than "
                                     "the {}'s longest window ({} samples, {:.3f} s): raise --clip-seconds",
                                     config.clip_seconds, plan.path, clip.length,
                                     frontend->describe().value("kind", std::string()), frontend->min_samples(),
                                     static_cast<double>(frontend->min_samples()) / rate));
      }
  }
}

std::string clip_name(const FilePlan& plan, std::size_t k) {
  return plan.clips.size() == 1 ? plan.path : fmt::format("{}#{}", plan.path, k);
}

// Message tags for moving a clip to rank 0.
constexpr int kTagClipHeader = 11;
constexpr int kTagClipData = 12;

/// Sends a clip's points to rank 0, or (nullptr) the marker of a rank that failed to make them.
void send_clip(const mpi::Comm& comm, const tf::ClipPoints* clip) {
  if (!clip) {
    const std::int64_t failed[4] = {-1, 0, 0, 0};
    comm.send(failed, 4, 0, kTagClipHeader);
    return;
  }
  const tf::ClipPoints& points = *clip;
  const std::int64_t header[4] = {static_cast<std::int64_t>(points.times.size()),
                                  static_cast<std::int64_t>(points.freqs.size()),
                                  static_cast<std::int64_t>(points.t.size()),
                                  static_cast<std::int64_t>(points.m.size())};
  comm.send(header, 4, 0, kTagClipHeader);
  std::vector<float> payload;
  payload.reserve(points.times.size() + points.freqs.size() + 2 * points.t.size() + points.m.size());
  for (const auto* part : {&points.times, &points.freqs, &points.t, &points.f, &points.m})
    payload.insert(payload.end(), part->begin(), part->end());
  comm.send(payload.data(), payload.size(), 0, kTagClipData);
}

/// A clip's points from `source`, or nothing if that rank failed to make them.
std::optional<tf::ClipPoints> receive_clip(const mpi::Comm& comm, int source) {
  std::int64_t header[4] = {};
  comm.receive(header, 4, source, kTagClipHeader);
  if (header[0] < 0) return std::nullopt;
  tf::ClipPoints points;
  points.times.resize(static_cast<std::size_t>(header[0]));
  points.freqs.resize(static_cast<std::size_t>(header[1]));
  points.t.resize(static_cast<std::size_t>(header[2]));
  points.f.resize(static_cast<std::size_t>(header[2]));
  points.m.resize(static_cast<std::size_t>(header[3]));
  std::vector<float> payload(points.times.size() + points.freqs.size() + 2 * points.t.size() +
                             points.m.size());
  comm.receive(payload.data(), payload.size(), source, kTagClipData);
  auto it = payload.begin();
  for (auto* part : {&points.times, &points.freqs, &points.t, &points.f, &points.m}) {
    std::copy(it, it + static_cast<std::ptrdiff_t>(part->size()), part->begin());
    it += static_cast<std::ptrdiff_t>(part->size());
  }
  return points;
}

/// Per clip, what the clip table needs before any point is written:
/// [count, n_times, n_freqs, 1 if some magnitude is not 0].
constexpr std::size_t kLayoutFields = 4;

/// A rank's own clips. transform_all() fills their entries of the clip table, transforming and
/// keeping clips up to a memory budget; beyond it, a clip whose layout its length gives is not
/// transformed yet, and one with sines is transformed for its count and dropped. take() hands
/// the points over in clip order, transforming the clips beyond the budget from their file then,
/// a batch of consecutive clips at a time.
class OwnClips {
 public:
  OwnClips(const std::vector<FilePlan>& plans, const std::vector<int>& file_owner, int rank, double rate,
           std::vector<std::unique_ptr<Frontend>>& frontends, PhaseTimes& times)
      : plans_(plans), file_owner_(file_owner), rank_(rank), rate_(rate), frontends_(frontends), times_(times) {
    for (std::size_t i = 0; i < plans_.size(); ++i)
      for (std::size_t k = 0; k < plans_[i].clips.size(); ++k) file_of_clip_.push_back(i);
    held_.resize(file_of_clip_.size());
    counts_.assign(file_of_clip_.size(), 0);
    dropped_.assign(file_of_clip_.size(), false);
  }

  /// Fills the own clips' entries of `layout` (kLayoutFields per clip).
  void transform_all(std::size_t budget, std::vector<std::uint64_t>& layout) {
    std::size_t held_bytes = 0;
    for (std::size_t i = 0; i < plans_.size(); ++i) {
      if (file_owner_[i] != rank_) continue;
      load(i);
      const std::size_t n_clips = plans_[i].clips.size();
      for (std::size_t first = 0; first < n_clips; first += batch_size()) {
        const std::size_t count = std::min(batch_size(), n_clips - first);
        // A clip beyond the budget whose layout its length gives (not sines) is not transformed
        // until it is written: its entries come from the layout and the samples.
        std::vector<bool> later(count, false);
        for (std::size_t b = 0; b < count; ++b) {
          const auto& span = plans_[i].clips[first + b];
          const auto known = clip_layout(frontends_, static_cast<long>(span.length));
          if (!known || held_bytes + known->bytes <= budget) continue;
          const std::size_t c = plans_[i].first_clip + first + b;
          const float* samples = audio_.samples.data() + span.begin;
          enter(c, *known, std::any_of(samples, samples + span.length, [](float x) { return x != 0; }), layout);
          dropped_[c] = true;
          later[b] = true;
        }
        auto batch = transform(first, count, later);
        for (std::size_t b = 0; b < batch.size(); ++b) {
          if (later[b]) continue;
          const std::size_t c = plans_[i].first_clip + first + b;
          auto& points = batch[b];
          const auto known = layout_of(points);
          enter(c, known, std::any_of(points.m.begin(), points.m.end(), [](float m) { return m != 0; }), layout);
          if (held_bytes + known.bytes <= budget) {
            held_bytes += known.bytes;
            held_[c] = std::move(points);
          } else {
            dropped_[c] = true;
          }
        }
      }
    }
    const auto n_dropped = std::count(dropped_.begin(), dropped_.end(), true);
    if (n_dropped > 0)
      log::debug("rank {}: {} clips beyond {} MB of points are transformed while writing", rank_, n_dropped,
                 budget >> 20);
  }

  /// Clip c's points (an own clip; take them in increasing c), released from memory here.
  tf::ClipPoints take(std::size_t c) {
    if (held_[c]) {
      tf::ClipPoints points = std::move(*held_[c]);
      held_[c].reset();
      return points;
    }
    if (!dropped_[c]) throw std::logic_error("OwnClips::take: not an own clip, or taken twice");
    const std::size_t i = file_of_clip_[c];
    if (loaded_ != i) load(i);
    // This clip and the dropped clips of the same file after it, one per thread.
    const std::size_t first = c - plans_[i].first_clip;
    std::size_t count = 1;
    while (count < batch_size() && first + count < plans_[i].clips.size() && dropped_[c + count]) ++count;
    auto batch = transform(first, count, std::vector<bool>(count, false));
    for (std::size_t b = 0; b < count; ++b) {
      if (batch[b].size() != counts_[c + b])
        throw InputError(fmt::format("{}: changed while innmf read it (a clip had {} points, now {}): leave the "
                                     "inputs alone while `innmf features` runs",
                                     plans_[i].path, counts_[c + b], batch[b].size()));
      dropped_[c + b] = false;
      if (b > 0) held_[c + b] = std::move(batch[b]);
    }
    return std::move(batch[0]);
  }

 private:
  static std::size_t batch_size() { return static_cast<std::size_t>(std::max(1, omp_get_max_threads())); }

  /// Clip c's entries of the clip table (`nonzero`: some magnitude is not 0).
  void enter(std::size_t c, const ClipLayout& known, bool nonzero, std::vector<std::uint64_t>& layout) {
    layout[kLayoutFields * c] = counts_[c] = known.count;
    layout[kLayoutFields * c + 1] = known.n_times;
    layout[kLayoutFields * c + 2] = known.n_freqs;
    layout[kLayoutFields * c + 3] = nonzero;
  }

  /// Decodes file i at the point set's rate and prepares the frontends for its clips' lengths.
  void load(std::size_t i) {
    const auto& plan = plans_[i];
    audio_ = {};
    loaded_ = i;
    {
      ScopedPhase phase(times_, "read");
      audio_ = audio::read_audio(plan.path);
    }
    if (audio_.sample_rate != rate_) {
      ScopedPhase phase(times_, "resample");
      audio_ = audio::resample(audio_, rate_, plan.path);
    }
    if (static_cast<std::int64_t>(audio_.samples.size()) != plan.samples)
      throw InputError(fmt::format("{}: decoded {} samples, its header promised {}: the file "
                                   "is corrupt or changed while reading",
                                   plan.path, audio_.samples.size(), plan.samples));
    // Plans per distinct clip length (CQT), made here, outside the parallel region.
    for (const auto& span : plan.clips)
      for (auto& frontend : frontends_) frontend->prepare(static_cast<long>(span.length));
  }

  /// Points of clips first .. first + count − 1 of the loaded file, but for those `skip` marks
  /// (left empty). Threads take whole clips when there are several (the outermost independent
  /// loop); one clip is parallel inside the transform instead. A clip's points do not depend
  /// on the thread count.
  std::vector<tf::ClipPoints> transform(std::size_t first, std::size_t count, const std::vector<bool>& skip) {
    ScopedPhase phase(times_, "transform");
    const auto& plan = plans_[loaded_];
    std::vector<tf::ClipPoints> batch(count);
    std::exception_ptr thread_failure;  // no exception may leave a parallel region
    const auto n = static_cast<long>(count);
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (long b = 0; b < n; ++b) {
      if (skip[static_cast<std::size_t>(b)]) continue;
      try {
        const auto& span = plan.clips[first + static_cast<std::size_t>(b)];
        batch[static_cast<std::size_t>(b)] =
            clip_points(frontends_, audio_.samples.data() + span.begin, static_cast<long>(span.length));
      } catch (...) {
#pragma omp critical(innmf_feature_failure)
        if (!thread_failure) thread_failure = std::current_exception();
      }
    }
    if (thread_failure) std::rethrow_exception(thread_failure);
    return batch;
  }

  const std::vector<FilePlan>& plans_;
  const std::vector<int>& file_owner_;
  int rank_;
  double rate_;
  std::vector<std::unique_ptr<Frontend>>& frontends_;
  PhaseTimes& times_;
  std::vector<std::size_t> file_of_clip_;              ///< global clip index → file index
  std::vector<std::optional<tf::ClipPoints>> held_;    ///< per global clip index
  std::vector<bool> dropped_;                          ///< own clips to transform again
  std::vector<std::uint64_t> counts_;                  ///< own clips' point counts, first pass
  std::size_t loaded_ = static_cast<std::size_t>(-1);  ///< the file whose samples are in audio_
  audio::Audio audio_;
};

}  // namespace

void validate(const FeatureConfig& config) {
  tf::Stft check(config.stft);  // throws for n_fft, hop
  for (const auto& part : tf::parse_representation(config.representation, config.stft)) {
    if (part.kind == tf::RepresentationKind::stft || part.kind == tf::RepresentationKind::sines)
      tf::Stft part_check(part.stft);
    if (part.kind == tf::RepresentationKind::cqt) tf::validate(config.cqt);
    if (part.kind == tf::RepresentationKind::wavelet) tf::validate(config.wavelet);
    if (part.kind == tf::RepresentationKind::sines) tf::validate(config.sines);
  }
  if (!(config.f_quantum >= 0) || !std::isfinite(config.f_quantum))
    throw UsageError(fmt::format("--f-quantum {}: must be 0 (exact frequencies) or a positive step in Hz",
                                 config.f_quantum));
  if (config.sample_rate < 0 || !std::isfinite(config.sample_rate))
    throw UsageError(fmt::format("--sr {}: must be a positive rate in Hz (or 0 to keep the files' rate)",
                                 config.sample_rate));
  if (!(config.clip_seconds > 0) || !std::isfinite(config.clip_seconds))
    throw UsageError(fmt::format("--clip-seconds {}: must be a positive, finite length in seconds",
                                 config.clip_seconds));
  if (config.compression < 0 || config.compression > 9)
    throw UsageError(fmt::format("--compression {}: must be 0 (none) to 9", config.compression));
}

FeatureReport extract_features(const std::vector<std::string>& files, const FeatureConfig& config,
                               const std::string& output, const mpi::Comm& comm) {
  validate(config);
  io::require_writable_path(output, "-o");
  PhaseTimes times;
  // Every rank reports every phase (reduce_timings needs the same names everywhere).
  for (const char* phase : {"plan", "read", "resample", "transform", "write"}) times.add(phase, 0);

  // 1. Rank 0 reads the headers and plans the clips; everyone agrees before going on.
  std::vector<FilePlan> plans;
  double rate = 0;
  std::string plan_text;
  std::exception_ptr failure;
  std::vector<std::unique_ptr<Frontend>> frontends;
  if (comm.is_root()) {
    ScopedPhase phase(times, "plan");
    try {
      plans = plan_files(files, config, rate);
      frontends = make_frontends(config, rate);
      leave_out_short_files(plans, rate, config, frontends);
      cut_into_clips(plans, rate, config, frontends);
      plan_text = to_json(plans, rate).dump();
    } catch (...) {
      failure = std::current_exception();
    }
  }
  comm.agree_on_failure(failure);
  comm.broadcast(plan_text);
  if (!comm.is_root()) {
    const json parsed = json::parse(plan_text);
    rate = parsed.at("rate").get<double>();
    for (const auto& f : parsed.at("files")) {
      FilePlan plan;
      plan.path = f.at(0).get<std::string>();
      plan.source_rate = f.at(1).get<double>();
      plan.samples = f.at(2).get<std::int64_t>();
      plans.push_back(std::move(plan));
    }
    // Same arithmetic as on rank 0: cannot fail.
    frontends = make_frontends(config, rate);
    cut_into_clips(plans, rate, config, frontends);
  }

  std::vector<tf::ClipInfo> clips;
  std::vector<int> clip_owner;
  std::vector<std::uint64_t> file_sizes;
  for (const auto& plan : plans) file_sizes.push_back(static_cast<std::uint64_t>(plan.samples));
  const std::vector<int> file_owner = balance_by_size(file_sizes, comm.size());
  for (std::size_t i = 0; i < plans.size(); ++i) {
    const auto& plan = plans[i];
    for (std::size_t k = 0; k < plan.clips.size(); ++k) {
      const auto& span = plan.clips[k];
      tf::ClipInfo clip;
      clip.name = clip_name(plan, k);
      clip.source = plan.path;
      clip.sample_rate = rate;
      clip.start = static_cast<double>(span.begin) / rate;
      clip.duration = static_cast<double>(span.length) / rate;
      clips.push_back(std::move(clip));
      clip_owner.push_back(file_owner[i]);
    }
  }

  // 2. Every rank transforms its own files; the clip table's entries of each clip come from its
  //    owner, and the sum over ranks is the table.
  std::vector<std::uint64_t> layout(kLayoutFields * clips.size(), 0);
  OwnClips own(plans, file_owner, comm.rank(), rate, frontends, times);
  failure = nullptr;
  try {
    own.transform_all(config.held_points_bytes, layout);
  } catch (...) {
    failure = std::current_exception();
  }
  comm.agree_on_failure(failure);

  if (comm.size() > 1) comm.allreduce_sum(layout.data(), layout.size());
  for (std::size_t c = 0; c < clips.size(); ++c) {
    clips[c].count = layout[kLayoutFields * c];
    clips[c].n_times = layout[kLayoutFields * c + 1];
    clips[c].n_freqs = layout[kLayoutFields * c + 2];
    if (!comm.is_root()) continue;
    if (clips[c].count == 0)
      log::warn("{}: no points (silence, or nothing above the threshold): the clip is kept empty", clips[c].name);
    else if (layout[kLayoutFields * c + 3] == 0)
      log::warn("{}: every magnitude is 0 (digital silence): the clip teaches a model nothing", clips[c].name);
  }
  const std::uint64_t total_points = io::assign_offsets(clips);

  // 3. Rank 0 writes clips in order; the others send theirs as rank 0 reaches them. Rank 0
  //    keeps receiving after a write error so that no sender is left blocked.
  std::unique_ptr<io::AtomicOutput> atomic;
  failure = nullptr;
  {
    ScopedPhase phase(times, "write");
    if (comm.is_root()) {
      std::unique_ptr<io::PointFileWriter> writer;
      try {
        atomic = std::make_unique<io::AtomicOutput>(output);
        writer = std::make_unique<io::PointFileWriter>(
            atomic->temporary_path(),
            io::PointSetHeader{representation_json(frontends, rate).dump(), config.config_json, clips},
            config.compression);
      } catch (...) {
        failure = std::current_exception();
      }
      bool peer_failed = false;  // its own message reaches every rank through agree_on_failure
      for (std::size_t c = 0; c < clips.size(); ++c) {
        std::optional<tf::ClipPoints> points;
        if (clip_owner[c] != 0) {
          points = receive_clip(comm, clip_owner[c]);
          peer_failed = peer_failed || !points;
        } else if (!failure) {
          try {
            points = own.take(c);
          } catch (...) {
            failure = std::current_exception();
          }
        }
        if (!failure && !peer_failed) {
          try {
            writer->write_clip(c, *points);
          } catch (...) {
            failure = std::current_exception();
          }
        }
      }
      if (!failure && !peer_failed) {
        try {
          writer->close();
          writer.reset();
          atomic->commit();
        } catch (...) {
          failure = std::current_exception();
        }
      }
    } else {
      // After a failure the remaining clips go as "failed" markers: rank 0 is waiting for them.
      for (std::size_t c = 0; c < clips.size(); ++c) {
        if (clip_owner[c] != comm.rank()) continue;
        std::optional<tf::ClipPoints> points;
        if (!failure) {
          try {
            points = own.take(c);
          } catch (...) {
            failure = std::current_exception();
          }
        }
        send_clip(comm, points ? &*points : nullptr);
      }
    }
  }
  comm.agree_on_failure(failure);

  FeatureReport report;
  report.files = plans.size();
  report.clips = clips.size();
  report.points = total_points;
  report.sample_rate = rate;
  for (const auto& plan : plans) report.audio_seconds += plan.samples / rate;
  report.phases = mpi::reduce_timings(comm, times);
  return report;
}

}  // namespace innmf::corpus
