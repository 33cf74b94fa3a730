// Ordered scans.
//
// A scan copies the manifest once (its one manifest version: compaction frees
// the pages it lists only after this scan's snapshot is gone) and then
// produces rows in batches. Each batch is one pass over every tier — the L0
// log and every Flat segment, scanned exactly with the SIMD kernels — keeping
// the `batch` closest rows that come strictly after the last row returned
// (ordered by distance, then heap TID). The first batch holds vecgo.ef_search
// rows; with iterative scan on, the executor may keep asking (a WHERE clause
// filtering rows out) and each further batch doubles, up to
// vecgo.max_scan_tuples rows in all. DiskANN segments take part through a
// continuation beam search whose results join the same batches. Exact tiers
// are in exact order; a DiskANN result found after a farther row was already
// returned is still returned under relaxed_order and dropped under
// strict_order.
#include <algorithm>
#include <cmath>
#include <cstring>

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

struct Candidate {
  float dist;
  ItemPointerData tid;
};

inline bool CandLess(const Candidate& a, const Candidate& b) {
  if (a.dist != b.dist) return a.dist < b.dist;
  return ItemPointerCompare(const_cast<ItemPointer>(&a.tid), const_cast<ItemPointer>(&b.tid)) < 0;
}

// Results a DiskANN segment has produced and the merge has not consumed yet.
struct Pending {
  Candidate* items;
  int n;
  int cap;
  bool more;  // the segment may still produce further results
  bool started;
};

struct ScanState {
  MemoryContext ctx;
  bool started;
  bool exhausted;
  MetaData* meta;
  float* query;        // nullptr when the ORDER BY argument is NULL
  int query_dims;
  Candidate* batch;
  int nbatch;
  int pos;
  int next_batch_size;
  int64 returned;
  int64 limit;
  bool have_last;
  Candidate last;
  ChainReader reader;
  DiskAnnScan** diskann;  // per segment, created on first use
  Pending* pending;       // per segment
};

inline void PushCandidate(const Candidate& c, Candidate* heap, int* nheap, int cap) {
  if (*nheap < cap) {
    heap[(*nheap)++] = c;
    std::push_heap(heap, heap + *nheap, CandLess);
  } else if (CandLess(c, heap[0])) {
    std::pop_heap(heap, heap + *nheap, CandLess);
    heap[*nheap - 1] = c;
    std::push_heap(heap, heap + *nheap, CandLess);
  }
}

// One pass over a chain: keep the best `cap` rows after `last` in a max-heap.
void ScanChain(ScanState* so, Relation index, uint32 id, BlockNumber head, Candidate* heap,
               int* nheap, int cap) {
  Size rs = RecordSize(so->meta->dims);
  ChainReaderBegin(&so->reader, index, id, head, rs);
  const RecordHeader* rec;
  uint8 metric = so->meta->metric;
  int dims = so->meta->dims;
  while ((rec = ChainReaderNext(&so->reader)) != nullptr) {
    if (rec->flags & kRecordDeleted) continue;
    Candidate c;
    c.tid = rec->tid;
    c.dist = so->query
                 ? IndexDistance(metric, so->query,
                                 reinterpret_cast<const float*>(reinterpret_cast<const char*>(rec) +
                                                                sizeof(RecordHeader)),
                                 dims, 0.0f)
                 : INFINITY;
    if (so->have_last && !CandLess(so->last, c)) continue;
    PushCandidate(c, heap, nheap, cap);
    CHECK_FOR_INTERRUPTS();
  }
  ChainReaderEnd(&so->reader);
}

