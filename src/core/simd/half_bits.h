// Portable conversions between float and IEEE 754 binary16 ("half") bit
// patterns, by integer manipulation only. They are the scalar level's
// kernels and the tails of the SIMD levels, and they reproduce the F16C
// instructions bit for bit (NaNs included), so that every level agrees.
//
// Included by scalar.cpp and kernels_impl.h only. Everything is in an
// anonymous namespace: each object that includes this gets its own copy,
// compiled with its own flags (see the linkage rule in kernels_impl.h).
#pragma once

#include <cstdint>
#include <cstring>

namespace vecgo::simd {
namespace {

// binary16: 1 sign bit, 5 exponent bits (bias 15), 10 mantissa bits.
// binary32: 1 sign bit, 8 exponent bits (bias 127), 23 mantissa bits.
constexpr std::uint32_t kHalfExpMask = 0x7C00, kHalfManMask = 0x03FF;

inline float HalfBitsToFloat(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000) << 16;
  const std::uint32_t exp = (h & kHalfExpMask) >> 10;
  std::uint32_t man = h & kHalfManMask;
  std::uint32_t bits;
  if (exp == 0x1F) {
    // Infinity, or a NaN: the payload moves to the top of the float's
    // mantissa and the quiet bit is set (as VCVTPH2PS does).
    bits = sign | 0x7F800000u | (man << 13) | (man != 0 ? 0x00400000u : 0u);
  } else if (exp != 0) {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;  // signed zero
  } else {
    // Subnormal half (man * 2^-24): normal as a float. Shift the leading
    // one up to the implicit position, lowering the exponent as we go.
    std::uint32_t e = 127 - 15 + 1;
    while ((man & 0x0400) == 0) {
      man <<= 1;
      e--;
    }
    bits = sign | (e << 23) | ((man & kHalfManMask) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// value >> shift, rounded to nearest with ties to even (1 <= shift <= 31).
inline std::uint32_t ShiftRoundEven(std::uint32_t value, unsigned shift) {
  const std::uint32_t q = value >> shift;
  const std::uint32_t rem = value & ((1u << shift) - 1u);
  const std::uint32_t halfway = 1u << (shift - 1);
  return (rem > halfway || (rem == halfway && (q & 1u) != 0)) ? q + 1 : q;
}

inline std::uint16_t FloatToHalfBits(float f) {
  std::uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  const std::uint16_t sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000);
  const std::uint32_t exp = (bits >> 23) & 0xFF;
  const std::uint32_t man = bits & 0x007FFFFF;
  if (exp == 0xFF) {
    if (man == 0) return sign | 0x7C00;  // infinity
    // NaN: quiet, keeping the payload's top 10 bits (as VCVTPS2PH does).
    return static_cast<std::uint16_t>(sign | 0x7E00 | (man >> 13));
  }
  // Unbiased exponent e: the value is 1.man * 2^e (normal floats).
  const int e = static_cast<int>(exp) - 127;
  if (e > 15) return sign | 0x7C00;  // beyond the largest finite half
  if (e >= -14) {
    // Normal half range. Round the 23-bit mantissa to 10 bits; a carry out
    // of the mantissa moves into the exponent, and out of exponent 30 into
    // the infinity pattern, which is exactly what rounding must give.
    const std::uint32_t biased = (static_cast<std::uint32_t>(e + 15) << 23) | man;
    return static_cast<std::uint16_t>(sign | ShiftRoundEven(biased, 13));
  }
  // Below 2^-14: a subnormal half m * 2^-24, or zero. With the implicit one
  // (24 significant bits), m = (1.man * 2^23) >> (-e - 14 + 13), rounded.
  // Float subnormals and anything below 2^-25 round to zero.
  const unsigned shift = static_cast<unsigned>(-e - 14 + 13);
  if (exp == 0 || shift > 24) return sign;
  return static_cast<std::uint16_t>(sign | ShiftRoundEven(man | 0x00800000u, shift));
}

}  // namespace
}  // namespace vecgo::simd
