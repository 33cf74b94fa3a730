// The compaction background worker (see worker.h).
//
// Processes: the launcher, a static background worker started once recovery
// is over, lists the connectable databases every vecgo.worker_naptime
// seconds and starts one dynamic worker per database, at most
// vecgo.max_workers at once and never two for one database (each worker
// also claims its database in shared memory, which outlives a restarted
// launcher). A worker lists its database's vecgo indexes, runs one job per
// index, each in its own transaction, and exits.
//
// A job never waits: it takes the index's ShareUpdateExclusiveLock only if it
// is free (DDL or a manual compaction holding it means "next time"), and
// the table's AccessShareLock: VACUUM runs alongside (am_compact.cpp).
// It seals the L0 log when it is full, or idle since the previous visit and
// worth a graph; frees the pages a crashed or failed compaction left behind
// (ReclaimOrphanPages): on the first visit after the server started, since
// the free space map is not crash-safe, and later whenever the manifest
// changed and some pages are unaccounted for; then compacts
// (CompactSegments), which may reuse the freed pages.
//
// Shared memory holds, per index (a bounded table, least recently visited
// entry replaced): the L0 log's size at the last visit, the reclaim state,
// and the last job that did something or failed (vecgo_worker_jobs()).
//
// Errors: a failing job is caught (PG_TRY around its transaction, as
// autovacuum does around each table), logged, recorded, and retried after a
// growing pause; the other indexes go on. C++ exceptions stay inside the job
// (Guard); the frames between PG_TRY and the Guard hold no C++ objects.
#include <algorithm>
#include <cstring>

#include "guard.h"
#include "am.h"
#include "worker.h"

extern "C" {
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "commands/defrem.h"
#include "commands/vacuum.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

PGDLLEXPORT void vecgo_launcher_main(Datum arg);
PGDLLEXPORT void vecgo_worker_main(Datum arg);
}

