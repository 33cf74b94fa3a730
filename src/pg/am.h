// The `vecgo` index access method: on-disk layout and the glue's internal API.
//
// Layout of the index relation (every page WAL-logged; see am_pages.cpp):
//
//   block 0         metapage: magic, format version, dimensions, metric,
//                   options, and the manifest (the L0 log, the list of
//                   segments, the list of replaced page chains waiting to be
//                   recycled).
//   every other     a page of one *chain*: an append-only byte stream of
//                   fixed-size records, spread over a linked list of pages.
//                   Each chain page carries the id of the segment it belongs
//                   to, so a reader can tell a page of its manifest version
//                   from a recycled one.
//
// A record is (heap TID, flags, float[dims]) padded to 8 bytes. Every page of
// a chain holds exactly kStreamBytes bytes of the stream except the last, so
// record i starts at stream offset i * record_size, and the 8-byte record
// header never straddles a page (both sizes are multiples of 8): the deletion
// flag of a record is always on one page. A vector may be longer than a page
// (up to 16000 dimensions); its floats then continue on the next page.
//
// Tiers: the L0 log, Flat segments and DiskANN segments (see "tiers" below).
//
// The L0 log is such a chain, appended by aminsert. Sealing it (vecgo_flush,
// or automatically when it passes memtable_size) turns it into an immutable
// Flat segment by a manifest change alone. Compaction writes new chains and
// switches the manifest in one WAL record; the replaced chains are freed to
// the free space map only when GlobalVisCheckRemovableFullXid says no
// snapshot that could have read the old manifest is left (nbtree's safexid
// rule); just before, a REUSE_PAGES record of vecgo's own WAL resource
// manager (am_wal.cpp) makes a hot standby cancel the queries whose snapshots
// are that old, as nbtree's XLOG_BTREE_REUSE_PAGE does.
//
// Locking: the metapage's content lock protects the manifest. aminsert holds
// it in share mode for the whole append (so a seal, which takes it
// exclusively, never races an append); the L0 head page's lock serialises
// appenders and holds the tail hint. Readers copy the manifest under a share
// lock and then read chain pages one at a time under share locks.
#pragma once

#include <new>

#include "pg.h"

extern "C" {
#include "access/amapi.h"
#include "access/genam.h"
#include "access/generic_xlog.h"
#include "access/reloptions.h"
#include "access/transam.h"
#include "postmaster/bgworker.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
}

