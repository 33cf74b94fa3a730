// Flat segments (and the L0 log, which readers see as one): a chain of
// (heap TID, flags, vector) records, searched by an exact SIMD scan.
//
// A Flat tier has no structure beyond its records, so every operation is one
// pass over the chain: the scan's cursor keeps the best rows after those it
// already yielded, VACUUM flags dead records in place, compaction copies the
// live ones, verification walks the pages and records.
//
// Nothing here keeps a C++ object with a destructor alive: PostgreSQL errors
// may pass through these frames.
#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstring>

#include "guard.h"
#include "am.h"

extern "C" {
#include "commands/vacuum.h"
#include "optimizer/optimizer.h"
}

namespace vecgo::pg {

void WriteFlatSegment(Relation index, uint32 id, const char* records, Size nrecords, Size record_size,
                      SegmentEntry* e) {
  ChainWriter* w = NewChainWriter();
  ChainWriterBegin(w, index, id);
  ChainWriterAppend(w, records, nrecords * record_size);
  ChainWriterFinish(w);
  std::memset(e, 0, sizeof(*e));
  e->id = id;
  e->kind = kSegmentFlat;
  e->quantization = kQuantNone;  // Flat segments keep full vectors
  e->head = w->head;
  e->tail = w->tail;
  e->npages = w->npages;
  e->rows = nrecords;
  e->deleted = 0;
  pfree(w);
}

namespace {

inline const float* RecordVector(const RecordHeader* h) {
  return reinterpret_cast<const float*>(reinterpret_cast<const char*>(h) + sizeof(RecordHeader));
}

// ------------------------------------------------------------------ scan
// Each Next is one pass over the chain keeping, in a bounded max-heap, the
// best `max` rows after the last one yielded: exact order, and no state but
// that last row between calls.
class FlatCursor final : public TierCursor {
 public:
  FlatCursor(const TierScan& scan, const SegmentEntry& e)
      : TierCursor(true),
        index_(scan.index),
        query_(scan.query),
        metric_(scan.meta->metric),
        dims_(scan.meta->dims),
        id_(e.id),
        head_(e.head) {
    std::memset(&reader_, 0, sizeof(reader_));
  }
  // Starts at stream offset `offset` of page `block`, skipping `skip` records.
  void StartAt(BlockNumber block, uint32 offset, uint64 skip) {
    head_ = block;
    offset_ = offset;
    skip_ = skip;
  }

  int Next(int max, vecgo::Neighbor* out) override {
    if (max <= 0) return 0;
    if (max > heap_cap_) {
      if (heap_) pfree(heap_);
      heap_ = static_cast<vecgo::Neighbor*>(palloc(sizeof(vecgo::Neighbor) * max));
      heap_cap_ = max;
    }
    int n = 0;
    ChainReaderBeginAt(&reader_, index_, id_, head_, offset_, RecordSize(dims_));
    const RecordHeader* rec;
    uint64 skipped = 0;
    while ((rec = ChainReaderNext(&reader_)) != nullptr) {
      if (skipped < skip_) {
        skipped++;
        continue;
      }
      if (rec->flags & kRecordDeleted) continue;
      vecgo::Neighbor c{query_ ? IndexDistance(metric_, query_, RecordVector(rec), dims_, 0.0f) : INFINITY,
                        TidLabel(rec->tid)};
      if (have_last_ && !(last_ < c)) continue;
      if (n < max) {
        heap_[n++] = c;
        std::push_heap(heap_, heap_ + n);
      } else if (c < heap_[0]) {
        std::pop_heap(heap_, heap_ + n);
        heap_[n - 1] = c;
        std::push_heap(heap_, heap_ + n);
      }
      CHECK_FOR_INTERRUPTS();
    }
    ChainReaderEnd(&reader_);
    std::sort_heap(heap_, heap_ + n);
    std::memcpy(out, heap_, sizeof(vecgo::Neighbor) * n);
    if (n > 0) {
      last_ = heap_[n - 1];
      have_last_ = true;
    }
    return n;
  }

