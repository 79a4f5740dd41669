#include "innmf/audio/audio_io.hpp"

#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <fmt/format.h>

#include "innmf/core/error.hpp"
#include "innmf/core/huge_pages.hpp"

namespace innmf::audio {

/// Owns an open SNDFILE (STYLE.md §12). Declared in audio_io.hpp for WavWriter.
class SoundFile {
 public:
  SoundFile(const std::string& path, int mode, SF_INFO& info)
      : handle_(sf_open(path.c_str(), mode, &info)) {}
  ~SoundFile() { close(); }
  SoundFile(const SoundFile&) = delete;
  SoundFile& operator=(const SoundFile&) = delete;
  SNDFILE* get() const { return handle_; }
  explicit operator bool() const { return handle_ != nullptr; }
  /// Closes the file now: libsndfile's error code (a writer's header is written here, so a full
  /// disk shows), 0 if it was not open.
  int close() {
    const int error = handle_ ? sf_close(handle_) : 0;
    handle_ = nullptr;
    return error;
  }

 private:
  SNDFILE* handle_;
};

namespace {

void require_exists(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (!std::filesystem::exists(status))
    throw InputError(fmt::format("{}: no such file: check the path", path));
  if (std::filesystem::is_directory(status))
    throw InputError(fmt::format("{}: is a directory, expected an audio file", path));
  if (::access(path.c_str(), R_OK) != 0)
    throw InputError(fmt::format("{}: cannot be read ({}): check its permissions", path, std::strerror(errno)));
}

std::string format_name(int format) {
  SF_FORMAT_INFO major{}, minor{};
  major.format = format & SF_FORMAT_TYPEMASK;
  minor.format = format & SF_FORMAT_SUBMASK;
  sf_command(nullptr, SFC_GET_FORMAT_INFO, &major, sizeof(major));
  sf_command(nullptr, SFC_GET_FORMAT_INFO, &minor, sizeof(minor));
  return fmt::format("{} / {}", major.name ? major.name : "?", minor.name ? minor.name : "?");
}

/// libsndfile quietly shortens a WAV/AIFF whose data chunk is cut off. Its log then has a
/// top-level chunk line "data : 176400 (should be 49920)": the size the header promises, then
/// what the file holds. Other "should be" remarks are about valid files and must not count:
/// indented field lines ("  Bytes/sec : 11178 (should be 11177)", which sox writes for ADPCM and
/// GSM), "'data' chunk should be an even number of bytes" (mono 24-bit or 8-bit audio with an odd
/// sample count), a promise smaller than the data, and the sizes 0xFFFFFFFF and 0 that streaming
/// writers put in a header they cannot rewrite.
bool header_reports_truncation(SNDFILE* file) {
  char log[8192] = {};
  sf_command(file, SFC_GET_LOG_INFO, log, sizeof(log));
  std::istringstream lines{std::string(log)};
  for (std::string line; std::getline(lines, line);) {
    if (line.find("truncated") != std::string::npos) return true;
    if (line.empty() || std::isspace(static_cast<unsigned char>(line[0]))) continue;
    const auto colon = line.find(" : "), should = line.find("(should be ");
    if (colon == std::string::npos || should == std::string::npos || should < colon) continue;
    const unsigned long long promised = std::strtoull(line.c_str() + colon + 3, nullptr, 10);
    const unsigned long long held = std::strtoull(line.c_str() + should + 11, nullptr, 10);
    if (promised > held && promised != 0xFFFFFFFFULL) return true;
  }
  return false;
}

/// Checks the frame count libsndfile found. An Ogg (Vorbis, Opus) stream cut short has no last
/// page to give its length, and libsndfile then reports SF_COUNT_MAX frames.
void require_known_length(const std::string& path, const SF_INFO& info) {
  if (info.frames <= 0 || info.channels <= 0)
    throw InputError(fmt::format("{}: contains no audio samples: remove it from the inputs", path));
  if (info.frames == SF_COUNT_MAX)
    throw InputError(fmt::format("{}: its end is missing (cut short: no length in the stream), so it may be "
                                 "truncated: re-download or re-encode it",
                                 path));
  // 2³⁶ frames are 18 days at 44.1 kHz: a larger count is a corrupt header, not a recording.
  if (info.frames > (sf_count_t{1} << 36))
    throw InputError(fmt::format("{}: its header claims {} samples per channel: the file is corrupt", path,
                                 info.frames));
}

}  // namespace

AudioInfo probe_audio(const std::string& path) {
  require_exists(path);
  SF_INFO info{};
  SoundFile file(path, SFM_READ, info);
  if (!file)
    throw InputError(fmt::format("{}: cannot read as audio ({}): is it a WAV/FLAC/OGG file?",
                                 path, sf_strerror(nullptr)));
  AudioInfo result;
  result.path = path;
  result.sample_rate = info.samplerate;
  result.channels = info.channels;
  result.frames = info.frames;
  result.format = format_name(info.format);
  require_known_length(path, info);
  if (info.samplerate <= 0)
    throw InputError(fmt::format("{}: header gives sample rate {}: the file is corrupt", path,
                                 info.samplerate));
  return result;
}

namespace {

/// Reads `path` in chunks of interleaved frames (frame after frame, channel after channel),
/// handing each to `consume(chunk, frames, first_frame, header)` (only the chunk is held: a caller that
/// keeps channels or a mix-down holds no second copy of a long file); the checks of read_audio
/// (missing, not audio, empty, truncated, NaN/Inf in any channel, so that a NaN cannot hide
/// behind a mix-down). Returns the header: the channels and rate of the frames handed over.
template <typename Consumer>
SF_INFO read_in_chunks(const std::string& path, Consumer&& consume) {
  require_exists(path);
  SF_INFO info{};
  SoundFile file(path, SFM_READ, info);
  if (!file)
    throw InputError(fmt::format("{}: cannot read as audio ({}): is it a WAV/FLAC/OGG file?",
                                 path, sf_strerror(nullptr)));
  require_known_length(path, info);
  if (header_reports_truncation(file.get()))
    throw InputError(fmt::format(
        "{}: truncated (the header promises more data than the file holds): re-export or "
        "re-download it",
        path));

  const auto channels = static_cast<std::size_t>(info.channels);
  constexpr sf_count_t kChunkFrames = 1 << 16;
  std::vector<float> chunk(static_cast<std::size_t>(std::min<sf_count_t>(kChunkFrames, info.frames)) * channels);
  for (sf_count_t first = 0; first < info.frames;) {
    const sf_count_t wanted = std::min(kChunkFrames, info.frames - first);
    const sf_count_t got = sf_readf_float(file.get(), chunk.data(), wanted);
    if (got != wanted) {
      // (libsndfile's error text only when it has one: a stream that simply ends says "No Error.")
      const std::string reason =
          sf_error(file.get()) != SF_ERR_NO_ERROR ? fmt::format(" ({})", sf_strerror(file.get())) : std::string();
      throw InputError(fmt::format(
          "{}: truncated or corrupt: read {} of the {} samples its header promises{}: re-export or re-download it",
          path, first + std::max<sf_count_t>(got, 0), info.frames, reason));
    }
    const std::size_t values = static_cast<std::size_t>(got) * channels;
    for (std::size_t i = 0; i < values; ++i) {
      if (!std::isfinite(chunk[i])) {
        const auto frame = static_cast<std::size_t>(first) + i / channels;
        throw InputError(fmt::format(
            "{}: sample {} (at {:.3f} s, channel {}) is {}: the file is corrupt, re-export it", path,
            frame, frame / static_cast<double>(info.samplerate), i % channels + 1,
            std::isnan(chunk[i]) ? "NaN" : "infinite"));
      }
    }
    consume(chunk.data(), static_cast<std::size_t>(got), static_cast<std::size_t>(first), info);
    first += got;
  }
  return info;
}

/// The mean of `channels` channels at one frame: summed in channel order, then scaled (one
/// arithmetic for read_audio and mix_down, so that both give equal bits).
template <typename ChannelSample>
float mean_of_channels(std::size_t channels, ChannelSample sample) {
  float sum = 0;
  for (std::size_t c = 0; c < channels; ++c) sum += sample(c);
  return sum * (1.0f / static_cast<float>(channels));
}

}  // namespace

Audio read_audio(const std::string& path) {
  Audio audio;
  bool audible = false;  // a non-zero sample in some channel
  const SF_INFO info =
      read_in_chunks(path, [&](const float* chunk, std::size_t frames, std::size_t first, const SF_INFO& header) {
        const auto channels = static_cast<std::size_t>(header.channels);
        if (first == 0) audio.samples = zeroed_vector_on_huge_pages<float>(static_cast<std::size_t>(header.frames));
        for (std::size_t i = 0; i < frames; ++i) {
          const float* frame = chunk + i * channels;
          audio.samples[first + i] = mean_of_channels(channels, [&](std::size_t c) { return frame[c]; });
        }
        audible = audible || std::any_of(chunk, chunk + frames * channels, [](float v) { return v != 0.0f; });
      });
  audio.sample_rate = info.samplerate;
  // Channels that cancel (left = −right, a polarity-inverted channel) leave a silent mix-down of
  // audible audio: every command would analyse nothing, silently.
  const auto zero = [](float v) { return v == 0.0f; };
  if (info.channels > 1 && audible && std::all_of(audio.samples.begin(), audio.samples.end(), zero))
    throw InputError(fmt::format("{}: its channels cancel in the mono mix-down (e.g. left = −right), which innmf "
                                 "analyses: take one channel (e.g. `sox {} left.wav remix 1`)",
                                 path, path));
  return audio;
}

MultichannelAudio read_audio_channels(const std::string& path) {
  MultichannelAudio audio;
  const SF_INFO info =
      read_in_chunks(path, [&](const float* chunk, std::size_t frames, std::size_t first, const SF_INFO& header) {
        const auto channels = static_cast<std::size_t>(header.channels);
        if (first == 0)
          for (std::size_t c = 0; c < channels; ++c)
            audio.channels.push_back(zeroed_vector_on_huge_pages<float>(static_cast<std::size_t>(header.frames)));
        for (std::size_t i = 0; i < frames; ++i)
          for (std::size_t c = 0; c < channels; ++c) audio.channels[c][first + i] = chunk[i * channels + c];
      });
  audio.sample_rate = info.samplerate;
  return audio;
}

void mix_down(const std::vector<const float*>& channels, std::size_t frames, float* mono) {
  for (std::size_t i = 0; i < frames; ++i)
    mono[i] = mean_of_channels(channels.size(), [&](std::size_t c) { return channels[c][i]; });
}

Audio MultichannelAudio::mono_mixdown() const {
  Audio audio;
  audio.sample_rate = sample_rate;
  audio.samples = zeroed_vector_on_huge_pages<float>(frames());
  std::vector<const float*> pointers;
  for (const auto& channel : channels) pointers.push_back(channel.data());
  mix_down(pointers, audio.samples.size(), audio.samples.data());
  return audio;
}

void check_finite(const std::string& path, const Audio& audio) {
  for (std::size_t i = 0; i < audio.samples.size(); ++i) {
    if (!std::isfinite(audio.samples[i]))
      throw InputError(fmt::format("{}: sample {} (at {:.3f} s) is {}: the audio is corrupt", path,
                                   i, i / audio.sample_rate,
                                   std::isnan(audio.samples[i]) ? "NaN" : "infinite"));
  }
}

WavWriter::WavWriter(const std::string& path, int channels, double sample_rate, const std::string& subtype,
                     std::uint64_t expected_frames)
    : path_(path), channels_(channels) {
  if (channels < 1) throw UsageError(fmt::format("{}: no channels to write", path));
  SF_INFO info{};
  info.samplerate = static_cast<int>(std::lround(sample_rate));
  info.channels = channels;
  int bytes_per_sample = 0;
  if (subtype == "pcm16") {
    info.format = SF_FORMAT_PCM_16;
    bytes_per_sample = 2;
  } else if (subtype == "float") {
    info.format = SF_FORMAT_FLOAT;
    bytes_per_sample = 4;
  } else {
    throw UsageError(fmt::format("WAV subtype '{}' is not one of pcm16, float", subtype));
  }
  // WAV's sizes are 32-bit: a separated hour of 48 kHz stereo float is 1.4 GB, three hours
  // would overflow them. RF64 only then, since some readers (scipy) warn at its JUNK chunk.
  const std::uint64_t data_bytes = expected_frames * static_cast<std::uint64_t>(channels) * bytes_per_sample;
  const bool large = data_bytes > 0xFFFFFFFFull - 1024;  // less the header's chunks
  info.format |= large ? SF_FORMAT_RF64 : SF_FORMAT_WAV;
  file_ = std::make_unique<SoundFile>(path, SFM_WRITE, info);
  if (!*file_)
    throw InputError(fmt::format("{}: cannot create ({}): check that the folder exists and is "
                                 "writable",
                                 path, sf_strerror(nullptr)));
  // Clip instead of wrapping around when converting float to integer PCM.
  sf_command(file_->get(), SFC_SET_CLIPPING, nullptr, SF_TRUE);
  // No PEAK chunk in float files: it holds a timestamp, and equal samples must give equal files.
  sf_command(file_->get(), SFC_SET_ADD_PEAK_CHUNK, nullptr, SF_FALSE);
}

WavWriter::~WavWriter() = default;

void WavWriter::write_interleaved(const float* interleaved, std::size_t frames) {
  if (!*file_) throw Error(ExitCode::failure, fmt::format("{}: written after it was finished", path_));
  const auto n = static_cast<sf_count_t>(frames);
  if (sf_writef_float(file_->get(), interleaved, n) != n)
    throw InputError(fmt::format("{}: write failed ({}): is the disk full?", path_, sf_strerror(file_->get())));
}

void WavWriter::write(const std::vector<const float*>& channels, std::size_t frames) {
  if (channels.size() != static_cast<std::size_t>(channels_))
    throw Error(ExitCode::failure, fmt::format("{}: {} channels given for a file of {}", path_, channels.size(), channels_));
  if (channels_ == 1) return write_interleaved(channels.front(), frames);
  std::vector<float> interleaved(frames * channels.size());
  for (std::size_t i = 0; i < frames; ++i)
    for (std::size_t c = 0; c < channels.size(); ++c) interleaved[i * channels.size() + c] = channels[c][i];
  write_interleaved(interleaved.data(), frames);
}

void WavWriter::finish() {
  // The header's sizes are written on closing: a full disk can fail here.
  if (file_->close() != 0)
    throw InputError(fmt::format("{}: closing failed ({}): is the disk full?", path_, sf_strerror(nullptr)));
}

void write_wav(const std::string& path, const Audio& audio, const std::string& subtype) {
  WavWriter writer(path, 1, audio.sample_rate, subtype);
  writer.write_interleaved(audio.samples.data(), audio.samples.size());
  writer.finish();
}

void write_wav(const std::string& path, const MultichannelAudio& audio, const std::string& subtype) {
  const std::size_t channels = audio.channels.size(), frames = audio.frames();
  if (channels == 0) throw UsageError(fmt::format("{}: no channels to write", path));
  for (const auto& channel : audio.channels)
    if (channel.size() != frames)
      throw UsageError(fmt::format("{}: channels of {} and {} samples: all must be equally long", path,
                                   frames, channel.size()));
  std::vector<const float*> pointers;
  for (const auto& channel : audio.channels) pointers.push_back(channel.data());
  WavWriter writer(path, static_cast<int>(channels), audio.sample_rate, subtype);
  writer.write(pointers, frames);
  writer.finish();
}

}  // namespace innmf::audio
