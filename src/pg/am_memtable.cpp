// The MemTable: an HNSW graph in shared memory over each L0 log (the hot tier).
//
// With vecgo in shared_preload_libraries, every L0 log chain gets an HNSW
// graph (vecgo/hnsw.h) in one DSA area shared by all backends. aminsert
// appends the row to the L0 log (the durable copy) and then inserts it into
// the graph, so a committed row is searchable through the graph as soon as
// its insert returns. The graph is a cache: after a restart, a crash, or a
// failed insert it is missing rows, and the rows it misses are found by an
// exact scan of the L0 log. What makes that exact:
//
//  - `map[ordinal]` (one word per record of the chain) says whether the
//    record is in the graph (node id + 1), being inserted (claimed), skipped
//    (deleted before it got in), or absent; `covered` is the length of the
//    prefix of ordinals all in the graph or skipped. A scan reads `covered`
//    once (W): it searches the graph for nodes whose ordinal is below W and
//    scans the chain exactly from ordinal W on. Nodes inserted at ordinals
//    >= W are filtered out of the graph search, so no row is returned twice
//    and none is missed.
//  - `ordinal[id]` maps a node back to its record; it starts at "none" and is
//    written before the node's map entry, so a node a scan can see but whose
//    ordinal is not yet written is filtered out.
//  - `page_block[page index]` records where each page of the chain is, so the
//    exact part starts at the page of ordinal W instead of at the head.
//
// The graph of a chain lives on after the chain is sealed into a Flat
// segment (it then serves that segment), until compaction replaces the
// segment; the worker (MemTableMaintain) then frees it, fills the gaps of a
// graph that missed rows, and builds the graph of an L0 log whose graph was
// lost. DROP INDEX frees an index's graphs at once (object access hook);
// TRUNCATE and REINDEX (a new relfilenode) free them at the next insert or
// worker visit.
//
// Who inserts: with vecgo.memtable_worker on (the default), aminsert hands
// the row to the MemTable worker through a queue in shared memory and
// returns; the worker inserts it into the graph in parallel with the
// session's next rows. The queue is small (kQueueBytes of vectors), so the
// rows a scan finds exactly because the graph has not got them yet stay
// few; when it is full, or the worker is not running, the inserting session
// inserts the row into the graph itself. A session that streams rows thus
// runs at the speed of the L0 append while the queue has room, and at about
// twice the graph's single-process rate once it is full (session and worker
// both inserting). Queued rows the worker never gets to (a crash) are only
// missing from the graph: the scan finds them exactly, the catch-up inserts
// them.
//
// Memory: vecgo.memtable_memory bounds the chunks of all graphs together.
// When an insert cannot have memory, the row stays in the L0 log only (found
// exactly), and the L0 log with the largest graph is sealed so that
// compaction turns it into a DiskANN segment and its memory comes back. No
// insert ever fails for lack of MemTable memory.
//
// Lifetime: a slot is found under the registry's LWLock and pinned with a
// reference count; a retired slot is freed by whoever drops its last
// reference. References a backend still holds when its transaction aborts
// or it exits are dropped then.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <vector>

#include "vecgo/hnsw.h"
#include "guard.h"
#include "am.h"
#include "worker.h"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/resowner.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/dsa.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
}

namespace vecgo::pg {

int g_memtable_memory_mb = 1024;

namespace {

constexpr int kMaxMemTables = 256;
constexpr uint32 kMapAbsent = 0;
constexpr uint32 kMapClaimed = 0xFFFFFFFFu;
constexpr uint32 kMapSkipped = 0xFFFFFFFEu;
constexpr uint32 kNoOrdinal = 0xFFFFFFFFu;
// Ordinals one graph covers at most (its maps are sized at creation).
constexpr uint64 kMaxCapacity = uint64{1} << 22;

enum SlotState : uint32 { kSlotFree = 0, kSlotLive = 1, kSlotRetired = 2 };

struct MemSlot {
  // Identity and layout: written under the registry lock held exclusively.
  uint32 state;
  Oid dboid;
  Oid indexoid;
  Oid relnode;
  uint32 chain_id;
  uint64 generation;
  uint32 capacity;       // ordinals
  uint32 page_capacity;  // pages of the chain tracked
  uint32 chunk_capacity;
  int32 dims;
  Size header_bytes;
  Size map_off, ordinal_off, page_off, chunk_off;
  dsa_pointer block;
  Size block_bytes;
  TimestampTz created;
  // Changed without the registry lock.
  pg_atomic_uint32 refs;
  pg_atomic_uint64 covered;
  pg_atomic_uint64 spare;  // a chunk ready for NewChunk (InvalidDsaPointer when none)
  pg_atomic_uint32 nchunks;
  pg_atomic_uint32 sealed;          // the chain is no longer the L0 log
  pg_atomic_uint32 seal_requested;  // memory is short: seal this L0 log
  pg_atomic_uint32 catching_up;
};

struct Registry {
  int dsa_tranche;
  dsa_handle area;  // DSM_HANDLE_INVALID until the first graph
  pg_atomic_uint64 total_bytes;  // chunks of every graph, spares included
  uint64 next_generation;
  MemSlot slots[kMaxMemTables];
};

// The insert queue: entries {slot, generation, ordinal, label, vector} in a
// ring of kQueueBytes. Sessions reserve an entry under the spinlock (head),
// copy the row in and publish it (ready); the worker takes entries in order
// (tail). An entry that does not fit before the end of the ring is preceded
// by a skip entry filling the rest, so every entry is contiguous. Entry
// sizes are multiples of 64 bytes, so the rest is never smaller than a
// header.
constexpr Size kQueueBytes = 2 * 1024 * 1024;
constexpr Size kQueueAlign = 64;

struct QueueEntry {
  pg_atomic_uint32 ready;
  uint32 bytes;  // the whole entry, header included
  int32 slot;    // -1: skip to the start of the ring
  int32 dims;
  uint64 generation;
  uint64 ordinal;
  uint64 label;
  // then dims floats
};

struct InsertQueue {
  slock_t lock;              // taken by sessions to reserve
  pg_atomic_uint64 head;     // bytes reserved, ever (written under lock)
  pg_atomic_uint64 tail;     // bytes the worker has taken, ever
  pg_atomic_uint32 worker;   // pid of the running MemTable worker, 0 when none
  Latch* latch;              // its latch (valid while worker != 0)
  pg_atomic_uint64 queued;   // rows queued, ever (statistics)
  pg_atomic_uint64 taken;    // rows the worker took, ever
  pg_atomic_uint64 direct;   // rows sessions inserted themselves, ever
  pg_atomic_uint64 delayed;  // rows whose insert was slowed down (ThrottleIngest), ever
  pg_atomic_uint64 delay_ms; // the time they waited in all, ever
  alignas(64) char ring[kQueueBytes];
};

Registry* g_reg = nullptr;
InsertQueue* g_queue = nullptr;
bool g_memtable_worker = true;
LWLock* g_lock = nullptr;
dsa_area* g_area = nullptr;
shmem_request_hook_type g_prev_request = nullptr;
shmem_startup_hook_type g_prev_startup = nullptr;
object_access_hook_type g_prev_object_access = nullptr;
bool g_not_preloaded_said = false;
int g_ingest_max_delay_ms = 10;
double g_delay_debt_us = 0;  // this backend's delay owed, below a millisecond

// This backend's references, and its views of the graphs.
uint32 g_held[kMaxMemTables];
uint64 g_epoch = 1;  // bumped when an abort drops every reference
int g_catchup_slot = -1;  // the slot whose catch-up this backend runs
struct LocalView {
  uint64 generation;
  HnswGraph* graph;
};
LocalView g_views[kMaxMemTables];
// One idle search object per graph, kept for the next scan: its visited set
// is sized to the graph, and allocating that anew per query would cost more
// than the search.
struct PooledSearch {
  uint64 generation;
  HnswSearch* search;
};
PooledSearch g_search_pool[kMaxMemTables];

Size BudgetBytes() { return static_cast<Size>(g_memtable_memory_mb) * 1024 * 1024; }

inline char* SlotBase(const MemSlot* s) { return static_cast<char*>(dsa_get_address(g_area, s->block)); }
inline std::atomic<uint32>* SlotMap(const MemSlot* s) {
  return reinterpret_cast<std::atomic<uint32>*>(SlotBase(s) + s->map_off);
}
inline std::atomic<uint32>* SlotOrdinals(const MemSlot* s) {
  return reinterpret_cast<std::atomic<uint32>*>(SlotBase(s) + s->ordinal_off);
}
inline std::atomic<uint32>* SlotPages(const MemSlot* s) {
  return reinterpret_cast<std::atomic<uint32>*>(SlotBase(s) + s->page_off);
}
inline dsa_pointer* SlotChunks(const MemSlot* s) { return reinterpret_cast<dsa_pointer*>(SlotBase(s) + s->chunk_off); }

// Chunks of a graph come from the shared area. NewChunk runs under the
// graph's spinlocks, so it only takes the slot's spare chunk, allocated
// beforehand outside them (EnsureSpare): it never calls into PostgreSQL.
class DsaChunkSource final : public ChunkSource {
 public:
  explicit DsaChunkSource(MemSlot* slot) : slot_(slot) {}
  void* NewChunk(std::uint32_t index, std::uint64_t* handle) override {
    if (index >= slot_->chunk_capacity) return nullptr;
    dsa_pointer p = pg_atomic_exchange_u64(&slot_->spare, InvalidDsaPointer);
    if (!DsaPointerIsValid(p)) return nullptr;
    SlotChunks(slot_)[index] = p;
    pg_atomic_write_u32(&slot_->nchunks, std::max(pg_atomic_read_u32(&slot_->nchunks), index + 1));
    *handle = p;
    return dsa_get_address(g_area, p);
  }
  void* MapChunk(std::uint32_t, std::uint64_t handle) override { return dsa_get_address(g_area, handle); }

