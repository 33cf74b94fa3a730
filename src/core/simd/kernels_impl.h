// Kernel bodies shared by every SIMD level, written once as templates on an
// xsimd architecture tag and instantiated by exactly one per-ISA translation
// unit (sse42.cpp, avx2.cpp, avx512.cpp, neon.cpp), compiled with that
// level's flags. Never include this header anywhere else.
//
// Linkage rule, the reason this file looks the way it does: an inline
// function that does not depend on the architecture would be emitted as a
// weak symbol in every ISA object, and the linker keeps one copy, possibly
// the AVX-512 one, for callers on every level. So everything here lives in
// an anonymous namespace (internal linkage, one private copy per object) and
// is a template on the architecture. Nothing here has a static initialiser:
// the tables are constant-initialised aggregates of function pointers.
#pragma once

#include <xsimd/xsimd.hpp>

#include <cstring>

#include "half_bits.h"
#include "vecgo/simd.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

namespace vecgo::simd {
namespace {

template <class A>
using FloatBatch = xsimd::batch<float, A>;

// Elements per accumulation block. Partial sums are folded into a running
// total every block, so no accumulator lane ever adds more than a few dozen
// terms at 16000 dimensions: that keeps float rounding error far below 1e-5
// relative at a cost of a few adds per block.
constexpr std::size_t kBlock = 1024;

// Loops over the accumulator arrays have tiny constant trip counts; they must
// be unrolled completely so that the arrays live in registers (-O2 alone
// keeps them in memory).
#define VECGO_PRAGMA(x) _Pragma(#x)
#define VECGO_UNROLL VECGO_PRAGMA(GCC unroll 16)
// The loop drivers are inlined into each kernel: no extra call per distance.
#define VECGO_INLINE inline __attribute__((always_inline))

// ---------------------------------------------------------------- loads

// First r (< batch size) floats of p, zeros after; reads nothing past p + r.
template <class A>
FloatBatch<A> LoadPartial(const float* p, std::size_t r, xsimd::generic) {
  alignas(A::alignment()) float buf[FloatBatch<A>::size] = {};
  for (std::size_t k = 0; k < r; k++) buf[k] = p[k];
  return FloatBatch<A>::load_aligned(buf);
}

#if XSIMD_WITH_AVX2
template <class A>
FloatBatch<A> LoadPartial(const float* p, std::size_t r, xsimd::avx2) {
  __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(r)),
                                    _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_maskload_ps(p, mask);  // masked-off lanes never fault
}
#endif

#if XSIMD_WITH_AVX512F
template <class A>
FloatBatch<A> LoadPartial(const float* p, std::size_t r, xsimd::avx512f) {
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << r) - 1u), p);
}
#endif

// ---------------------------------------------------------------- half loads
// Batch-size halves (IEEE binary16 bit patterns) at p, widened to float, and
// batch-size floats narrowed to halves (round to nearest even). Every form
// gives the bits of the F16C instructions, so the levels agree exactly.

template <class A>
FloatBatch<A> HalfToFloat(const std::uint16_t* p, xsimd::generic) {
  alignas(A::alignment()) float buf[FloatBatch<A>::size];
  for (std::size_t k = 0; k < FloatBatch<A>::size; k++) buf[k] = HalfBitsToFloat(p[k]);
  return FloatBatch<A>::load_aligned(buf);
}

template <class A>
void FloatToHalf(const FloatBatch<A>& x, std::uint16_t* out, xsimd::generic) {
  alignas(A::alignment()) float buf[FloatBatch<A>::size];
  x.store_aligned(buf);
  for (std::size_t k = 0; k < FloatBatch<A>::size; k++) out[k] = FloatToHalfBits(buf[k]);
}

#if XSIMD_WITH_SSE4_1
// No F16C at this level. A half's exponent and mantissa shifted into a
// float's places read as that value times 2^-112 (subnormal halves become
// float subnormals), so one exact multiply by 2^112 widens normal and
// subnormal halves alike; the all-ones exponent (infinity, NaN) is
// rebuilt with the float's all-ones exponent instead, NaNs made quiet.
template <class A>
FloatBatch<A> HalfToFloat(const std::uint16_t* p, xsimd::sse4_1) {
  const __m128i h = _mm_cvtepu16_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p)));
  const __m128i sign = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x8000)), 16);
  const __m128i em = _mm_slli_epi32(_mm_and_si128(h, _mm_set1_epi32(0x7FFF)), 13);
  const __m128 scaled =
      _mm_mul_ps(_mm_castsi128_ps(em), _mm_castsi128_ps(_mm_set1_epi32(0x77800000)));  // 2^112
  const __m128i inf_or_nan = _mm_cmpgt_epi32(em, _mm_set1_epi32(0x0F7FFFFF));
  const __m128i nan = _mm_cmpgt_epi32(em, _mm_set1_epi32(0x0F800000));
  const __m128i special = _mm_or_si128(_mm_or_si128(em, _mm_set1_epi32(0x70000000)),
                                       _mm_and_si128(nan, _mm_set1_epi32(0x00400000)));
  const __m128 v =
      _mm_blendv_ps(scaled, _mm_castsi128_ps(special), _mm_castsi128_ps(inf_or_nan));
  return _mm_or_ps(v, _mm_castsi128_ps(sign));
}
#endif

