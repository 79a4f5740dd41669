#include "innmf/tf/window.hpp"

#include <cmath>
#include <fmt/format.h>

#include "innmf/core/error.hpp"

namespace innmf::tf {

WindowKind parse_window(const std::string& name, const std::string& option) {
  if (name == "sqrt-hann") return WindowKind::sqrt_hann;
  if (name == "hann") return WindowKind::hann;
  if (name == "hamming") return WindowKind::hamming;
  if (name == "blackman") return WindowKind::blackman;
  throw UsageError(fmt::format("{} {}: unknown window; use sqrt-hann, hann, hamming or blackman",
                               option, name));
}

std::string window_name(WindowKind kind) {
  switch (kind) {
    case WindowKind::sqrt_hann: return "sqrt-hann";
    case WindowKind::hann: return "hann";
    case WindowKind::hamming: return "hamming";
    case WindowKind::blackman: return "blackman";
  }
  return "?";
}

std::vector<float> make_window(WindowKind kind, int length) {
  std::vector<float> w(static_cast<std::size_t>(length));
  const double two_pi = 2.0 * M_PI;
  for (int n = 0; n < length; ++n) {
    const double x = two_pi * n / length;  // periodic: divide by length, not length - 1
    double value = 0;
    switch (kind) {
      case WindowKind::hann: value = 0.5 - 0.5 * std::cos(x); break;
      case WindowKind::sqrt_hann: value = std::sqrt(0.5 - 0.5 * std::cos(x)); break;
      case WindowKind::hamming: value = 0.54 - 0.46 * std::cos(x); break;
      case WindowKind::blackman: value = 0.42 - 0.5 * std::cos(x) + 0.08 * std::cos(2 * x); break;
    }
    w[static_cast<std::size_t>(n)] = static_cast<float>(value);
  }
  return w;
}

}  // namespace innmf::tf
