#include "innmf/sep/source_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/train/trained_model.hpp"
#include "innmf/tf/representation.hpp"

namespace innmf::sep {
namespace {

/// The model's representation attribute as a JSON object (an empty object if it is not one).
nlohmann::json representation_of(const io::ModelHeader& header) {
  auto representation = nlohmann::json::parse(header.representation_json, nullptr, false);
  return representation.is_object() ? representation : nlohmann::json::object();
}

/// Whether the model's training representation analysed frequency `f` [Hz] everywhere, not just
/// at its points: an STFT or sines part looks at every frequency from 0 Hz to its Nyquist. (A CQT
/// or wavelet part looks only around its centres, which are the training frequencies: beyond
/// the extreme centres it knows nothing.)
bool representation_analyses(const nlohmann::json& representation, double f) {
  constexpr double kSlack = 1e-6;  // relative: rates and frequencies pass through float32
  for (const auto& part : tf::representation_parts(representation)) {
    const auto kind = part.value("kind", std::string());
    if ((kind == "stft" || kind == "sines") && f <= part.value("sample_rate", 0.0) / 2 * (1 + kSlack)) return true;
  }
  return false;
}

}  // namespace

SourceModel SourceModel::load(const std::string& path) {
  const io::ModelFile file(path);
  SourceModel model;
  model.path_ = path;
  model.header_ = file.header();
  if (file.kind() == io::kClassicModelKind)
    model.classic_ = std::make_shared<const io::ClassicModel>(file.read_classic());
  else
    model.neural_ = std::make_shared<const train::TrainedModel>(train::TrainedModel::load(path));
  return model;
}

std::string SourceModel::stem() const { return std::filesystem::path(path_).stem().string(); }

TemplateSampling parse_template_sampling(const std::string& name) {
  if (name == "grid") return TemplateSampling::training_grid;
  if (name == "direct") return TemplateSampling::direct;
  throw UsageError(fmt::format("--template-sampling {}: expected grid (interpolate between the "
                               "training frequencies) or direct (evaluate the networks)",
                               name));
}

std::string template_sampling_name(TemplateSampling sampling) {
  return sampling == TemplateSampling::training_grid ? "grid" : "direct";
}

namespace {

/// Bin frequencies k · sample_rate / n_fft [Hz], k = 0..n_fft/2.
std::vector<double> bin_frequencies(int n_fft, double sample_rate) {
  std::vector<double> freqs(static_cast<std::size_t>(n_fft / 2 + 1));
  for (std::size_t k = 0; k < freqs.size(); ++k) freqs[k] = static_cast<double>(k) * sample_rate / n_fft;
  return freqs;
}

/// Rows of `values` (n, K), given at the increasing `knots` (n), linearly interpolated at
/// `freqs`; constant beyond the first and last knot.
model::classic::Matrix interpolate_rows(const std::vector<double>& knots, const model::RowMatrix<float>& values,
                                        const std::vector<double>& freqs) {
  model::classic::Matrix out(static_cast<Eigen::Index>(freqs.size()), values.cols());
  std::size_t j = 0;  // knots[j] ≤ f < knots[j + 1] for increasing f
  for (std::size_t i = 0; i < freqs.size(); ++i) {
    const double f = freqs[i];
    while (j + 2 < knots.size() && knots[j + 1] <= f) ++j;
    const double span = knots[j + 1] - knots[j];
    const auto w = static_cast<float>(std::clamp((f - knots[j]) / span, 0.0, 1.0));
    out.row(static_cast<Eigen::Index>(i)) = (1 - w) * values.row(static_cast<Eigen::Index>(j)) +
                                            w * values.row(static_cast<Eigen::Index>(j + 1));
  }
  return out;
}

/// True if every one of `freqs` is one of the increasing `knots` up to float32 rounding (point
/// files store Hz as float32, so a training STFT's bin k·sr/n_fft may come back 1 ulp off).
bool all_at_knots(const std::vector<double>& knots, const std::vector<double>& freqs) {
  constexpr double kRelative = 1e-6;  // float32's ε is 1.2e-7
  for (const double f : freqs) {
    const auto above = std::lower_bound(knots.begin(), knots.end(), f);
    const double tolerance = kRelative * std::max(std::abs(f), 1.0);
    const bool near_above = above != knots.end() && *above - f <= tolerance;
    const bool near_below = above != knots.begin() && f - *(above - 1) <= tolerance;
    if (!near_above && !near_below) return false;
  }
  return true;
}

}  // namespace

model::classic::Matrix SourceModel::templates_at_bins(int n_fft, double sample_rate, TemplateSampling sampling) const {
  if (classic_) {
    model::classic::require_same_bins({classic_->n_fft, classic_->header.sample_rate}, {n_fft, sample_rate});
    return classic_->W;
  }
  const auto freqs = bin_frequencies(n_fft, sample_rate);
  // (n_bins, K) row-major; Eigen converts to column-major.
  if (sampling == TemplateSampling::direct) return neural_->templates_at(freqs);
  const auto knots = training_frequencies();
  // Requested bins that are all training frequencies (the training STFT itself, or one STFT
  // part of a hybrid) are evaluated where they are: the values interpolation gives there, without
  // the float32 rounding of the stored frequencies.
  if (knots.size() < 2 || all_at_knots(knots, freqs)) return neural_->templates_at(freqs);
  auto templates = interpolate_rows(knots, neural_->templates_at(knots), freqs);
  // Beyond the training frequencies but inside the band the training representation analysed,
  // the source was quiet: sines find no peak there (a bass above its highest partial). Zero,
  // not the edge value held across the band, which gave such a model a share of every other
  // source's high partials (bass + flute, sines models: 8.3 → 9.7 dB SDR; RESULTS.md).
  // Outside the analysed band (beyond a CQT's extreme centres, above the Nyquist of audio of a
  // lower rate) nothing is known and the edge value stays.
  const auto representation = representation_of(header_);
  for (std::size_t i = 0; i < freqs.size(); ++i)
    if ((freqs[i] < knots.front() || freqs[i] > knots.back()) && representation_analyses(representation, freqs[i]))
      templates.row(static_cast<Eigen::Index>(i)).setZero();
  return templates;
}

bool SourceModel::analysed_at(double frequency) const {
  return representation_analyses(representation_of(header_), frequency);
}

std::vector<double> SourceModel::training_frequencies() const {
  if (!neural_) return {};
  if (!neural_->record().training_freqs.empty()) return neural_->record().training_freqs;
  const int trained = trained_n_fft();  // a file from before U_f was stored: its STFT's bins
  return trained >= 2 ? bin_frequencies(trained, header_.sample_rate) : std::vector<double>{};
}

double SourceModel::highest_trained_frequency() const {
  const auto freqs = training_frequencies();
  if (!freqs.empty()) return freqs.back();
  return header_.f_ref > 0 ? header_.f_ref : header_.sample_rate / 2;
}

void warn_if_band_not_covered(const SourceModel& model, double sample_rate) {
  // An STFT of odd n_fft ends half a bin below the Nyquist, and point files hold Hz as float32:
  // a model counts as covering the band when it reaches within 2 % of the Nyquist.
  constexpr double kCovered = 0.98;
  const double nyquist = sample_rate / 2, top = model.highest_trained_frequency();
  // A representation that analysed the band and found nothing above `top` (sines beyond the
  // highest peak) knows the source is quiet there: nothing is guessed.
  if (model.kind() == io::kClassicModelKind || top >= kCovered * nyquist || model.analysed_at(nyquist)) return;
  log::warn("{} was trained on frequencies up to {:.0f} Hz but the analysis reaches {:.0f} Hz: its templates "
            "above {:.0f} Hz are guesses (held at their {:.0f} Hz values; extrapolated with --template-sampling "
            "direct); train on the whole band (audio at this rate; --fmax {:.0f} for cqt or wavelet points)",
            model.path(), top, nyquist, top, top, nyquist);
}

void warn_if_trained_on_peaks_alone(const SourceModel& model) {
  if (model.kind() == io::kClassicModelKind) return;
  const auto parts = tf::representation_parts(representation_of(model.header()));
  const bool peaks_alone = !parts.empty() && std::all_of(parts.begin(), parts.end(), [](const nlohmann::json& part) {
    return part.value("kind", std::string()) == "sines";
  });
  if (!peaks_alone) return;
  const int n_fft = parts.front().value("n_fft", 1024);
  log::warn("{} was trained on sinusoidal peaks alone: they show where a source's partials are, never where it is "
            "silent, so its templates fit an STFT poorly (music pairs: 4.5 dB SDR against 11 dB with STFT-trained "
            "models); to separate, train on `--repr sines,stft:{}`",
            model.path(), n_fft);
}

std::string SourceModel::trained_window() const {
  // Only an STFT's window is an analysis window separation can reuse (a CQT's "window" field
  // describes its frequency-domain filters); a hybrid's longest STFT part.
  return tf::longest_stft_part(representation_of(header_)).value("window", std::string());
}

int SourceModel::trained_n_fft() const {
  return tf::longest_stft_part(representation_of(header_)).value("n_fft", 0);
}

std::string choose_window(const std::vector<SourceModel>& models, const std::string& requested) {
  std::string trained;
  for (const auto& model : models) {
    const auto window = model.trained_window();
    if (window.empty()) continue;
    if (trained.empty()) {
      trained = window;
    } else if (window != trained) {
      if (requested.empty())
        log::warn("{} was trained with the {} window but an earlier model with {}: analysing with {} (give "
                  "--window to choose)",
                  model.path(), window, trained, trained);
      else
        log::warn("{} was trained with the {} window but an earlier model with {}: analysing with --window {}, "
                  "which fits one of them at most",
                  model.path(), window, trained, requested);
      return requested.empty() ? trained : requested;
    }
  }
  if (requested.empty()) return trained.empty() ? "sqrt-hann" : trained;
  if (!trained.empty() && trained != requested)
    log::warn("--window {} differs from the {} window the model was trained with: magnitudes "
              "scale differently, expect a worse fit",
              requested, trained);
  return requested;
}

}  // namespace innmf::sep
