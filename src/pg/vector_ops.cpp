// `vector` distances, arithmetic, comparison and utilities.
//
// Distances run on the dispatched kernels (vecgo::simd::active()), the same
// ones the index uses, and are finished the way pgvector finishes them: the
// kernel accumulates in float, the square root or division happens in double,
// and cosine similarity is clamped to [-1, 1] (a zero vector gives NaN).
#include <cmath>

#include "vecgo/simd.h"
#include "guard.h"
#include "vector.h"

extern "C" {
#include "utils/varbit.h"
}

using vecgo::pg::CheckDim;
using vecgo::pg::CheckSameDims;
using vecgo::pg::NewVector;
using vecgo::pg::Raise;
using vecgo::pg::Vector;

namespace {

inline const vecgo::simd::Kernels& K() { return vecgo::simd::active(); }

inline std::size_t Dim(const Vector* v) { return static_cast<std::size_t>(v->dim); }

[[noreturn]] void Overflow() {
  Raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow");
}

// Cosine similarity, clamped; NaN passes through (zero or overflowing norms).
double CosineSimilarity(const Vector* a, const Vector* b) {
  float s[3];
  K().dot_norms(a->x, b->x, Dim(a), s);
  double similarity =
      static_cast<double>(s[0]) / std::sqrt(static_cast<double>(s[1]) * static_cast<double>(s[2]));
  if (similarity > 1.0) similarity = 1.0;
  if (similarity < -1.0) similarity = -1.0;
  return similarity;
}

// Sum of squares in double, so norms of large-but-finite vectors do not
// overflow (pgvector computes vector_norm and l2_normalize this way).
double NormDouble(const Vector* a) {
  double sum = 0.0;
  for (int i = 0; i < a->dim; i++) sum += static_cast<double>(a->x[i]) * a->x[i];
  return std::sqrt(sum);
}

// Lexicographic by element, then by length (like PostgreSQL arrays).
int Compare(const Vector* a, const Vector* b) {
  int n = a->dim < b->dim ? a->dim : b->dim;
  for (int i = 0; i < n; i++) {
    if (a->x[i] < b->x[i]) return -1;
    if (a->x[i] > b->x[i]) return 1;
  }
  if (a->dim != b->dim) return a->dim < b->dim ? -1 : 1;
  return 0;
}

}  // namespace

// ---------------------------------------------------------------- distances

VECGO_FUNCTION(l2_distance) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  CheckSameDims(a, b);
  PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(K().l2sq(a->x, b->x, Dim(a)))));
}

VECGO_FUNCTION(vector_l2_squared_distance) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  CheckSameDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(K().l2sq(a->x, b->x, Dim(a))));
}

VECGO_FUNCTION(inner_product) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  CheckSameDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(K().dot(a->x, b->x, Dim(a))));
}

VECGO_FUNCTION(vector_negative_inner_product) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  CheckSameDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(-K().dot(a->x, b->x, Dim(a))));
}

VECGO_FUNCTION(cosine_distance) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  CheckSameDims(a, b);
  PG_RETURN_FLOAT8(1.0 - CosineSimilarity(a, b));
}

// Angular distance in [0, 1] for unit vectors (acos of the inner product / pi);
// it satisfies the triangle inequality, which spherical k-means needs.
VECGO_FUNCTION(vector_spherical_distance) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  CheckSameDims(a, b);
  double d = static_cast<double>(K().dot(a->x, b->x, Dim(a)));
  if (d > 1.0) d = 1.0;
  if (d < -1.0) d = -1.0;
  PG_RETURN_FLOAT8(std::acos(d) / M_PI);
}

VECGO_FUNCTION(l1_distance) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  CheckSameDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(K().l1(a->x, b->x, Dim(a))));
}

// ---------------------------------------------------------------- utilities

VECGO_FUNCTION(vector_dims) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  PG_RETURN_INT32(a->dim);
}

VECGO_FUNCTION(vector_norm) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  PG_RETURN_FLOAT8(NormDouble(a));
}

// Unit vector in the same direction; a zero vector stays zero.
VECGO_FUNCTION(l2_normalize) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* result = NewVector(a->dim);
  double norm = NormDouble(a);
  if (norm > 0) {
    for (int i = 0; i < a->dim; i++) {
      result->x[i] = static_cast<float>(a->x[i] / norm);
      if (std::isinf(result->x[i])) Overflow();
    }
  }
  PG_RETURN_VECTOR_P(result);
}

