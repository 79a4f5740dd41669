#pragma once
// Turning command-line inputs into a corpus: the list of audio files and how each is cut into
// clips.

#include <cstdint>
#include <string>
#include <vector>

namespace innmf::corpus {

/// File name extensions (lower case, with dot) taken from folders: what libsndfile reads.
const std::vector<std::string>& audio_extensions();

/// Expands inputs into audio file paths, in order, without duplicates:
/// - a file is taken as given (whatever its extension);
/// - a folder contributes every file with an audio extension below it, recursively, sorted;
/// - `@list.txt` contributes one path per line (blank lines and lines starting with # are
///   skipped; relative paths are relative to the list file's folder).
/// Throws InputError naming the input that is missing, an empty folder or list, or a file
/// listed twice.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs);

/// Throws InputError naming the first file of `files` that names the same file as an earlier
/// one (after resolving ".." and symlinks): each input may appear once.
void refuse_repeated_files(const std::vector<std::string>& files);

/// One clip cut from a file: samples [begin, begin + length).
struct ClipSpan {
  std::int64_t begin = 0;
  std::int64_t length = 0;
};

/// Cuts `n_samples` into ceil(n / max_length) clips of equal length (±1 sample), so that no
/// clip is longer than `max_length` and none is a short remainder. `max_length` ≥ 1.
std::vector<ClipSpan> split_into_clips(std::int64_t n_samples, std::int64_t max_length);

/// Assigns items of the given sizes to `n_ranks` ranks: largest first onto the least-loaded
/// rank (ties: the lower index / lower rank), so the result depends only on the sizes.
/// Returns the rank of each item.
std::vector<int> balance_by_size(const std::vector<std::uint64_t>& sizes, int n_ranks);

}  // namespace innmf::corpus
