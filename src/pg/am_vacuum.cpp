// VACUUM: tombstones, never in-place repair.
//
// ambulkdelete asks every tier (the L0 log and each segment) to flag the
// records whose heap TID the callback reports dead, one WAL record per
// changed page that also carries the manifest's deleted count of its chain
// (LogDeletions), so the counts match the flags however a VACUUM ends. Each
// tier also reports every flag it saw, and the manifest takes those counts
// at the end: an index whose counts drifted under an older build (which
// logged the counts once, at the end) is repaired by its next VACUUM.
// Scans skip flagged records, so a deleted row is never returned again;
// compaction drops them physically. amvacuumcleanup frees the pages of
// replaced segments that no scan can read any more, and, when the compaction
// worker is not running, seals and compacts (worker.h).
#include <algorithm>
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

  // The tiers walked so far: the L0 log, the segments, and any segment a
  // compaction switched in while this VACUUM ran (its rows were copied
  // before, perhaps before they were flagged here; the compaction carried
  // the flags it saw at its switch, this walk adds the later ones).
  int ntiers = 0, maxtiers = kMaxSegments + 1;
  SegmentEntry* tiers = static_cast<SegmentEntry*>(palloc(sizeof(SegmentEntry) * maxtiers));
  uint64* flagged = static_cast<uint64*>(palloc0(sizeof(uint64) * maxtiers));
  tiers[ntiers++] = L0Entry(*meta);
  for (uint32 i = 0; i < meta->nsegments; i++) tiers[ntiers++] = meta->segments[i];
  for (int done = 0;;) {
    for (; done < ntiers; done++)
      flagged[done] =
          TierOpsOf(index, tiers[done].kind).bulk_delete(info, tiers[done], callback, cbstate, stats);
    ReadMeta(index, meta);
    for (uint32 i = 0; i < meta->nsegments; i++) {
      bool seen = false;
      for (int t = 0; t < ntiers && !seen; t++) seen = tiers[t].id == meta->segments[i].id;
      if (seen) continue;
      if (ntiers == maxtiers) {
        tiers = static_cast<SegmentEntry*>(repalloc(tiers, sizeof(SegmentEntry) * maxtiers * 2));
        flagged = static_cast<uint64*>(repalloc(flagged, sizeof(uint64) * maxtiers * 2));
        maxtiers *= 2;
      }
      tiers[ntiers++] = meta->segments[i];
    }
    if (done == ntiers) break;
  }

  // Every flag of every tier was seen, and none can have been set since by
  // anyone else (compaction flags only outputs not yet listed): the
  // manifest's counts must be these. They are, unless they had drifted
  // before; then they are set right, by chain id (the L0 log may have been
  // sealed into a segment meanwhile, and a segment replaced).
  Buffer metabuf = ReadBuffer(index, kMetaBlock);
  LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
  std::memcpy(meta, PageGetMeta(BufferGetPage(metabuf)), sizeof(MetaData));
  CheckMeta(index, meta);
  bool changed = false;
  for (int i = 0; i < ntiers; i++) {
    uint64* count = DeletedCountOf(meta, tiers[i].id);
    if (count == nullptr || *count == flagged[i]) continue;
    ereport(
        LOG,
        (errmsg("vecgo index \"%s\": segment %u counted %llu deleted rows, its pages flag %llu; "
                "count corrected",
                RelationGetRelationName(index), tiers[i].id,
                static_cast<unsigned long long>(*count),
                static_cast<unsigned long long>(flagged[i]))));
    *count = flagged[i];
    changed = true;
  }
  if (changed) WriteMeta(index, metabuf, *meta);
  UnlockReleaseBuffer(metabuf);
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
      live += static_cast<double>(LiveRows(meta->segments[i]));
    if (meta->dims > 0)
      live += static_cast<double>(LiveRows(ReadL0Size(index, *meta).rows, meta->l0_deleted));
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
