// Chooses the kernel table once. Compiled with baseline flags only: it must
// run on every CPU, so it detects features itself and never calls a kernel.
#include <atomic>
#include <cstdlib>
#include <cstring>

#include "vecgo/simd.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#endif

namespace vecgo::simd {
namespace {

#if defined(__x86_64__) && !defined(VECGO_NOASM)
std::uint64_t Xgetbv() {
  std::uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

struct CpuFeatures {
  bool sse42 = false, avx2 = false, avx512 = false;
};

CpuFeatures DetectCpu() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  bool sse42 = (c >> 20) & 1;
  bool popcnt = (c >> 23) & 1;
  f.sse42 = sse42 && popcnt;
  bool osxsave = (c >> 27) & 1;
  bool avx = (c >> 28) & 1;
  bool fma = (c >> 12) & 1;
  bool f16c = (c >> 29) & 1;  // the AVX2 and AVX-512 tables convert halves with it
  if (!f.sse42 || !osxsave || !avx || !fma || !f16c) return f;
  std::uint64_t xcr0 = Xgetbv();
  if ((xcr0 & 0x6) != 0x6) return f;  // XMM and YMM state saved by the OS
  unsigned a7, b7, c7, d7;
  if (!__get_cpuid_count(7, 0, &a7, &b7, &c7, &d7)) return f;
  f.avx2 = (b7 >> 5) & 1;
  if (!f.avx2 || (xcr0 & 0xE6) != 0xE6) return f;  // opmask and ZMM state
  bool f512 = (b7 >> 16) & 1, dq = (b7 >> 17) & 1, bw = (b7 >> 30) & 1, vl = (b7 >> 31) & 1;
  f.avx512 = f512 && dq && bw && vl;
  return f;
}

// Each level implies the ones below it (the ISA files are built that way).
bool CpuHas(Level level) {
  static const CpuFeatures f = DetectCpu();  // once; plain integer code
  switch (level) {
    case Level::SSE42:
      return f.sse42;
    case Level::AVX2:
      return f.avx2;
    case Level::AVX512:
      return f.avx512;
    default:
      return false;
  }
}
#endif

const Kernels* Table(Level level) {
  switch (level) {
    case Level::Scalar:
      return kernels_scalar();
#if !defined(VECGO_NOASM) && defined(__x86_64__)
    case Level::SSE42:
      return CpuHas(Level::SSE42) ? kernels_sse42() : nullptr;
    case Level::AVX2:
      return CpuHas(Level::AVX2) ? kernels_avx2() : nullptr;
    case Level::AVX512:
      return CpuHas(Level::AVX512) ? kernels_avx512() : nullptr;
#endif
#if !defined(VECGO_NOASM) && defined(__aarch64__)
    case Level::NEON:
      return kernels_neon();
#endif
    default:
      return nullptr;
  }
}

std::atomic<const Kernels*> g_active{nullptr};

const Kernels* Choose() {
  const char* env = std::getenv("VECGO_SIMD");
  Level best = best_supported();
  if (env && *env) {
    Level wanted;
    // An unknown or unsupported request falls back to the best level; a lower
    // level than the best is honoured, a higher one cannot be.
    if (parse_level(env, &wanted) && Table(wanted) != nullptr) return Table(wanted);
  }
  return Table(best);
}

}  // namespace

const char* level_name(Level level) {
  switch (level) {
    case Level::Scalar:
      return "scalar";
    case Level::SSE42:
      return "sse4.2";
    case Level::AVX2:
      return "avx2";
    case Level::AVX512:
      return "avx512";
    case Level::NEON:
      return "neon";
  }
  return "unknown";
}

bool parse_level(const char* name, Level* out) {
  static const Level all[] = {Level::Scalar, Level::SSE42, Level::AVX2, Level::AVX512, Level::NEON};
  for (Level l : all) {
    if (std::strcmp(name, level_name(l)) == 0) {
      *out = l;
      return true;
    }
  }
  if (std::strcmp(name, "sse42") == 0) {
    *out = Level::SSE42;
    return true;
  }
  return false;
}

const Kernels* for_level(Level level) { return Table(level); }

Level best_supported() {
  static const Level order[] = {Level::AVX512, Level::AVX2, Level::SSE42, Level::NEON};
  for (Level l : order)
    if (Table(l) != nullptr) return l;
  return Level::Scalar;
}

const Kernels& active() {
  const Kernels* k = g_active.load(std::memory_order_acquire);
  if (k == nullptr) {
    k = Choose();
    g_active.store(k, std::memory_order_release);
  }
  return *k;
}

bool force(Level level) {
  const Kernels* k = Table(level);
  if (k == nullptr) return false;
  g_active.store(k, std::memory_order_release);
  return true;
}

}  // namespace vecgo::simd
