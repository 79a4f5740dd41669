#pragma once
// Naive reference for BSS Eval, used as the test oracle of bss_eval.hpp (STYLE.md §5): slow,
// obvious, in double precision.

#include "innmf/sep/bss_eval.hpp"

namespace innmf::sep::reference {

/// bss_eval_pairs computed from the definition (Vincent et al. 2006, §III.B): the matrix A of
/// delayed references (column i·taps + a holds reference i delayed by a samples, n + taps − 1
/// rows) built explicitly, each projection the least-squares fit A c ≈ estimate by Householder
/// QR of A (no Gram matrix, no FFT), and SDR = ‖P_own‖² / ‖e − P_own‖²,
/// SIR = ‖P_own‖² / ‖P_all − P_own‖², SAR = ‖P_all‖² / ‖e − P_all‖² with e the zero-padded
/// estimate. O((n + taps) · (n_ref · taps)²): keep n and taps small.
PairCriteria bss_eval_pairs_naive(const std::vector<std::vector<float>>& references,
                                  const std::vector<std::vector<float>>& estimates, int filter_taps);

}  // namespace innmf::sep::reference