// A DiskANN segment's share of a batch: its results come from a continuation
// search (approximately in order across calls) and wait in `pending` until a
// batch takes them. Returns whether the segment may produce more.
bool DiskAnnCandidates(ScanState* so, Relation index, uint32 seg, Candidate* heap, int* nheap,
                       int cap) {
  Pending* p = &so->pending[seg];
  if (so->diskann[seg] == nullptr)
    so->diskann[seg] = DiskAnnScanBegin(index, so->meta->segments[seg], so->query,
                                        so->meta->dims, so->meta->metric, g_ef_search, so->ctx);
  if (!p->started || p->more) {
    if (p->n + cap > p->cap) {
      int newcap = std::max(p->n + cap, p->cap * 2);
      Candidate* items = static_cast<Candidate*>(palloc(sizeof(Candidate) * newcap));
      if (p->n > 0) std::memcpy(items, p->items, sizeof(Candidate) * p->n);
      if (p->items) pfree(p->items);
      p->items = items;
      p->cap = newcap;
    }
    float* dists = static_cast<float*>(palloc(sizeof(float) * cap));
    ItemPointerData* tids = static_cast<ItemPointerData*>(palloc(sizeof(ItemPointerData) * cap));
    int got = DiskAnnScanNext(so->diskann[seg], cap, dists, tids);
    for (int i = 0; i < got; i++) {
      Candidate c;
      c.dist = dists[i];
      c.tid = tids[i];
      // A result closer than a row already returned arrived late (the
      // search's order across calls is approximate): relaxed_order still
      // returns it, strict_order drops it.
      if (!so->have_last || CandLess(so->last, c) || g_iterative_scan != kIterStrict)
        p->items[p->n++] = c;
    }
    pfree(dists);
    pfree(tids);
    p->started = true;
    p->more = got == cap;
  }
  for (int i = 0; i < p->n; i++) PushCandidate(p->items[i], heap, nheap, cap);
  return p->more;
}

void NextBatch(ScanState* so, Relation index) {
  int cap = so->next_batch_size;
  int64 remaining = so->limit - so->returned;
  if (remaining <= 0 || so->exhausted) {
    so->nbatch = so->pos = 0;
    so->exhausted = true;
    return;
  }
  if (cap > remaining) cap = static_cast<int>(remaining);
  if (so->batch) pfree(so->batch);
  so->batch = static_cast<Candidate*>(palloc(sizeof(Candidate) * cap));
  int n = 0;
  const MetaData* m = so->meta;
  bool more = false;
  if (m->dims > 0) {
    ScanChain(so, index, m->l0_id, m->l0_head, so->batch, &n, cap);
    for (uint32 i = 0; i < m->nsegments; i++) {
      if (m->segments[i].kind == kSegmentDiskANN)
        more |= DiskAnnCandidates(so, index, i, so->batch, &n, cap);
      else
        ScanChain(so, index, m->segments[i].id, m->segments[i].head, so->batch, &n, cap);
    }
  }
  std::sort_heap(so->batch, so->batch + n, CandLess);
  // Every DiskANN result at or before the batch's last key is in the batch
  // (the heap keeps the smallest `cap` of all offered): forget them.
  for (uint32 i = 0; i < m->nsegments; i++) {
    Pending* p = &so->pending[i];
    if (p->n == 0) continue;
    int keep = 0;
    for (int j = 0; j < p->n; j++)
      if (n == cap && CandLess(so->batch[n - 1], p->items[j])) p->items[keep++] = p->items[j];
    p->n = keep;
  }
  so->nbatch = n;
  so->pos = 0;
  if (n < cap && !more) so->exhausted = true;  // nothing further exists
  if (so->next_batch_size < (1 << 20)) so->next_batch_size *= 2;
}