namespace vecgo::pg {

namespace {

// ------------------------------------------------------------------ settings

bool g_worker_enabled = true;
int g_naptime_s = 10;
int g_max_workers = 2;
double g_cost_delay_ms = 0;
int g_cost_limit = 200;
bool g_vacuum_compaction = true;

constexpr int kMaxWorkersLimit = 64;  // vecgo.max_workers' maximum: the claim table's size
constexpr int kIndexSlots = 256;
constexpr int kMaxBackoffNaps = 64;  // a failing index is retried at least this often
const char* const kTrancheName = "vecgo worker";

// ------------------------------------------------------------------ shared state

struct IndexSlot {
  Oid dboid;  // InvalidOid: free
  Oid indexoid;
  TimestampTz last_visit;
  // The L0 log at the last visit: the same chain and size now means idle.
  bool l0_known;
  uint32 l0_id;
  uint64 l0_rows;
  bool walked;              // ReclaimOrphanPages ran since the server started
  uint32 checked_next_id;   // next_segment_id when pages were last accounted for
  int failures;             // consecutive failed jobs
  TimestampTz retry_after;  // after a failure, no job before this
  bool has_job;
  WorkerJobInfo job;
};

struct DbClaim {
  Oid dboid;  // InvalidOid: free
  pid_t pid;
};

struct WorkerShared {
  pid_t launcher_pid;  // 0 when no launcher runs
  DbClaim claims[kMaxWorkersLimit];
  IndexSlot slots[kIndexSlots];
};

WorkerShared* g_shared = nullptr;  // set only when preloaded
LWLock* g_lock = nullptr;
shmem_request_hook_type g_prev_shmem_request = nullptr;
shmem_startup_hook_type g_prev_shmem_startup = nullptr;

void ShmemRequest() {
  if (g_prev_shmem_request) g_prev_shmem_request();
  RequestAddinShmemSpace(MAXALIGN(sizeof(WorkerShared)));
  RequestNamedLWLockTranche(kTrancheName, 1);
}

void ShmemStartup() {
  if (g_prev_shmem_startup) g_prev_shmem_startup();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found = false;
  g_shared =
      static_cast<WorkerShared*>(ShmemInitStruct("vecgo worker", sizeof(WorkerShared), &found));
  if (!found) std::memset(g_shared, 0, sizeof(WorkerShared));
  g_lock = &GetNamedLWLockTranche(kTrancheName)[0].lock;
  LWLockRelease(AddinShmemInitLock);
}

// The slot of (dboid, indexoid), taking a free or the least recently visited
// one when `create`. Caller holds g_lock exclusively (shared if !create).
IndexSlot* FindSlot(Oid dboid, Oid indexoid, bool create) {
  IndexSlot* victim = nullptr;
  for (int i = 0; i < kIndexSlots; i++) {
    IndexSlot* s = &g_shared->slots[i];
    if (s->dboid == dboid && s->indexoid == indexoid) return s;
    if (!create) continue;
    if (victim == nullptr || (victim->dboid != InvalidOid &&
                              (s->dboid == InvalidOid || s->last_visit < victim->last_visit)))
      victim = s;
  }
  if (victim == nullptr) return nullptr;
  std::memset(victim, 0, sizeof(*victim));
  victim->dboid = dboid;
  victim->indexoid = indexoid;
  return victim;
}

// A copy of the slot's state (a zeroed new one when there was none).
IndexSlot ReadSlot(Oid dboid, Oid indexoid) {
  IndexSlot copy;
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  IndexSlot* s = FindSlot(dboid, indexoid, true);
  s->last_visit = GetCurrentTimestamp();
  copy = *s;
  LWLockRelease(g_lock);
  return copy;
}

// ------------------------------------------------------------------ the job

// What a job found and did besides WorkerJobInfo.
struct JobState {
  Oid dboid;
  Oid indexoid;
  char name[NAMEDATALEN * 2 + 8];  // "schema.index", for the log
  uint64 refound_free;             // free pages the FSM had lost
};

void JobErrorContext(void* arg) {
  const JobState* st = static_cast<const JobState*>(arg);
  errcontext("vecgo worker job on index \"%s\"", st->name);
}

// Whether the current manifest leaves pages unaccounted for, or this is the
// first visit since the server started.
bool WantsReclaim(Relation index, const IndexSlot& slot, uint32 next_id) {
  if (!slot.walked) return true;
  if (slot.checked_next_id == next_id) return false;
  return UnaccountedPages(index) > 0;
}

// The job on one index, inside the caller's transaction. Returns 1 when it
// changed something, 0 when there was nothing to do, -1 when the index was
// busy or gone. C-style: may ereport.
int MaintainIndexImpl(JobState* st, WorkerJobInfo* out) {
  std::memset(out, 0, sizeof(*out));
  const Oid heapoid = IndexGetRelation(st->indexoid, true);
  if (!OidIsValid(heapoid)) return -1;
  // Never wait behind DDL or a manual compaction. VACUUM goes on meanwhile
  // (am_compact.cpp): the table is held with AccessShareLock, the index
  // with ShareUpdateExclusiveLock, which only compaction and DDL take.
  if (!ConditionalLockRelationOid(heapoid, AccessShareLock)) return -1;
  // Dropped, or moved to another table, before the lock was granted.
  if (IndexGetRelation(st->indexoid, true) != heapoid) {
    UnlockRelationOid(heapoid, AccessShareLock);
    return -1;
  }
  if (!ConditionalLockRelationOid(st->indexoid, ShareUpdateExclusiveLock)) {
    UnlockRelationOid(heapoid, AccessShareLock);
    return -1;
  }
  Relation index = try_relation_open(st->indexoid, NoLock);
  if (index == nullptr) {
    UnlockRelationOid(st->indexoid, ShareUpdateExclusiveLock);
    UnlockRelationOid(heapoid, AccessShareLock);
    return -1;
  }
  if (index->rd_rel->relkind != RELKIND_INDEX || index->rd_indam == nullptr ||
      index->rd_indam->ambuild != vecgobuild) {
    relation_close(index, ShareUpdateExclusiveLock);
    UnlockRelationOid(heapoid, AccessShareLock);
    return -1;
  }
  snprintf(st->name, sizeof(st->name), "%s.%s", get_namespace_name(RelationGetNamespace(index)),
           RelationGetRelationName(index));
  char activity[NAMEDATALEN * 2 + 64];
  snprintf(activity, sizeof(activity), "vecgo: compacting index \"%s\"", st->name);
  pgstat_report_activity(STATE_RUNNING, activity);

  const IndexSlot slot = ReadSlot(st->dboid, st->indexoid);
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);