namespace vecgo::pg {

// ------------------------------------------------------------------ format
constexpr uint32 kMagic = 0x56454347;  // "VECG"
constexpr uint32 kFormatVersion = 1;
constexpr BlockNumber kMetaBlock = 0;
constexpr uint16 kPageId = 0xFF8A;  // last two bytes of every vecgo page

// Page flags (opaque.flags).
constexpr uint16 kPageMeta = 1 << 0;
constexpr uint16 kPageChain = 1 << 1;
constexpr uint16 kPageDeleted = 1 << 2;  // free; may be reused

struct PageOpaque {
  uint32 segment_id;    // chain pages: the chain's id
  BlockNumber next;     // next page of the chain, InvalidBlockNumber at the end
  BlockNumber tail;     // first page of an L0 chain only: the last page (hint)
  uint32 npages;        // first page of an L0 chain only: pages in the chain
  uint32 used;          // stream bytes on this page
  uint16 flags;
  uint16 page_id;       // kPageId
};

constexpr Size kPageDataOffset = MAXALIGN(SizeOfPageHeaderData);
// Stream bytes per chain page: a multiple of 8.
constexpr Size kStreamBytes =
    ((BLCKSZ - kPageDataOffset - MAXALIGN(sizeof(PageOpaque))) / 8) * 8;

inline PageOpaque* GetOpaque(Page page) {
  return reinterpret_cast<PageOpaque*>(PageGetSpecialPointer(page));
}
inline char* PageStream(Page page) { return reinterpret_cast<char*>(page) + kPageDataOffset; }

// True when `page` is a live page of chain `segment_id`: the one check every
// reader makes before trusting a chain page (a recycled or foreign page fails).
inline bool IsChainPageOf(Page page, uint32 segment_id) {
  if (PageIsNew(page) || PageGetSpecialSize(page) != MAXALIGN(sizeof(PageOpaque))) return false;
  const PageOpaque* o = GetOpaque(page);
  return o->page_id == kPageId && o->flags == kPageChain && o->segment_id == segment_id;
}

// Record header; the vector's floats follow.
struct RecordHeader {
  ItemPointerData tid;  // 6 bytes
  uint16 flags;
};
static_assert(sizeof(RecordHeader) == 8, "record header must be 8 bytes");
constexpr uint16 kRecordDeleted = 1;

inline Size RecordSize(int dims) { return ((sizeof(RecordHeader) + 4 * (Size)dims) + 7) & ~(Size)7; }

// Segment kinds.
enum SegmentKind : uint8 { kSegmentFlat = 1, kSegmentDiskANN = 2 };

// Quantization settings (reloption `quantization`).
enum Quantization : uint8 { kQuantNone = 0, kQuantSQ8 = 1, kQuantPQ = 2, kQuantInt4 = 3 };
const char* QuantizationName(uint8 q);

struct SegmentEntry {
  uint32 id;
  uint8 kind;
  uint8 quantization;
  uint16 reserved;
  BlockNumber head;
  BlockNumber tail;
  uint32 npages;
  uint64 rows;     // records in the chain (deleted included)
  uint64 deleted;  // records flagged deleted
};

// Rows not flagged deleted (0 should a damaged count exceed the rows).
inline uint64 LiveRows(uint64 rows, uint64 deleted) { return rows > deleted ? rows - deleted : 0; }
inline uint64 LiveRows(const SegmentEntry& e) { return LiveRows(e.rows, e.deleted); }

struct PendingFree {  // a replaced chain waiting until no scan can read it
  BlockNumber head;
  uint32 npages;
  uint32 segment_id;
  uint32 reserved;
  FullTransactionId safexid;
};

constexpr int kMaxSegments = 96;
constexpr int kMaxPending = 64;

// Options as stored in the metapage (a copy of the reloptions at build).
struct StoredOptions {
  int32 m;
  int32 ef_construction;
  int32 memtable_size_mb;
  int32 compaction_threshold;
  int32 diskann_threshold;
  int32 graph_degree;
  int32 build_list_size;
  float4 alpha;
  uint8 quantization;
  uint8 reserved[3];
};

// What the indexed column holds (MetaData.elem). Every kind is indexed as
// float32 vectors (am_input.cpp): halfvec widened, sparsevec made dense, a
// bit string one 0/1 float per bit.
enum IndexElem : uint8 { kElemVector = 0, kElemHalfvec = 1, kElemSparsevec = 2, kElemBit = 3 };

// MetaData.metric: a vecgo::Metric, or Jaccard over bit strings, which no
// graph supports: such an index keeps every tier exact (Flat).
constexpr uint8 kMetricJaccard = 4;
inline bool MetricHasGraphs(uint8 metric) { return metric <= 3; }

struct MetaData {
  uint32 magic;
  uint32 version;
  int32 dims;          // 0 until the first vector arrives (unconstrained column)
  uint8 metric;        // vecgo::Metric, or kMetricJaccard
  uint8 elem;          // IndexElem (0, vector, in indexes built before it was kept)
  uint8 reserved[2];
  StoredOptions options;
  uint32 next_segment_id;
  uint32 l0_id;        // the current L0 log's chain id
  BlockNumber l0_head; // its first page (always exists)
  uint32 nsegments;
  uint32 npending;
  uint32 reserved2;
  uint64 l0_deleted;   // L0 records flagged deleted by VACUUM
  SegmentEntry segments[kMaxSegments];
  PendingFree pending[kMaxPending];
};
static_assert(sizeof(MetaData) + kPageDataOffset + MAXALIGN(sizeof(PageOpaque)) <= BLCKSZ,
              "metapage overflow");

inline MetaData* PageGetMeta(Page page) { return reinterpret_cast<MetaData*>(PageStream(page)); }

// ------------------------------------------------------------------ options
struct Options {
  int32 vl_len_;
  int m;
  int ef_construction;
  int memtable_size;  // MB
  int compaction_threshold;
  int diskann_threshold;
  int graph_degree;
  int build_list_size;
  double alpha;
  int quantization_offset;  // string option
};

// Registers reloptions and GUCs; called from _PG_init.
void InitIndexAm();

// Backend-local copies of DiskANN segments (am_segcache.cpp).
extern int g_segment_cache_mb;
void DefineSegmentCacheGuc();
// The segment's stream (npages * kStreamBytes bytes), copied on first use, or
// nullptr when the cache is off, too small, or a page does not check out.
// The copy is filled in a context under CurrentMemoryContext, which must be
// one an ERROR releases (a scan's), so an interrupted copy is freed.
// C-style: may ereport (call through PgCall where destructors are alive).
const char* SegmentCacheLookup(Relation index, const SegmentEntry& e);
// Every copy SegmentCacheLookup returned is pinned (never evicted) until its
// reader gives it back here.
void SegmentCacheRelease(const char* data);

extern int g_ef_search;
extern int g_iterative_scan;  // IterativeScan
extern int g_max_scan_tuples;
enum IterativeScan { kIterOff = 0, kIterRelaxed = 1, kIterStrict = 2 };

StoredOptions OptionsFromRelation(Relation index);
uint8 ParseQuantization(const char* s);

// ------------------------------------------------------------------ pages (am_pages.cpp)
// Returns a new or recycled page, exclusively locked, not yet initialised.
Buffer NewBuffer(Relation index);
// The same without waiting: InvalidBuffer when the free space map has no
// page and another backend holds the relation's extension lock. A caller
// that holds buffer locks uses it (a wait for a heavyweight lock under an
// LWLock cannot be cancelled), and when it fails lets go of its locks,
// waits in WaitForExtension (cancellable) and starts over.
Buffer NewBufferNoWait(Relation index);
void WaitForExtension(Relation index);
// Gives back an exclusively locked page from NewBuffer* that was not used:
// it goes to the free space map (a new or recycled page is free as it is).
void ReturnNewBuffer(Relation index, Buffer buf);
void InitChainPage(Page page, uint32 segment_id);
// Sets a chain page's stream bytes in use.
void SetUsed(Page page, Size used);
void InitMetaPage(Page page, const MetaData& meta);

// Raises ERRCODE_INDEX_CORRUPTED: the message names the index, the detail
// (printf-style) says what is wrong. C-style (ereport): a caller that keeps
// C++ objects with destructors alive raises RaiseSegmentCorrupt instead.
[[noreturn]] void RaiseIndexCorrupted(Relation index, const char* detail_fmt, ...)
    pg_attribute_printf(2, 3);

// Checks block `blk` before a walk along chain `segment_id` reads it, the
// walk having read `steps` pages of the chain so far. Block numbers come
// from the index's own pages (links, the L0 log's hints, the manifest), so
// they are checked against the relation's size first: ReadBuffer takes
// InvalidBlockNumber for P_NEW and would extend the relation instead of
// failing. A chain has at most one page per block other than the
// metapage's, so a longer walk goes round a cycle. `*nblocks` caches the
// relation's size (0: not read yet) and is read again only when passed:
// the relation never shrinks (a new relfilenode is a new relation). Checks
// for interrupts too. C-style (ereport).
void CheckChainStep(Relation index, uint32 segment_id, BlockNumber blk, uint64 steps,
                    BlockNumber* nblocks);
// The same cache for callers that keep no walk state, such as every insert:
// it lives in the index's relcache entry (rd_amcache), which is rebuilt
// after an invalidation (TRUNCATE, REINDEX). Valid until the next call
// that may process invalidations (a lock acquisition).
BlockNumber* IndexSizeCache(Relation index);
// The index's size in blocks from `*nblocks` (such a cache), read again first
// when `need` blocks are more than it holds: whether something needing that
// many blocks fits is then answered by the result.
BlockNumber IndexBlocks(Relation index, BlockNumber* nblocks, uint64 need);

// Reads the metapage under a share lock and copies it; checks magic and version.
void ReadMeta(Relation index, MetaData* out);
// Checks a metapage's magic and version, raising (with a REINDEX hint) if unknown.
void CheckMeta(Relation index, const MetaData* meta);

// Writes a chain of records into new pages (each page WAL-logged as a full
// image). Used by build, seal of a new L0, and compaction.
struct ChainWriter {
  Relation index;
  uint32 segment_id;
  BlockNumber head;
  BlockNumber tail;
  uint32 npages;
  uint64 bytes;
  Buffer buf;  // current page, exclusively locked (InvalidBuffer when none)
  // A run of blocks reserved by ChainWriterBeginRun: pages go to
  // run_next, run_next + 1, ... up to run_end (exclusive). 0 when the
  // writer takes any free or new page.
  BlockNumber run_next;
  BlockNumber run_end;
};
// Allocates a writer (with room for the page it fills).
ChainWriter* NewChainWriter();
// Begins a chain in one contiguous run of `npages` new blocks (a DiskANN
// segment, addressed as head + page number). The run is reserved at the end
// of the relation under the extension lock, which is held only while the
// relation grows (never while pages are written or while buffer locks are
// held), so inserts that need a page wait for it briefly and cancellably.
void ChainWriterBeginRun(ChainWriter* w, Relation index, uint32 segment_id, uint32 npages);
void ChainWriterBegin(ChainWriter* w, Relation index, uint32 segment_id);
void ChainWriterAppend(ChainWriter* w, const char* data, Size len);
// Flushes the last page. Leaves at least one page (an empty chain has one).
void ChainWriterFinish(ChainWriter* w);
// After Finish: the head page's stream bytes become data[0..len) (len no
// more than the head holds), one more WAL-logged page image.
void ChainWriterRewriteHead(ChainWriter* w, const char* data, Size len);

// Reads a chain record by record. Pages are copied under a share lock and
// checked to belong to the expected chain.
struct ChainReader {
  Relation index;
  uint32 segment_id;
  Size record_size;
  BlockNumber next;
  char* page_copy;  // BLCKSZ
  Size page_used;
  Size page_pos;
  char* record;     // record_size bytes, reassembled when it spans pages
  Size have;        // bytes of the current record gathered so far
  uint64 pages_read;
  uint32 first_offset;  // where reading starts on the first page
  BlockNumber nblocks;  // the relation's size as last read (CheckChainStep)
};
// `r` must be zeroed before the first Begin.
void ChainReaderBegin(ChainReader* r, Relation index, uint32 segment_id, BlockNumber head,
                      Size record_size);
// The same, starting at stream offset `offset` of chain page `block` (where
// a record starts).
void ChainReaderBeginAt(ChainReader* r, Relation index, uint32 segment_id, BlockNumber block, uint32 offset,
                        Size record_size);
// Next complete record, or nullptr at the end of the chain.
const RecordHeader* ChainReaderNext(ChainReader* r);
void ChainReaderEnd(ChainReader* r);

// VACUUM's deletions on one chain page and the manifest's deleted count of
// its chain change in one WAL record, so that a VACUUM stopped between two
// pages (cancelled, or failing) leaves counts that match the flags. `mark`
// flags rows on the page image it is given (`arg` is its own) and returns
// how many it newly flagged; that many are added to the count of chain
// `chain_id`, wherever the manifest now lists it (the L0 log may have been
// sealed meanwhile). `buf` is pinned and not locked: the metapage is locked
// first, then the page, the order every appender takes them in. `mark` runs
// with both locked and must not raise. Returns the rows newly flagged.
// A chain compaction has replaced (pending) is flagged with no count; so are
// the chains SetUnlistedChains names. C-style (ereport).
uint64 LogDeletions(Relation index, Buffer buf, uint32 chain_id,
                    uint64 (*mark)(Page page, void* arg), void* arg);
// The ids of the outputs compaction is writing (first..first+count), which
// LogDeletions may flag before any manifest lists them; count 0 for none.
void SetUnlistedChains(uint32 first, uint32 count);
// The manifest's deleted count of chain `chain_id` (the L0 log or a
// segment), or nullptr when the manifest does not list it.
uint64* DeletedCountOf(MetaData* meta, uint32 chain_id);

// Raises the error for a chain page that is not what the manifest promised.
[[noreturn]] void RaiseBadChainPage(Relation index, BlockNumber blk, uint32 segment_id);

// Frees replaced chains whose safexid is old enough. The caller holds
// ShareUpdateExclusiveLock on the table: no VACUUM is walking them. Returns
// pages freed.
uint64 RecyclePending(Relation index);

// ------------------------------------------------------------------ recovery conflicts (am_wal.cpp)
// Logs that the pending chains of `index` with safexid up to `safexid` are
// about to be recycled, so that a hot standby's replay cancels the queries
// that could still read them (a built-in record: every server replays it).
// Writes nothing unless wal_level is replica or higher and the index is
// WAL-logged. C-style: may ereport.
void LogReusePages(Relation index, FullTransactionId safexid, uint32 nchains, uint32 npages);

// Writes the metapage (exclusively locked buffer) with `meta` as one WAL record.
void WriteMeta(Relation index, Buffer metabuf, const MetaData& meta);

// ------------------------------------------------------------------ vectors
// The distance the index orders by, from the kernels. Zero vectors under
// cosine give +inf (they sort last, like the NaN the operator returns).
float IndexDistance(uint8 metric, const float* a, const float* b, int dims, float qnorm);
// The value the ORDER BY operator returns for a given index distance.
double OperatorValue(const MetaData& meta, float dist);

// The indexed column's kind, from its type (am_input.cpp).
IndexElem ElemOfIndex(Relation index);
const char* ElemTypeName(IndexElem elem);
// The float32 vector the index holds for one value of the column (or ORDER
// BY argument): a pointer into the detoasted datum for `vector`, else a copy
// in CurrentMemoryContext. Sets *dims. Raises a clear ERROR for a value the
// index cannot hold (more than kMaxDim dimensions). C-style: may ereport.
const float* IndexInput(IndexElem elem, Datum value, int* dims);
// Raises that ERROR when `dims` is more than the index holds.
void CheckIndexableDims(IndexElem elem, int64 dims);

// ------------------------------------------------------------------ AM callbacks
IndexBuildResult* vecgobuild(Relation heap, Relation index, IndexInfo* info);
void vecgobuildempty(Relation index);
bool vecgoinsert(Relation index, Datum* values, bool* isnull, ItemPointer heap_tid,
                 Relation heap, IndexUniqueCheck checkUnique, bool indexUnchanged,
                 IndexInfo* info);
IndexBulkDeleteResult* vecgobulkdelete(IndexVacuumInfo* info, IndexBulkDeleteResult* stats,
                                       IndexBulkDeleteCallback callback, void* state);
IndexBulkDeleteResult* vecgovacuumcleanup(IndexVacuumInfo* info, IndexBulkDeleteResult* stats);
IndexScanDesc vecgobeginscan(Relation index, int nkeys, int norderbys);
void vecgorescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool vecgogettuple(IndexScanDesc scan, ScanDirection dir);
void vecgoendscan(IndexScanDesc scan);

// ------------------------------------------------------------------ tiers
//
// The L0 log, Flat segments and DiskANN segments are siblings: each kind of
// tier implements the operations below (TierOps), and build, scan, VACUUM,
// compaction, verification and the planner reach a tier only through them.
// The L0 log is a Flat chain to every reader (L0Entry); only appending and
// sealing are its own (am_l0.cpp).
//
// Tier operations may raise C++ exceptions as well as PostgreSQL errors:
// their callers run under a Guard and keep no C++ object with a destructor
// in their own frames (see guard.h).

// Heap TIDs travel through the core as 64-bit labels whose order is the TIDs'.
inline uint64 TidLabel(const ItemPointerData& tid) {
  return (static_cast<uint64>(ItemPointerGetBlockNumberNoCheck(&tid)) << 16) |
         ItemPointerGetOffsetNumberNoCheck(&tid);
}
inline ItemPointerData LabelTid(uint64 label) {
  ItemPointerData tid;
  ItemPointerSet(&tid, static_cast<BlockNumber>(label >> 16), static_cast<OffsetNumber>(label & 0xFFFF));
  return tid;
}

// What a scan hands every tier it opens.
struct TierScan {
  Relation index;
  const MetaData* meta;
  const float* query;  // nullptr when the ORDER BY argument is NULL
  int ef_search;
  MemoryContext ctx;   // the scan's: cursors live and die with it
};

// One tier's candidates for a scan, in batches. A cursor lives in the scan's
// memory context and is never deleted through this base: one that owns C++
// objects frees them from a reset callback of that context, so an aborted
// scan does not leak them.
class TierCursor {
 public:
  // Whether Next yields in exact (distance, TID) order; otherwise roughly
  // in order (a graph's continuation search).
  bool exact() const { return exact_; }
  // Up to `max` further candidates (distance, TidLabel), continuing after
  // those already yielded; returns how many. Fewer than `max` only when the
  // tier has nothing further.
  virtual int Next(int max, vecgo::Neighbor* out) = 0;
  // Releases what the cursor holds between calls (buffer pins) on the
  // normal path; on abort the resource owner does it.
  virtual void End() {}

