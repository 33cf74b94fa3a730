// Build and insert.
//
// CREATE INDEX reads the heap once, gathering (TID, vector) records in memory
// up to maintenance_work_mem (records and the graph build together, when the
// segment is a DiskANN one); each full buffer becomes one segment through
// WriteSegment, which chooses its kind. The index then gets an empty L0 log.
// Pages are written through generic WAL as full images, so the build is
// crash-safe and replicated like any later change.
//
// aminsert appends the record to the L0 log (am_l0.cpp) and seals the log
// when it has reached memtable_size.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "vecgo/core.h"
#include "guard.h"
#include "am.h"
#include "vector.h"

extern "C" {
#include "access/tableam.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/lsyscache.h"
}

namespace vecgo::pg {

namespace {

uint8 MetricOfIndex(Relation index) {
  Oid proc = index_getprocid(index, 1, 1);
  char* name = get_func_name(proc);
  if (name == nullptr)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_FUNCTION),
                    errmsg("vecgo operator class has no distance function")));
  uint8 metric;
  // Hamming between bit strings is squared L2 between their 0/1 vectors.
  if (strcmp(name, "vector_l2_squared_distance") == 0 || strcmp(name, "l2_distance") == 0 ||
      strcmp(name, "halfvec_l2_squared_distance") == 0 ||
      strcmp(name, "sparsevec_l2_squared_distance") == 0 || strcmp(name, "hamming_distance") == 0)
    metric = static_cast<uint8>(Metric::L2);
  else if (strcmp(name, "vector_negative_inner_product") == 0 ||
           strcmp(name, "halfvec_negative_inner_product") == 0 ||
           strcmp(name, "sparsevec_negative_inner_product") == 0)
    metric = static_cast<uint8>(Metric::IP);
  else if (strcmp(name, "cosine_distance") == 0 || strcmp(name, "vector_spherical_distance") == 0)
    metric = static_cast<uint8>(Metric::Cosine);
  else if (strcmp(name, "l1_distance") == 0)
    metric = static_cast<uint8>(Metric::L1);
  else if (strcmp(name, "jaccard_distance") == 0)
    metric = kMetricJaccard;
  else
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("vecgo does not support distance function %s", name)));
  return metric;
}

int DimsOfIndex(Relation index) {
  int32 typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
  return typmod > 0 ? typmod : 0;
}

void CheckRowDims(Relation index, int index_dims, int dims) {
  if (index_dims != 0 && dims != index_dims)
    ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                    errmsg("expected %d dimensions, not %d", index_dims, dims),
                    errdetail("Index \"%s\" holds %d-dimensional vectors.",
                              RelationGetRelationName(index), index_dims)));
}

void InitMeta(MetaData* meta, Relation index) {
  std::memset(meta, 0, sizeof(MetaData));
  meta->magic = kMagic;
  meta->version = kFormatVersion;
  meta->dims = DimsOfIndex(index);
  meta->metric = MetricOfIndex(index);
  meta->elem = ElemOfIndex(index);
  CheckIndexableDims(static_cast<IndexElem>(meta->elem), meta->dims);
  meta->options = OptionsFromRelation(index);
  meta->next_segment_id = 1;
  meta->l0_head = InvalidBlockNumber;
}

struct BuildState {
  Relation index;
  MetaData* meta;
  Size record_size;
  char* buf;          // records gathered in memory
  Size cap_records;   // maintenance_work_mem / record_size
  Size alloc_records; // records the buffer has room for now
  Size nrecords;
  double indtuples;
  double reltuples;
  double estimated_rows;  // the heap's row estimate (pg_class), 0 if unknown
  MemoryContext row_ctx;  // one row's conversion (IndexInput), reset after each
};

// Sizes the in-memory buffer (one segment) within maintenance_work_mem: the
// records alone for a Flat segment; records and graph build together when a
// segment of that size is a DiskANN one. When not even GraphMinRows
// rows fit a DiskANN build, segments are Flat (max_diskann_rows says so).
void SetBuildCap(BuildState* bs) {
  bs->record_size = RecordSize(bs->meta->dims);
  Size budget = DiskAnnBudgetBytes();
  bs->cap_records = std::max(static_cast<Size>(1), budget / bs->record_size);
  Size threshold = static_cast<Size>(GraphMinRows(*bs->meta));
  if (bs->cap_records >= threshold) {
    Size max_diskann_rows = DiskAnnMaxRows(bs->meta, budget);
    if (max_diskann_rows >= threshold) bs->cap_records = std::min(bs->cap_records, max_diskann_rows);
  }
  // When the table needs several segments, make them about equal (with 5%
  // slack for the estimate) rather than full ones and a small remainder that
  // would fall below graph size and be searched exactly.
  if (bs->estimated_rows > static_cast<double>(bs->cap_records)) {
    double parts = std::ceil(bs->estimated_rows / static_cast<double>(bs->cap_records));
    Size even = static_cast<Size>(std::ceil(bs->estimated_rows * 1.05 / parts));
    bs->cap_records = std::max(static_cast<Size>(1), std::min(bs->cap_records, even));
  }
}

