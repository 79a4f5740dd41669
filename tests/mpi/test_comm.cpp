#include <gtest/gtest.h>

#include <numeric>

#include "innmf/core/error.hpp"
#include "innmf/mpi/comm.hpp"

using namespace innmf;

TEST(Comm, AllreduceSumMaxMin) {
  const auto comm = mpi::Comm::world();
  const int r = comm.rank(), p = comm.size();
  std::vector<double> v = {1.0, static_cast<double>(r)};
  comm.allreduce_sum(v.data(), v.size());
  EXPECT_EQ(v[0], p);
  EXPECT_EQ(v[1], p * (p - 1) / 2.0);
  EXPECT_EQ(comm.allreduce_max(r), p - 1);
  EXPECT_EQ(comm.allreduce_min(r + 10), 10);
  EXPECT_EQ(comm.allreduce_sum(std::int64_t{1} << 40), (std::int64_t{1} << 40) * p);
}

TEST(Comm, BroadcastAndGatherStrings) {
  const auto comm = mpi::Comm::world();
  std::string text = comm.is_root() ? std::string(100000, 'x') + "end" : "";
  comm.broadcast(text);
  EXPECT_EQ(text.size(), 100003u);
  EXPECT_EQ(text.substr(100000), "end");
  const auto parts = comm.gather(std::string(comm.rank(), 'a'));
  if (comm.is_root()) {
    ASSERT_EQ(static_cast<int>(parts.size()), comm.size());
    for (int r = 0; r < comm.size(); ++r) EXPECT_EQ(parts[r], std::string(r, 'a'));
  } else {
    EXPECT_TRUE(parts.empty());
  }
}

TEST(Comm, SendReceiveIncludingEmptyArrays) {
  const auto comm = mpi::Comm::world();
  if (comm.size() < 2) GTEST_SKIP() << "needs 2 ranks";
  if (comm.rank() == 1) {
    std::vector<float> data(1000);
    std::iota(data.begin(), data.end(), 0.0f);
    comm.send(data.data(), data.size(), 0, 5);
    comm.send(data.data(), 0, 0, 6);
  } else if (comm.is_root()) {
    std::vector<float> data(1000);
    comm.receive(data.data(), data.size(), 1, 5);
    EXPECT_EQ(data[999], 999.0f);
    comm.receive(data.data(), 0, 1, 6);
  }
  comm.barrier();
}

TEST(Comm, AgreeOnFailurePassesWhenNobodyFailed) {
  const auto comm = mpi::Comm::world();
  EXPECT_NO_THROW(comm.agree_on_failure(nullptr));
}

TEST(Comm, OneRanksFailureReachesEveryRankWithItsCodeAndMessage) {
  const auto comm = mpi::Comm::world();
  const int failing = comm.size() - 1;  // the last rank only
  std::exception_ptr local;
  if (comm.rank() == failing) local = std::make_exception_ptr(InputError("clip.wav: sample 3 is NaN"));
  try {
    comm.agree_on_failure(local);
    FAIL() << "rank " << comm.rank() << " did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    const std::string expected =
        (failing == 0 ? "" : "rank " + std::to_string(failing) + ": ") + "clip.wav: sample 3 is NaN";
    EXPECT_EQ(std::string(e.what()), expected);
  }
}

TEST(Comm, LowestFailingRankSpeaks) {
  const auto comm = mpi::Comm::world();
  auto local = std::make_exception_ptr(NumericalError("from rank " + std::to_string(comm.rank())));
  try {
    comm.agree_on_failure(local);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::numerical);
    EXPECT_EQ(std::string(e.what()), "from rank 0");
  }
}

TEST(Comm, ReduceTimingsGivesMinAvgMax) {
  const auto comm = mpi::Comm::world();
  PhaseTimes times;
  times.add("work", comm.rank() + 1.0);
  const auto summary = mpi::reduce_timings(comm, times);
  ASSERT_EQ(summary.size(), 1u);
  EXPECT_EQ(summary[0].min_seconds, 1.0);
  EXPECT_EQ(summary[0].max_seconds, comm.size());
  EXPECT_DOUBLE_EQ(summary[0].avg_seconds, (comm.size() + 1) / 2.0);
}
