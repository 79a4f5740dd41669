#pragma once
// Analysis windows for the STFT.

#include <string>
#include <vector>

namespace innmf::tf {

enum class WindowKind { sqrt_hann, hann, hamming, blackman };

/// Parses "sqrt-hann", "hann", "hamming", "blackman"; throws UsageError naming `option`.
WindowKind parse_window(const std::string& name, const std::string& option = "--window");
std::string window_name(WindowKind kind);

/// The periodic ("DFT-even") window of `length` samples, as scipy.signal.get_window(…,
/// fftbins=True): w[n] for n = 0..length-1 with period `length`. Periodic Hann at hop
/// length/2 (and its square root, squared) sums to a constant, which the inverse STFT uses.
std::vector<float> make_window(WindowKind kind, int length);

}  // namespace innmf::tf
