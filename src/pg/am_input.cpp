// What the index reads from a column value: every indexed kind becomes a
// float32 vector, so the tiers, graphs and kernels are the same for all.
//
//   vector     the floats themselves (no copy)
//   halfvec    each half widened to float (exact); a DiskANN segment stores
//              its node vectors as halves again (VamanaParams::half_vectors)
//   sparsevec  the dense vector (zeros where no element is stored)
//   bit        one float per bit, 1 or 0: squared L2 between two such
//              vectors is the Hamming distance, and the dot products give
//              the Jaccard distance, exactly
//
// A value the index cannot hold (more than kMaxDim dimensions, which a
// sparsevec or bit string may have) is refused with the limit in the message.
#include <algorithm>

#include "am.h"
#include "guard.h"
#include "halfvec.h"
#include "sparsevec.h"
#include "vector.h"
#include "vecgo/core.h"

extern "C" {
#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "utils/syscache.h"
#include "utils/varbit.h"
}

namespace vecgo::pg {

IndexElem ElemOfIndex(Relation index) {
  const Oid type = TupleDescAttr(RelationGetDescr(index), 0)->atttypid;
  if (type == BITOID || type == VARBITOID) return kElemBit;
  HeapTuple tuple = SearchSysCache1(TYPEOID, ObjectIdGetDatum(type));
  if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for type %u", type);
  const char* name = NameStr(reinterpret_cast<Form_pg_type>(GETSTRUCT(tuple))->typname);
  IndexElem elem = kElemVector;
  if (strcmp(name, "halfvec") == 0)
    elem = kElemHalfvec;
  else if (strcmp(name, "sparsevec") == 0)
    elem = kElemSparsevec;
  ReleaseSysCache(tuple);
  return elem;
}

const char* ElemTypeName(IndexElem elem) {
  switch (elem) {
    case kElemVector:
      return "vector";
    case kElemHalfvec:
      return "halfvec";
    case kElemSparsevec:
      return "sparsevec";
    case kElemBit:
      return "bit";
  }
  return "vector";
}

void CheckIndexableDims(IndexElem elem, int64 dims) {
  if (dims <= static_cast<int64>(vecgo::kMaxDim)) return;
  if (elem == kElemSparsevec)
    ereport(ERROR,
            (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
             errmsg("vecgo indexes sparsevec values of at most %d dimensions, not " INT64_FORMAT,
                    static_cast<int>(vecgo::kMaxDim), dims),
             errdetail("The index holds each sparse vector in its dense form."),
             errhint("Search such a column without an index, or reduce its dimensions.")));
  if (elem == kElemBit)
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("vecgo indexes bit strings of at most %d bits, not " INT64_FORMAT,
                           static_cast<int>(vecgo::kMaxDim), dims),
                    errhint("Index fewer bits, for example a substring of the bit string.")));
  ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                  errmsg("vecgo indexes %s values of at most %d dimensions, not " INT64_FORMAT,
                         ElemTypeName(elem), static_cast<int>(vecgo::kMaxDim), dims)));
}

namespace {

const float* BitInput(Datum value, int* dims) {
  VarBit* v = DatumGetVarBitP(value);
  const int64 nbits = VARBITLEN(v);
  CheckIndexableDims(kElemBit, nbits);
  float* out = static_cast<float*>(palloc(sizeof(float) * std::max<int64>(nbits, 1)));
  const bits8* bytes = VARBITS(v);
  for (int64 i = 0; i < nbits; i++) out[i] = (bytes[i / 8] >> (7 - i % 8)) & 1 ? 1.0f : 0.0f;
  *dims = static_cast<int>(nbits);
  return out;
}

const float* HalfInput(Datum value, int* dims) {
  const HalfVec* v = DatumGetHalfVec(value);
  float* out = static_cast<float*>(palloc(sizeof(float) * std::max<int>(v->dim, 1)));
  HalfVecToFloats(v, out);
  *dims = v->dim;
  return out;
}

const float* SparseInput(Datum value, int* dims) {
  const SparseVec* v = DatumGetSparseVec(value);
  CheckIndexableDims(kElemSparsevec, v->dim);
  float* out = static_cast<float*>(palloc(sizeof(float) * std::max(v->dim, 1)));
  SparseVecToFloats(v, out);
  *dims = v->dim;
  return out;
}

}  // namespace

const float* IndexInput(IndexElem elem, Datum value, int* dims) {
  switch (elem) {
    case kElemVector: {
      const Vector* v = DatumGetVector(value);
      *dims = v->dim;
      return v->x;
    }
    case kElemBit:
      return BitInput(value, dims);
    case kElemSparsevec:
      return SparseInput(value, dims);
    case kElemHalfvec:
      return HalfInput(value, dims);
  }
  return nullptr;
}

}  // namespace vecgo::pg
