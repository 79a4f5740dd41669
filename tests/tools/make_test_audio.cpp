// Writes the audio fixtures the tests use into a folder (argument 1):
//   tone_440.wav      1.0 s, 16 kHz, 440 Hz sine at 0.5 full scale, 16-bit
//   tone_1000.wav     2.0 s, 16 kHz, 1 kHz sine, 16-bit
//   stereo.wav        0.5 s, 16 kHz, 2 channels (left 440 Hz, right silent), 16-bit
//   tone_44k.wav      1.0 s, 44.1 kHz, 440 Hz, 16-bit
//   tone.flac         1.0 s, 16 kHz, 440 Hz (FLAC)
//   short.wav         100 samples, 16 kHz
//   nan.wav           1.0 s, 16 kHz float, sample 8000 is NaN
//   inf.wav           1.0 s, 16 kHz float, sample 100 is +Inf
//   empty.wav         a valid WAV header with no samples
//   not_audio.wav     text
//   truncated.wav     tone_1000.wav cut to half its bytes (header promises more)
#include <sndfile.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace {

std::vector<float> sine(double frequency, double rate, double seconds, double amplitude) {
  std::vector<float> x(static_cast<std::size_t>(std::lround(rate * seconds)));
  for (std::size_t n = 0; n < x.size(); ++n)
    x[n] = static_cast<float>(amplitude * std::sin(2 * M_PI * frequency * n / rate));
  return x;
}

bool write(const std::string& path, const std::vector<float>& interleaved, int rate, int channels,
           int format) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = channels;
  info.format = format;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  if (!file) {
    std::fprintf(stderr, "cannot create %s: %s\n", path.c_str(), sf_strerror(nullptr));
    return false;
  }
  const sf_count_t frames = static_cast<sf_count_t>(interleaved.size()) / channels;
  const bool ok = sf_writef_float(file, interleaved.data(), frames) == frames;
  sf_close(file);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s FOLDER\n", argv[0]);
    return 2;
  }
  namespace fs = std::filesystem;
  const fs::path dir = argv[1];
  fs::create_directories(dir);
  auto at = [&](const char* name) { return (dir / name).string(); };
  const int pcm16 = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  const int float32 = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  bool ok = true;
  ok &= write(at("tone_440.wav"), sine(440, 16000, 1.0, 0.5), 16000, 1, pcm16);
  ok &= write(at("tone_1000.wav"), sine(1000, 16000, 2.0, 0.5), 16000, 1, pcm16);
  {
    auto left = sine(440, 16000, 0.5, 0.5);
    std::vector<float> stereo(left.size() * 2, 0.0f);
    for (std::size_t n = 0; n < left.size(); ++n) stereo[2 * n] = left[n];
    ok &= write(at("stereo.wav"), stereo, 16000, 2, pcm16);
  }
  ok &= write(at("tone_44k.wav"), sine(440, 44100, 1.0, 0.5), 44100, 1, pcm16);
  ok &= write(at("tone.flac"), sine(440, 16000, 1.0, 0.5), 16000, 1, SF_FORMAT_FLAC | SF_FORMAT_PCM_16);
  ok &= write(at("short.wav"), sine(440, 16000, 100.0 / 16000, 0.5), 16000, 1, pcm16);
  {
    auto x = sine(440, 16000, 1.0, 0.5);
    x[8000] = std::numeric_limits<float>::quiet_NaN();
    ok &= write(at("nan.wav"), x, 16000, 1, float32);
    x[8000] = 0;
    x[100] = std::numeric_limits<float>::infinity();
    ok &= write(at("inf.wav"), x, 16000, 1, float32);
  }
  ok &= write(at("empty.wav"), {}, 16000, 1, pcm16);
  std::ofstream(at("not_audio.wav")) << "this is not a WAV file\n";
  {
    std::ifstream in(at("tone_1000.wav"), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(at("truncated.wav"), std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  }
  return ok ? 0 : 1;
}
