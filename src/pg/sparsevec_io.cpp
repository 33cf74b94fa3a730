// `sparsevec` input and output: text form, binary send/recv, typmod, and the
// casts to and from `vector` and arrays. Wire-compatible with pgvector 0.8.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "guard.h"
#include "sparsevec.h"
#include "vector.h"

extern "C" {
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
}

using vecgo::pg::CheckSparseDim;
using vecgo::pg::CheckSparseElement;
using vecgo::pg::CheckSparseExpectedDim;
using vecgo::pg::CheckSparseIndex;
using vecgo::pg::CheckSparseNnz;
using vecgo::pg::kSparseVecMaxNnz;
using vecgo::pg::NewSparseVec;
using vecgo::pg::Raise;
using vecgo::pg::SparseVec;
using vecgo::pg::SparseVecValues;
using vecgo::pg::Vector;

namespace {

// The characters PostgreSQL's scanner treats as whitespace (scanner_isspace).
inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

inline const char* SkipSpace(const char* p) {
  while (IsSpace(*p)) p++;
  return p;
}

// Errors that quote the user's input use ereport directly rather than Raise:
// the input may be far longer than an exception's fixed message buffer and
// must be reported whole. Nothing with a destructor is alive at these points.
[[noreturn]] void InvalidSyntax(const char* lit, const char* detail = nullptr) {
  if (detail != nullptr)
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("invalid input syntax for type sparsevec: \"%s\"", lit),
                    errdetail("%s", detail)));
  ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                  errmsg("invalid input syntax for type sparsevec: \"%s\"", lit)));
  pg_unreachable();
}

[[noreturn]] void OutOfRange(const char* start, const char* end) {
  ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                  errmsg("\"%s\" is out of range for type sparsevec",
                         pnstrdup(start, static_cast<Size>(end - start)))));
  pg_unreachable();
}

// An integer as strtol reads it (optional sign, decimal digits), clamped to
// [lo, INT_MAX] so that an overlong number still gets the range error of a
// large one. Returns false when there are no digits.
bool ParseInt(const char* p, const char** end, int32 lo, int32* out) {
  char* stop;
  long v = std::strtol(p, &stop, 10);
  if (stop == p) return false;
  *end = stop;
  if (v > INT_MAX) v = INT_MAX;
  if (v < lo) v = lo;
  *out = static_cast<int32>(v);
  return true;
}

// One element of a text literal, before sorting.
struct Element {
  int32 index;  // 0-based
  float value;
};

// Binary input is untrusted: a short payload is a data error (22P03), not a
// protocol violation, since it arrives inside a well-formed message.
void NeedBytes(StringInfo buf, int n) {
  if (buf->len - buf->cursor < n)
    Raise(ERRCODE_INVALID_BINARY_REPRESENTATION, "insufficient data left in message");
}

int32 GetInt32(StringInfo buf) {
  NeedBytes(buf, 4);
  return static_cast<int32>(pq_getmsgint(buf, 4));
}

}  // namespace

// sparsevec_in(cstring, oid, integer) -> sparsevec
//
// "{i:x,j:y,...}/dim" with 1-based indices in any order. Zero values are
// dropped; indices are validated after sorting (out of bounds, duplicates),
// and after the literal as a whole parsed and its dimension passed its checks.
VECGO_FUNCTION(sparsevec_in) {
  const char* lit = PG_GETARG_CSTRING(0);
  int32 typmod = PG_GETARG_INT32(2);

  // Every element but the first follows a comma: bound the element count
  // before parsing anything, as pgvector does (zeros included).
  long max_elements = 1;
  for (const char* c = lit; *c != '\0'; c++)
    if (*c == ',') max_elements++;
  if (max_elements > kSparseVecMaxNnz)
    Raise(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "sparsevec cannot have more than %d non-zero elements",
          kSparseVecMaxNnz);
  Element* elems = static_cast<Element*>(palloc(sizeof(Element) * max_elements));
  int nnz = 0;
  bool sorted = true;

  const char* p = SkipSpace(lit);
  if (*p != '{') InvalidSyntax(lit, "Vector contents must start with \"{\".");
  p = SkipSpace(p + 1);
  if (*p == '}') {
    p++;
  } else {
    for (;;) {
      p = SkipSpace(p);
      if (*p == '\0') InvalidSyntax(lit);
      int32 index;
      // The lower clamp keeps index - 1 representable.
      if (!ParseInt(p, &p, INT_MIN + 1, &index)) InvalidSyntax(lit);
      p = SkipSpace(p);
      if (*p != ':') InvalidSyntax(lit);
      p = SkipSpace(p + 1);

      // strtof, as float4in uses, rounds once from decimal to float; the
      // server runs with LC_NUMERIC=C. Underflow to zero is a range error.
      char* end;
      errno = 0;
      float value = std::strtof(p, &end);
      if (end == p) InvalidSyntax(lit);
      if (errno == ERANGE && (value == 0 || std::isinf(value))) OutOfRange(p, end);
      CheckSparseElement(value);
      if (value != 0) {
        if (nnz == max_elements) InvalidSyntax(lit);  // cannot happen; keeps writes in bounds
        if (nnz > 0 && index - 1 <= elems[nnz - 1].index) sorted = false;
        elems[nnz].index = index - 1;
        elems[nnz].value = value;
        nnz++;
      }

      p = SkipSpace(end);
      if (*p == ',') {
        p++;
      } else if (*p == '}') {
        p++;
        break;
      } else {
        InvalidSyntax(lit);
      }
    }
  }

  p = SkipSpace(p);
  if (*p != '/') InvalidSyntax(lit, "Unexpected end of input.");
  p = SkipSpace(p + 1);
  int32 dim;
  if (!ParseInt(p, &p, INT_MIN, &dim)) InvalidSyntax(lit);
  if (*SkipSpace(p) != '\0') InvalidSyntax(lit, "Junk after closing.");

  CheckSparseDim(dim);
  CheckSparseExpectedDim(typmod, dim);

  if (!sorted)
    std::sort(elems, elems + nnz,
              [](const Element& x, const Element& y) { return x.index < y.index; });
  SparseVec* result = NewSparseVec(dim, nnz);
  float* values = SparseVecValues(result);
  for (int i = 0; i < nnz; i++) {
    result->indices[i] = elems[i].index;
    values[i] = elems[i].value;
    CheckSparseIndex(result->indices, i, dim);
  }
  pfree(elems);
  PG_RETURN_SPARSEVEC_P(result);
}

