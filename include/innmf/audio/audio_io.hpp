#pragma once
// Audio file input and output through libsndfile (WAV, FLAC, OGG/Vorbis, AIFF, …).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace innmf::audio {

/// What a file's header says, read without decoding the samples.
struct AudioInfo {
  std::string path;
  double sample_rate = 0;  ///< Hz
  int channels = 0;
  std::int64_t frames = 0;  ///< samples per channel
  std::string format;       ///< e.g. "WAV (Microsoft) / Signed 16 bit PCM"
  double seconds() const { return sample_rate > 0 ? static_cast<double>(frames) / sample_rate : 0; }
};

/// Mono audio: samples in [-1, 1] (full scale) at `sample_rate` Hz.
struct Audio {
  std::vector<float> samples;
  double sample_rate = 0;  ///< Hz
  double seconds() const { return sample_rate > 0 ? samples.size() / sample_rate : 0; }
};

/// Audio with its channels kept apart (`innmf separate` gives every source the mixture's
/// channels): channels[c][i] in [-1, 1] at `sample_rate` Hz, every channel equally long.
struct MultichannelAudio {
  std::vector<std::vector<float>> channels;
  double sample_rate = 0;  ///< Hz
  std::size_t frames() const { return channels.empty() ? 0 : channels.front().size(); }
  /// The mean of the channels, in read_audio's arithmetic (the same bits).
  Audio mono_mixdown() const;
};

/// Reads the header of `path`. Throws InputError for a missing, unreadable or empty file.
AudioInfo probe_audio(const std::string& path);

/// Reads `path` whole and mixes its channels down to mono (the mean of the channels).
/// Throws InputError naming the file when it is missing, not audio, truncated (fewer samples
/// than its header promises), empty, holds NaN/Inf samples, or has channels that cancel (a
/// silent mix-down of channels that are not silent).
Audio read_audio(const std::string& path);

/// Reads `path` whole, one vector per channel; the same checks and errors as read_audio.
MultichannelAudio read_audio_channels(const std::string& path);

/// Writes mono `audio` as 16-bit PCM WAV (`subtype` "pcm16", or "float" for 32-bit float).
/// Samples outside [-1, 1] are clipped by libsndfile (pcm16). Throws InputError if the file
/// cannot be created.
void write_wav(const std::string& path, const Audio& audio, const std::string& subtype = "pcm16");
/// The same for several channels (interleaved in the file). Throws UsageError if the channels
/// differ in length or there are none.
void write_wav(const std::string& path, const MultichannelAudio& audio, const std::string& subtype = "pcm16");

class SoundFile;  // an open libsndfile handle (audio_io.cpp)

/// The longest path libsndfile opens [bytes]: it refuses 1024 or more (SF_FILENAME_LEN), with
/// "Supplied filename too long". Commands check their outputs against it before any work.
inline constexpr std::size_t kMaxAudioPathBytes = 1023;

/// A WAV file written block by block (`innmf separate` streams a long recording's sources):
/// 16-bit PCM ("pcm16") or 32-bit float ("float"); RF64 if `expected_frames` would outgrow
/// WAV's 4 GiB (a plain WAV otherwise, which every reader knows). The file is
/// complete once finish() returns; destroying an unfinished writer closes what was written.
/// Throws InputError naming the file if it cannot be created or written (a full disk).
class WavWriter {
 public:
  WavWriter(const std::string& path, int channels, double sample_rate, const std::string& subtype,
            std::uint64_t expected_frames = 0);
  ~WavWriter();
  WavWriter(const WavWriter&) = delete;
  WavWriter& operator=(const WavWriter&) = delete;

  /// Appends `frames` samples of every channel (channels[c] points at channel c's).
  void write(const std::vector<const float*>& channels, std::size_t frames);
  /// Appends `frames` frames of interleaved samples.
  void write_interleaved(const float* interleaved, std::size_t frames);
  /// Closes the file, writing its header's sizes.
  void finish();

 private:
  std::string path_;
  int channels_;
  std::unique_ptr<SoundFile> file_;
};

/// mono[i] = the mean of channels[c][i] over c, for i < frames: the arithmetic of read_audio and
/// MultichannelAudio::mono_mixdown (the same bits), for channels held elsewhere.
void mix_down(const std::vector<const float*>& channels, std::size_t frames, float* mono);

/// Throws InputError naming `path` if any sample is NaN or infinite.
void check_finite(const std::string& path, const Audio& audio);

}  // namespace innmf::audio