#if XSIMD_WITH_AVX2 && defined(__F16C__)
template <class A>
FloatBatch<A> HalfToFloat(const std::uint16_t* p, xsimd::avx2) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

template <class A>
void FloatToHalf(const FloatBatch<A>& x, std::uint16_t* out, xsimd::avx2) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}
#endif

#if XSIMD_WITH_AVX512F
// Masked forms with every lane kept, for the GCC 12 warning noted below.
template <class A>
FloatBatch<A> HalfToFloat(const std::uint16_t* p, xsimd::avx512f) {
  return _mm512_maskz_cvtph_ps(0xFFFF, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

template <class A>
void FloatToHalf(const FloatBatch<A>& x, std::uint16_t* out, xsimd::avx512f) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                      _mm512_maskz_cvtps_ph(0xFFFF, x, _MM_FROUND_TO_NEAREST_INT));
}
#endif

#if XSIMD_WITH_NEON64
template <class A>
FloatBatch<A> HalfToFloat(const std::uint16_t* p, xsimd::neon64) {
  return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

template <class A>
void FloatToHalf(const FloatBatch<A>& x, std::uint16_t* out, xsimd::neon64) {
  vst1_u16(out, vreinterpret_u16_f16(vcvt_f16_f32(x)));
}
#endif

// Whole-batch and last-partial-batch loads of either element type, for the
// loops that accept both.
template <class A>
VECGO_INLINE FloatBatch<A> LoadBatch(const float* p) {
  return FloatBatch<A>::load_unaligned(p);
}

template <class A>
VECGO_INLINE FloatBatch<A> LoadBatch(const std::uint16_t* p) {
  return HalfToFloat<A>(p, A{});
}

template <class A>
FloatBatch<A> LoadTail(const float* p, std::size_t r) {
  return LoadPartial<A>(p, r, A{});
}

// First r halves of p, zeros (+0.0) after; reads nothing past p + r.
template <class A>
FloatBatch<A> LoadTail(const std::uint16_t* p, std::size_t r) {
  std::uint16_t buf[FloatBatch<A>::size] = {};
  for (std::size_t k = 0; k < r; k++) buf[k] = p[k];
  return HalfToFloat<A>(buf, A{});
}

// Batch-size bytes at p, widened to float.
#if XSIMD_WITH_SSE4_1
template <class A>
FloatBatch<A> U8ToFloat(const std::uint8_t* p, xsimd::sse4_1) {
  int w;
  std::memcpy(&w, p, sizeof w);
  return _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(w)));
}
#endif

#if XSIMD_WITH_AVX2
template <class A>
FloatBatch<A> U8ToFloat(const std::uint8_t* p, xsimd::avx2) {
  __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v));
}
#endif

#if XSIMD_WITH_AVX512F
// The all-ones zero-masking forms compile to the plain instructions; the
// unmasked intrinsics trip GCC 12's -Wmaybe-uninitialized on their
// _mm512_undefined_* operand (GCC PR 105593).
template <class A>
__m512 Avx512U8x16ToFloat(__m128i v) {
  const __mmask16 all = 0xFFFF;
  return _mm512_maskz_cvtepi32_ps(all, _mm512_maskz_cvtepu8_epi32(all, v));
}

template <class A>
FloatBatch<A> U8ToFloat(const std::uint8_t* p, xsimd::avx512f) {
  __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return Avx512U8x16ToFloat<A>(v);
}
#endif

#if XSIMD_WITH_NEON64
template <class A>
FloatBatch<A> U8ToFloat(const std::uint8_t* p, xsimd::neon64) {
  std::uint32_t w;
  std::memcpy(&w, p, sizeof w);
  uint16x8_t h = vmovl_u8(vreinterpret_u8_u32(vdup_n_u32(w)));
  return vcvtq_f32_u32(vmovl_u16(vget_low_u16(h)));
}
#endif

