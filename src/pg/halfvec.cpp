// The `halfvec` type: allocation, conversions and the checks every halfvec
// function shares.
//
// The type's SQL functions are split like the vector type's: halfvec_io.cpp
// (text and binary I/O, typmod, casts), halfvec_ops.cpp (distances,
// arithmetic, comparison, utilities), halfvec_agg.cpp (avg). Error texts and
// SQLSTATEs follow pgvector's.
//
// As in vector.cpp, no C++ object with a non-trivial destructor is alive
// while these files call PostgreSQL; errors raised with Raise become ereport
// in each function's guard (VECGO_FUNCTION).
#include <cmath>

#include "vecgo/simd.h"
#include "guard.h"
#include "halfvec.h"

extern "C" {
#include "common/shortest_dec.h"
}

namespace vecgo::pg {

void HalfVecToFloats(const HalfVec* v, float* out) {
  vecgo::simd::active().f16_to_f32(v->x, out, static_cast<std::size_t>(v->dim));
}

void FloatsToHalves(const float* in, half_bits* out, std::size_t n) {
  vecgo::simd::active().f32_to_f16(in, out, n);
}

float HalfToFloat(half_bits h) {
  float f;
  vecgo::simd::active().f16_to_f32(&h, &f, 1);
  return f;
}

half_bits FloatToHalf(float f) {
  half_bits h;
  vecgo::simd::active().f32_to_f16(&f, &h, 1);
  return h;
}

HalfVec* NewHalfVec(int dim) {
  std::size_t size = HalfVecSize(dim);
  HalfVec* v = static_cast<HalfVec*>(palloc0(size));
  SET_VARSIZE(v, size);
  v->dim = static_cast<int16>(dim);
  return v;
}

void CheckHalfDim(int dim) {
  if (dim < 1) Raise(ERRCODE_DATA_EXCEPTION, "halfvec must have at least 1 dimension");
  if (dim > kHalfVecMaxDim)
    Raise(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "halfvec cannot have more than %d dimensions",
          kHalfVecMaxDim);
}

void CheckSameHalfDims(const HalfVec* a, const HalfVec* b) {
  if (a->dim != b->dim)
    Raise(ERRCODE_DATA_EXCEPTION, "different halfvec dimensions %d and %d", a->dim, b->dim);
}

void CheckHalfElement(half_bits h) {
  if (HalfIsNan(h)) Raise(ERRCODE_DATA_EXCEPTION, "NaN not allowed in halfvec");
  if (HalfIsInf(h)) Raise(ERRCODE_DATA_EXCEPTION, "infinite value not allowed in halfvec");
}

half_bits CheckedFloatToHalf(float f) {
  half_bits h = FloatToHalf(f);
  if (HalfIsInf(h) && !std::isinf(f)) {
    char buf[FLOAT_SHORTEST_DECIMAL_LEN];
    float_to_shortest_decimal_buf(f, buf);
    Raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "\"%s\" is out of range for type halfvec", buf);
  }
  return h;
}

}  // namespace vecgo::pg