 protected:
  explicit TierCursor(bool exact) : exact_(exact) {}
  ~TierCursor() = default;

 private:
  bool exact_;
};

// Constructs a C (default-constructible, with `static void Free(void*)`
// destroying it) in `ctx`, whose reset or deletion calls C::Free: how a
// cursor that owns C++ objects lives in a scan's memory context.
template <typename C>
C* NewInContext(MemoryContext ctx) {
  void* mem = MemoryContextAllocZero(ctx, sizeof(C) + sizeof(MemoryContextCallback));
  C* c = new (mem) C();
  MemoryContextCallback* cb = reinterpret_cast<MemoryContextCallback*>(c + 1);
  cb->func = C::Free;
  cb->arg = c;
  MemoryContextRegisterResetCallback(ctx, cb);
  return c;
}

// What vecgo_verify learns from a tier's own pages; am_verify.cpp compares it
// with the manifest.
struct TierFacts {
  uint64 pages;
  BlockNumber tail;   // last block of the chain
  uint64 rows;
  uint64 deleted;
  uint32 head_npages;       // L0 only: the head page's hints
  BlockNumber head_tail;
  // The largest heap block a live row points to (0 when none), checked
  // against the table's size by the caller. A TID with block
  // InvalidBlockNumber is corruption the tier raises itself.
  BlockNumber max_heap_block;
};

// The planner's view of one tier.
struct TierCost {
  bool exact;       // every live row is scored once per batch
  double rows;      // live rows
  double pages;
  double batch;     // cost of the first batch
  double all;       // approximate tiers: cost of returning every row
};

struct TierOps {
  uint8 kind;
  const char* name;  // vecgo_index_info's `kind`
  TierCursor* (*open)(const TierScan& scan, const SegmentEntry& e);
  // VACUUM: flags the rows the callback reports dead, each page's flags
  // logged with the manifest count (LogDeletions); adds the live rows and
  // the removed rows to `stats`; returns the rows flagged once it is done,
  // those flagged before included (VACUUM is the only writer of flags and
  // one VACUUM runs at a time, so that is the count the manifest should
  // hold).
  uint64 (*bulk_delete)(IndexVacuumInfo* info, const SegmentEntry& e,
                        IndexBulkDeleteCallback callback, void* cbstate,
                        IndexBulkDeleteResult* stats);
  // Compaction input: copies the live rows as records (TID, flags 0, vector)
  // into `out`, which has room for `max`; returns how many.
  Size (*copy_live)(Relation index, const MetaData& meta, const SegmentEntry& e, char* out,
                    Size max);
  // vecgo_verify: checks the tier's pages (marking each in `claimed`, one
  // byte per block of `nblocks`) and contents, raising on corruption.
  void (*verify)(Relation index, const MetaData& meta, const SegmentEntry& e, char* claimed,
                 BlockNumber nblocks, TierFacts* out);
  void (*cost)(const MetaData& meta, const SegmentEntry& e, double ef_search, TierCost* out);
};

// The operations of a segment kind; raises for a kind this build does not know.
const TierOps& TierOpsOf(Relation index, uint8 kind);
extern const TierOps kFlatTierOps;     // am_flat.cpp
extern const TierOps kDiskAnnTierOps;  // am_diskann.cpp

// Whether a segment is a graph or Flat is a question of cost: a Flat segment
// costs every query an exact scan of rows x dimensions floats, a graph a few
// hundred node visits (and a build). A segment is a graph from
// GraphMinRows(meta) rows on: the diskann_threshold reloption when set,
// otherwise the rows whose exact scan reads kGraphMinFloats floats (at least
// kMinGraphRows). Options are the index's current ones (ALTER INDEX SET
// applies to every later seal, compaction and build).
constexpr uint64 kMinGraphRows = 1000;
constexpr uint64 kGraphMinFloats = uint64{1} << 20;
uint64 GraphMinRows(const MetaData& meta);
inline bool SegmentWantsGraph(const MetaData& meta, uint64 rows) { return rows >= GraphMinRows(meta); }

// Writes `nrecords` records as one new segment with id `id`: a DiskANN graph
// when SegmentWantsGraph and its build fits maintenance_work_mem, Flat
// otherwise. Fills *e. (am_segment.cpp)
void WriteSegment(Relation index, const MetaData* meta, uint32 id, const char* records,
                  Size nrecords, SegmentEntry* e);

// Re-raises a core error met in a segment's pages with the index and segment
// named, keeping its category's SQLSTATE.
[[noreturn]] void RaiseSegmentError(Relation index, uint32 segment_id, const vecgo::Error& err);
// Runs `f`, turning a core error into RaiseSegmentError.
template <typename F>
inline auto InSegment(Relation index, uint32 segment_id, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const vecgo::Error& err) {
    RaiseSegmentError(index, segment_id, err);
  }
}
// Raises ERRCODE_INDEX_CORRUPTED naming the index and the segment.
[[noreturn]] void RaiseSegmentCorrupt(Relation index, uint32 segment_id, const char* fmt, ...)
    pg_attribute_printf(3, 4);