void FlushBuildBuffer(BuildState* bs) {
  if (bs->nrecords == 0) return;
  MetaData* meta = bs->meta;
  if (meta->nsegments >= static_cast<uint32>(kMaxSegments))
    ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                    errmsg("vecgo index \"%s\" would need more than %d segments",
                           RelationGetRelationName(bs->index), kMaxSegments),
                    errhint("Increase maintenance_work_mem.")));
  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, 3);
  uint32 id = meta->next_segment_id++;
  // Called from the table AM's scan callback: no C++ exception may leave.
  SegmentEntry* e = &meta->segments[meta->nsegments];
  Guard([&]() { WriteSegment(bs->index, meta, id, bs->buf, bs->nrecords, e); });
  meta->nsegments++;
  bs->nrecords = 0;
  // Back to loading (a graph build's row counts are not the table's).
  const int index[] = {PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_CREATEIDX_TUPLES_TOTAL,
                       PROGRESS_CREATEIDX_TUPLES_DONE};
  const int64 value[] = {2, 0, static_cast<int64>(bs->indtuples)};
  if (e->kind == kSegmentFlat)
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, 2);
  else
    pgstat_progress_update_multi_param(3, index, value);
}

// Called by the table AM for every heap tuple (from C frames: no C++
// exceptions may leave it, and it keeps no objects with destructors).
void BuildCallback(Relation index, ItemPointer tid, Datum* values, bool* isnull,
                   bool tuple_is_alive, void* state) {
  (void)tuple_is_alive;
  BuildState* bs = static_cast<BuildState*>(state);
  bs->reltuples += 1;
  if (isnull[0]) return;
  MemoryContext old = MemoryContextSwitchTo(bs->row_ctx);
  int dim = 0;
  const float* x = IndexInput(static_cast<IndexElem>(bs->meta->elem), values[0], &dim);
  MemoryContextSwitchTo(old);
  if (bs->meta->dims == 0) {
    bs->meta->dims = dim;
    SetBuildCap(bs);
  }
  CheckRowDims(index, bs->meta->dims, dim);
  if (bs->nrecords == bs->cap_records) FlushBuildBuffer(bs);
  if (bs->nrecords == bs->alloc_records) {
    Size grow = std::min(bs->cap_records, std::max(static_cast<Size>(1024), bs->alloc_records * 2));
    bs->buf = bs->buf ? static_cast<char*>(repalloc_huge(bs->buf, grow * bs->record_size))
                      : static_cast<char*>(MemoryContextAllocHuge(CurrentMemoryContext,
                                                                  grow * bs->record_size));
    bs->alloc_records = grow;
  }
  char* rec = bs->buf + bs->nrecords * bs->record_size;
  std::memset(rec, 0, bs->record_size);
  RecordHeader* h = reinterpret_cast<RecordHeader*>(rec);
  h->tid = *tid;
  h->flags = 0;
  std::memcpy(rec + sizeof(RecordHeader), x, sizeof(float) * dim);
  MemoryContextReset(bs->row_ctx);
  bs->nrecords++;
  bs->indtuples += 1;
  if (static_cast<int64>(bs->indtuples) % 1000 == 0)
    pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(bs->indtuples));
}

IndexBuildResult* BuildImpl(Relation heap, Relation index, IndexInfo* info) {
  if (RelationGetNumberOfBlocks(index) != 0)
    elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));

  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  InitMeta(meta, index);

  // Block 0: the metapage, completed at the end.
  Buffer metabuf = NewBuffer(index);
  if (BufferGetBlockNumber(metabuf) != kMetaBlock)
    elog(ERROR, "vecgo metapage is not block 0 of \"%s\"", RelationGetRelationName(index));
  {
    GenericXLogState* state = GenericXLogStart(index);
    Page page = GenericXLogRegisterBuffer(state, metabuf, GENERIC_XLOG_FULL_IMAGE);
    InitMetaPage(page, *meta);
    GenericXLogFinish(state);
  }
  LockBuffer(metabuf, BUFFER_LOCK_UNLOCK);

  BuildState bs;
  std::memset(&bs, 0, sizeof(bs));
  bs.index = index;
  bs.meta = meta;
  bs.estimated_rows = std::max(0.0, static_cast<double>(heap->rd_rel->reltuples));
  bs.row_ctx = AllocSetContextCreate(CurrentMemoryContext, "vecgo build row", ALLOCSET_SMALL_SIZES);
  if (meta->dims > 0) {
    SetBuildCap(&bs);
  }

  pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, 2);
  bs.reltuples = table_index_build_scan(heap, index, info, true, true, BuildCallback, &bs, nullptr);
  pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_TOTAL, static_cast<int64>(bs.indtuples));
  FlushBuildBuffer(&bs);
  MemoryContextDelete(bs.row_ctx);
  pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, static_cast<int64>(bs.indtuples));

  meta->l0_id = meta->next_segment_id++;
  meta->l0_head = CreateEmptyL0(index, meta->l0_id);

  LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
  WriteMeta(index, metabuf, *meta);
  UnlockReleaseBuffer(metabuf);

  IndexBuildResult* result = static_cast<IndexBuildResult*>(palloc(sizeof(IndexBuildResult)));
  result->heap_tuples = bs.reltuples;
  result->index_tuples = bs.indtuples;
  return result;
}