// sparsevec_out(sparsevec) -> cstring: "{i:x,...}/dim", 1-based indices, each
// value the shortest decimal that reads back as the same float.
VECGO_FUNCTION(sparsevec_out) {
  SparseVec* v = PG_GETARG_SPARSEVEC_P(0);
  const float* values = SparseVecValues(v);
  // Per element: an index of at most 11 characters, ':', a value of at most
  // FLOAT_SHORTEST_DECIMAL_LEN - 1 characters and ','; then '{', '}', '/',
  // the dimension count (at most 11) and the terminator.
  char* buf = static_cast<char*>(
      palloc(static_cast<Size>(v->nnz) * (13 + FLOAT_SHORTEST_DECIMAL_LEN) + 16));
  char* out = buf;
  *out++ = '{';
  for (int i = 0; i < v->nnz; i++) {
    if (i > 0) *out++ = ',';
    out += pg_ltoa(v->indices[i] + 1, out);
    *out++ = ':';
    out += float_to_shortest_decimal_bufn(values[i], out);
  }
  *out++ = '}';
  *out++ = '/';
  out += pg_ltoa(v->dim, out);
  *out = '\0';
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_CSTRING(buf);
}

// sparsevec_typmod_in(cstring[]) -> integer
VECGO_FUNCTION(sparsevec_typmod_in) {
  ArrayType* ta = PG_GETARG_ARRAYTYPE_P(0);
  int n;
  int32* mods = ArrayGetIntegerTypmods(ta, &n);
  if (n != 1) Raise(ERRCODE_INVALID_PARAMETER_VALUE, "invalid type modifier");
  if (mods[0] < 1)
    Raise(ERRCODE_INVALID_PARAMETER_VALUE, "dimensions for type sparsevec must be at least 1");
  if (mods[0] > vecgo::pg::kSparseVecMaxDim)
    Raise(ERRCODE_INVALID_PARAMETER_VALUE, "dimensions for type sparsevec cannot exceed %d",
          vecgo::pg::kSparseVecMaxDim);
  PG_RETURN_INT32(mods[0]);
}

// sparsevec_recv(internal, oid, integer) -> sparsevec. Layout (network
// order): int32 dim, int32 nnz, int32 unused (must be 0), int32 index x nnz
// (0-based, ascending), float4 value x nnz (finite, non-zero).
VECGO_FUNCTION(sparsevec_recv) {
  StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
  int32 typmod = PG_GETARG_INT32(2);

  int32 dim = GetInt32(buf);
  int32 nnz = GetInt32(buf);
  int32 unused = GetInt32(buf);
  CheckSparseDim(dim);
  CheckSparseNnz(nnz, dim);
  CheckSparseExpectedDim(typmod, dim);
  if (unused != 0) Raise(ERRCODE_DATA_EXCEPTION, "expected unused to be 0, not %d", unused);

  SparseVec* result = NewSparseVec(dim, nnz);
  float* values = SparseVecValues(result);
  for (int i = 0; i < nnz; i++) {
    result->indices[i] = GetInt32(buf);
    CheckSparseIndex(result->indices, i, dim);
  }
  for (int i = 0; i < nnz; i++) {
    NeedBytes(buf, 4);
    values[i] = pq_getmsgfloat4(buf);
    CheckSparseElement(values[i]);
    if (values[i] == 0)
      Raise(ERRCODE_DATA_EXCEPTION,
            "binary representation of sparsevec cannot contain zero values");
  }
  PG_RETURN_SPARSEVEC_P(result);
}

