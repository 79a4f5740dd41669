#include "innmf/mpi/environment.hpp"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "innmf/core/error.hpp"

namespace innmf::mpi {

Environment::Environment(int& argc, char**& argv) {
  int provided = MPI_THREAD_SINGLE;
  if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    throw Error(ExitCode::failure, "MPI_Init_thread failed: check the MPI installation");
  // Errors are returned to us (and turned into exceptions) rather than aborting inside MPI.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (provided < MPI_THREAD_FUNNELED) {
    MPI_Finalize();
    throw Error(ExitCode::failure,
                "the MPI library does not provide MPI_THREAD_FUNNELED, which OpenMP inside MPI "
                "ranks needs: use an MPI built with thread support");
  }
}

Environment::~Environment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

void Environment::abort(int exit_code) {
  std::fflush(stdout);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::_Exit(exit_code);  // MPI_Abort does not return; this satisfies [[noreturn]].
}

}  // namespace innmf::mpi
