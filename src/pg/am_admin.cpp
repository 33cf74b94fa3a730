// SQL-callable maintenance of a vecgo index: vecgo_flush, vecgo_compact,
// vecgo_index_info, vecgo_verify, and opening an index by OID with the right
// locks. The work itself is in am_l0.cpp (seal), am_compact.cpp and
// am_verify.cpp.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "vecgo/core.h"
#include "guard.h"
#include "am.h"
#include "worker.h"
#include "vector.h"

extern "C" {
#include "access/relation.h"
#include "catalog/index.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/tuplestore.h"
}

namespace vecgo::pg {

Relation OpenVecgoIndex(Oid indexoid, LOCKMODE heaplock, LOCKMODE indexlock, IndexAccess access,
                        Oid* heapoid_out) {
  Oid heapoid = IndexGetRelation(indexoid, true);
  if (!OidIsValid(heapoid))
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("\"%s\" is not an index", get_rel_name(indexoid) ? get_rel_name(indexoid) : "?")));
  // Rights first, then locks (as VACUUM and amcheck): a role without them
  // gets its error without queueing behind, or blocking, anyone.
  if (access == kAccessOwner && !pg_class_ownercheck(heapoid, GetUserId()))
    aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_INDEX, get_rel_name(indexoid));
  if (access == kAccessSelect && pg_class_aclcheck(heapoid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
    aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(heapoid));
  LockRelationOid(heapoid, heaplock);
  // The index may have moved to another table, or gone, while we waited.
  if (IndexGetRelation(indexoid, true) != heapoid)
    ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT),
                    errmsg("index with OID %u was dropped or changed meanwhile", indexoid)));
  Relation index = index_open(indexoid, indexlock);
  if (index->rd_indam == nullptr || index->rd_indam->ambuild != vecgobuild)
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("\"%s\" is not a vecgo index", RelationGetRelationName(index))));
  if (heapoid_out) *heapoid_out = heapoid;
  return index;
}

void CloseVecgoIndex(Relation index, Oid heapoid, LOCKMODE heaplock, LOCKMODE indexlock) {
  index_close(index, indexlock);
  UnlockRelationOid(heapoid, heaplock);
}

namespace {

void RequireNotInRecovery(const char* fn) {
  if (RecoveryInProgress())
    ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                    errmsg("recovery is in progress"),
                    errhint("%s() cannot be executed during recovery.", fn)));
}

}  // namespace

}  // namespace vecgo::pg

using namespace vecgo::pg;

VECGO_FUNCTION(vecgo_flush) {
  Oid indexoid = PG_GETARG_OID(0);
  RequireNotInRecovery("vecgo_flush");
  Oid heapoid;
  Relation index = OpenVecgoIndex(indexoid, RowExclusiveLock, RowExclusiveLock, kAccessOwner, &heapoid);
  int64 rows = SealL0(index, false);
  CloseVecgoIndex(index, heapoid, RowExclusiveLock, RowExclusiveLock);
  PG_RETURN_INT64(rows);
}

VECGO_FUNCTION(vecgo_compact) {
  Oid indexoid = PG_GETARG_OID(0);
  RequireNotInRecovery("vecgo_compact");
  Oid heapoid;
  // One compaction at a time per index; inserts, scans and VACUUM go on.
  Relation index =
      OpenVecgoIndex(indexoid, AccessShareLock, ShareUpdateExclusiveLock, kAccessOwner, &heapoid);
  int64 replaced = CompactSegments(index);
  CloseVecgoIndex(index, heapoid, AccessShareLock, ShareUpdateExclusiveLock);
  PG_RETURN_INT64(replaced);
}