// INT4: 8 bytes at p hold 16 dimensions (dim 2j low nibble, 2j+1 high
// nibble). Writes them, in dimension order, as 16 / batch-size float batches.
#if XSIMD_WITH_SSE4_1
template <class A>
__m128i Nibbles16(const std::uint8_t* p) {
  __m128i x = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  __m128i m = _mm_set1_epi8(0x0F);
  __m128i lo = _mm_and_si128(x, m);
  __m128i hi = _mm_and_si128(_mm_srli_epi16(x, 4), m);
  return _mm_unpacklo_epi8(lo, hi);  // byte k = dimension k
}

template <class A>
void Int4ToFloat16(const std::uint8_t* p, FloatBatch<A>* out, xsimd::sse4_1) {
  __m128i d = Nibbles16<A>(p);
  out[0] = _mm_cvtepi32_ps(_mm_cvtepu8_epi32(d));
  out[1] = _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_srli_si128(d, 4)));
  out[2] = _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_srli_si128(d, 8)));
  out[3] = _mm_cvtepi32_ps(_mm_cvtepu8_epi32(_mm_srli_si128(d, 12)));
}
#endif

#if XSIMD_WITH_AVX2
template <class A>
void Int4ToFloat16(const std::uint8_t* p, FloatBatch<A>* out, xsimd::avx2) {
  __m128i d = Nibbles16<A>(p);
  out[0] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(d));
  out[1] = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(d, 8)));
}
#endif

#if XSIMD_WITH_AVX512F
template <class A>
void Int4ToFloat16(const std::uint8_t* p, FloatBatch<A>* out, xsimd::avx512f) {
  out[0] = Avx512U8x16ToFloat<A>(Nibbles16<A>(p));
}
#endif

#if XSIMD_WITH_NEON64
template <class A>
void Int4ToFloat16(const std::uint8_t* p, FloatBatch<A>* out, xsimd::neon64) {
  uint8x8_t x = vld1_u8(p);
  uint8x8x2_t z = vzip_u8(vand_u8(x, vdup_n_u8(0x0F)), vshr_n_u8(x, 4));
  uint16x8_t h0 = vmovl_u8(z.val[0]);  // dimensions 0..7
  uint16x8_t h1 = vmovl_u8(z.val[1]);  // dimensions 8..15
  out[0] = vcvtq_f32_u32(vmovl_u16(vget_low_u16(h0)));
  out[1] = vcvtq_f32_u32(vmovl_u16(vget_high_u16(h0)));
  out[2] = vcvtq_f32_u32(vmovl_u16(vget_low_u16(h1)));
  out[3] = vcvtq_f32_u32(vmovl_u16(vget_high_u16(h1)));
}
#endif

template <class A>
float Nibble(const std::uint8_t* code, std::size_t i) {
  std::uint8_t b = code[i >> 1];
  return static_cast<float>((i & 1) ? (b >> 4) : (b & 0x0F));
}

// ---------------------------------------------------------------- ops
// Each op folds one batch pair (x, y) into kSums accumulators. kUnroll
// independent accumulator sets hide the FMA latency. Scalar() is the same
// step for one element, used by the quantized kernels' tails.

struct L2Op {
  static constexpr std::size_t kSums = 1, kUnroll = 4;
  template <class B>
  static void Step(B* acc, const B& x, const B& y) {
    B d = x - y;
    acc[0] = xsimd::fma(d, d, acc[0]);
  }
  template <class A>
  static float Scalar(float x, float y) {
    float d = x - y;
    return d * d;
  }
};

struct DotOp {
  static constexpr std::size_t kSums = 1, kUnroll = 4;
  template <class B>
  static void Step(B* acc, const B& x, const B& y) {
    acc[0] = xsimd::fma(x, y, acc[0]);
  }
  template <class A>
  static float Scalar(float x, float y) {
    return x * y;
  }
};

struct L1Op {
  static constexpr std::size_t kSums = 1, kUnroll = 4;
  template <class B>
  static void Step(B* acc, const B& x, const B& y) {
    acc[0] += xsimd::abs(x - y);
  }
  template <class A>
  static float Scalar(float x, float y) {
    float d = x - y;
    return d < 0 ? -d : d;
  }
};

struct DotNormsOp {
  static constexpr std::size_t kSums = 3, kUnroll = 2;
  template <class B>
  static void Step(B* acc, const B& x, const B& y) {
    acc[0] = xsimd::fma(x, y, acc[0]);
    acc[1] = xsimd::fma(x, x, acc[1]);
    acc[2] = xsimd::fma(y, y, acc[2]);
  }
};

// ---------------------------------------------------------------- float

