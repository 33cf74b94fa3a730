// Pages of the vecgo index: metapage, chains of record pages (writer and
// reader), page allocation and recycling. Every change is WAL-logged with generic
// WAL; pages written whole (new chain pages) are logged as full images.
//
// Nothing here keeps a C++ object with a destructor alive, so PostgreSQL
// errors (buffer manager, WAL) may longjmp through these frames; errors of our
// own are raised with ereport directly for the same reason.
#include <algorithm>
#include <cstdarg>
#include <cstring>

#include "guard.h"
#include "am.h"
#include "worker.h"

extern "C" {
#include "commands/vacuum.h"
#include "storage/freespace.h"
#include "storage/indexfsm.h"
#include "storage/lmgr.h"
#include "utils/snapmgr.h"
}

namespace vecgo::pg {

namespace {

bool PageIsRecyclable(Page page) {
  if (PageIsNew(page)) return true;
  PageOpaque* o = GetOpaque(page);
  return PageGetSpecialSize(page) == MAXALIGN(sizeof(PageOpaque)) && o->page_id == kPageId &&
         (o->flags & kPageDeleted) != 0;
}

}  // namespace

void SetUsed(Page page, Size used) {
  GetOpaque(page)->used = static_cast<uint32>(used);
  reinterpret_cast<PageHeader>(page)->pd_lower = static_cast<LocationIndex>(kPageDataOffset + used);
}

namespace {
// A page from the free space map (a recycled one), exclusively locked;
// InvalidBuffer when it has none. Never waits for a lock.
Buffer FreeSpaceMapBuffer(Relation index) {
  for (;;) {
    BlockNumber blk = GetFreeIndexPage(index);
    if (blk == InvalidBlockNumber) break;
    Buffer buf = ReadBuffer(index, blk);
    // Another backend may have taken it already: then it is locked or reused.
    if (ConditionalLockBuffer(buf)) {
      if (PageIsRecyclable(BufferGetPage(buf))) return buf;
      LockBuffer(buf, BUFFER_LOCK_UNLOCK);
    }
    ReleaseBuffer(buf);
  }
  return InvalidBuffer;
}
}  // namespace

Buffer NewBuffer(Relation index) {
  Buffer buf = FreeSpaceMapBuffer(index);
  if (BufferIsValid(buf)) return buf;
  bool need_lock = !RELATION_IS_LOCAL(index);
  if (need_lock) LockRelationForExtension(index, ExclusiveLock);
  buf = ReadBuffer(index, P_NEW);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  if (need_lock) UnlockRelationForExtension(index, ExclusiveLock);
  return buf;
}

Buffer NewBufferNoWait(Relation index) {
  Buffer buf = FreeSpaceMapBuffer(index);
  if (BufferIsValid(buf)) return buf;
  bool need_lock = !RELATION_IS_LOCAL(index);
  if (need_lock && !ConditionalLockRelationForExtension(index, ExclusiveLock)) return InvalidBuffer;
  buf = ReadBuffer(index, P_NEW);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  if (need_lock) UnlockRelationForExtension(index, ExclusiveLock);
  return buf;
}

void WaitForExtension(Relation index) {
  if (RELATION_IS_LOCAL(index)) return;
  LockRelationForExtension(index, ExclusiveLock);
  UnlockRelationForExtension(index, ExclusiveLock);
}

void ReturnNewBuffer(Relation index, Buffer buf) {
  const BlockNumber blk = BufferGetBlockNumber(buf);
  UnlockReleaseBuffer(buf);
  RecordFreeIndexPage(index, blk);
}

void InitChainPage(Page page, uint32 segment_id) {
  PageInit(page, BLCKSZ, sizeof(PageOpaque));
  PageOpaque* o = GetOpaque(page);
  std::memset(o, 0, sizeof(PageOpaque));
  o->segment_id = segment_id;
  o->next = InvalidBlockNumber;
  o->tail = InvalidBlockNumber;
  o->flags = kPageChain;
  o->page_id = kPageId;
  SetUsed(page, 0);
}

void InitMetaPage(Page page, const MetaData& meta) {
  PageInit(page, BLCKSZ, sizeof(PageOpaque));
  PageOpaque* o = GetOpaque(page);
  std::memset(o, 0, sizeof(PageOpaque));
  o->next = InvalidBlockNumber;
  o->tail = InvalidBlockNumber;
  o->flags = kPageMeta;
  o->page_id = kPageId;
  std::memcpy(PageGetMeta(page), &meta, sizeof(MetaData));
  reinterpret_cast<PageHeader>(page)->pd_lower =
      static_cast<LocationIndex>(kPageDataOffset + sizeof(MetaData));
}

void CheckMeta(Relation index, const MetaData* meta) {
  if (meta->magic != kMagic)
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("index \"%s\" is not a valid vecgo index: bad magic number 0x%08x",
                           RelationGetRelationName(index), meta->magic)));
  if (meta->version != kFormatVersion)
    ereport(ERROR,
            (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
             errmsg("vecgo index \"%s\" has on-disk format version %u, but this build reads "
                    "version %u",
                    RelationGetRelationName(index), meta->version, kFormatVersion),
             errhint("REINDEX INDEX %s to rebuild it in the current format.",
                     quote_identifier(RelationGetRelationName(index)))));
  if (meta->nsegments > static_cast<uint32>(kMaxSegments) ||
      meta->npending > static_cast<uint32>(kMaxPending) || meta->dims < 0 ||
      meta->dims > static_cast<int32>(vecgo::kMaxDim) || meta->metric > kMetricJaccard ||
      meta->elem > kElemBit)
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("vecgo index \"%s\" has a corrupted metapage",
                           RelationGetRelationName(index))));
}

