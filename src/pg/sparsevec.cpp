// The `sparsevec` type: allocation, the checks every sparsevec function
// shares, and the merge-based distances (also used by the index glue).
//
// The type's SQL functions are split like the vector type's:
// sparsevec_io.cpp (text and binary I/O, typmod, casts) and sparsevec_ops.cpp
// (distances, norms, comparison). Error texts and SQLSTATEs follow
// pgvector's.
//
// None of these files keeps a C++ object with a non-trivial destructor alive
// while it calls PostgreSQL, so PostgreSQL's own errors may longjmp through
// them; the guard of each SQL function turns the errors raised here with
// Raise into ereport.
#include <cmath>
#include <cstring>

#include "guard.h"
#include "sparsevec.h"

namespace vecgo::pg {

SparseVec* NewSparseVec(int dim, int nnz) {
  std::size_t size = SparseVecSize(dim, nnz);
  SparseVec* v = static_cast<SparseVec*>(palloc0(size));
  SET_VARSIZE(v, size);
  v->dim = dim;
  v->nnz = nnz;
  return v;
}

void CheckSparseDim(int dim) {
  if (dim < 1) Raise(ERRCODE_DATA_EXCEPTION, "sparsevec must have at least 1 dimension");
  if (dim > kSparseVecMaxDim)
    Raise(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "sparsevec cannot have more than %d dimensions",
          kSparseVecMaxDim);
}

void CheckSparseNnz(int nnz, int dim) {
  if (nnz < 0) Raise(ERRCODE_DATA_EXCEPTION, "sparsevec cannot have negative number of elements");
  if (nnz > kSparseVecMaxNnz)
    Raise(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "sparsevec cannot have more than %d non-zero elements",
          kSparseVecMaxNnz);
  if (nnz > dim)
    Raise(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "sparsevec cannot have more elements than dimensions");
}

void CheckSparseExpectedDim(int32 typmod, int dim) {
  if (typmod != -1 && typmod != dim)
    Raise(ERRCODE_DATA_EXCEPTION, "expected %d dimensions, not %d", typmod, dim);
}

void CheckSparseIndex(const int32* indices, int i, int dim) {
  int32 index = indices[i];
  if (index < 0 || index >= dim) Raise(ERRCODE_DATA_EXCEPTION, "sparsevec index out of bounds");
  if (i == 0) return;
  if (index < indices[i - 1])
    Raise(ERRCODE_DATA_EXCEPTION, "sparsevec indices must be in ascending order");
  if (index == indices[i - 1])
    Raise(ERRCODE_DATA_EXCEPTION, "sparsevec indices must not contain duplicates");
}

void CheckSparseElement(float value) {
  if (std::isnan(value)) Raise(ERRCODE_DATA_EXCEPTION, "NaN not allowed in sparsevec");
  if (std::isinf(value)) Raise(ERRCODE_DATA_EXCEPTION, "infinite value not allowed in sparsevec");
}

void CheckSparseSameDims(const SparseVec* a, const SparseVec* b) {
  if (a->dim != b->dim)
    Raise(ERRCODE_DATA_EXCEPTION, "different sparsevec dimensions %d and %d", a->dim, b->dim);
}

// ---------------------------------------------------------------- distances
//
// Each walks both index lists once. A step consumes the smaller index, or both
// when they are equal; the element missing on one side counts as +0, which
// leaves every term bit-identical to computing it from the present element
// alone (x - 0 == x, 0 - y == -y). Terms are added in ascending index order
// into one float, so the sums equal pgvector's (as its C source orders them;
// a build of it that contracts to FMA or vectorizes the tails rounds
// differently in the last bit). Which side is smaller is unpredictable, so
// the walk is branch-free: the index advances are comparisons, and the absent
// element is masked to +0 with bit operations (a conditional expression is
// compiled to a branch here, which mispredicts half the time).

namespace {

// x, or +0 when !keep, without a branch.
inline float KeepIf(float x, bool keep) {
  uint32 bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits &= 0u - static_cast<uint32>(keep);
  float r;
  std::memcpy(&r, &bits, sizeof r);
  return r;
}

}  // namespace

float SparseL2SquaredDistance(const SparseVec* a, const SparseVec* b) {
  const int32* ia = a->indices;
  const int32* ib = b->indices;
  const float* xa = SparseVecValues(a);
  const float* xb = SparseVecValues(b);
  const int na = a->nnz;
  const int nb = b->nnz;
  float sum = 0.0f;
  int i = 0;
  int j = 0;
  while (i < na && j < nb) {
    const int32 p = ia[i];
    const int32 q = ib[j];
    const bool take_a = p <= q;
    const bool take_b = q <= p;
    const float d = KeepIf(xa[i], take_a) - KeepIf(xb[j], take_b);
    sum += d * d;
    i += take_a;
    j += take_b;
  }
  for (; i < na; i++) sum += xa[i] * xa[i];
  for (; j < nb; j++) sum += xb[j] * xb[j];
  return sum;
}

float SparseL1Distance(const SparseVec* a, const SparseVec* b) {
  const int32* ia = a->indices;
  const int32* ib = b->indices;
  const float* xa = SparseVecValues(a);
  const float* xb = SparseVecValues(b);
  const int na = a->nnz;
  const int nb = b->nnz;
  float sum = 0.0f;
  int i = 0;
  int j = 0;
  while (i < na && j < nb) {
    const int32 p = ia[i];
    const int32 q = ib[j];
    const bool take_a = p <= q;
    const bool take_b = q <= p;
    sum += std::fabs(KeepIf(xa[i], take_a) - KeepIf(xb[j], take_b));
    i += take_a;
    j += take_b;
  }
  for (; i < na; i++) sum += std::fabs(xa[i]);
  for (; j < nb; j++) sum += std::fabs(xb[j]);
  return sum;
}

// Only common indices contribute; they are usually few, so the match is a
// (mostly predicted) branch and the walk itself is branch-free.
float SparseInnerProduct(const SparseVec* a, const SparseVec* b) {
  const int32* ia = a->indices;
  const int32* ib = b->indices;
  const float* xa = SparseVecValues(a);
  const float* xb = SparseVecValues(b);
  const int na = a->nnz;
  const int nb = b->nnz;
  float sum = 0.0f;
  // Disjoint index ranges share nothing.
  if (na == 0 || nb == 0 || ia[na - 1] < ib[0] || ib[nb - 1] < ia[0]) return sum;
  int i = 0;
  int j = 0;
  while (i < na && j < nb) {
    const int32 p = ia[i];
    const int32 q = ib[j];
    if (p == q) sum += xa[i] * xb[j];
    i += p <= q;
    j += q <= p;
  }
  return sum;
}

float SparseSquaredNormFloat(const SparseVec* a) {
  const float* x = SparseVecValues(a);
  float sum = 0.0f;
  for (int i = 0; i < a->nnz; i++) sum += x[i] * x[i];
  return sum;
}

double SparseNorm(const SparseVec* a) {
  const float* x = SparseVecValues(a);
  double sum = 0.0;
  for (int i = 0; i < a->nnz; i++) sum += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  return std::sqrt(sum);
}

double SparseCosineDistance(const SparseVec* a, const SparseVec* b) {
  double similarity = static_cast<double>(SparseInnerProduct(a, b));
  // sqrt(|a|^2 |b|^2) rather than |a| |b|: one rounding less.
  similarity /= std::sqrt(static_cast<double>(SparseSquaredNormFloat(a)) *
                          static_cast<double>(SparseSquaredNormFloat(b)));
  if (similarity > 1.0) similarity = 1.0;
  if (similarity < -1.0) similarity = -1.0;
  return 1.0 - similarity;  // NaN stays NaN
}

// ---------------------------------------------------------------- ordering
//
// Equivalent to comparing the dense forms element by element, then by
// dimension count, without expanding them. While the k-th stored elements of
// both sit at the same index, their values decide; at the first differing
// index, the smaller one holds a non-zero on one side only and zero on the
// other, so that value's sign decides. When one side runs out of stored
// elements, the other side's next one decides if its index lies within the
// first side's dimensions (where the first side is zero); otherwise the common
// prefix is equal and the dimension counts decide.
int SparseVecCompare(const SparseVec* a, const SparseVec* b) {
  const float* xa = SparseVecValues(a);
  const float* xb = SparseVecValues(b);
  const int n = a->nnz < b->nnz ? a->nnz : b->nnz;
  for (int k = 0; k < n; k++) {
    const int32 p = a->indices[k];
    const int32 q = b->indices[k];
    if (p < q) return xa[k] < 0 ? -1 : 1;  // a[p] != 0, b[p] == 0
    if (p > q) return xb[k] < 0 ? 1 : -1;  // a[q] == 0, b[q] != 0
    if (xa[k] < xb[k]) return -1;
    if (xa[k] > xb[k]) return 1;
  }
  if (a->nnz < b->nnz && b->indices[n] < a->dim) return xb[n] < 0 ? 1 : -1;
  if (a->nnz > b->nnz && a->indices[n] < b->dim) return xa[n] < 0 ? -1 : 1;
  if (a->dim != b->dim) return a->dim < b->dim ? -1 : 1;
  return 0;
}

}  // namespace vecgo::pg
