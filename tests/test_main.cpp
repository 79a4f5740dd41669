// GoogleTest main for every innmf test executable: initialises MPI (single-rank runs use a
// singleton MPI), lets only rank 0 print, and exits with the worst result over all ranks
// (STYLE.md §7).

#include <gtest/gtest.h>

#include "innmf/core/log.hpp"
#include "innmf/mpi/comm.hpp"
#include "innmf/mpi/environment.hpp"

int main(int argc, char** argv) {
  innmf::mpi::Environment environment(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  const auto world = innmf::mpi::Comm::world();
  innmf::log::setup(world.rank(), innmf::log::Verbosity::quiet);  // library progress logs off
  if (!world.is_root()) {
    // Other ranks run every test but report only through the final verdict.
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int local = RUN_ALL_TESTS();
  const int worst = world.allreduce_max(local);
  if (world.is_root() && worst != local)
    std::fprintf(stderr, "a test failed on another rank (rank 0 passed)\n");
  return worst;
}