void ReadMeta(Relation index, MetaData* out) {
  Buffer buf = ReadBuffer(index, kMetaBlock);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  Page page = BufferGetPage(buf);
  PageOpaque* o = GetOpaque(page);
  if (PageIsNew(page) || o->page_id != kPageId || !(o->flags & kPageMeta)) {
    UnlockReleaseBuffer(buf);
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("index \"%s\" has no valid vecgo metapage",
                           RelationGetRelationName(index))));
  }
  std::memcpy(out, PageGetMeta(page), sizeof(MetaData));
  UnlockReleaseBuffer(buf);
  CheckMeta(index, out);
}

void WriteMeta(Relation index, Buffer metabuf, const MetaData& meta) {
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, metabuf, 0);
  std::memcpy(PageGetMeta(page), &meta, sizeof(MetaData));
  reinterpret_cast<PageHeader>(page)->pd_lower =
      static_cast<LocationIndex>(kPageDataOffset + sizeof(MetaData));
  GenericXLogFinish(state);
}

void RaiseIndexCorrupted(Relation index, const char* detail_fmt, ...) {
  char detail[512];
  va_list ap;
  va_start(ap, detail_fmt);
  vsnprintf(detail, sizeof(detail), detail_fmt, ap);
  va_end(ap);
  ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                  errmsg("vecgo index \"%s\" is corrupted", RelationGetRelationName(index)),
                  errdetail_internal("%s", detail)));
  pg_unreachable();
}

void CheckChainStep(Relation index, uint32 segment_id, BlockNumber blk, uint64 steps,
                    BlockNumber* nblocks) {
  CHECK_FOR_INTERRUPTS();
  if (blk == kMetaBlock)
    RaiseIndexCorrupted(index, "Segment %u links to the metapage.", segment_id);
  // A chain of steps + 1 pages needs steps + 2 blocks with the metapage.
  IndexBlocks(index, nblocks, std::max<uint64>(static_cast<uint64>(blk) + 1, steps + 2));
  if (blk >= *nblocks)
    RaiseIndexCorrupted(index,
                        "Segment %u refers to block %u, past the end of the index (%u blocks).",
                        segment_id, blk, *nblocks);
  if (steps + 2 > *nblocks)
    RaiseIndexCorrupted(index,
                        "Segment %u has more pages than the index has blocks (%u): its page links "
                        "form a cycle.",
                        segment_id, *nblocks);
}

