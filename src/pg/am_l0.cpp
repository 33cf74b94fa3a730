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

namespace {
// Makes `buf` (a new page, exclusively locked) the head of an empty L0 log
// and releases it.
BlockNumber InitEmptyL0(Relation index, Buffer buf, uint32 id) {
  BlockNumber blk = BufferGetBlockNumber(buf);
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
  InitL0Page(page, id, blk);
  GenericXLogFinish(state);
  UnlockReleaseBuffer(buf);
  return blk;
}
}  // namespace

BlockNumber CreateEmptyL0(Relation index, uint32 id) { return InitEmptyL0(index, NewBuffer(index), id); }

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
  const BlockNumber nblocks =
      IndexBlocks(index, IndexSizeCache(index), static_cast<uint64>(pages) + 1);
  if (pages == 0 || pages >= nblocks)
    RaiseIndexCorrupted(index,
                        "The head page of L0 log %u counts %u pages; the index has %u blocks.", id,
                        pages, nblocks);
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
  // Pages for the part of the record that does not fit the tail page are
  // taken under the head and tail locks, so only without waiting: when the
  // relation must be extended and another backend holds the extension lock
  // (a compaction writing a segment), every lock is let go, the wait happens
  // with none held (cancellable; nobody queues behind our page locks), and
  // the append starts over.
  const int max_new = static_cast<int>((len + kStreamBytes - 1) / kStreamBytes) + 1;
  Buffer local[16];
  Buffer* fresh = max_new <= 16 ? local : static_cast<Buffer*>(palloc(sizeof(Buffer) * max_new));
  Buffer metabuf, headbuf, tailbuf;
  const MetaData* meta;
  uint32 l0_id, pages_before;
  BlockNumber head, tailblk;
  Size used, first, rest;
  int need;
  for (;;) {
    metabuf = ReadBuffer(index, kMetaBlock);
    LockBuffer(metabuf, BUFFER_LOCK_SHARE);
    meta = PageGetMeta(BufferGetPage(metabuf));
    CheckMeta(index, meta);
    l0_id = meta->l0_id;
    head = meta->l0_head;

    // The head, the tail hint and the page count are read from disk: each is
    // checked before it is used (a block number past the end would extend
    // the relation, a count of 0 would wrap the ordinal below).
    CheckChainStep(index, l0_id, head, 0, IndexSizeCache(index));
    headbuf = ReadBuffer(index, head);
    LockBuffer(headbuf, BUFFER_LOCK_EXCLUSIVE);
    Page headpage = BufferGetPage(headbuf);
    if (!IsChainPageOf(headpage, l0_id)) RaiseBadChainPage(index, head, l0_id);
    tailblk = GetOpaque(headpage)->tail;
    pages_before = GetOpaque(headpage)->npages;
    CheckL0PageCount(index, l0_id, pages_before);
    tailbuf = headbuf;
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
    used = GetOpaque(BufferGetPage(tailbuf))->used;
    first = std::min(len, kStreamBytes - used);
    rest = len - first;
    need = static_cast<int>((rest + kStreamBytes - 1) / kStreamBytes);
    int got = 0;
    while (got < need && BufferIsValid(fresh[got] = NewBufferNoWait(index))) got++;
    if (got == need) break;
    for (int i = 0; i < got; i++) ReturnNewBuffer(index, fresh[i]);
    if (tailbuf != headbuf) UnlockReleaseBuffer(tailbuf);
    UnlockReleaseBuffer(headbuf);
    UnlockReleaseBuffer(metabuf);
    WaitForExtension(index);
  }

  L0Position pos;
  pos.l0_id = l0_id;
  pos.ordinal = (static_cast<uint64>(pages_before - 1) * kStreamBytes + used) / len;
  pos.block = tailblk;
  pos.offset = static_cast<uint32>(used);

  // The part that does not fit goes to the new pages, written (and logged)
  // before they become reachable: a crash in between only leaks them.
  BlockNumber first_new = InvalidBlockNumber, last_new = InvalidBlockNumber;
  uint32 added = 0;
  if (need > 0) {
    first_new = BufferGetBlockNumber(fresh[0]);
    last_new = BufferGetBlockNumber(fresh[need - 1]);
    Size off = first;
    for (int i = 0; i < need; i++) {
      const Size chunk = std::min(kStreamBytes, len - off);
      const bool more = i + 1 < need;
      GenericXLogState* state = GenericXLogStart(index);
      Page page = GenericXLogRegisterBuffer(state, fresh[i], GENERIC_XLOG_FULL_IMAGE);
      InitChainPage(page, l0_id);
      std::memcpy(PageStream(page), record + off, chunk);
      SetUsed(page, chunk);
      GetOpaque(page)->next = more ? BufferGetBlockNumber(fresh[i + 1]) : InvalidBlockNumber;
      GenericXLogFinish(state);
      UnlockReleaseBuffer(fresh[i]);
      added++;
      off += chunk;
    }
  }
  if (fresh != local) pfree(fresh);
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
  // Sealed logs of graph size that compaction has not turned into graphs
  // yet: back-pressure (MemTableInsert) once they pile up.
  pos.graphs_waiting = 0;
  const uint64 graph_rows = GraphMinRows(*meta);
  for (uint32 i = 0; i < meta->nsegments && i < static_cast<uint32>(kMaxSegments); i++)
    if (meta->segments[i].kind == kSegmentFlat && LiveRows(meta->segments[i]) >= graph_rows)
      pos.graphs_waiting++;

  if (tailbuf != headbuf) UnlockReleaseBuffer(tailbuf);
  UnlockReleaseBuffer(headbuf);
  UnlockReleaseBuffer(metabuf);
  return pos;
}

