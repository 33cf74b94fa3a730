// The compaction background worker (am_worker.cpp).
//
// When vecgo is in shared_preload_libraries, a launcher starts, every
// vecgo.worker_naptime seconds, one short-lived worker per connectable
// database (at most vecgo.max_workers at once). A worker visits every vecgo
// index of its database once, running one maintenance job per index in its
// own transaction, and exits. A job seals an idle or full L0 log, compacts
// the segments, and reclaims the pages a crashed or failed compaction left
// behind. Without the worker, VACUUM's cleanup seals and compacts instead.
#pragma once

#include "am.h"

extern "C" {
#include "utils/timestamp.h"
}

namespace vecgo::pg {

// Registers the GUCs, and, when called while shared_preload_libraries is
// being loaded, the shared memory hooks and the launcher. From _PG_init.
void RegisterCompactionWorker();

// Whether the launcher is running with vecgo.worker on: then VACUUM leaves
// sealing and compaction to the worker.
bool CompactionWorkerActive();

// Whether VACUUM's cleanup is to seal and compact: the worker is not
// running and vecgo.vacuum_compaction (a session setting) is on.
bool VacuumMaintains();
// VACUUM's share of the worker's job on an index whose table it holds with
// ShareUpdateExclusiveLock: seal (an L0 log that is full or worth a graph)
// and compact (unless a manual compaction holds the index). Orphaned pages
// are left to the worker.
void MaintainForVacuum(Relation index);

// What a job did to one index (or the error that stopped it).
struct WorkerJobInfo {
  TimestampTz finished_at;
  int64 sealed_rows;
  CompactionReport compaction;
  uint64 reclaimed_pages;  // orphaned pages freed
  bool failed;
  char error[256];
};

// The last job that changed `indexoid` of database `dboid` or failed, from
// the worker's bounded table in shared memory. False when none is recorded.
bool LastWorkerJob(Oid dboid, Oid indexoid, WorkerJobInfo* out);

// Whether an L0 log of `sz` is to be sealed by maintenance: it is full, or
// it is idle (has not grown since the previous look) and holds a graph's
// worth of rows. A smaller idle log stays: sealing it would only turn one
// exactly-scanned chain into another.
bool L0WantsSeal(Relation index, const MetaData& meta, const L0Size& sz, bool idle);

// Frees the pages of `index` that no manifest entry claims (written by a
// compaction that crashed or failed before its manifest switch, or left
// marked live by a recycling that crashed), and records in the FSM the free
// pages it had lost (counted in *refound). The caller holds
// ShareUpdateExclusiveLock on the index, so no compaction runs meanwhile.
// Returns the orphaned pages freed. (am_pages.cpp)
uint64 ReclaimOrphanPages(Relation index, uint64* refound = nullptr);

// Pages of `index` that neither the manifest (metapage, L0 log, segments,
// pending chains) nor the free space map accounts for: more than zero
// suggests orphaned pages. A heuristic for when to run ReclaimOrphanPages.
// (am_pages.cpp)
int64 UnaccountedPages(Relation index);

}  // namespace vecgo::pg
