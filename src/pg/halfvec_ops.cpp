// `halfvec` distances, arithmetic, comparison and utilities.
//
// Distances run on the dispatched half kernels (f16_l2sq, f16_dot, f16_l1,
// f16_dot_norms): elements widened to float and accumulated in float, then
// finished in double as for `vector`. Arithmetic widens both operands to
// float, computes in float and rounds the result to the nearest half; a
// result beyond the half range is an overflow error, as in pgvector.
#include <cmath>

#include "vecgo/simd.h"
#include "guard.h"
#include "halfvec.h"

extern "C" {
#include "utils/varbit.h"
}

using vecgo::pg::CheckHalfDim;
using vecgo::pg::CheckSameHalfDims;
using vecgo::pg::half_bits;
using vecgo::pg::HalfIsInf;
using vecgo::pg::HalfIsZero;
using vecgo::pg::HalfVec;
using vecgo::pg::NewHalfVec;
using vecgo::pg::Raise;

namespace {

inline const vecgo::simd::Kernels& K() { return vecgo::simd::active(); }

inline std::size_t Dim(const HalfVec* v) { return static_cast<std::size_t>(v->dim); }

[[noreturn]] void Overflow() {
  Raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow");
}

[[noreturn]] void Underflow() {
  Raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: underflow");
}

// Elements converted per step by the element-wise functions: the float
// copies live on the stack.
constexpr std::size_t kChunk = 256;

// Calls fn(i, count, fa, fb) over the elements of a and b (b may be null),
// kChunk at a time, fa and fb holding elements i .. i+count-1 as floats.
template <class Fn>
void ForEachChunk(const HalfVec* a, const HalfVec* b, Fn fn) {
  float fa[kChunk], fb[kChunk];
  const std::size_t n = Dim(a);
  for (std::size_t i = 0; i < n; i += kChunk) {
    std::size_t count = n - i < kChunk ? n - i : kChunk;
    K().f16_to_f32(a->x + i, fa, count);
    if (b != nullptr) K().f16_to_f32(b->x + i, fb, count);
    fn(i, count, fa, fb);
  }
}

// Element-wise op(a_i, b_i) in float, narrowed to half.
template <class Op>
HalfVec* ElementWise(const HalfVec* a, const HalfVec* b, Op op) {
  CheckSameHalfDims(a, b);
  HalfVec* r = NewHalfVec(a->dim);
  ForEachChunk(a, b, [&](std::size_t i, std::size_t count, float* fa, const float* fb) {
    for (std::size_t j = 0; j < count; j++) fa[j] = op(fa[j], fb[j]);
    K().f32_to_f16(fa, r->x + i, count);
  });
  return r;
}

void CheckNoOverflow(const HalfVec* r) {
  for (int i = 0; i < r->dim; i++)
    if (HalfIsInf(r->x[i])) Overflow();
}

// Cosine similarity, clamped; NaN passes through (zero norms).
double CosineSimilarity(const HalfVec* a, const HalfVec* b) {
  float s[3];
  K().f16_dot_norms(a->x, b->x, Dim(a), s);
  double similarity =
      static_cast<double>(s[0]) / std::sqrt(static_cast<double>(s[1]) * static_cast<double>(s[2]));
  if (similarity > 1.0) similarity = 1.0;
  if (similarity < -1.0) similarity = -1.0;
  return similarity;
}

// Euclidean norm, the squares summed in double.
double NormDouble(const HalfVec* a) {
  double sum = 0.0;
  ForEachChunk(a, nullptr, [&](std::size_t, std::size_t count, const float* fa, const float*) {
    for (std::size_t j = 0; j < count; j++) sum += static_cast<double>(fa[j]) * fa[j];
  });
  return std::sqrt(sum);
}

// An integer that orders halves as their values do (NaN aside, which a
// halfvec never holds): magnitude bits, negated for negative values, so
// that -0 and +0 are equal.
inline int OrderKey(half_bits h) {
  int magnitude = h & 0x7FFF;
  return (h & 0x8000) ? -magnitude : magnitude;
}

// Lexicographic by element value, then by length (like PostgreSQL arrays).
int Compare(const HalfVec* a, const HalfVec* b) {
  int n = a->dim < b->dim ? a->dim : b->dim;
  for (int i = 0; i < n; i++) {
    int ka = OrderKey(a->x[i]), kb = OrderKey(b->x[i]);
    if (ka != kb) return ka < kb ? -1 : 1;
  }
  if (a->dim != b->dim) return a->dim < b->dim ? -1 : 1;
  return 0;
}

}  // namespace

