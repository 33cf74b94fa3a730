// `halfvec` input and output: text form, binary send/recv, typmod, and the
// casts to and from vector and arrays. Wire-compatible with pgvector.
//
// Text input reads each element as a float (strtof, as float4in does) and
// narrows it to the nearest half; text output prints each half widened to
// float, as the shortest decimal that reads back as that float. A half's
// float is exact, so output then input gives back the same half.
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "guard.h"
#include "halfvec.h"
#include "vector.h"

extern "C" {
#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
}

using vecgo::pg::CheckedFloatToHalf;
using vecgo::pg::CheckExpectedDim;
using vecgo::pg::CheckHalfDim;
using vecgo::pg::CheckHalfElement;
using vecgo::pg::half_bits;
using vecgo::pg::HalfIsInf;
using vecgo::pg::HalfVec;
using vecgo::pg::kHalfVecMaxDim;
using vecgo::pg::NewHalfVec;
using vecgo::pg::Raise;

namespace {

// The characters PostgreSQL's scanner treats as whitespace (scanner_isspace).
inline bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

inline const char* SkipSpace(const char* p) {
  while (IsSpace(*p)) p++;
  return p;
}

// Errors that quote the user's input use ereport directly (the input may be
// longer than an exception's message buffer). Nothing with a destructor is
// alive at these points.
[[noreturn]] void InvalidSyntax(const char* lit, const char* detail) {
  if (detail != nullptr)
    ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                    errmsg("invalid input syntax for type halfvec: \"%s\"", lit),
                    errdetail("%s", detail)));
  ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
                  errmsg("invalid input syntax for type halfvec: \"%s\"", lit)));
  pg_unreachable();
}

[[noreturn]] void OutOfRange(const char* start, const char* end) {
  ereport(ERROR, (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
                  errmsg("\"%s\" is out of range for type halfvec",
                         pnstrdup(start, static_cast<Size>(end - start)))));
  pg_unreachable();
}

// An upper bound on the number of elements a well-formed literal can hold.
int MaxElements(const char* lit) {
  long commas = 0;
  for (const char* p = lit; *p != '\0'; p++)
    if (*p == ',') commas++;
  return commas + 1 > kHalfVecMaxDim ? kHalfVecMaxDim : static_cast<int>(commas + 1);
}

void NeedBytes(StringInfo buf, int n) {
  if (buf->len - buf->cursor < n)
    Raise(ERRCODE_INVALID_BINARY_REPRESENTATION, "insufficient data left in message");
}

// A palloc'd array of the vector's elements widened to float.
float* Floats(const HalfVec* v) {
  float* f = static_cast<float*>(palloc(sizeof(float) * static_cast<Size>(v->dim)));
  vecgo::pg::HalfVecToFloats(v, f);
  return f;
}

}  // namespace

