#pragma once
// Wall-clock timing. Times are seconds (double) from std::chrono::steady_clock.

#include <chrono>
#include <map>
#include <string>

namespace innmf {

/// Measures elapsed wall time since construction or the last restart().
class Stopwatch {
 public:
  Stopwatch() : start_(Clock::now()) {}
  void restart() { start_ = Clock::now(); }
  /// Seconds since the start.
  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_;
};

/// Named accumulators of wall time ("read", "stft", "write", ...) for one rank; reduced across
/// ranks into min/avg/max by mpi::reduce_timings.
class PhaseTimes {
 public:
  void add(const std::string& phase, double seconds) { seconds_[phase] += seconds; }
  const std::map<std::string, double>& all() const { return seconds_; }

 private:
  std::map<std::string, double> seconds_;
};

/// Adds the lifetime of this object to one phase of a PhaseTimes.
class ScopedPhase {
 public:
  ScopedPhase(PhaseTimes& times, std::string phase) : times_(times), phase_(std::move(phase)) {}
  ~ScopedPhase() { times_.add(phase_, watch_.seconds()); }
  ScopedPhase(const ScopedPhase&) = delete;
  ScopedPhase& operator=(const ScopedPhase&) = delete;

 private:
  PhaseTimes& times_;
  std::string phase_;
  Stopwatch watch_;
};

}  // namespace innmf
