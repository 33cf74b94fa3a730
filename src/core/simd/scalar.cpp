// Portable scalar kernels: the reference every other level is tested against,
// and the path used by `make NOASM=1` or when the CPU has nothing better.
//
// Sums run as one float chain per block of kBlock elements, and the block
// sums are added into a running total. A single chain over 16000 elements
// can drift past 1e-5 relative error; blocking bounds each chain's length.
// A float reduction cannot be reassociated without -ffast-math, so the
// compiler keeps these loops scalar: the benchmark compares real SIMD with
// real scalar code (objdump of scalar.o shows no packed arithmetic; the one
// kernel GCC would otherwise pack is marked below).
#include <cmath>

#include "half_bits.h"
#include "vecgo/simd.h"

namespace vecgo::simd {
namespace {

constexpr std::size_t kBlock = 256;

// GCC's straight-line vectoriser would pack DotNorms' three independent sums
// into one register; keep that kernel scalar too.
#if defined(__GNUC__) && !defined(__clang__)
#define VECGO_SCALAR_ONLY __attribute__((optimize("no-tree-slp-vectorize", "no-tree-vectorize")))
#else
#define VECGO_SCALAR_ONLY
#endif

// Sum of term(i) for i in [0, n), blocked as above.
template <class Term>
inline float BlockedSum(std::size_t n, Term term) {
  float total = 0.0f;
  for (std::size_t start = 0; start < n; start += kBlock) {
    std::size_t end = (n - start > kBlock) ? start + kBlock : n;
    float s = 0.0f;
    for (std::size_t i = start; i < end; i++) s += term(i);
    total += s;
  }
  return total;
}

float L2sq(const float* a, const float* b, std::size_t n) {
  return BlockedSum(n, [=](std::size_t i) {
    float d = a[i] - b[i];
    return d * d;
  });
}

float Dot(const float* a, const float* b, std::size_t n) {
  return BlockedSum(n, [=](std::size_t i) { return a[i] * b[i]; });
}

float L1(const float* a, const float* b, std::size_t n) {
  return BlockedSum(n, [=](std::size_t i) { return std::fabs(a[i] - b[i]); });
}

VECGO_SCALAR_ONLY void DotNorms(const float* a, const float* b, std::size_t n, float out[3]) {
  float d = 0.0f, na = 0.0f, nb = 0.0f;
  for (std::size_t start = 0; start < n; start += kBlock) {
    std::size_t end = (n - start > kBlock) ? start + kBlock : n;
    float sd = 0.0f, sa = 0.0f, sb = 0.0f;
    for (std::size_t i = start; i < end; i++) {
      sd += a[i] * b[i];
      sa += a[i] * a[i];
      sb += b[i] * b[i];
    }
    d += sd;
    na += sa;
    nb += sb;
  }
  out[0] = d;
  out[1] = na;
  out[2] = nb;
}

inline float Sq8Value(const std::uint8_t* code, const float* base, const float* step,
                      std::size_t i) {
  return base[i] + step[i] * static_cast<float>(code[i]);
}

float Sq8L2sq(const std::uint8_t* code, const float* q, const float* base, const float* step,
              std::size_t n) {
  return BlockedSum(n, [=](std::size_t i) {
    float d = Sq8Value(code, base, step, i) - q[i];
    return d * d;
  });
}

float Sq8Dot(const std::uint8_t* code, const float* q, const float* base, const float* step,
             std::size_t n) {
  return BlockedSum(n, [=](std::size_t i) { return Sq8Value(code, base, step, i) * q[i]; });
}

float Sq8L1(const std::uint8_t* code, const float* q, const float* base, const float* step,
            std::size_t n) {
  return BlockedSum(n,
                    [=](std::size_t i) { return std::fabs(Sq8Value(code, base, step, i) - q[i]); });
}

float Sq8WSum(const std::uint8_t* code, const float* w, std::size_t n) {
  return BlockedSum(n, [=](std::size_t i) { return w[i] * static_cast<float>(code[i]); });
}

inline float Int4Value(const std::uint8_t* code, const float* base, const float* step,
                       std::size_t i) {
  std::uint8_t b = code[i >> 1];
  float nibble = static_cast<float>((i & 1) ? (b >> 4) : (b & 0x0F));
  return base[i] + step[i] * nibble;
}

float Int4L2sq(const std::uint8_t* code, const float* q, const float* base, const float* step,
               std::size_t n) {
  return BlockedSum(n, [=](std::size_t i) {
    float d = Int4Value(code, base, step, i) - q[i];
    return d * d;
  });
}

float Int4Dot(const std::uint8_t* code, const float* q, const float* base, const float* step,
              std::size_t n) {
  return BlockedSum(n, [=](std::size_t i) { return Int4Value(code, base, step, i) * q[i]; });
}

float Int4L1(const std::uint8_t* code, const float* q, const float* base, const float* step,
             std::size_t n) {
  return BlockedSum(
      n, [=](std::size_t i) { return std::fabs(Int4Value(code, base, step, i) - q[i]); });
}

void Int4S8DotBatch(const std::uint8_t* codes, std::size_t stride, const std::uint32_t* ids,
                    std::size_t count, const std::int8_t* w, std::size_t nbytes, std::int32_t* out) {
  for (std::size_t k = 0; k < count; k++) {
    const std::uint8_t* c = codes + std::size_t(ids[k]) * stride;
    std::int32_t s = 0;
    for (std::size_t b = 0; b < nbytes; b++) s += (c[b] & 0x0F) * w[b] + (c[b] >> 4) * w[nbytes + b];
    out[k] = s;
  }
}

float PqAdc(const std::uint8_t* code, const float* lut, std::size_t m) {
  return BlockedSum(m, [=](std::size_t j) { return lut[j * 256 + code[j]]; });
}

// Bit count of one word without a popcount instruction (not in the x86-64
// baseline): the classic parallel-add on bit fields.
inline std::uint32_t PopCount64(std::uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<std::uint32_t>((x * 0x0101010101010101ULL) >> 56);
}

std::uint32_t Hamming(const std::uint64_t* a, const std::uint64_t* b, std::size_t words) {
  std::uint32_t c = 0;
  for (std::size_t i = 0; i < words; i++) c += PopCount64(a[i] ^ b[i]);
  return c;
}

// ---- half precision: the bit-manipulation conversions of half_bits.h

void F16ToF32(const std::uint16_t* in, float* out, std::size_t n) {
  for (std::size_t i = 0; i < n; i++) out[i] = HalfBitsToFloat(in[i]);
}

void F32ToF16(const float* in, std::uint16_t* out, std::size_t n) {
  for (std::size_t i = 0; i < n; i++) out[i] = FloatToHalfBits(in[i]);
}

float F16L2sq(const std::uint16_t* a, const std::uint16_t* b, std::size_t n) {
  return BlockedSum(n, [=](std::size_t i) {
    float d = HalfBitsToFloat(a[i]) - HalfBitsToFloat(b[i]);
    return d * d;
  });
}

float F16Dot(const std::uint16_t* a, const std::uint16_t* b, std::size_t n) {
  return BlockedSum(n,
                    [=](std::size_t i) { return HalfBitsToFloat(a[i]) * HalfBitsToFloat(b[i]); });
}

float F16L1(const std::uint16_t* a, const std::uint16_t* b, std::size_t n) {
  return BlockedSum(
      n, [=](std::size_t i) { return std::fabs(HalfBitsToFloat(a[i]) - HalfBitsToFloat(b[i])); });
}

VECGO_SCALAR_ONLY void F16DotNorms(const std::uint16_t* a, const std::uint16_t* b, std::size_t n,
                                   float out[3]) {
  float d = 0.0f, na = 0.0f, nb = 0.0f;
  for (std::size_t start = 0; start < n; start += kBlock) {
    std::size_t end = (n - start > kBlock) ? start + kBlock : n;
    float sd = 0.0f, sa = 0.0f, sb = 0.0f;
    for (std::size_t i = start; i < end; i++) {
      float x = HalfBitsToFloat(a[i]), y = HalfBitsToFloat(b[i]);
      sd += x * y;
      sa += x * x;
      sb += y * y;
    }
    d += sd;
    na += sa;
    nb += sb;
  }
  out[0] = d;
  out[1] = na;
  out[2] = nb;
}

constexpr Kernels kTable = {Level::Scalar, "scalar", L2sq,    Dot,      L1,      DotNorms,
                            Sq8L2sq,       Sq8Dot,   Sq8L1,   Sq8WSum,
                            Int4L2sq,      Int4Dot,  Int4L1,  Int4S8DotBatch, PqAdc, Hamming,
                            F16ToF32,      F32ToF16, F16L2sq, F16Dot,  F16L1,   F16DotNorms};

}  // namespace

const Kernels* kernels_scalar() { return &kTable; }

}  // namespace vecgo::simd
