// SQL-callable maintenance of a vecgo index: vecgo_flush, vecgo_compact,
// vecgo_index_info, vecgo_verify; and size-tiered compaction itself.
//
// Compaction writes the merged segments into new pages first (each logged as
// a full page image), then switches the manifest in one metapage WAL record;
// the replaced chains go to the metapage's pending list stamped with the next
// full transaction id and are freed by RecyclePending once no snapshot can be
// that old. It runs with ShareUpdateExclusiveLock on the table, so it never
// races VACUUM (which could otherwise tombstone a row already copied) nor
// another compaction.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "vecgo/core.h"
#include "guard.h"
#include "am.h"
#include "vector.h"

extern "C" {
#include "access/relation.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

namespace vecgo::pg {

namespace {

// Opens `indexoid` as a vecgo index, locking its table with `heaplock` first
// (lock order of the rest of PostgreSQL: table, then index).
Relation OpenVecgoIndex(Oid indexoid, LOCKMODE heaplock, LOCKMODE indexlock, bool must_own,
                        Oid* heapoid_out) {
  Oid heapoid = IndexGetRelation(indexoid, true);
  if (!OidIsValid(heapoid))
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("\"%s\" is not an index", get_rel_name(indexoid) ? get_rel_name(indexoid) : "?")));
  LockRelationOid(heapoid, heaplock);
  if (must_own && !pg_class_ownercheck(heapoid, GetUserId()))
    aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_INDEX, get_rel_name(indexoid));
  Relation index = index_open(indexoid, indexlock);
  if (index->rd_indam == nullptr || index->rd_indam->ambuild != vecgobuild)
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("\"%s\" is not a vecgo index", RelationGetRelationName(index))));
  if (heapoid_out) *heapoid_out = heapoid;
  return index;
}

void CloseVecgoIndex(Relation index, Oid heapoid, LOCKMODE heaplock, LOCKMODE indexlock) {
  index_close(index, indexlock);
  UnlockRelationOid(heapoid, heaplock);
}

void RequireNotInRecovery(const char* fn) {
  if (RecoveryInProgress())
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("recovery is in progress"),
                    errhint("%s() cannot be executed during recovery.", fn)));
}

// L0 statistics by walking the log.
void CountChain(Relation index, const MetaData* meta, uint32 id, BlockNumber head, uint64* rows,
                uint64* deleted, uint64* pages) {
  *rows = *deleted = *pages = 0;
  if (meta->dims == 0) {
    *pages = 1;
    return;
  }
  ChainReader r;
  std::memset(&r, 0, sizeof(r));
  ChainReaderBegin(&r, index, id, head, RecordSize(meta->dims));
  const RecordHeader* h;
  while ((h = ChainReaderNext(&r)) != nullptr) {
    (*rows)++;
    if (h->flags & kRecordDeleted) (*deleted)++;
  }
  *pages = r.pages_read;
  ChainReaderEnd(&r);
  pfree(r.page_copy);
}

int TierOf(uint64 live) {
  // Size tiers grow by a factor of 4.
  return live == 0 ? -1 : static_cast<int>(std::floor(std::log2(static_cast<double>(live)) / 2.0));
}

[[noreturn]] void Corrupt(Relation index, const char* fmt, const char* what, uint64 a, uint64 b) {
  char buf[512];
  snprintf(buf, sizeof(buf), fmt, what, static_cast<unsigned long long>(a),
           static_cast<unsigned long long>(b));
  ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                  errmsg("vecgo index \"%s\" is corrupted: %s", RelationGetRelationName(index), buf)));
}

