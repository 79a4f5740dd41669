#include <gtest/gtest.h>
#include <sndfile.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>

#include "innmf/audio/audio_io.hpp"
#include "innmf/core/error.hpp"
#include "test_util.hpp"

using namespace innmf;
using innmf::testing::TempDir;

namespace {

void write_raw(const std::string& path, const std::vector<float>& interleaved, int channels,
               int rate, int format) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(file, nullptr) << sf_strerror(nullptr);
  sf_writef_float(file, interleaved.data(), static_cast<sf_count_t>(interleaved.size() / channels));
  sf_close(file);
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no InputError)";
}

}  // namespace

TEST(AudioIo, WavRoundTripWithin16BitQuantisation) {
  TempDir dir;
  const auto original = innmf::testing::tone(440, 16000, 16000);
  audio::write_wav(dir / "a.wav", original);
  const auto info = audio::probe_audio(dir / "a.wav");
  EXPECT_EQ(info.sample_rate, 16000);
  EXPECT_EQ(info.channels, 1);
  EXPECT_EQ(info.frames, 16000);
  const auto back = audio::read_audio(dir / "a.wav");
  ASSERT_EQ(back.samples.size(), original.samples.size());
  for (std::size_t i = 0; i < back.samples.size(); ++i)
    ASSERT_NEAR(back.samples[i], original.samples[i], 1.0 / 32768 + 1e-7);
}

TEST(AudioIo, FloatWavIsExact) {
  TempDir dir;
  const auto original = innmf::testing::tone(1234.5, 22050, 5000, 0.9);
  audio::write_wav(dir / "f.wav", original, "float");
  EXPECT_EQ(audio::read_audio(dir / "f.wav").samples, original.samples);
}

