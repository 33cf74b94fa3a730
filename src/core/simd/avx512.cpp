// AVX-512 kernels (16 floats per register; F, BW, DQ, VL, and F16C). Compiled
// with the AVX-512 flags; only dispatch.cpp decides to call it.
#include "kernels_impl.h"

namespace vecgo::simd {
namespace {
constexpr Kernels kAvx512 = MakeKernels<xsimd::avx512bw>(Level::AVX512, "avx512");
}  // namespace

const Kernels* kernels_avx512() { return &kAvx512; }
}  // namespace vecgo::simd
