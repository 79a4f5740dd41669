#pragma once
// FFTW's planner (plan creation and destruction) is not thread-safe; plan execution is. Every
// FFTW plan in innmf (tf::Stft, tf::Nsgt for the CQT and wavelets) is made and destroyed under
// this one lock.

#include <mutex>

namespace innmf::tf {

std::mutex& fftw_planner_mutex();

}  // namespace innmf::tf
