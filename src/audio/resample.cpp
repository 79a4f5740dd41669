#include "innmf/audio/resample.hpp"

#include <soxr.h>

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "innmf/core/error.hpp"

namespace innmf::audio {

Audio resample(const Audio& audio, double target_rate, const std::string& source) {
  const std::string from = source.empty() ? std::string() : source + ": ";
  if (!(target_rate > 0) || !(audio.sample_rate > 0))
    throw UsageError(fmt::format("{}cannot resample from {} Hz to {} Hz: rates must be positive", from,
                                 audio.sample_rate, target_rate));
  if (target_rate == audio.sample_rate) return audio;
  if (std::max(target_rate, audio.sample_rate) / std::min(target_rate, audio.sample_rate) > kMaxResampleRatio)
    throw UsageError(fmt::format("{}cannot resample from {} Hz to {} Hz: the rates are more than {}× apart; "
                                 "resample in two steps (e.g. with sox) or choose a nearer rate",
                                 from, audio.sample_rate, target_rate, kMaxResampleRatio));

  Audio out;
  out.sample_rate = target_rate;
  const auto in_length = audio.samples.size();
  const auto out_length = static_cast<std::size_t>(
      std::llround(static_cast<double>(in_length) * target_rate / audio.sample_rate));
  out.samples.resize(out_length);

  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  std::size_t consumed = 0, produced = 0;
  // soxr_oneshot flushes the filter at the end, so the output is complete and aligned with the
  // input (linear phase, delay compensated).
  const soxr_error_t error =
      soxr_oneshot(audio.sample_rate, target_rate, 1, audio.samples.data(), in_length, &consumed,
                   out.samples.data(), out_length, &produced, &io, &quality, nullptr);
  if (error)
    throw Error(ExitCode::failure, fmt::format("soxr resampling from {} Hz to {} Hz failed: {}",
                                               audio.sample_rate, target_rate, error));
  out.samples.resize(produced);
  out.samples.resize(out_length, 0.0f);  // soxr may return a sample less at the very end
  return out;
}

MultichannelAudio resample(const MultichannelAudio& audio, double target_rate, const std::string& source) {
  MultichannelAudio out;
  out.sample_rate = target_rate;
  for (const auto& channel : audio.channels)
    out.channels.push_back(resample(Audio{channel, audio.sample_rate}, target_rate, source).samples);
  return out;
}

}  // namespace innmf::audio