  // Seal. A full manifest is left to this visit's compaction to make room.
  if (meta->dims > 0 && meta->nsegments < static_cast<uint32>(kMaxSegments)) {
    const L0Size sz = ReadL0Size(index, *meta);
    const bool idle = slot.l0_known && slot.l0_id == meta->l0_id && slot.l0_rows == sz.rows;
    if (L0WantsSeal(index, *meta, sz, idle)) out->sealed_rows = SealL0(index, false);
  }

  // Orphaned pages before compaction, which can then reuse them.
  bool walked = slot.walked;
  if (WantsReclaim(index, slot, meta->next_segment_id)) {
    out->reclaimed_pages = ReclaimOrphanPages(index, &st->refound_free);
    walked = true;
  }

  CompactSegments(index, &out->compaction);
  // The MemTables: free those of chains compaction replaced, build or
  // complete the L0 log's graph (after a restart, or an insert that failed).
  MemTableMaintain(index);

  // Remember the L0 log as it is now, for the next visit's idle test, and
  // the ids issued so far: pages are accounted for up to them.
  ReadMeta(index, meta);
  const L0Size after = ReadL0Size(index, *meta);
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  IndexSlot* s = FindSlot(st->dboid, st->indexoid, true);
  s->l0_known = true;
  s->l0_id = meta->l0_id;
  s->l0_rows = after.rows;
  s->walked = walked;
  s->checked_next_id = meta->next_segment_id;
  s->last_visit = GetCurrentTimestamp();
  LWLockRelease(g_lock);
  pfree(meta);