// Walks one chain page by page and record by record, checking what the
// manifest says about it. Marks its pages in `claimed`.
void VerifyChain(Relation index, const MetaData* meta, uint32 id, BlockNumber head,
                 BlockNumber nblocks, char* claimed, bool is_l0, const SegmentEntry* seg) {
  char what[64];
  snprintf(what, sizeof(what), "%s %u", is_l0 ? "L0 log" : "segment", id);
  Size rs = meta->dims > 0 ? RecordSize(meta->dims) : 8;
  BlockNumber blk = head, last = InvalidBlockNumber;
  uint64 npages = 0, bytes = 0;
  uint32 head_npages = 0;
  BlockNumber head_tail = InvalidBlockNumber;
  while (blk != InvalidBlockNumber) {
    if (blk >= nblocks || blk == kMetaBlock) Corrupt(index, "%s links to block %llu of %llu", what, blk, nblocks);
    if (claimed[blk]) Corrupt(index, "%s reuses block %llu (claimed %llu times)", what, blk, claimed[blk]);
    claimed[blk]++;
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    PageOpaque o = *GetOpaque(page);
    bool bad = PageIsNew(page) || PageGetSpecialSize(page) != MAXALIGN(sizeof(PageOpaque));
    UnlockReleaseBuffer(buf);
    if (bad || o.page_id != kPageId) Corrupt(index, "%s: block %llu is not a vecgo page (%llu)", what, blk, 0);
    if (o.flags != kPageChain) Corrupt(index, "%s: block %llu has page flags %llu", what, blk, o.flags);
    if (o.segment_id != id) Corrupt(index, "%s: block %llu belongs to segment %llu", what, blk, o.segment_id);
    if (o.used > kStreamBytes) Corrupt(index, "%s: block %llu claims %llu bytes", what, blk, o.used);
    if (o.next != InvalidBlockNumber && o.used != kStreamBytes)
      Corrupt(index, "%s: inner block %llu is only %llu bytes full", what, blk, o.used);
    if (npages == 0) {
      head_npages = o.npages;
      head_tail = o.tail;
    }
    npages++;
    bytes += o.used;
    last = blk;
    blk = o.next;
    if (npages > nblocks) Corrupt(index, "%s has a cycle (%llu pages of %llu)", what, npages, nblocks);
  }
  if (bytes % rs != 0) Corrupt(index, "%s holds %llu bytes, not a multiple of the record size %llu", what, bytes, rs);
  uint64 rows = bytes / rs, deleted = 0;
  if (meta->dims > 0) {
    ChainReader r;
    std::memset(&r, 0, sizeof(r));
    ChainReaderBegin(&r, index, id, head, rs);
    const RecordHeader* h;
    while ((h = ChainReaderNext(&r)) != nullptr) {
      if (h->flags & ~kRecordDeleted) Corrupt(index, "%s: record with flags %llu (%llu)", what, h->flags, 0);
      if (!ItemPointerIsValid(&h->tid) || ItemPointerGetOffsetNumberNoCheck(&h->tid) == 0)
        Corrupt(index, "%s: record with invalid heap TID (block %llu, offset %llu)", what,
                ItemPointerGetBlockNumberNoCheck(&h->tid), ItemPointerGetOffsetNumberNoCheck(&h->tid));
      if (h->flags & kRecordDeleted) deleted++;
    }
    ChainReaderEnd(&r);
    pfree(r.page_copy);
  } else if (bytes != 0) {
    Corrupt(index, "%s holds %llu bytes but the index has %llu dimensions", what, bytes, 0);
  }
  if (is_l0) {
    if (head_npages != npages) Corrupt(index, "%s: head page counts %llu pages, chain has %llu", what, head_npages, npages);
    if (head_tail != last) Corrupt(index, "%s: tail hint %llu, actual tail %llu", what, head_tail, last);
    if (deleted != meta->l0_deleted) Corrupt(index, "%s: %llu deleted rows, manifest says %llu", what, deleted, meta->l0_deleted);
  } else {
    if (seg->npages != npages) Corrupt(index, "%s: manifest says %llu pages, chain has %llu", what, seg->npages, npages);
    if (seg->tail != last) Corrupt(index, "%s: manifest tail %llu, actual tail %llu", what, seg->tail, last);
    if (seg->rows != rows) Corrupt(index, "%s: manifest says %llu rows, chain has %llu", what, seg->rows, rows);
    if (seg->deleted != deleted) Corrupt(index, "%s: manifest says %llu deleted rows, chain has %llu", what, seg->deleted, deleted);
  }
}

}  // namespace

