#pragma once
// Errors and exit codes (DESIGN.md §6).
//
// Two kinds of failure (STYLE.md §9): a broken invariant is a bug and asserts; bad input is
// one of the exceptions below, whose message says what was wrong, where, and what to do.
// Messages are one line and start with the file or option they concern.

#include <stdexcept>
#include <string>

namespace innmf {

/// Process exit codes, the same for every subcommand.
enum class ExitCode : int {
  ok = 0,
  failure = 1,      ///< an unexpected internal error (a bug: please report it)
  usage = 2,        ///< bad command line, option value or config file
  bad_input = 3,    ///< missing, corrupt or unusable input data
  numerical = 4,    ///< a numerical failure (NaN loss, divergence)
  interrupted = 5,  ///< stopped by a signal after writing a checkpoint
};

/// Base of every error innmf reports to the user.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

/// A command-line option, option combination or config file entry is wrong (exit code 2).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(ExitCode::usage, message) {}
};

/// Input data is missing, corrupt or unusable (exit code 3).
class InputError : public Error {
 public:
  explicit InputError(const std::string& message) : Error(ExitCode::bad_input, message) {}
};

/// A computation produced NaN/Inf or diverged (exit code 4).
class NumericalError : public Error {
 public:
  explicit NumericalError(const std::string& message) : Error(ExitCode::numerical, message) {}
};

/// The exit code an exception maps to: Error's own code, ExitCode::failure for anything else.
ExitCode exit_code_of(const std::exception& e) noexcept;

}  // namespace innmf
