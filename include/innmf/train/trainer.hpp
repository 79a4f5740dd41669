#pragma once
// `innmf train`: point sets → iN-NMF model (DESIGN.md §1–2).
//
// Clips are assigned whole to ranks, balanced by point count; each rank reads only its clips'
// hyperslabs. Per-component templates are split across ranks by network: every step each rank
// evaluates its block of the K networks at the global unique frequencies U_f, an all-gather
// completes W at U_f (|U_f|·K floats), each rank computes its loss, ∂L/∂W at U_f and ∂L/∂H
// (OpenMP inside), then ONE MPI_Allreduce of one flat buffer [∂L/∂W at U_f | loss | stop]
// (doubles); each rank back-propagates it through its own networks and steps the optimizer on
// their parameters. Shared templates (one trunk) are evaluated and updated on every rank alike,
// with the same all-reduce. All networks' parameters are gathered only for checkpoints and the
// model file. Activations are rank-local and never cross the network, except to be written.

#include <string>
#include <vector>

#include "innmf/model/innmf_model.hpp"
#include "innmf/mpi/comm.hpp"
#include "innmf/train/optimizer.hpp"

namespace innmf::train {

/// How grid activations learn: `gradient`, by the optimizer that trains the templates (the
/// paper's), or `multiplicative`, by the exact multiplicative update of classic NMF
/// (InnmfModel::multiplicative_activation_step), which needs no learning rate.
enum class ActivationUpdate { gradient, multiplicative };
ActivationUpdate parse_activation_update(const std::string& name);
std::string activation_update_name(ActivationUpdate update);

struct TrainConfig {
  model::ModelConfig model;
  OptimizerKind optimizer = OptimizerKind::rprop;  ///< [--optimizer]
  ActivationUpdate activation_update = ActivationUpdate::gradient;  ///< [--activation-update]
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
  std::vector<double> loss;  ///< per epoch (from epoch 1, also those before a --resume)
  std::size_t epochs_run = 0;  ///< epochs of this run (fewer than loss.size() after a --resume)
  double seconds = 0;
  /// Rank 0's, summed over epochs: compute = template networks (forward and backward of its
  /// own), loss and gradients; the all-gather of W and the all-reduce include waiting for the
  /// slowest rank. Optimizer steps are in none of them.
  double compute_seconds = 0, allgather_seconds = 0, allreduce_seconds = 0;
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
