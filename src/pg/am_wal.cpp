// Recovery conflicts for recycled pages, through a record every server can
// replay.
//
// Every page change of the index is logged with generic WAL, and generic WAL
// replay never cancels a standby query. On the primary, the pages of a
// replaced chain are recycled only once GlobalVisCheckRemovableFullXid says no
// snapshot older than the chain's safexid is left; a hot standby's snapshots
// are invisible to that check (unless hot_standby_feedback is on), so a
// standby scan still reading the old manifest could meet a recycled page.
// Before recycling, the primary therefore logs the newest safexid of the
// batch in a B-tree "page reuse" record (XLOG_BTREE_REUSE_PAGE) naming the
// vecgo index's relation file. Its replay is exactly the conflict needed and
// nothing else: it touches no page and, in hot standby, cancels the queries
// whose snapshot could still see that manifest, before the replay of the page
// changes that free the pages. Being a built-in record, it replays on every
// server, with or without vecgo loaded (a custom resource manager would stop
// the recovery of any server that had not preloaded vecgo). pg_waldump shows
// it as "Btree REUSE_PAGE" with the index's relation file and block 0.
#include <cstring>

#include "guard.h"
#include "am.h"

extern "C" {
#include "access/nbtxlog.h"
#include "access/rmgr.h"
#include "access/xlog.h"
#include "access/xloginsert.h"
}

namespace vecgo::pg {

void LogReusePages(Relation index, FullTransactionId safexid, uint32, uint32) {
  // Conflicts only matter to hot standbys, which need wal_level replica; an
  // unlogged or temporary index never reaches one.
  if (!XLogStandbyInfoActive() || !RelationNeedsWAL(index)) return;
  xl_btree_reuse_page xl;
  std::memset(&xl, 0, sizeof(xl));
#if PG_VERSION_NUM >= 160000
  xl.locator = index->rd_locator;
  xl.snapshotConflictHorizon = safexid;
  xl.isCatalogRel = false;
#else
  xl.node = index->rd_node;
  xl.latestRemovedFullXid = safexid;
#endif
  xl.block = 0;
  XLogBeginInsert();
  XLogRegisterData(reinterpret_cast<char*>(&xl), SizeOfBtreeReusePage);
  XLogInsert(RM_BTREE_ID, XLOG_BTREE_REUSE_PAGE);
}

}  // namespace vecgo::pg