int64 CompactSegments(Relation index) {
  RecyclePending(index);
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);
  if (meta->dims == 0 || meta->nsegments == 0) return 0;
  Size rs = RecordSize(meta->dims);
  int n = static_cast<int>(meta->nsegments);
  int threshold = meta->options.compaction_threshold;
  // A group's live rows are gathered in memory (and a DiskANN output built
  // from them): at most maintenance_work_mem worth of records per group.
  // A DiskANN output (diskann_threshold rows or more) must also fit its
  // graph build (DiskAnnMaxRows): larger groups are not merged, larger
  // rewrites wait for a larger maintenance_work_mem.
  uint64 max_group_rows = std::max<uint64>(1, DiskAnnBudgetBytes() / rs);
  const uint64 diskann_threshold = static_cast<uint64>(meta->options.diskann_threshold);
  const uint64 max_diskann_rows = DiskAnnMaxRows(meta, DiskAnnBudgetBytes());
  auto fits = [&](uint64 rows) {
    return rows <= max_group_rows && (rows < diskann_threshold || rows <= max_diskann_rows);
  };
  auto live_of = [&](int j) { return meta->segments[j].rows - meta->segments[j].deleted; };

  // group[i]: the output group of segment i, -1 when it stays, n when it is
  // dropped without output.
  int* group = static_cast<int*>(palloc(sizeof(int) * n));
  uint64* group_rows = static_cast<uint64*>(palloc0(sizeof(uint64) * (n + 1)));
  int ngroups = 0, nmembers = 0;
  int skipped_segments = 0;
  uint64 skipped_rows = 0;
  int capacity = kMaxPending - static_cast<int>(meta->npending);
  for (int i = 0; i < n; i++) group[i] = -1;
  // Size tiers (Flat and DiskANN segments alike) with at least
  // compaction_threshold segments are merged.
  for (int i = 0; i < n; i++) {
    if (group[i] != -1 || live_of(i) == 0) continue;
    int tier = TierOf(live_of(i));
    int count = 0;
    uint64 total = 0;
    for (int j = i; j < n; j++)
      if (group[j] == -1 && live_of(j) > 0 && TierOf(live_of(j)) == tier) {
        count++;
        total += live_of(j);
      }
    if (count < threshold || count > capacity - nmembers) continue;
    if (!fits(total)) {
      skipped_segments += count;
      skipped_rows = std::max(skipped_rows, total);
      continue;
    }
    for (int j = i; j < n; j++)
      if (group[j] == -1 && live_of(j) > 0 && TierOf(live_of(j)) == tier) group[j] = ngroups;
    group_rows[ngroups] = total;
    ngroups++;
    nmembers += count;
  }
  // Segments that are all deleted are dropped; those with a fifth or more
  // deleted are rewritten on their own without the deleted rows (for a
  // DiskANN segment, a new graph over its live rows).
  for (int i = 0; i < n && nmembers < capacity; i++) {
    const SegmentEntry& s = meta->segments[i];
    if (group[i] != -1 || s.deleted == 0) continue;
    if (s.deleted == s.rows) {
      group[i] = n;
      nmembers++;
    } else if (s.deleted * 5 >= s.rows) {
      if (fits(live_of(i))) {
        group[i] = ngroups;
        group_rows[ngroups] = live_of(i);
        ngroups++;
        nmembers++;
      } else {
        skipped_segments++;
        skipped_rows = std::max(skipped_rows, live_of(i));
      }
    }
  }
  // Work left undone for lack of memory is reported, not silently dropped.
  if (skipped_segments > 0)
    ereport(NOTICE,
            (errmsg("vecgo: %d segment(s) of index \"%s\" were left uncompacted", skipped_segments,
                    RelationGetRelationName(index)),
             errdetail("Merging them would build a graph of %llu rows, which does not fit in "
                       "maintenance_work_mem (%d kB).",
                       static_cast<unsigned long long>(skipped_rows), maintenance_work_mem),
             errhint("Raise maintenance_work_mem and run vecgo_compact again.")));
  if (nmembers == 0) return 0;

  // Reserve the ids of the new segments.
  uint32 first_id;
  {
    Buffer metabuf = ReadBuffer(index, kMetaBlock);
    LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
    MetaData* m = static_cast<MetaData*>(palloc(sizeof(MetaData)));
    std::memcpy(m, PageGetMeta(BufferGetPage(metabuf)), sizeof(MetaData));
    first_id = m->next_segment_id;
    m->next_segment_id += ngroups;
    WriteMeta(index, metabuf, *m);
    UnlockReleaseBuffer(metabuf);
    pfree(m);
  }

  // Each group: its live rows gathered in memory (the manifest's counts are
  // exact: VACUUM cannot run meanwhile), then written as one Flat chain
  // below diskann_threshold rows or one DiskANN segment at or above it.
  SegmentEntry* outputs = static_cast<SegmentEntry*>(palloc0(sizeof(SegmentEntry) * std::max(ngroups, 1)));
  ChainReader r;
  std::memset(&r, 0, sizeof(r));
  for (int g = 0; g < ngroups; g++) {
    Size cap = static_cast<Size>(group_rows[g]);
    char* buf = static_cast<char*>(MemoryContextAllocHuge(CurrentMemoryContext, std::max<Size>(cap, 1) * rs));
    Size rows = 0;
    for (int i = 0; i < n; i++) {
      if (group[i] != g) continue;
      const SegmentEntry& s = meta->segments[i];
      if (s.kind == kSegmentDiskANN) {
        Size got = 0;
        Guard([&]() { got = DiskAnnCopyLive(index, s, meta->dims, buf + rows * rs, cap - rows); });
        rows += got;
        continue;
      }
      ChainReaderBegin(&r, index, s.id, s.head, rs);
      const RecordHeader* h;
      while ((h = ChainReaderNext(&r)) != nullptr) {
        if (h->flags & kRecordDeleted) continue;
        if (rows == cap) Corrupt(index, "%s %llu holds more live rows than the manifest's %llu", "segment", s.id, cap);
        std::memcpy(buf + rows * rs, h, rs);
        rows++;
        CHECK_FOR_INTERRUPTS();
      }
      ChainReaderEnd(&r);
    }
    SegmentEntry* e = &outputs[g];
    uint32 id = first_id + g;
    if (rows > 0 && rows >= static_cast<Size>(meta->options.diskann_threshold)) {
      Guard([&]() { WriteDiskAnnSegment(index, meta, id, buf, rows, e); });
    } else {
      ChainWriter* w = NewChainWriter();
      ChainWriterBegin(w, index, id);
      ChainWriterAppend(w, buf, rows * rs);
      ChainWriterFinish(w);
      std::memset(e, 0, sizeof(*e));
      e->id = id;
      e->kind = kSegmentFlat;
      e->quantization = kQuantNone;
      e->head = w->head;
      e->tail = w->tail;
      e->npages = w->npages;
      e->rows = rows;
      e->deleted = 0;
      pfree(w);
    }
    pfree(buf);
  }

  // The switch: one metapage record.
  Buffer metabuf = ReadBuffer(index, kMetaBlock);
  LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
  MetaData* m = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  std::memcpy(m, PageGetMeta(BufferGetPage(metabuf)), sizeof(MetaData));
  FullTransactionId safexid = ReadNextFullTransactionId();
  uint32 keep = 0;
  int64 replaced = 0;
  SegmentEntry* kept = static_cast<SegmentEntry*>(palloc(sizeof(SegmentEntry) * kMaxSegments));
  for (uint32 j = 0; j < m->nsegments; j++) {
    const SegmentEntry& s = m->segments[j];
    bool member = false;
    for (int i = 0; i < n; i++)
      if (group[i] != -1 && meta->segments[i].id == s.id) member = true;
    if (!member) {
      kept[keep++] = s;
      continue;
    }
    PendingFree* p = &m->pending[m->npending++];
    p->head = s.head;
    p->npages = s.npages;
    p->segment_id = s.id;
    p->reserved = 0;
    p->safexid = safexid;
    replaced++;
  }
  for (int g = 0; g < ngroups; g++)
    if (outputs[g].rows > 0) kept[keep++] = outputs[g];
    else {
      PendingFree* p = &m->pending[m->npending++];
      p->head = outputs[g].head;
      p->npages = outputs[g].npages;
      p->segment_id = outputs[g].id;
      p->reserved = 0;
      p->safexid = safexid;
    }
  std::memcpy(m->segments, kept, sizeof(SegmentEntry) * keep);
  m->nsegments = keep;
  WriteMeta(index, metabuf, *m);
  UnlockReleaseBuffer(metabuf);
  return replaced;
}

}  // namespace vecgo::pg