// ------------------------------------------------------------------ Flat (am_flat.cpp)
// Writes records as a new Flat chain; fills *e.
void WriteFlatSegment(Relation index, uint32 id, const char* records, Size nrecords, Size record_size,
                      SegmentEntry* e);

// An exact cursor over the records of Flat chain `e` from stream offset
// `offset` of page `block` on, skipping the first `skip` records (the part
// of a tier its MemTable does not cover).
TierCursor* FlatOpenAt(const TierScan& scan, const SegmentEntry& e, BlockNumber block, uint32 offset,
                       uint64 skip);

// ------------------------------------------------------------------ L0 log (am_l0.cpp)
// Where an appended record landed: the chain, its ordinal in the chain, and
// the page and stream offset it starts at (so a reader can start there).
struct L0Position {
  uint32 l0_id;
  uint64 ordinal;
  BlockNumber block;
  uint32 offset;
  uint32 l0_pages;  // pages of the chain after the append
  bool full;        // the log has reached its size (L0IsFull)
  int32 dims;       // the index's
  uint8 metric;
  uint32 graphs_waiting;  // Flat segments of graph size (sealed logs waiting for compaction)
};
struct L0Size {
  uint32 pages;
  BlockNumber tail;
  uint64 bytes;
  uint64 rows;
};
// The L0 log seen as a tier (a Flat chain): id, head, rows unknown (0).
SegmentEntry L0Entry(const MetaData& meta);
// Fills an empty one-page L0 chain page at block `blk`.
void InitL0Page(Page page, uint32 id, BlockNumber blk);
// Writes an empty one-page L0 chain with id `id`; returns its block.
BlockNumber CreateEmptyL0(Relation index, uint32 id);
// Appends one record to the L0 log (aminsert's path).
L0Position AppendToL0(Relation index, const char* record, Size len);
// Pages, bytes and rows of the current L0 log, from its head and tail pages.
L0Size ReadL0Size(Relation index, const MetaData& meta);
// Whether an L0 log of `pages` pages is due to be sealed: it has reached
// memtable_size (the index's current reloption: the one place it is read),
// or it holds as many rows as one graph build may take within
// maintenance_work_mem (a larger sealed log could never become a graph).
bool L0IsFull(Relation index, const MetaData& meta, uint32 pages);
// Seals the L0 log into a Flat segment. When `only_if_full`, does nothing
// unless the L0 log has reached memtable_size. At the segment limit it
// raises, or with `quiet` does nothing. Returns rows sealed.
int64 SealL0(Relation index, bool only_if_full, bool quiet = false);

