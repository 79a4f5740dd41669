#include "innmf/mpi/environment.hpp"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include "innmf/core/error.hpp"

namespace innmf::mpi {
namespace {

/// Whether a launcher (mpirun/mpiexec, srun, a PMI-aware batch system) started this process:
/// each leaves its rank in the environment. Otherwise MPI_Init makes a singleton of one rank.
bool started_by_launcher() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMIX_NAMESPACE", "PMI_RANK", "PMI_FD"})
    if (std::getenv(variable)) return true;
  return false;
}

}  // namespace

Environment::Environment(int& argc, char**& argv) {
  // A singleton (`innmf …` without mpirun) has no PMIx server to prove its identity to, yet
  // PMIx's munge credential module, where libmunge is installed (Slurm machines) but its
  // daemon is not running, retries the daemon's socket for 2 s before giving up: 2 s added to
  // every command, even --help. Its "native" module needs no daemon. Launched ranks keep what
  // their launcher negotiates, and a PMIX_MCA_psec the user set is kept.
  if (!started_by_launcher()) setenv("PMIX_MCA_psec", "native", /*overwrite=*/0);
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
