// Placeholder until the xsimd kernels for this level land.
#include "vecgo/simd.h"
namespace vecgo::simd {
const Kernels* kernels_sse42() { return nullptr; }
}  // namespace vecgo::simd