// sparsevec_send(sparsevec) -> bytea
VECGO_FUNCTION(sparsevec_send) {
  SparseVec* v = PG_GETARG_SPARSEVEC_P(0);
  const float* values = SparseVecValues(v);
  StringInfoData buf;
  pq_begintypsend(&buf);
  pq_sendint32(&buf, static_cast<uint32>(v->dim));
  pq_sendint32(&buf, static_cast<uint32>(v->nnz));
  pq_sendint32(&buf, static_cast<uint32>(v->unused));
  for (int i = 0; i < v->nnz; i++) pq_sendint32(&buf, static_cast<uint32>(v->indices[i]));
  for (int i = 0; i < v->nnz; i++) pq_sendfloat4(&buf, values[i]);
  PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// sparsevec(sparsevec, integer, boolean) -> sparsevec: the length coercion
// that enforces sparsevec(n) on casts and assignments.
VECGO_FUNCTION(sparsevec) {
  SparseVec* v = PG_GETARG_SPARSEVEC_P(0);
  CheckSparseExpectedDim(PG_GETARG_INT32(1), v->dim);
  PG_RETURN_SPARSEVEC_P(v);
}

// vector_to_sparsevec(vector, integer, boolean) -> sparsevec: the non-zero
// elements (-0 counts as zero).
VECGO_FUNCTION(vector_to_sparsevec) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  int32 typmod = PG_GETARG_INT32(1);
  int dim = v->dim;
  CheckSparseDim(dim);
  CheckSparseExpectedDim(typmod, dim);

  int nnz = 0;
  for (int i = 0; i < dim; i++) nnz += v->x[i] != 0;
  CheckSparseNnz(nnz, dim);
  SparseVec* result = NewSparseVec(dim, nnz);
  float* values = SparseVecValues(result);
  int j = 0;
  for (int i = 0; i < dim; i++) {
    if (v->x[i] == 0) continue;
    result->indices[j] = i;
    values[j] = v->x[i];
    j++;
  }
  PG_RETURN_SPARSEVEC_P(result);
}

// sparsevec_to_vector(sparsevec, integer, boolean) -> vector: the dense form,
// within the vector type's 16000 dimensions.
VECGO_FUNCTION(sparsevec_to_vector) {
  SparseVec* v = PG_GETARG_SPARSEVEC_P(0);
  int32 typmod = PG_GETARG_INT32(1);
  vecgo::pg::CheckDim(v->dim);
  vecgo::pg::CheckExpectedDim(typmod, v->dim);
  Vector* result = vecgo::pg::NewVector(v->dim);
  vecgo::pg::SparseVecToFloats(v, result->x);
  PG_RETURN_VECTOR_P(result);
}

// array_to_sparsevec({integer,real,double precision,numeric}[], integer,
// boolean) -> sparsevec: the elements that are non-zero once converted to
// float.
VECGO_FUNCTION(array_to_sparsevec) {
  ArrayType* array = PG_GETARG_ARRAYTYPE_P(0);
  int32 typmod = PG_GETARG_INT32(1);

  if (ARR_NDIM(array) > 1) Raise(ERRCODE_DATA_EXCEPTION, "array must be 1-D");
  if (ARR_HASNULL(array) && array_contains_nulls(array))
    Raise(ERRCODE_NULL_VALUE_NOT_ALLOWED, "array must not contain nulls");

  Oid elemtype = ARR_ELEMTYPE(array);
  if (elemtype != INT4OID && elemtype != FLOAT4OID && elemtype != FLOAT8OID &&
      elemtype != NUMERICOID)
    Raise(ERRCODE_DATA_EXCEPTION, "unsupported array type");

  int16 typlen;
  bool typbyval;
  char typalign;
  get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
  Datum* elems;
  int n;
  deconstruct_array(array, elemtype, typlen, typbyval, typalign, &elems, nullptr, &n);

  CheckSparseDim(n);
  CheckSparseExpectedDim(typmod, n);

  // Convert every element first (a numeric out of float's range is an error
  // of its own), then count the non-zeros.
  float* x = static_cast<float*>(palloc(sizeof(float) * static_cast<Size>(n)));
  for (int i = 0; i < n; i++) {
    switch (elemtype) {
      case INT4OID:
        x[i] = static_cast<float>(DatumGetInt32(elems[i]));
        break;
      case FLOAT4OID:
        x[i] = DatumGetFloat4(elems[i]);
        break;
      case FLOAT8OID:
        x[i] = static_cast<float>(DatumGetFloat8(elems[i]));
        break;
      default:  // NUMERICOID; out-of-range values raise float4's own error
        x[i] = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elems[i]));
        break;
    }
  }
  pfree(elems);

  int nnz = 0;
  for (int i = 0; i < n; i++) nnz += x[i] != 0;  // NaN counts as non-zero
  CheckSparseNnz(nnz, n);
  SparseVec* result = NewSparseVec(n, nnz);
  float* values = SparseVecValues(result);
  int j = 0;
  for (int i = 0; i < n; i++) {
    if (x[i] == 0) continue;
    result->indices[j] = i;
    values[j] = x[i];
    j++;
  }
  pfree(x);
  for (int i = 0; i < nnz; i++) CheckSparseElement(values[i]);
  PG_RETURN_SPARSEVEC_P(result);
}
