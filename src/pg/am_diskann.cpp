// DiskANN (Vamana) segments in the index's pages.
//
// A DiskANN segment is a chain like any other (same page opaque, segment id,
// next links, so recycling and verification walk it the same way), but its
// stream area holds one page of the core's Vamana page format per index page,
// and its pages are one contiguous run of blocks: page i of the segment is
// block head + i, which gives the core's page accessor random access without
// a directory. CREATE INDEX and compaction write DiskANN segments; the writer
// takes every page from the end of the relation while holding the relation
// extension lock, so the run is contiguous (checked).
//
// The core's search keeps std::vector state, so this file is the one place
// the glue keeps C++ objects with destructors alive across calls into
// PostgreSQL: every such call goes through PgCall, and the objects of a scan
// are deleted by a memory-context reset callback, so an aborted scan does not
// leak them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <vector>

#include <sys/statvfs.h>

#include "vecgo/vamana.h"
#include "guard.h"
#include "am.h"

extern "C" {
#include "access/parallel.h"
#include "access/xact.h"
#include "commands/progress.h"
#include "commands/vacuum.h"
#include "optimizer/optimizer.h"
#include "pgstat.h"
#include "portability/instr_time.h"
#include "storage/dsm_impl.h"
#include "storage/shm_toc.h"
#include "storage/lmgr.h"
#include "miscadmin.h"
}