 private:
  Relation index_;
  const float* query_;
  uint8 metric_;
  int dims_;
  uint32 id_;
  BlockNumber head_;
  uint32 offset_ = 0;
  uint64 skip_ = 0;
  ChainReader reader_;
  vecgo::Neighbor* heap_ = nullptr;
  int heap_cap_ = 0;
  bool have_last_ = false;
  vecgo::Neighbor last_{0.0f, 0};
};

}  // namespace

TierCursor* FlatOpenAt(const TierScan& scan, const SegmentEntry& e, BlockNumber block, uint32 offset,
                       uint64 skip) {
  void* mem = MemoryContextAlloc(scan.ctx, sizeof(FlatCursor));
  FlatCursor* c = new (mem) FlatCursor(scan, e);
  c->StartAt(block, offset, skip);
  return c;
}

namespace {

TierCursor* FlatOpen(const TierScan& scan, const SegmentEntry& e) { return FlatOpenAt(scan, e, e.head, 0, 0); }

// ------------------------------------------------------------------ vacuum

// The records of one page VACUUM flags (LogDeletions' `mark`): offsets in
// 8-byte units from the page's stream start.
struct FlatDeletions {
  int n;
  uint16 offsets[kStreamBytes / 8];
};

uint64 MarkFlatDeletions(Page page, void* arg) {
  const FlatDeletions* d = static_cast<const FlatDeletions*>(arg);
  // The records cannot have changed while the page was unlocked (flags are
  // set by VACUUM alone, appends only add bytes past those examined), but
  // only what is set here is counted.
  uint64 marked = 0;
  for (int i = 0; i < d->n; i++) {
    RecordHeader* h = reinterpret_cast<RecordHeader*>(PageStream(page) + d->offsets[i] * 8);
    if (h->flags & kRecordDeleted) continue;
    h->flags |= kRecordDeleted;
    marked++;
  }
  return marked;
}

uint64 FlatBulkDelete(IndexVacuumInfo* info, const SegmentEntry& e, IndexBulkDeleteCallback callback,
                      void* cbstate, IndexBulkDeleteResult* stats) {
  Relation index = info->index;
  MetaData meta;
  ReadMeta(index, &meta);
  const Size rs = RecordSize(meta.dims);
  uint64 flagged = 0;
  uint64 page_index = 0;
  BlockNumber blk = e.head;
  BlockNumber nblocks = 0;
  FlatDeletions* dead = static_cast<FlatDeletions*>(palloc(sizeof(FlatDeletions)));
  uint64 ordinals[kStreamBytes / 8];
  // At least the head page: an invalid head is damage, not an empty chain.
  while (page_index == 0 || blk != InvalidBlockNumber) {
    vacuum_delay_point();
    CheckChainStep(index, e.id, blk, page_index, &nblocks);
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    PageOpaque* o = GetOpaque(page);
    if (!IsChainPageOf(page, e.id) || o->used > kStreamBytes) {
      UnlockReleaseBuffer(buf);
      RaiseBadChainPage(index, blk, e.id);
    }
    // The records whose 8-byte header starts on this page.
    uint64 start = page_index * kStreamBytes;
    uint64 end = start + o->used;
    uint64 s = ((start + rs - 1) / rs) * rs;
    dead->n = 0;
    for (; s + sizeof(RecordHeader) <= end; s += rs) {
      RecordHeader* h = reinterpret_cast<RecordHeader*>(PageStream(page) + (s - start));
      if (h->flags & kRecordDeleted) {
        flagged++;
        continue;
      }
      if (callback(&h->tid, cbstate)) {
        ordinals[dead->n] = s / rs;
        dead->offsets[dead->n++] = static_cast<uint16>((s - start) / 8);
      }
      else
        stats->num_index_tuples += 1;
    }
    blk = o->next;
    LockBuffer(buf, BUFFER_LOCK_UNLOCK);
    if (dead->n > 0) {
      const uint64 marked = LogDeletions(index, buf, e.id, MarkFlatDeletions, dead);
      flagged += marked;
      stats->tuples_removed += static_cast<double>(marked);
    }
    ReleaseBuffer(buf);
    // The MemTable over this chain must not return them either (their TIDs
    // may be reused by new rows).
    MemTableMarkDeleted(index, e.id, ordinals, dead->n);
    page_index++;
  }
  pfree(dead);
  return flagged;
}

// ------------------------------------------------------------------ compaction input

Size FlatCopyLive(Relation index, const MetaData& meta, const SegmentEntry& e, char* out, Size max) {
  const Size rs = RecordSize(meta.dims);
  ChainReader r;
  std::memset(&r, 0, sizeof(r));
  ChainReaderBegin(&r, index, e.id, e.head, rs);
  Size n = 0;
  const RecordHeader* h;
  while ((h = ChainReaderNext(&r)) != nullptr) {
    if (h->flags & kRecordDeleted) continue;
    if (n == max)
      RaiseSegmentCorrupt(index, e.id, "holds more live rows than the manifest's %llu",
                          static_cast<unsigned long long>(max));
    std::memcpy(out + n * rs, h, rs);
    n++;
    CHECK_FOR_INTERRUPTS();
  }
  ChainReaderEnd(&r);
  pfree(r.page_copy);
  return n;
}

// ------------------------------------------------------------------ verify

// Walks one chain page by page and record by record. Marks its pages in
// `claimed`; what it counts goes to *out for the caller to compare with
// the manifest.
void FlatVerify(Relation index, const MetaData& meta, const SegmentEntry& e, char* claimed,
                BlockNumber nblocks, TierFacts* out) {
  const uint32 id = e.id;
  const Size rs = meta.dims > 0 ? RecordSize(meta.dims) : 8;
  BlockNumber blk = e.head, last = InvalidBlockNumber;
  uint64 npages = 0, bytes = 0;
  std::memset(out, 0, sizeof(*out));
  out->head_tail = InvalidBlockNumber;
  auto bad = [&](const char* fmt, unsigned long long a, unsigned long long b) {
    RaiseSegmentCorrupt(index, id, fmt, a, b);
  };
  // At least the head page: an invalid head is damage, not an empty chain.
  while (npages == 0 || blk != InvalidBlockNumber) {
    CHECK_FOR_INTERRUPTS();
    if (blk >= nblocks || blk == kMetaBlock) bad("links to block %llu of %llu", blk, nblocks);
    if (claimed[blk]) bad("reuses block %llu (claimed %llu times)", blk, claimed[blk]);
    claimed[blk]++;
    Buffer buf = ReadBuffer(index, blk);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    PageOpaque o = *GetOpaque(page);
    bool notours = PageIsNew(page) || PageGetSpecialSize(page) != MAXALIGN(sizeof(PageOpaque));
    UnlockReleaseBuffer(buf);
    if (notours || o.page_id != kPageId) bad("block %llu is not a vecgo page (%llu)", blk, 0);
    if (o.flags != kPageChain) bad("block %llu has page flags %llu", blk, o.flags);
    if (o.segment_id != id) bad("block %llu belongs to segment %llu", blk, o.segment_id);
    if (o.used > kStreamBytes) bad("block %llu claims %llu bytes", blk, o.used);
    if (o.next != InvalidBlockNumber && o.used != kStreamBytes)
      bad("inner block %llu is only %llu bytes full", blk, o.used);
    if (npages == 0) {
      out->head_npages = o.npages;
      out->head_tail = o.tail;
    }
    npages++;
    bytes += o.used;
    last = blk;
    blk = o.next;
    if (npages > nblocks) bad("has a cycle (%llu pages of %llu)", npages, nblocks);
  }
  if (bytes % rs != 0) bad("holds %llu bytes, not a multiple of the record size %llu", bytes, rs);
  uint64 deleted = 0;
  if (meta.dims > 0) {
    ChainReader r;
    std::memset(&r, 0, sizeof(r));
    ChainReaderBegin(&r, index, id, e.head, rs);
    const RecordHeader* h;
    while ((h = ChainReaderNext(&r)) != nullptr) {
      if (h->flags & ~kRecordDeleted) bad("record with flags %llu (%llu)", h->flags, 0);
      const BlockNumber heap_blk = ItemPointerGetBlockNumberNoCheck(&h->tid);
      if (!ItemPointerIsValid(&h->tid) || ItemPointerGetOffsetNumberNoCheck(&h->tid) == 0 ||
          heap_blk == InvalidBlockNumber)
        bad("record with invalid heap TID (block %llu, offset %llu)", heap_blk,
            ItemPointerGetOffsetNumberNoCheck(&h->tid));
      if (h->flags & kRecordDeleted)
        deleted++;
      else
        out->max_heap_block = std::max(out->max_heap_block, heap_blk);
    }
    ChainReaderEnd(&r);
    pfree(r.page_copy);
  } else if (bytes != 0) {
    bad("holds %llu bytes but the index has %llu dimensions", bytes, 0);
  }
  out->pages = npages;
  out->tail = last;
  out->rows = bytes / rs;
  out->deleted = deleted;
}

// ------------------------------------------------------------------ cost
// Read sequentially; every live row gets one distance before the first row
// comes out.
void FlatCost(const MetaData&, const SegmentEntry& e, double, TierCost* out) {
  out->exact = true;
  out->rows = static_cast<double>(LiveRows(e));
  out->pages = e.npages;
  out->batch = out->pages * seq_page_cost + out->rows * (cpu_index_tuple_cost + cpu_operator_cost);
  out->all = out->batch;
}

}  // namespace

const TierOps kFlatTierOps = {kSegmentFlat, "flat", FlatOpen, FlatBulkDelete, FlatCopyLive, FlatVerify,
                              FlatCost};

}  // namespace vecgo::pg
