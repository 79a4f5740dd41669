#pragma once
// Sample-rate conversion through libsoxr (never by hand: band-limiting is subtle).

#include "innmf/audio/audio_io.hpp"

namespace innmf::audio {

/// `audio` converted to `target_rate` Hz with soxr's high-quality (HQ, 20-bit, linear phase)
/// filter. Output length is round(n · target / source) samples. Returns `audio` unchanged
/// when the rates are equal. Throws UsageError for a non-positive rate.
Audio resample(const Audio& audio, double target_rate);
/// The same, channel by channel (every channel gets the same length).
MultichannelAudio resample(const MultichannelAudio& audio, double target_rate);

}  // namespace innmf::audio