BlockNumber* IndexSizeCache(Relation index) {
  if (index->rd_amcache == nullptr)
    index->rd_amcache = MemoryContextAllocZero(index->rd_indexcxt, sizeof(BlockNumber));
  return static_cast<BlockNumber*>(index->rd_amcache);
}

BlockNumber IndexBlocks(Relation index, BlockNumber* nblocks, uint64 need) {
  if (need > *nblocks) *nblocks = RelationGetNumberOfBlocks(index);
  return *nblocks;
}

uint64* DeletedCountOf(MetaData* meta, uint32 chain_id) {
  if (meta->l0_id == chain_id) return &meta->l0_deleted;
  for (uint32 i = 0; i < meta->nsegments && i < static_cast<uint32>(kMaxSegments); i++)
    if (meta->segments[i].id == chain_id) return &meta->segments[i].deleted;
  return nullptr;
}

namespace {
// The chains compaction is writing (ids first..first+count), which are in no
// manifest yet: LogDeletions flags their rows without a count to keep.
uint32 g_unlisted_first = 0, g_unlisted_count = 0;

bool IsPendingChain(const MetaData* meta, uint32 chain_id) {
  for (uint32 i = 0; i < meta->npending && i < static_cast<uint32>(kMaxPending); i++)
    if (meta->pending[i].segment_id == chain_id) return true;
  return false;
}
}  // namespace

void SetUnlistedChains(uint32 first, uint32 count) {
  g_unlisted_first = first;
  g_unlisted_count = count;
}

uint64 LogDeletions(Relation index, Buffer buf, uint32 chain_id,
                    uint64 (*mark)(Page page, void* arg), void* arg) {
  Buffer metabuf = ReadBuffer(index, kMetaBlock);
  LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  GenericXLogState* state = GenericXLogStart(index);
  Page page = GenericXLogRegisterBuffer(state, buf, 0);
  Page metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
  // A chain is listed (its count changes with its flags), or compaction has
  // just replaced it (it waits in the pending list: VACUUM still flags it,
  // for nothing reads its count any more, and it cannot be recycled while
  // VACUUM holds its lock on the table), or it is an output compaction is
  // writing and takes the flags its inputs gained meanwhile. Nor can the
  // page have changed hands while the caller held its pin without a lock
  // (it would have to be recycled first).
  MetaData* m = PageGetMeta(metapage);
  uint64* count = DeletedCountOf(m, chain_id);
  const bool unlisted =
      count == nullptr && (IsPendingChain(m, chain_id) ||
                           (chain_id >= g_unlisted_first && chain_id - g_unlisted_first < g_unlisted_count));
  if ((count == nullptr && !unlisted) || !IsChainPageOf(page, chain_id)) {
    GenericXLogAbort(state);
    LockBuffer(buf, BUFFER_LOCK_UNLOCK);
    UnlockReleaseBuffer(metabuf);
    if (count != nullptr || unlisted) RaiseBadChainPage(index, BufferGetBlockNumber(buf), chain_id);
    RaiseIndexCorrupted(index, "Segment %u, whose rows VACUUM is flagging, is not in the manifest.",
                        chain_id);
  }
  const uint64 n = mark(page, arg);
  if (n > 0) {
    if (count != nullptr) *count += n;
    GenericXLogFinish(state);
  } else {
    GenericXLogAbort(state);
  }
  LockBuffer(buf, BUFFER_LOCK_UNLOCK);
  UnlockReleaseBuffer(metabuf);
  return n;
}

void RaiseBadChainPage(Relation index, BlockNumber blk, uint32 segment_id) {
  // On a hot standby the REUSE_PAGES record (am_wal.cpp) cancels a query that
  // could still read the pages of a replaced segment before they are
  // recycled. Should one get through anyway (vecgo not preloaded on the
  // primary, so no record was written), it is still a conflict with recovery,
  // not corruption.
  if (RecoveryInProgress())
    ereport(ERROR,
            (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
             errmsg("canceling statement due to conflict with recovery"),
             errdetail("Block %u of vecgo index \"%s\" was recycled after segment %u was "
                       "replaced.",
                       blk, RelationGetRelationName(index), segment_id),
             errhint("Retry the query, or enable hot_standby_feedback.")));
  ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                  errmsg("vecgo index \"%s\": block %u is not a page of segment %u",
                         RelationGetRelationName(index), blk, segment_id)));
}