namespace vecgo::pg {

namespace {

QuantKind QuantKindOf(uint8 q) {
  switch (q) {
    case kQuantSQ8: return QuantKind::SQ8;
    case kQuantInt4: return QuantKind::INT4;
    case kQuantPQ: return QuantKind::PQ;
    default: return QuantKind::None;
  }
}

// Page access for the core: the stream area of block head + i, read in place
// from the shared buffer, which stays pinned until the next access (the
// core's contract: a pointer is valid until the next call). No content lock
// is held across calls: a DiskANN segment's pages never change after the
// build except single bits of its deletion bitmap (set under an exclusive
// lock by VACUUM; a reader sees each byte before or after, either of which
// is a valid answer). Compaction may replace a DiskANN segment; its pages
// are recycled only under the safexid rule (no scan can still hold the old
// manifest), and a recycled page carries another segment id (checked).
struct PageCtx {
  Relation index;
  BlockNumber head;
  uint64 npages;
  uint32 segment_id;
  Buffer pinned;    // InvalidBuffer when none
  int64 cached;     // page index pinned, -1 for none
  // A backend-local copy of the stream (am_segcache.cpp), or nullptr. Pages
  // from del_first to del_last (the deletion bitmap, which VACUUM changes)
  // are always read from shared buffers.
  const char* copy;
  uint64 del_first;
  uint64 del_last;
};

// C-style (may ereport): called only through PgCall. Returns the buffer pinned.
Buffer PinSegmentPage(PageCtx* c, BlockNumber blk) {
  Buffer buf = ReadBuffer(c->index, blk);
  LockBuffer(buf, BUFFER_LOCK_SHARE);
  Page page = BufferGetPage(buf);
  if (!IsChainPageOf(page, c->segment_id) || GetOpaque(page)->used != kStreamBytes) {
    UnlockReleaseBuffer(buf);
    RaiseBadChainPage(c->index, blk, c->segment_id);
  }
  LockBuffer(buf, BUFFER_LOCK_UNLOCK);
  return buf;
}

void Unpin(PageCtx* c) {
  if (BufferIsValid(c->pinned)) {
    Buffer b = c->pinned;
    c->pinned = InvalidBuffer;
    c->cached = -1;
    PgCall(ReleaseBuffer, b);
  }
}

const std::uint8_t* AccessPage(void* ctx, std::size_t i) {
  PageCtx* c = static_cast<PageCtx*>(ctx);
  if (i >= c->npages) return nullptr;
  if (c->copy != nullptr && (i < c->del_first || i > c->del_last))
    return reinterpret_cast<const std::uint8_t*>(c->copy + i * kStreamBytes);
  if (c->cached != static_cast<int64>(i)) {
    Unpin(c);
    c->pinned = PgCall(PinSegmentPage, c, static_cast<BlockNumber>(c->head + i));
    c->cached = static_cast<int64>(i);
  }
  return reinterpret_cast<const std::uint8_t*>(PageStream(BufferGetPage(c->pinned)));
}

// Raises unless the run of DiskANN segment `id`, blocks head to head +
// npages - 1 as the manifest lists them, lies inside the index. Checked
// before any of them is read, in 64 bits (head + npages must not wrap):
// ReadBuffer takes InvalidBlockNumber for P_NEW and would extend the
// relation instead of failing. C-style (called through PgCall).
void CheckDiskAnnRun(Relation index, uint32 id, BlockNumber head, uint32 npages) {
  const uint64 end = static_cast<uint64>(head) + npages;
  const BlockNumber nblocks = IndexBlocks(index, IndexSizeCache(index), end);
  if (npages == 0 || head == kMetaBlock || end > nblocks)
    RaiseIndexCorrupted(
        index, "DiskANN segment %u is listed with %u pages from block %u; the index has %u blocks.",
        id, npages, head, nblocks);
}

void InitPageCtx(PageCtx* c, Relation index, const SegmentEntry& e) {
  PgCall(CheckDiskAnnRun, index, e.id, e.head, e.npages);
  c->index = index;
  c->head = e.head;
  c->npages = e.npages;
  c->segment_id = e.id;
  c->pinned = InvalidBuffer;
  c->cached = -1;
  c->copy = nullptr;
  c->del_first = 0;
  c->del_last = UINT64_MAX;
}

// Serves the segment from the backend's copy, except its deletion bitmap.
void UseSegmentCopy(PageCtx* c, const SegmentEntry& e, const PagedVamanaStore& store) {
  const char* copy = PgCall(SegmentCacheLookup, c->index, e);
  if (copy == nullptr) return;
  if (store.Size() == 0) {
    SegmentCacheRelease(copy);
    return;
  }
  c->del_first = store.DeletionBit(0).page;
  c->del_last = store.DeletionBit(store.Size() - 1).page;
  c->copy = copy;
}

// The deletion bits VACUUM sets on one page of the bitmap (LogDeletions'
// `mark`), each checked to lie in the page's payload beforehand.
struct BitsToSet {
  const PagedVamanaStore::BitLocation* locs;
  int n;
};

uint64 SetDeletionBits(Page page, void* arg) {
  const BitsToSet* b = static_cast<const BitsToSet*>(arg);
  std::uint8_t* stream = reinterpret_cast<std::uint8_t*>(PageStream(page));
  uint64 set = 0;
  for (int i = 0; i < b->n; i++) {
    const PagedVamanaStore::BitLocation& loc = b->locs[i];
    const std::uint8_t mask = static_cast<std::uint8_t>(1u << loc.bit);
    if (stream[loc.byte] & mask) continue;
    stream[loc.byte] |= mask;
    set++;
  }
  // One reseal of the page checksum for all of them: SetDeletionBit sets a
  // bit (already set here) and reseals. It cannot throw for a location
  // inside the payload, which the caller has checked.
  if (set > 0) PagedVamanaStore::SetDeletionBit(stream, kStreamBytes, b->locs[0]);
  return set;
}

// Sets `n` deletion bits on block `blk` of segment `segment_id`, logged
// with the manifest's count (LogDeletions). Returns the bits newly set.
// C-style: called through PgCall.
uint64 MarkDeletionBits(Relation index, BlockNumber blk, uint32 segment_id,
                        const PagedVamanaStore::BitLocation* locs, int n) {
  Buffer buf = ReadBuffer(index, blk);
  BitsToSet bits{locs, n};
  const uint64 set = LogDeletions(index, buf, segment_id, SetDeletionBits, &bits);
  ReleaseBuffer(buf);
  return set;
}

}  // namespace

// ------------------------------------------------------------------ build

namespace {

VamanaParams BuildParams(const MetaData* meta) {
  VamanaParams params;
  params.metric = static_cast<Metric>(meta->metric);
  params.R = static_cast<std::uint32_t>(meta->options.graph_degree);
  params.L = static_cast<std::uint32_t>(meta->options.build_list_size);
  params.alpha = meta->options.alpha;
  params.threads = static_cast<std::uint32_t>(std::max(1, max_parallel_maintenance_workers + 1));
  params.quantization = QuantKindOf(meta->options.quantization);
  // A halfvec column's values are halves: the pages store them as such.
  params.half_vectors = meta->elem == kElemHalfvec;
  return params;
}

// Bytes per row the glue holds besides the core's build: the caller's record,
// and the larger of the float/label copies handed to the build and the
// serialized pages (vector, degree, R neighbours, code, label, slack).
Size GlueBytesPerRow(const MetaData* meta) {
  const Size dims = static_cast<Size>(meta->dims);
  const Size copies = dims * 4 + 8;
  const Size pages = dims * 4 + 4 + 4 * static_cast<Size>(meta->options.graph_degree) + dims + 8 + 16;
  return RecordSize(meta->dims) + std::max(copies, pages);
}

}  // namespace

Size DiskAnnBudgetBytes() { return static_cast<Size>(maintenance_work_mem) * 1024; }

Size DiskAnnMaxRows(const MetaData* meta, Size budget) {
  if (meta->dims <= 0) return 0;
  VamanaParams params = BuildParams(meta);
  const Size glue = GlueBytesPerRow(meta);
  auto fits = [&](Size n) {
    return n * glue + EstimateVamanaBuildBytes(n, static_cast<std::size_t>(meta->dims), params) <= budget;
  };
  Size lo = 0, hi = budget / glue + 1;  // fits(lo), !fits(hi)
  if (fits(hi)) return hi;
  while (hi - lo > 1) {
    Size mid = lo + (hi - lo) / 2;
    if (fits(mid)) lo = mid; else hi = mid;
  }
  return lo;
}

// ------------------------------------------------------------------ parallel graph build
//
// The graph of a large segment is built by the backend and up to
// max_parallel_maintenance_workers PostgreSQL parallel workers, as btree and
// pgvector build in parallel: the build's whole working state (vectors,
// adjacency lists, per-node locks, visiting order) is one block
// (VamanaSharedBuild) in the parallel context's dynamic shared memory, and
// every participant, the backend included, claims batches of points from it.
// The build has phases that must not overlap, so the workers are launched
// once per phase and waited for before the next. Every participant is a
// single-threaded process, so PostgreSQL's signal handling, cancellation and
// statement_timeout work as everywhere else.

namespace {

constexpr uint64 kShmKeyGraph = UINT64CONST(0x7665636700000001);  // "vecg" 1
// Below this many rows starting workers costs more than it saves.
constexpr Size kMinParallelRows = 10000;

// Checks for interrupts in a participant (C++ frames: an ERROR comes back as
// a PgException, which the core passes up after stopping its loop).
bool ParticipantProgress(void*, std::size_t, std::size_t) {
  if (InterruptPending) PgCall(ProcessInterrupts);
  return true;
}

// The backend's hook: interrupts, then progress for
// pg_stat_progress_create_index (ctx: the segment's row count).
bool LeaderProgress(void* ctx, std::size_t done, std::size_t total) {
  ParticipantProgress(nullptr, done, total);
  const Size rows = *static_cast<const Size*>(ctx);
  if (total > 0)
    pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE,
                                 static_cast<int64>(static_cast<double>(done) / total * rows));
  return true;
}

// Whether POSIX dynamic shared memory (a tmpfs, often small in containers)
// has room for the block: InitializeParallelDSM would otherwise fail with
// an ERROR instead of falling back.
bool SharedMemoryHasRoom(Size bytes) {
  if (dynamic_shared_memory_type != DSM_IMPL_POSIX) return true;
  struct statvfs st;
  if (statvfs("/dev/shm", &st) != 0) return true;
  const unsigned long long avail =
      static_cast<unsigned long long>(st.f_bavail) * static_cast<unsigned long long>(st.f_frsize);
  return avail >= bytes + bytes / 8 + (16u << 20);
}

// The build block starts on a cache line (the core pads its codes to whole
// lines); shm_toc_allocate aligns to ALIGNOF_BUFFER only, so each process
// rounds the chunk's address up (the chunk has a line to spare).
void* GraphBlockIn(void* chunk) {
  return reinterpret_cast<void*>(TYPEALIGN(64, reinterpret_cast<uintptr_t>(chunk)));
}

// C-style (may ereport; through PgCall). Enters parallel mode and sets up a
// context whose DSM holds a block of `bytes`; returns nullptr (and leaves
// parallel mode) when no DSM segment was available.
ParallelContext* BeginParallelGraph(int nworkers, Size bytes, void** block) {
  EnterParallelMode();
  ParallelContext* pcxt = CreateParallelContext("vecgo", "vecgo_graph_build_main", nworkers);
  shm_toc_estimate_chunk(&pcxt->estimator, bytes + 64);
  shm_toc_estimate_keys(&pcxt->estimator, 1);
  InitializeParallelDSM(pcxt);
  if (pcxt->seg == nullptr) {
    DestroyParallelContext(pcxt);
    ExitParallelMode();
    return nullptr;
  }
  void* chunk = shm_toc_allocate(pcxt->toc, bytes + 64);
  shm_toc_insert(pcxt->toc, kShmKeyGraph, chunk);
  *block = GraphBlockIn(chunk);
  return pcxt;
}

void EndParallelGraph(ParallelContext* pcxt) {
  DestroyParallelContext(pcxt);
  ExitParallelMode();
}

// Tears a context down on an error path, where a second ERROR would only
// hide the first.
void EndQuietly(ParallelContext* pcxt) noexcept {
  try {
    PgCall(EndParallelGraph, pcxt);
  } catch (...) {
  }
}

void LaunchPhase(ParallelContext* pcxt, int phase) {
  if (phase > 0) ReinitializeParallelDSM(pcxt);
  LaunchParallelWorkers(pcxt);
}

instr_time Now() {
  instr_time t;
  INSTR_TIME_SET_CURRENT(t);
  return t;
}

double MillisBetween(instr_time a, instr_time b) {
  INSTR_TIME_SUBTRACT(b, a);
  return INSTR_TIME_GET_MILLISEC(b);
}

void ReportSegmentTimes(Size rows, int participants, double graph_ms, double write_ms) {
  ereport(DEBUG1, (errmsg("vecgo: DiskANN segment of %zu rows: graph built in %.0f ms by %d "
                          "process(es), pages written in %.0f ms",
                          static_cast<size_t>(rows), graph_ms, participants, write_ms)));
}

void NoteSerialBuild(Size bytes) {
  ereport(NOTICE,
          (errmsg("vecgo: building the graph in one process"),
           errdetail("A parallel build needs %zu MB of dynamic shared memory, more than is free "
                     "in /dev/shm.",
                     static_cast<size_t>(bytes >> 20))));
}

VamanaIndex BuildGraph(std::vector<float>* data, Size n, int dims, const std::uint64_t* labels,
                       VamanaParams params, int* participants) {
  // Every participant is one thread (the core's own threads are for
  // programs outside PostgreSQL).
  params.threads = 1;
  params.progress = LeaderProgress;
  params.progress_ctx = &n;
  int nworkers = 0;
  if (n >= kMinParallelRows && !IsInParallelMode())
    nworkers = std::max(0, max_parallel_maintenance_workers);
  Size bytes = VamanaSharedBuild::Bytes(n, static_cast<std::size_t>(dims), params);
  if (nworkers > 0 && !SharedMemoryHasRoom(bytes)) {
    PgCall(NoteSerialBuild, bytes);
    nworkers = 0;
  }
  void* block = nullptr;
  ParallelContext* pcxt = nworkers > 0 ? PgCall(BeginParallelGraph, nworkers, bytes, &block) : nullptr;
  // No DSM segment to be had: the backend builds alone.
  if (pcxt == nullptr) return VamanaIndex::Build(data->data(), n, dims, labels, params);
  try {
    VamanaSharedBuild::Init(block, bytes, data->data(), n, static_cast<std::size_t>(dims), params);
    std::vector<float>().swap(*data);  // the block has the vectors now
    for (int phase = 0; phase < VamanaSharedBuild::Phases(); phase++) {
      VamanaSharedBuild::BeginPhase(block, phase);
      PgCall(LaunchPhase, pcxt, phase);
      *participants = std::max(*participants, 1 + pcxt->nworkers_launched);
      VamanaSharedBuild::Work(block, 1, params.progress, params.progress_ctx);
      PgCall(WaitForParallelWorkersToFinish, pcxt);
    }
    VamanaIndex vi = VamanaSharedBuild::Finish(block, labels, params);
    PgCall(EndParallelGraph, pcxt);
    return vi;
  } catch (const PgException&) {
    // This backend's own ERROR (a cancel, a timeout, or a worker's error
    // passed on by ProcessInterrupts): stop the workers' loops at their next
    // item and tear the context down here (an abort would also do it).
    VamanaSharedBuild::Cancel(block);
    EndQuietly(pcxt);
    throw;
  } catch (...) {
    // The core stopped because a worker gave up (it sets the block's cancel
    // flag): the worker's ERROR, waiting in its queue, is the cause to
    // report, so collect it before anything else.
    VamanaSharedBuild::Cancel(block);
    try {
      PgCall(WaitForParallelWorkersToFinish, pcxt);
    } catch (const PgException&) {
      EndQuietly(pcxt);
      throw;
    }
    EndQuietly(pcxt);
    throw;
  }
}

}  // namespace

