#include "innmf/tf/representation.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "innmf/core/error.hpp"

namespace innmf::tf {
namespace {

using json = nlohmann::json;

constexpr const char* kKinds = "stft[:N[:H]], cqt, wavelet, sines[:N[:H]]";

/// A positive integer written in a --repr part, or UsageError.
int parse_size(const std::string& text, const std::string& part, const char* what) {
  std::size_t used = 0;
  long value = 0;
  try {
    value = std::stol(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < 1 || value > (1 << 24))
    throw UsageError(fmt::format("--repr: '{}': the {} must be a positive number of samples", part, what));
  return static_cast<int>(value);
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> pieces;
  std::size_t begin = 0;
  for (;;) {
    const auto end = text.find(separator, begin);
    pieces.push_back(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    if (end == std::string::npos) return pieces;
    begin = end + 1;
  }
}

std::string kind_of(const json& part) { return part.is_object() ? part.value("kind", std::string()) : std::string(); }

}  // namespace

std::string kind_name(RepresentationKind kind) {
  switch (kind) {
    case RepresentationKind::stft: return "stft";
    case RepresentationKind::cqt: return "cqt";
    case RepresentationKind::wavelet: return "wavelet";
    case RepresentationKind::sines: return "sines";
  }
  return "?";
}

std::vector<RepresentationPart> parse_representation(const std::string& repr, const StftConfig& defaults) {
  std::vector<RepresentationPart> parts;
  for (const auto& spelling : split(repr, ',')) {
    const auto fields = split(spelling, ':');
    RepresentationPart part;
    part.spelling = spelling;
    part.stft = defaults;
    const auto& name = fields[0];
    if (name == "stft") {
      part.kind = RepresentationKind::stft;
    } else if (name == "sines") {
      part.kind = RepresentationKind::sines;
    } else if (name == "cqt" || name == "wavelet") {
      part.kind = name == "cqt" ? RepresentationKind::cqt : RepresentationKind::wavelet;
      if (fields.size() > 1)
        throw UsageError(fmt::format("--repr: '{}': {} takes no size (use --fmin, --fmax and its own "
                                     "options)",
                                     spelling, name));
    } else {
      throw UsageError(fmt::format("--repr: '{}': unknown representation: give a comma-separated list of {}",
                                   spelling.empty() ? repr : spelling, kKinds));
    }
    if (fields.size() > 3)
      throw UsageError(fmt::format("--repr: '{}': too many ':' fields (give {}:N or {}:N:H)", spelling, name, name));
    if (fields.size() >= 2) {
      part.stft.n_fft = parse_size(fields[1], spelling, "window length N");
      part.stft.hop = std::max(1, part.stft.n_fft / 4);
    }
    if (fields.size() == 3) part.stft.hop = parse_size(fields[2], spelling, "hop H");
    if (part.stft.hop > part.stft.n_fft)
      throw UsageError(fmt::format("--repr: '{}': the hop ({}) is longer than the window ({})", spelling,
                                   part.stft.hop, part.stft.n_fft));
    for (const auto& earlier : parts) {
      const bool same_stft = earlier.stft.n_fft == part.stft.n_fft && earlier.stft.hop == part.stft.hop;
      const bool uses_stft = part.kind == RepresentationKind::stft || part.kind == RepresentationKind::sines;
      if (earlier.kind == part.kind && (!uses_stft || same_stft))
        throw UsageError(fmt::format("--repr {}: '{}' is given twice", repr, spelling));
    }
    parts.push_back(std::move(part));
  }
  return parts;
}

std::vector<json> representation_parts(const json& representation) {
  if (kind_of(representation) == "hybrid" && representation.contains("parts") &&
      representation.at("parts").is_array())
    return representation.at("parts").get<std::vector<json>>();
  return {representation};
}

namespace {

/// The smallest positive time spacing over the parts [s]: an STFT's or the sines' hop, a CQT's or
/// wavelet's `nsgt_hop` field (`fallback` where a file from before that field lacks it); 0 if no
/// part says.
double smallest_part_spacing(const json& representation, const char* nsgt_hop, const char* fallback) {
  double smallest = 0;
  for (const auto& part : representation_parts(representation)) {
    const auto kind = kind_of(part);
    double spacing = 0;
    if (kind == "stft" || kind == "sines")
      spacing = part.value("hop", 0.0) / part.value("sample_rate", 1.0);
    else if (kind == "cqt" || kind == "wavelet")
      spacing = part.value(nsgt_hop, part.value(fallback, 0.0));
    if (spacing > 0) smallest = smallest == 0 ? spacing : std::min(smallest, spacing);
  }
  return smallest;
}

}  // namespace

double finest_time_spacing(const json& representation) {
  return smallest_part_spacing(representation, "min_hop", "min_hop");
}

double default_knot_spacing(const json& representation) {
  return smallest_part_spacing(representation, "median_hop", "min_hop");
}

json longest_stft_part(const json& representation) {
  json best = json::object();
  for (const auto& part : representation_parts(representation)) {
    const auto kind = kind_of(part);
    if ((kind == "stft" || kind == "sines") && part.value("n_fft", 0) > best.value("n_fft", 0)) best = part;
  }
  return best;
}

std::string describe_representation(const json& representation) {
  if (!representation.is_object()) return representation.dump();
  const auto parts = representation_parts(representation);
  std::vector<std::string> texts;
  for (const auto& part : parts) {
    const auto kind = kind_of(part);
    const double rate = part.value("sample_rate", 0.0);
    if (kind == "stft" || kind == "sines") {
      const int n_fft = part.value("n_fft", 0);
      // The window's duration holds at the representation's own rate, which a model trained on
      // files of several rates need not share: name it.
      const std::string duration =
          rate > 0 ? fmt::format(" ({:.1f} ms at {:g} Hz)", 1000.0 * n_fft / rate, rate) : std::string();
      texts.push_back(fmt::format("{}, n_fft {}{}, hop {}, {} window", kind, n_fft, duration, part.value("hop", 0),
                                  part.value("window", std::string("?"))));
    } else if (kind == "cqt" || kind == "wavelet") {
      const char* per_octave = kind == "cqt" ? "bins_per_octave" : "scales_per_octave";
      texts.push_back(fmt::format("{}, {:.1f}–{:.1f} Hz, {} {}/octave, finest hop {:.2f} ms", kind,
                                  part.value("fmin", 0.0), part.value("fmax", 0.0), part.value(per_octave, 0),
                                  kind == "cqt" ? "bins" : "scales", 1000.0 * part.value("min_hop", 0.0)));
    } else {
      texts.push_back(kind.empty() ? part.dump() : kind);
    }
  }
  if (parts.size() == 1) return texts.front();
  std::string joined = "hybrid of " + std::to_string(parts.size()) + " parts: ";
  for (std::size_t i = 0; i < texts.size(); ++i) joined += (i ? " + " : "") + texts[i];
  return joined;
}

}  // namespace innmf::tf