// ------------------------------------------------------------------ writer

namespace {
void WriterFlushPage(ChainWriter* w, BlockNumber next, Page local) {
  GetOpaque(local)->next = next;
  GenericXLogState* state = GenericXLogStart(w->index);
  Page page = GenericXLogRegisterBuffer(state, w->buf, GENERIC_XLOG_FULL_IMAGE);
  std::memcpy(page, local, BLCKSZ);
  GenericXLogFinish(state);
  UnlockReleaseBuffer(w->buf);
  w->buf = InvalidBuffer;
}
}  // namespace

// The page being filled is built in local memory and copied into its buffer
// when full; `local` lives just past the writer in the same allocation.
static Page WriterLocal(ChainWriter* w) { return reinterpret_cast<Page>(w + 1); }

// The next page of the chain, exclusively locked: the next block of the
// writer's run, or any free or new page. The page being filled (w->buf, if
// any) is private to the writer; it is unlocked while waiting for the
// extension lock, which must never be waited for under a buffer lock.
static Buffer WriterNewBuffer(ChainWriter* w) {
  if (w->run_end != 0) {
    if (w->run_next >= w->run_end)
      ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
                      errmsg("vecgo index \"%s\": segment %u is larger than the run reserved for it",
                             RelationGetRelationName(w->index), w->segment_id)));
    return ReadBufferExtended(w->index, MAIN_FORKNUM, w->run_next++, RBM_ZERO_AND_LOCK, nullptr);
  }
  Buffer buf = NewBufferNoWait(w->index);
  if (BufferIsValid(buf)) return buf;
  if (BufferIsValid(w->buf)) LockBuffer(w->buf, BUFFER_LOCK_UNLOCK);
  buf = NewBuffer(w->index);
  if (BufferIsValid(w->buf)) LockBuffer(w->buf, BUFFER_LOCK_EXCLUSIVE);
  return buf;
}

void ChainWriterBeginRun(ChainWriter* w, Relation index, uint32 segment_id, uint32 npages) {
  if (npages == 0) elog(ERROR, "vecgo: empty run");
  // Extending block by block costs a write of a zero page each (a few
  // microseconds); the strategy keeps the new buffers from evicting others.
  BufferAccessStrategy bulk = GetAccessStrategy(BAS_BULKWRITE);
  const bool lock = !RELATION_IS_LOCAL(index);
  if (lock) LockRelationForExtension(index, ExclusiveLock);
  BlockNumber first = InvalidBlockNumber;
  for (uint32 i = 0; i < npages; i++) {
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, bulk);
    const BlockNumber blk = BufferGetBlockNumber(buf);
    ReleaseBuffer(buf);
    if (i == 0) first = blk;
    if (blk != first + i) elog(ERROR, "vecgo: relation \"%s\" grew while its extension lock was held",
                              RelationGetRelationName(index));
  }
  if (lock) UnlockRelationForExtension(index, ExclusiveLock);
  FreeAccessStrategy(bulk);
  w->run_next = first;
  w->run_end = first + npages;
  ChainWriterBegin(w, index, segment_id);
}

void ChainWriterBegin(ChainWriter* w, Relation index, uint32 segment_id) {
  w->index = index;
  w->segment_id = segment_id;
  w->buf = InvalidBuffer;
  w->buf = WriterNewBuffer(w);
  w->head = w->tail = BufferGetBlockNumber(w->buf);
  w->npages = 1;
  w->bytes = 0;
  InitChainPage(WriterLocal(w), segment_id);
}

