// SSE4.2 kernels (4 floats per register, no FMA: xsimd emits mul + add).
// Compiled with -msse4.2 -mpopcnt; only dispatch.cpp decides to call it.
#include "kernels_impl.h"

namespace vecgo::simd {
namespace {
constexpr Kernels kSse42 = MakeKernels<xsimd::sse4_2>(Level::SSE42, "sse4.2");
}  // namespace

const Kernels* kernels_sse42() { return &kSse42; }
}  // namespace vecgo::simd
