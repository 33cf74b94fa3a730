// The registry of tier kinds, and the one place that decides what kind of
// segment a set of rows becomes.
//
// Flat costs an exact scan of every row per query; a DiskANN graph costs a
// build but answers from a few hundred node visits. A segment is a graph
// when its exact scan would cost enough (GraphMinRows, am.h) and its build
// fits maintenance_work_mem.
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "guard.h"
#include "am.h"

namespace vecgo::pg {

const TierOps& TierOpsOf(Relation index, uint8 kind) {
  switch (kind) {
    case kSegmentFlat: return kFlatTierOps;
    case kSegmentDiskANN: return kDiskAnnTierOps;
  }
  RaiseWithHint(ERRCODE_INDEX_CORRUPTED, "REINDEX the index.",
                "vecgo index \"%s\" lists a segment of unknown kind %u",
                RelationGetRelationName(index), static_cast<unsigned>(kind));
}

void RaiseSegmentCorrupt(Relation index, uint32 segment_id, const char* fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof(what), fmt, ap);
  va_end(ap);
  Raise(ERRCODE_INDEX_CORRUPTED, "vecgo index \"%s\" is corrupted: segment %u: %s",
        RelationGetRelationName(index), segment_id, what);
}

void RaiseSegmentError(Relation index, uint32 segment_id, const vecgo::Error& err) {
  int code = ERRCODE_INTERNAL_ERROR;
  switch (err.kind()) {
    case vecgo::Error::Kind::DataCorrupted: code = ERRCODE_INDEX_CORRUPTED; break;
    case vecgo::Error::Kind::OutOfMemory: code = ERRCODE_OUT_OF_MEMORY; break;
    case vecgo::Error::Kind::InvalidArgument: code = ERRCODE_INVALID_PARAMETER_VALUE; break;
    case vecgo::Error::Kind::FeatureNotSupported: code = ERRCODE_FEATURE_NOT_SUPPORTED; break;
    case vecgo::Error::Kind::Internal: break;
  }
  if (code == ERRCODE_INDEX_CORRUPTED)
    Raise(code, "vecgo index \"%s\" is corrupted: segment %u: %s", RelationGetRelationName(index), segment_id,
          err.what());
  Raise(code, "vecgo index \"%s\", segment %u: %s", RelationGetRelationName(index), segment_id, err.what());
}

uint64 GraphMinRows(const MetaData& meta) {
  if (!MetricHasGraphs(meta.metric)) return UINT64_MAX;
  if (meta.options.diskann_threshold > 0) return static_cast<uint64>(meta.options.diskann_threshold);
  const uint64 dims = static_cast<uint64>(std::max(meta.dims, 1));
  return std::max(kMinGraphRows, (kGraphMinFloats + dims - 1) / dims);
}

void WriteSegment(Relation index, const MetaData* meta, uint32 id, const char* records, Size nrecords,
                  SegmentEntry* e) {
  if (SegmentWantsGraph(*meta, nrecords) && nrecords <= DiskAnnMaxRows(meta, DiskAnnBudgetBytes())) {
    InSegment(index, id, [&]() { WriteDiskAnnSegment(index, meta, id, records, nrecords, e); });
    return;
  }
  WriteFlatSegment(index, id, records, nrecords, RecordSize(meta->dims), e);
}

}  // namespace vecgo::pg
