#pragma once
// Output files that appear whole or not at all.

#include <string>
#include <vector>

namespace innmf::io {

/// Write to temporary_path(), then commit(): the temporary file is fsync'd, renamed over the
/// final path and the folder fsync'd, so a crash leaves either the old file or the new one.
/// If commit() is never reached (an exception), the destructor removes the temporary file: no
/// partial output is left behind. SIGINT, SIGTERM and SIGHUP remove the live temporary files
/// too before the process ends as the signal would have ended it (a handler is installed for
/// each of them whose disposition is still the default when the first AtomicOutput is made;
/// `innmf train` later takes SIGTERM for its checkpoint-and-stop, which ends through the
/// destructors).
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
  int slot_ = -1;  ///< the temporary file's slot in the signal-time cleanup list (−1: none)
};

/// Throws UsageError naming `option` unless `path` could be created: its folder exists and it
/// is not itself a folder. Call on every rank before any collective work.
void require_writable_path(const std::string& path, const std::string& option);

/// Throws UsageError naming `option` if `path` is the same file (through any path or link) as
/// one of `inputs`: `innmf export m.h5 -o m.h5` would replace the model it reads. A path that
/// does not exist yet is no input.
void refuse_input_as_output(const std::string& path, const std::string& option,
                            const std::vector<std::string>& inputs);

}  // namespace innmf::io
