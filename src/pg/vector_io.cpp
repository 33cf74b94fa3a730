// `vector` input and output: text form, binary send/recv, typmod, and the
// casts to and from arrays. Wire-compatible with pgvector.
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "guard.h"
#include "vector.h"

extern "C" {
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
}

using vecgo::pg::CheckDim;
using vecgo::pg::CheckElement;
using vecgo::pg::CheckExpectedDim;
using vecgo::pg::NewVector;
using vecgo::pg::Raise;
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
[[noreturn]] void InvalidSyntax(const char* lit, const char* detail) {
  if (detail != nullptr)
    ereport(ERROR,
            (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
             errmsg("invalid input syntax for type vector: \"%s\"", lit), errdetail("%s", detail)));
  ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                  errmsg("invalid input syntax for type vector: \"%s\"", lit)));
  pg_unreachable();
}

[[noreturn]] void OutOfRange(const char* start, const char* end) {
  ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                  errmsg("\"%s\" is out of range for type vector",
                         pnstrdup(start, static_cast<Size>(end - start)))));
  pg_unreachable();
}

// An upper bound on the number of elements a well-formed literal can hold:
// elements are separated by exactly one comma each.
int MaxElements(const char* lit) {
  long commas = 0;
  for (const char* p = lit; *p != '\0'; p++)
    if (*p == ',') commas++;
  return commas + 1 > vecgo::pg::kVectorMaxDim ? vecgo::pg::kVectorMaxDim
                                               : static_cast<int>(commas + 1);
}

// Binary input is untrusted: a short payload is a data error (22P03), not a
// protocol violation, since it arrives inside a well-formed message.
void NeedBytes(StringInfo buf, int n) {
  if (buf->len - buf->cursor < n)
    Raise(ERRCODE_INVALID_BINARY_REPRESENTATION, "insufficient data left in message");
}

}  // namespace

// vector_in(cstring, oid, integer) -> vector
VECGO_FUNCTION(vector_in) {
  const char* lit = PG_GETARG_CSTRING(0);
  int32 typmod = PG_GETARG_INT32(2);

  const char* p = SkipSpace(lit);
  if (*p != '[') InvalidSyntax(lit, "Vector contents must start with \"[\".");
  p = SkipSpace(p + 1);
  if (*p == ']') Raise(ERRCODE_DATA_EXCEPTION, "vector must have at least 1 dimension");

  int capacity = MaxElements(p);
  Vector* result = NewVector(capacity);
  int dim = 0;
  for (;;) {
    if (dim == vecgo::pg::kVectorMaxDim)
      Raise(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "vector cannot have more than %d dimensions",
            vecgo::pg::kVectorMaxDim);
    p = SkipSpace(p);
    if (*p == '\0') InvalidSyntax(lit, nullptr);

    // strtof, as float4in uses, rounds once from decimal to float. The server
    // runs with LC_NUMERIC=C.
    char* end;
    errno = 0;
    float value = std::strtof(p, &end);
    if (end == p) InvalidSyntax(lit, nullptr);
    if (errno == ERANGE && std::isinf(value)) OutOfRange(p, end);
    CheckElement(value);
    if (dim == capacity) InvalidSyntax(lit, nullptr);  // cannot happen; keeps writes in bounds
    result->x[dim++] = value;

    p = SkipSpace(end);
    if (*p == ',') {
      p++;
    } else if (*p == ']') {
      p++;
      break;
    } else {
      InvalidSyntax(lit, nullptr);
    }
  }
  if (*SkipSpace(p) != '\0') InvalidSyntax(lit, "Junk after closing right brace.");

  CheckDim(dim);
  CheckExpectedDim(typmod, dim);
  // The buffer was sized for the most elements the literal could hold.
  SET_VARSIZE(result, vecgo::pg::VectorSize(dim));
  result->dim = static_cast<int16>(dim);
  PG_RETURN_VECTOR_P(result);
}

// vector_out(vector) -> cstring: "[x1,x2,...]", each the shortest decimal
// that reads back as the same float.
VECGO_FUNCTION(vector_out) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  int dim = v->dim;
  // Each element needs at most FLOAT_SHORTEST_DECIMAL_LEN - 1 characters plus
  // a separator; then '[', ']' and the terminator.
  char* buf = static_cast<char*>(palloc(static_cast<Size>(dim) * FLOAT_SHORTEST_DECIMAL_LEN + 3));
  char* out = buf;
  *out++ = '[';
  for (int i = 0; i < dim; i++) {
    if (i > 0) *out++ = ',';
    out += float_to_shortest_decimal_bufn(v->x[i], out);
  }
  *out++ = ']';
  *out = '\0';
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_CSTRING(buf);
}

