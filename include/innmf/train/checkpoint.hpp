#pragma once
// Training checkpoints (DESIGN.md §2): everything a resume needs, so that a resumed run is
// bit-identical to an uninterrupted one with the same rank and thread counts.
//
// HDF5, format "innmf.checkpoint" version 1: attrs epoch (completed), compatibility (JSON: the
// options and point files that must match on resume); datasets /loss, /template/params,
// /template/state_<i>, /template/scalars, /activation/params, /activation/state_<i>,
// /activation/scalars. Activation buffers are in global clip order (not rank order).
// Written by rank 0 through io::AtomicOutput (temporary file, fsync, rename, fsync of the folder).

#include <string>
#include <vector>

namespace innmf::train {

struct Checkpoint {
  int epoch = 0;                          ///< epochs completed
  std::string compatibility_json;         ///< must equal the resuming run's
  std::vector<double> loss;               ///< per completed epoch
  std::vector<float> template_params;
  std::vector<std::vector<float>> template_state;   ///< optimizer per-parameter arrays
  std::vector<double> template_scalars;
  std::vector<float> activation_params;              ///< global clip order
  std::vector<std::vector<float>> activation_state;  ///< global clip order
  std::vector<double> activation_scalars;
};

void write_checkpoint(const std::string& path, const Checkpoint& checkpoint);

/// Reads and validates `path` against `compatibility_json`; throws InputError naming the file
/// and the first option that differs, or what is wrong with the file.
Checkpoint read_checkpoint(const std::string& path, const std::string& compatibility_json);

/// What `innmf info` shows of a checkpoint: the epochs done, the loss after the last, the
/// options and point files it is valid for (the JSON read_checkpoint compares), its writer.
struct CheckpointSummary {
  int epoch = 0;
  double last_loss = 0;                 ///< NaN when no epoch is recorded
  std::string compatibility_json;
  std::string created_by;
};

/// Reads the summary only (not the parameters). Throws InputError naming the file when it is
/// not a checkpoint of this format version.
CheckpointSummary summarize_checkpoint(const std::string& path);
/// Text for `innmf info` (aligned lines ending in '\n') and JSON (one object).
std::string to_text(const std::string& path, const CheckpointSummary& summary);
std::string to_json(const std::string& path, const CheckpointSummary& summary);

}  // namespace innmf::train
