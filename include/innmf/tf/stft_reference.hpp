#pragma once
// Naive references for the fast transforms, used as test oracles (STYLE.md §5): slow, obvious,
// in double precision.

#include "innmf/tf/stft.hpp"

namespace innmf::tf::reference {

/// The STFT of stft.hpp computed by the DFT sum directly, O(frames · n_fft²).
ComplexSpectrogram stft_naive(const float* signal, long n, const StftConfig& config);

}  // namespace innmf::tf::reference