void ChainWriterAppend(ChainWriter* w, const char* data, Size len) {
  Page local = WriterLocal(w);
  while (len > 0) {
    Size used = GetOpaque(local)->used;
    if (used == kStreamBytes) {
      Buffer next;
      BlockNumber next_blk;
      if (w->run_end != 0) {
        // The next block is known: write this page out first, so that no
        // page is locked while the cost-based delay sleeps.
        next_blk = w->run_next;
        WriterFlushPage(w, next_blk, local);
        vacuum_delay_point();
        next = WriterNewBuffer(w);
      } else {
        next = WriterNewBuffer(w);
        next_blk = BufferGetBlockNumber(next);
        WriterFlushPage(w, next_blk, local);
      }
      w->buf = next;
      w->tail = next_blk;
      w->npages++;
      InitChainPage(local, w->segment_id);
      used = 0;
    }
    Size take = std::min(len, kStreamBytes - used);
    std::memcpy(PageStream(local) + used, data, take);
    SetUsed(local, used + take);
    data += take;
    len -= take;
    w->bytes += take;
  }
}

void ChainWriterFinish(ChainWriter* w) {
  WriterFlushPage(w, InvalidBlockNumber, WriterLocal(w));
  // The cost-based delay for the chain's writes is taken here, where the
  // writer holds no page lock (it keeps the page it fills locked, and a
  // sleep there would hold that lock); a run writer also takes it between
  // pages.
  vacuum_delay_point();
}

void ChainWriterRewriteHead(ChainWriter* w, const char* data, Size len) {
  Buffer buf = ReadBuffer(w->index, w->head);
  LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
  GenericXLogState* state = GenericXLogStart(w->index);
  Page page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
  if (!IsChainPageOf(page, w->segment_id) || GetOpaque(page)->used < len) {
    GenericXLogAbort(state);
    UnlockReleaseBuffer(buf);
    RaiseBadChainPage(w->index, w->head, w->segment_id);
  }
  std::memcpy(PageStream(page), data, len);
  GenericXLogFinish(state);
  UnlockReleaseBuffer(buf);
}

ChainWriter* NewChainWriter() {
  return static_cast<ChainWriter*>(palloc0(sizeof(ChainWriter) + BLCKSZ));
}

// ------------------------------------------------------------------ reader

void ChainReaderBegin(ChainReader* r, Relation index, uint32 segment_id, BlockNumber head,
                      Size record_size) {
  r->index = index;
  r->segment_id = segment_id;
  r->record_size = record_size;
  r->next = head;
  if (r->page_copy == nullptr) r->page_copy = static_cast<char*>(palloc(BLCKSZ));
  r->record = static_cast<char*>(palloc(record_size));
  r->page_used = r->page_pos = 0;
  r->have = 0;
  r->pages_read = 0;
  r->first_offset = 0;
}

void ChainReaderBeginAt(ChainReader* r, Relation index, uint32 segment_id, BlockNumber block, uint32 offset,
                        Size record_size) {
  ChainReaderBegin(r, index, segment_id, block, record_size);
  r->first_offset = offset;
}

static bool ReaderLoadNext(ChainReader* r) {
  // A chain has at least one page: InvalidBlockNumber ends it only after
  // the first (as a head, it is damage CheckChainStep reports, not an
  // empty chain whose rows a scan would silently miss).
  if (r->next == InvalidBlockNumber && r->pages_read > 0) return false;
  // The worker's (and VACUUM's) cost-based delay; elsewhere only an
  // interrupt check. No lock is held between pages.
  vacuum_delay_point();
  BlockNumber blk = r->next;
  CheckChainStep(r->index, r->segment_id, blk, r->pages_read, &r->nblocks);
  Buffer buf = ReadBuffer(r->index, blk);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  Page page = BufferGetPage(buf);
  PageOpaque* o = GetOpaque(page);
  if (!IsChainPageOf(page, r->segment_id) || o->used > kStreamBytes) {
    UnlockReleaseBuffer(buf);
    RaiseBadChainPage(r->index, blk, r->segment_id);
  }
  r->page_used = o->used;
  r->next = o->next;
  std::memcpy(r->page_copy, PageStream(page), r->page_used);
  UnlockReleaseBuffer(buf);
  r->page_pos = 0;
  if (r->pages_read == 0 && r->first_offset > 0) {
    if (r->first_offset > r->page_used) RaiseBadChainPage(r->index, blk, r->segment_id);
    r->page_pos = r->first_offset;
  }
  r->pages_read++;
  return true;
}