 private:
  MemSlot* slot_;
};

// ------------------------------------------------------------------ shared memory

Size RegistryBytes() { return MAXALIGN(sizeof(Registry)); }

void RequestShmem() {
  if (g_prev_request) g_prev_request();
  RequestAddinShmemSpace(RegistryBytes());
  RequestAddinShmemSpace(sizeof(InsertQueue) + kQueueAlign);
  RequestNamedLWLockTranche("vecgo memtable", 1);
}

void StartupShmem() {
  if (g_prev_startup) g_prev_startup();
  LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
  bool found;
  g_reg = static_cast<Registry*>(ShmemInitStruct("vecgo memtable registry", RegistryBytes(), &found));
  if (!found) {
    std::memset(static_cast<void*>(g_reg), 0, RegistryBytes());
    g_reg->dsa_tranche = LWLockNewTrancheId();
    g_reg->area = DSM_HANDLE_INVALID;
    pg_atomic_init_u64(&g_reg->total_bytes, 0);
    g_reg->next_generation = 1;
    for (MemSlot& s : g_reg->slots) {
      pg_atomic_init_u32(&s.refs, 0);
      pg_atomic_init_u64(&s.covered, 0);
      pg_atomic_init_u64(&s.spare, InvalidDsaPointer);
      pg_atomic_init_u32(&s.nchunks, 0);
      pg_atomic_init_u32(&s.sealed, 0);
      pg_atomic_init_u32(&s.seal_requested, 0);
      pg_atomic_init_u32(&s.catching_up, 0);
    }
  }
  g_lock = &(GetNamedLWLockTranche("vecgo memtable"))->lock;
  void* q = ShmemInitStruct("vecgo memtable queue", sizeof(InsertQueue) + kQueueAlign, &found);
  g_queue = reinterpret_cast<InsertQueue*>(TYPEALIGN(kQueueAlign, reinterpret_cast<uintptr_t>(q)));
  if (!found) {
    SpinLockInit(&g_queue->lock);
    pg_atomic_init_u64(&g_queue->head, 0);
    pg_atomic_init_u64(&g_queue->tail, 0);
    pg_atomic_init_u32(&g_queue->worker, 0);
    g_queue->latch = nullptr;
    pg_atomic_init_u64(&g_queue->queued, 0);
    pg_atomic_init_u64(&g_queue->taken, 0);
    pg_atomic_init_u64(&g_queue->direct, 0);
    pg_atomic_init_u64(&g_queue->delayed, 0);
    pg_atomic_init_u64(&g_queue->delay_ms, 0);
  }
  LWLockRelease(AddinShmemInitLock);
}

void OnExit(int, Datum);

// Attaches this backend to the area, creating it on first use. Plain C calls.
bool EnsureArea() {
  if (g_area != nullptr) return true;
  if (g_reg == nullptr) return false;
  LWLockRegisterTranche(g_reg->dsa_tranche, "vecgo memtable area");
  MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  if (g_reg->area == DSM_HANDLE_INVALID) {
    g_area = dsa_create(g_reg->dsa_tranche);
    dsa_pin(g_area);
    g_reg->area = dsa_get_handle(g_area);
  } else {
    g_area = dsa_attach(g_reg->area);
  }
  dsa_pin_mapping(g_area);
  LWLockRelease(g_lock);
  MemoryContextSwitchTo(old);
  before_shmem_exit(OnExit, 0);
  return true;
}

// ------------------------------------------------------------------ slots

// Frees a retired slot nobody references (registry lock held exclusively).
void FreeSlotLocked(int i) {
  MemSlot* s = &g_reg->slots[i];
  if (s->state != kSlotRetired || pg_atomic_read_u32(&s->refs) != 0) return;
  uint64 freed = 0;
  const uint32 n = pg_atomic_read_u32(&s->nchunks);
  dsa_pointer* chunks = SlotChunks(s);
  for (uint32 c = 0; c < n; c++)
    if (DsaPointerIsValid(chunks[c])) {
      dsa_free(g_area, chunks[c]);
      freed += kArenaChunkBytes;
    }
  dsa_pointer spare = pg_atomic_exchange_u64(&s->spare, InvalidDsaPointer);
  if (DsaPointerIsValid(spare)) {
    dsa_free(g_area, spare);
    freed += kArenaChunkBytes;
  }
  dsa_free(g_area, s->block);
  freed += s->block_bytes;
  pg_atomic_sub_fetch_u64(&g_reg->total_bytes, freed);
  s->block = InvalidDsaPointer;
  s->state = kSlotFree;
  s->generation = g_reg->next_generation++;
}

void RetireSlotLocked(int i) {
  MemSlot* s = &g_reg->slots[i];
  if (s->state != kSlotLive) return;
  s->state = kSlotRetired;
  FreeSlotLocked(i);
}

void ReleaseSlot(int i) {
  g_held[i]--;
  if (pg_atomic_sub_fetch_u32(&g_reg->slots[i].refs, 1) == 0 && g_reg->slots[i].state == kSlotRetired) {
    LWLockAcquire(g_lock, LW_EXCLUSIVE);
    FreeSlotLocked(i);
    LWLockRelease(g_lock);
  }
}

// Drops every reference this backend holds (transaction abort, exit).
void ReleaseAll() {
  if (g_reg == nullptr || g_area == nullptr) return;
  if (g_catchup_slot >= 0) {
    pg_atomic_write_u32(&g_reg->slots[g_catchup_slot].catching_up, 0);
    g_catchup_slot = -1;
  }
  for (int i = 0; i < kMaxMemTables; i++)
    while (g_held[i] > 0) ReleaseSlot(i);
  g_epoch++;
}

void OnXact(XactEvent event, void*) {
  if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT) ReleaseAll();
}

void OnExit(int, Datum) { ReleaseAll(); }

// Whether slot s is the graph of chain `chain` of `index` (its OID as well as
// its relfilenode: two temporary indexes may share a relfilenode number).
bool SlotIs(const MemSlot* s, Relation index, uint32 chain) {
  return s->state == kSlotLive && s->dboid == MyDatabaseId && s->indexoid == RelationGetRelid(index) &&
         s->relnode == index->rd_node.relNode && s->chain_id == chain;
}

// Takes a reference to slot i for this backend (registry lock held).
void ReferenceSlotLocked(int i) {
  pg_atomic_add_fetch_u32(&g_reg->slots[i].refs, 1);
  g_held[i]++;
}

// The live slot of chain `chain` of `index`, referenced; -1 if none.
int AcquireSlot(Relation index, uint32 chain) {
  int found = -1;
  LWLockAcquire(g_lock, LW_SHARED);
  for (int i = 0; i < kMaxMemTables; i++) {
    MemSlot* s = &g_reg->slots[i];
    if (SlotIs(s, index, chain)) {
      ReferenceSlotLocked(i);
      found = i;
      break;
    }
  }
  LWLockRelease(g_lock);
  return found;
}

// This backend's view of slot i's graph (attached on first use). May throw.
HnswGraph* ViewOf(int i) {
  MemSlot* s = &g_reg->slots[i];
  LocalView& v = g_views[i];
  if (v.graph != nullptr && v.generation == s->generation) return v.graph;
  delete v.graph;
  v.graph = nullptr;
  std::unique_ptr<HnswGraph> g = HnswGraph::Attach(SlotBase(s), std::make_unique<DsaChunkSource>(s));
  v.graph = g.release();
  v.generation = s->generation;
  return v.graph;
}

// Makes sure slot s has a chunk ready for the graph's next NewChunk, within
// the budget. Returns false when the budget is spent.
bool EnsureSpare(MemSlot* s) {
  if (DsaPointerIsValid(pg_atomic_read_u64(&s->spare))) return true;
  if (pg_atomic_read_u64(&g_reg->total_bytes) + kArenaChunkBytes > BudgetBytes()) return false;
  dsa_pointer p = dsa_allocate_extended(g_area, kArenaChunkBytes, DSA_ALLOC_HUGE | DSA_ALLOC_NO_OOM);
  if (!DsaPointerIsValid(p)) return false;
  uint64 expected = InvalidDsaPointer;
  if (pg_atomic_compare_exchange_u64(&s->spare, &expected, p)) {
    pg_atomic_add_fetch_u64(&g_reg->total_bytes, kArenaChunkBytes);
  } else {
    dsa_free(g_area, p);
  }
  return true;
}

HnswParams ParamsOf(Relation index, int dims, uint8 metric) {
  const StoredOptions o = OptionsFromRelation(index);
  HnswParams p;
  p.dim = static_cast<std::size_t>(dims);
  p.metric = static_cast<Metric>(metric);
  p.m = static_cast<std::size_t>(o.m);
  p.ef_construction = static_cast<std::size_t>(o.ef_construction);
  p.memory_limit = std::max<Size>(BudgetBytes(), kArenaChunkBytes);
  return p;
}

// CreateSlot's failures: out of memory (vecgo.memtable_memory or the area),
// which sealing the largest L0 log relieves, and out of slots or a graph
// that cannot be made, which it does not.
constexpr int kNoMemory = -1;
constexpr int kNoSlot = -2;

// Creates the graph of chain `chain` of `index` and returns it referenced,
// or kNoMemory / kNoSlot. Retires the graphs of this index under an older
// relfilenode (TRUNCATE, REINDEX).
int CreateSlot(Relation index, int dims, uint8 metric, uint32 chain) {
  const HnswParams params = ParamsOf(index, dims, metric);
  const Size rs = RecordSize(dims);
  const StoredOptions o = OptionsFromRelation(index);
  // The L0 log seals at memtable_size (or sooner): room for that many rows.
  uint64 cap = static_cast<uint64>(o.memtable_size_mb) * 1024 * 1024 / rs + kStreamBytes / rs + 16;
  cap = std::min(cap, kMaxCapacity);
  const uint64 pages = cap * rs / kStreamBytes + 2;
  const Size header = TYPEALIGN(64, HnswGraph::HeaderBytes(params));
  const uint32 chunk_cap = HnswGraph::ChunkCapacity(params.memory_limit);
  const Size map_off = header;
  const Size ordinal_off = map_off + 4 * cap;
  const Size page_off = ordinal_off + 4 * cap;
  const Size chunk_off = MAXALIGN(page_off + 4 * pages);
  const Size total = chunk_off + sizeof(dsa_pointer) * chunk_cap;

  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  int slot = -1;
  for (int i = 0; i < kMaxMemTables; i++) {
    MemSlot* s = &g_reg->slots[i];
    if (s->state == kSlotLive && s->dboid == MyDatabaseId && s->indexoid == RelationGetRelid(index) &&
        s->relnode != index->rd_node.relNode)
      RetireSlotLocked(i);
    if (SlotIs(s, index, chain)) {
      // Created meanwhile by another backend.
      ReferenceSlotLocked(i);
      LWLockRelease(g_lock);
      return i;
    }
    if (slot < 0 && s->state == kSlotFree) slot = i;
  }
  if (slot < 0) {
    LWLockRelease(g_lock);
    return kNoSlot;
  }
  if (pg_atomic_read_u64(&g_reg->total_bytes) + total + kArenaChunkBytes > BudgetBytes()) {
    LWLockRelease(g_lock);
    return kNoMemory;
  }
  dsa_pointer block = dsa_allocate_extended(g_area, total, DSA_ALLOC_HUGE | DSA_ALLOC_NO_OOM | DSA_ALLOC_ZERO);
  if (!DsaPointerIsValid(block)) {
    LWLockRelease(g_lock);
    return kNoMemory;
  }
  MemSlot* s = &g_reg->slots[slot];
  char* base = static_cast<char*>(dsa_get_address(g_area, block));
  std::memset(base + ordinal_off, 0xFF, 4 * cap);  // no node has an ordinal yet
  // The graph's header first: a slot becomes visible only with a valid one.
  std::unique_ptr<HnswGraph> g;
  try {
    g = HnswGraph::Create(base, header, params, std::make_unique<DsaChunkSource>(s));
  } catch (...) {
    dsa_free(g_area, block);
    LWLockRelease(g_lock);
    return kNoSlot;
  }
  s->dboid = MyDatabaseId;
  s->indexoid = RelationGetRelid(index);
  s->relnode = index->rd_node.relNode;
  s->chain_id = chain;
  s->generation = g_reg->next_generation++;
  s->capacity = static_cast<uint32>(cap);
  s->page_capacity = static_cast<uint32>(pages);
  s->chunk_capacity = chunk_cap;
  s->dims = dims;
  s->header_bytes = header;
  s->map_off = map_off;
  s->ordinal_off = ordinal_off;
  s->page_off = page_off;
  s->chunk_off = chunk_off;
  s->block = block;
  s->block_bytes = total;
  s->created = GetCurrentTimestamp();
  pg_atomic_write_u64(&s->covered, 0);
  pg_atomic_write_u64(&s->spare, InvalidDsaPointer);
  pg_atomic_write_u32(&s->nchunks, 0);
  pg_atomic_write_u32(&s->sealed, 0);
  pg_atomic_write_u32(&s->seal_requested, 0);
  pg_atomic_write_u32(&s->catching_up, 0);
  pg_atomic_add_fetch_u64(&g_reg->total_bytes, total);
  pg_atomic_write_u32(&s->refs, 1);
  g_held[slot]++;
  s->state = kSlotLive;
  // This backend's view of it.
  delete g_views[slot].graph;
  g_views[slot].graph = g.release();
  g_views[slot].generation = s->generation;
  LWLockRelease(g_lock);
  return slot;
}

// Advances `covered` over ordinals in the graph or skipped.
void AdvanceCovered(MemSlot* s) {
  std::atomic<uint32>* map = SlotMap(s);
  uint64 w = pg_atomic_read_u64(&s->covered);
  while (w < s->capacity) {
    const uint32 m = map[w].load(std::memory_order_acquire);
    if (m == kMapAbsent || m == kMapClaimed) break;
    if (pg_atomic_compare_exchange_u64(&s->covered, &w, w + 1)) w++;
  }
}

// Block + 1 of the page record `ordinal` starts on, 0 when not known.
uint32 PageBlock(MemSlot* s, uint64 ordinal, Size rs) {
  const uint64 page = ordinal * rs / kStreamBytes;
  return page < s->page_capacity ? SlotPages(s)[page].load(std::memory_order_acquire) : 0;
}

void NotePage(MemSlot* s, uint64 ordinal, Size rs, BlockNumber block) {
  const uint64 page = ordinal * rs / kStreamBytes;
  if (page < s->page_capacity) SlotPages(s)[page].store(block + 1, std::memory_order_release);
}

// Inserts record `ordinal` (vector `vec`, heap TID label `label`) into slot
// s's graph unless it is there or being inserted. Returns false when the
// graph has no memory for it. May not throw: HNSW errors leave the record
// absent (found exactly until a catch-up inserts it).
bool InsertOrdinal(int i, uint64 ordinal, const float* vec, uint64 label, bool deleted) {
  MemSlot* s = &g_reg->slots[i];
  if (ordinal >= s->capacity) return true;
  std::atomic<uint32>* map = SlotMap(s);
  uint32 expected = kMapAbsent;
  if (!map[ordinal].compare_exchange_strong(expected, kMapClaimed, std::memory_order_acq_rel)) return true;
  if (deleted) {
    map[ordinal].store(kMapSkipped, std::memory_order_release);
    AdvanceCovered(s);
    return true;
  }
  const bool room = EnsureSpare(s);
  bool ok = false;
  try {
    HnswGraph* g = ViewOf(i);
    const uint32 id = g->Insert(vec, label);
    SlotOrdinals(s)[id].store(static_cast<uint32>(ordinal), std::memory_order_release);
    map[ordinal].store(id + 1, std::memory_order_release);
    ok = true;
  } catch (...) {
    map[ordinal].store(kMapAbsent, std::memory_order_release);
  }
  if (ok) AdvanceCovered(s);
  return ok || room;
}

// Memory is short: asks the L0 log with the largest graph to be sealed (by
// its next insert, or the worker), so that compaction frees its memory; only
// if that graph holds at least `min_bytes` and its log is at least a quarter
// full. (A log just begun is never sealed for memory: that frees nothing
// worth having, and while memory is held by sealed graphs waiting for
// compaction it would seal one tiny log after another, each a segment of
// its own.)
void RequestSealOfLargest(uint64 min_bytes = 0) {
  LWLockAcquire(g_lock, LW_SHARED);
  int best = -1;
  uint32 most = 0;
  for (int i = 0; i < kMaxMemTables; i++) {
    MemSlot* s = &g_reg->slots[i];
    if (s->state != kSlotLive || pg_atomic_read_u32(&s->sealed)) continue;
    const uint32 n = pg_atomic_read_u32(&s->nchunks);
    if (best < 0 || n > most) {
      best = i;
      most = n;
    }
  }
  if (best >= 0 && static_cast<uint64>(most) * kArenaChunkBytes >= min_bytes &&
      pg_atomic_read_u64(&g_reg->slots[best].covered) * 4 >= g_reg->slots[best].capacity)
    pg_atomic_write_u32(&g_reg->slots[best].seal_requested, 1);
  LWLockRelease(g_lock);
}

// ------------------------------------------------------------------ insert queue

inline QueueEntry* EntryAt(uint64 pos) {
  return reinterpret_cast<QueueEntry*>(g_queue->ring + pos % kQueueBytes);
}

// Hands row `ordinal` of slot i to the MemTable worker. False when no worker
// runs or the queue is full: the caller inserts the row itself.
bool QueuePush(int i, uint64 ordinal, const float* vec, int dims, uint64 label) {
  if (g_queue == nullptr || pg_atomic_read_u32(&g_queue->worker) == 0) return false;
  const Size need = TYPEALIGN(kQueueAlign, sizeof(QueueEntry) + sizeof(float) * static_cast<Size>(dims));
  if (need > kQueueBytes / 4) return false;
  QueueEntry* e = nullptr;
  Latch* latch = nullptr;
  SpinLockAcquire(&g_queue->lock);
  const uint64 head = pg_atomic_read_u64(&g_queue->head);
  const uint64 tail = pg_atomic_read_u64(&g_queue->tail);
  const Size to_end = kQueueBytes - head % kQueueBytes;
  const Size skip = to_end < need ? to_end : 0;
  if (head + skip + need - tail <= kQueueBytes) {
    if (skip > 0) {
      QueueEntry* k = EntryAt(head);
      k->bytes = static_cast<uint32>(skip);
      k->slot = -1;
      pg_atomic_write_u32(&k->ready, 1);
    }
    e = EntryAt(head + skip);
    pg_atomic_write_u32(&e->ready, 0);
    pg_write_barrier();
    pg_atomic_write_u64(&g_queue->head, head + skip + need);
    latch = g_queue->latch;
  }
  SpinLockRelease(&g_queue->lock);
  if (e == nullptr) return false;
  e->bytes = static_cast<uint32>(need);
  e->slot = i;
  e->dims = dims;
  e->generation = g_reg->slots[i].generation;
  e->ordinal = ordinal;
  e->label = label;
  std::memcpy(reinterpret_cast<char*>(e) + sizeof(QueueEntry), vec, sizeof(float) * static_cast<Size>(dims));
  pg_write_barrier();
  pg_atomic_write_u32(&e->ready, 1);
  pg_atomic_fetch_add_u64(&g_queue->queued, 1);
  if (latch != nullptr) SetLatch(latch);
  return true;
}

// Slot i referenced if it is still the graph of generation `generation`.
bool AcquireSlotAt(int i, uint64 generation) {
  if (i < 0 || i >= kMaxMemTables) return false;
  LWLockAcquire(g_lock, LW_SHARED);
  MemSlot* s = &g_reg->slots[i];
  const bool ok = s->state == kSlotLive && s->generation == generation;
  if (ok) {
    ReferenceSlotLocked(i);
  }
  LWLockRelease(g_lock);
  return ok;
}

// vecgo.memtable_memory may change at any reload: the worker follows it.
void QueueWorkerReload() {
  if (!ConfigReloadPending) return;
  ConfigReloadPending = false;
  ProcessConfigFile(PGC_SIGHUP);
}

void QueueWorkerExit(int, Datum) {
  g_queue->latch = nullptr;
  pg_atomic_write_u32(&g_queue->worker, 0);
}

// Inserts the queued rows, in order, until the queue is empty. A session
// that reserved an entry publishes it within microseconds (a copy), unless
// it lost the CPU: then the worker sleeps a little instead of spinning.
void DrainQueue() {
  int held = -1;  // the slot referenced for a run of entries of one graph
  uint64 held_generation = 0;
  bool room = true;
  for (;;) {
    const uint64 tail = pg_atomic_read_u64(&g_queue->tail);
    if (tail == pg_atomic_read_u64(&g_queue->head)) break;
    QueueEntry* e = EntryAt(tail);
    for (int spins = 0; pg_atomic_read_u32(&e->ready) == 0; spins++) {
      if (spins < 200) {
        CpuRelax();
      } else {
        pg_usleep(50);
        CHECK_FOR_INTERRUPTS();
      }
    }
    pg_read_barrier();
    if (e->slot >= 0) {
      if (held != e->slot || held_generation != e->generation) {
        if (held >= 0) ReleaseSlot(held);
        held = AcquireSlotAt(e->slot, e->generation) ? e->slot : -1;
        held_generation = e->generation;
      }
      if (held >= 0 && e->dims == g_reg->slots[held].dims) {
        const float* vec = reinterpret_cast<const float*>(reinterpret_cast<char*>(e) + sizeof(QueueEntry));
        room = InsertOrdinal(held, e->ordinal, vec, e->label, false) && room;
      }
    }
    if (e->slot >= 0) pg_atomic_fetch_add_u64(&g_queue->taken, 1);
    pg_memory_barrier();
    pg_atomic_write_u64(&g_queue->tail, tail + e->bytes);
    CHECK_FOR_INTERRUPTS();
    QueueWorkerReload();
  }
  if (held >= 0) ReleaseSlot(held);
  if (!room) RequestSealOfLargest();
}

void QueueWorkerMain() {
  pqsignal(SIGTERM, die);
  pqsignal(SIGHUP, SignalHandlerForConfigReload);
  BackgroundWorkerUnblockSignals();
  // No database: the worker only touches shared memory. Connecting to none
  // makes it visible in pg_stat_activity.
  BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
  CurrentResourceOwner = ResourceOwnerCreate(nullptr, "vecgo memtable worker");
  if (g_queue == nullptr || !EnsureArea()) proc_exit(0);
  on_shmem_exit(QueueWorkerExit, 0);
  g_queue->latch = MyLatch;
  pg_write_barrier();
  pg_atomic_write_u32(&g_queue->worker, static_cast<uint32>(MyProcPid));
  pgstat_report_activity(STATE_IDLE, nullptr);
  for (;;) {
    ResetLatch(MyLatch);
    CHECK_FOR_INTERRUPTS();
    QueueWorkerReload();
    if (pg_atomic_read_u64(&g_queue->tail) != pg_atomic_read_u64(&g_queue->head)) {
      pgstat_report_activity(STATE_RUNNING, "inserting queued rows into MemTables");
      DrainQueue();
      pgstat_report_activity(STATE_IDLE, nullptr);
      continue;
    }
    (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10000, PG_WAIT_EXTENSION);
  }
}

void ObjectAccess(ObjectAccessType access, Oid classId, Oid objectId, int subId, void* arg) {
  if (g_prev_object_access) g_prev_object_access(access, classId, objectId, subId, arg);
  if (access != OAT_DROP || classId != RelationRelationId || subId != 0 || g_reg == nullptr) return;
  // A dropped index's graphs go at once (if the DROP rolls back, they are
  // rebuilt from the L0 log: only speed is lost).
  bool any = false;
  LWLockAcquire(g_lock, LW_SHARED);
  for (const MemSlot& s : g_reg->slots)
    if (s.state == kSlotLive && s.dboid == MyDatabaseId && s.indexoid == objectId) any = true;
  LWLockRelease(g_lock);
  if (!any || !EnsureArea()) return;
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  for (int i = 0; i < kMaxMemTables; i++) {
    MemSlot* s = &g_reg->slots[i];
    if (s->state == kSlotLive && s->dboid == MyDatabaseId && s->indexoid == objectId) RetireSlotLocked(i);
  }
  LWLockRelease(g_lock);
}

// ------------------------------------------------------------------ scan

inline const float* RecordVector(const RecordHeader* h) {
  return reinterpret_cast<const float*>(reinterpret_cast<const char*>(h) + sizeof(RecordHeader));
}

// The graph part of a tier: a continuing HNSW search over the nodes whose
// ordinal is below W. Approximate order. Under cosine, rows with a zero
// vector (at infinite distance, as the exact tiers put them) come last.
class MemCursor final : public TierCursor {
 public:
  MemCursor() : TierCursor(false) {}

