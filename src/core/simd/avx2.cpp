// AVX2 + FMA kernels (8 floats per register; F16C for half precision).
// Compiled with -mavx2 -mfma -mf16c -mpopcnt; only dispatch.cpp decides to call it.
#include "kernels_impl.h"

namespace vecgo::simd {
namespace {
constexpr Kernels kAvx2 = MakeKernels<xsimd::fma3<xsimd::avx2>>(Level::AVX2, "avx2");
}  // namespace

const Kernels* kernels_avx2() { return &kAvx2; }
}  // namespace vecgo::simd
