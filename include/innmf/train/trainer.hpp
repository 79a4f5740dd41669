#pragma once
// `innmf train`: point sets → iN-NMF model (DESIGN.md §1–2).
//
// Clips are assigned whole to ranks, balanced by point count; each rank reads only its clips'
// hyperslabs. The template network is replicated; every step computes the rank's loss and
// template gradient (OpenMP inside), then ONE MPI_Allreduce of one flat buffer
// [template gradient | loss]; every rank then applies the same optimizer update. Activations
// are rank-local and never cross the network, except once at the end to be written.

#include <string>
#include <vector>

#include "innmf/model/innmf_model.hpp"
#include "innmf/mpi/comm.hpp"
#include "innmf/train/optimizer.hpp"

namespace innmf::train {

struct TrainConfig {
  model::ModelConfig model;
  OptimizerKind optimizer = OptimizerKind::rprop;  ///< [--optimizer]
  double lr = 1e-3;                                ///< [--lr] Rprop's initial step / Adam's rate
  int epochs = 1000;                               ///< [--epochs] full-batch steps
  double f_quantum = 0;                            ///< [--f-quantum] snap frequencies [Hz]; 0: off
  std::string metrics_path;                        ///< [--metrics] one JSON line per epoch
  std::string checkpoint_path;                     ///< [--checkpoint] where checkpoints go
  int checkpoint_every = 0;                        ///< [--checkpoint-every] epochs; 0: only on a signal
  std::string resume_path;                         ///< [--resume] continue from this checkpoint
  std::string config_json;                         ///< resolved options, recorded in the model
};

struct TrainReport {
  std::size_t clips = 0;
  std::uint64_t points = 0;
  std::vector<double> loss;  ///< per epoch
  double seconds = 0;
  double compute_seconds = 0, allreduce_seconds = 0;  ///< rank 0's
};

/// Throws UsageError for impossible options (before any file is read).
void validate(const TrainConfig& config);

/// Collective. Trains on the clips of `point_files` and writes the model to `output`
/// atomically. Bad files, NaN losses (NumericalError naming the epoch) end every rank alike.
/// SIGTERM or SIGUSR1 on any rank: the ranks agree in the next all-reduce, finish that epoch,
/// write a checkpoint (--checkpoint, else OUTPUT.checkpoint.h5) and throw Error(interrupted).
TrainReport train(const std::vector<std::string>& point_files, const TrainConfig& config,
                  const std::string& output, const mpi::Comm& comm);

}  // namespace innmf::train