void WriteDiskAnnSegment(Relation index, const MetaData* meta, uint32 id, const char* records,
                         Size nrecords, SegmentEntry* e) {
  const int dims = meta->dims;
  const Size rs = RecordSize(dims);
  ChainWriter* w = nullptr;
  {
    std::vector<float> data(static_cast<std::size_t>(nrecords) * dims);
    std::vector<std::uint64_t> labels(nrecords);
    for (Size i = 0; i < nrecords; i++) {
      const RecordHeader* h = reinterpret_cast<const RecordHeader*>(records + i * rs);
      labels[i] = TidLabel(h->tid);
      std::memcpy(&data[i * dims], records + i * rs + sizeof(RecordHeader), sizeof(float) * dims);
    }
    VamanaParams params = BuildParams(meta);
    // The build's share of maintenance_work_mem: what the glue's own copies
    // of these rows leave (callers size segments with DiskAnnMaxRows, so
    // this is not below the core's estimate).
    {
      Size glue = nrecords * GlueBytesPerRow(meta);
      Size budget = DiskAnnBudgetBytes();
      params.memory_budget = budget > glue ? budget - glue : 1;
    }
    const instr_time t0 = Now();
    int participants = 1;
    {
      const int index[] = {PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_CREATEIDX_TUPLES_TOTAL,
                           PROGRESS_CREATEIDX_TUPLES_DONE};
      const int64 value[] = {kSubphaseGraph, static_cast<int64>(nrecords), 0};
      pgstat_progress_update_multi_param(3, index, value);
    }
    VamanaIndex vi = BuildGraph(&data, nrecords, dims, labels.data(), params, &participants);
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, 3);
    const instr_time t1 = Now();
    std::vector<float>().swap(data);
    std::vector<std::uint64_t>().swap(labels);

    // The segment is one contiguous run of new blocks (DiskANN pages are
    // addressed as head + page number). Its size is counted first by a dry
    // run of the serialization (no page is kept), then the run is reserved
    // at the end of the relation; the extension lock is held only while the
    // relation grows, not while the pages are written.
    std::uint64_t npages_needed = 0;
    WriteVamanaPages(vi, [&npages_needed](std::uint64_t, const std::uint8_t*) { npages_needed++; }, kStreamBytes,
                     id);
    if (npages_needed > MaxBlockNumber / 2)
      throw Error(Error::Kind::InvalidArgument, "DiskANN segment too large for one relation");
    w = PgCall(NewChainWriter);
    PgCall(ChainWriterBeginRun, w, index, id, static_cast<uint32>(npages_needed));
    // The core emits pages 1, 2, ... in order and its header page 0 last:
    // each goes straight into the chain as it comes, page 0 into a
    // placeholder at the head that is rewritten at the end, so the run is
    // never gathered in memory as a whole.
    std::vector<char> first(kStreamBytes, 0);
    PgCall(ChainWriterAppend, w, first.data(), kStreamBytes);
    std::uint64_t expect = 1;
    auto sink = [&](std::uint64_t page_no, const std::uint8_t* page) {
      if (page_no == 0) {
        std::memcpy(first.data(), page, kStreamBytes);
        return;
      }
      if (page_no != expect) throw Error(Error::Kind::Internal, "DiskANN segment pages out of order");
      expect++;
      PgCall(ChainWriterAppend, w, reinterpret_cast<const char*>(page), kStreamBytes);
    };
    const std::uint64_t npages = WriteVamanaPages(vi, sink, kStreamBytes, id);
    if (npages != expect)
      throw Error(Error::Kind::Internal, "DiskANN segment size does not match its page count");
    vi = VamanaIndex();
    PgCall(ChainWriterFinish, w);
    PgCall(ChainWriterRewriteHead, w, first.data(), kStreamBytes);
    PgCall(ReportSegmentTimes, nrecords, participants, MillisBetween(t0, t1), MillisBetween(t1, Now()));
  }
  if (w->tail - w->head + 1 != w->npages || w->run_next != w->run_end)
    throw Error(Error::Kind::Internal, "DiskANN segment pages are not one contiguous run");
  std::memset(e, 0, sizeof(*e));
  e->id = id;
  e->kind = kSegmentDiskANN;
  e->quantization = meta->options.quantization;
  e->head = w->head;
  e->tail = w->tail;
  e->npages = w->npages;
  e->rows = nrecords;
  e->deleted = 0;
}