const RecordHeader* ChainReaderNext(ChainReader* r) {
  for (;;) {
    if (r->page_pos == r->page_used) {
      if (!ReaderLoadNext(r)) return nullptr;
      continue;
    }
    Size avail = r->page_used - r->page_pos;
    if (r->have == 0 && avail >= r->record_size) {
      const char* p = r->page_copy + r->page_pos;
      r->page_pos += r->record_size;
      return reinterpret_cast<const RecordHeader*>(p);
    }
    Size take = std::min(avail, r->record_size - r->have);
    std::memcpy(r->record + r->have, r->page_copy + r->page_pos, take);
    r->have += take;
    r->page_pos += take;
    if (r->have == r->record_size) {
      r->have = 0;
      return reinterpret_cast<const RecordHeader*>(r->record);
    }
  }
}

void ChainReaderEnd(ChainReader* r) {
  if (r->record) pfree(r->record);
  r->record = nullptr;
}

// ------------------------------------------------------------------ recycling

// Marks chain page `blk` (in `buf`, exclusively locked) free, WAL-logged,
// releases the buffer and records the page in the free space map.
static void FreeChainPage(Relation index, Buffer buf, BlockNumber blk) {
  GenericXLogState* state = GenericXLogStart(index);
  Page p = GenericXLogRegisterBuffer(state, buf, 0);
  GetOpaque(p)->flags = kPageDeleted;
  GetOpaque(p)->next = InvalidBlockNumber;
  SetUsed(p, 0);
  GenericXLogFinish(state);
  UnlockReleaseBuffer(buf);
  RecordFreeIndexPage(index, blk);
}

uint64 RecyclePending(Relation index) {
  if (RecoveryInProgress()) return 0;
  PendingFree ready[kMaxPending];
  int nready = 0;

  Buffer metabuf = ReadBuffer(index, kMetaBlock);
  LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  std::memcpy(meta, PageGetMeta(BufferGetPage(metabuf)), sizeof(MetaData));
  CheckMeta(index, meta);
  uint32 keep = 0;
  for (uint32 i = 0; i < meta->npending; i++) {
    // nbtree's rule: once no snapshot can be older than the switch, no scan
    // can hold the manifest that listed these pages.
    if (GlobalVisCheckRemovableFullXid(nullptr, meta->pending[i].safexid))
      ready[nready++] = meta->pending[i];
    else
      meta->pending[keep++] = meta->pending[i];
  }
  if (nready > 0) {
    // A hot standby's snapshots are not part of that check: before any of
    // these pages changes, tell its replay to cancel the queries that could
    // still hold the old manifest (the records replay in this order).
    FullTransactionId newest = ready[0].safexid;
    uint32 npages = 0;
    for (int i = 0; i < nready; i++) {
      if (FullTransactionIdFollows(ready[i].safexid, newest)) newest = ready[i].safexid;
      npages += ready[i].npages;
    }
    LogReusePages(index, newest, static_cast<uint32>(nready), npages);
    meta->npending = keep;
    WriteMeta(index, metabuf, *meta);
  }
  UnlockReleaseBuffer(metabuf);
  pfree(meta);

  // The manifest no longer lists them: mark each page free, then tell the FSM.
  // A crash in between leaks pages; it never frees a page twice.
  uint64 freed = 0;
  BlockNumber nblocks = 0;
  for (int i = 0; i < nready; i++) {
    BlockNumber blk = ready[i].head;
    for (uint32 n = 0; n < ready[i].npages && blk != InvalidBlockNumber; n++) {
      CheckChainStep(index, ready[i].segment_id, blk, n, &nblocks);
      Buffer buf = ReadBuffer(index, blk);
      LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
      Page page = BufferGetPage(buf);
      if (!IsChainPageOf(page, ready[i].segment_id)) {
        UnlockReleaseBuffer(buf);
        break;
      }
      BlockNumber next = GetOpaque(page)->next;
      FreeChainPage(index, buf, blk);
      freed++;
      blk = next;
    }
  }
  if (freed > 0) IndexFreeSpaceMapVacuum(index);
  return freed;
}