VECGO_FUNCTION(vecgo_index_info) {
  Oid indexoid = PG_GETARG_OID(0);
  InitMaterializedSRF(fcinfo, 0);
  ReturnSetInfo* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
  Oid heapoid;
  Relation index = OpenVecgoIndex(indexoid, AccessShareLock, AccessShareLock, kAccessSelect, &heapoid);
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);

  Datum values[12];
  bool nulls[12];
  std::memset(nulls, 0, sizeof(nulls));
  // The MemTable columns of tier `chain`.
  auto memtable = [&](uint32 chain) {
    MemTableInfo mt;
    const bool has = MemTableStats(index, chain, &mt);
    nulls[7] = nulls[8] = nulls[9] = !has;
    values[7] = Int64GetDatum(static_cast<int64>(mt.covered));
    values[8] = Int64GetDatum(static_cast<int64>(mt.bytes));
    values[9] = CStringGetTextDatum(mt.sealed ? "sealed" : "live");
  };
  // The worker's last job, on the L0 log's row only.
  WorkerJobInfo job;
  const bool has_job = LastWorkerJob(MyDatabaseId, indexoid, &job);
  nulls[10] = nulls[11] = !has_job;
  if (has_job) {
    values[10] = TimestampTzGetDatum(job.finished_at);
    char text[512];
    if (job.failed)
      snprintf(text, sizeof(text), "failed: %s", job.error);
    else
      snprintf(text, sizeof(text),
               "sealed %lld rows; compacted %d segments into %d (%d graphs), %llu rows in, %llu rows out "
               "(%llu deleted meanwhile), %.3f s; reclaimed %llu pages",
               static_cast<long long>(job.sealed_rows), job.compaction.inputs, job.compaction.outputs,
               job.compaction.graph_outputs, static_cast<unsigned long long>(job.compaction.rows_in),
               static_cast<unsigned long long>(job.compaction.rows_out),
               static_cast<unsigned long long>(job.compaction.rows_replayed), job.compaction.seconds,
               static_cast<unsigned long long>(job.reclaimed_pages));
    values[11] = CStringGetTextDatum(text);
  }
  uint64 rows = 0, pages = 1;
  if (meta->dims > 0) {
    const L0Size sz = ReadL0Size(index, *meta);
    rows = sz.rows;
    pages = sz.pages;
  }
  const uint64 deleted = meta->l0_deleted;
  values[0] = Int32GetDatum(static_cast<int32>(meta->l0_id));
  values[1] = CStringGetTextDatum("l0 log");
  values[2] = Int64GetDatum(static_cast<int64>(rows));
  values[3] = Int64GetDatum(static_cast<int64>(deleted));
  values[4] = Int64GetDatum(static_cast<int64>(pages));
  values[5] = Int64GetDatum(static_cast<int64>(pages) * BLCKSZ);
  values[6] = CStringGetTextDatum("none");
  memtable(meta->l0_id);
  tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  for (uint32 i = 0; i < meta->nsegments; i++) {
    const SegmentEntry& s = meta->segments[i];
    values[0] = Int32GetDatum(static_cast<int32>(s.id));
    values[1] = CStringGetTextDatum(TierOpsOf(index, s.kind).name);
    values[2] = Int64GetDatum(static_cast<int64>(s.rows));
    values[3] = Int64GetDatum(static_cast<int64>(s.deleted));
    values[4] = Int64GetDatum(static_cast<int64>(s.npages));
    values[5] = Int64GetDatum(static_cast<int64>(s.npages) * BLCKSZ);
    values[6] = CStringGetTextDatum(QuantizationName(s.quantization));
    memtable(s.id);
    nulls[10] = nulls[11] = true;
    tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
  }
  CloseVecgoIndex(index, heapoid, AccessShareLock, AccessShareLock);
  return (Datum)0;
}

VECGO_FUNCTION(vecgo_verify) {
  Oid indexoid = PG_GETARG_OID(0);
  Oid heapoid;
  // ShareLock on the table: no inserts while the structure is checked. A hot
  // standby allows no more than AccessShareLock, so there the check is exact
  // only while replay is not appending to the same index.
  LOCKMODE heaplock = RecoveryInProgress() ? AccessShareLock : ShareLock;
  Relation index = OpenVecgoIndex(indexoid, heaplock, AccessShareLock, kAccessSelect, &heapoid);
  Relation heap = relation_open(heapoid, NoLock);
  VerifyIndex(index, heap);
  relation_close(heap, NoLock);
  CloseVecgoIndex(index, heapoid, heaplock, AccessShareLock);
  PG_RETURN_VOID();
}

VECGO_FUNCTION(vecgo_memtable_usage) {
  TupleDesc desc;
  if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("return type must be a row type")));
  desc = BlessTupleDesc(desc);
  MemTableQueueInfo q;
  MemTableQueueStats(&q);
  Datum values[9] = {Int32GetDatum(MemTableCount()),
                     Int64GetDatum(static_cast<int64>(MemTableTotalBytes())),
                     BoolGetDatum(MemTablesAvailable()),
                     Int32GetDatum(q.worker_pid),
                     Int64GetDatum(static_cast<int64>(q.queued)),
                     Int64GetDatum(static_cast<int64>(q.direct)),
                     Int64GetDatum(static_cast<int64>(q.waiting)),
                     Int64GetDatum(static_cast<int64>(q.delayed)),
                     Int64GetDatum(static_cast<int64>(q.delay_ms))};
  bool nulls[9] = {false, false, false, q.worker_pid == 0, false, false, false, false, false};
  PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