  relation_close(index, ShareUpdateExclusiveLock);
  UnlockRelationOid(heapoid, AccessShareLock);
  const bool changed = out->sealed_rows > 0 || out->compaction.inputs > 0 ||
                       out->compaction.outputs > 0 || out->reclaimed_pages > 0 ||
                       st->refound_free > 0;
  return changed ? 1 : 0;
}

int MaintainIndex(JobState* st, WorkerJobInfo* out) {
  return Guard([&]() -> int { return MaintainIndexImpl(st, out); });
}

// Cost-based delay for the job's page reads and writes (vacuum_delay_point).
void SetJobCostDelay(bool on) {
  VacuumCostDelay = g_cost_delay_ms;
  VacuumCostLimit = g_cost_limit;
  VacuumCostBalance = 0;
  VacuumCostActive = on && g_cost_delay_ms > 0;
}

void RecordJob(Oid dboid, Oid indexoid, const WorkerJobInfo& job) {
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  IndexSlot* s = FindSlot(dboid, indexoid, true);
  s->has_job = true;
  s->job = job;
  if (job.failed) {
    s->failures = std::min(s->failures + 1, 30);
    const int64 naps = std::min(int64{1} << s->failures, int64{kMaxBackoffNaps});
    s->retry_after = job.finished_at + naps * g_naptime_s * USECS_PER_SEC;
  } else {
    s->failures = 0;
    s->retry_after = 0;
  }
  LWLockRelease(g_lock);
}

// A clean visit ends a run of failures (the last job stays on record).
void ClearFailures(Oid dboid, Oid indexoid) {
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  IndexSlot* s = FindSlot(dboid, indexoid, false);
  if (s != nullptr) {
    s->failures = 0;
    s->retry_after = 0;
  }
  LWLockRelease(g_lock);
}

bool MayRun(Oid dboid, Oid indexoid) {
  LWLockAcquire(g_lock, LW_SHARED);
  const IndexSlot* s = FindSlot(dboid, indexoid, false);
  const bool ok = s == nullptr || s->retry_after == 0 || GetCurrentTimestamp() >= s->retry_after;
  LWLockRelease(g_lock);
  return ok;
}

void LogJob(const JobState& st, const WorkerJobInfo& j) {
  ereport(LOG,
          (errmsg("vecgo worker: index \"%s\": sealed %lld rows; compacted %d segments into %d "
                  "(%d graphs), %llu rows in, %llu rows out (%llu deleted meanwhile), %.3f s; "
                  "reclaimed %llu orphaned pages",
                  st.name, static_cast<long long>(j.sealed_rows), j.compaction.inputs,
                  j.compaction.outputs, j.compaction.graph_outputs,
                  static_cast<unsigned long long>(j.compaction.rows_in),
                  static_cast<unsigned long long>(j.compaction.rows_out),
                  static_cast<unsigned long long>(j.compaction.rows_replayed), j.compaction.seconds,
                  static_cast<unsigned long long>(j.reclaimed_pages)),
           st.refound_free > 0
               ? errdetail("%llu free pages missing from the free space map were recorded again.",
                           static_cast<unsigned long long>(st.refound_free))
               : 0));
}

// One job in its own transaction; its failure is logged and recorded, and
// the worker goes on.
void RunJob(Oid dboid, Oid indexoid, MemoryContext ctx) {
  if (!MayRun(dboid, indexoid)) return;
  // Written inside PG_TRY and read in PG_CATCH: kept in memory, not registers.
  static JobState st;
  static WorkerJobInfo job;
  std::memset(&st, 0, sizeof(st));
  std::memset(&job, 0, sizeof(job));
  st.dboid = dboid;
  st.indexoid = indexoid;
  snprintf(st.name, sizeof(st.name), "%u", indexoid);
  ErrorContextCallback errcb;
  errcb.callback = JobErrorContext;
  errcb.arg = &st;
  PG_TRY();
  {
    StartTransactionCommand();
    // As lazy VACUUM: the job reads no table rows, so its snapshot (and its
    // parallel graph builders', which inherit the flag) must not keep
    // VACUUM from removing rows deleted while it runs. Set before the
    // snapshot is taken; the transaction's end clears it.
    LWLockAcquire(ProcArrayLock, LW_EXCLUSIVE);
    MyProc->statusFlags |= PROC_IN_VACUUM;
    ProcGlobal->statusFlags[MyProc->pgxactoff] = MyProc->statusFlags;
    LWLockRelease(ProcArrayLock);
    PushActiveSnapshot(GetTransactionSnapshot());
    errcb.previous = error_context_stack;
    error_context_stack = &errcb;
    SetJobCostDelay(true);
    const int r = MaintainIndex(&st, &job);
    SetJobCostDelay(false);
    error_context_stack = errcb.previous;
    PopActiveSnapshot();
    CommitTransactionCommand();
    job.finished_at = GetCurrentTimestamp();
    if (r > 0) {
      LogJob(st, job);
      RecordJob(dboid, indexoid, job);
    } else if (r == 0) {
      ClearFailures(dboid, indexoid);
    }
  }
  PG_CATCH();
  {
    HOLD_INTERRUPTS();
    MemoryContextSwitchTo(ctx);
    ErrorData* edata = CopyErrorData();
    EmitErrorReport();
    AbortOutOfAnyTransaction();
    FlushErrorState();
    SetJobCostDelay(false);
    std::memset(&job, 0, sizeof(job));
    job.finished_at = GetCurrentTimestamp();
    job.failed = true;
    strlcpy(job.error, edata->message ? edata->message : "unknown error", sizeof(job.error));
    FreeErrorData(edata);
    RecordJob(dboid, indexoid, job);
    RESUME_INTERRUPTS();
  }
  PG_END_TRY();
  pgstat_report_activity(STATE_IDLE, nullptr);
}

// ------------------------------------------------------------------ per-database worker

// The vecgo indexes of the connected database (none when the access method
// is not installed here), allocated in `ctx`.
int ListVecgoIndexes(MemoryContext ctx, Oid** out) {
  int n = 0, cap = 16;
  Oid* oids = static_cast<Oid*>(MemoryContextAlloc(ctx, sizeof(Oid) * cap));
  StartTransactionCommand();
  PushActiveSnapshot(GetTransactionSnapshot());
  const Oid amoid = get_am_oid("vecgo", true);
  if (OidIsValid(amoid)) {
    Relation rel = table_open(RelationRelationId, AccessShareLock);
    ScanKeyData key;
    ScanKeyInit(&key, Anum_pg_class_relam, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(amoid));
    TableScanDesc scan = table_beginscan_catalog(rel, 1, &key);
    HeapTuple tup;
    while ((tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
      const Form_pg_class c = reinterpret_cast<Form_pg_class>(GETSTRUCT(tup));
      // Another session's temporary index is out of reach.
      if (c->relkind != RELKIND_INDEX || c->relpersistence == RELPERSISTENCE_TEMP) continue;
      if (n == cap) {
        cap *= 2;
        oids = static_cast<Oid*>(repalloc(oids, sizeof(Oid) * cap));
      }
      oids[n++] = c->oid;
    }
    table_endscan(scan);
    table_close(rel, AccessShareLock);
  }
  PopActiveSnapshot();
  CommitTransactionCommand();
  *out = oids;
  return n;
}

// Takes the database's claim; false when another worker holds it (or the
// table is full).
bool ClaimDatabase(Oid dboid) {
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  DbClaim* free_claim = nullptr;
  bool taken = false;
  for (int i = 0; i < kMaxWorkersLimit; i++) {
    DbClaim* c = &g_shared->claims[i];
    if (c->dboid == dboid) taken = true;
    if (c->dboid == InvalidOid && free_claim == nullptr) free_claim = c;
  }
  const bool ok = !taken && free_claim != nullptr;
  if (ok) {
    free_claim->dboid = dboid;
    free_claim->pid = MyProcPid;
  }
  LWLockRelease(g_lock);
  return ok;
}

void ReleaseClaim(int, Datum) {
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  for (int i = 0; i < kMaxWorkersLimit; i++)
    if (g_shared->claims[i].pid == MyProcPid) g_shared->claims[i] = DbClaim{InvalidOid, 0};
  LWLockRelease(g_lock);
}

bool DatabaseClaimed(Oid dboid) {
  LWLockAcquire(g_lock, LW_SHARED);
  bool claimed = false;
  for (int i = 0; i < kMaxWorkersLimit; i++)
    if (g_shared->claims[i].dboid == dboid) claimed = true;
  LWLockRelease(g_lock);
  return claimed;
}

void WorkerMain(Datum arg) {
  const Oid dboid = DatumGetObjectId(arg);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, die);
  BackgroundWorkerUnblockSignals();
  if (!ClaimDatabase(dboid)) proc_exit(0);
  before_shmem_exit(ReleaseClaim, 0);
  BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
  pgstat_report_activity(STATE_IDLE, nullptr);

  MemoryContext ctx =
      AllocSetContextCreate(TopMemoryContext, "vecgo worker", ALLOCSET_DEFAULT_SIZES);
  Oid* indexes = nullptr;
  const int n = ListVecgoIndexes(ctx, &indexes);
  for (int i = 0; i < n; i++) {
    CHECK_FOR_INTERRUPTS();
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    if (!g_worker_enabled) break;
    MemoryContextSwitchTo(ctx);
    RunJob(dboid, indexes[i], ctx);
  }
  proc_exit(0);
}

// ------------------------------------------------------------------ launcher

struct Running {
  Oid dboid;
  BackgroundWorkerHandle* handle;
};

void LauncherExit(int, Datum) {
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  if (g_shared->launcher_pid == MyProcPid) g_shared->launcher_pid = 0;
  LWLockRelease(g_lock);
}

// The connectable databases, allocated in `ctx`.
int ListDatabases(MemoryContext ctx, Oid** out) {
  int n = 0, cap = 16;
  Oid* oids = static_cast<Oid*>(MemoryContextAlloc(ctx, sizeof(Oid) * cap));
  StartTransactionCommand();
  (void)GetTransactionSnapshot();
  Relation rel = table_open(DatabaseRelationId, AccessShareLock);
  TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
  HeapTuple tup;
  while ((tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
    const Form_pg_database d = reinterpret_cast<Form_pg_database>(GETSTRUCT(tup));
    if (!d->datallowconn || strcmp(NameStr(d->datname), "template0") == 0) continue;
    if (n == cap) {
      cap *= 2;
      oids = static_cast<Oid*>(repalloc(oids, sizeof(Oid) * cap));
    }
    oids[n++] = d->oid;
  }
  table_endscan(scan);
  table_close(rel, AccessShareLock);
  CommitTransactionCommand();
  *out = oids;
  return n;
}

bool StartDatabaseWorker(Oid dboid, BackgroundWorkerHandle** handle) {
  BackgroundWorker bgw;
  InitVecgoWorker(&bgw, "vecgo_worker_main", "vecgo compaction worker", BGW_NEVER_RESTART);
  snprintf(bgw.bgw_name, BGW_MAXLEN, "vecgo compaction worker for database %u", dboid);
  bgw.bgw_main_arg = ObjectIdGetDatum(dboid);
  // The postmaster signals the launcher when the worker stops.
  bgw.bgw_notify_pid = MyProcPid;
  return RegisterDynamicBackgroundWorker(&bgw, handle);
}

void LauncherMain() {
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
  BackgroundWorkerUnblockSignals();
  BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  g_shared->launcher_pid = MyProcPid;
  LWLockRelease(g_lock);
  before_shmem_exit(LauncherExit, 0);

  MemoryContext ctx =
      AllocSetContextCreate(TopMemoryContext, "vecgo launcher", ALLOCSET_DEFAULT_SIZES);
  Running running[kMaxWorkersLimit];
  int nrunning = 0;
  Oid* queue = nullptr;  // this round's databases not yet started
  int nqueue = 0, qpos = 0;
  TimestampTz next_round = 0;

  while (!ShutdownRequestPending) {
    if (ConfigReloadPending) {
      ConfigReloadPending = false;
      ProcessConfigFile(PGC_SIGHUP);
    }
    // Forget the workers that have exited.
    for (int i = 0; i < nrunning;) {
      pid_t pid;
      if (GetBackgroundWorkerPid(running[i].handle, &pid) == BGWH_STOPPED) {
        pfree(running[i].handle);
        running[i] = running[--nrunning];
      } else {
        i++;
      }
    }

    const TimestampTz now = GetCurrentTimestamp();
    if (!g_worker_enabled) {
      qpos = nqueue = 0;
    } else {
      MemoryContextSwitchTo(ctx);
      if (qpos == nqueue && now >= next_round) {
        if (queue != nullptr) pfree(queue);
        queue = nullptr;
        nqueue = ListDatabases(ctx, &queue);
        qpos = 0;
        next_round = now + static_cast<int64>(g_naptime_s) * USECS_PER_SEC;
      }
      MemoryContextSwitchTo(ctx);
      while (qpos < nqueue && nrunning < std::min(g_max_workers, kMaxWorkersLimit)) {
        const Oid dboid = queue[qpos];
        bool busy = DatabaseClaimed(dboid);
        for (int i = 0; i < nrunning && !busy; i++) busy = running[i].dboid == dboid;
        if (busy) {  // still at work from the previous round: its turn is next round
          qpos++;
          continue;
        }
        BackgroundWorkerHandle* handle;
        if (!StartDatabaseWorker(dboid, &handle)) break;  // no free slot: retried below
        running[nrunning++] = Running{dboid, handle};
        qpos++;
      }
    }

    // Wake for the next round, a worker's exit (its slot may start the
    // next database), a signal, or at most a second later while databases
    // are waiting for a slot the postmaster could not give.
    long timeout_ms = static_cast<long>(g_naptime_s) * 1000;
    if (g_worker_enabled && qpos == nqueue) {
      const TimestampTz left = next_round - GetCurrentTimestamp();
      timeout_ms = left <= 0 ? 0 : static_cast<long>((left + 999) / 1000);
    } else if (g_worker_enabled && nrunning == 0) {
      timeout_ms = 1000;
    }
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms,
                    PG_WAIT_EXTENSION);
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
  }
  proc_exit(0);
}

}  // namespace

