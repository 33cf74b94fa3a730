// Backend-local cache of DiskANN segment pages.
//
// A DiskANN search hops between graph nodes that sit on different pages;
// through the buffer manager every hop costs a pin, a lock and a check, which
// made a search about 20x slower in the index than in the core. Segments are
// immutable once written (only their deletion bitmap changes, under VACUUM),
// so a backend may keep a private copy of a segment's stream and search it at
// memory speed. The deletion bitmap is never served from the copy: the page
// accessor reads those pages through the buffer manager every time, so a row
// VACUUM has marked is never returned from a stale copy.
//
// Entries are keyed by (relation file, segment id, head block, pages). Segment
// ids are never reused within a relation file, and TRUNCATE/REINDEX give a
// new file, so a key can never name other content. The cache is bounded by
// vecgo.segment_cache_size (MB, per backend; 0 disables it). A copy is
// evicted to make room only once it is cold: not looked up during the last
// kColdLookups + 8 x (copies held) lookups. A scan looks up every segment of
// the index, so the copies of a working set are never cold, while those of
// segments compaction has replaced soon are. When the segments searched
// together are larger than the budget, the ones that do not fit are read
// through shared buffers, rather than each query evicting one copy to load
// another (a copy of tens of MB per query: that made searches up to ten
// times slower under sustained ingest).
//
// Each copy lives in a memory context of its own. While it is being filled
// that context is a child of the caller's (the scan's), so an ERROR in the
// middle of the copy (a cancel, statement_timeout, a read error) frees it
// with the rest of the aborted query; only a complete copy is moved under
// the cache's context, which lives as long as the backend. (A malloc'd
// buffer was lost on every interrupted load.) The copies show in
// pg_backend_memory_contexts as "vecgo segment copy".
#include <cstdlib>
#include <cstring>
#include <vector>

#include "guard.h"
#include "am.h"

extern "C" {
#include "utils/guc.h"
}