// Runs Op over two arrays of n floats, or of n halves widened to float;
// out[k] receives sum k.
template <class A, class Op, class T>
VECGO_INLINE void FloatLoop(const T* a, const T* b, std::size_t n, float* out) {
  using B = FloatBatch<A>;
  constexpr std::size_t W = B::size, K = Op::kSums, U = Op::kUnroll;
  static_assert(kBlock % (U * W) == 0, "blocks must hold whole steps");
  B total[K];
  VECGO_UNROLL
  for (std::size_t k = 0; k < K; k++) total[k] = B(0.0f);
  std::size_t i = 0;
  while (i < n) {
    std::size_t end = (n - i > kBlock) ? i + kBlock : n;
    B acc[U][K];
    VECGO_UNROLL
    for (std::size_t u = 0; u < U; u++) {
      VECGO_UNROLL
      for (std::size_t k = 0; k < K; k++) acc[u][k] = B(0.0f);
    }
    for (; i + U * W <= end; i += U * W) {
      VECGO_UNROLL
      for (std::size_t u = 0; u < U; u++)
        Op::Step(acc[u], LoadBatch<A>(a + i + u * W), LoadBatch<A>(b + i + u * W));
    }
    for (; i + W <= end; i += W) Op::Step(acc[0], LoadBatch<A>(a + i), LoadBatch<A>(b + i));
    if (i < end) {  // only in the last block: fewer than W elements left
      Op::Step(acc[U - 1], LoadTail<A>(a + i, end - i), LoadTail<A>(b + i, end - i));
      i = end;
    }
    VECGO_UNROLL
    for (std::size_t u = 1; u < U; u++) {
      VECGO_UNROLL
      for (std::size_t k = 0; k < K; k++) acc[0][k] += acc[u][k];
    }
    VECGO_UNROLL
    for (std::size_t k = 0; k < K; k++) total[k] += acc[0][k];
  }
  VECGO_UNROLL
  for (std::size_t k = 0; k < K; k++) out[k] = xsimd::hadd(total[k]);
}

template <class A>
float L2sq(const float* a, const float* b, std::size_t n) {
  float s;
  FloatLoop<A, L2Op>(a, b, n, &s);
  return s;
}

template <class A>
float Dot(const float* a, const float* b, std::size_t n) {
  float s;
  FloatLoop<A, DotOp>(a, b, n, &s);
  return s;
}

template <class A>
float L1(const float* a, const float* b, std::size_t n) {
  float s;
  FloatLoop<A, L1Op>(a, b, n, &s);
  return s;
}

template <class A>
void DotNorms(const float* a, const float* b, std::size_t n, float out[3]) {
  FloatLoop<A, DotNormsOp>(a, b, n, out);
}

// ---------------------------------------------------------------- half

template <class A>
void F16ToF32(const std::uint16_t* in, float* out, std::size_t n) {
  constexpr std::size_t W = FloatBatch<A>::size;
  std::size_t i = 0;
  for (; i + W <= n; i += W) HalfToFloat<A>(in + i, A{}).store_unaligned(out + i);
  for (; i < n; i++) out[i] = HalfBitsToFloat(in[i]);
}

template <class A>
void F32ToF16(const float* in, std::uint16_t* out, std::size_t n) {
  using B = FloatBatch<A>;
  constexpr std::size_t W = B::size;
  std::size_t i = 0;
  for (; i + W <= n; i += W) FloatToHalf<A>(B::load_unaligned(in + i), out + i, A{});
  for (; i < n; i++) out[i] = FloatToHalfBits(in[i]);
}

template <class A>
float F16L2sq(const std::uint16_t* a, const std::uint16_t* b, std::size_t n) {
  float s;
  FloatLoop<A, L2Op>(a, b, n, &s);
  return s;
}

template <class A>
float F16Dot(const std::uint16_t* a, const std::uint16_t* b, std::size_t n) {
  float s;
  FloatLoop<A, DotOp>(a, b, n, &s);
  return s;
}

template <class A>
float F16L1(const std::uint16_t* a, const std::uint16_t* b, std::size_t n) {
  float s;
  FloatLoop<A, L1Op>(a, b, n, &s);
  return s;
}

template <class A>
void F16DotNorms(const std::uint16_t* a, const std::uint16_t* b, std::size_t n, float out[3]) {
  FloatLoop<A, DotNormsOp>(a, b, n, out);
}

// ---------------------------------------------------------------- SQ8