// halfvec_in(cstring, oid, integer) -> halfvec
VECGO_FUNCTION(halfvec_in) {
  const char* lit = PG_GETARG_CSTRING(0);
  int32 typmod = PG_GETARG_INT32(2);

  const char* p = SkipSpace(lit);
  if (*p != '[') InvalidSyntax(lit, "Vector contents must start with \"[\".");
  p = SkipSpace(p + 1);
  if (*p == ']') Raise(ERRCODE_DATA_EXCEPTION, "halfvec must have at least 1 dimension");

  int capacity = MaxElements(p);
  HalfVec* result = NewHalfVec(capacity);
  int dim = 0;
  for (;;) {
    if (dim == kHalfVecMaxDim)
      Raise(ERRCODE_PROGRAM_LIMIT_EXCEEDED, "halfvec cannot have more than %d dimensions",
            kHalfVecMaxDim);
    p = SkipSpace(p);
    if (*p == '\0') InvalidSyntax(lit, nullptr);

    // Decimal to float (rounded once, as float4in), then float to half.
    char* end;
    errno = 0;
    float value = std::strtof(p, &end);
    if (end == p) InvalidSyntax(lit, nullptr);
    half_bits h = vecgo::pg::FloatToHalf(value);
    // Beyond the float range, or a finite float beyond the half range.
    if ((errno == ERANGE && std::isinf(value)) || (HalfIsInf(h) && !std::isinf(value)))
      OutOfRange(p, end);
    CheckHalfElement(h);
    if (dim == capacity) InvalidSyntax(lit, nullptr);  // cannot happen; keeps writes in bounds
    result->x[dim++] = h;

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

  CheckHalfDim(dim);
  CheckExpectedDim(typmod, dim);
  SET_VARSIZE(result, vecgo::pg::HalfVecSize(dim));
  result->dim = static_cast<int16>(dim);
  PG_RETURN_HALFVEC_P(result);
}

// halfvec_out(halfvec) -> cstring: "[x1,x2,...]", each element's float as
// the shortest decimal that reads back as it.
VECGO_FUNCTION(halfvec_out) {
  HalfVec* v = PG_GETARG_HALFVEC_P(0);
  int dim = v->dim;
  float* f = Floats(v);
  char* buf = static_cast<char*>(palloc(static_cast<Size>(dim) * FLOAT_SHORTEST_DECIMAL_LEN + 3));
  char* out = buf;
  *out++ = '[';
  for (int i = 0; i < dim; i++) {
    if (i > 0) *out++ = ',';
    out += float_to_shortest_decimal_bufn(f[i], out);
  }
  *out++ = ']';
  *out = '\0';
  pfree(f);
  PG_FREE_IF_COPY(v, 0);
  PG_RETURN_CSTRING(buf);
}

// halfvec_typmod_in(cstring[]) -> integer
VECGO_FUNCTION(halfvec_typmod_in) {
  ArrayType* ta = PG_GETARG_ARRAYTYPE_P(0);
  int n;
  int32* mods = ArrayGetIntegerTypmods(ta, &n);
  if (n != 1) Raise(ERRCODE_INVALID_PARAMETER_VALUE, "invalid type modifier");
  if (mods[0] < 1)
    Raise(ERRCODE_INVALID_PARAMETER_VALUE, "dimensions for type halfvec must be at least 1");
  if (mods[0] > kHalfVecMaxDim)
    Raise(ERRCODE_INVALID_PARAMETER_VALUE, "dimensions for type halfvec cannot exceed %d",
          kHalfVecMaxDim);
  PG_RETURN_INT32(mods[0]);
}

// halfvec_recv(internal, oid, integer) -> halfvec. Layout (network order):
// uint16 dim, uint16 unused (must be 0), then dim binary16 bit patterns.
VECGO_FUNCTION(halfvec_recv) {
  StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
  int32 typmod = PG_GETARG_INT32(2);

  NeedBytes(buf, 4);
  int dim = static_cast<int>(pq_getmsgint(buf, sizeof(int16)));
  int unused = static_cast<int>(pq_getmsgint(buf, sizeof(int16)));
  CheckHalfDim(dim);
  CheckExpectedDim(typmod, dim);
  if (unused != 0) Raise(ERRCODE_DATA_EXCEPTION, "expected unused to be 0, not %d", unused);

  HalfVec* result = NewHalfVec(dim);
  for (int i = 0; i < dim; i++) {
    NeedBytes(buf, 2);
    result->x[i] = static_cast<half_bits>(pq_getmsgint(buf, sizeof(int16)));
    CheckHalfElement(result->x[i]);
  }
  PG_RETURN_HALFVEC_P(result);
}

// halfvec_send(halfvec) -> bytea
VECGO_FUNCTION(halfvec_send) {
  HalfVec* v = PG_GETARG_HALFVEC_P(0);
  StringInfoData buf;
  pq_begintypsend(&buf);
  pq_sendint16(&buf, static_cast<uint16>(v->dim));
  pq_sendint16(&buf, static_cast<uint16>(v->unused));
  for (int i = 0; i < v->dim; i++) pq_sendint16(&buf, v->x[i]);
  PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

// halfvec(halfvec, integer, boolean) -> halfvec: the length coercion that
// enforces halfvec(n) on casts and assignments.
VECGO_FUNCTION(halfvec) {
  HalfVec* v = PG_GETARG_HALFVEC_P(0);
  CheckExpectedDim(PG_GETARG_INT32(1), v->dim);
  PG_RETURN_HALFVEC_P(v);
}

// array_to_halfvec({integer,real,double precision,numeric}[], integer, boolean)
// Each element goes to float first (as the vector cast does), then to half.
VECGO_FUNCTION(array_to_halfvec) {
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

  CheckHalfDim(n);
  CheckExpectedDim(typmod, n);

  HalfVec* result = NewHalfVec(n);
  for (int i = 0; i < n; i++) {
    float f;
    switch (elemtype) {
      case INT4OID:
        f = static_cast<float>(DatumGetInt32(elems[i]));
        break;
      case FLOAT4OID:
        f = DatumGetFloat4(elems[i]);
        break;
      case FLOAT8OID:
        f = static_cast<float>(DatumGetFloat8(elems[i]));
        break;
      default:  // NUMERICOID; out-of-range values raise float4's own error
        f = DatumGetFloat4(DirectFunctionCall1(numeric_float4, elems[i]));
        break;
    }
    result->x[i] = CheckedFloatToHalf(f);
  }
  pfree(elems);
  for (int i = 0; i < n; i++) CheckHalfElement(result->x[i]);
  PG_RETURN_HALFVEC_P(result);
}

// halfvec_to_float4(halfvec, integer, boolean) -> real[]
VECGO_FUNCTION(halfvec_to_float4) {
  HalfVec* v = PG_GETARG_HALFVEC_P(0);
  float* f = Floats(v);
  Datum* datums = static_cast<Datum*>(palloc(sizeof(Datum) * static_cast<Size>(v->dim)));
  for (int i = 0; i < v->dim; i++) datums[i] = Float4GetDatum(f[i]);
  ArrayType* result =
      construct_array(datums, v->dim, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
  pfree(datums);
  pfree(f);
  PG_RETURN_ARRAYTYPE_P(result);
}

// halfvec_to_vector(halfvec, integer, boolean) -> vector (exact)
VECGO_FUNCTION(halfvec_to_vector) {
  HalfVec* v = PG_GETARG_HALFVEC_P(0);
  int32 typmod = PG_GETARG_INT32(1);
  vecgo::pg::CheckDim(v->dim);
  CheckExpectedDim(typmod, v->dim);
  vecgo::pg::Vector* result = vecgo::pg::NewVector(v->dim);
  vecgo::pg::HalfVecToFloats(v, result->x);
  PG_RETURN_VECTOR_P(result);
}

// vector_to_halfvec(vector, integer, boolean) -> halfvec: each element
// rounded to the nearest half; one beyond the half range is an error.
VECGO_FUNCTION(vector_to_halfvec) {
  vecgo::pg::Vector* v = PG_GETARG_VECTOR_P(0);
  int32 typmod = PG_GETARG_INT32(1);
  CheckHalfDim(v->dim);
  CheckExpectedDim(typmod, v->dim);
  HalfVec* result = NewHalfVec(v->dim);
  vecgo::pg::FloatsToHalves(v->x, result->x, static_cast<std::size_t>(v->dim));
  for (int i = 0; i < v->dim; i++)
    if (HalfIsInf(result->x[i])) CheckedFloatToHalf(v->x[i]);  // raises with the value
  PG_RETURN_HALFVEC_P(result);
}
