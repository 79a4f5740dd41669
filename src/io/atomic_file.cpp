#include "innmf/io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>

#include "innmf/core/error.hpp"

namespace innmf::io {
namespace fs = std::filesystem;

namespace {

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0)
    throw InputError(fmt::format("{}: cannot open to sync: {}", path, std::strerror(errno)));
  const int result = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  // Some file systems cannot fsync a folder (EINVAL); the rename is then as durable as it gets.
  if (result != 0 && !(directory && saved == EINVAL))
    throw InputError(fmt::format("{}: fsync failed: {}", path, std::strerror(saved)));
}

}  // namespace

void require_writable_path(const std::string& path, const std::string& option) {
  if (path.empty()) throw UsageError(fmt::format("{}: the output path is empty", option));
  const fs::path target(path);
  std::error_code ec;
  if (fs::is_directory(target, ec))
    throw UsageError(fmt::format("{} {}: is a folder; give a file name", option, path));
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(folder, ec))
    throw UsageError(fmt::format("{} {}: folder {} does not exist; create it first", option, path,
                                 folder.string()));
  if (::access(folder.c_str(), W_OK) != 0)
    throw UsageError(fmt::format("{} {}: folder {} is not writable", option, path,
                                 folder.string()));
}

AtomicOutput::AtomicOutput(std::string path, const std::string& option) : path_(std::move(path)) {
  require_writable_path(path_, option);
  const fs::path target(path_);
  // Hidden, in the same folder (rename must not cross file systems), unique per process.
  temporary_ = (target.parent_path() /
                fmt::format(".{}.tmp-{}", target.filename().string(), ::getpid()))
                   .string();
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ec;
    fs::remove(temporary_, ec);
  }
}

void AtomicOutput::commit() {
  fsync_path(temporary_, false);
  if (std::rename(temporary_.c_str(), path_.c_str()) != 0)
    throw InputError(fmt::format("{}: cannot rename {} to it: {}", path_, temporary_,
                                 std::strerror(errno)));
  committed_ = true;
  const fs::path folder = fs::path(path_).has_parent_path() ? fs::path(path_).parent_path() : ".";
  fsync_path(folder.string(), true);
}

}  // namespace innmf::io