// Decodes base + step * code and runs Op against q.
template <class A, class Op>
VECGO_INLINE float Sq8Loop(const std::uint8_t* code, const float* q, const float* base,
                           const float* step, std::size_t n) {
  using B = FloatBatch<A>;
  constexpr std::size_t W = B::size, U = Op::kUnroll;
  static_assert(kBlock % (U * W) == 0, "blocks must hold whole steps");
  B total(0.0f);
  std::size_t i = 0;
  std::size_t vec_end = n - n % W;
  while (i < vec_end) {
    std::size_t end = (vec_end - i > kBlock) ? i + kBlock : vec_end;
    B acc[U];
    VECGO_UNROLL
    for (std::size_t u = 0; u < U; u++) acc[u] = B(0.0f);
    for (; i + U * W <= end; i += U * W) {
      VECGO_UNROLL
      for (std::size_t u = 0; u < U; u++) {
        std::size_t j = i + u * W;
        B x = xsimd::fma(B::load_unaligned(step + j), U8ToFloat<A>(code + j, A{}),
                         B::load_unaligned(base + j));
        Op::Step(&acc[u], x, B::load_unaligned(q + j));
      }
    }
    for (; i < end; i += W) {
      B x = xsimd::fma(B::load_unaligned(step + i), U8ToFloat<A>(code + i, A{}),
                       B::load_unaligned(base + i));
      Op::Step(&acc[0], x, B::load_unaligned(q + i));
    }
    VECGO_UNROLL
    for (std::size_t u = 1; u < U; u++) acc[0] += acc[u];
    total += acc[0];
  }
  float s = xsimd::hadd(total);
  for (; i < n; i++)
    s += Op::template Scalar<A>(base[i] + step[i] * static_cast<float>(code[i]), q[i]);
  return s;
}

template <class A>
float Sq8L2sq(const std::uint8_t* code, const float* q, const float* base, const float* step,
              std::size_t n) {
  return Sq8Loop<A, L2Op>(code, q, base, step, n);
}

template <class A>
float Sq8Dot(const std::uint8_t* code, const float* q, const float* base, const float* step,
             std::size_t n) {
  return Sq8Loop<A, DotOp>(code, q, base, step, n);
}

template <class A>
float Sq8L1(const std::uint8_t* code, const float* q, const float* base, const float* step,
            std::size_t n) {
  return Sq8Loop<A, L1Op>(code, q, base, step, n);
}

template <class A>
float Sq8WSum(const std::uint8_t* code, const float* w, std::size_t n) {
  using B = FloatBatch<A>;
  constexpr std::size_t W = B::size, U = 4;
  static_assert(kBlock % (U * W) == 0, "blocks must hold whole steps");
  B total(0.0f);
  std::size_t i = 0;
  const std::size_t vec_end = n - n % W;
  while (i < vec_end) {
    const std::size_t end = (vec_end - i > kBlock) ? i + kBlock : vec_end;
    B acc[U];
    VECGO_UNROLL
    for (std::size_t u = 0; u < U; u++) acc[u] = B(0.0f);
    for (; i + U * W <= end; i += U * W) {
      VECGO_UNROLL
      for (std::size_t u = 0; u < U; u++) {
        const std::size_t j = i + u * W;
        acc[u] = xsimd::fma(B::load_unaligned(w + j), U8ToFloat<A>(code + j, A{}), acc[u]);
      }
    }
    for (; i < end; i += W)
      acc[0] = xsimd::fma(B::load_unaligned(w + i), U8ToFloat<A>(code + i, A{}), acc[0]);
    VECGO_UNROLL
    for (std::size_t u = 1; u < U; u++) acc[0] += acc[u];
    total += acc[0];
  }
  float s = xsimd::hadd(total);
  for (; i < n; i++) s += w[i] * static_cast<float>(code[i]);
  return s;
}

// ---------------------------------------------------------------- INT4

template <class A, class Op>
VECGO_INLINE float Int4Loop(const std::uint8_t* code, const float* q, const float* base,
                            const float* step, std::size_t n) {
  using B = FloatBatch<A>;
  constexpr std::size_t W = B::size;
  constexpr std::size_t PerUnit = 16 / W;             // batches per 16 dimensions
  constexpr std::size_t G = PerUnit >= 2 ? 1 : 2;     // units per step: >= 2 accumulators
  constexpr std::size_t S = 16 * G, U = PerUnit * G;  // dimensions, accumulators per step
  static_assert(kBlock % S == 0, "blocks must hold whole steps");
  B total(0.0f);
  std::size_t i = 0;
  const std::size_t vec_end = n - n % 16;
  while (i < vec_end) {
    std::size_t end = (vec_end - i > kBlock) ? i + kBlock : vec_end;
    B acc[U];
    VECGO_UNROLL
    for (std::size_t u = 0; u < U; u++) acc[u] = B(0.0f);
    for (; i + S <= end; i += S) {
      VECGO_UNROLL
      for (std::size_t g = 0; g < G; g++) {
        B v[PerUnit];
        Int4ToFloat16<A>(code + (i + 16 * g) / 2, v, A{});
        VECGO_UNROLL
        for (std::size_t k = 0; k < PerUnit; k++) {
          std::size_t j = i + 16 * g + k * W;
          B x = xsimd::fma(B::load_unaligned(step + j), v[k], B::load_unaligned(base + j));
          Op::Step(&acc[g * PerUnit + k], x, B::load_unaligned(q + j));
        }
      }
    }
    for (; i < end; i += 16) {  // last block only: one unit left
      B v[PerUnit];
      Int4ToFloat16<A>(code + i / 2, v, A{});
      VECGO_UNROLL
      for (std::size_t k = 0; k < PerUnit; k++) {
        std::size_t j = i + k * W;
        B x = xsimd::fma(B::load_unaligned(step + j), v[k], B::load_unaligned(base + j));
        Op::Step(&acc[k], x, B::load_unaligned(q + j));
      }
    }
    VECGO_UNROLL
    for (std::size_t u = 1; u < U; u++) acc[0] += acc[u];
    total += acc[0];
  }
  float s = xsimd::hadd(total);
  for (; i < n; i++) s += Op::template Scalar<A>(base[i] + step[i] * Nibble<A>(code, i), q[i]);
  return s;
}

