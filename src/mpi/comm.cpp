#include "innmf/mpi/comm.hpp"

#include <algorithm>
#include <chrono>
#include <thread>
#include <climits>
#include <cstdint>
#include <new>
#include <string>

#include "innmf/core/error.hpp"

namespace innmf::mpi {

void check(int result, const char* call) {
  if (result == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(result, text, &length);
  throw Error(ExitCode::failure, std::string(call) + " failed: " + std::string(text, length));
}

template <> MPI_Datatype datatype<char>() { return MPI_CHAR; }
template <> MPI_Datatype datatype<int>() { return MPI_INT; }
template <> MPI_Datatype datatype<std::int64_t>() { return MPI_INT64_T; }
template <> MPI_Datatype datatype<std::uint64_t>() { return MPI_UINT64_T; }
template <> MPI_Datatype datatype<float>() { return MPI_FLOAT; }
template <> MPI_Datatype datatype<double>() { return MPI_DOUBLE; }

Comm::Comm(MPI_Comm comm) : comm_(comm) {
  check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

Comm Comm::world() { return Comm(MPI_COMM_WORLD); }
Comm Comm::self() { return Comm(MPI_COMM_SELF); }

void Comm::barrier() const { check(MPI_Barrier(comm_), "MPI_Barrier"); }

void wait_politely(MPI_Request& request) {
  // Spin briefly (a quick message completes in microseconds), then sleep between tests with a
  // growing interval up to 1 ms: a rank waiting for rank 0 to finish writing should give its
  // core to rank 0, not burn it (Open MPI's blocking calls busy-poll).
  int done = 0;
  auto pause = std::chrono::microseconds(20);
  for (int attempt = 0;; ++attempt) {
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "MPI_Test");
    if (done) return;
    if (attempt > 50) {
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::microseconds(1000));
    }
  }
}

// MPI counts are int: large arrays move in pieces of at most this many elements.
static constexpr std::size_t kMaxMessage = std::size_t{1} << 30;

template <typename T>
void Comm::allreduce_sum(T* values, std::size_t count) const {
  for (std::size_t begin = 0; begin < count; begin += kMaxMessage) {
    const int n = static_cast<int>(std::min(kMaxMessage, count - begin));
    check(MPI_Allreduce(MPI_IN_PLACE, values + begin, n, datatype<T>(), MPI_SUM, comm_),
          "MPI_Allreduce");
  }
}

template <typename T>
T Comm::allreduce_max(T value) const {
  check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, datatype<T>(), MPI_MAX, comm_), "MPI_Allreduce");
  return value;
}

template <typename T>
T Comm::allreduce_min(T value) const {
  check(MPI_Allreduce(MPI_IN_PLACE, &value, 1, datatype<T>(), MPI_MIN, comm_), "MPI_Allreduce");
  return value;
}

template <typename T>
void Comm::broadcast(T* values, std::size_t count, int root) const {
  for (std::size_t begin = 0; begin < count; begin += kMaxMessage) {
    const int n = static_cast<int>(std::min(kMaxMessage, count - begin));
    check(MPI_Bcast(values + begin, n, datatype<T>(), root, comm_), "MPI_Bcast");
  }
}

template <typename T>
void Comm::allgatherv(T* values, const std::vector<std::size_t>& counts) const {
  if (counts.size() != static_cast<std::size_t>(size_))
    throw Error(ExitCode::failure, "Comm::allgatherv: one count per rank is needed");
  std::vector<int> n(counts.size()), displacements(counts.size());
  std::size_t total = 0;
  for (std::size_t r = 0; r < counts.size(); ++r) {
    if (total + counts[r] > static_cast<std::size_t>(INT_MAX))
      throw Error(ExitCode::failure, "Comm::allgatherv: more than INT_MAX values");
    n[r] = static_cast<int>(counts[r]);
    displacements[r] = static_cast<int>(total);
    total += counts[r];
  }
  check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, values, n.data(), displacements.data(),
                       datatype<T>(), comm_),
        "MPI_Allgatherv");
}

void Comm::broadcast(std::string& text, int root) const {
  std::uint64_t length = text.size();
  broadcast(&length, 1, root);
  text.resize(length);
  broadcast(text.data(), length, root);
}

std::vector<std::string> Comm::gather(const std::string& text, int root) const {
  if (text.size() > static_cast<std::size_t>(INT_MAX))
    throw Error(ExitCode::failure, "Comm::gather: message above 2 GiB");
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(rank_ == root ? size_ : 0);
  check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, comm_), "MPI_Gather");
  std::vector<int> displacements(lengths.size());
  std::int64_t total = 0;
  for (std::size_t r = 0; r < lengths.size(); ++r) {
    displacements[r] = static_cast<int>(total);
    total += lengths[r];
  }
  if (total > INT_MAX) throw Error(ExitCode::failure, "Comm::gather: total above 2 GiB");
  std::string all(static_cast<std::size_t>(total), '\0');
  check(MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(),
                    displacements.data(), MPI_CHAR, root, comm_),
        "MPI_Gatherv");
  std::vector<std::string> parts;
  for (std::size_t r = 0; r < lengths.size(); ++r)
    parts.push_back(all.substr(static_cast<std::size_t>(displacements[r]),
                               static_cast<std::size_t>(lengths[r])));
  return parts;
}

