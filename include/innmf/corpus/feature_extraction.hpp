#pragma once
// `innmf features`: audio files → one point-set file, shared out across MPI ranks.
//
// Rank 0 reads every file's header (cheap) and checks them; files are assigned whole to ranks
// by length; each rank decodes, resamples and transforms its own files (OpenMP inside each
// transform); rank 0 then writes the clips in input order, receiving other ranks' clips as it
// reaches them, so the file is the same for any number of ranks and rank 0 never holds more
// than its own clips plus one other.

#include <cstdint>
#include <string>
#include <vector>

#include "innmf/mpi/comm.hpp"
#include "innmf/tf/cqt.hpp"
#include "innmf/tf/sines.hpp"
#include "innmf/tf/stft.hpp"
#include "innmf/tf/wavelet.hpp"

namespace innmf::corpus {

/// The options of `innmf features` (their CLI spelling in brackets).
struct FeatureConfig {
  std::string representation = "stft";  ///< [--repr] parts, comma-separated (tf/representation.hpp)
  tf::StftConfig stft;        ///< [--n-fft, --hop, --window] stft and sines parts without a size
  tf::CqtConfig cqt;          ///< [--fmin, --fmax, --bins-per-octave] (cqt)
  tf::WaveletConfig wavelet;  ///< [--fmin, --fmax, --scales-per-octave, --omega0] (wavelet)
  tf::SinesConfig sines;      ///< [--peak-threshold, --max-peaks] (sines)
  double f_quantum = 0;       ///< [--f-quantum] sines: round peak frequencies to multiples [Hz]; 0: exact
  double sample_rate = 0;     ///< [--sr] resample every file to this rate [Hz]; 0: keep
  double clip_seconds = 30;   ///< [--clip-seconds] longer files are cut into equal clips [s]
  bool skip_short = false;    ///< [--skip-short] leave out files shorter than a window, with a warning
  int compression = 0;        ///< [--compression] deflate level 0–9 of /points/m
  std::string config_json;    ///< the resolved options, recorded in the file
  /// Points a rank keeps between transforming its clips and writing (or sending) them [bytes].
  /// The clip table needs every clip's count before the first point is written. Within this
  /// budget clips are transformed first and kept; beyond it a clip keeps only its count and is
  /// transformed when its turn to be written comes. An STFT's, CQT's or wavelet's count follows
  /// from the length (corpus::clip_layout), so those clips are transformed once; sines find
  /// their peaks only by transforming, so theirs are transformed twice. Memory is then bounded
  /// by the budget plus one file's samples and a batch of clips, whatever the corpus's length.
  /// Not a command-line option; tests lower it.
  std::size_t held_points_bytes = std::size_t{1} << 30;
};

struct FeatureReport {
  std::size_t files = 0;
  std::size_t clips = 0;
  std::uint64_t points = 0;
  double audio_seconds = 0;  ///< total duration of the inputs [s]
  double sample_rate = 0;    ///< of the point set [Hz]
  std::vector<mpi::PhaseSummary> phases;  ///< per-phase wall time, min/avg/max over ranks
};

/// Collective. Validates `config` on every rank (UsageError), then writes `output` atomically
/// (no file is left behind on failure). Any rank's failure throws the same innmf::Error on
/// every rank (mpi::Comm::agree_on_failure), never leaving a rank waiting.
FeatureReport extract_features(const std::vector<std::string>& files, const FeatureConfig& config,
                               const std::string& output, const mpi::Comm& comm);

/// Throws UsageError for impossible options (checked before any file is touched).
void validate(const FeatureConfig& config);

}  // namespace innmf::corpus