template <class A>
float Int4L2sq(const std::uint8_t* code, const float* q, const float* base, const float* step,
               std::size_t n) {
  return Int4Loop<A, L2Op>(code, q, base, step, n);
}

template <class A>
float Int4Dot(const std::uint8_t* code, const float* q, const float* base, const float* step,
              std::size_t n) {
  return Int4Loop<A, DotOp>(code, q, base, step, n);
}

template <class A>
float Int4L1(const std::uint8_t* code, const float* q, const float* base, const float* step,
             std::size_t n) {
  return Int4Loop<A, L1Op>(code, q, base, step, n);
}

// ---------------------------------------------------------------- 4-bit codes x int8 query

// out[k] = sum over bytes b < nbytes of code k: lo(b) * w[b] + hi(b) *
// w[nbytes + b] (see simd.h), exact in 32-bit integers, so every level
// gives the same numbers. x86: pmaddubsw multiplies the unsigned nibbles by
// the signed weights and adds pairs into 16 bits (at most 2 * 15 * 128 per
// pair, twice that once the low and high halves are added), pmaddwd widens
// pairs of those to 32 bits. nbytes is a multiple of 16.
// out[k] = sum(code k) for k < count: the loop every level's form shares.
template <class A, class Sum>
VECGO_INLINE void ForEachCode(const std::uint8_t* codes, std::size_t stride, const std::uint32_t* ids,
                              std::size_t begin, std::size_t count, std::int32_t* out, Sum sum) {
  for (std::size_t k = begin; k < count; k++) out[k] = sum(codes + std::size_t(ids[k]) * stride);
}

template <class A>
void Int4S8DotBatch(const std::uint8_t* codes, std::size_t stride, const std::uint32_t* ids,
                    std::size_t count, const std::int8_t* w, std::size_t nbytes, std::int32_t* out,
                    xsimd::generic) {
  ForEachCode<A>(codes, stride, ids, 0, count, out, [=](const std::uint8_t* c) {
    std::int32_t s = 0;
    for (std::size_t b = 0; b < nbytes; b++) s += (c[b] & 0x0F) * w[b] + (c[b] >> 4) * w[nbytes + b];
    return s;
  });
}

#if XSIMD_WITH_SSE4_1
template <class A>
VECGO_INLINE __m128i Int4S8Step16(const std::uint8_t* c, const std::int8_t* wlo, const std::int8_t* whi) {
  const __m128i m = _mm_set1_epi8(0x0F);
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c));
  const __m128i lo = _mm_and_si128(x, m), hi = _mm_and_si128(_mm_srli_epi16(x, 4), m);
  const __m128i p = _mm_add_epi16(_mm_maddubs_epi16(lo, _mm_loadu_si128(reinterpret_cast<const __m128i*>(wlo))),
                                  _mm_maddubs_epi16(hi, _mm_loadu_si128(reinterpret_cast<const __m128i*>(whi))));
  return _mm_madd_epi16(p, _mm_set1_epi16(1));
}

template <class A>
VECGO_INLINE std::int32_t HSum128(__m128i v) {
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 0, 3, 2)));
  v = _mm_add_epi32(v, _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(v);
}

template <class A>
void Int4S8DotBatch(const std::uint8_t* codes, std::size_t stride, const std::uint32_t* ids,
                    std::size_t count, const std::int8_t* w, std::size_t nbytes, std::int32_t* out,
                    xsimd::sse4_1) {
  ForEachCode<A>(codes, stride, ids, 0, count, out, [=](const std::uint8_t* c) {
    __m128i acc = _mm_setzero_si128();
    for (std::size_t b = 0; b < nbytes; b += 16) acc = _mm_add_epi32(acc, Int4S8Step16<A>(c + b, w + b, w + nbytes + b));
    return HSum128<A>(acc);
  });
}
#endif

