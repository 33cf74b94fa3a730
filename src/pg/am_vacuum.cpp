// VACUUM: tombstones, never in-place repair.
//
// ambulkdelete asks every tier (the L0 log and each segment) to flag the
// records whose heap TID the callback reports dead, one WAL record per
// changed page; the manifest's deleted counts follow in one metapage update.
// Scans skip flagged records, so a deleted row is never returned again;
// compaction drops them physically. amvacuumcleanup frees the pages of
// replaced segments that no scan can read any more, and, when the compaction
// worker is not running, seals and compacts (worker.h).
#include <cstring>

#include "guard.h"
#include "am.h"
#include "worker.h"

extern "C" {
#include "commands/vacuum.h"
#include "storage/indexfsm.h"
}

namespace vecgo::pg {

namespace {

IndexBulkDeleteResult* BulkDeleteImpl(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                      IndexBulkDeleteCallback callback, void* cbstate) {
  Relation index = info->index;
  if (stats == nullptr)
    stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);
  if (meta->dims == 0) return stats;

  const int ntiers = static_cast<int>(meta->nsegments) + 1;
  SegmentEntry* tiers = static_cast<SegmentEntry*>(palloc(sizeof(SegmentEntry) * ntiers));
  uint64* marked = static_cast<uint64*>(palloc0(sizeof(uint64) * ntiers));
  tiers[0] = L0Entry(*meta);
  for (uint32 i = 0; i < meta->nsegments; i++) tiers[i + 1] = meta->segments[i];
  bool any = false;
  for (int i = 0; i < ntiers; i++) {
    marked[i] = TierOpsOf(index, tiers[i].kind).bulk_delete(info, tiers[i], callback, cbstate, stats);
    any |= marked[i] > 0;
  }

  // Fold the counts into the manifest by chain id: the L0 log may have been
  // sealed into a segment meanwhile (compaction cannot run: it conflicts with
  // VACUUM's lock on the table).
  if (any) {
    Buffer metabuf = ReadBuffer(index, kMetaBlock);
    LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
    std::memcpy(meta, PageGetMeta(BufferGetPage(metabuf)), sizeof(MetaData));
    for (int i = 0; i < ntiers; i++) {
      if (marked[i] == 0) continue;
      if (meta->l0_id == tiers[i].id) meta->l0_deleted += marked[i];
      for (uint32 j = 0; j < meta->nsegments; j++)
        if (meta->segments[j].id == tiers[i].id) meta->segments[j].deleted += marked[i];
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
  // Without the compaction worker nothing else seals and compacts; VACUUM
  // already holds the lock that takes.
  if (!RecoveryInProgress() && VacuumMaintains()) MaintainForVacuum(index);
  if (stats == nullptr) {
    // No bulkdelete pass: report the live rows from the manifest.
    stats = static_cast<IndexBulkDeleteResult*>(palloc0(sizeof(IndexBulkDeleteResult)));
    MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
    ReadMeta(index, meta);
    double live = 0;
    for (uint32 i = 0; i < meta->nsegments; i++)
      live += static_cast<double>(meta->segments[i].rows - meta->segments[i].deleted);
    if (meta->dims > 0) live += static_cast<double>(ReadL0Size(index, *meta).rows - meta->l0_deleted);
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