TEST(AudioIo, StereoIsMixedToTheMeanOfChannels) {
  TempDir dir;
  // left = 0.5, right = -0.25 → mono 0.125 (exact in float and in 16-bit: 4096/32768)
  std::vector<float> stereo;
  for (int i = 0; i < 100; ++i) {
    stereo.push_back(0.5f);
    stereo.push_back(-0.25f);
  }
  write_raw(dir / "s.wav", stereo, 2, 8000, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
  const auto mono = audio::read_audio(dir / "s.wav");
  ASSERT_EQ(mono.samples.size(), 100u);
  EXPECT_FLOAT_EQ(mono.samples[50], 0.125f);
}

TEST(AudioIo, ChannelsThatCancelAreRefusedButSilenceIsRead) {
  TempDir dir;
  std::vector<float> opposite, silent(200, 0.0f);
  for (int i = 0; i < 100; ++i) {
    const float x = 0.5f * std::sin(0.1f * i);
    opposite.push_back(x);
    opposite.push_back(-x);
  }
  write_raw(dir / "opposite.wav", opposite, 2, 8000, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  const auto message = message_of([&] { audio::read_audio(dir / "opposite.wav"); });
  EXPECT_NE(message.find("opposite.wav: its channels cancel in the mono mix-down"), std::string::npos) << message;
  EXPECT_NE(message.find("remix 1"), std::string::npos) << message;
  // The channels themselves are readable (separate keeps them apart), and digital silence is
  // silence, not cancellation.
  EXPECT_EQ(audio::read_audio_channels(dir / "opposite.wav").channels.size(), 2u);
  write_raw(dir / "silent.wav", silent, 2, 8000, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
  EXPECT_EQ(audio::read_audio(dir / "silent.wav").samples.size(), 100u);
}

TEST(AudioIo, ChannelsAreReadApartAndWrittenBack) {
  TempDir dir;
  audio::MultichannelAudio original;
  original.sample_rate = 22050;
  original.channels = {innmf::testing::tone(440, 22050, 3000, 0.5).samples,
                       innmf::testing::tone(1000, 22050, 3000, 0.25).samples,
                       innmf::testing::tone(3000, 22050, 3000, 0.125).samples};
  audio::write_wav(dir / "three.wav", original, "float");
  const auto info = audio::probe_audio(dir / "three.wav");
  EXPECT_EQ(info.channels, 3);
  EXPECT_EQ(info.frames, 3000);
  const auto back = audio::read_audio_channels(dir / "three.wav");
  EXPECT_EQ(back.sample_rate, 22050);
  EXPECT_EQ(back.channels, original.channels);
  // The mix-down of the channels is read_audio's, bit for bit.
  EXPECT_EQ(back.mono_mixdown().samples, audio::read_audio(dir / "three.wav").samples);
  EXPECT_EQ(audio::read_audio_channels(dir / "three.wav").frames(), 3000u);
  audio::MultichannelAudio ragged = original;
  ragged.channels[1].pop_back();
  EXPECT_THROW(audio::write_wav(dir / "ragged.wav", ragged, "float"), UsageError);
}

TEST(AudioIo, FlacIsRead) {
  TempDir dir;
  const auto original = innmf::testing::tone(440, 16000, 8000);
  write_raw(dir / "a.flac", original.samples, 1, 16000, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
  const auto back = audio::read_audio(dir / "a.flac");
  ASSERT_EQ(back.samples.size(), 8000u);
  EXPECT_NEAR(back.samples[123], original.samples[123], 1.0 / 32768 + 1e-7);
}

TEST(AudioIo, BadFilesAreNamedInOneLine) {
  TempDir dir;
  EXPECT_NE(message_of([&] { audio::read_audio(dir / "missing.wav"); }).find("missing.wav: no such file"),
            std::string::npos);
  std::ofstream(dir / "text.wav") << "not audio at all";
  EXPECT_NE(message_of([&] { audio::read_audio(dir / "text.wav"); }).find("text.wav: cannot read as audio"),
            std::string::npos);
  write_raw(dir / "empty.wav", {}, 1, 8000, SF_FORMAT_WAV | SF_FORMAT_PCM_16);
  EXPECT_NE(message_of([&] { audio::read_audio(dir / "empty.wav"); }).find("no audio samples"),
            std::string::npos);
  EXPECT_NE(message_of([&] { audio::probe_audio(dir / "empty.wav"); }).find("no audio samples"),
            std::string::npos);
  EXPECT_NE(message_of([&] { audio::read_audio(dir.path()); }).find("is a directory"), std::string::npos);
  for (const auto& m : {message_of([&] { audio::read_audio(dir / "text.wav"); })})
    EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;
}

TEST(AudioIo, TruncatedWavIsRefused) {
  TempDir dir;
  audio::write_wav(dir / "whole.wav", innmf::testing::tone(440, 16000, 16000));
  std::ifstream in(dir / "whole.wav", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(dir / "cut.wav", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_NE(message_of([&] { audio::read_audio(dir / "cut.wav"); }).find("cut.wav: truncated"),
            std::string::npos);
}

namespace {

/// A RIFF/WAVE file of 8-bit unsigned PCM, mono, 8 kHz, written byte by byte so that its data
/// chunk may have an odd length, with or without the pad byte RIFF asks for.
std::string odd_length_wav(std::size_t samples, bool with_pad_byte) {
  auto u32 = [](std::uint32_t v) {
    return std::string{char(v & 0xff), char(v >> 8 & 0xff), char(v >> 16 & 0xff), char(v >> 24)};
  };
  auto u16 = [](std::uint16_t v) { return std::string{char(v & 0xff), char(v >> 8)}; };
  std::string data(samples, '\0');
  for (std::size_t i = 0; i < samples; ++i)
    data[i] = static_cast<char>(128 + static_cast<int>(100 * std::sin(0.1 * i)));
  const std::string fmt_chunk = "fmt " + u32(16) + u16(1) + u16(1) + u32(8000) + u32(8000) +
                                u16(1) + u16(8);
  std::string body = "WAVE" + fmt_chunk + "data" + u32(static_cast<std::uint32_t>(samples)) + data;
  if (with_pad_byte && samples % 2 == 1) body += '\0';
  return "RIFF" + u32(static_cast<std::uint32_t>(body.size())) + body;
}

}  // namespace

TEST(AudioIo, OddLengthDataChunksAreValidNotTruncated) {
  // Half of all mono 24-bit, 8-bit and u-law files have an odd data length; libsndfile's log
  // remarks on it, which once made read_audio refuse them as truncated.
  TempDir dir;
  for (const bool pad : {true, false}) {
    const auto path = dir / (pad ? "padded.wav" : "unpadded.wav");
    std::ofstream(path, std::ios::binary) << odd_length_wav(8001, pad);
    const auto audio = audio::read_audio(path);
    EXPECT_EQ(audio.samples.size(), 8001u) << path;
    EXPECT_NEAR(audio.samples[8000], 100 * std::sin(0.1 * 8000) / 128.0, 1.5 / 128) << path;
  }
  // Cut short, the same file is still refused.
  std::ofstream(dir / "cut.wav", std::ios::binary) << odd_length_wav(8001, true).substr(0, 4000);
  EXPECT_NE(message_of([&] { audio::read_audio(dir / "cut.wav"); }).find("cut.wav: truncated"),
            std::string::npos);
}

TEST(AudioIo, HeaderRemarksOnValidFilesAreNotTruncation) {
  TempDir dir;
  auto patch_u32 = [](std::string bytes, std::size_t at, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>(v >> (8 * i) & 0xff);
    return bytes;
  };
  const std::string wav = odd_length_wav(8000, true);
  // A byte rate one off ("  Bytes/sec : 8001 (should be 8000)"), as sox writes for IMA ADPCM and
  // GSM WAVs at 11.025–44.1 kHz: the data are all there.
  std::ofstream(dir / "byte_rate.wav", std::ios::binary) << patch_u32(wav, 28, 8001);
  EXPECT_EQ(audio::read_audio(dir / "byte_rate.wav").samples.size(), 8000u);
  // A streamed WAV: RIFF and data sizes 0xFFFFFFFF, as writers to a pipe leave them.
  std::ofstream(dir / "streamed.wav", std::ios::binary) << patch_u32(patch_u32(wav, 4, 0xFFFFFFFF), 40, 0xFFFFFFFF);
  EXPECT_EQ(audio::read_audio(dir / "streamed.wav").samples.size(), 8000u);
  // A data size larger than the file holds is still truncation.
  std::ofstream(dir / "promise.wav", std::ios::binary) << patch_u32(wav, 40, 9000);
  EXPECT_NE(message_of([&] { audio::read_audio(dir / "promise.wav"); }).find("promise.wav: truncated"),
            std::string::npos);
}

TEST(AudioIo, OggStreamCutShortIsRefusedNotReadAsEndless) {
  // Without its last page an Ogg stream has no length: libsndfile reports SF_COUNT_MAX frames,
  // which once became a vector::reserve failure or an allocation without end.
  TempDir dir;
  write_raw(dir / "whole.ogg", innmf::testing::tone(440, 16000, 3 * 16000).samples, 1, 16000,
            SF_FORMAT_OGG | SF_FORMAT_VORBIS);
  EXPECT_EQ(audio::read_audio(dir / "whole.ogg").samples.size(), 3u * 16000);
  std::ifstream whole(dir / "whole.ogg", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
  std::ofstream(dir / "cut.ogg", std::ios::binary) << bytes.substr(0, bytes.size() * 2 / 3);
  for (const auto& read : std::vector<std::function<void()>>{[&] { audio::read_audio(dir / "cut.ogg"); },
                                                             [&] { audio::probe_audio(dir / "cut.ogg"); }}) {
    const auto message = message_of(read);
    EXPECT_NE(message.find("cut.ogg: its end is missing"), std::string::npos) << message;
  }
}

TEST(AudioIo, NanAndInfSamplesAreRefusedWithTheirPosition) {
  TempDir dir;
  auto x = innmf::testing::tone(440, 8000, 8000).samples;
  x[4000] = std::numeric_limits<float>::quiet_NaN();
  write_raw(dir / "nan.wav", x, 1, 8000, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  const auto nan_message = message_of([&] { audio::read_audio(dir / "nan.wav"); });
  EXPECT_NE(nan_message.find("nan.wav: sample 4000 (at 0.500 s"), std::string::npos) << nan_message;
  EXPECT_NE(nan_message.find("NaN"), std::string::npos);
  x[4000] = 0;
  x[10] = -std::numeric_limits<float>::infinity();
  write_raw(dir / "inf.wav", x, 1, 8000, SF_FORMAT_WAV | SF_FORMAT_FLOAT);
  EXPECT_NE(message_of([&] { audio::read_audio(dir / "inf.wav"); }).find("infinite"), std::string::npos);
}

TEST(AudioIo, WriteIntoMissingFolderFails) {
  TempDir dir;
  EXPECT_THROW(audio::write_wav(dir / "no/such/folder/x.wav", innmf::testing::tone(1, 8000, 10)),
               InputError);
}
