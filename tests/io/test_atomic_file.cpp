#include <gtest/gtest.h>

#include <csignal>
#include <cstdlib>
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

TEST(AtomicOutput, TerminatingSignalsRemoveTheTemporaryFiles) {
  // A process stopped by SIGTERM, SIGINT or SIGHUP while writing (e.g. a cancelled job) must not
  // leave its hidden temporaries behind: the handler removes them, then the signal ends the
  // process as it would have. Each case runs in a child process (a death test).
  for (const int signal_number : {SIGTERM, SIGINT, SIGHUP}) {
    TempDir dir;
    EXPECT_EXIT(
        {
          io::AtomicOutput first(dir / "points.h5");
          std::ofstream(first.temporary_path()) << "half-written";
          io::AtomicOutput second(dir / "metrics.jsonl");
          std::ofstream(second.temporary_path()) << "half-written";
          std::raise(signal_number);
          std::exit(0);  // not reached: the signal ends the process
        },
        ::testing::KilledBySignal(signal_number), "");
    EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 0)
        << "signal " << signal_number << " left a file in " << dir.path();
  }
}

TEST(AtomicOutput, AnOutputThatIsAnInputIsRefused) {
  TempDir dir;
  std::ofstream(dir / "model.h5") << "model";
  fs::create_directory(dir / "sub");
  const std::string through_dots = (fs::path(dir.path()) / "sub" / ".." / "model.h5").string();
  try {
    io::refuse_input_as_output(through_dots, "-o", {"other.h5", dir / "model.h5"});
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("-o "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("is the input"), std::string::npos) << e.what();
  }
  fs::create_symlink(dir / "model.h5", dir / "link.h5");
  EXPECT_THROW(io::refuse_input_as_output(dir / "link.h5", "-o", {dir / "model.h5"}), UsageError);
  // Not yet existing, or another file: no input.
  EXPECT_NO_THROW(io::refuse_input_as_output(dir / "new.h5", "-o", {dir / "model.h5"}));
  std::ofstream(dir / "other.h5") << "other";
  EXPECT_NO_THROW(io::refuse_input_as_output(dir / "other.h5", "-o", {dir / "model.h5"}));
}