#if XSIMD_WITH_AVX2
template <class A>
void Int4S8DotBatch(const std::uint8_t* codes, std::size_t stride, const std::uint32_t* ids,
                    std::size_t count, const std::int8_t* w, std::size_t nbytes, std::int32_t* out,
                    xsimd::avx2) {
  const __m256i m = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi16(1);
  const std::size_t whole = nbytes & ~std::size_t(31);
  ForEachCode<A>(codes, stride, ids, 0, count, out, [=](const std::uint8_t* c) {
    __m256i acc = _mm256_setzero_si256();
    for (std::size_t b = 0; b < whole; b += 32) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + b));
      const __m256i lo = _mm256_and_si256(x, m), hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), m);
      const __m256i p = _mm256_add_epi16(
          _mm256_maddubs_epi16(lo, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + b))),
          _mm256_maddubs_epi16(hi, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + nbytes + b))));
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, one));
    }
    __m128i r = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    if (whole < nbytes) r = _mm_add_epi32(r, Int4S8Step16<A>(c + whole, w + whole, w + nbytes + whole));
    return HSum128<A>(r);
  });
}
#endif

#if XSIMD_WITH_AVX512BW
// 64 bytes (128 dimensions) a step; a last part of 16, 32 or 48 bytes is
// read with a masked load, which never touches the bytes it leaves out.
template <class A>
void Int4S8DotBatch(const std::uint8_t* codes, std::size_t stride, const std::uint32_t* ids,
                    std::size_t count, const std::int8_t* w, std::size_t nbytes, std::int32_t* out,
                    xsimd::avx512bw) {
  const __m512i m = _mm512_set1_epi8(0x0F), one = _mm512_set1_epi16(1);
  const std::size_t whole = nbytes & ~std::size_t(63), rest = nbytes - whole;
  const __mmask64 tail = rest ? (~std::uint64_t(0) >> (64 - rest)) : 0;
  auto step = [&](__m512i x, std::size_t b, __mmask64 keep) {
    const __m512i lo = _mm512_and_si512(x, m), hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), m);
    const __m512i p = _mm512_add_epi16(_mm512_maddubs_epi16(lo, _mm512_maskz_loadu_epi8(keep, w + b)),
                                       _mm512_maddubs_epi16(hi, _mm512_maskz_loadu_epi8(keep, w + nbytes + b)));
    return _mm512_madd_epi16(p, one);
  };
  // Four sums reduced together: a transpose of their lanes costs less than
  // four separate reductions.
  auto four = [&](const __m512i* a, std::int32_t* o) {
    // (all masked with every lane kept: GCC 12 warns of the unmasked forms
    // under -Wmaybe-uninitialized)
    const __mmask16 all = 0xFFFF;
    const __m512i s01 = _mm512_add_epi32(_mm512_maskz_unpacklo_epi32(all, a[0], a[1]), _mm512_maskz_unpackhi_epi32(all, a[0], a[1]));
    const __m512i s23 = _mm512_add_epi32(_mm512_maskz_unpacklo_epi32(all, a[2], a[3]), _mm512_maskz_unpackhi_epi32(all, a[2], a[3]));
    const __m512i x = _mm512_add_epi32(_mm512_maskz_unpacklo_epi64(0xFF, s01, s23), _mm512_maskz_unpackhi_epi64(0xFF, s01, s23));
    const __m256i h = _mm256_add_epi32(_mm512_maskz_extracti64x4_epi64(0xF, x, 0), _mm512_maskz_extracti64x4_epi64(0xF, x, 1));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1)));
  };
  auto sum = [&](const std::uint8_t* c) {
    __m512i acc = _mm512_setzero_si512();
    for (std::size_t b = 0; b < whole; b += 64) acc = _mm512_add_epi32(acc, step(_mm512_loadu_si512(c + b), b, ~__mmask64(0)));
    if (rest) acc = _mm512_add_epi32(acc, step(_mm512_maskz_loadu_epi8(tail, c + whole), whole, tail));
    return acc;
  };
  std::size_t k = 0;
  if (nbytes <= 64) {
    // One step a code (up to 128 dimensions): the weights stay in registers.
    const __mmask64 keep = whole ? ~__mmask64(0) : tail;
    const __m512i wl = _mm512_maskz_loadu_epi8(keep, w), wh = _mm512_maskz_loadu_epi8(keep, w + nbytes);
    auto unit = [&](const std::uint8_t* c) {
      const __m512i x = _mm512_maskz_loadu_epi8(keep, c);
      const __m512i lo = _mm512_and_si512(x, m), hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), m);
      return _mm512_madd_epi16(_mm512_add_epi16(_mm512_maddubs_epi16(lo, wl), _mm512_maddubs_epi16(hi, wh)), one);
    };
    for (; k + 4 <= count; k += 4) {
      const __m512i a[4] = {unit(codes + std::size_t(ids[k]) * stride), unit(codes + std::size_t(ids[k + 1]) * stride),
                            unit(codes + std::size_t(ids[k + 2]) * stride), unit(codes + std::size_t(ids[k + 3]) * stride)};
      four(a, out + k);
    }
  } else {
    for (; k + 4 <= count; k += 4) {
      const __m512i a[4] = {sum(codes + std::size_t(ids[k]) * stride), sum(codes + std::size_t(ids[k + 1]) * stride),
                            sum(codes + std::size_t(ids[k + 2]) * stride), sum(codes + std::size_t(ids[k + 3]) * stride)};
      four(a, out + k);
    }
  }
  ForEachCode<A>(codes, stride, ids, k, count, out, [&](const std::uint8_t* c) {
    const __m512i a[4] = {sum(c), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    std::int32_t o[4];
    four(a, o);
    return o[0];
  });
}
#endif

