// The casts between `halfvec` and `sparsevec` (pgvector 0.8's pair):
//
//   halfvec   -> sparsevec  halfvec_to_sparsevec, implicit: the non-zero
//                           halves, widened exactly to float (+0 and -0 are
//                           both dropped);
//   sparsevec -> halfvec    sparsevec_to_halfvec, assignment: the dense form,
//                           each stored value rounded to the nearest half.
//
// Both run the dispatched conversion kernels through the helpers of
// halfvec.h. A sparsevec may have up to 10^9 dimensions but a halfvec only
// 16000, so the dimension check of the target type comes first; a stored
// value beyond the half range (|x| >= 65520 before rounding) is an error
// naming the value, as in vector -> halfvec. A value too small for a half
// becomes a (signed) zero element, which the way back drops again.
//
// No C++ object with a non-trivial destructor is alive while PostgreSQL is
// called; errors raised with Raise become ereport in each function's guard.
#include "guard.h"
#include "halfvec.h"
#include "sparsevec.h"
#include "vector.h"

using vecgo::pg::CheckedFloatToHalf;
using vecgo::pg::CheckExpectedDim;
using vecgo::pg::CheckHalfDim;
using vecgo::pg::CheckSparseDim;
using vecgo::pg::CheckSparseExpectedDim;
using vecgo::pg::CheckSparseNnz;
using vecgo::pg::half_bits;
using vecgo::pg::HalfIsInf;
using vecgo::pg::HalfIsZero;
using vecgo::pg::HalfVec;
using vecgo::pg::NewHalfVec;
using vecgo::pg::NewSparseVec;
using vecgo::pg::Raise;
using vecgo::pg::SparseVec;
using vecgo::pg::SparseVecValues;

// halfvec_to_sparsevec(halfvec, integer, boolean) -> sparsevec
VECGO_FUNCTION(halfvec_to_sparsevec) {
  HalfVec* v = PG_GETARG_HALFVEC_P(0);
  int32 typmod = PG_GETARG_INT32(1);
  int dim = v->dim;
  CheckSparseDim(dim);
  CheckSparseExpectedDim(typmod, dim);

  int nnz = 0;
  for (int i = 0; i < dim; i++) nnz += !HalfIsZero(v->x[i]);
  CheckSparseNnz(nnz, dim);

  // Widen the whole vector at once (dim <= 16000), then keep the non-zeros.
  float* dense = static_cast<float*>(palloc(sizeof(float) * static_cast<Size>(dim)));
  vecgo::pg::HalfVecToFloats(v, dense);
  SparseVec* result = NewSparseVec(dim, nnz);
  float* values = SparseVecValues(result);
  int j = 0;
  for (int i = 0; i < dim; i++) {
    if (HalfIsZero(v->x[i])) continue;
    result->indices[j] = i;
    values[j] = dense[i];
    j++;
  }
  pfree(dense);
  PG_RETURN_SPARSEVEC_P(result);
}

// sparsevec_to_halfvec(sparsevec, integer, boolean) -> halfvec
VECGO_FUNCTION(sparsevec_to_halfvec) {
  SparseVec* v = PG_GETARG_SPARSEVEC_P(0);
  int32 typmod = PG_GETARG_INT32(1);
  int dim = v->dim;
  CheckHalfDim(dim);
  CheckExpectedDim(typmod, dim);

  // Narrow the stored values as one run, then place them; the other
  // elements stay the +0 of the zeroed allocation.
  int nnz = v->nnz;
  const float* values = SparseVecValues(v);
  half_bits* halves =
      static_cast<half_bits*>(palloc(sizeof(half_bits) * static_cast<Size>(nnz > 0 ? nnz : 1)));
  vecgo::pg::FloatsToHalves(values, halves, static_cast<std::size_t>(nnz));
  HalfVec* result = NewHalfVec(dim);
  for (int i = 0; i < nnz; i++) {
    int32 index = v->indices[i];
    if (index < 0 || index >= dim) Raise(ERRCODE_DATA_CORRUPTED, "sparsevec index out of bounds");
    // Only a finite value beyond the half range narrows to infinity here
    // (stored values are finite); report it by value, in index order.
    if (HalfIsInf(halves[i])) CheckedFloatToHalf(values[i]);
    result->x[index] = halves[i];
  }
  pfree(halves);
  PG_RETURN_HALFVEC_P(result);
}