// bit(dim): bit i is set when element i is positive.
VECGO_FUNCTION(binary_quantize) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  int len = VARBITTOTALLEN(a->dim);
  VarBit* result = static_cast<VarBit*>(palloc0(len));
  SET_VARSIZE(result, len);
  VARBITLEN(result) = a->dim;
  bits8* bits = VARBITS(result);
  for (int i = 0; i < a->dim; i++)
    if (a->x[i] > 0) bits[i / 8] |= static_cast<bits8>(0x80u >> (i % 8));
  PG_RETURN_VARBIT_P(result);
}

// subvector(v, start, count): elements start .. start+count-1, 1-based like
// substring, clipped to the vector; an empty result is an error.
VECGO_FUNCTION(subvector) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  int64 start = PG_GETARG_INT32(1);
  int64 count = PG_GETARG_INT32(2);
  if (count < 1) Raise(ERRCODE_DATA_EXCEPTION, "vector must have at least 1 dimension");
  int64 end = start + count;  // exclusive; int64 cannot overflow here
  if (end > a->dim + 1) end = a->dim + 1;
  if (start > a->dim) Raise(ERRCODE_DATA_EXCEPTION, "vector must have at least 1 dimension");
  if (start < 1) start = 1;
  int64 dim = end - start;
  CheckDim(dim < 1 ? 0 : static_cast<int>(dim));
  Vector* result = NewVector(static_cast<int>(dim));
  for (int64 i = 0; i < dim; i++) result->x[i] = a->x[start - 1 + i];
  PG_RETURN_VECTOR_P(result);
}

// ---------------------------------------------------------------- arithmetic

VECGO_FUNCTION(vector_add) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  CheckSameDims(a, b);
  Vector* r = NewVector(a->dim);
  for (int i = 0; i < a->dim; i++) r->x[i] = a->x[i] + b->x[i];
  for (int i = 0; i < a->dim; i++)
    if (std::isinf(r->x[i])) Overflow();
  PG_RETURN_VECTOR_P(r);
}

VECGO_FUNCTION(vector_sub) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  CheckSameDims(a, b);
  Vector* r = NewVector(a->dim);
  for (int i = 0; i < a->dim; i++) r->x[i] = a->x[i] - b->x[i];
  for (int i = 0; i < a->dim; i++)
    if (std::isinf(r->x[i])) Overflow();
  PG_RETURN_VECTOR_P(r);
}

// Element-wise product.
VECGO_FUNCTION(vector_mul) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  CheckSameDims(a, b);
  Vector* r = NewVector(a->dim);
  for (int i = 0; i < a->dim; i++) r->x[i] = a->x[i] * b->x[i];
  for (int i = 0; i < a->dim; i++) {
    if (std::isinf(r->x[i])) Overflow();
    if (r->x[i] == 0 && a->x[i] != 0 && b->x[i] != 0)
      Raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: underflow");
  }
  PG_RETURN_VECTOR_P(r);
}

VECGO_FUNCTION(vector_concat) {
  Vector* a = PG_GETARG_VECTOR_P(0);
  Vector* b = PG_GETARG_VECTOR_P(1);
  int dim = a->dim + b->dim;
  CheckDim(dim);
  Vector* r = NewVector(dim);
  memcpy(r->x, a->x, sizeof(float) * Dim(a));
  memcpy(r->x + a->dim, b->x, sizeof(float) * Dim(b));
  PG_RETURN_VECTOR_P(r);
}

// ---------------------------------------------------------------- comparison

VECGO_FUNCTION(vector_lt) {
  PG_RETURN_BOOL(Compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) < 0);
}
VECGO_FUNCTION(vector_le) {
  PG_RETURN_BOOL(Compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) <= 0);
}
VECGO_FUNCTION(vector_eq) {
  PG_RETURN_BOOL(Compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) == 0);
}
VECGO_FUNCTION(vector_ne) {
  PG_RETURN_BOOL(Compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) != 0);
}
VECGO_FUNCTION(vector_ge) {
  PG_RETURN_BOOL(Compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) >= 0);
}
VECGO_FUNCTION(vector_gt) {
  PG_RETURN_BOOL(Compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)) > 0);
}
VECGO_FUNCTION(vector_cmp) {
  PG_RETURN_INT32(Compare(PG_GETARG_VECTOR_P(0), PG_GETARG_VECTOR_P(1)));
}
