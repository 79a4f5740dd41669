#include "innmf/corpus/frontend.hpp"

#include <tuple>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <map>
#include <numeric>

#include "innmf/core/error.hpp"
#include "innmf/corpus/feature_extraction.hpp"
#include "innmf/tf/cqt.hpp"
#include "innmf/tf/sines.hpp"
#include "innmf/tf/stft.hpp"
#include "innmf/tf/wavelet.hpp"

namespace innmf::corpus {
namespace {

using json = nlohmann::json;

class StftFrontend final : public Frontend {
 public:
  StftFrontend(const tf::StftConfig& config, double rate) : stft_(config), rate_(rate) {}
  json describe() const override {
    const auto& c = stft_.config();
    return {{"kind", "stft"},      {"n_fft", c.n_fft},   {"hop", c.hop},
            {"window", tf::window_name(c.window)}, {"sample_rate", rate_}, {"center", true},
            {"magnitude", "abs of unnormalised DFT"}};
  }
  long min_samples() const override { return std::max(stft_.config().n_fft, stft_.config().hop); }
  void require_fits(long n_samples, const std::string& what) const override { stft_.require_fits(n_samples, what); }
  tf::ClipPoints points(const float* samples, long n) const override {
    return tf::stft_points(stft_, samples, n, rate_);
  }
  std::optional<std::uint64_t> count(long n) const override {
    const auto [frames, bins] = grid_shape(n);
    return frames * bins;
  }
  std::pair<std::uint64_t, std::uint64_t> grid_shape(long n) const override {
    return {static_cast<std::uint64_t>(stft_.n_frames(n)), static_cast<std::uint64_t>(stft_.n_bins())};
  }
  // |X| of a sinusoid of amplitude A at a bin centre is A·Σw/2.
  double amplitude_scale() const override { return 1.0 / window_sum(); }

 private:
  double window_sum() const {
    const auto& w = stft_.window();
    return std::accumulate(w.begin(), w.end(), 0.0);
  }
  tf::Stft stft_;
  double rate_;
};

class CqtFrontend final : public Frontend {
 public:
  CqtFrontend(const tf::CqtConfig& config, double rate) : config_(config), bins_(config, rate) {}
  json describe() const override {
    return {{"kind", "cqt"},
            {"fmin", bins_.fmin},
            {"fmax", bins_.fmax},
            {"bins_per_octave", bins_.bins_per_octave},
            {"n_bins", bins_.n_bins()},
            {"sample_rate", bins_.sample_rate},
            {"window", "hann (frequency domain, bandwidth f_k (2^(1/B) - 2^(-1/B)))"},
            {"min_hop", bins_.min_hop_seconds()},
            {"median_hop", bins_.median_hop_seconds()},
            {"magnitude", "abs of NSGT coefficient; a sinusoid of amplitude A gives A/2"}};
  }
  long min_samples() const override { return bins_.min_samples(); }
  void require_fits(long n_samples, const std::string& what) const override {
    tf::Cqt::require_fits(bins_, n_samples, what);
  }
  void prepare(long n) override {
    auto& cqt = cqts_[n];
    if (!cqt) cqt = std::make_unique<tf::Cqt>(config_, bins_.sample_rate, n);
  }
  tf::ClipPoints points(const float* samples, long n) const override {
    const auto found = cqts_.find(n);
    if (found == cqts_.end()) throw std::logic_error("CqtFrontend::points before prepare");
    return tf::cqt_points(*found->second, samples);
  }
  std::optional<std::uint64_t> count(long n) const override {
    const auto found = cqts_.find(n);
    if (found == cqts_.end()) throw std::logic_error("CqtFrontend::count before prepare");
    return found->second->n_points();
  }

 private:
  tf::CqtConfig config_;
  tf::CqtBins bins_;
  std::map<long, std::unique_ptr<tf::Cqt>> cqts_;  ///< plans per clip length
};

class WaveletFrontend final : public Frontend {
 public:
  WaveletFrontend(const tf::WaveletConfig& config, double rate) : config_(config), scales_(config, rate) {}
  json describe() const override {
    return {{"kind", "wavelet"},
            {"fmin", scales_.fmin},
            {"fmax", scales_.fmax},
            {"scales_per_octave", scales_.scales_per_octave},
            {"omega0", scales_.omega0},
            {"n_scales", scales_.n_scales()},
            {"sample_rate", scales_.sample_rate},
            {"window", fmt::format("analytic Morlet (frequency-domain Gaussian, sigma f_k/omega0, cut at {})",
                                   tf::kWaveletCutoff)},
            {"min_hop", scales_.min_hop_seconds()},
            {"median_hop", scales_.median_hop_seconds()},
            {"magnitude", "abs of NSGT coefficient; a sinusoid of amplitude A gives A/2"}};
  }
  long min_samples() const override { return scales_.min_samples(); }
  void require_fits(long n_samples, const std::string& what) const override {
    tf::Wavelet::require_fits(scales_, n_samples, what);
  }
  void prepare(long n) override {
    auto& wavelet = wavelets_[n];
    if (!wavelet) wavelet = std::make_unique<tf::Wavelet>(config_, scales_.sample_rate, n);
  }
  tf::ClipPoints points(const float* samples, long n) const override {
    const auto found = wavelets_.find(n);
    if (found == wavelets_.end()) throw std::logic_error("WaveletFrontend::points before prepare");
    return tf::wavelet_points(*found->second, samples);
  }
  std::optional<std::uint64_t> count(long n) const override {
    const auto found = wavelets_.find(n);
    if (found == wavelets_.end()) throw std::logic_error("WaveletFrontend::count before prepare");
    return found->second->n_points();
  }

