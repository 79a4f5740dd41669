#pragma once
// Sample-rate conversion through libsoxr (never by hand: band-limiting is subtle).

#include "innmf/audio/audio_io.hpp"

namespace innmf::audio {

/// The rates [Hz] innmf's --sr options accept (0 aside: no resampling). libsoxr crashes at
/// extreme rates (0.01 Hz, 10⁸ Hz from 44.1 kHz), and below 1 kHz no audio band is left.
inline constexpr double kMinTargetRate = 1000;
inline constexpr double kMaxTargetRate = 1000000;
/// The largest ratio of the two rates resample() converts between, up or down: libsoxr's
/// filters grow with it.
inline constexpr double kMaxResampleRatio = 1024;

/// `audio` converted to `target_rate` Hz with soxr's high-quality (HQ, 20-bit, linear phase)
/// filter. Output length is round(n · target / source) samples. Returns `audio` unchanged
/// when the rates are equal. Throws UsageError for a non-positive rate or rates more than
/// kMaxResampleRatio apart, naming `source` (the file the audio came from) when given.
Audio resample(const Audio& audio, double target_rate, const std::string& source = {});
/// The same, channel by channel (every channel gets the same length).
MultichannelAudio resample(const MultichannelAudio& audio, double target_rate, const std::string& source = {});

}  // namespace innmf::audio
