#pragma once
// Output files that appear whole or not at all.

#include <string>
#include <utility>
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
  /// Throws UsageError naming `option` if the folder of `path` does not exist, `path` is a
  /// folder or not a regular file, or is a protected input. An existing symlink is followed
  /// (its target is replaced, not the link), and an existing file's permissions are kept.
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
  int permissions_ = -1;  ///< the replaced file's permission bits (−1: there was none)
  int slot_ = -1;  ///< the temporary file's slot in the signal-time cleanup list (−1: none)
};

/// Where an AtomicOutput for `path` writes before its commit: ".NAME.tmp-PID" in the same folder
/// (hidden; rename must not cross file systems; unique per process). For length checks of paths
/// that a library must open (libsndfile's limit, audio::kMaxAudioPathBytes).
std::string temporary_path_for(const std::string& path);

/// The folder `path` for a run's outputs, made with any missing parents. The folders made here
/// are removed again, deepest first, if they are still empty when the object goes (an error) or
/// when SIGINT, SIGTERM or SIGHUP end the process (after the live temporary files are removed),
/// so that a failed or interrupted run leaves no empty folder behind. A folder that holds
/// anything, or that existed before, is never removed.
class OutputFolder {
 public:
  /// Throws UsageError naming `option` if the folder cannot be made (exit code 2, as for any
  /// output path that cannot be written).
  OutputFolder(const std::string& path, const std::string& option);
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

 private:
  std::vector<std::string> made_;  ///< the folders made here, deepest first
  std::vector<int> slots_;         ///< their slots in the signal-time cleanup list (−1: none)
};

/// Installs (once) the handlers that remove live temporary files on SIGINT, SIGTERM and SIGHUP,
/// for each of them whose disposition is still the default. AtomicOutput does it when first
/// made; code that takes one of these signals for itself (`innmf train`'s Ctrl-C and SIGTERM)
/// calls it first, so that the handler it replaces, and later restores, is the cleanup one.
void install_signal_cleanup();

/// Throws UsageError naming `option` unless `path` could be created: its folder exists and it
/// is not itself a folder, nor a device, pipe or socket (rename would replace `/dev/null` with a
/// regular file). Call on every rank before any collective work.
void require_writable_path(const std::string& path, const std::string& option);

/// Throws UsageError naming `option` if `path` is the same file (through any path or link) as
/// one of `inputs` or of the protected inputs (protect_input): `innmf export m.h5 -o m.h5` would
/// replace the model it reads. A path that does not exist yet is no input.
void refuse_input_as_output(const std::string& path, const std::string& option,
                            const std::vector<std::string>& inputs);

/// Adds `path` to the inputs that no AtomicOutput of this process may replace, for inputs the
/// commands do not list themselves: the --config file, @list files.
void protect_input(const std::string& path);

/// Throws UsageError if two of `outputs` ({option, path}) are one file (existing or not), e.g.
/// `-o x.h5 --metrics x.h5`: each would be written over the other.
void refuse_shared_outputs(const std::vector<std::pair<std::string, std::string>>& outputs);

}  // namespace innmf::io