int64 SealL0(Relation index, bool only_if_full, bool quiet) {
  // The new L0 log's page is taken under the metapage's exclusive lock only
  // without waiting (inserts and planning queue behind that lock); when the
  // relation must be extended and another backend holds the extension lock,
  // the page is taken first, with no lock held, and the seal starts over.
  Buffer fresh = InvalidBuffer;
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  int64 sealed = 0;
  for (;;) {
    Buffer metabuf = ReadBuffer(index, kMetaBlock);
    LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
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
    if (sz.rows > 0 && (!only_if_full || L0IsFull(index, *meta, sz.pages))) {
      if (meta->nsegments >= static_cast<uint32>(kMaxSegments)) {
        UnlockReleaseBuffer(metabuf);
        if (BufferIsValid(fresh)) ReturnNewBuffer(index, fresh);
        if (only_if_full || quiet) return 0;
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("vecgo index \"%s\" already has %d segments",
                               RelationGetRelationName(index), kMaxSegments),
                        errhint("Run vecgo_compact() on the index first.")));
      }
      if (!BufferIsValid(fresh)) fresh = NewBufferNoWait(index);
      if (!BufferIsValid(fresh)) {
        UnlockReleaseBuffer(metabuf);
        fresh = NewBuffer(index);
        continue;
      }
      SegmentEntry* e = &meta->segments[meta->nsegments++];
      *e = L0Entry(*meta);
      e->tail = sz.tail;
      e->npages = sz.pages;
      e->rows = sz.rows;
      const uint32 sealed_id = meta->l0_id;
      meta->l0_id = meta->next_segment_id++;
      meta->l0_head = InitEmptyL0(index, fresh, meta->l0_id);
      fresh = InvalidBuffer;
      meta->l0_deleted = 0;
      WriteMeta(index, metabuf, *meta);
      sealed = static_cast<int64>(sz.rows);
      MemTableOnSeal(index, sealed_id, sz.rows, *meta);
    }
    UnlockReleaseBuffer(metabuf);
    break;
  }
  if (BufferIsValid(fresh)) ReturnNewBuffer(index, fresh);
  pfree(meta);
  return sealed;
}

}  // namespace vecgo::pg
