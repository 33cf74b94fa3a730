// Ordered scans: a merge of one cursor per tier.
//
// A scan copies the manifest once (its one manifest version: compaction frees
// the pages it lists only after this scan's snapshot is gone), opens a
// cursor on every tier it lists (the L0 log and each segment, whatever their
// kind) and produces rows in batches. The first batch holds vecgo.ef_search
// rows; with iterative scan on, the executor may keep asking (a WHERE clause
// filtering rows out) and each further batch doubles, up to
// vecgo.max_scan_tuples rows in all. For each batch every tier offers
// candidates and the core's BatchMerger keeps the best; exact tiers make the
// merge exact, a graph tier's late results are returned under relaxed_order
// and dropped under strict_order.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <vector>

#include "vecgo/core.h"
#include "guard.h"
#include "am.h"
#include "vector.h"

extern "C" {
#include "access/relscan.h"
#include "utils/float.h"
}

namespace vecgo::pg {

namespace {

// The scan's state. Lives in the scan's memory context; its C++ members are
// destroyed by that context's reset callback (so an aborted scan leaks
// nothing), and no C++ object lives in the frames that call PostgreSQL.
struct ScanState {
  MemoryContext ctx;
  MemoryContextCallback free_cb;
  bool started = false;
  MetaData* meta = nullptr;
  float* query = nullptr;  // nullptr when the ORDER BY argument is NULL
  TierCursor** cursors = nullptr;
  int ncursors = 0;
  vecgo::BatchMerger merger;
  std::vector<vecgo::Neighbor> batch;
  vecgo::Neighbor* fetched = nullptr;  // one cursor's candidates, next_batch_size of room
  int fetched_cap = 0;
  std::size_t pos = 0;
  int next_batch_size = 0;
  int64 returned = 0;
  int64 limit = 0;
  BlockNumber heap_nblocks = 0;  // the table's size as last read (CheckHeapTid)

  static void Free(void* arg) { static_cast<ScanState*>(arg)->~ScanState(); }
};

// A new state in `ctx`, destroyed when the context is reset or deleted.
ScanState* NewScanState(MemoryContext ctx) {
  ScanState* so = new (MemoryContextAllocZero(ctx, sizeof(ScanState))) ScanState();
  so->ctx = ctx;
  so->free_cb.func = ScanState::Free;
  so->free_cb.arg = so;
  MemoryContextRegisterResetCallback(ctx, &so->free_cb);
  return so;
}

void EndCursors(ScanState* so) {
  for (int i = 0; i < so->ncursors; i++) so->cursors[i]->End();
}

void NextBatch(ScanState* so) {
  int cap = so->next_batch_size;
  int64 remaining = so->limit - so->returned;
  so->pos = 0;
  if (remaining <= 0 || so->merger.done()) {
    so->batch.clear();
    return;
  }
  if (cap > remaining) cap = static_cast<int>(remaining);
  if (cap > so->fetched_cap) {
    so->fetched = static_cast<vecgo::Neighbor*>(repalloc(so->fetched, sizeof(vecgo::Neighbor) * cap));
    so->fetched_cap = cap;
  }
  for (int i = 0; i < so->ncursors; i++) {
    int want = static_cast<int>(so->merger.Wanted(i, cap));
    if (want == 0) continue;
    int got = so->cursors[i]->Next(want, so->fetched);
    so->merger.Offer(i, so->fetched, got, got == want);
  }
  so->merger.TakeBatch(cap, &so->batch);
  if (so->next_batch_size < (1 << 20)) so->next_batch_size *= 2;
}

void StartScan(IndexScanDesc scan, ScanState* so) {
  Relation index = scan->indexRelation;
  so->meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, so->meta);
  const MetaData* m = so->meta;
  so->query = nullptr;
  if (scan->numberOfOrderBys > 0 && !(scan->orderByData[0].sk_flags & SK_ISNULL)) {
    // The metapage keeps the column's kind (0, vector, in an index built
    // before it did, which is what such an index holds).
    const IndexElem elem = static_cast<IndexElem>(m->elem);
    int dim = 0;
    const float* q = IndexInput(elem, scan->orderByData[0].sk_argument, &dim);
    if (m->dims > 0 && dim != m->dims) {
      if (elem == kElemBit)
        ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                        errmsg("different bit lengths %d and %d", m->dims, dim)));
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("different %s dimensions %d and %d", ElemTypeName(elem), m->dims, dim)));
    }
    so->query = static_cast<float*>(palloc(sizeof(float) * dim));
    std::memcpy(so->query, q, sizeof(float) * dim);
  }
  so->limit = g_iterative_scan == kIterOff ? g_ef_search : std::max(g_max_scan_tuples, g_ef_search);
  so->next_batch_size = g_ef_search;
  so->returned = 0;
  so->pos = 0;
  so->batch.clear();
  so->fetched = static_cast<vecgo::Neighbor*>(palloc(sizeof(vecgo::Neighbor)));
  so->fetched_cap = 1;

  // The L0 log first, then the segments in manifest order; an index that
  // has seen no vector yet has no tiers to scan.
  const int ntiers = m->dims > 0 ? static_cast<int>(m->nsegments) + 1 : 0;
  // A chain with a MemTable opens two cursors: its graph and the rest.
  so->cursors = static_cast<TierCursor**>(palloc0(sizeof(TierCursor*) * (2 * ntiers + 1)));
  bool* exact = static_cast<bool*>(palloc(sizeof(bool) * (2 * ntiers + 1)));
  TierScan ts{index, m, so->query, g_ef_search, so->ctx};
  so->ncursors = 0;
  for (int t = 0; t < ntiers; t++) {
    const SegmentEntry e = t == 0 ? L0Entry(*m) : m->segments[t - 1];
    TierCursor* graph = nullptr;
    TierCursor* c = nullptr;
    if (e.kind == kSegmentFlat && MemTableOpen(ts, e, &graph, &c)) {
      so->cursors[so->ncursors] = graph;
      exact[so->ncursors] = graph->exact();
      so->ncursors++;
    } else {
      c = TierOpsOf(index, e.kind).open(ts, e);
    }
    so->cursors[so->ncursors] = c;
    exact[so->ncursors] = c->exact();
    so->ncursors++;
  }
  so->merger.Reset(so->ncursors, exact, g_iterative_scan == kIterStrict);
  so->started = true;
}