// ------------------------------------------------------------------ background workers (am_worker.cpp)
// Fills `bgw` for one of vecgo's background workers: shared memory and a
// connection (a database, or none), started once recovery has finished,
// entry point `function` in this library, named `type` (name = type).
void InitVecgoWorker(BackgroundWorker* bgw, const char* function, const char* type, int restart_time);

// ------------------------------------------------------------------ MemTable (am_memtable.cpp)
// An HNSW graph in shared memory over each L0 log chain (and, once sealed,
// over its Flat segment until compaction replaces it). See am_memtable.cpp.
extern int g_memtable_memory_mb;  // vecgo.memtable_memory
// GUC, and (while preloading) the shared memory and hooks.
void InitMemTables();
bool MemTablesAvailable();
// aminsert: after AppendToL0, adds the row to its chain's graph. Never fails
// for lack of memory (the row is then found exactly).
void MemTableInsert(Relation index, const L0Position& pos, const float* vec, const ItemPointerData& tid);
// SealL0: chain `chain` (of `rows` rows) is now a Flat segment.
void MemTableOnSeal(Relation index, uint32 chain, uint64 rows, const MetaData& meta);
// Scan: when chain `e` has a graph, opens its two cursors (the graph, for the
// rows it covers; exact for the rest) and returns true.
bool MemTableOpen(const TierScan& scan, const SegmentEntry& e, TierCursor** graph, TierCursor** rest);
// VACUUM: records of chain `chain` at `ordinals` were flagged deleted.
void MemTableMarkDeleted(Relation index, uint32 chain, const uint64* ordinals, int n);
// The worker's visit: frees the graphs of chains the manifest no longer
// lists, and builds or completes the graph of the L0 log from its pages.
void MemTableMaintain(Relation index);
struct MemTableInfo {
  uint64 covered;  // rows in the graph (a prefix of the chain)
  uint64 bytes;    // shared memory of its nodes
  bool sealed;
};
bool MemTableStats(Relation index, uint32 chain, MemTableInfo* out);
uint64 MemTableTotalBytes();
// The MemTable worker's queue: its pid (0 when not running), rows handed to
// it and rows sessions inserted themselves since the server started, and
// rows waiting.
struct MemTableQueueInfo {
  int worker_pid;
  uint64 queued, direct, waiting;
  uint64 delayed, delay_ms;  // inserts slowed down by back-pressure, and for how long
};
void MemTableQueueStats(MemTableQueueInfo* out);
int MemTableCount();