// ------------------------------------------------------------------ interface

bool L0WantsSeal(Relation index, const MetaData& meta, const L0Size& sz, bool idle) {
  if (sz.rows == 0) return false;
  if (L0IsFull(index, meta, sz.pages)) return true;
  const uint64 live = LiveRows(sz.rows, meta.l0_deleted);
  return idle && SegmentWantsGraph(meta, live);
}

bool CompactionWorkerActive() {
  if (!g_worker_enabled || g_shared == nullptr) return false;
  LWLockAcquire(g_lock, LW_SHARED);
  const bool running = g_shared->launcher_pid != 0;
  LWLockRelease(g_lock);
  return running;
}

bool VacuumMaintains() { return g_vacuum_compaction && !CompactionWorkerActive(); }

void MaintainForVacuum(Relation index) {
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);
  // VACUUM counts as idle: it has no memory of earlier visits.
  if (meta->dims > 0 && meta->nsegments < static_cast<uint32>(kMaxSegments) &&
      L0WantsSeal(index, *meta, ReadL0Size(index, *meta), true))
    SealL0(index, false);
  pfree(meta);
  // A manual compaction holding the index: it does the work.
  if (!ConditionalLockRelationOid(RelationGetRelid(index), ShareUpdateExclusiveLock)) return;
  CompactSegments(index);
  UnlockRelationOid(RelationGetRelid(index), ShareUpdateExclusiveLock);
}

