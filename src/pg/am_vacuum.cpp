// VACUUM: tombstones, never in-place repair.
//
// ambulkdelete walks every chain (the L0 log and each segment) and sets the
// deleted flag of every record whose heap TID the callback reports dead, one
// generic WAL record per changed page; the manifest's deleted counts follow
// in one metapage update. Scans skip flagged records, so a deleted row is
// never returned again; compaction drops them physically. amvacuumcleanup
// frees the pages of replaced segments that no scan can read any more.
#include <cstring>

#include "guard.h"
#include "am.h"

extern "C" {
#include "commands/vacuum.h"
#include "storage/indexfsm.h"
}

namespace vecgo::pg {

namespace {

struct ChainRef {
  uint32 id;
  BlockNumber head;
};

// Marks dead records of one chain; returns how many were newly marked.
uint64 VacuumChain(IndexVacuumInfo* info, uint32 id, BlockNumber head, Size rs,
                   IndexBulkDeleteResult* stats, IndexBulkDeleteCallback callback, void* cbstate) {
  Relation index = info->index;
  uint64 marked = 0;
  uint64 page_index = 0;
  BlockNumber blk = head;
  uint16 offsets_buf[kStreamBytes / 8];
  while (blk != InvalidBlockNumber) {
    vacuum_delay_point();
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, blk, RBM_NORMAL, info->strategy);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    Page page = BufferGetPage(buf);
    PageOpaque* o = GetOpaque(page);
    if (!IsChainPageOf(page, id) || o->used > kStreamBytes) {
      UnlockReleaseBuffer(buf);
      RaiseBadChainPage(index, blk, id);
    }
    uint64 start = page_index * kStreamBytes;
    uint64 end = start + o->used;
    uint64 s = ((start + rs - 1) / rs) * rs;
    int ndead = 0;
    for (; s + sizeof(RecordHeader) <= end; s += rs) {
      RecordHeader* h = reinterpret_cast<RecordHeader*>(PageStream(page) + (s - start));
      if (h->flags & kRecordDeleted) continue;
      if (callback(&h->tid, cbstate))
        offsets_buf[ndead++] = static_cast<uint16>((s - start) / 8);
      else
        stats->num_index_tuples += 1;
    }
    if (ndead > 0) {
      GenericXLogState* state = GenericXLogStart(index);
      Page p = GenericXLogRegisterBuffer(state, buf, 0);
      for (int i = 0; i < ndead; i++)
        reinterpret_cast<RecordHeader*>(PageStream(p) + offsets_buf[i] * 8)->flags |= kRecordDeleted;
      GenericXLogFinish(state);
      marked += ndead;
      stats->tuples_removed += ndead;
    }
    blk = o->next;
    UnlockReleaseBuffer(buf);
    page_index++;
  }
  return marked;
}

IndexBulkDeleteResult* BulkDeleteImpl(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                      IndexBulkDeleteCallback callback, void* cbstate) {
  Relation index = info->index;
  if (stats == nullptr)
    stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);
  if (meta->dims == 0) return stats;
  Size rs = RecordSize(meta->dims);

  int nchains = static_cast<int>(meta->nsegments) + 1;
  ChainRef* chains = static_cast<ChainRef*>(palloc(sizeof(ChainRef) * nchains));
  uint64* marked = static_cast<uint64*>(palloc0(sizeof(uint64) * nchains));
  chains[0] = {meta->l0_id, meta->l0_head};
  for (uint32 i = 0; i < meta->nsegments; i++) chains[i + 1] = {meta->segments[i].id, meta->segments[i].head};
  bool any = false;
  for (int i = 0; i < nchains; i++) {
    if (i > 0 && meta->segments[i - 1].kind == kSegmentDiskANN)
      marked[i] = DiskAnnBulkDelete(index, meta->segments[i - 1], callback, cbstate,
                                    &stats->num_index_tuples);
    else
      marked[i] = VacuumChain(info, chains[i].id, chains[i].head, rs, stats, callback, cbstate);
    stats->tuples_removed += i > 0 && meta->segments[i - 1].kind == kSegmentDiskANN ? marked[i] : 0;
    any |= marked[i] > 0;
  }

  // Fold the counts into the manifest by chain id: the L0 log may have been
  // sealed into a segment meanwhile (compaction cannot run: it conflicts with
  // VACUUM's lock on the table).
  if (any) {
    Buffer metabuf = ReadBuffer(index, kMetaBlock);
    LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
    std::memcpy(meta, PageGetMeta(BufferGetPage(metabuf)), sizeof(MetaData));
    for (int i = 0; i < nchains; i++) {
      if (marked[i] == 0) continue;
      if (meta->l0_id == chains[i].id) meta->l0_deleted += marked[i];
      for (uint32 j = 0; j < meta->nsegments; j++)
        if (meta->segments[j].id == chains[i].id) meta->segments[j].deleted += marked[i];
    }
    WriteMeta(index, metabuf, *meta);
    UnlockReleaseBuffer(metabuf);
  }
  stats->num_pages = RelationGetNumberOfBlocks(index);
  return stats;
}

IndexBulkDeleteResult* CleanupImpl(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
  Relation index = info->index;
  if (info->analyze_only) return stats;
  if (stats == nullptr) {
    // No bulkdelete pass: report the live rows from the manifest.
    stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
    MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
    ReadMeta(index, meta);
    double live = 0;
    for (uint32 i = 0; i < meta->nsegments; i++)
      live += static_cast<double>(meta->segments[i].rows - meta->segments[i].deleted);
    if (meta->dims > 0) {
      Buffer buf = ReadBuffer(index, meta->l0_head);
      LockBuffer(buf, BUFFER_LOCK_SHARE);
      PageOpaque* o = GetOpaque(BufferGetPage(buf));
      uint32 npages = o->npages;
      BlockNumber tail = o->tail;
      UnlockReleaseBuffer(buf);
      buf = ReadBuffer(index, tail);
      LockBuffer(buf, BUFFER_LOCK_SHARE);
      uint64 bytes = static_cast<uint64>(npages - 1) * kStreamBytes + GetOpaque(BufferGetPage(buf))->used;
      UnlockReleaseBuffer(buf);
      live += static_cast<double>(bytes / RecordSize(meta->dims) - meta->l0_deleted);
    }
    stats->num_index_tuples = live;
    stats->estimated_count = false;
  }
  uint64 freed = RecyclePending(index);
  stats->pages_newly_deleted += static_cast<BlockNumber>(freed);
  stats->pages_free += static_cast<BlockNumber>(freed);
  stats->num_pages = RelationGetNumberOfBlocks(index);
  return stats;
}

}  // namespace

IndexBulkDeleteResult* vecgobulkdelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                       IndexBulkDeleteCallback callback, void* state) {
  return Guard([&]() { return BulkDeleteImpl(info, stats, callback, state); });
}

IndexBulkDeleteResult* vecgovacuumcleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats) {
  return Guard([&]() { return CleanupImpl(info, stats); });
}

}  // namespace vecgo::pg