using namespace vecgo::pg;

VECGO_FUNCTION(vecgo_flush) {
  Oid indexoid = PG_GETARG_OID(0);
  RequireNotInRecovery("vecgo_flush");
  Oid heapoid;
  Relation index = OpenVecgoIndex(indexoid, RowExclusiveLock, RowExclusiveLock, true, &heapoid);
  int64 rows = SealL0(index, false);
  CloseVecgoIndex(index, heapoid, RowExclusiveLock, RowExclusiveLock);
  PG_RETURN_INT64(rows);
}

VECGO_FUNCTION(vecgo_compact) {
  Oid indexoid = PG_GETARG_OID(0);
  RequireNotInRecovery("vecgo_compact");
  Oid heapoid;
  Relation index =
      OpenVecgoIndex(indexoid, ShareUpdateExclusiveLock, RowExclusiveLock, true, &heapoid);
  int64 replaced = CompactSegments(index);
  CloseVecgoIndex(index, heapoid, ShareUpdateExclusiveLock, RowExclusiveLock);
  PG_RETURN_INT64(replaced);
}

VECGO_FUNCTION(vecgo_index_info) {
  Oid indexoid = PG_GETARG_OID(0);
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  Oid heapoid;
  Relation index = OpenVecgoIndex(indexoid, AccessShareLock, AccessShareLock, false, &heapoid);
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);

  Datum values[7];
  bool nulls[7] = {false, false, false, false, false, false, false};
  uint64 rows, deleted, pages;
  CountChain(index, meta, meta->l0_id, meta->l0_head, &rows, &deleted, &pages);
  values[0] = Int32GetDatum(static_cast<int32>(meta->l0_id));
  values[1] = CStringGetTextDatum("l0 log");
  values[2] = Int64GetDatum(static_cast<int64>(rows));
  values[3] = Int64GetDatum(static_cast<int64>(deleted));
  values[4] = Int64GetDatum(static_cast<int64>(pages));
  values[5] = Int64GetDatum(static_cast<int64>(pages) * BLCKSZ);
  values[6] = CStringGetTextDatum("none");
  tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  for (uint32 i = 0; i < meta->nsegments; i++) {
    const SegmentEntry& s = meta->segments[i];
    values[0] = Int32GetDatum(static_cast<int32>(s.id));
    values[1] = CStringGetTextDatum(s.kind == kSegmentDiskANN ? "diskann" : "flat");
    values[2] = Int64GetDatum(static_cast<int64>(s.rows));
    values[3] = Int64GetDatum(static_cast<int64>(s.deleted));
    values[4] = Int64GetDatum(static_cast<int64>(s.npages));
    values[5] = Int64GetDatum(static_cast<int64>(s.npages) * BLCKSZ);
    values[6] = CStringGetTextDatum(QuantizationName(s.quantization));
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  CloseVecgoIndex(index, heapoid, AccessShareLock, AccessShareLock);
  return (Datum)0;
}

