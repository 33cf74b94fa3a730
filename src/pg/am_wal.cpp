// vecgo's own WAL resource manager: recovery conflicts for recycled pages.
//
// Every page change of the index is logged with generic WAL, and generic WAL
// replay never cancels a standby query. On the primary, the pages of a
// replaced chain are recycled only once GlobalVisCheckRemovableFullXid says no
// snapshot older than the chain's safexid is left; a hot standby's snapshots
// are invisible to that check (unless hot_standby_feedback is on), so a
// standby scan still reading the old manifest could meet a recycled page.
// Before recycling, the primary therefore logs one REUSE_PAGES record with
// the newest safexid of the batch, as nbtree's XLOG_BTREE_REUSE_PAGE does:
// its replay cancels the standby queries whose snapshot could still see that
// manifest, before the replay of the page changes that free the pages. The
// record touches no page.
//
// A custom resource manager must be registered in every server that replays
// the WAL, from shared_preload_libraries. A server that loaded vecgo later
// (not preloaded) has no resource manager and writes no such record: its
// standby scans keep the chain check's SQLSTATE 40001 as the only defence.
//
// The callbacks run in the startup process and hold no C++ object, so they
// may ereport directly.
#include <cstring>

#include "guard.h"
#include "am.h"

extern "C" {
#include "access/rmgr.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xloginsert.h"
#include "access/xlogreader.h"
#include "access/xlogutils.h"
#include "lib/stringinfo.h"
#include "storage/standby.h"
}

namespace vecgo::pg {

namespace {

// Record types (the high four bits of xl_info belong to the resource manager).
constexpr uint8 kXlogReusePages = 0x10;

#if PG_VERSION_NUM >= 160000
using WalRelFile = RelFileLocator;
inline WalRelFile RelFileOf(Relation index) { return index->rd_locator; }
#define VECGO_RELFILE_ARGS(f) (f).spcOid, (f).dbOid, (f).relNumber
#else
using WalRelFile = RelFileNode;
inline WalRelFile RelFileOf(Relation index) { return index->rd_node; }
#define VECGO_RELFILE_ARGS(f) (f).spcNode, (f).dbNode, (f).relNode
#endif

// REUSE_PAGES: the chains of `node` whose safexid is at most `safexid` are
// about to be recycled.
struct XlReusePages {
  WalRelFile node;
  FullTransactionId safexid;  // the newest safexid of the batch
  uint32 nchains;
  uint32 npages;               // pages the manifest listed for those chains
};

bool g_rmgr_registered = false;

void VecgoRedo(XLogReaderState* record) {
  uint8 info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;
  if (info != kXlogReusePages) elog(PANIC, "vecgo_redo: unknown op code %u", info);
  XlReusePages xl;
  std::memcpy(&xl, XLogRecGetData(record), sizeof(xl));
  // Outside hot standby no query runs, so there is nothing to cancel.
  if (InHotStandby)
#if PG_VERSION_NUM >= 160000
    ResolveRecoveryConflictWithSnapshotFullXid(xl.safexid, false, xl.node);
#else
    ResolveRecoveryConflictWithSnapshotFullXid(xl.safexid, xl.node);
#endif
}

void VecgoDesc(StringInfo buf, XLogReaderState* record) {
  uint8 info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;
  if (info != kXlogReusePages) return;
  XlReusePages xl;
  std::memcpy(&xl, XLogRecGetData(record), sizeof(xl));
  appendStringInfo(buf, "rel %u/%u/%u; safexid %u:%u; chains %u; pages %u",
                   VECGO_RELFILE_ARGS(xl.node), EpochFromFullTransactionId(xl.safexid),
                   XidFromFullTransactionId(xl.safexid), xl.nchains, xl.npages);
}

const char* VecgoIdentify(uint8 info) {
  return (info & ~XLR_INFO_MASK) == kXlogReusePages ? "REUSE_PAGES" : nullptr;
}

RmgrData g_rmgr = {
    "vecgo",        // rm_name
    VecgoRedo,      // rm_redo
    VecgoDesc,      // rm_desc
    VecgoIdentify,  // rm_identify
    nullptr,        // rm_startup
    nullptr,        // rm_cleanup
    nullptr,        // rm_mask: the record changes no page
    nullptr,        // rm_decode: nothing for logical decoding
};

}  // namespace

void RegisterWalRmgr() {
  // Only the postmaster's preload registers it (PostgreSQL refuses it later);
  // backends inherit the registration and the flag.
  if (!process_shared_preload_libraries_in_progress) return;
  RegisterCustomRmgr(kVecgoRmgrId, &g_rmgr);
  g_rmgr_registered = true;
}

void LogReusePages(Relation index, FullTransactionId safexid, uint32 nchains, uint32 npages) {
  // Conflicts only matter to hot standbys, which need wal_level replica; an
  // unlogged or temporary index never reaches one.
  if (!g_rmgr_registered || !XLogStandbyInfoActive() || !RelationNeedsWAL(index)) return;
  XlReusePages xl;
  std::memset(&xl, 0, sizeof(xl));
  xl.node = RelFileOf(index);
  xl.safexid = safexid;
  xl.nchains = nchains;
  xl.npages = npages;
  XLogBeginInsert();
  XLogRegisterData(reinterpret_cast<char*>(&xl), sizeof(xl));
  XLogInsert(kVecgoRmgrId, kXlogReusePages);
}

}  // namespace vecgo::pg