// ------------------------------------------------------------------ DiskANN (am_diskann.cpp)
// pg_stat_progress_create_index subphase while a DiskANN graph is built
// (tuples_done / tuples_total: the segment's rows, over all build phases).
constexpr int64 kSubphaseGraph = 4;
// maintenance_work_mem in bytes: the budget of one DiskANN build.
Size DiskAnnBudgetBytes();
// The most rows one DiskANN build may take within `budget` bytes: the
// caller's records, the glue's copies and serialized pages, and the core's
// estimate of its build (EstimateVamanaBuildBytes). 0 when none fit.
Size DiskAnnMaxRows(const MetaData* meta, Size budget);
// Builds a Vamana graph over `nrecords` records and writes it as one
// contiguous run of pages; fills *e. May throw.
void WriteDiskAnnSegment(Relation index, const MetaData* meta, uint32 id, const char* records,
                         Size nrecords, SegmentEntry* e);

// ------------------------------------------------------------------ compaction (am_compact.cpp)
// What one compaction did (for the worker's log and vecgo_index_info).
struct CompactionReport {
  int inputs;          // segments replaced (merged, rewritten or dropped)
  int outputs;         // segments written
  int graph_outputs;   // of which DiskANN graphs
  uint64 rows_in;      // rows of the replaced segments (deleted included)
  uint64 rows_out;     // live rows written
  uint64 rows_replayed;  // of those, flagged by a VACUUM that ran meanwhile
  double seconds;
};
// Size-tiered compaction of an open index. The caller holds
// ShareUpdateExclusiveLock on the index (one compaction at a time) and at
// least AccessShareLock on its table; VACUUM may run meanwhile. Returns
// segments replaced; fills *report when given.
int64 CompactSegments(Relation index, CompactionReport* report = nullptr);

// ------------------------------------------------------------------ verification (am_verify.cpp)
// Full structural check; raises ERRCODE_INDEX_CORRUPTED on the first fault.
// `heap` is the index's table (locked by the caller), whose size bounds the
// heap TIDs of live rows.
void VerifyIndex(Relation index, Relation heap);

// ------------------------------------------------------------------ opening by OID (am_admin.cpp)
// What a caller must hold on the index's table.
enum IndexAccess { kAccessAny, kAccessSelect, kAccessOwner };
// Opens `indexoid` as a vecgo index, locking its table with `heaplock` first
// (table, then index, as the rest of PostgreSQL). The caller's right to
// `access` is checked before any lock is taken, so a role without it cannot
// make others wait.
Relation OpenVecgoIndex(Oid indexoid, LOCKMODE heaplock, LOCKMODE indexlock, IndexAccess access,
                        Oid* heapoid_out);
void CloseVecgoIndex(Relation index, Oid heapoid, LOCKMODE heaplock, LOCKMODE indexlock);

}  // namespace vecgo::pg
