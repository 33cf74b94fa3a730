// The `vector` type's in-memory layout, identical to pgvector's so that
// binary I/O, dumps and client code carry over unchanged.
#pragma once

#include "pg.h"

namespace vecgo::pg {

constexpr int kVectorMaxDim = 16000;

struct Vector {
  int32 vl_len_;  // varlena header (do not touch directly)
  int16 dim;      // number of dimensions
  int16 unused;   // reserved, always zero
  float x[FLEXIBLE_ARRAY_MEMBER];
};

inline std::size_t VectorSize(int dim) { return offsetof(Vector, x) + sizeof(float) * dim; }

inline Vector* DatumGetVector(Datum d) { return reinterpret_cast<Vector*>(PG_DETOAST_DATUM(d)); }

// Allocates a zeroed vector of `dim` dimensions in CurrentMemoryContext.
Vector* NewVector(int dim);

// Validation shared by every function that builds or combines vectors. Each
// throws (vecgo::pg::Raise) with pgvector's message and SQLSTATE; call them
// from guarded code only.

// 1 <= dim <= kVectorMaxDim ("vector must have at least 1 dimension",
// "vector cannot have more than 16000 dimensions").
void CheckDim(int dim);
// typmod is -1 (unconstrained) or equal to dim ("expected N dimensions, not M").
void CheckExpectedDim(int32 typmod, int dim);
// a and b have the same number of dimensions ("different vector dimensions").
void CheckSameDims(const Vector* a, const Vector* b);
// The element is finite ("NaN not allowed in vector", "infinite value ...").
void CheckElement(float value);

}  // namespace vecgo::pg


#define PG_GETARG_VECTOR_P(n) (vecgo::pg::DatumGetVector(PG_GETARG_DATUM(n)))
#define PG_RETURN_VECTOR_P(x) PG_RETURN_POINTER(x)
