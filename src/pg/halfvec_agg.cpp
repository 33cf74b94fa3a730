// avg(halfvec) support: the transition and final functions over the same
// double precision[] state {n, sum_1, ..., sum_dim} as avg(vector), so the
// combine function is vector_combine's code (the SQL function
// halfvec_combine points at it). sum(halfvec) is halfvec_add.
#include <cmath>

#include "guard.h"
#include "halfvec.h"
#include "vector.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

using vecgo::pg::CheckExpectedDim;
using vecgo::pg::CheckHalfDim;
using vecgo::pg::CheckHalfElement;
using vecgo::pg::HalfVec;
using vecgo::pg::NewHalfVec;
using vecgo::pg::Raise;

namespace {

float8* StateValues(ArrayType* state, const char* caller) {
  if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 || ARR_HASNULL(state) ||
      ARR_ELEMTYPE(state) != FLOAT8OID)
    Raise(ERRCODE_INTERNAL_ERROR, "%s: expected state array", caller);
  return reinterpret_cast<float8*>(ARR_DATA_PTR(state));
}

inline int StateDims(ArrayType* state) { return ARR_DIMS(state)[0] - 1; }

}  // namespace

// halfvec_accum(double precision[], halfvec) -> double precision[]
VECGO_FUNCTION(halfvec_accum) {
  ArrayType* state = PG_GETARG_ARRAYTYPE_P(0);
  HalfVec* v = PG_GETARG_HALFVEC_P(1);
  const float8* in = StateValues(state, "halfvec_accum");
  int dim = StateDims(state);
  bool first = dim == 0;
  if (first)
    dim = v->dim;
  else
    CheckExpectedDim(dim, v->dim);

  float* x = static_cast<float*>(palloc(sizeof(float) * static_cast<Size>(v->dim)));
  vecgo::pg::HalfVecToFloats(v, x);
  int n = dim + 1;
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * static_cast<Size>(n)));
  datums[0] = Float8GetDatum(in[0] + 1.0);
  for (int i = 0; i < dim; i++) {
    double sum = first ? static_cast<double>(x[i]) : in[i + 1] + x[i];
    if (std::isinf(sum)) Raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow");
    datums[i + 1] = Float8GetDatum(sum);
  }
  ArrayType* result =
      construct_array(datums, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
  pfree(datums);
  pfree(x);
  PG_RETURN_ARRAYTYPE_P(result);
}

// halfvec_avg(double precision[]) -> halfvec; NULL when no rows were seen.
// Each mean is rounded to the nearest half ("out of range" beyond it).
VECGO_FUNCTION(halfvec_avg) {
  ArrayType* state = PG_GETARG_ARRAYTYPE_P(0);
  const float8* in = StateValues(state, "halfvec_avg");
  double n = in[0];
  if (n == 0.0) PG_RETURN_NULL();
  int dim = StateDims(state);
  CheckHalfDim(dim);
  HalfVec* result = NewHalfVec(dim);
  for (int i = 0; i < dim; i++) {
    result->x[i] = vecgo::pg::CheckedFloatToHalf(static_cast<float>(in[i + 1] / n));
    CheckHalfElement(result->x[i]);
  }
  PG_RETURN_HALFVEC_P(result);
}