bool LastWorkerJob(Oid dboid, Oid indexoid, WorkerJobInfo* out) {
  if (g_shared == nullptr) return false;
  LWLockAcquire(g_lock, LW_SHARED);
  const IndexSlot* s = FindSlot(dboid, indexoid, false);
  const bool found = s != nullptr && s->has_job;
  if (found) *out = s->job;
  LWLockRelease(g_lock);
  return found;
}

void InitVecgoWorker(BackgroundWorker* bgw, const char* function, const char* type, int restart_time) {
  std::memset(bgw, 0, sizeof(*bgw));
  bgw->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
  bgw->bgw_start_time = BgWorkerStart_RecoveryFinished;
  bgw->bgw_restart_time = restart_time;
  snprintf(bgw->bgw_library_name, BGW_MAXLEN, "vecgo");
  snprintf(bgw->bgw_function_name, BGW_MAXLEN, "%s", function);
  snprintf(bgw->bgw_name, BGW_MAXLEN, "%s", type);
  snprintf(bgw->bgw_type, BGW_MAXLEN, "%s", type);
}

void RegisterCompactionWorker() {
  DefineCustomBoolVariable("vecgo.worker", "Runs the vecgo compaction worker.",
                           "When off (or without shared_preload_libraries), VACUUM seals and "
                           "compacts vecgo indexes instead.",
                           &g_worker_enabled, true, PGC_SIGHUP, 0, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("vecgo.worker_naptime",
                          "Time between two visits of each database by the vecgo worker.", nullptr,
                          &g_naptime_s, 10, 1, INT_MAX / 1000, PGC_SIGHUP, GUC_UNIT_S, nullptr,
                          nullptr, nullptr);
  DefineCustomRealVariable("vecgo.worker_cost_delay",
                           "Cost-based delay of the vecgo worker's page reads and writes, in "
                           "milliseconds.",
                           "0 turns it off. Counted as vacuum_cost_delay counts.", &g_cost_delay_ms,
                           0, 0, 100, PGC_SIGHUP, GUC_UNIT_MS, nullptr, nullptr, nullptr);
  DefineCustomIntVariable("vecgo.worker_cost_limit",
                          "Cost the vecgo worker accumulates before it sleeps for "
                          "vecgo.worker_cost_delay.",
                          nullptr, &g_cost_limit, 200, 1, 10000, PGC_SIGHUP, 0, nullptr, nullptr,
                          nullptr);
  DefineCustomBoolVariable("vecgo.vacuum_compaction",
                           "Whether VACUUM seals and compacts vecgo indexes when the compaction "
                           "worker is not running.",
                           nullptr, &g_vacuum_compaction, true, PGC_USERSET, 0, nullptr, nullptr,
                           nullptr);
  // The rest only at server start: a PGC_POSTMASTER setting cannot be
  // defined later (loading the library into a backend would fail).
  if (!process_shared_preload_libraries_in_progress) return;
  DefineCustomIntVariable("vecgo.max_workers", "Most vecgo compaction workers running at once.",
                          "Each takes a slot of max_worker_processes while it runs.",
                          &g_max_workers, 2, 1, kMaxWorkersLimit, PGC_POSTMASTER, 0, nullptr,
                          nullptr, nullptr);

  g_prev_shmem_request = shmem_request_hook;
  shmem_request_hook = ShmemRequest;
  g_prev_shmem_startup = shmem_startup_hook;
  shmem_startup_hook = ShmemStartup;

  BackgroundWorker bgw;
  InitVecgoWorker(&bgw, "vecgo_launcher_main", "vecgo launcher", 10);
  RegisterBackgroundWorker(&bgw);
}

}  // namespace vecgo::pg

