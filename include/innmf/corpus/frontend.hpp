#pragma once
// Front-ends (DESIGN.md §3): one time-frequency representation at one sample rate, turning a
// clip's samples into its points, and the representation attribute that describes it.
//
// A point set made of one part keeps that part's own magnitudes (an STFT's unnormalised |X|, a
// CQT's or wavelet's A/2 for a sinusoid of amplitude A, the sines' A/2). A hybrid scales every
// part to the same convention — a sinusoid of amplitude A gives A/2 — so that a template can fit
// all of them (an STFT part is divided by its window's sum, its "scale" in the attribute); its
// attribute is {"kind": "hybrid", "parts": [...], "sample_rate", "magnitude", "min_hop"}.

#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "innmf/tf/point_set.hpp"
#include "innmf/tf/representation.hpp"

namespace innmf::corpus {

struct FeatureConfig;

class Frontend {
 public:
  virtual ~Frontend() = default;
  /// This part's representation attribute (a JSON object, "kind" first).
  virtual nlohmann::json describe() const = 0;
  /// The shortest clip it can analyse [samples].
  virtual long min_samples() const = 0;
  /// Throws UsageError saying what `what` ("speech.wav") lacks and which option helps, if it
  /// is shorter than min_samples().
  virtual void require_fits(long n_samples, const std::string& what) const = 0;
  /// Serial (FFTW's planner is not thread-safe): plans for clips of `n_samples`.
  virtual void prepare(long /*n_samples*/) {}
  /// The clip's points; thread-safe once prepare(n_samples) has run.
  virtual tf::ClipPoints points(const float* samples, long n_samples) const = 0;
  /// Factor that brings its magnitudes to "a sinusoid of amplitude A gives A/2" (hybrids).
  virtual double amplitude_scale() const { return 1.0; }
  /// How many points points(samples, n_samples) gives, when the length alone says (an STFT's
  /// frames × bins, a CQT's or wavelet's coefficients; once prepare(n_samples) has run);
  /// nullopt when it depends on the signal (the peaks of sines).
  virtual std::optional<std::uint64_t> count(long n_samples) const = 0;
  /// The frames and bins of the grid its points form (a lone STFT part), else {0, 0}.
  virtual std::pair<std::uint64_t, std::uint64_t> grid_shape(long /*n_samples*/) const { return {0, 0}; }
};

/// The front-ends of config.representation at `sample_rate` [Hz], one per part, in order.
/// Throws UsageError for options impossible at that rate (e.g. --fmax above Nyquist).
std::vector<std::unique_ptr<Frontend>> make_frontends(const FeatureConfig& config, double sample_rate);

/// The representation attribute of a point set made by `frontends`.
nlohmann::json representation_json(const std::vector<std::unique_ptr<Frontend>>& frontends, double sample_rate);

/// What clip_points(frontends, …, n_samples) gives, known from the length alone: the point
/// count, the grid's frames and bins ({0, 0} when scattered) and the bytes its ClipPoints hold;
/// nullopt when a part's count depends on the signal (sines). Once prepare(n_samples) has run.
struct ClipLayout {
  std::uint64_t count = 0, n_times = 0, n_freqs = 0;
  std::uint64_t bytes = 0;
};
std::optional<ClipLayout> clip_layout(const std::vector<std::unique_ptr<Frontend>>& frontends, long n_samples);
/// The layout of points in hand.
ClipLayout layout_of(const tf::ClipPoints& points);

/// A clip's points: the one front-end's as they are, or every part's amplitude-normalised
/// points concatenated part by part into one scattered clip.
tf::ClipPoints clip_points(const std::vector<std::unique_ptr<Frontend>>& frontends, const float* samples,
                           long n_samples);

}  // namespace innmf::corpus
