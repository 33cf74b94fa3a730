// Compaction: executes the core's size-tiered plan (vecgo/compaction.h).
//
// Each output group's live rows are gathered in memory from its members
// (whatever their kind), then written as new pages by WriteSegment (Flat or
// DiskANN by size), each logged as a full page image; then one metapage WAL
// record switches the manifest. The replaced chains go to the metapage's
// pending list stamped with the next full transaction id and are freed by
// RecyclePending once no snapshot can be that old. The list has room for
// kMaxPending chains: a plan replaces no more segments than it has room
// for, a group that turns out to have no live rows writes no output (which
// would need an entry of its own), and while the list is full (an old
// snapshot keeps it from draining) compaction waits.
//
// Locks: compaction holds ShareUpdateExclusiveLock on the index (one
// compaction at a time; inserts, scans and VACUUM go on) and AccessShareLock
// on the table. VACUUM may therefore flag rows of the members while their
// copies are being written. The switch makes up for that: under the
// metapage lock it compares each member's deleted count (which changes with
// its flags, LogDeletions) with the count its output last caught up with;
// when one moved, it lets go, flags in the output every row its members no
// longer hold live, and tries again. A VACUUM still walking the members
// after the switch flags the output as well (it visits the segments that
// appear while it runs). Recycling, which must not free the pages of a
// chain VACUUM is walking, is done only while no VACUUM runs: under the
// table's ShareUpdateExclusiveLock, taken only if it is free.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "vecgo/compaction.h"
#include "guard.h"
#include "am.h"

extern "C" {
#include "access/genam.h"
#include "access/transam.h"
#include "catalog/index.h"
#include "storage/lmgr.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/syscache.h"
}

namespace vecgo::pg {

namespace {

// The heap TIDs of rows still live in an output's members (sorted), for
// ReplayDeletions' callback.
struct LiveTids {
  ItemPointerData* tids;
  Size n;
};

int CompareTids(const void* a, const void* b) {
  return ItemPointerCompare(static_cast<ItemPointer>(const_cast<void*>(a)),
                            static_cast<ItemPointer>(const_cast<void*>(b)));
}

bool GoneFromMembers(ItemPointer tid, void* arg) {
  const LiveTids* live = static_cast<const LiveTids*>(arg);
  return std::bsearch(tid, live->tids, live->n, sizeof(ItemPointerData), CompareTids) == nullptr;
}

// Flags in output `out` (written from the members of group `g`) every row
// that its members no longer hold live: VACUUM flagged them after they were
// copied. Returns the output's flagged rows.
uint64 ReplayDeletions(Relation index, const MetaData& meta, const int* group, int n, int g,
                       const SegmentEntry& out) {
  const Size rs = RecordSize(meta.dims);
  LiveTids live{static_cast<ItemPointerData*>(
                    MemoryContextAllocHuge(CurrentMemoryContext, std::max<Size>(out.rows, 1) * sizeof(ItemPointerData))),
                0};
  for (int i = 0; i < n; i++) {
    if (group[i] != g) continue;
    const SegmentEntry& s = meta.segments[i];
    char* buf = static_cast<char*>(MemoryContextAllocHuge(CurrentMemoryContext, std::max<Size>(s.rows, 1) * rs));
    const Size rows = TierOpsOf(index, s.kind).copy_live(index, meta, s, buf, s.rows);
    for (Size r = 0; r < rows && live.n < out.rows; r++)
      live.tids[live.n++] = reinterpret_cast<const RecordHeader*>(buf + r * rs)->tid;
    pfree(buf);
  }
  qsort(live.tids, live.n, sizeof(ItemPointerData), CompareTids);
  IndexVacuumInfo info;
  std::memset(&info, 0, sizeof(info));
  info.index = index;
  info.estimated_count = true;
  info.message_level = DEBUG2;
  info.num_heap_tuples = -1;
  IndexBulkDeleteResult stats;
  std::memset(&stats, 0, sizeof(stats));
  const uint64 flagged = TierOpsOf(index, out.kind).bulk_delete(&info, out, GoneFromMembers, &live, &stats);
  pfree(live.tids);
  return flagged;
}

void AddPending(MetaData* m, const SegmentEntry& s, FullTransactionId safexid) {
  // The caller has made room (the metapage has nothing past the list).
  Assert(m->npending < static_cast<uint32>(kMaxPending));
  PendingFree* p = &m->pending[m->npending++];
  p->head = s.head;
  p->npages = s.npages;
  p->segment_id = s.id;
  p->reserved = 0;
  p->safexid = safexid;
}

}  // namespace

int64 CompactSegments(Relation index, CompactionReport* report) {
  const TimestampTz started = GetCurrentTimestamp();
  if (report) std::memset(report, 0, sizeof(*report));
  SetUnlistedChains(0, 0);
  // Only while no VACUUM walks the chains (VACUUM recycles them itself).
  const Oid heapoid = index->rd_index->indrelid;
  if (ConditionalLockRelationOid(heapoid, ShareUpdateExclusiveLock)) {
    RecyclePending(index);
    UnlockRelationOid(heapoid, ShareUpdateExclusiveLock);
  }
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);
  if (meta->dims == 0 || meta->nsegments == 0) return 0;
  // The index's current options, not those stored at build: ALTER INDEX SET
  // applies to compaction and to the segments it writes.
  meta->options = OptionsFromRelation(index);
  const Size rs = RecordSize(meta->dims);
  const int n = static_cast<int>(meta->nsegments);