  void Open(const TierScan& scan, int slot, uint64 covered) {
    slot_ = slot;
    epoch_ = g_epoch;
    covered_ = covered;
    MemSlot* s = &g_reg->slots[slot];
    ordinals_ = SlotOrdinals(s);
    graph_ = ViewOf(slot);
    cosine_ = static_cast<Metric>(scan.meta->metric) == Metric::Cosine;
    dims_ = scan.meta->dims;
    bool zero = true;
    if (scan.query)
      for (int i = 0; i < dims_ && zero; i++) zero = scan.query[i] == 0.0f;
    enumerate_ = scan.query == nullptr || (zero && cosine_);
    admit_ = [this](std::uint32_t id, std::uint64_t) {
      return ordinals_[id].load(std::memory_order_acquire) < covered_;
    };
    if (!enumerate_) {
      PooledSearch& p = g_search_pool[slot];
      if (p.search != nullptr && p.generation == s->generation) {
        search_ = p.search;
        p.search = nullptr;
      } else {
        search_ = new HnswSearch(*graph_);
      }
      generation_ = s->generation;
      search_->Start(scan.query, static_cast<std::size_t>(std::max(scan.ef_search, 10)), HnswFilter(admit_));
    }
  }

  int Next(int max, vecgo::Neighbor* out) override {
    int n = 0;
    if (enumerate_) {
      const std::size_t size = graph_->size();
      while (n < max && next_id_ < size) {
        const std::uint32_t id = next_id_++;
        if (graph_->IsDeleted(id) || !admit_(id, 0)) continue;
        out[n++] = {INFINITY, graph_->Label(id)};
      }
      return n;
    }
    while (n < max && !exhausted_) {
      buf_.resize(static_cast<std::size_t>(max - n));
      const std::size_t got = search_->Next(buf_.size(), buf_.data());
      if (got < buf_.size()) exhausted_ = true;
      for (std::size_t k = 0; k < got; k++) {
        const HnswResult& r = buf_[k];
        if (cosine_ && IsZero(graph_->Vector(r.id))) {
          deferred_.push_back(r.label);
          continue;
        }
        out[n++] = {r.distance, r.label};
      }
    }
    while (n < max && next_deferred_ < deferred_.size()) out[n++] = {INFINITY, deferred_[next_deferred_++]};
    return n;
  }