namespace vecgo::pg {

int g_segment_cache_mb = 256;

namespace {

struct CacheEntry {
  RelFileNode node;
  uint32 segment_id;
  BlockNumber head;
  uint32 npages;
  uint64 last_use;
  MemoryContext cxt;  // holds data; a child of g_cache_cxt
  char* data;         // npages * kStreamBytes
  int pins;           // cursors reading the copy: it is not evicted meanwhile
};

// Plain array of plain structs: nothing here has a destructor, so PostgreSQL
// errors may pass through freely.
MemoryContext g_cache_cxt = nullptr;  // under TopMemoryContext, made on first use
CacheEntry* g_entries = nullptr;
int g_nentries = 0;
int g_capacity = 0;
uint64 g_clock = 0;
Size g_bytes = 0;

void Evict(int i) {
  MemoryContextDelete(g_entries[i].cxt);
  g_bytes -= static_cast<Size>(g_entries[i].npages) * kStreamBytes;
  g_entries[i] = g_entries[--g_nentries];
}

constexpr uint64 kColdLookups = 64;

// Frees cold entries, least recently used first, until `need` more bytes fit
// the budget; false when they do not. A copy a cursor is reading (one scan
// opens a cursor per segment) is never evicted, nor one in use by recent
// scans (see the top of this file).
bool MakeRoom(Size need) {
  Size budget = static_cast<Size>(g_segment_cache_mb) * 1024 * 1024;
  if (need > budget) return false;
  Size cold = 0;
  const uint64 horizon = kColdLookups + 8 * static_cast<uint64>(g_nentries);
  auto is_cold = [&](const CacheEntry& c) { return c.pins == 0 && g_clock - c.last_use > horizon; };
  for (int i = 0; i < g_nentries; i++)
    if (is_cold(g_entries[i])) cold += static_cast<Size>(g_entries[i].npages) * kStreamBytes;
  if (g_bytes - cold + need > budget) return false;
  while (g_bytes + need > budget) {
    int lru = -1;
    for (int i = 0; i < g_nentries; i++)
      if (is_cold(g_entries[i]) && (lru < 0 || g_entries[i].last_use < g_entries[lru].last_use)) lru = i;
    if (lru < 0) return false;
    Evict(lru);
  }
  return true;
}

}  // namespace

void DefineSegmentCacheGuc() {
  DefineCustomIntVariable(
      "vecgo.segment_cache_size",
      "Memory each backend may use to keep copies of DiskANN segments for searching (MB).",
      "0 reads every graph page through shared buffers.", &g_segment_cache_mb, 256, 0,
      1024 * 1024, PGC_USERSET, GUC_UNIT_MB, nullptr, nullptr, nullptr);
}

const char* SegmentCacheLookup(Relation index, const SegmentEntry& e) {
  if (g_segment_cache_mb <= 0) return nullptr;
  ++g_clock;
  for (int i = 0; i < g_nentries; i++) {
    CacheEntry& c = g_entries[i];
    if (RelFileNodeEquals(c.node, index->rd_node) && c.segment_id == e.id && c.head == e.head &&
        c.npages == e.npages) {
      c.last_use = g_clock;
      c.pins++;
      return c.data;
    }
  }
  // The run's blocks come from the manifest: a run that passes the end of
  // the relation is not read here (block InvalidBlockNumber would extend
  // it); the buffer path, which checks the run first, reports it.
  if (static_cast<uint64>(e.head) + e.npages > RelationGetNumberOfBlocks(index)) return nullptr;
  Size bytes = static_cast<Size>(e.npages) * kStreamBytes;
  if (!MakeRoom(bytes)) return nullptr;
  if (g_cache_cxt == nullptr)
    g_cache_cxt = AllocSetContextCreate(TopMemoryContext, "vecgo segment cache", ALLOCSET_SMALL_SIZES);
  // Filled under the caller's context: an ERROR below frees it (see above).
  MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "vecgo segment copy", ALLOCSET_SMALL_SIZES);
  char* data = static_cast<char*>(
      MemoryContextAllocExtended(cxt, bytes, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM));
  if (data == nullptr) {  // no room: search through shared buffers
    MemoryContextDelete(cxt);
    return nullptr;
  }
  for (uint32 i = 0; i < e.npages; i++) {
    if ((i & 255) == 0) CHECK_FOR_INTERRUPTS();
    Buffer buf = ReadBuffer(index, e.head + i);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    Page page = BufferGetPage(buf);
    // The same acceptance as the buffer path (PinSegmentPage in am_diskann.cpp).
    bool ok = IsChainPageOf(page, e.id) && GetOpaque(page)->used == kStreamBytes;
    if (ok) std::memcpy(data + static_cast<Size>(i) * kStreamBytes, PageStream(page), kStreamBytes);
    UnlockReleaseBuffer(buf);
    if (!ok) {
      MemoryContextDelete(cxt);
      return nullptr;  // the buffer path reports the bad page with its details
    }
  }
  if (g_nentries == g_capacity) {
    int cap = g_capacity ? 2 * g_capacity : 8;
    CacheEntry* grown =
        static_cast<CacheEntry*>(std::realloc(g_entries, sizeof(CacheEntry) * cap));
    if (grown == nullptr) {
      MemoryContextDelete(cxt);
      return nullptr;
    }
    g_entries = grown;
    g_capacity = cap;
  }
  MemoryContextSetParent(cxt, g_cache_cxt);
  g_entries[g_nentries++] = CacheEntry{index->rd_node, e.id, e.head, e.npages, g_clock, cxt, data, 1};
  g_bytes += bytes;
  return data;
}

void SegmentCacheRelease(const char* data) {
  for (int i = 0; i < g_nentries; i++)
    if (g_entries[i].data == data) {
      if (g_entries[i].pins > 0) g_entries[i].pins--;
      return;
    }
}

}  // namespace vecgo::pg