  // A group's live rows are gathered in memory (and a DiskANN output built
  // from them): at most maintenance_work_mem worth of records per group, and
  // a DiskANN output must also fit its graph build.
  vecgo::CompactionPolicy policy;
  policy.threshold = static_cast<std::size_t>(meta->options.compaction_threshold);
  policy.max_members = static_cast<std::size_t>(kMaxPending - static_cast<int>(meta->npending));
  policy.max_rows = std::max<uint64>(1, DiskAnnBudgetBytes() / rs);
  policy.graph_rows = GraphMinRows(*meta);
  policy.max_graph_rows = DiskAnnMaxRows(meta, DiskAnnBudgetBytes());
  vecgo::SegmentRows* segs = static_cast<vecgo::SegmentRows*>(palloc(sizeof(vecgo::SegmentRows) * n));
  for (int i = 0; i < n; i++)
    segs[i] = {meta->segments[i].rows, meta->segments[i].deleted, meta->segments[i].kind != kSegmentFlat};
  int* group = static_cast<int*>(palloc(sizeof(int) * n));
  uint64* group_rows = static_cast<uint64*>(palloc0(sizeof(uint64) * n));
  const vecgo::CompactionPlan plan = vecgo::PlanCompaction(segs, n, policy, group, group_rows);
  const int ngroups = static_cast<int>(plan.groups);

  // A full list of replaced chains means an old snapshot still holds them;
  // say so when there is work that waits for it.
  if (plan.members == 0 && policy.max_members == 0) {
    vecgo::CompactionPolicy unbounded = policy;
    unbounded.max_members = kMaxPending;
    if (vecgo::PlanCompaction(segs, n, unbounded, group, group_rows).members > 0)
      ereport(
          NOTICE,
          (errmsg("vecgo: compaction of index \"%s\" deferred", RelationGetRelationName(index)),
           errdetail("The pages of %u replaced segments are waiting until no snapshot can still "
                     "read them.",
                     meta->npending),
           errhint(
               "They are recycled, and compaction resumes, once the transactions older than them "
               "have ended (on hot standbys too, with hot_standby_feedback).")));
    return 0;
  }

  // Work left undone for lack of memory is reported, not silently dropped.
  if (plan.skipped_segments > 0)
    ereport(NOTICE,
            (errmsg("vecgo: %zu segment(s) of index \"%s\" were left uncompacted", plan.skipped_segments,
                    RelationGetRelationName(index)),
             errdetail("The largest output they would form, %llu rows, does not fit in "
                       "maintenance_work_mem (%d kB).",
                       static_cast<unsigned long long>(plan.skipped_rows), maintenance_work_mem),
             errhint("Raise maintenance_work_mem and run vecgo_compact again.")));
  if (plan.members == 0) return 0;

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

  // Each group: its live rows gathered in memory (at most the manifest's
  // count: VACUUM may flag more meanwhile, never fewer), then one new
  // segment.
  SegmentEntry* outputs = static_cast<SegmentEntry*>(palloc0(sizeof(SegmentEntry) * std::max(ngroups, 1)));
  for (int g = 0; g < ngroups; g++) {
    const Size cap = static_cast<Size>(group_rows[g]);
    char* buf = static_cast<char*>(MemoryContextAllocHuge(CurrentMemoryContext, std::max<Size>(cap, 1) * rs));
    Size rows = 0;
    for (int i = 0; i < n; i++) {
      if (group[i] != g) continue;
      const SegmentEntry& s = meta->segments[i];
      rows += TierOpsOf(index, s.kind).copy_live(index, *meta, s, buf + rows * rs, cap - rows);
    }
    // No live rows after all (the counts said otherwise: they had drifted):
    // no output, its members are simply dropped. An empty chain would need
    // a pending entry of its own, beyond the room the plan counted.
    if (rows > 0) WriteSegment(index, meta, first_id + g, buf, rows, &outputs[g]);
    pfree(buf);
    if (report) {
      report->rows_out += rows;
      if (rows > 0) report->outputs++;
      if (rows > 0 && outputs[g].kind == kSegmentDiskANN) report->graph_outputs++;
    }
  }