void StartScan(IndexScanDesc scan) {
  ScanState* so = static_cast<ScanState*>(scan->opaque);
  Relation index = scan->indexRelation;
  so->meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, so->meta);
  so->query = nullptr;
  if (scan->numberOfOrderBys > 0 && !(scan->orderByData[0].sk_flags & SK_ISNULL)) {
    Vector* q = DatumGetVector(scan->orderByData[0].sk_argument);
    if (so->meta->dims > 0 && q->dim != so->meta->dims)
      ereport(ERROR, (errcode(ERRCODE_DATA_EXCEPTION),
                      errmsg("different vector dimensions %d and %d", so->meta->dims, q->dim)));
    so->query = static_cast<float*>(palloc(sizeof(float) * q->dim));
    std::memcpy(so->query, q->x, sizeof(float) * q->dim);
    so->query_dims = q->dim;
  }
  so->limit = g_iterative_scan == kIterOff ? g_ef_search : std::max(g_max_scan_tuples, g_ef_search);
  so->next_batch_size = g_ef_search;
  so->returned = 0;
  so->have_last = false;
  so->exhausted = false;
  so->batch = nullptr;
  so->nbatch = so->pos = 0;
  so->diskann = static_cast<DiskAnnScan**>(palloc0(sizeof(DiskAnnScan*) * (so->meta->nsegments + 1)));
  so->pending = static_cast<Pending*>(palloc0(sizeof(Pending) * (so->meta->nsegments + 1)));
  so->started = true;
}

IndexScanDesc BeginScanImpl(Relation index, int nkeys, int norderbys) {
  IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
  ScanState* so = static_cast<ScanState*>(palloc0(sizeof(ScanState)));
  so->ctx = AllocSetContextCreate(CurrentMemoryContext, "vecgo scan", ALLOCSET_DEFAULT_SIZES);
  scan->opaque = so;
  if (norderbys > 0) {
    scan->xs_orderbyvals = static_cast<Datum*>(palloc0(sizeof(Datum) * norderbys));
    scan->xs_orderbynulls = static_cast<bool*>(palloc(sizeof(bool) * norderbys));
    std::memset(scan->xs_orderbynulls, true, sizeof(bool) * norderbys);
  }
  return scan;
}

void EndDiskAnnScans(ScanState* so) {
  if (so->diskann == nullptr || so->meta == nullptr) return;
  for (uint32 i = 0; i < so->meta->nsegments; i++)
    if (so->diskann[i]) DiskAnnScanEnd(so->diskann[i]);
}

void RescanImpl(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys) {
  ScanState* so = static_cast<ScanState*>(scan->opaque);
  EndDiskAnnScans(so);
  if (keys && scan->numberOfKeys > 0)
    std::memmove(scan->keyData, keys, scan->numberOfKeys * sizeof(ScanKeyData));
  if (orderbys && scan->numberOfOrderBys > 0)
    std::memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
  (void)nkeys;
  (void)norderbys;
  MemoryContextReset(so->ctx);
  std::memset(&so->reader, 0, sizeof(so->reader));
  so->started = false;
  so->batch = nullptr;
  so->meta = nullptr;
  so->diskann = nullptr;
  so->pending = nullptr;
}

bool GetTupleImpl(IndexScanDesc scan, ScanDirection dir) {
  ScanState* so = static_cast<ScanState*>(scan->opaque);
  if (!ScanDirectionIsForward(dir))
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("vecgo index scans only go forward")));
  MemoryContext old = MemoryContextSwitchTo(so->ctx);
  if (!so->started) StartScan(scan);
  if (so->pos >= so->nbatch) NextBatch(so, scan->indexRelation);
  MemoryContextSwitchTo(old);
  if (so->pos >= so->nbatch) return false;

  const Candidate& c = so->batch[so->pos++];
  so->last = c;
  so->have_last = true;
  so->returned++;
  scan->xs_heaptid = c.tid;
  scan->xs_recheck = false;
  scan->xs_recheckorderby = false;
  if (scan->numberOfOrderBys > 0) {
    if (so->query) {
      scan->xs_orderbyvals[0] = Float8GetDatum(OperatorValue(so->meta->metric, c.dist));
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
    EndDiskAnnScans(so);
    MemoryContextDelete(so->ctx);
    pfree(so);
    scan->opaque = nullptr;
  });
}

}  // namespace vecgo::pg
