#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "innmf/core/error.hpp"
#include "innmf/corpus/inputs.hpp"
#include "test_util.hpp"

using namespace innmf;
using innmf::testing::TempDir;
namespace fs = std::filesystem;

TEST(ExpandInputs, FoldersAreSearchedRecursivelyAndSorted) {
  TempDir dir;
  fs::create_directories(dir / "corpus/b");
  for (const char* name : {"corpus/z.wav", "corpus/b/a.FLAC", "corpus/a.wav", "corpus/notes.txt"})
    std::ofstream(dir / name) << "x";
  const auto files = corpus::expand_inputs({dir / "corpus"});
  ASSERT_EQ(files.size(), 3u);  // notes.txt is not audio
  EXPECT_EQ(files[0], dir / "corpus/a.wav");
  EXPECT_EQ(files[1], dir / "corpus/b/a.FLAC");
  EXPECT_EQ(files[2], dir / "corpus/z.wav");
}

TEST(ExpandInputs, FoldersFindEveryFormatLibsndfileReads) {
  // The extensions of libsndfile's formats that once went unnoticed in folders.
  TempDir dir;
  fs::create_directories(dir / "corpus");
  const std::vector<std::string> audio = {"a.aifc", "b.rf64", "c.sph", "d.sf", "e.voc", "f.mp3", "g.opus"};
  for (const auto& name : audio) std::ofstream(dir / ("corpus/" + name)) << "x";
  for (const char* name : {"corpus/data.mat", "corpus/take.raw", "corpus/.hidden.wav~"})
    std::ofstream(dir / name) << "x";
  const auto files = corpus::expand_inputs({dir / "corpus"});
  ASSERT_EQ(files.size(), audio.size());
  for (std::size_t i = 0; i < audio.size(); ++i) EXPECT_EQ(fs::path(files[i]).filename(), audio[i]);
}

TEST(ExpandInputs, ListFilesResolveRelativeToTheirFolder) {
  TempDir dir;
  fs::create_directories(dir / "lists");
  std::ofstream(dir / "one.wav") << "x";
  std::ofstream(dir / "two.wav") << "x";
  std::ofstream(dir / "lists/corpus.txt") << "# training files\n../one.wav\n\n  ../two.wav  \r\n";
  const auto files = corpus::expand_inputs({"@" + (dir / "lists/corpus.txt")});
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(fs::path(files[0]).filename(), "one.wav");
  EXPECT_TRUE(fs::exists(files[1]));
}

TEST(ExpandInputs, MissingEmptyAndDuplicateInputsAreErrors) {
  TempDir dir;
  std::ofstream(dir / "a.wav") << "x";
  fs::create_directories(dir / "empty");
  EXPECT_THROW(corpus::expand_inputs({dir / "missing.wav"}), InputError);
  EXPECT_THROW(corpus::expand_inputs({dir / "empty"}), InputError);
  EXPECT_THROW(corpus::expand_inputs({dir / "a.wav", dir.path()}), InputError);  // a.wav twice
  EXPECT_THROW(corpus::expand_inputs({"@" + (dir / "nolist.txt")}), InputError);
  EXPECT_THROW(corpus::expand_inputs({}), UsageError);
}

TEST(SplitIntoClips, EqualClipsCoverTheSignalWithoutShortRemainders) {
  for (std::int64_t n : {1, 99, 100, 101, 12345, 480000 + 16000}) {
    const std::int64_t max_length = 100;
    const auto clips = corpus::split_into_clips(n, max_length);
    std::int64_t next = 0, shortest = n, longest = 0;
    for (const auto& c : clips) {
      EXPECT_EQ(c.begin, next);
      next += c.length;
      shortest = std::min(shortest, c.length);
      longest = std::max(longest, c.length);
    }
    EXPECT_EQ(next, n);
    EXPECT_LE(longest, max_length);
    EXPECT_LE(longest - shortest, 1);  // equal ±1 sample
    EXPECT_EQ(static_cast<std::int64_t>(clips.size()), (n + max_length - 1) / max_length);
  }
}

TEST(BalanceBySize, LargestFirstOntoLeastLoaded) {
  // sizes 5 4 3 3 1 on 2 ranks: 5→0, 4→1, 3→1 (4<5), 3→0 (5<7), 1→0 or 1 (8 vs 7 → 1)
  const auto owner = corpus::balance_by_size({5, 4, 3, 3, 1}, 2);
  EXPECT_EQ(owner, (std::vector<int>{0, 1, 1, 0, 1}));
  const auto one_rank = corpus::balance_by_size({1, 2, 3}, 1);
  EXPECT_EQ(one_rank, (std::vector<int>{0, 0, 0}));
  // More ranks than items: every item on its own rank.
  const auto wide = corpus::balance_by_size({7, 8}, 4);
  EXPECT_NE(wide[0], wide[1]);
}
