# Test helpers. MPI tests run the same executable at several rank counts (STYLE.md §7).
#
# Open MPI refuses to run as root and to start more ranks than cores unless told; CI runs as
# root on 2 cores. These settings live here, in the test harness, never in users' jobs.
set(INNMF_TEST_MPI_ENV
  "OMPI_ALLOW_RUN_AS_ROOT=1"
  "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
  "OMPI_MCA_rmaps_base_oversubscribe=1"
  # Oversubscribed ranks must yield the core when they wait, or 4 ranks on 2 cores crawl.
  "OMPI_MCA_mpi_yield_when_idle=1"
  "OMP_NUM_THREADS=1"
  # Installing slurm-wlm (tests/jobs) brings munge; where its daemon is not running, PMIx's munge
  # security plugin retries it for ~2.3 s at every MPI start-up, mpirun's and singletons' alike.
  # The tests need no authentication between processes of one machine.
  "PMIX_MCA_psec=native")
set(INNMF_MPIEXEC_FLAGS --oversubscribe --bind-to none)

# innmf_add_mpi_test(NAME <name> COMMAND <exe> [args...] [RANKS 1 2 4] [TIMEOUT s])
# Adds <name>_np<R> for each R; the command's exit code is the worst over ranks.
function(innmf_add_mpi_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "COMMAND;RANKS;LABELS" ${ARGN})
  if(NOT T_RANKS)
    set(T_RANKS 1 2 4)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  foreach(ranks IN LISTS T_RANKS)
    add_test(NAME ${T_NAME}_np${ranks}
      COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ranks} ${INNMF_MPIEXEC_FLAGS}
              ${T_COMMAND})
    set_tests_properties(${T_NAME}_np${ranks} PROPERTIES
      ENVIRONMENT "${INNMF_TEST_MPI_ENV}" TIMEOUT ${T_TIMEOUT} PROCESSORS ${ranks}
      LABELS "mpi;${T_LABELS}")
  endforeach()
endfunction()
