// NEON kernels for arm64 (4 floats per register, fused multiply-add).
// The Makefile compiles this file on aarch64 only; NEON is part of the arm64
// baseline, so no extra flags and no runtime check are needed. Elsewhere it
// compiles to a getter that reports the level as missing.
#include "vecgo/simd.h"

#if defined(__aarch64__) && !defined(VECGO_NOASM)
#include "kernels_impl.h"

namespace vecgo::simd {
namespace {
constexpr Kernels kNeon = MakeKernels<xsimd::neon64>(Level::NEON, "neon");
}  // namespace

const Kernels* kernels_neon() { return &kNeon; }
}  // namespace vecgo::simd

#else

namespace vecgo::simd {
const Kernels* kernels_neon() { return nullptr; }
}  // namespace vecgo::simd

#endif
