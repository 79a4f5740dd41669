#pragma once
// RAII guard for the MPI library (STYLE.md §3).

namespace innmf::mpi {

/// Initialises MPI on construction and finalises it on destruction. Asks for
/// MPI_THREAD_FUNNELED (only the thread that called init makes MPI calls; OpenMP threads
/// compute between collectives) and throws if the library provides less.
/// Exactly one Environment exists per process, created first thing in main().
class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;

  /// Ends every rank of MPI_COMM_WORLD at once with `exit_code`. For errors that not all
  /// ranks know about: finalising normally would leave the other ranks waiting in a
  /// collective forever.
  [[noreturn]] static void abort(int exit_code);
};

}  // namespace innmf::mpi
