#pragma once
// A model file of either kind (classic NMF or iN-NMF) seen the way reconstruction and
// separation use it (DESIGN.md §4): a set of K templates that can be sampled at the bins of
// the STFT the user asks for.
//
// iN-NMF templates are functions of frequency in Hz, so they serve any window size; classic
// templates exist only at the bins they were learned on, so they serve only the same n_fft at
// the same sample rate (a clear UsageError otherwise).

#include <memory>
#include <string>
#include <vector>

#include "innmf/io/model_file.hpp"
#include "innmf/model/classic_nmf.hpp"

namespace innmf::train {
class TrainedModel;
}

namespace innmf::sep {

/// How an iN-NMF model's templates are sampled at frequencies it was not trained on.
enum class TemplateSampling {
  /// Evaluate the networks at the training frequencies U_f (any representation: an STFT's bins,
  /// a CQT's or wavelet's centre frequencies, the snapped peak frequencies of sines; stored in
  /// the model file) and interpolate linearly between them, constant beyond the first and last.
  /// The networks are fitted only there; between those frequencies they ripple (the top Fourier
  /// feature's period is about two bins of a 1000-point STFT at 8 kHz), and the interpolation
  /// removes the ripple: bench/reconstruct measured it. Files written before U_f was stored fall
  /// back to the bins of the training STFT (trained_n_fft()), else to direct. The default.
  training_grid,
  /// Evaluate the networks at the requested frequencies themselves (the paper's way).
  direct,
};
TemplateSampling parse_template_sampling(const std::string& name);  ///< "grid" | "direct"
std::string template_sampling_name(TemplateSampling sampling);

class SourceModel {
 public:
  /// Reads and checks `path` (InputError naming it: missing, corrupt, not a model).
  static SourceModel load(const std::string& path);

  const std::string& path() const { return path_; }
  /// The file name without folder and extension: "models/speaker_a.h5" → "speaker_a". Names the
  /// separated source's output file.
  std::string stem() const;
  const io::ModelHeader& header() const { return header_; }
  const std::string& kind() const { return header_.kind; }
  int rank() const { return static_cast<int>(header_.rank); }

  /// The templates at the bins k · sample_rate / n_fft, k = 0..n_fft/2: (n_fft/2 + 1, K),
  /// non-negative, approximating |X|^p for the model's p. Classic models throw UsageError unless
  /// (n_fft, sample_rate) are the ones they were learned with. iN-NMF models are sampled as
  /// `sampling` says; at bins that are training frequencies both ways give the same values.
  model::classic::Matrix templates_at_bins(int n_fft, double sample_rate,
                                           TemplateSampling sampling = TemplateSampling::training_grid) const;

  /// Where an iN-NMF model's networks were fitted [Hz], increasing: the model file's
  /// /templates/training_freqs; for a file written before it, the bins of trained_n_fft() at the
  /// model's sample rate; else (and for classic models) empty.
  std::vector<double> training_frequencies() const;

  /// The STFT window the model's training data used ("" for other representations or if it
  /// does not say).
  std::string trained_window() const;
  /// The highest frequency the model's templates were fitted at [Hz]: the top of
  /// training_frequencies() (an STFT's Nyquist, a CQT's or wavelet's top centre frequency ≤
  /// --fmax, the highest peak of sines); without them (classic models, older files) the
  /// training audio's Nyquist. Above it an iN-NMF template is held at its value there (grid
  /// sampling; 0 where analysed_at() says the band was looked at) or extrapolated by the
  /// networks (direct).
  double highest_trained_frequency() const;
  /// Whether the training representation looked at every frequency around `frequency` [Hz]:
  /// STFT and sines parts analyse 0 Hz to their Nyquist (CQT and wavelet parts only around their
  /// centres). Grid sampling sets templates to 0 where the model analysed the band but has no
  /// training frequency (beyond the extreme peaks of sines: the source was quiet there).
  bool analysed_at(double frequency) const;
  /// The STFT size the model was trained on, 0 if its representation is not a single STFT.
  int trained_n_fft() const;

 private:
  std::string path_;
  io::ModelHeader header_;
  std::shared_ptr<const io::ClassicModel> classic_;         ///< kind "nmf"
  std::shared_ptr<const train::TrainedModel> neural_;       ///< kind "innmf"
};

/// Warns once when `model`'s templates were fitted only below `sample_rate`'s Nyquist (a model
/// trained at a lower rate, a CQT or wavelet model with --fmax under the Nyquist, peaks that
/// stop short of it): the analysis's top bins then get templates the model never learned.
/// `option` names where the model came from in the message ("--model", "MODEL").
void warn_if_band_not_covered(const SourceModel& model, double sample_rate);

/// Warns when `model` was trained on sinusoidal peaks alone (every part of its representation
/// is sines): peaks say where a source's partials are but never where it is silent, so nothing
/// kept its templates low between the partials, and they separate and reconstruct STFTs far
/// worse than templates trained with an STFT (bench/RESULTS.md, "Separation across
/// representations"). Names the hybrid that fixes it.
void warn_if_trained_on_peaks_alone(const SourceModel& model);

/// The window to analyse with: `requested` if given (a warning when it differs from a model's:
/// magnitudes scale differently), else the window the first model that states one was trained
/// with (a warning when the models disagree), else "sqrt-hann" (the paper's).
std::string choose_window(const std::vector<SourceModel>& models, const std::string& requested);

}  // namespace innmf::sep