  // The switch: one metapage record, once every output holds the flags its
  // members gained while it was written (see the top of this file).
  uint64* caught_up = static_cast<uint64*>(palloc(sizeof(uint64) * n));
  for (int i = 0; i < n; i++) caught_up[i] = meta->segments[i].deleted;
  bool* stale = static_cast<bool*>(palloc0(sizeof(bool) * std::max(ngroups, 1)));
  SetUnlistedChains(first_id, static_cast<uint32>(ngroups));
  MetaData* m = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  Buffer metabuf;
  int64 replaced;
  bool* member = static_cast<bool*>(palloc(sizeof(bool) * (kMaxSegments + 1)));
  for (;;) {
    metabuf = ReadBuffer(index, kMetaBlock);
    LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
    std::memcpy(m, PageGetMeta(BufferGetPage(metabuf)), sizeof(MetaData));
    CheckMeta(index, m);
    replaced = 0;
    bool any_stale = false;
    for (uint32 j = 0; j < m->nsegments; j++) {
      member[j] = false;
      for (int i = 0; i < n; i++) {
        if (group[i] == vecgo::kCompactStay || meta->segments[i].id != m->segments[j].id) continue;
        member[j] = true;
        if (group[i] >= 0 && m->segments[j].deleted != caught_up[i]) {
          caught_up[i] = m->segments[j].deleted;
          stale[group[i]] = any_stale = true;
        }
      }
      replaced += member[j];
    }
    if (!any_stale) break;
    UnlockReleaseBuffer(metabuf);
    for (int g = 0; g < ngroups; g++) {
      if (!stale[g] || outputs[g].rows == 0) continue;
      outputs[g].deleted = ReplayDeletions(index, *meta, group, n, g, outputs[g]);
      stale[g] = false;
    }
  }
  FullTransactionId safexid = ReadNextFullTransactionId();
  uint32 keep = 0;
  SegmentEntry* kept = static_cast<SegmentEntry*>(palloc(sizeof(SegmentEntry) * kMaxSegments));
  // Only compaction adds to the list, and only one compaction runs at a
  // time, so the plan's room is still there; never write past the list
  // should that ever not hold. (The new pages stay unclaimed; the worker
  // reclaims them.)
  int outputs_kept = 0;
  for (int g = 0; g < ngroups; g++) outputs_kept += outputs[g].rows > 0;
  if (m->npending + static_cast<uint64>(replaced) > static_cast<uint64>(kMaxPending) ||
      m->nsegments - replaced + outputs_kept > kMaxSegments) {
    UnlockReleaseBuffer(metabuf);
    ereport(
        ERROR,
        (errcode(ERRCODE_INTERNAL_ERROR),
         errmsg("vecgo index \"%s\": no room in the manifest for compaction's switch",
                RelationGetRelationName(index)),
         errdetail(
             "%lld segments replaced by %d, with %u segments and %u of %d pending entries taken.",
             static_cast<long long>(replaced), outputs_kept, m->nsegments, m->npending,
             kMaxPending)));
  }
  for (uint32 j = 0; j < m->nsegments; j++) {
    const SegmentEntry& s = m->segments[j];
    if (!member[j]) {
      kept[keep++] = s;
      continue;
    }
    AddPending(m, s, safexid);
    if (report) report->rows_in += s.rows;
  }
  for (int g = 0; g < ngroups; g++)
    if (outputs[g].rows > 0) kept[keep++] = outputs[g];
  std::memcpy(m->segments, kept, sizeof(SegmentEntry) * keep);
  m->nsegments = keep;
  WriteMeta(index, metabuf, *m);
  UnlockReleaseBuffer(metabuf);
  SetUnlistedChains(0, 0);
  if (report) {
    for (int g = 0; g < ngroups; g++) report->rows_replayed += outputs[g].deleted;
    report->inputs = static_cast<int>(replaced);
    report->seconds =
        static_cast<double>(GetCurrentTimestamp() - started) / static_cast<double>(USECS_PER_SEC);
  }
  return replaced;
}

}  // namespace vecgo::pg
