// The `sparsevec` type: in-memory layout identical to pgvector 0.8's, so that
// binary I/O, dumps and client code carry over unchanged, and the helpers the
// SQL functions and the index glue share.
//
// Layout (one varlena):
//   int32 vl_len_, int32 dim, int32 nnz, int32 unused (always 0),
//   int32 indices[nnz]   0-based, strictly ascending (sorted, unique),
//   float values[nnz]    finite and non-zero.
// Indices are 1-based only in the text form ("{1:1.5,3:2}/5").
#pragma once

#include <cstring>

#include "pg.h"

namespace vecgo::pg {

constexpr int kSparseVecMaxDim = 1000000000;  // dimensions
constexpr int kSparseVecMaxNnz = 16000;       // stored (non-zero) elements

struct SparseVec {
  int32 vl_len_;  // varlena header (do not touch directly)
  int32 dim;      // number of dimensions
  int32 nnz;      // number of stored elements
  int32 unused;   // reserved, always zero
  int32 indices[FLEXIBLE_ARRAY_MEMBER];
  // float values[nnz] follow the indices
};

// Bytes of a sparsevec holding `nnz` elements; the dimension count does not
// enter (it is a field), and is taken only so call sites read naturally.
inline std::size_t SparseVecSize(int /*dim*/, int nnz) {
  return offsetof(SparseVec, indices) +
         (sizeof(int32) + sizeof(float)) * static_cast<std::size_t>(nnz);
}

inline SparseVec* DatumGetSparseVec(Datum d) {
  return reinterpret_cast<SparseVec*>(PG_DETOAST_DATUM(d));
}

inline float* SparseVecValues(SparseVec* v) {
  return reinterpret_cast<float*>(v->indices + v->nnz);
}
inline const float* SparseVecValues(const SparseVec* v) {
  return reinterpret_cast<const float*>(v->indices + v->nnz);
}

// Writes the dense form: out[0 .. dim) is zeroed, then every stored element is
// placed at its index. `out` must hold v->dim floats.
inline void SparseVecToFloats(const SparseVec* v, float* out) {
  std::memset(out, 0, sizeof(float) * static_cast<std::size_t>(v->dim));
  const float* values = SparseVecValues(v);
  for (int i = 0; i < v->nnz; i++) out[v->indices[i]] = values[i];
}

// Allocates a zeroed sparsevec (dim and nnz set) in CurrentMemoryContext.
SparseVec* NewSparseVec(int dim, int nnz);

// Validation shared by every function that builds or combines sparse vectors.
// Each throws (vecgo::pg::Raise) with pgvector's message and SQLSTATE; call
// them from guarded code only.

// 1 <= dim <= kSparseVecMaxDim.
void CheckSparseDim(int dim);
// 0 <= nnz <= kSparseVecMaxNnz and nnz <= dim.
void CheckSparseNnz(int nnz, int dim);
// typmod is -1 (unconstrained) or equal to dim ("expected N dimensions, not M").
void CheckSparseExpectedDim(int32 typmod, int dim);
// indices[i] lies in [0, dim) and is greater than indices[i - 1].
void CheckSparseIndex(const int32* indices, int i, int dim);
// The element is finite ("NaN not allowed in sparsevec", "infinite value ...").
void CheckSparseElement(float value);
// a and b have the same number of dimensions.
void CheckSparseSameDims(const SparseVec* a, const SparseVec* b);

// Distances by a merge over the two sorted index lists, allocation-free. They
// accumulate in float, in ascending index order, as pgvector does; callers
// check the dimensions first.
float SparseL2SquaredDistance(const SparseVec* a, const SparseVec* b);
float SparseInnerProduct(const SparseVec* a, const SparseVec* b);
float SparseL1Distance(const SparseVec* a, const SparseVec* b);
// Sum of squares in float (as the cosine distance uses it).
float SparseSquaredNormFloat(const SparseVec* a);
// Euclidean norm, squares summed in double (l2_norm, l2_normalize).
double SparseNorm(const SparseVec* a);
// 1 - cosine similarity, the similarity clamped to [-1, 1]; NaN when either
// vector is zero.
double SparseCosineDistance(const SparseVec* a, const SparseVec* b);
// B-tree order: as the dense vectors compare element by element, then the
// shorter first (pgvector's ordering). Returns -1, 0 or 1.
int SparseVecCompare(const SparseVec* a, const SparseVec* b);

}  // namespace vecgo::pg

#define PG_GETARG_SPARSEVEC_P(n) (vecgo::pg::DatumGetSparseVec(PG_GETARG_DATUM(n)))
#define PG_RETURN_SPARSEVEC_P(x) PG_RETURN_POINTER(x)
