// The `halfvec` type: a vector of IEEE 754 binary16 ("half") values, laid
// out in memory exactly as pgvector's, so that binary I/O, dumps and client
// code carry over unchanged. Each element is kept as its 16-bit pattern;
// arithmetic widens to float (the dispatched f16 kernels of vecgo/simd.h).
//
// This header is safe to include from any glue file (it needs only pg.h);
// the conversions that use the kernels are defined in halfvec.cpp.
#pragma once

#include "pg.h"

namespace vecgo::pg {

constexpr int kHalfVecMaxDim = 16000;

// The largest finite half, 65504: every finite float of greater magnitude
// (from 65520, after rounding) becomes infinity when narrowed.
constexpr float kHalfMax = 65504.0f;

using half_bits = uint16;  // one element: the binary16 bit pattern

struct HalfVec {
  int32 vl_len_;  // varlena header (do not touch directly)
  int16 dim;      // number of dimensions
  int16 unused;   // reserved, always zero
  half_bits x[FLEXIBLE_ARRAY_MEMBER];
};

inline std::size_t HalfVecSize(int dim) {
  return offsetof(HalfVec, x) + sizeof(half_bits) * static_cast<std::size_t>(dim);
}

// The value of a datum, detoasted (a copy when it was toasted or short).
inline HalfVec* DatumGetHalfVec(Datum d) { return reinterpret_cast<HalfVec*>(PG_DETOAST_DATUM(d)); }

// Bit-pattern tests on one element.
inline bool HalfIsNan(half_bits h) { return (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0; }
inline bool HalfIsInf(half_bits h) { return (h & 0x7FFF) == 0x7C00; }
inline bool HalfIsZero(half_bits h) { return (h & 0x7FFF) == 0; }

// The vector's dim elements widened to float (exact) into out[0 .. dim-1],
// with the dispatched conversion kernel.
void HalfVecToFloats(const HalfVec* v, float* out);

// Narrows n floats to halves (round to nearest even; no checks: a finite
// value beyond the half range becomes infinity), with the dispatched kernel.
void FloatsToHalves(const float* in, half_bits* out, std::size_t n);

// One element either way (the same kernels, one value).
float HalfToFloat(half_bits h);
half_bits FloatToHalf(float f);

// Allocates a zeroed halfvec of `dim` dimensions in CurrentMemoryContext.
HalfVec* NewHalfVec(int dim);

// Validation shared by the halfvec functions, with pgvector's messages and
// SQLSTATEs. Each throws (vecgo::pg::Raise); call them from guarded code only.

// 1 <= dim <= kHalfVecMaxDim ("halfvec must have at least 1 dimension",
// "halfvec cannot have more than 16000 dimensions").
void CheckHalfDim(int dim);
// a and b have the same number of dimensions ("different halfvec dimensions").
void CheckSameHalfDims(const HalfVec* a, const HalfVec* b);
// The element is finite ("NaN not allowed in halfvec", "infinite value ...").
void CheckHalfElement(half_bits h);
// The float fits a half: a finite value that narrows to infinity is
// `"<value>" is out of range for type halfvec` (22003). Returns the half.
half_bits CheckedFloatToHalf(float f);

}  // namespace vecgo::pg

#define PG_GETARG_HALFVEC_P(n) (vecgo::pg::DatumGetHalfVec(PG_GETARG_DATUM(n)))
#define PG_RETURN_HALFVEC_P(x) PG_RETURN_POINTER(x)