// vector_typmod_in(cstring[]) -> integer
VECGO_FUNCTION(vector_typmod_in) {
  ArrayType* ta = PG_GETARG_ARRAYTYPE_P(0);
  int n;
  int32* mods = ArrayGetIntegerTypmods(ta, &n);
  if (n != 1) Raise(ERRCODE_INVALID_PARAMETER_VALUE, "invalid type modifier");
  if (mods[0] < 1)
    Raise(ERRCODE_INVALID_PARAMETER_VALUE, "dimensions for type vector must be at least 1");
  if (mods[0] > vecgo::pg::kVectorMaxDim)
    Raise(ERRCODE_INVALID_PARAMETER_VALUE, "dimensions for type vector cannot exceed %d",
          vecgo::pg::kVectorMaxDim);
  PG_RETURN_INT32(mods[0]);
}

// vector_recv(internal, oid, integer) -> vector. Layout (network order):
// uint16 dim, uint16 unused (must be 0), float4 x dim.
VECGO_FUNCTION(vector_recv) {
  StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
  int32 typmod = PG_GETARG_INT32(2);

  NeedBytes(buf, 4);
  int dim = static_cast<int>(pq_getmsgint(buf, sizeof(int16)));
  int unused = static_cast<int>(pq_getmsgint(buf, sizeof(int16)));
  CheckDim(dim);
  CheckExpectedDim(typmod, dim);
  if (unused != 0) Raise(ERRCODE_DATA_EXCEPTION, "expected unused to be 0, not %d", unused);

  Vector* result = NewVector(dim);
  for (int i = 0; i < dim; i++) {
    NeedBytes(buf, 4);
    result->x[i] = pq_getmsgfloat4(buf);
    CheckElement(result->x[i]);
  }
  PG_RETURN_VECTOR_P(result);
}

// vector_send(vector) -> bytea
VECGO_FUNCTION(vector_send) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  StringInfoData buf;
  pq_begintypsend(&buf);
  pq_sendint16(&buf, static_cast<uint16>(v->dim));
  pq_sendint16(&buf, static_cast<uint16>(v->unused));
  for (int i = 0; i < v->dim; i++) pq_sendfloat4(&buf, v->x[i]);
  PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// vector(vector, integer, boolean) -> vector: the length coercion that
// enforces vector(n) on casts and assignments.
VECGO_FUNCTION(vector) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  CheckExpectedDim(PG_GETARG_INT32(1), v->dim);
  PG_RETURN_VECTOR_P(v);
}

// array_to_vector({integer,real,double precision,numeric}[], integer, boolean)
VECGO_FUNCTION(array_to_vector) {
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

  CheckDim(n);
  CheckExpectedDim(typmod, n);

  Vector* result = NewVector(n);
  for (int i = 0; i < n; i++) {
    switch (elemtype) {
      case INT4OID:
        result->x[i] = static_cast<float>(DatumGetInt32(elems[i]));
        break;
      case FLOAT4OID:
        result->x[i] = DatumGetFloat4(elems[i]);
        break;
      case FLOAT8OID:
        result->x[i] = static_cast<float>(DatumGetFloat8(elems[i]));
        break;
      default:  // NUMERICOID; out-of-range values raise float4's own error
        result->x[i] = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elems[i]));
        break;
    }
  }
  pfree(elems);
  for (int i = 0; i < n; i++) CheckElement(result->x[i]);
  PG_RETURN_VECTOR_P(result);
}

// vector_to_float4(vector, integer, boolean) -> real[]
VECGO_FUNCTION(vector_to_float4) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * static_cast<Size>(v->dim)));
  for (int i = 0; i < v->dim; i++) datums[i] = Float4GetDatum(v->x[i]);
  ArrayType* result =
      construct_array(datums, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
  pfree(datums);
  PG_RETURN_ARRAYTYPE_P(result);
}

// vector_to_float8(vector, integer, boolean) -> double precision[]
// (an explicit cast pgvector lacks; exact, since every float is a double).
VECGO_FUNCTION(vector_to_float8) {
  Vector* v = PG_GETARG_VECTOR_P(0);
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * static_cast<Size>(v->dim)));
  for (int i = 0; i < v->dim; i++) datums[i] = Float8GetDatum(static_cast<double>(v->x[i]));
  ArrayType* result =
      construct_array(datums, v->dim, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE);
  pfree(datums);
  PG_RETURN_ARRAYTYPE_P(result);
}
