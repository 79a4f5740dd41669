#pragma once
// Transparent huge pages for the large buffers of long recordings.
//
// A bins × frames matrix of three minutes at 44.1 kHz (513 × 31 000 floats) is 64 MB. Linux
// maps a fresh allocation that size lazily, one 4 kB page per fault on first write; under
// Debian's default THP mode ("madvise") it uses 2 MB pages only where the program asks. On the
// 2-vCPU KVM/PVM machines this project runs on, a fault costs several microseconds, and
// `innmf separate` on a 3-minute mixture spent more time faulting than computing (5.4 s, 3.4 s
// with huge pages). So the buffers that grow with the recording's length (STFT matrices, the
// separation's masks, overlap-add sums) are advised before their first write. It is advice:
// where the kernel has THP off, or the range is small, nothing changes.

#include <cstddef>
#include <vector>

namespace innmf {

/// madvise(MADV_HUGEPAGE) on the 2 MB-aligned part of [data, data + bytes), if it holds at
/// least two huge pages. Must come before the range is first written to help. Never fails.
void advise_huge_pages(void* data, std::size_t bytes);

/// advise_huge_pages on a dense Eigen object's storage (call it right after sizing the object,
/// before filling it).
template <typename Dense>
void advise_huge_pages(Dense& dense) {
  advise_huge_pages(static_cast<void*>(dense.data()), sizeof(*dense.data()) * static_cast<std::size_t>(dense.size()));
}

/// std::vector<T>(n, T{}) whose storage was advised before it was zeroed.
template <typename T>
std::vector<T> zeroed_vector_on_huge_pages(std::size_t n) {
  std::vector<T> v;
  v.reserve(n);  // allocated, not yet written
  advise_huge_pages(static_cast<void*>(v.data()), n * sizeof(T));
  v.resize(n);
  return v;
}

}  // namespace innmf
