#include "innmf/io/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <mutex>
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

/// The temporary files of live AtomicOutputs, for the signal handler below, which may only
/// make async-signal-safe calls: fixed slots of C strings, published by an atomic flag after
/// the path is written and withdrawn before the slot is reused.
struct TemporarySlot {
  std::atomic<bool> live{false};
  std::array<char, 4096> path{};
};
std::array<TemporarySlot, 64> temporary_slots;
std::array<TemporarySlot, 16> folder_slots;  // OutputFolder: rmdir'd after the files are unlinked
std::mutex slots_mutex;  // between threads registering (not taken by the handler)

constexpr std::array<int, 3> kCleanupSignals{SIGINT, SIGTERM, SIGHUP};

extern "C" void remove_temporaries_and_reraise(int signal_number) {
  for (auto& slot : temporary_slots)
    if (slot.live.load(std::memory_order_acquire)) ::unlink(slot.path.data());
  for (auto& slot : folder_slots)  // (rmdir fails on a folder that is not empty: it stays)
    if (slot.live.load(std::memory_order_acquire)) ::rmdir(slot.path.data());
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}

}  // namespace

void install_signal_cleanup() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (const int signal_number : kCleanupSignals) {
      struct sigaction current {};
      if (::sigaction(signal_number, nullptr, &current) != 0 || current.sa_handler != SIG_DFL) continue;
      struct sigaction action {};
      action.sa_handler = remove_temporaries_and_reraise;
      sigemptyset(&action.sa_mask);
      ::sigaction(signal_number, &action, nullptr);
    }
  });
}

/// The slot that now names `path`, or −1 when every slot is taken or the path is too long
/// (then a signal leaves that temporary file behind, as before this existed).
namespace {

/// `slots` is one of the two lists (temporary files, folders), `n` its length.
int register_in(TemporarySlot* slots, std::size_t n, const std::string& path) {
  install_signal_cleanup();
  if (path.size() + 1 > TemporarySlot{}.path.size()) return -1;
  const std::lock_guard<std::mutex> lock(slots_mutex);
  for (std::size_t i = 0; i < n; ++i) {
    auto& slot = slots[i];
    if (slot.live.load(std::memory_order_relaxed)) continue;
    std::memcpy(slot.path.data(), path.c_str(), path.size() + 1);
    slot.live.store(true, std::memory_order_release);
    return static_cast<int>(i);
  }
  return -1;
}

void unregister_in(TemporarySlot* slots, int slot) {
  if (slot < 0) return;
  const std::lock_guard<std::mutex> lock(slots_mutex);
  slots[static_cast<std::size_t>(slot)].live.store(false, std::memory_order_release);
}

int register_temporary(const std::string& path) {
  return register_in(temporary_slots.data(), temporary_slots.size(), path);
}
void unregister_temporary(int slot) { unregister_in(temporary_slots.data(), slot); }

}  // namespace

/// The files protect_input named (guarded by slots_mutex).
static std::vector<std::string>& protected_inputs() {
  static std::vector<std::string> inputs;
  return inputs;
}

void protect_input(const std::string& path) {
  const std::lock_guard<std::mutex> lock(slots_mutex);
  protected_inputs().push_back(path);
}

void refuse_shared_outputs(const std::vector<std::pair<std::string, std::string>>& outputs) {
  std::vector<fs::path> resolved;
  for (const auto& output : outputs) {
    std::error_code ec;
    fs::path path = fs::weakly_canonical(fs::absolute(output.second, ec), ec);
    if (ec) path = fs::absolute(output.second).lexically_normal();
    resolved.push_back(path);
  }
  for (std::size_t i = 0; i < outputs.size(); ++i)
    for (std::size_t j = i + 1; j < outputs.size(); ++j)
      if (!outputs[i].second.empty() && resolved[i] == resolved[j])
        throw UsageError(fmt::format("{} {} and {} {} are one file: each would be written over the other; give "
                                     "them different paths",
                                     outputs[i].first, outputs[i].second, outputs[j].first, outputs[j].second));
}

void refuse_input_as_output(const std::string& path, const std::string& option,
                            const std::vector<std::string>& given_inputs) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  std::vector<std::string> inputs = given_inputs;
  {
    const std::lock_guard<std::mutex> lock(slots_mutex);
    inputs.insert(inputs.end(), protected_inputs().begin(), protected_inputs().end());
  }
  for (const auto& input : inputs) {
    std::error_code same_ec;
    if (fs::equivalent(path, input, same_ec))
      throw UsageError(fmt::format("{} {}: is the input {}; writing it would destroy the input: give "
                                   "another output path",
                                   option, path, input));
  }
}

