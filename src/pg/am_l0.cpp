// The L0 log: the tier every INSERT appends to.
//
// aminsert appends the row's record to the L0 log in the inserting
// transaction, so it is durable exactly when that transaction commits. When
// the log reaches memtable_size it is sealed: the chain becomes a Flat
// segment by a manifest change alone (no copy) and a fresh, empty L0 log
// starts. To every reader the L0 log is a Flat chain (L0Entry); what is its
// own is here: creating it, appending, its size, sealing.
//
// Locking: an append holds the metapage share lock (so a seal, which takes it
// exclusively, never races it) and the head page's exclusive lock, which
// serialises appenders and guards the tail hint and page count.
#include <algorithm>
#include <cstring>

#include "guard.h"
#include "am.h"

namespace vecgo::pg {

SegmentEntry L0Entry(const MetaData& meta) {
  SegmentEntry e;
  std::memset(&e, 0, sizeof(e));
  e.id = meta.l0_id;
  e.kind = kSegmentFlat;
  e.quantization = kQuantNone;
  e.head = meta.l0_head;
  e.tail = InvalidBlockNumber;
  e.deleted = meta.l0_deleted;
  return e;
}

void InitL0Page(Page page, uint32 id, BlockNumber blk) {
  InitChainPage(page, id);
  GetOpaque(page)->tail = blk;
  GetOpaque(page)->npages = 1;
}

BlockNumber CreateEmptyL0(Relation index, uint32 id) {
  Buffer buf = NewBuffer(index);
  BlockNumber blk = BufferGetBlockNumber(buf);
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
  InitL0Page(page, id, blk);
  GenericXLogFinish(state);
  UnlockReleaseBuffer(buf);
  return blk;
}

bool L0IsFull(Relation index, const MetaData& meta, uint32 pages) {
  if (static_cast<double>(pages) * BLCKSZ >=
      static_cast<double>(OptionsFromRelation(index).memtable_size_mb) * 1024 * 1024)
    return true;
  if (meta.dims <= 0) return false;
  const uint64 rows = static_cast<uint64>(pages) * kStreamBytes / RecordSize(meta.dims);
  const uint64 min_rows = GraphMinRows(meta);
  if (rows < min_rows) return false;
  // The largest graph build is a search over sizes: computed once per
  // (options, dimensions, budget), not per insert.
  static StoredOptions cached_options;
  static int32 cached_dims = 0;
  static Size cached_budget = 0;
  static uint64 cached_cap = 0;
  const Size budget = DiskAnnBudgetBytes();
  if (cached_dims != meta.dims || cached_budget != budget ||
      std::memcmp(&cached_options, &meta.options, sizeof(StoredOptions)) != 0) {
    cached_cap = DiskAnnMaxRows(&meta, budget);
    cached_options = meta.options;
    cached_dims = meta.dims;
    cached_budget = budget;
  }
  return cached_cap >= min_rows && rows >= cached_cap;
}

namespace {

// A copy of the opaque of page `blk`, which must belong to chain `id`.
PageOpaque ReadChainOpaque(Relation index, BlockNumber blk, uint32 id) {
  CheckChainStep(index, id, blk, 0, IndexSizeCache(index));
  Buffer buf = ReadBuffer(index, blk);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  Page page = BufferGetPage(buf);
  if (!IsChainPageOf(page, id)) {
    UnlockReleaseBuffer(buf);
    RaiseBadChainPage(index, blk, id);
  }
  PageOpaque o = *GetOpaque(page);
  UnlockReleaseBuffer(buf);
  return o;
}

// Raises unless `pages`, the page count an L0 head page holds, can be the
// count of a chain in this index: at least its head, and no more pages than
// the index has blocks (all the arithmetic on it stays far from wrapping).
void CheckL0PageCount(Relation index, uint32 id, uint32 pages) {
  BlockNumber* nblocks = IndexSizeCache(index);
  if (pages >= *nblocks) *nblocks = RelationGetNumberOfBlocks(index);
  if (pages == 0 || pages >= *nblocks)
    RaiseIndexCorrupted(index,
                        "The head page of L0 log %u counts %u pages; the index has %u blocks.", id,
                        pages, *nblocks);
}

}  // namespace

L0Size ReadL0Size(Relation index, const MetaData& meta) {
  // The head page holds the page count and the tail; the tail its bytes.
  // (Without the metapage lock an append may link a page past the tail
  // between the two reads, so the tail's link is not checked here.)
  const PageOpaque head = ReadChainOpaque(index, meta.l0_head, meta.l0_id);
  CheckL0PageCount(index, meta.l0_id, head.npages);
  if ((head.npages == 1) != (head.tail == meta.l0_head))
    RaiseIndexCorrupted(index,
                        "The head page of L0 log %u counts %u pages but names block %u its tail.",
                        meta.l0_id, head.npages, head.tail);
  const PageOpaque tail = ReadChainOpaque(index, head.tail, meta.l0_id);
  if (tail.used > kStreamBytes)
    RaiseIndexCorrupted(index, "Block %u of L0 log %u claims %u bytes.", head.tail, meta.l0_id,
                        tail.used);
  L0Size sz;
  sz.pages = head.npages;
  sz.tail = head.tail;
  sz.bytes = static_cast<uint64>(sz.pages - 1) * kStreamBytes + tail.used;
  sz.rows = meta.dims > 0 ? sz.bytes / RecordSize(meta.dims) : 0;
  return sz;
}

L0Position AppendToL0(Relation index, const char* record, Size len) {
  Buffer metabuf = ReadBuffer(index, kMetaBlock);
  LockBuffer(metabuf, BUFFER_LOCK_SHARE);
  const MetaData* meta = PageGetMeta(BufferGetPage(metabuf));
  CheckMeta(index, meta);
  uint32 l0_id = meta->l0_id;
  BlockNumber head = meta->l0_head;

  // The head, the tail hint and the page count are read from disk: each is
  // checked before it is used (a block number past the end would extend
  // the relation, a count of 0 would wrap the ordinal below).
  CheckChainStep(index, l0_id, head, 0, IndexSizeCache(index));
  Buffer headbuf = ReadBuffer(index, head);
  LockBuffer(headbuf, BUFFER_LOCK_EXCLUSIVE);
  Page headpage = BufferGetPage(headbuf);
  if (!IsChainPageOf(headpage, l0_id)) RaiseBadChainPage(index, head, l0_id);
  BlockNumber tailblk = GetOpaque(headpage)->tail;
  const uint32 pages_before = GetOpaque(headpage)->npages;
  CheckL0PageCount(index, l0_id, pages_before);
  Buffer tailbuf = headbuf;
  if (tailblk != head) {
    CheckChainStep(index, l0_id, tailblk, 0, IndexSizeCache(index));
    tailbuf = ReadBuffer(index, tailblk);
    LockBuffer(tailbuf, BUFFER_LOCK_EXCLUSIVE);
  }
  {
    Page tp = BufferGetPage(tailbuf);
    if (!IsChainPageOf(tp, l0_id) || GetOpaque(tp)->next != InvalidBlockNumber ||
        GetOpaque(tp)->used > kStreamBytes)
      RaiseBadChainPage(index, tailblk, l0_id);
  }
  Size used = GetOpaque(BufferGetPage(tailbuf))->used;
  Size first = std::min(len, kStreamBytes - used);
  Size rest = len - first;

  L0Position pos;
  pos.l0_id = l0_id;
  pos.ordinal = (static_cast<uint64>(pages_before - 1) * kStreamBytes + used) / len;
  pos.block = tailblk;
  pos.offset = static_cast<uint32>(used);

  // The part that does not fit goes to new pages, written (and logged) before
  // they become reachable: a crash in between only leaks them.
  BlockNumber first_new = InvalidBlockNumber, last_new = InvalidBlockNumber;
  uint32 added = 0;
  if (rest > 0) {
    Buffer cur = NewBuffer(index);
    first_new = BufferGetBlockNumber(cur);
    Size off = first;
    for (;;) {
      Size chunk = std::min(kStreamBytes, len - off);
      bool more = off + chunk < len;
      Buffer nb = more ? NewBuffer(index) : InvalidBuffer;
      GenericXLogState* state = GenericXLogStart(index);
      Page page = GenericXLogRegisterBuffer(state, cur, GENERIC_XLOG_FULL_IMAGE);
      InitChainPage(page, l0_id);
      std::memcpy(PageStream(page), record + off, chunk);
      SetUsed(page, chunk);
      GetOpaque(page)->next = more ? BufferGetBlockNumber(nb) : InvalidBlockNumber;
      GenericXLogFinish(state);
      added++;
      if (!more) {
        last_new = BufferGetBlockNumber(cur);
        UnlockReleaseBuffer(cur);
        break;
      }
      UnlockReleaseBuffer(cur);
      cur = nb;
      off += chunk;
    }
  }
  // A record that starts exactly at a page's end starts on the next page.
  if (first == 0) {
    pos.block = first_new;
    pos.offset = 0;
  }

  GenericXLogState* state = GenericXLogStart(index);
  Page tpage = GenericXLogRegisterBuffer(state, tailbuf, 0);
  Page hpage = tailbuf == headbuf ? tpage : GenericXLogRegisterBuffer(state, headbuf, 0);
  std::memcpy(PageStream(tpage) + used, record, first);
  SetUsed(tpage, used + first);
  if (rest > 0) {
    GetOpaque(tpage)->next = first_new;
    GetOpaque(hpage)->tail = last_new;
    GetOpaque(hpage)->npages += added;
  }
  pos.l0_pages = GetOpaque(hpage)->npages;
  GenericXLogFinish(state);
  pos.full = L0IsFull(index, *meta, pos.l0_pages);
  pos.dims = meta->dims;
  pos.metric = meta->metric;

  if (tailbuf != headbuf) UnlockReleaseBuffer(tailbuf);
  UnlockReleaseBuffer(headbuf);
  UnlockReleaseBuffer(metabuf);
  return pos;
}

int64 SealL0(Relation index, bool only_if_full, bool quiet) {
  Buffer metabuf = ReadBuffer(index, kMetaBlock);
  LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  std::memcpy(meta, PageGetMeta(BufferGetPage(metabuf)), sizeof(MetaData));
  CheckMeta(index, meta);

  // With the metapage locked exclusively no append is in progress, so the
  // tail hint must name the chain's last page: a chain that goes on past it
  // is not sealed into a segment whose manifest entry would then be wrong.
  const L0Size sz = ReadL0Size(index, *meta);
  if (ReadChainOpaque(index, sz.tail, meta->l0_id).next != InvalidBlockNumber)
    RaiseIndexCorrupted(index,
                        "The tail hint of L0 log %u, block %u, is not the last page of the chain.",
                        meta->l0_id, sz.tail);
  int64 sealed = 0;
  if (sz.rows > 0 && (!only_if_full || L0IsFull(index, *meta, sz.pages))) {
    if (meta->nsegments >= static_cast<uint32>(kMaxSegments)) {
      UnlockReleaseBuffer(metabuf);
      if (only_if_full || quiet) return 0;
      ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                      errmsg("vecgo index \"%s\" already has %d segments",
                             RelationGetRelationName(index), kMaxSegments),
                      errhint("Run vecgo_compact() on the index first.")));
    }
    SegmentEntry* e = &meta->segments[meta->nsegments++];
    *e = L0Entry(*meta);
    e->tail = sz.tail;
    e->npages = sz.pages;
    e->rows = sz.rows;
    const uint32 sealed_id = meta->l0_id;
    meta->l0_id = meta->next_segment_id++;
    meta->l0_head = CreateEmptyL0(index, meta->l0_id);
    meta->l0_deleted = 0;
    WriteMeta(index, metabuf, *meta);
    sealed = static_cast<int64>(sz.rows);
    MemTableOnSeal(index, sealed_id, sz.rows, *meta);
  }
  UnlockReleaseBuffer(metabuf);
  pfree(meta);
  return sealed;
}

}  // namespace vecgo::pg
