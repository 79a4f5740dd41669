#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "innmf/core/error.hpp"
#include "innmf/io/atomic_file.hpp"
#include "test_util.hpp"

using namespace innmf;
using innmf::testing::TempDir;
namespace fs = std::filesystem;

TEST(AtomicOutput, CommitRenamesAndLeavesNothingElse) {
  TempDir dir;
  {
    io::AtomicOutput out(dir / "result.h5");
    std::ofstream(out.temporary_path()) << "data";
    EXPECT_FALSE(fs::exists(dir / "result.h5"));  // not visible before commit
    out.commit();
  }
  EXPECT_TRUE(fs::exists(dir / "result.h5"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicOutput, AbandonedOutputIsRemovedAndOldFileKept) {
  TempDir dir;
  std::ofstream(dir / "result.h5") << "old";
  try {
    io::AtomicOutput out(dir / "result.h5");
    std::ofstream(out.temporary_path()) << "half-written";
    throw std::runtime_error("failure while writing");
  } catch (const std::runtime_error&) {
  }
  std::ifstream in(dir / "result.h5");
  std::string content;
  in >> content;
  EXPECT_EQ(content, "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(AtomicOutput, MissingFolderIsAUsageErrorNamingTheOption) {
  TempDir dir;
  try {
    io::AtomicOutput out(dir / "nope/result.h5", "-o");
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("-o "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
  EXPECT_THROW(io::require_writable_path(dir.path(), "-o"), UsageError);  // a folder
}