  static void Free(void* arg) {
    MemCursor* c = static_cast<MemCursor*>(arg);
    if (c->search_ != nullptr && c->slot_ >= 0) {
      PooledSearch& p = g_search_pool[c->slot_];
      delete p.search;
      p.search = c->search_;
      p.generation = c->generation_;
    }
    if (c->slot_ >= 0 && c->epoch_ == g_epoch) ReleaseSlot(c->slot_);
    c->~MemCursor();
  }

 private:
  bool IsZero(const float* v) const {
    for (int i = 0; i < dims_; i++)
      if (v[i] != 0.0f) return false;
    return true;
  }

  int slot_ = -1;
  uint64 epoch_ = 0;
  uint64 generation_ = 0;
  uint64 covered_ = 0;
  std::atomic<uint32>* ordinals_ = nullptr;
  HnswGraph* graph_ = nullptr;
  HnswSearch* search_ = nullptr;
  std::function<bool(std::uint32_t, std::uint64_t)> admit_;
  std::vector<HnswResult> buf_;
  std::vector<uint64> deferred_;
  std::size_t next_deferred_ = 0;
  bool cosine_ = false;
  bool enumerate_ = false;
  bool exhausted_ = false;
  int dims_ = 0;
  std::uint32_t next_id_ = 0;
};

}  // namespace