// ------------------------------------------------------------------ scan

namespace {

// A continuation beam search over one segment: each Next continues where
// the last stopped (approximately in distance order across calls). A NULL
// query, or a zero query under cosine, enumerates every live row instead.
// The C++ objects are freed by a reset callback of the scan's context;
// buffers are not touched there (on abort the resource owner has released
// the pin already), End unpins on the normal path.
class DiskAnnCursor final : public TierCursor {
 public:
  DiskAnnCursor() : TierCursor(false) {}

  void Open(const TierScan& scan, const SegmentEntry& e) {
    const int dims = scan.meta->dims;
    InitPageCtx(&ctx_, scan.index, e);
    store_ = new PagedVamanaStore(AccessPage, &ctx_, e.npages, kStreamBytes);
    if (store_->Dim() != static_cast<std::uint32_t>(dims))
      RaiseSegmentCorrupt(scan.index, e.id, "DiskANN graph has %u dimensions, the index %d",
                          static_cast<unsigned>(store_->Dim()), dims);
    UseSegmentCopy(&ctx_, e, *store_);
    bool zero = true;
    if (scan.query)
      for (int i = 0; i < dims && zero; i++) zero = scan.query[i] == 0.0f;
    enumerate_ = scan.query == nullptr || (zero && static_cast<Metric>(scan.meta->metric) == Metric::Cosine);
    if (!enumerate_) {
      searcher_ = new VamanaSearcher<PagedVamanaStore>(*store_);
      VamanaSearchOptions opts;
      opts.L = static_cast<std::uint32_t>(std::max(scan.ef_search, 10));
      searcher_->Start(scan.query, opts);
    }
  }

