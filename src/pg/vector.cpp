// The `vector` type: allocation and the checks every vector function shares.
//
// The type's SQL functions are split by concern: vector_io.cpp (text and
// binary I/O, typmod, casts), vector_ops.cpp (distances, arithmetic,
// comparison, utilities), vector_agg.cpp (avg and sum). Error texts and
// SQLSTATEs follow pgvector's, so client code that matches on them keeps
// working.
//
// None of these files keeps a C++ object with a non-trivial destructor alive
// while it calls PostgreSQL, so PostgreSQL's own errors (palloc, detoasting,
// array deconstruction) may longjmp through them; the guard of each function
// (VECGO_FUNCTION) turns the errors raised here with Raise into ereport.
#include <cmath>

#include "guard.h"
#include "vector.h"

namespace vecgo::pg {

Vector* NewVector(int dim) {
  std::size_t size = VectorSize(dim);
  Vector* v = static_cast<Vector*>(palloc0(size));
  SET_VARSIZE(v, size);
  v->dim = static_cast<int16>(dim);
  return v;
}

void CheckDim(int dim) {
  if (dim < 1) Raise(ERRCODE_DATA_EXCEPTION, "vector must have at least 1 dimension");
  if (dim > kVectorMaxDim)
    Raise(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "vector cannot have more than %d dimensions",
          kVectorMaxDim);
}

void CheckExpectedDim(int32 typmod, int dim) {
  if (typmod != -1 && typmod != dim)
    Raise(ERRCODE_DATA_EXCEPTION, "expected %d dimensions, not %d", typmod, dim);
}

void CheckSameDims(const Vector* a, const Vector* b) {
  if (a->dim != b->dim)
    Raise(ERRCODE_DATA_EXCEPTION, "different vector dimensions %d and %d", a->dim, b->dim);
}

void CheckElement(float value) {
  if (std::isnan(value)) Raise(ERRCODE_DATA_EXCEPTION, "NaN not allowed in vector");
  if (std::isinf(value)) Raise(ERRCODE_DATA_EXCEPTION, "infinite value not allowed in vector");
}

}  // namespace vecgo::pg