template <typename T>
void Comm::send(const T* values, std::size_t count, int destination, int tag) const {
  std::size_t begin = 0;
  do {  // at least one message, so that a zero-length array is still matched by its receive
    const int n = static_cast<int>(std::min(kMaxMessage, count - begin));
    MPI_Request request;
    check(MPI_Isend(values + begin, n, datatype<T>(), destination, tag, comm_, &request), "MPI_Isend");
    wait_politely(request);
    begin += static_cast<std::size_t>(n);
  } while (begin < count);
}

template <typename T>
void Comm::receive(T* values, std::size_t count, int source, int tag) const {
  std::size_t begin = 0;
  do {
    const int n = static_cast<int>(std::min(kMaxMessage, count - begin));
    MPI_Request request;
    check(MPI_Irecv(values + begin, n, datatype<T>(), source, tag, comm_, &request), "MPI_Irecv");
    wait_politely(request);
    begin += static_cast<std::size_t>(n);
  } while (begin < count);
}

void Comm::agree_on_failure(std::exception_ptr local_failure) const {
  std::string message;
  ExitCode code = ExitCode::ok;
  if (local_failure) {
    try {
      std::rethrow_exception(local_failure);
    } catch (const std::bad_alloc&) {
      // what() would say only "std::bad_alloc"; the sizes come from the options or the inputs.
      message = "out of memory: the options or the inputs ask for more memory than this machine has (sizes such "
                "as --rank, --hidden, --n-freqs, or many long files on one rank); lower them, or spread the files "
                "over more MPI ranks";
      code = ExitCode::failure;
    } catch (const std::exception& e) {
      message = e.what();
      code = exit_code_of(e);
    } catch (...) {
      message = "unknown error";
      code = ExitCode::failure;
    }
  }
  // The lowest failing rank speaks for all (size_ means "nobody failed"). Non-blocking and
  // polite: ranks often arrive here long before the slowest one.
  int first_failure = local_failure ? rank_ : size_;
  MPI_Request request;
  check(MPI_Iallreduce(MPI_IN_PLACE, &first_failure, 1, MPI_INT, MPI_MIN, comm_, &request),
        "MPI_Iallreduce");
  wait_politely(request);
  if (first_failure == size_) return;
  int code_value = static_cast<int>(code);
  broadcast(&code_value, 1, first_failure);
  broadcast(message, first_failure);
  if (first_failure != 0) message = "rank " + std::to_string(first_failure) + ": " + message;
  // Rethrow as the type the exit code stands for, so callers can catch InputError etc.
  switch (static_cast<ExitCode>(code_value)) {
    case ExitCode::usage: throw UsageError(message);
    case ExitCode::bad_input: throw InputError(message);
    case ExitCode::numerical: throw NumericalError(message);
    default: throw Error(static_cast<ExitCode>(code_value), message);
  }
}

std::vector<PhaseSummary> reduce_timings(const Comm& comm, const PhaseTimes& times) {
  std::vector<PhaseSummary> summary;
  for (const auto& [phase, seconds] : times.all()) {
    double min_s = seconds, max_s = seconds, sum_s = seconds;
    check(MPI_Allreduce(MPI_IN_PLACE, &min_s, 1, MPI_DOUBLE, MPI_MIN, comm.native()), "MPI_Allreduce");
    check(MPI_Allreduce(MPI_IN_PLACE, &max_s, 1, MPI_DOUBLE, MPI_MAX, comm.native()), "MPI_Allreduce");
    check(MPI_Allreduce(MPI_IN_PLACE, &sum_s, 1, MPI_DOUBLE, MPI_SUM, comm.native()), "MPI_Allreduce");
    summary.push_back({phase, min_s, sum_s / comm.size(), max_s});
  }
  return summary;
}

#define INNMF_INSTANTIATE(T)                                                   \
  template void Comm::allreduce_sum<T>(T*, std::size_t) const;                 \
  template T Comm::allreduce_max<T>(T) const;                                  \
  template T Comm::allreduce_min<T>(T) const;                                  \
  template void Comm::broadcast<T>(T*, std::size_t, int) const;                \
  template void Comm::allgatherv<T>(T*, const std::vector<std::size_t>&) const; \
  template void Comm::send<T>(const T*, std::size_t, int, int) const;          \
  template void Comm::receive<T>(T*, std::size_t, int, int) const;
INNMF_INSTANTIATE(char)
INNMF_INSTANTIATE(int)
INNMF_INSTANTIATE(std::int64_t)
INNMF_INSTANTIATE(std::uint64_t)
INNMF_INSTANTIATE(float)
INNMF_INSTANTIATE(double)
#undef INNMF_INSTANTIATE

}  // namespace innmf::mpi