  int Next(int max, vecgo::Neighbor* out) override {
    return InSegment(ctx_.index, ctx_.segment_id, [&]() { return NextImpl(max, out); });
  }

  int NextImpl(int max, vecgo::Neighbor* out) {
    int n = 0;
    if (enumerate_) {
      while (n < max && next_id_ < store_->Size()) {
        std::uint32_t id = next_id_++;
        if (store_->Deleted(id)) continue;
        out[n++] = {INFINITY, store_->Label(id)};
      }
      return n;
    }
    results_.clear();
    searcher_->Next(static_cast<std::size_t>(max), &results_);
    for (const VamanaResult& r : results_) out[n++] = {r.distance, r.label};
    return n;
  }

  void End() override { Unpin(&ctx_); }

  static void Free(void* arg) {
    DiskAnnCursor* c = static_cast<DiskAnnCursor*>(arg);
    if (c->ctx_.copy != nullptr) SegmentCacheRelease(c->ctx_.copy);
    delete c->searcher_;
    delete c->store_;
    c->~DiskAnnCursor();
  }

 private:
  PageCtx ctx_{};
  PagedVamanaStore* store_ = nullptr;
  VamanaSearcher<PagedVamanaStore>* searcher_ = nullptr;
  std::vector<VamanaResult> results_;
  bool enumerate_ = false;
  std::uint32_t next_id_ = 0;
};

TierCursor* DiskAnnOpen(const TierScan& scan, const SegmentEntry& e) {
  DiskAnnCursor* c = NewInContext<DiskAnnCursor>(scan.ctx);
  InSegment(scan.index, e.id, [&]() { c->Open(scan, e); });
  return c;
}

}  // namespace