void require_writable_path(const std::string& path, const std::string& option) {
  if (path.empty()) throw UsageError(fmt::format("{}: the output path is empty", option));
  const fs::path target(path);
  std::error_code ec;
  if (fs::is_directory(target, ec))
    throw UsageError(fmt::format("{} {}: is a folder; give a file name", option, path));
  const fs::path folder = target.has_parent_path() ? target.parent_path() : fs::path(".");
  if (!fs::is_directory(folder, ec)) {
    if (fs::exists(folder, ec))
      throw UsageError(fmt::format("{} {}: {} is a file, not a folder: give a path in a folder", option, path,
                                   folder.string()));
    throw UsageError(fmt::format("{} {}: folder {} does not exist; create it first", option, path,
                                 folder.string()));
  }
  // access(W_OK) says yes to root everywhere and knows nothing of read-only or virtual file
  // systems (/sys, /proc): create and remove a file to find out, before any work is done.
  const fs::path probe = folder / fmt::format(".innmf-write-probe-{}", ::getpid());
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 && errno != EEXIST)
    throw UsageError(fmt::format("{} {}: cannot write in folder {} ({}): give an output path you can write to",
                                 option, path, folder.string(), std::strerror(errno)));
  if (fd >= 0) {
    ::close(fd);
    ::unlink(probe.c_str());
  }
  const auto status = fs::status(target, ec);  // (follows a symlink to what it names)
  if (fs::exists(status) && !fs::is_regular_file(status))
    throw UsageError(fmt::format("{} {}: is not a regular file (a device, pipe or socket): give the path of a "
                                 "file",
                                 option, path));
}

AtomicOutput::AtomicOutput(std::string path, const std::string& option) : path_(std::move(path)) {
  require_writable_path(path_, option);
  refuse_input_as_output(path_, option, {});
  std::error_code ec;
  // rename() replaces a symlink itself: write where it points instead, as other tools do.
  if (fs::is_symlink(path_, ec)) {
    const fs::path resolved = fs::weakly_canonical(path_, ec);
    if (!ec) path_ = resolved.string();
  }
  if (fs::exists(path_, ec)) permissions_ = static_cast<int>(fs::status(path_, ec).permissions());
  temporary_ = temporary_path_for(path_);
  slot_ = register_temporary(temporary_);
}

AtomicOutput::~AtomicOutput() {
  unregister_temporary(slot_);
  if (!committed_) {
    std::error_code ec;
    fs::remove(temporary_, ec);
  }
}

void AtomicOutput::commit() {
  if (permissions_ >= 0) {  // the replaced file's mode, not the process's default
    std::error_code ec;
    fs::permissions(temporary_, static_cast<fs::perms>(permissions_), ec);
  }
  fsync_path(temporary_, false);
  if (std::rename(temporary_.c_str(), path_.c_str()) != 0)
    throw InputError(fmt::format("{}: cannot rename {} to it: {}", path_, temporary_,
                                 std::strerror(errno)));
  committed_ = true;
  unregister_temporary(slot_);
  slot_ = -1;
  const fs::path folder = fs::path(path_).has_parent_path() ? fs::path(path_).parent_path() : ".";
  fsync_path(folder.string(), true);
}

std::string temporary_path_for(const std::string& path) {
  const fs::path target(path);
  return (target.parent_path() / fmt::format(".{}.tmp-{}", target.filename().string(), ::getpid())).string();
}

OutputFolder::OutputFolder(const std::string& path, const std::string& option) {
  std::error_code ec;
  for (fs::path level = fs::absolute(path, ec).lexically_normal(); !level.empty() && !fs::exists(level, ec);
       level = level.parent_path()) {
    made_.push_back(level.string());
    if (level == level.parent_path()) break;
  }
  fs::create_directories(path, ec);
  if (ec) throw UsageError(fmt::format("{} {}: cannot create the folder: {}", option, path, ec.message()));
  // Deepest first, in the order the signal handler removes them.
  for (const auto& folder : made_) slots_.push_back(register_in(folder_slots.data(), folder_slots.size(), folder));
}

OutputFolder::~OutputFolder() {
  for (const int slot : slots_) unregister_in(folder_slots.data(), slot);
  for (const auto& folder : made_) {
    std::error_code ignored;
    if (!fs::is_directory(folder, ignored) || !fs::is_empty(folder, ignored)) break;
    fs::remove(folder, ignored);
  }
}

}  // namespace innmf::io