template <class A>
void Int4S8DotBatch(const std::uint8_t* codes, std::size_t stride, const std::uint32_t* ids,
                    std::size_t count, const std::int8_t* w, std::size_t nbytes, std::int32_t* out) {
  Int4S8DotBatch<A>(codes, stride, ids, count, w, nbytes, out, A{});
}

// ---------------------------------------------------------------- PQ ADC

// Four independent table lookups per step: the loads, not the adds, are the
// limit. Every level uses this form: a gather version (vpgatherdd from the
// 256-entry rows) was slower at every m tried with both AVX2 and AVX-512
// (on AMD EPYC), and gathers are also slow on Intel parts running the
// Gather Data Sampling microcode fix.
template <class A>
float PqAdcUnrolled(const std::uint8_t* code, const float* lut, std::size_t m) {
  float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
  std::size_t j = 0;
  for (; j + 4 <= m; j += 4) {
    s0 += lut[(j + 0) * 256 + code[j + 0]];
    s1 += lut[(j + 1) * 256 + code[j + 1]];
    s2 += lut[(j + 2) * 256 + code[j + 2]];
    s3 += lut[(j + 3) * 256 + code[j + 3]];
  }
  for (; j < m; j++) s0 += lut[j * 256 + code[j]];
  return (s0 + s1) + (s2 + s3);
}

template <class A>
float PqAdc(const std::uint8_t* code, const float* lut, std::size_t m) {
  return PqAdcUnrolled<A>(code, lut, m);
}

// ---------------------------------------------------------------- hamming

template <class A>
std::uint32_t Hamming(const std::uint64_t* a, const std::uint64_t* b, std::size_t words) {
  std::uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
  std::size_t i = 0;
  for (; i + 4 <= words; i += 4) {
    c0 += static_cast<std::uint64_t>(__builtin_popcountll(a[i + 0] ^ b[i + 0]));
    c1 += static_cast<std::uint64_t>(__builtin_popcountll(a[i + 1] ^ b[i + 1]));
    c2 += static_cast<std::uint64_t>(__builtin_popcountll(a[i + 2] ^ b[i + 2]));
    c3 += static_cast<std::uint64_t>(__builtin_popcountll(a[i + 3] ^ b[i + 3]));
  }
  for (; i < words; i++) c0 += static_cast<std::uint64_t>(__builtin_popcountll(a[i] ^ b[i]));
  return static_cast<std::uint32_t>(c0 + c1 + c2 + c3);
}

// ---------------------------------------------------------------- table

template <class A>
constexpr Kernels MakeKernels(Level level, const char* name) {
  return Kernels{level,        name,        &L2sq<A>,   &Dot<A>,    &L1<A>,
                 &DotNorms<A>, &Sq8L2sq<A>, &Sq8Dot<A>, &Sq8L1<A>,  &Sq8WSum<A>,
                 &Int4L2sq<A>, &Int4Dot<A>, &Int4L1<A>, &Int4S8DotBatch<A>, &PqAdc<A>,  &Hamming<A>,
                 &F16ToF32<A>, &F32ToF16<A>, &F16L2sq<A>, &F16Dot<A>, &F16L1<A>, &F16DotNorms<A>};
}

}  // namespace
}  // namespace vecgo::simd

#undef VECGO_INLINE
#undef VECGO_UNROLL
#undef VECGO_PRAGMA