// ------------------------------------------------------------------ API

void InitMemTables() {
  DefineCustomIntVariable("vecgo.memtable_memory",
                          "Shared memory for the HNSW MemTables of all vecgo indexes together.",
                          "When it is used up, the L0 log with the largest MemTable is sealed and "
                          "compacted; new rows are searched exactly meanwhile. 0 turns MemTables off.",
                          &g_memtable_memory_mb, 1024, 0, INT_MAX / 2, PGC_SIGHUP, GUC_UNIT_MB, nullptr, nullptr,
                          nullptr);
  DefineCustomIntVariable("vecgo.ingest_max_delay",
                          "Longest wait per inserted row when compaction falls behind.",
                          "While the compaction worker runs, once sealed logs pile up waiting for their "
                          "graphs or MemTable memory passes three quarters of vecgo.memtable_memory, "
                          "each insert waits in proportion, up to this; 0 never waits.",
                          &g_ingest_max_delay_ms, 10, 0, 1000, PGC_SUSET, GUC_UNIT_MS, nullptr, nullptr,
                          nullptr);
  if (!process_shared_preload_libraries_in_progress) return;
  DefineCustomBoolVariable("vecgo.memtable_worker",
                           "Inserts rows into the MemTables in a background process.",
                           "Sessions hand rows to it and go on; when it falls behind they insert "
                           "rows themselves. Off: every session inserts its own rows.",
                           &g_memtable_worker, true, PGC_POSTMASTER, 0, nullptr, nullptr, nullptr);
  if (g_memtable_worker) {
    BackgroundWorker bgw;
    InitVecgoWorker(&bgw, "vecgo_memtable_worker_main", "vecgo memtable worker", 1);
    RegisterBackgroundWorker(&bgw);
  }
  g_prev_request = shmem_request_hook;
  shmem_request_hook = RequestShmem;
  g_prev_startup = shmem_startup_hook;
  shmem_startup_hook = StartupShmem;
  g_prev_object_access = object_access_hook;
  object_access_hook = ObjectAccess;
  RegisterXactCallback(OnXact, nullptr);
}