// ------------------------------------------------------------------ entry points

extern "C" void vecgo_launcher_main(Datum) {
  vecgo::pg::Guard([]() { vecgo::pg::LauncherMain(); });
}

extern "C" void vecgo_worker_main(Datum arg) {
  vecgo::pg::Guard([arg]() { vecgo::pg::WorkerMain(arg); });
}

using namespace vecgo::pg;

// The last job per index of every database (shared memory, since the server
// started): empty without shared_preload_libraries.
VECGO_FUNCTION(vecgo_worker_jobs) {
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  if (g_shared == nullptr) return (Datum)0;
  IndexSlot* copy = static_cast<IndexSlot*>(palloc(sizeof(IndexSlot) * kIndexSlots));
  int n = 0;
  LWLockAcquire(g_lock, LW_SHARED);
  for (int i = 0; i < kIndexSlots; i++)
    if (g_shared->slots[i].dboid != InvalidOid && g_shared->slots[i].has_job)
      copy[n++] = g_shared->slots[i];
  LWLockRelease(g_lock);
  for (int i = 0; i < n; i++) {
    const WorkerJobInfo& j = copy[i].job;
    Datum values[12];
    bool nulls[12];
    std::memset(nulls, 0, sizeof(nulls));
    values[0] = ObjectIdGetDatum(copy[i].dboid);
    values[1] = ObjectIdGetDatum(copy[i].indexoid);
    values[2] = TimestampTzGetDatum(j.finished_at);
    values[3] = Int64GetDatum(j.sealed_rows);
    values[4] = Int32GetDatum(j.compaction.inputs);
    values[5] = Int32GetDatum(j.compaction.outputs);
    values[6] = Int32GetDatum(j.compaction.graph_outputs);
    values[7] = Int64GetDatum(static_cast<int64>(j.compaction.rows_in));
    values[8] = Int64GetDatum(static_cast<int64>(j.compaction.rows_out));
    values[9] = Float8GetDatum(j.compaction.seconds);
    values[10] = Int64GetDatum(static_cast<int64>(j.reclaimed_pages));
    if (j.failed)
      values[11] = CStringGetTextDatum(j.error);
    else
      nulls[11] = true;
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  return (Datum)0;
}
