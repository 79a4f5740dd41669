#pragma once
// A thin, checked wrapper around an MPI communicator (STYLE.md §2–3).
//
// Library functions take `const mpi::Comm&`; only main() names MPI_COMM_WORLD, so a
// single-rank run (Comm::self()) is the same code path. Every MPI call is checked and a
// failure throws innmf::Error naming the call.

#include <mpi.h>

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "innmf/core/timer.hpp"

namespace innmf::mpi {

/// The MPI datatype of a C++ arithmetic type.
template <typename T>
MPI_Datatype datatype();

class Comm {
 public:
  /// MPI_COMM_WORLD. Only main() and tests should call this.
  static Comm world();
  /// MPI_COMM_SELF: this process alone.
  static Comm self();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }
  MPI_Comm native() const { return comm_; }

  void barrier() const;

  /// In-place element-wise sum over all ranks; every rank gets the result.
  template <typename T>
  void allreduce_sum(T* values, std::size_t count) const;
  template <typename T>
  T allreduce_sum(T value) const {
    allreduce_sum(&value, 1);
    return value;
  }
  template <typename T>
  T allreduce_max(T value) const;
  template <typename T>
  T allreduce_min(T value) const;

  /// Broadcast `count` values from `root` to every rank.
  template <typename T>
  void broadcast(T* values, std::size_t count, int root = 0) const;
  /// Broadcast a string (any length) from `root`.
  void broadcast(std::string& text, int root = 0) const;

  /// In place: rank r's block of counts[r] values, at offset counts[0] + … + counts[r−1] of
  /// `values` (Σ counts long on every rank), copied to every rank, so that every rank ends with
  /// all blocks in rank order. `counts` must be the same on every rank (a rank's count may be
  /// 0). Throws if a count or the total exceeds MPI's int range.
  template <typename T>
  void allgatherv(T* values, const std::vector<std::size_t>& counts) const;

  /// Gathers one string from every rank on `root`, in rank order (empty elsewhere).
  std::vector<std::string> gather(const std::string& text, int root = 0) const;

  /// Point-to-point transfer of arrays of any length (split into messages below INT_MAX).
  /// Both wait politely (see wait_politely): meant for bulk data, not latency-bound loops.
  template <typename T>
  void send(const T* values, std::size_t count, int destination, int tag) const;
  template <typename T>
  void receive(T* values, std::size_t count, int source, int tag) const;

  /// Collective: every rank passes its own failure (or nullptr). If any rank failed, every rank
  /// throws the same innmf::Error, carrying the message and exit code of the lowest failing rank
  /// (prefixed with "rank R: " unless R is 0). Use at the end of every phase in which ranks
  /// may fail independently (each reading its own files), so that no rank is left waiting.
  void agree_on_failure(std::exception_ptr local_failure) const;

 private:
  explicit Comm(MPI_Comm comm);
  MPI_Comm comm_;
  int rank_ = 0;
  int size_ = 1;
};

/// Collective: rank 0 runs `work` (reading headers, writing a file), then every rank learns
/// whether it failed (Comm::agree_on_failure): on failure every rank throws the same error.
template <typename Work>
void on_root(const Comm& comm, Work&& work) {
  std::exception_ptr failure;
  if (comm.is_root()) {
    try {
      work();
    } catch (...) {
      failure = std::current_exception();
    }
  }
  comm.agree_on_failure(failure);
}

/// Collective: every rank runs `work` on its own data, then all agree on failure.
template <typename Work>
void on_every_rank(const Comm& comm, Work&& work) {
  std::exception_ptr failure;
  try {
    work();
  } catch (...) {
    failure = std::current_exception();
  }
  comm.agree_on_failure(failure);
}

/// Min/avg/max over ranks of each phase of `times` (seconds); valid on every rank. Phases must
/// have the same names on every rank.
struct PhaseSummary {
  std::string phase;
  double min_seconds, avg_seconds, max_seconds;
};
std::vector<PhaseSummary> reduce_timings(const Comm& comm, const PhaseTimes& times);

/// Waits for `request` without holding the core: tests in a short spin, then sleeps between
/// tests (up to 1 ms). For waits that may be long (a rank waiting while rank 0 writes a file).
void wait_politely(MPI_Request& request);

/// Throws innmf::Error if `result` is not MPI_SUCCESS, naming the failing call.
void check(int result, const char* call);

}  // namespace innmf::mpi