void BuildEmptyImpl(Relation index) {
  // The init fork: a metapage and an empty L0 log, logged as full pages.
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  InitMeta(meta, index);
  meta->l0_id = meta->next_segment_id++;
  meta->l0_head = 1;

  Buffer metabuf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
  Buffer l0buf = ReadBufferExtended(index, INIT_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
  LockBuffer(l0buf, BUFFER_LOCK_EXCLUSIVE);
  if (BufferGetBlockNumber(metabuf) != 0 || BufferGetBlockNumber(l0buf) != 1)
    elog(ERROR, "unexpected init fork layout of \"%s\"", RelationGetRelationName(index));

  START_CRIT_SECTION();
  InitMetaPage(BufferGetPage(metabuf), *meta);
  InitL0Page(BufferGetPage(l0buf), meta->l0_id, 1);
  MarkBufferDirty(metabuf);
  MarkBufferDirty(l0buf);
  log_newpage_buffer(metabuf, true);
  log_newpage_buffer(l0buf, true);
  END_CRIT_SECTION();

  UnlockReleaseBuffer(l0buf);
  UnlockReleaseBuffer(metabuf);
}

// Sets the index's dimensions from the first vector of an unconstrained column.
void EnsureDims(Relation index, int dims) {
  // A column with a typmod fixes the dimensions: no metapage read per row.
  const int typmod_dims = DimsOfIndex(index);
  if (typmod_dims > 0) {
    CheckRowDims(index, typmod_dims, dims);
    return;
  }
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);
  if (meta->dims == 0) {
    Buffer metabuf = ReadBuffer(index, kMetaBlock);
    LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
    std::memcpy(meta, PageGetMeta(BufferGetPage(metabuf)), sizeof(MetaData));
    if (meta->dims == 0) {
      meta->dims = dims;
      WriteMeta(index, metabuf, *meta);
    }
    UnlockReleaseBuffer(metabuf);
  }
  CheckRowDims(index, meta->dims, dims);
  pfree(meta);
}

bool InsertImpl(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid) {
  if (isnull[0]) return false;
  MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "vecgo insert",
                                            ALLOCSET_DEFAULT_SIZES);
  MemoryContext old = MemoryContextSwitchTo(ctx);

  int dim = 0;
  const float* x = IndexInput(ElemOfIndex(index), values[0], &dim);
  EnsureDims(index, dim);
  Size len = RecordSize(dim);
  char* rec = static_cast<char*>(palloc0(len));
  RecordHeader* h = reinterpret_cast<RecordHeader*>(rec);
  h->tid = *heap_tid;
  h->flags = 0;
  std::memcpy(rec + sizeof(RecordHeader), x, sizeof(float) * dim);

  // Seal when the log has reached memtable_size (checked again under the
  // metapage lock by SealL0).
  const L0Position pos = AppendToL0(index, rec, len);
  MemTableInsert(index, pos, x, *heap_tid);
  if (pos.full) SealL0(index, true);

  MemoryContextSwitchTo(old);
  MemoryContextDelete(ctx);
  return false;
}

}  // namespace

IndexBuildResult* vecgobuild(Relation heap, Relation index, IndexInfo* info) {
  return Guard([&]() { return BuildImpl(heap, index, info); });
}

void vecgobuildempty(Relation index) {
  Guard([&]() { BuildEmptyImpl(index); });
}

bool vecgoinsert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid, Relation heap,
                 IndexUniqueCheck checkUnique, bool indexUnchanged, IndexInfo* info) {
  (void)heap;
  (void)checkUnique;
  (void)indexUnchanged;
  (void)info;
  return Guard([&]() { return InsertImpl(index, values, isnull, heap_tid); });
}

}  // namespace vecgo::pg