// ------------------------------------------------------------------ vacuum

namespace {

// The store and the list of dead rows are C++ objects alive across VACUUM's
// callback, which may raise an ERROR (it reads the TID store, and under
// CREATE/REINDEX INDEX CONCURRENTLY it is validate_index's, which does more):
// the callback is called through PgCall, so its ERROR comes back as an
// exception and unwinds these frames instead of jumping over them.
uint64 DiskAnnBulkDelete(IndexVacuumInfo* info, const SegmentEntry& e, IndexBulkDeleteCallback callback,
                         void* cbstate, IndexBulkDeleteResult* stats) {
  Relation index = info->index;
  PageCtx ctx;
  InitPageCtx(&ctx, index, e);
  PagedVamanaStore store(AccessPage, &ctx, e.npages, kStreamBytes);
  std::vector<PagedVamanaStore::BitLocation> dead;
  uint64 flagged = 0;
  for (std::uint32_t id = 0; id < store.Size(); id++) {
    if (store.Deleted(id)) {
      flagged++;
      continue;
    }
    ItemPointerData tid = LabelTid(store.Label(id));
    if (PgCall(callback, &tid, cbstate))
      dead.push_back(store.DeletionBit(id));
    else
      stats->num_index_tuples += 1;
    if ((id & 1023) == 0) PgCall(vacuum_delay_point);
  }
  Unpin(&ctx);
  for (const auto& loc : dead)
    if (loc.page >= e.npages || loc.byte < vecgo::kPageHeaderSize || loc.byte >= kStreamBytes ||
        loc.bit > 7)
      RaiseSegmentCorrupt(index, e.id, "DiskANN deletion bit outside the segment");
  // One WAL record per page of the bitmap, with the manifest's count (the
  // bits of ascending ids come page by page).
  uint64 marked = 0;
  for (std::size_t i = 0; i < dead.size();) {
    std::size_t j = i;
    while (j < dead.size() && dead[j].page == dead[i].page) j++;
    marked += PgCall(MarkDeletionBits, index, static_cast<BlockNumber>(e.head + dead[i].page), e.id,
                     &dead[i], static_cast<int>(j - i));
    PgCall(vacuum_delay_point);
    i = j;
  }
  stats->tuples_removed += static_cast<double>(marked);
  return flagged + marked;
}

// ------------------------------------------------------------------ compaction input

Size DiskAnnCopyLive(Relation index, const MetaData& meta, const SegmentEntry& e, char* out, Size max) {
  const int dims = meta.dims;
  const Size rs = RecordSize(dims);
  PageCtx ctx;
  InitPageCtx(&ctx, index, e);
  PagedVamanaStore store(AccessPage, &ctx, e.npages, kStreamBytes);
  if (store.Dim() != static_cast<std::uint32_t>(dims))
    RaiseSegmentCorrupt(index, e.id, "DiskANN graph has %u dimensions, the index %d",
                        static_cast<unsigned>(store.Dim()), dims);
  Size n = 0;
  for (std::uint32_t id = 0; id < store.Size(); id++) {
    if (store.Deleted(id)) continue;
    if (n == max)
      RaiseSegmentCorrupt(index, e.id, "holds more live rows than the manifest's %llu",
                          static_cast<unsigned long long>(max));
    char* rec = out + n * rs;
    std::memset(rec, 0, rs);
    RecordHeader* h = reinterpret_cast<RecordHeader*>(rec);
    h->tid = LabelTid(store.Label(id));
    h->flags = 0;
    std::memcpy(rec + sizeof(RecordHeader), store.Vector(id), sizeof(float) * dims);
    n++;
    if ((id & 1023) == 0) PgCall([]() { CHECK_FOR_INTERRUPTS(); });
  }
  Unpin(&ctx);
  return n;
}

// ------------------------------------------------------------------ verify

// One contiguous run of full pages, then the core's own structural check.
void DiskAnnVerify(Relation index, const MetaData&, const SegmentEntry& e, char* claimed,
                   BlockNumber nblocks, TierFacts* out) {
  std::memset(out, 0, sizeof(*out));
  // In 64 bits: head + npages from a damaged manifest may wrap.
  const uint64 end = static_cast<uint64>(e.head) + e.npages;
  if (e.npages == 0 || end > nblocks || e.tail != end - 1)
    RaiseSegmentCorrupt(index, e.id, "DiskANN run at block %u with %u pages is not a valid run", e.head,
                        e.npages);
  for (uint32 k = 0; k < e.npages; k++) {
    BlockNumber blk = e.head + k;
    if (claimed[blk]) RaiseSegmentCorrupt(index, e.id, "reuses block %u (claimed %d times)", blk, claimed[blk]);
    claimed[blk] = 1;
    Buffer buf = PgCall(ReadBuffer, index, blk);
    PgCall(LockBuffer, buf, BUFFER_LOCK_SHARE);
    PageOpaque o = *GetOpaque(BufferGetPage(buf));
    PgCall(UnlockReleaseBuffer, buf);
    BlockNumber want_next = k + 1 < e.npages ? blk + 1 : InvalidBlockNumber;
    if (o.page_id != kPageId || o.flags != kPageChain || o.segment_id != e.id || o.used != kStreamBytes ||
        o.next != want_next)
      RaiseSegmentCorrupt(index, e.id, "block %u is not page %u of its DiskANN run", blk, k);
  }
  PageCtx ctx;
  InitPageCtx(&ctx, index, e);
  PagedVamanaStore store(AccessPage, &ctx, e.npages, kStreamBytes);
  store.Verify();
  out->pages = e.npages;
  out->tail = e.head + e.npages - 1;
  out->rows = store.Size();
  for (std::uint32_t id = 0; id < store.Size(); id++) {
    ItemPointerData tid = LabelTid(store.Label(id));
    const BlockNumber heap_blk = ItemPointerGetBlockNumberNoCheck(&tid);
    if (!ItemPointerIsValid(&tid) || ItemPointerGetOffsetNumberNoCheck(&tid) == 0 ||
        heap_blk == InvalidBlockNumber) {
      Unpin(&ctx);
      RaiseSegmentCorrupt(index, e.id, "DiskANN node %u holds an invalid heap TID", id);
    }
    if (store.Deleted(id))
      out->deleted++;
    else
      out->max_heap_block = std::max(out->max_heap_block, heap_blk);
  }
  Unpin(&ctx);
}

// ------------------------------------------------------------------ cost
// A batch expands about ef_search graph nodes (a page and R distances each);
// returning every row expands every node.
void DiskAnnCost(const MetaData& meta, const SegmentEntry& e, double ef, TierCost* out) {
  const double degree = std::max(meta.options.graph_degree, 1);
  const double per_visit = seq_page_cost + degree * cpu_operator_cost;
  out->exact = false;
  out->rows = static_cast<double>(LiveRows(e));
  out->pages = e.npages;
  out->batch = std::min(out->rows, 1.5 * ef + std::log2(out->rows + 2.0)) * per_visit;
  out->all = out->rows * per_visit;
}

}  // namespace

