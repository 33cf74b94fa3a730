// avg(vector) support: transition, combine and final functions over a
// double precision[] state {n, sum_1, ..., sum_dim} (the initial state '{0}'
// has no sums yet). The state is a plain float8 array, as in pgvector, so the
// aggregate is parallel safe and its partial states serialise without help.
// sum(vector) needs no code of its own: it is vector_add.
#include <cmath>

#include "guard.h"
#include "vector.h"

extern "C" {
#include "catalog/pg_type.h"
#include "utils/array.h"
}

using vecgo::pg::CheckDim;
using vecgo::pg::CheckElement;
using vecgo::pg::CheckExpectedDim;
using vecgo::pg::NewVector;
using vecgo::pg::Raise;
using vecgo::pg::Vector;

namespace {

// The state's values, after checking it is what the aggregate built.
float8* StateValues(ArrayType* state, const char* caller) {
  if (ARR_NDIM(state) != 1 || ARR_DIMS(state)[0] < 1 || ARR_HASNULL(state) ||
      ARR_ELEMTYPE(state) != FLOAT8OID)
    Raise(ERRCODE_INTERNAL_ERROR, "%s: expected state array", caller);
  return reinterpret_cast<float8*>(ARR_DATA_PTR(state));
}

inline int StateDims(ArrayType* state) { return ARR_DIMS(state)[0] - 1; }

// A fresh state array of 1 + dim zeros.
ArrayType* NewState(int dim) {
  int n = dim + 1;
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * static_cast<Size>(n)));
  for (int i = 0; i < n; i++) datums[i] = Float8GetDatum(0.0);
  ArrayType* a =
      construct_array(datums, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
  pfree(datums);
  return a;
}

inline float8* Values(ArrayType* a) { return reinterpret_cast<float8*>(ARR_DATA_PTR(a)); }

[[noreturn]] void Overflow() {
  Raise(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE, "value out of range: overflow");
}

}  // namespace

// vector_accum(double precision[], vector) -> double precision[]
VECGO_FUNCTION(vector_accum) {
  ArrayType* state = PG_GETARG_ARRAYTYPE_P(0);
  Vector* v = PG_GETARG_VECTOR_P(1);
  const float8* in = StateValues(state, "vector_accum");
  int dim = StateDims(state);
  bool first = dim == 0;
  if (first)
    dim = v->dim;
  else
    CheckExpectedDim(dim, v->dim);

  ArrayType* result = NewState(dim);
  float8* out = Values(result);
  out[0] = in[0] + 1.0;
  for (int i = 0; i < dim; i++) {
    double sum = first ? static_cast<double>(v->x[i]) : in[i + 1] + v->x[i];
    if (std::isinf(sum)) Overflow();
    out[i + 1] = sum;
  }
  PG_RETURN_ARRAYTYPE_P(result);
}

// vector_combine(double precision[], double precision[]) -> double precision[]
VECGO_FUNCTION(vector_combine) {
  ArrayType* s1 = PG_GETARG_ARRAYTYPE_P(0);
  ArrayType* s2 = PG_GETARG_ARRAYTYPE_P(1);
  const float8* v1 = StateValues(s1, "vector_combine");
  const float8* v2 = StateValues(s2, "vector_combine");
  int d1 = StateDims(s1);
  int d2 = StateDims(s2);

  int dim = d1 != 0 ? d1 : d2;
  if (dim != 0) CheckDim(dim);
  if (d1 != 0 && d2 != 0) CheckExpectedDim(d1, d2);

  ArrayType* result = NewState(dim);
  float8* out = Values(result);
  out[0] = v1[0] + v2[0];
  for (int i = 1; i <= dim; i++) {
    if (d1 == 0 || d2 == 0) {  // one side has seen no rows: take the other
      out[i] = d1 != 0 ? v1[i] : v2[i];
      continue;
    }
    double sum = v1[i] + v2[i];
    if (std::isinf(sum)) Overflow();
    out[i] = sum;
  }
  PG_RETURN_ARRAYTYPE_P(result);
}

// vector_avg(double precision[]) -> vector; NULL when no rows were seen.
VECGO_FUNCTION(vector_avg) {
  ArrayType* state = PG_GETARG_ARRAYTYPE_P(0);
  const float8* in = StateValues(state, "vector_avg");
  double n = in[0];
  if (n == 0.0) PG_RETURN_NULL();
  int dim = StateDims(state);
  CheckDim(dim);
  Vector* result = NewVector(dim);
  for (int i = 0; i < dim; i++) {
    result->x[i] = static_cast<float>(in[i + 1] / n);
    CheckElement(result->x[i]);
  }
  PG_RETURN_VECTOR_P(result);
}