// ---------------------------------------------------------------- distances

VECGO_FUNCTION(halfvec_l2_distance) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  HalfVec* b = PG_GETARG_HALFVEC_P(1);
  CheckSameHalfDims(a, b);
  PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(K().f16_l2sq(a->x, b->x, Dim(a)))));
}

VECGO_FUNCTION(halfvec_l2_squared_distance) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  HalfVec* b = PG_GETARG_HALFVEC_P(1);
  CheckSameHalfDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(K().f16_l2sq(a->x, b->x, Dim(a))));
}

VECGO_FUNCTION(halfvec_inner_product) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  HalfVec* b = PG_GETARG_HALFVEC_P(1);
  CheckSameHalfDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(K().f16_dot(a->x, b->x, Dim(a))));
}

VECGO_FUNCTION(halfvec_negative_inner_product) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  HalfVec* b = PG_GETARG_HALFVEC_P(1);
  CheckSameHalfDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(-K().f16_dot(a->x, b->x, Dim(a))));
}

VECGO_FUNCTION(halfvec_cosine_distance) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  HalfVec* b = PG_GETARG_HALFVEC_P(1);
  CheckSameHalfDims(a, b);
  PG_RETURN_FLOAT8(1.0 - CosineSimilarity(a, b));
}

// Angular distance in [0, 1] for unit vectors (acos of the inner product / pi).
VECGO_FUNCTION(halfvec_spherical_distance) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  HalfVec* b = PG_GETARG_HALFVEC_P(1);
  CheckSameHalfDims(a, b);
  double d = static_cast<double>(K().f16_dot(a->x, b->x, Dim(a)));
  if (d > 1.0) d = 1.0;
  if (d < -1.0) d = -1.0;
  PG_RETURN_FLOAT8(std::acos(d) / M_PI);
}

VECGO_FUNCTION(halfvec_l1_distance) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  HalfVec* b = PG_GETARG_HALFVEC_P(1);
  CheckSameHalfDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(K().f16_l1(a->x, b->x, Dim(a))));
}

// ---------------------------------------------------------------- utilities

VECGO_FUNCTION(halfvec_vector_dims) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  PG_RETURN_INT32(a->dim);
}

VECGO_FUNCTION(halfvec_l2_norm) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  PG_RETURN_FLOAT8(NormDouble(a));
}

// Unit vector in the same direction, rounded to halves; a zero vector stays zero.
VECGO_FUNCTION(halfvec_l2_normalize) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  HalfVec* result = NewHalfVec(a->dim);
  double norm = NormDouble(a);
  if (norm > 0) {
    ForEachChunk(a, nullptr, [&](std::size_t i, std::size_t count, float* fa, const float*) {
      for (std::size_t j = 0; j < count; j++) fa[j] = static_cast<float>(fa[j] / norm);
      K().f32_to_f16(fa, result->x + i, count);
    });
    CheckNoOverflow(result);
  }
  PG_RETURN_HALFVEC_P(result);
}

// bit(dim): bit i is set when element i is positive.
VECGO_FUNCTION(halfvec_binary_quantize) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  int len = VARBITTOTALLEN(a->dim);
  VarBit* result = static_cast<VarBit*>(palloc0(len));
  SET_VARSIZE(result, len);
  VARBITLEN(result) = a->dim;
  bits8* bits = VARBITS(result);
  // Positive: sign bit clear and not zero (a halfvec holds no NaN).
  for (int i = 0; i < a->dim; i++)
    if ((a->x[i] & 0x8000) == 0 && !HalfIsZero(a->x[i]))
      bits[i / 8] |= static_cast<bits8>(0x80u >> (i % 8));
  PG_RETURN_VARBIT_P(result);
}

