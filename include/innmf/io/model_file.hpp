#pragma once
// Model files (DESIGN.md §5), HDF5, format "innmf.model": the root attributes every kind of
// model has, a reader that checks them and tells the kind, and the classic NMF kind:
//
//   /                   attrs: format = "innmf.model", format_version = 1, kind, rank (K),
//                              power (p: the model approximates magnitude^p), beta, sample_rate
//                              [Hz], f_ref [Hz] (Nyquist of the training audio),
//                              representation (JSON), config (JSON: the resolved options of the
//                              run), created_by                          — every kind
//
// kind "nmf" (classic NMF, written by `innmf nmf`); representation is
// {"kind":"stft","n_fft":…,"hop":…,"window":…,"sample_rate":…,"center":true,"magnitude":…}:
//
//   /templates/W        [n_freqs, K] float32: template k is column k, at the STFT's bins
//   /templates/freqs    [n_freqs] float32, Hz: k · sample_rate / n_fft
//   /activations/H      [K, n_frames] float32: W·H approximates |X|^p, frame j in column j
//   /activations/times  [n_frames] float32, s: frame centres; several files lie back to back
//   /activations/sources      [files] string: the audio files, in order
//   /activations/first_frame  [files] uint64: where each file's frames start
//   /training/loss      [iterations + 1] float64: mean β-divergence per entry, [0] at the start
//   /training/seconds   [iterations] float64, s: wall time of each update
//                       attrs: iterations, converged (1 if stopped by --tol), seed
//
// kind "innmf" (iN-NMF, written by `innmf train`): see innmf_model_file.hpp.

#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "innmf/io/hdf5.hpp"
#include "innmf/io/innmf_model_file.hpp"  // kModelFormat, kModelFormatVersion

namespace innmf::io {

inline constexpr const char* kClassicModelKind = "nmf";
inline constexpr const char* kInnmfModelKind = "innmf";

/// The model kinds this version reads.
const std::vector<std::string>& known_model_kinds();

/// The root attributes of every model file.
struct ModelHeader {
  std::string kind;                 ///< "nmf" (classic) or "innmf"
  std::int64_t rank = 0;            ///< K
  double power = 0.5;               ///< p
  double beta = 1.0;                ///< β of the loss the model was fitted with
  double sample_rate = 0;           ///< of the training audio [Hz]
  double f_ref = 0;                 ///< frequency normalisation [Hz]: the training audio's Nyquist
  std::string representation_json;
  std::string config_json;
  std::string created_by;
};

/// A classic NMF model (kind "nmf").
struct ClassicModel {
  ModelHeader header;  ///< on writing, kind and representation_json are set by the writer
  int n_fft = 0;       ///< [samples] of the STFT the templates were learned on
  int hop = 0;         ///< [samples]
  std::string window;  ///< tf::window_name spelling
  Eigen::MatrixXf W;   ///< (n_freqs, K)
  std::vector<float> freqs;  ///< n_freqs bin frequencies [Hz]
  Eigen::MatrixXf H;   ///< (K, n_frames)
  std::vector<float> times;  ///< n_frames frame times [s]
  std::vector<std::string> sources;        ///< the audio files, in order
  std::vector<std::uint64_t> first_frame;  ///< per source: its first frame
  std::vector<double> loss;                ///< iterations + 1 mean losses
  std::vector<double> seconds;             ///< iterations wall times [s]
  bool converged = false;
  std::uint64_t seed = 0;
};

/// The representation attribute of a classic model: the STFT's parameters, as `innmf features`
/// writes them into point sets.
std::string stft_representation_json(int n_fft, int hop, const std::string& window,
                                     double sample_rate);

/// Writes `model` to `path` (which it creates or truncates; give an AtomicOutput's temporary
/// path). Throws InputError naming the file if HDF5 fails, Error(failure) on inconsistent
/// shapes (a bug).
void write_classic_model(const std::string& path, const ClassicModel& model);

/// The root `format` attribute of an innmf HDF5 file, or "" for anything else (missing, not
/// HDF5, no attribute): for choosing a reader. Throws InputError naming the file only for one
/// that starts as HDF5 but that HDF5 cannot open (truncated or damaged): no reader could say
/// more of it, whatever its kind.
std::string peek_format(const std::string& path);

/// A model file of any kind opened for reading. The constructor checks the format, version,
/// kind and root attributes and throws InputError naming the file on anything wrong: missing,
/// not HDF5, a point set or other innmf file instead of a model, another format version, a kind
/// this version does not know.
class ModelFile {
 public:
  explicit ModelFile(const std::string& path);
  const std::string& path() const { return path_; }
  const ModelHeader& header() const { return header_; }
  const std::string& kind() const { return header_.kind; }
  /// The classic model. Throws InputError naming the file unless kind() is "nmf", or when a
  /// dataset is missing or the shapes disagree.
  ClassicModel read_classic() const;
  /// For summaries: /training/loss if present (any kind), else empty.
  std::vector<double> training_loss() const;
  /// For summaries: /templates/training_freqs [Hz] if present (iN-NMF), else empty.
  std::vector<double> training_frequencies() const;
  /// For summaries: a root attribute written as a number (iN-NMF: `l1`, `hidden`, `knot_spacing`,
  /// …), nullopt if absent.
  std::optional<double> number_attribute(const std::string& name) const;
  /// For summaries: a root attribute written as a string (`architecture`, `activations`), "" if absent.
  std::string string_attribute(const std::string& name) const;
  /// For summaries: the length of a 1-D dataset, 0 if absent.
  std::uint64_t length_or_zero(const std::string& dataset) const;

 private:
  std::string path_;
  ModelHeader header_;
  h5::Id file_;
};

/// What `innmf info` reports about a model file.
struct ModelSummary {
  std::string path;
  std::uint64_t file_bytes = 0;
  ModelHeader header;
  std::int64_t n_freqs = 0;              ///< classic: template bins; 0 for a continuous field
  double min_frequency = 0, max_frequency = 0;  ///< Hz (classic: first and last bin)
  std::int64_t n_frames = 0;             ///< classic: activation frames
  double seconds = 0;                    ///< classic: time span of the activations [s]
  std::size_t sources = 0;               ///< classic: audio files; innmf: clips
  std::int64_t iterations = 0;           ///< updates (classic) or epochs (innmf) recorded
  double final_loss = 0;                 ///< last /training/loss (NaN when there is none)
  double l1 = 0;                         ///< innmf: λ of the L1 penalty included in the loss (0: none)
  std::size_t n_training_freqs = 0;      ///< innmf: |U_f| the networks were fitted at (0: not stored)
  double min_training_freq = 0, max_training_freq = 0;  ///< innmf: first and last of U_f [Hz]
  std::string architecture;              ///< innmf: "per-component" or "shared" ("" if absent)
  std::optional<double> hidden, layers, n_fourier;  ///< innmf: the template networks' sizes
  std::string activations;               ///< innmf: "grid" or "mlp"
  std::optional<double> knot_spacing;    ///< innmf, grid activations: knots apart [s]
};

ModelSummary summarize(const ModelFile& file);
std::string to_json(const ModelSummary& summary);
std::string to_text(const ModelSummary& summary);

}  // namespace innmf::io