bool MemTablesAvailable() { return g_reg != nullptr; }

namespace {

// MemTable memory from which inserts are slowed down.
constexpr double kThrottleFrom = 0.75;
// Sealed logs waiting for their graph from which inserts are slowed down,
// and the number more at which they wait the longest.
constexpr uint32 kWaitingFrom = 2;
constexpr uint32 kWaitingSpan = 4;

// Back-pressure, when ingest outruns compaction for long (as an LSM tree
// slows writes when its first level piles up). Two signals:
// - Sealed logs of graph size waiting for compaction (`graphs_waiting`): each
//   is one more graph every query searches. From kWaitingFrom + 1 on, up to
//   kWaitingSpan more.
// - MemTable memory: sealed MemTables keep theirs until compaction has
//   turned their logs into DiskANN segments; once memory reaches
//   vecgo.memtable_memory new rows get no graph (every query scans them
//   exactly until compaction catches up). From kThrottleFrom of the limit on.
// Each inserted row then waits up to vecgo.ingest_max_delay, in proportion to
// the larger of the two, so that compaction gets the machine it needs. Only
// while the compaction worker runs (otherwise nothing would catch up); never
// while holding a lock; cancellable. Waits are taken a millisecond at a time
// (the delay owed accumulates per backend).
void ThrottleIngest(uint32 graphs_waiting) {
  if (g_ingest_max_delay_ms <= 0 || g_memtable_memory_mb <= 0 || g_queue == nullptr) return;
  const double limit = static_cast<double>(g_memtable_memory_mb) * 1024.0 * 1024.0;
  const double f = static_cast<double>(MemTableTotalBytes()) / limit;
  if ((f <= kThrottleFrom && graphs_waiting <= kWaitingFrom) || !CompactionWorkerActive()) return;
  double share = 0;
  if (graphs_waiting > kWaitingFrom)
    share = std::min(1.0, static_cast<double>(graphs_waiting - kWaitingFrom) / kWaitingSpan);
  if (f > kThrottleFrom) {
    // Compaction can free only what is sealed: a live graph that holds a
    // large part of the memory is sealed now rather than once memory is
    // gone (not a small one: that would only make small segments).
    RequestSealOfLargest(static_cast<uint64>(limit * (1.0 - kThrottleFrom)));
    share = std::max(share, std::min(1.0, (f - kThrottleFrom) / (1.0 - kThrottleFrom)));
  }
  g_delay_debt_us += share * g_ingest_max_delay_ms * 1000.0;
  pg_atomic_fetch_add_u64(&g_queue->delayed, 1);
  if (g_delay_debt_us < 1000.0) return;
  const long ms = static_cast<long>(g_delay_debt_us / 1000.0);
  g_delay_debt_us -= static_cast<double>(ms) * 1000.0;
  pg_atomic_fetch_add_u64(&g_queue->delay_ms, static_cast<uint64>(ms));
  (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
  ResetLatch(MyLatch);
  CHECK_FOR_INTERRUPTS();
}

}  // namespace

void MemTableInsert(Relation index, const L0Position& pos, const float* vec, const ItemPointerData& tid) {
  if (g_reg == nullptr) {
    if (!g_not_preloaded_said) {
      g_not_preloaded_said = true;
      ereport(NOTICE, (errmsg("vecgo is not in shared_preload_libraries: rows inserted into index \"%s\" are "
                              "searched exactly until compaction",
                              RelationGetRelationName(index)),
                       errhint("Add vecgo to shared_preload_libraries and restart the server for the "
                               "in-memory MemTable and the background compaction worker.")));
    }
    return;
  }
  if (g_memtable_memory_mb == 0 || RecoveryInProgress() || !MetricHasGraphs(pos.metric) ||
      !EnsureArea())
    return;
  int i = AcquireSlot(index, pos.l0_id);
  if (i < 0) {
    // The rows the chain held before its graph existed are added by the
    // worker's catch-up; until then they are found exactly.
    i = CreateSlot(index, pos.dims, pos.metric, pos.l0_id);
    if (i < 0) {
      // Sealing frees memory (through compaction), not slots: with every
      // slot taken it would only seal one log after another.
      if (i == kNoMemory) {
        RequestSealOfLargest();
        ThrottleIngest(pos.graphs_waiting);
      }
      return;
    }
  }
  MemSlot* s = &g_reg->slots[i];
  NotePage(s, pos.ordinal, RecordSize(pos.dims), pos.block);
  bool room = true;
  if (!QueuePush(i, pos.ordinal, vec, pos.dims, TidLabel(tid))) {
    room = InsertOrdinal(i, pos.ordinal, vec, TidLabel(tid), false);
    if (g_queue != nullptr) pg_atomic_fetch_add_u64(&g_queue->direct, 1);
  }
  const bool seal = pg_atomic_read_u32(&s->seal_requested) != 0;
  ReleaseSlot(i);
  if (!room) RequestSealOfLargest();
  if (seal) SealL0(index, false, true);
  ThrottleIngest(pos.graphs_waiting);
}

void MemTableOnSeal(Relation index, uint32 chain, uint64 rows, const MetaData& meta) {
  if (g_reg == nullptr || g_reg->area == DSM_HANDLE_INVALID || !EnsureArea()) return;
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  for (int i = 0; i < kMaxMemTables; i++) {
    MemSlot* s = &g_reg->slots[i];
    if (!SlotIs(s, index, chain)) continue;
    pg_atomic_write_u32(&s->sealed, 1);
    pg_atomic_write_u32(&s->seal_requested, 0);
    // A sealed log too small for a graph is cheap to scan exactly: its
    // memory is worth more to the next L0 log.
    if (!SegmentWantsGraph(meta, rows)) RetireSlotLocked(i);
  }
  LWLockRelease(g_lock);
}

bool MemTableOpen(const TierScan& scan, const SegmentEntry& e, TierCursor** graph, TierCursor** rest) {
  if (g_reg == nullptr || g_reg->area == DSM_HANDLE_INVALID || scan.meta->dims <= 0 || !EnsureArea())
    return false;
  const int i = AcquireSlot(scan.index, e.id);
  if (i < 0) return false;
  MemSlot* s = &g_reg->slots[i];
  const uint64 covered = pg_atomic_read_u64(&s->covered);
  if (covered == 0) {
    ReleaseSlot(i);
    return false;
  }
  // The exact part starts at ordinal W: at its page when known, else at
  // the page of record W - 1 (noted by its appender; record W may start on
  // a page no record has started on yet), else at the head.
  const Size rs = RecordSize(scan.meta->dims);
  uint64 start = covered;
  uint32 blk1 = PageBlock(s, start, rs);
  if (blk1 == 0) blk1 = PageBlock(s, --start, rs);
  MemCursor* c = NewInContext<MemCursor>(scan.ctx);
  c->Open(scan, i, covered);  // the cursor owns the reference from here
  *graph = c;
  if (blk1 != 0)
    *rest = FlatOpenAt(scan, e, blk1 - 1, static_cast<uint32>(start * rs % kStreamBytes), covered - start);
  else
    *rest = FlatOpenAt(scan, e, e.head, 0, covered);
  return true;
}

void MemTableMarkDeleted(Relation index, uint32 chain, const uint64* ordinals, int n) {
  if (g_reg == nullptr || n == 0 || !EnsureArea()) return;
  const int i = AcquireSlot(index, chain);
  if (i < 0) return;
  MemSlot* s = &g_reg->slots[i];
  std::atomic<uint32>* map = SlotMap(s);
  HnswGraph* g = nullptr;
  try {
    g = ViewOf(i);
  } catch (...) {
    g = nullptr;
  }
  for (int k = 0; k < n; k++) {
    const uint64 o = ordinals[k];
    if (o >= s->capacity) continue;
    for (;;) {
      uint32 m = map[o].load(std::memory_order_acquire);
      if (m == kMapAbsent) {
        if (map[o].compare_exchange_strong(m, kMapSkipped, std::memory_order_acq_rel)) break;
        continue;
      }
      if (m == kMapClaimed) {  // being inserted right now: a few microseconds
        CpuRelax();
        continue;
      }
      if (m != kMapSkipped && g != nullptr) g->MarkDeleted(m - 1);
      break;
    }
  }
  AdvanceCovered(s);
  ReleaseSlot(i);
}

void MemTableMaintain(Relation index) {
  if (g_reg == nullptr || !EnsureArea() || g_memtable_memory_mb == 0) return;
  MetaData* meta = static_cast<MetaData*>(palloc(sizeof(MetaData)));
  ReadMeta(index, meta);
  // Graphs of chains the manifest no longer lists, or of an older
  // relfilenode, are freed.
  LWLockAcquire(g_lock, LW_EXCLUSIVE);
  for (int i = 0; i < kMaxMemTables; i++) {
    MemSlot* s = &g_reg->slots[i];
    if (s->state != kSlotLive || s->dboid != MyDatabaseId || s->indexoid != RelationGetRelid(index)) continue;
    bool listed = s->relnode == index->rd_node.relNode && s->chain_id == meta->l0_id;
    for (uint32 k = 0; k < meta->nsegments && !listed; k++)
      listed = s->relnode == index->rd_node.relNode && meta->segments[k].id == s->chain_id &&
               meta->segments[k].kind == kSegmentFlat;
    if (!listed) RetireSlotLocked(i);
  }
  LWLockRelease(g_lock);
  if (meta->dims <= 0 || !MetricHasGraphs(meta->metric)) return;

  // Catch-up of the current L0 log's graph: rows appended while it did not
  // exist (restart, crash) or whose insert failed.
  const SegmentEntry e = L0Entry(*meta);
  int i = AcquireSlot(index, e.id);
  if (i < 0) {
    // Only a log that holds rows gets a graph (slots are few).
    if (ReadL0Size(index, *meta).rows == 0) return;
    i = CreateSlot(index, meta->dims, meta->metric, e.id);
    if (i < 0) return;
  }
  MemSlot* s = &g_reg->slots[i];
  uint32 expected = 0;
  if (!pg_atomic_compare_exchange_u32(&s->catching_up, &expected, 1)) {
    ReleaseSlot(i);
    return;
  }
  g_catchup_slot = i;
  const Size rs = RecordSize(meta->dims);
  const uint64 from = pg_atomic_read_u64(&s->covered);
  ChainReader r;
  std::memset(&r, 0, sizeof(r));
  const uint32 blk1 = PageBlock(s, from, rs);
  uint64 ordinal = 0;
  if (blk1 != 0) {
    ChainReaderBeginAt(&r, index, e.id, blk1 - 1, static_cast<uint32>(from * rs % kStreamBytes), rs);
    ordinal = from;
  } else {
    ChainReaderBegin(&r, index, e.id, e.head, rs);
  }
  const RecordHeader* h;
  bool room = true;
  while (room && (h = ChainReaderNext(&r)) != nullptr) {
    const uint64 o = ordinal++;
    if (o < from) continue;
    if (o >= s->capacity) break;
    if (SlotMap(s)[o].load(std::memory_order_acquire) != kMapAbsent) continue;
    room = InsertOrdinal(i, o, RecordVector(h), TidLabel(h->tid), (h->flags & kRecordDeleted) != 0);
    CHECK_FOR_INTERRUPTS();
  }
  ChainReaderEnd(&r);
  pfree(r.page_copy);
  pg_atomic_write_u32(&s->catching_up, 0);
  g_catchup_slot = -1;
  const bool seal = pg_atomic_read_u32(&s->seal_requested) != 0;
  ReleaseSlot(i);
  if (!room) RequestSealOfLargest();
  if (seal) SealL0(index, false, true);
}

bool MemTableStats(Relation index, uint32 chain, MemTableInfo* out) {
  std::memset(out, 0, sizeof(*out));
  if (g_reg == nullptr) return false;
  bool found = false;
  LWLockAcquire(g_lock, LW_SHARED);
  for (MemSlot& s : g_reg->slots) {
    if (!SlotIs(&s, index, chain)) continue;
    out->covered = pg_atomic_read_u64(&s.covered);
    out->bytes = static_cast<uint64>(pg_atomic_read_u32(&s.nchunks)) * kArenaChunkBytes;
    out->sealed = pg_atomic_read_u32(&s.sealed) != 0;
    found = true;
  }
  LWLockRelease(g_lock);
  return found;
}

uint64 MemTableTotalBytes() { return g_reg ? pg_atomic_read_u64(&g_reg->total_bytes) : 0; }

void MemTableQueueStats(MemTableQueueInfo* out) {
  std::memset(out, 0, sizeof(*out));
  if (g_queue == nullptr) return;
  out->worker_pid = static_cast<int>(pg_atomic_read_u32(&g_queue->worker));
  out->queued = pg_atomic_read_u64(&g_queue->queued);
  out->direct = pg_atomic_read_u64(&g_queue->direct);
  out->delayed = pg_atomic_read_u64(&g_queue->delayed);
  out->delay_ms = pg_atomic_read_u64(&g_queue->delay_ms);
  const uint64 taken = pg_atomic_read_u64(&g_queue->taken);
  out->waiting = out->queued > taken ? out->queued - taken : 0;
}

int MemTableCount() {
  if (g_reg == nullptr) return 0;
  int n = 0;
  LWLockAcquire(g_lock, LW_SHARED);
  for (const MemSlot& s : g_reg->slots) n += s.state != kSlotFree;
  LWLockRelease(g_lock);
  return n;
}

}  // namespace vecgo::pg

extern "C" PGDLLEXPORT void vecgo_memtable_worker_main(Datum);
extern "C" void vecgo_memtable_worker_main(Datum) {
  vecgo::pg::Guard([]() { vecgo::pg::QueueWorkerMain(); });
}
