#pragma once
// Output files that appear whole or not at all.

#include <string>

namespace innmf::io {

/// Write to temporary_path(), then commit(): the temporary file is fsync'd, renamed over the
/// final path and the folder fsync'd, so a crash leaves either the old file or the new one.
/// If commit() is never reached (an exception), the destructor removes the temporary file: no
/// partial output is left behind.
class AtomicOutput {
 public:
  /// Throws UsageError naming `option` if the folder of `path` does not exist or `path` is a
  /// folder.
  AtomicOutput(std::string path, const std::string& option = "-o");
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temporary_; }
  void commit();

 private:
  std::string path_;
  std::string temporary_;
  bool committed_ = false;
};

/// Throws UsageError naming `option` unless `path` could be created: its folder exists and it
/// is not itself a folder. Call on every rank before any collective work.
void require_writable_path(const std::string& path, const std::string& option);

}  // namespace innmf::io
