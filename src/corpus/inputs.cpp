#include "innmf/corpus/inputs.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <numeric>
#include <set>

#include "innmf/core/error.hpp"
#include "innmf/core/log.hpp"
#include "innmf/io/atomic_file.hpp"

namespace innmf::corpus {
namespace fs = std::filesystem;

const std::vector<std::string>& audio_extensions() {
  // The formats libsndfile reads (SFC_GET_FORMAT_MAJOR) under their usual extensions, less
  // header-less RAW and MAT4/5 (".mat" is far more often Matlab data than audio).
  static const std::vector<std::string> extensions = {
      ".wav", ".wave", ".bwf", ".rf64", ".w64",  ".flac", ".ogg", ".oga", ".opus", ".mp3", ".mp2",
      ".aif", ".aiff", ".aifc", ".au", ".snd",  ".caf",  ".sph", ".nist", ".sf", ".ircam", ".voc",
      ".avr", ".htk", ".iff", ".svx", ".paf", ".pvf",  ".sd2", ".sds",  ".xi", ".wve"};
  return extensions;
}

namespace {

bool has_audio_extension(const fs::path& path) {
  std::string extension = path.extension().string();
  std::transform(extension.begin(), extension.end(), extension.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const auto& known = audio_extensions();
  return std::find(known.begin(), known.end(), extension) != known.end();
}

void expand_one(const std::string& input, std::vector<std::string>& out, int depth) {
  if (depth > 8) throw InputError(fmt::format("{}: lists nest more than 8 deep", input));
  if (!input.empty() && input[0] == '@') {
    const fs::path list_path = input.substr(1);
    io::protect_input(list_path.string());  // no output of this run may replace the list
    std::ifstream list(list_path);
    if (!list)
      throw InputError(fmt::format("{}: cannot open the list file {}", input, list_path.string()));
    std::string line;
    std::size_t taken = 0;
    while (std::getline(list, line)) {
      // Trim spaces and a Windows line end.
      const auto first = line.find_first_not_of(" \t\r");
      if (first == std::string::npos || line[first] == '#') continue;
      const auto last = line.find_last_not_of(" \t\r");
      fs::path entry = line.substr(first, last - first + 1);
      if (entry.is_relative()) entry = list_path.parent_path() / entry;
      expand_one(entry.lexically_normal().string(), out, depth + 1);
      ++taken;
    }
    if (taken == 0) throw InputError(fmt::format("{}: the list names no files", input));
    return;
  }
  std::error_code ec;
  const auto status = fs::status(input, ec);
  if (!fs::exists(status)) throw InputError(fmt::format("{}: no such file or folder", input));
  if (fs::is_directory(status)) {
    std::vector<std::string> found, skipped;
    for (auto it = fs::recursive_directory_iterator(input, fs::directory_options::follow_directory_symlink, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      if (has_audio_extension(it->path()))
        found.push_back(it->path().string());
      else if (it->path().filename().string().rfind('.', 0) != 0)  // (hidden files go unmentioned)
        skipped.push_back(it->path().string());
    }
    if (ec) throw InputError(fmt::format("{}: cannot list the folder: {}", input, ec.message()));
    if (!skipped.empty()) {
      std::sort(skipped.begin(), skipped.end());
      log::info("{}: {} skipped, not audio by their extension (e.g. {}); give such a file by name to read it",
                input, log::counted(skipped.size(), "file"), skipped.front());
    }
    if (found.empty())
      throw InputError(fmt::format("{}: the folder holds no audio files (.wav, .flac, .ogg, …)", input));
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
    return;
  }
  out.push_back(input);
}

}  // namespace

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  if (inputs.empty()) throw UsageError("no input audio given");
  std::vector<std::string> files;
  for (const auto& input : inputs) expand_one(input, files, 0);
  refuse_repeated_files(files);
  return files;
}

void refuse_repeated_files(const std::vector<std::string>& files) {
  std::set<std::string> seen;
  for (const auto& file : files) {
    std::error_code ec;
    const auto canonical = fs::weakly_canonical(file, ec).string();
    if (!seen.insert(ec ? file : canonical).second)
      throw InputError(fmt::format("{}: listed twice among the inputs: each file may appear once",
                                   file));
  }
}

std::vector<ClipSpan> split_into_clips(std::int64_t n_samples, std::int64_t max_length) {
  if (max_length < 1) max_length = 1;
  const std::int64_t parts = std::max<std::int64_t>(1, (n_samples + max_length - 1) / max_length);
  std::vector<ClipSpan> clips;
  for (std::int64_t i = 0; i < parts; ++i) {
    const std::int64_t begin = n_samples * i / parts;
    const std::int64_t end = n_samples * (i + 1) / parts;
    clips.push_back({begin, end - begin});
  }
  return clips;
}

std::vector<int> balance_by_size(const std::vector<std::uint64_t>& sizes, int n_ranks) {
  std::vector<std::size_t> order(sizes.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return sizes[a] > sizes[b]; });
  std::vector<std::uint64_t> load(static_cast<std::size_t>(n_ranks), 0);
  std::vector<int> owner(sizes.size(), 0);
  for (std::size_t item : order) {
    const auto lightest = std::min_element(load.begin(), load.end()) - load.begin();
    owner[item] = static_cast<int>(lightest);
    load[static_cast<std::size_t>(lightest)] += sizes[item];
  }
  return owner;
}

}  // namespace innmf::corpus
