// `sparsevec` distances, norms and comparison.
//
// The distances are the merges of sparsevec.cpp, finished the way pgvector
// finishes them: the sum is accumulated in float, the square root happens in
// double, and cosine similarity is clamped to [-1, 1] (a zero vector gives
// NaN). Norms sum their squares in double.
#include <cmath>

#include "guard.h"
#include "sparsevec.h"

using vecgo::pg::CheckSparseSameDims;
using vecgo::pg::NewSparseVec;
using vecgo::pg::Raise;
using vecgo::pg::SparseVec;
using vecgo::pg::SparseVecCompare;
using vecgo::pg::SparseVecValues;

// ---------------------------------------------------------------- distances

VECGO_FUNCTION(sparsevec_l2_distance) {
  SparseVec* a = PG_GETARG_SPARSEVEC_P(0);
  SparseVec* b = PG_GETARG_SPARSEVEC_P(1);
  CheckSparseSameDims(a, b);
  PG_RETURN_FLOAT8(std::sqrt(static_cast<double>(vecgo::pg::SparseL2SquaredDistance(a, b))));
}

VECGO_FUNCTION(sparsevec_l2_squared_distance) {
  SparseVec* a = PG_GETARG_SPARSEVEC_P(0);
  SparseVec* b = PG_GETARG_SPARSEVEC_P(1);
  CheckSparseSameDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(vecgo::pg::SparseL2SquaredDistance(a, b)));
}

VECGO_FUNCTION(sparsevec_inner_product) {
  SparseVec* a = PG_GETARG_SPARSEVEC_P(0);
  SparseVec* b = PG_GETARG_SPARSEVEC_P(1);
  CheckSparseSameDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(vecgo::pg::SparseInnerProduct(a, b)));
}

VECGO_FUNCTION(sparsevec_negative_inner_product) {
  SparseVec* a = PG_GETARG_SPARSEVEC_P(0);
  SparseVec* b = PG_GETARG_SPARSEVEC_P(1);
  CheckSparseSameDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(-vecgo::pg::SparseInnerProduct(a, b)));
}

VECGO_FUNCTION(sparsevec_cosine_distance) {
  SparseVec* a = PG_GETARG_SPARSEVEC_P(0);
  SparseVec* b = PG_GETARG_SPARSEVEC_P(1);
  CheckSparseSameDims(a, b);
  PG_RETURN_FLOAT8(vecgo::pg::SparseCosineDistance(a, b));
}

VECGO_FUNCTION(sparsevec_l1_distance) {
  SparseVec* a = PG_GETARG_SPARSEVEC_P(0);
  SparseVec* b = PG_GETARG_SPARSEVEC_P(1);
  CheckSparseSameDims(a, b);
  PG_RETURN_FLOAT8(static_cast<double>(vecgo::pg::SparseL1Distance(a, b)));
}

// ---------------------------------------------------------------- norms

VECGO_FUNCTION(sparsevec_l2_norm) {
  SparseVec* a = PG_GETARG_SPARSEVEC_P(0);
  PG_RETURN_FLOAT8(vecgo::pg::SparseNorm(a));
}

// Unit vector in the same direction; a zero vector stays zero. Elements that
// underflow to zero on division are dropped, so the result stays canonical.
VECGO_FUNCTION(sparsevec_l2_normalize) {
  SparseVec* a = PG_GETARG_SPARSEVEC_P(0);
  const float* ax = SparseVecValues(a);
  double norm = vecgo::pg::SparseNorm(a);
  if (!(norm > 0)) PG_RETURN_SPARSEVEC_P(NewSparseVec(a->dim, 0));

  int nnz = 0;
  for (int i = 0; i < a->nnz; i++) {
    float x = static_cast<float>(ax[i] / norm);
    if (std::isinf(x)) Raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow");
    nnz += x != 0;
  }
  SparseVec* result = NewSparseVec(a->dim, nnz);
  float* rx = SparseVecValues(result);
  int j = 0;
  for (int i = 0; i < a->nnz; i++) {
    float x = static_cast<float>(ax[i] / norm);
    if (x == 0) continue;
    result->indices[j] = a->indices[i];
    rx[j] = x;
    j++;
  }
  PG_RETURN_SPARSEVEC_P(result);
}

// ---------------------------------------------------------------- comparison

VECGO_FUNCTION(sparsevec_lt) {
  PG_RETURN_BOOL(SparseVecCompare(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)) < 0);
}
VECGO_FUNCTION(sparsevec_le) {
  PG_RETURN_BOOL(SparseVecCompare(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)) <= 0);
}
VECGO_FUNCTION(sparsevec_eq) {
  PG_RETURN_BOOL(SparseVecCompare(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)) == 0);
}
VECGO_FUNCTION(sparsevec_ne) {
  PG_RETURN_BOOL(SparseVecCompare(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)) != 0);
}
VECGO_FUNCTION(sparsevec_ge) {
  PG_RETURN_BOOL(SparseVecCompare(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)) >= 0);
}
VECGO_FUNCTION(sparsevec_gt) {
  PG_RETURN_BOOL(SparseVecCompare(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)) > 0);
}
VECGO_FUNCTION(sparsevec_cmp) {
  PG_RETURN_INT32(SparseVecCompare(PG_GETARG_SPARSEVEC_P(0), PG_GETARG_SPARSEVEC_P(1)));
}