 private:
  tf::WaveletConfig config_;
  tf::WaveletScales scales_;
  std::map<long, std::unique_ptr<tf::Wavelet>> wavelets_;  ///< plans per clip length
};

class SinesFrontend final : public Frontend {
 public:
  SinesFrontend(const tf::StftConfig& stft, const tf::SinesConfig& config, double f_quantum, double rate)
      : stft_(stft), config_(config), f_quantum_(f_quantum), rate_(rate) {}
  json describe() const override {
    const auto& c = stft_.config();
    return {{"kind", "sines"},
            {"n_fft", c.n_fft},
            {"hop", c.hop},
            {"window", tf::window_name(c.window)},
            {"sample_rate", rate_},
            {"peak_threshold_db", config_.peak_threshold_db},
            {"max_peaks", config_.max_peaks},
            {"f_quantum", f_quantum_},
            {"magnitude", "A/2 for a sinusoid of amplitude A (window-corrected QIFFT peaks)"}};
  }
  long min_samples() const override { return std::max(stft_.config().n_fft, stft_.config().hop); }
  void require_fits(long n_samples, const std::string& what) const override { stft_.require_fits(n_samples, what); }
  std::optional<std::uint64_t> count(long /*n*/) const override { return std::nullopt; }  // the peaks found
  tf::ClipPoints points(const float* samples, long n) const override {
    auto points = tf::sines_points(stft_, samples, n, rate_, config_);
    if (f_quantum_ > 0)  // a bounded set of unique frequencies: the template networks' cost
      for (auto& f : points.f) f = static_cast<float>(std::round(f / f_quantum_) * f_quantum_);
    return points;
  }

 private:
  tf::Stft stft_;
  tf::SinesConfig config_;
  double f_quantum_;  ///< Hz; 0: exact
  double rate_;
};

/// Appends `part`'s points, times `scale`, to the scattered clip `out`.
void append_scaled(const tf::ClipPoints& part, double scale, tf::ClipPoints& out) {
  const auto s = static_cast<float>(scale);
  out.t.reserve(out.t.size() + part.size());
  out.f.reserve(out.f.size() + part.size());
  out.m.reserve(out.m.size() + part.size());
  for (std::size_t i = 0; i < part.size(); ++i) {
    out.t.push_back(part.time_of(i));
    out.f.push_back(part.freq_of(i));
    out.m.push_back(part.m[i] * s);
  }
}

}  // namespace

std::vector<std::unique_ptr<Frontend>> make_frontends(const FeatureConfig& config, double rate) {
  std::vector<std::unique_ptr<Frontend>> frontends;
  for (const auto& part : tf::parse_representation(config.representation, config.stft)) {
    switch (part.kind) {
      case tf::RepresentationKind::stft:
        frontends.push_back(std::make_unique<StftFrontend>(part.stft, rate));
        break;
      case tf::RepresentationKind::cqt:
        frontends.push_back(std::make_unique<CqtFrontend>(config.cqt, rate));
        break;
      case tf::RepresentationKind::wavelet:
        frontends.push_back(std::make_unique<WaveletFrontend>(config.wavelet, rate));
        break;
      case tf::RepresentationKind::sines:
        tf::check_frequency_quantum(config.f_quantum, rate);
        frontends.push_back(std::make_unique<SinesFrontend>(part.stft, config.sines, config.f_quantum, rate));
        break;
    }
  }
  return frontends;
}

json representation_json(const std::vector<std::unique_ptr<Frontend>>& frontends, double rate) {
  if (frontends.size() == 1) return frontends.front()->describe();
  json parts = json::array();
  for (const auto& frontend : frontends) {
    auto part = frontend->describe();
    part["scale"] = frontend->amplitude_scale();
    parts.push_back(std::move(part));
  }
  json hybrid = {{"kind", "hybrid"},
                 {"parts", parts},
                 {"sample_rate", rate},
                 {"magnitude", "every part scaled so that a sinusoid of amplitude A gives A/2"}};
  hybrid["min_hop"] = tf::finest_time_spacing(hybrid);
  return hybrid;
}

std::optional<ClipLayout> clip_layout(const std::vector<std::unique_ptr<Frontend>>& frontends, long n) {
  ClipLayout layout;
  for (const auto& frontend : frontends) {
    const auto count = frontend->count(n);
    if (!count) return std::nullopt;
    layout.count += *count;
  }
  if (frontends.size() == 1) std::tie(layout.n_times, layout.n_freqs) = frontends.front()->grid_shape(n);
  // A grid holds its axes and magnitudes; scattered points hold t, f and m each.
  layout.bytes = sizeof(float) * (layout.n_times > 0 ? layout.n_times + layout.n_freqs + layout.count : 3 * layout.count);
  return layout;
}

ClipLayout layout_of(const tf::ClipPoints& points) {
  ClipLayout layout;
  layout.count = points.size();
  layout.n_times = points.times.size();
  layout.n_freqs = points.freqs.size();
  layout.bytes = sizeof(float) *
                 (points.times.size() + points.freqs.size() + points.t.size() + points.f.size() + points.m.size());
  return layout;
}

tf::ClipPoints clip_points(const std::vector<std::unique_ptr<Frontend>>& frontends, const float* samples, long n) {
  if (frontends.size() == 1) return frontends.front()->points(samples, n);
  tf::ClipPoints points;  // scattered: each part's own times and frequencies
  for (const auto& frontend : frontends)
    append_scaled(frontend->points(samples, n), frontend->amplitude_scale(), points);
  return points;
}

}  // namespace innmf::corpus