// Core errors from the segment's pages name the index and the segment.
const TierOps kDiskAnnTierOps = {
    kSegmentDiskANN,
    "diskann",
    DiskAnnOpen,
    [](IndexVacuumInfo* info, const SegmentEntry& e, IndexBulkDeleteCallback cb, void* cbstate,
       IndexBulkDeleteResult* stats) {
      return InSegment(info->index, e.id, [&]() { return DiskAnnBulkDelete(info, e, cb, cbstate, stats); });
    },
    [](Relation index, const MetaData& meta, const SegmentEntry& e, char* out, Size max) {
      return InSegment(index, e.id, [&]() { return DiskAnnCopyLive(index, meta, e, out, max); });
    },
    [](Relation index, const MetaData& meta, const SegmentEntry& e, char* claimed, BlockNumber nblocks,
       TierFacts* out) {
      InSegment(index, e.id, [&]() { DiskAnnVerify(index, meta, e, claimed, nblocks, out); });
    },
    DiskAnnCost};

}  // namespace vecgo::pg

// The entry point of a parallel worker of a graph build (see BuildGraph):
// PostgreSQL looks it up by name in this library.
extern "C" PGDLLEXPORT void vecgo_graph_build_main(dsm_segment* seg, shm_toc* toc);

extern "C" void vecgo_graph_build_main(dsm_segment*, shm_toc* toc) {
  void* block = vecgo::pg::GraphBlockIn(shm_toc_lookup(toc, vecgo::pg::kShmKeyGraph, false));
  vecgo::pg::Guard([&]() {
    try {
      vecgo::VamanaSharedBuild::Work(block, 1, vecgo::pg::ParticipantProgress, nullptr);
    } catch (...) {
      // Stopped by another participant's cancel: that one reports why, this
      // worker just ends. Otherwise this worker's error stops the others and
      // goes to the backend.
      if (vecgo::VamanaSharedBuild::Cancelled(block)) return;
      vecgo::VamanaSharedBuild::Cancel(block);
      throw;
    }
  });
}