// ------------------------------------------------------------------ orphaned pages

namespace {

// Whether chain id `id` is claimed by nothing in the manifest `m`: not the
// L0 log, not a segment, not a chain waiting to be recycled, and issued
// before the manifest was read (ids from next_segment_id on may belong to a
// seal or compaction that starts after it).
bool IsOrphanId(const MetaData& m, uint32 id) {
  if (id == 0 || id >= m.next_segment_id || id == m.l0_id) return false;
  for (uint32 i = 0; i < m.nsegments; i++)
    if (m.segments[i].id == id) return false;
  for (uint32 i = 0; i < m.npending; i++)
    if (m.pending[i].segment_id == id) return false;
  return true;
}

bool IsVecgoPage(Page page) {
  return !PageIsNew(page) && PageGetSpecialSize(page) == MAXALIGN(sizeof(PageOpaque)) &&
         GetOpaque(page)->page_id == kPageId;
}

}  // namespace

int64 UnaccountedPages(Relation index) {
  // The block count first: a page added after it is counted by the
  // manifest at most, which can only hide unaccounted pages, not invent them.
  const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);
  int64 claimed = 1 + ReadL0Size(index, *meta).pages;
  for (uint32 i = 0; i < meta->nsegments; i++) claimed += meta->segments[i].npages;
  for (uint32 i = 0; i < meta->npending; i++) claimed += meta->pending[i].npages;
  pfree(meta);
  int64 free_pages = 0;
  for (BlockNumber blk = 1; blk < nblocks; blk++)
    if (GetRecordedFreeSpace(index, blk) > 0) free_pages++;
  return static_cast<int64>(nblocks) - claimed - free_pages;
}

uint64 ReclaimOrphanPages(Relation index, uint64* refound_out) {
  if (refound_out) *refound_out = 0;
  if (RecoveryInProgress()) return 0;
  // Compaction writes its pages (with ids it reserved in the manifest
  // beforehand) and then switches the manifest in one record; a crash or an
  // error in between leaves the pages marked live but claimed by nothing.
  // The caller's lock on the index keeps compaction out, so the chains this
  // copy of the manifest does not list can only change by being created
  // under ids from next_segment_id on (seals) or by appends to the current
  // L0 log, whose new pages are written before they are linked: both are
  // left alone.
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);
  const BlockNumber nblocks = RelationGetNumberOfBlocks(index);
  BufferAccessStrategy strategy = GetAccessStrategy(BAS_VACUUM);
  uint64 reclaimed = 0, refound = 0;
  for (BlockNumber blk = 1; blk < nblocks; blk++) {
    vacuum_delay_point();
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    // A new page may be one another backend has just added and is about to
    // lock: never touched.
    if (!IsVecgoPage(page)) {
      UnlockReleaseBuffer(buf);
      continue;
    }
    const PageOpaque o = *GetOpaque(page);
    if (o.flags & kPageDeleted) {
      // Free already; the free space map (not WAL-logged) may have lost it
      // in a crash. A page handed out meanwhile is checked again under its
      // lock by whoever takes it (NewBuffer).
      UnlockReleaseBuffer(buf);
      if (GetRecordedFreeSpace(index, blk) == 0) {
        RecordFreeIndexPage(index, blk);
        refound++;
      }
      continue;
    }
    if (o.flags != kPageChain || !IsOrphanId(*meta, o.segment_id)) {
      UnlockReleaseBuffer(buf);
      continue;
    }
    // Freed as RecyclePending frees a replaced chain's page.
    LockBuffer(buf, BUFFER_LOCK_UNLOCK);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    if (!IsChainPageOf(BufferGetPage(buf), o.segment_id)) {
      UnlockReleaseBuffer(buf);
      continue;
    }
    FreeChainPage(index, buf, blk);
    reclaimed++;
  }
  FreeAccessStrategy(strategy);
  pfree(meta);
  if (reclaimed + refound > 0) IndexFreeSpaceMapVacuum(index);
  if (refound_out) *refound_out = refound;
  return reclaimed;
}

}  // namespace vecgo::pg
