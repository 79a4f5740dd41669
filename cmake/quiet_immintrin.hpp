// Force-included first in every translation unit by GCC 12 and older on x86
// (cmake/InnmfDependencies.cmake): the AVX-512 intrinsics' _mm512_undefined_*() initialise a
// variable with itself (`__m512 __Y = __Y;`), which those compilers report as
// -Wmaybe-uninitialized / -Wuninitialized wherever Eigen or our kernels inline a cast from a
// narrower register (GCC bug 105593, fixed in GCC 13): hundreds of false warnings per build.
// GCC applies diagnostic pragmas by source location, so silencing the two warnings around the
// header's first inclusion silences them in its code only; ours keeps them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