VECGO_FUNCTION(vecgo_verify) {
  Oid indexoid = PG_GETARG_OID(0);
  Oid heapoid;
  // ShareLock on the table: no inserts while the structure is checked. A hot
  // standby allows no more than AccessShareLock, so there the check is exact
  // only while replay is not appending to the same index.
  LOCKMODE heaplock = RecoveryInProgress() ? AccessShareLock : ShareLock;
  Relation index = OpenVecgoIndex(indexoid, heaplock, AccessShareLock, false, &heapoid);
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);
  BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  char* claimed = static_cast<char*>(palloc0(nblocks + 1));
  claimed[kMetaBlock] = 1;
  if (meta->l0_id == 0 || meta->l0_id >= meta->next_segment_id)
    Corrupt(index, "%s id %llu out of range (next id %llu)", "L0 log", meta->l0_id, meta->next_segment_id);
  VerifyChain(index, meta, meta->l0_id, meta->l0_head, nblocks, claimed, true, nullptr);
  for (uint32 i = 0; i < meta->nsegments; i++) {
    const SegmentEntry& s = meta->segments[i];
    if (s.id == 0 || s.id >= meta->next_segment_id || s.id == meta->l0_id)
      Corrupt(index, "%s id %llu out of range (next id %llu)", "segment", s.id, meta->next_segment_id);
    for (uint32 j = 0; j < i; j++)
      if (meta->segments[j].id == s.id) Corrupt(index, "%s id %llu listed twice (%llu)", "segment", s.id, 0);
    if (s.kind != kSegmentFlat && s.kind != kSegmentDiskANN)
      Corrupt(index, "%s has unknown kind %llu (%llu)", "segment", s.kind, 0);
    if (s.deleted > s.rows) Corrupt(index, "%s has %llu deleted of %llu rows", "segment", s.deleted, s.rows);
    if (s.kind == kSegmentFlat) {
      VerifyChain(index, meta, s.id, s.head, nblocks, claimed, false, &s);
      continue;
    }
    // DiskANN: one contiguous run of full pages, then the core's own check.
    if (s.head + s.npages > nblocks || s.tail != s.head + s.npages - 1)
      Corrupt(index, "%s at block %llu with %llu pages is not a valid run", "DiskANN segment", s.head, s.npages);
    for (uint32 k = 0; k < s.npages; k++) {
      BlockNumber blk = s.head + k;
      if (claimed[blk]) Corrupt(index, "%s reuses block %llu (claimed %llu times)", "DiskANN segment", blk, claimed[blk]);
      claimed[blk] = 1;
      Buffer buf = ReadBuffer(index, blk);
      LockBuffer(buf, BUFFER_LOCK_SHARE);
      PageOpaque o = *GetOpaque(BufferGetPage(buf));
      UnlockReleaseBuffer(buf);
      BlockNumber want_next = k + 1 < s.npages ? blk + 1 : InvalidBlockNumber;
      if (o.page_id != kPageId || o.flags != kPageChain || o.segment_id != s.id ||
          o.used != kStreamBytes || o.next != want_next)
        Corrupt(index, "%s: block %llu is not page %llu of its run", "DiskANN segment", blk, k);
    }
    uint64 rows = 0, deleted = 0;
    DiskAnnVerify(index, s, &rows, &deleted);
    if (rows != s.rows) Corrupt(index, "%s: manifest says %llu rows, graph has %llu", "DiskANN segment", s.rows, rows);
    if (deleted != s.deleted) Corrupt(index, "%s: manifest says %llu deleted rows, graph has %llu", "DiskANN segment", s.deleted, deleted);
  }
  // Replaced chains waiting to be recycled must not overlap live ones.
  for (uint32 i = 0; i < meta->npending; i++) {
    BlockNumber blk = meta->pending[i].head;
    for (uint32 k = 0; k < meta->pending[i].npages && blk != InvalidBlockNumber; k++) {
      if (blk >= nblocks || claimed[blk])
        Corrupt(index, "%s: pending chain block %llu overlaps (claimed %llu)", "manifest", blk,
                blk < nblocks ? claimed[blk] : 0);
      claimed[blk] = 1;
      Buffer buf = ReadBuffer(index, blk);
      LockBuffer(buf, BUFFER_LOCK_SHARE);
      PageOpaque o = *GetOpaque(BufferGetPage(buf));
      UnlockReleaseBuffer(buf);
      if (o.segment_id != meta->pending[i].segment_id)
        Corrupt(index, "%s: pending block %llu belongs to segment %llu", "manifest", blk, o.segment_id);
      blk = o.next;
    }
  }
  CloseVecgoIndex(index, heapoid, heaplock, AccessShareLock);
  PG_RETURN_VOID();
}