// subvector(v, start, count): elements start .. start+count-1, 1-based like
// substring, clipped to the vector; an empty result is an error.
VECGO_FUNCTION(halfvec_subvector) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  int64 start = PG_GETARG_INT32(1);
  int64 count = PG_GETARG_INT32(2);
  if (count < 1) Raise(ERRCODE_DATA_EXCEPTION, "halfvec must have at least 1 dimension");
  int64 end = start + count;  // exclusive; int64 cannot overflow here
  if (end > a->dim + 1) end = a->dim + 1;
  if (start > a->dim) Raise(ERRCODE_DATA_EXCEPTION, "halfvec must have at least 1 dimension");
  if (start < 1) start = 1;
  int64 dim = end - start;
  CheckHalfDim(dim < 1 ? 0 : static_cast<int>(dim));
  HalfVec* result = NewHalfVec(static_cast<int>(dim));
  memcpy(result->x, a->x + (start - 1), sizeof(half_bits) * static_cast<std::size_t>(dim));
  PG_RETURN_HALFVEC_P(result);
}

// ---------------------------------------------------------------- arithmetic

VECGO_FUNCTION(halfvec_add) {
  HalfVec* r = ElementWise(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1),
                           [](float x, float y) { return x + y; });
  CheckNoOverflow(r);
  PG_RETURN_HALFVEC_P(r);
}

VECGO_FUNCTION(halfvec_sub) {
  HalfVec* r = ElementWise(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1),
                           [](float x, float y) { return x - y; });
  CheckNoOverflow(r);
  PG_RETURN_HALFVEC_P(r);
}

// Element-wise product; a product of two non-zero halves that rounds to zero
// is an underflow error.
VECGO_FUNCTION(halfvec_mul) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  HalfVec* b = PG_GETARG_HALFVEC_P(1);
  HalfVec* r = ElementWise(a, b, [](float x, float y) { return x * y; });
  for (int i = 0; i < r->dim; i++) {
    if (HalfIsInf(r->x[i])) Overflow();
    if (HalfIsZero(r->x[i]) && !HalfIsZero(a->x[i]) && !HalfIsZero(b->x[i])) Underflow();
  }
  PG_RETURN_HALFVEC_P(r);
}

VECGO_FUNCTION(halfvec_concat) {
  HalfVec* a = PG_GETARG_HALFVEC_P(0);
  HalfVec* b = PG_GETARG_HALFVEC_P(1);
  int dim = a->dim + b->dim;
  CheckHalfDim(dim);
  HalfVec* r = NewHalfVec(dim);
  memcpy(r->x, a->x, sizeof(half_bits) * Dim(a));
  memcpy(r->x + a->dim, b->x, sizeof(half_bits) * Dim(b));
  PG_RETURN_HALFVEC_P(r);
}

// ---------------------------------------------------------------- comparison

VECGO_FUNCTION(halfvec_lt) {
  PG_RETURN_BOOL(Compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) < 0);
}
VECGO_FUNCTION(halfvec_le) {
  PG_RETURN_BOOL(Compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) <= 0);
}
VECGO_FUNCTION(halfvec_eq) {
  PG_RETURN_BOOL(Compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) == 0);
}
VECGO_FUNCTION(halfvec_ne) {
  PG_RETURN_BOOL(Compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) != 0);
}
VECGO_FUNCTION(halfvec_ge) {
  PG_RETURN_BOOL(Compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) >= 0);
}
VECGO_FUNCTION(halfvec_gt) {
  PG_RETURN_BOOL(Compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)) > 0);
}
VECGO_FUNCTION(halfvec_cmp) {
  PG_RETURN_INT32(Compare(PG_GETARG_HALFVEC_P(0), PG_GETARG_HALFVEC_P(1)));
}
