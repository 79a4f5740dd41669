#pragma once
// `innmf export`: a trained model's fields sampled on grids, for plots and other tools (a
// classic NMF model's matrices as they are).
//
// Output (HDF5, format "innmf.export", version 1):
//   /templates/freqs   [n_freqs] float64 Hz
//   /templates/W       [n_freqs, K] float32: W_k(f) (compressed-magnitude units, as trained)
//   /activations/name  [clips] string
//   /activations/offset, /activations/count  [clips] uint64: rows of times/H of each clip
//   /activations/times [rows] float64 s from the clip start
//   /activations/H     [rows, K] float32
// plus the model's attributes (rank, power, beta, f_ref, representation, config).

#include <string>
#include <vector>

#include "innmf/io/model_file.hpp"
#include "innmf/train/trained_model.hpp"

namespace innmf::train {

struct ExportConfig {
  int n_freqs = 1025;          ///< [--n-freqs] template samples from 0 to fmax
  double fmax = 0;             ///< [--fmax] Hz; 0: the highest training frequency (else f_ref)
  double time_step = 0;        ///< [--time-step] s; 0: the knot spacing (grid) or 0.01 s (mlp)
};

/// Writes the export of `model` to `output` atomically.
void export_model(const TrainedModel& model, const ExportConfig& config, const std::string& output);

/// The same file for a classic NMF model: its templates at its own bins and its activations at
/// its frames, one clip per source file (activations attribute "frames"); nothing is resampled.
void export_classic_model(const io::ClassicModel& model, const std::string& output);

}  // namespace innmf::train
