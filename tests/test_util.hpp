#pragma once
// Small helpers shared by the tests.

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "innmf/audio/audio_io.hpp"

namespace innmf::testing {

/// A fresh folder under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base ? base : "/tmp") + "/innmf-test-XXXXXX";
    path_ = mkdtemp(pattern.data()) ? pattern : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

/// amplitude · sin(2π f n / rate), n = 0..n_samples-1.
inline audio::Audio tone(double frequency, double rate, long n_samples, double amplitude = 0.5) {
  audio::Audio a;
  a.sample_rate = rate;
  a.samples.resize(static_cast<std::size_t>(n_samples));
  for (long n = 0; n < n_samples; ++n)
    a.samples[static_cast<std::size_t>(n)] =
        static_cast<float>(amplitude * std::sin(2 * M_PI * frequency * n / rate));
  return a;
}

/// 10·log10(Σ reference² / Σ (reference − estimate)²) [dB], over reference.size() samples.
inline double snr_db(const std::vector<float>& reference, const std::vector<float>& estimate) {
  double signal = 0, error = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    const double difference = double(reference[i]) - estimate[i];
    signal += double(reference[i]) * reference[i];
    error += difference * difference;
  }
  return 10 * std::log10(signal / std::max(error, 1e-300));
}

}  // namespace innmf::testing