IndexScanDesc BeginScanImpl(Relation index, int nkeys, int norderbys) {
  IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
  MemoryContext ctx = AllocSetContextCreate(CurrentMemoryContext, "vecgo scan", ALLOCSET_DEFAULT_SIZES);
  scan->opaque = NewScanState(ctx);
  if (norderbys > 0) {
    scan->xs_orderbyvals = static_cast<Datum*>(palloc0(sizeof(Datum) * norderbys));
    scan->xs_orderbynulls = static_cast<bool*>(palloc(sizeof(bool) * norderbys));
    std::memset(scan->xs_orderbynulls, true, sizeof(bool) * norderbys);
  }
  return scan;
}

void RescanImpl(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys) {
  ScanState* so = static_cast<ScanState*>(scan->opaque);
  EndCursors(so);
  if (keys && scan->numberOfKeys > 0)
    std::memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
  if (orderbys && scan->numberOfOrderBys > 0)
    std::memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
  (void)nkeys;
  (void)norderbys;
  // A fresh state: the reset destroys the old one (and the cursors' objects).
  MemoryContext ctx = so->ctx;
  MemoryContextReset(ctx);
  scan->opaque = NewScanState(ctx);
}

// A heap TID comes from the index's pages (or a MemTable built from them):
// it must point into the table before the executor fetches it, as the heap
// reads block InvalidBlockNumber as P_NEW and would extend the table. The
// table's size is read again only when a TID passes the size last read
// (rows are added while the scan runs; the table is not truncated under
// the scan's lock).
void CheckHeapTid(IndexScanDesc scan, ScanState* so, const ItemPointerData& tid) {
  const BlockNumber blk = ItemPointerGetBlockNumberNoCheck(&tid);
  const OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(&tid);
  if (blk < so->heap_nblocks && off != InvalidOffsetNumber) return;
  if (scan->heapRelation == nullptr) return;
  if (blk != InvalidBlockNumber) so->heap_nblocks = RelationGetNumberOfBlocks(scan->heapRelation);
  if (blk >= so->heap_nblocks || off == InvalidOffsetNumber)
    RaiseIndexCorrupted(scan->indexRelation,
                        "It holds heap TID (%u,%u), outside table \"%s\" (%u blocks).", blk, off,
                        RelationGetRelationName(scan->heapRelation), so->heap_nblocks);
}

bool GetTupleImpl(IndexScanDesc scan, ScanDirection dir) {
  ScanState* so = static_cast<ScanState*>(scan->opaque);
  if (!ScanDirectionIsForward(dir))
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("vecgo index scans only go forward")));
  MemoryContext old = MemoryContextSwitchTo(so->ctx);
  if (!so->started) StartScan(scan, so);
  if (so->pos >= so->batch.size()) NextBatch(so);
  MemoryContextSwitchTo(old);
  if (so->pos >= so->batch.size()) return false;

  const vecgo::Neighbor& c = so->batch[so->pos++];
  so->returned++;
  scan->xs_heaptid = LabelTid(c.label);
  CheckHeapTid(scan, so, scan->xs_heaptid);
  scan->xs_recheck = false;
  scan->xs_recheckorderby = false;
  if (scan->numberOfOrderBys > 0) {
    if (so->query) {
      scan->xs_orderbyvals[0] = Float8GetDatum(OperatorValue(*so->meta, c.distance));
      scan->xs_orderbynulls[0] = false;
    } else {
      scan->xs_orderbyvals[0] = (Datum)0;
      scan->xs_orderbynulls[0] = true;
    }
  }
  return true;
}

}  // namespace

IndexScanDesc vecgobeginscan(Relation index, int nkeys, int norderbys) {
  return Guard([&]() { return BeginScanImpl(index, nkeys, norderbys); });
}

void vecgorescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys) {
  Guard([&]() { RescanImpl(scan, keys, nkeys, orderbys, norderbys); });
}

bool vecgogettuple(IndexScanDesc scan, ScanDirection dir) {
  return Guard([&]() { return GetTupleImpl(scan, dir); });
}

void vecgoendscan(IndexScanDesc scan) {
  Guard([&]() {
    ScanState* so = static_cast<ScanState*>(scan->opaque);
    EndCursors(so);
    MemoryContextDelete(so->ctx);
    scan->opaque = nullptr;
  });
}

}  // namespace vecgo::pg
