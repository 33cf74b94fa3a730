// HNSW graph: the in-memory, shareable MemTable of the engine.
//
// Malkov & Yashunin's hierarchical navigable small world graph with the
// neighbour-selection heuristic, built for many threads (or processes)
// inserting and searching at once:
//  - every node is one fixed-size record in an Arena (4 MB chunks addressed
//    by offsets): header, caller's 64-bit label, the vector, and the layer-0
//    neighbour list (2M ids). Upper layers (M ids each) live in one extra arena
//    block per node. Lists hold 32-bit internal ids, never pointers.
//  - writers change a node's list under that node's spinlock (a word in the
//    record); readers never lock: ids and counts are atomics, a reader may
//    see a list half rewritten but every id it can see is a fully published
//    node (release/acquire).
//  - searches allocate nothing in steady state: thread-local visited set
//    (epoch-tagged) and heaps.
//
// Shared and process-local state. All mutable state of a graph is in one
// header block (HeaderBytes) plus the arena chunks: the parameters, node
// count, deleted count, entry point word, the node-block table (block ->
// arena chunk index), and the arena's shared part (bump chunk and offset,
// chunk count, bytes used, memory limit, chunk-handle table of a capacity
// fixed at Create). The block holds no pointers and no std::mutex: locks are
// spinlocks on atomic words in it, and atomics in it are lock-free, hence
// address-free. Create places a graph in a caller's block (e.g. in a
// PostgreSQL DSA area, with a ChunkSource that allocates chunks there);
// Attach gives another process (or another object in this process) its own
// view of the same graph. The plain constructor makes a private graph whose
// block is in process memory.
//
// Each HnswGraph object keeps only: the pointer to the header, its
// ChunkSource, constants derived from the immutable parameters, and two
// address caches, chunk index -> local address (in the Arena) and node block
// -> local address of its records, filled on first use from the handles in
// the shared tables (ChunkSource::MapChunk). Resolving a node id is an inline
// lookup in the block cache (one acquire load).
//
// Locking: an insert takes the header's allocation spinlock only to take the
// next id and carve its record (and, once per 4 MB, a chunk from the source;
// the arena's own spinlock nests inside it). The entry point is one atomic
// word changed by compare-and-swap. Nothing else is graph-wide.
//
// Distances follow core.h (smaller is closer). Cosine vectors are normalised
// on insert and on query; a zero vector stays zero and is at distance 1 from
// everything.
#pragma once

#include "vecgo/core.h"
#include "vecgo/arena.h"
#include "vecgo/pages.h"
#include "vecgo/visited.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace vecgo {

struct HnswParams {
  std::size_t dim = 0;
  Metric metric = Metric::L2;
  std::size_t m = 32;                 // links per node on upper layers (2m on layer 0), 2..256
  std::size_t ef_construction = 300;  // candidate list size while inserting
  std::uint64_t seed = 0x5eed;        // level generation: level(id) depends on (seed, id) only
  // Bytes of arena chunks; Insert fails past it. For Create it also sizes the
  // chunk-handle table (ChunkCapacity), so it can later be lowered but raised
  // only up to that capacity; a private graph's table is always full size.
  std::size_t memory_limit = SIZE_MAX;
};

// One search result. `label` is the caller's value given to Insert.
struct HnswResult {
  float distance;
  std::uint32_t id;
  std::uint64_t label;
};

// Non-owning reference to a callable bool(uint32_t id, uint64_t label),
// called only to admit a result (never to steer the traversal). The callable
// must outlive the search and must not search the same graph itself (searches
// reuse per-thread buffers).
class HnswFilter {
 public:
  HnswFilter() = default;
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, HnswFilter>>>
  HnswFilter(const F& f)  // NOLINT: implicit on purpose
      : obj_(&f), call_([](const void* o, std::uint32_t id, std::uint64_t label) {
          return static_cast<bool>((*static_cast<const F*>(o))(id, label));
        }) {}
  explicit operator bool() const { return call_ != nullptr; }
  bool operator()(std::uint32_t id, std::uint64_t label) const { return call_(obj_, id, label); }

 private:
  const void* obj_ = nullptr;
  bool (*call_)(const void*, std::uint32_t, std::uint64_t) = nullptr;
};

// Content magic and version of an HNSW graph inside a page stream (pages.h).
constexpr std::uint32_t kHnswContentMagic = 0x57534e48u;  // "HNSW"
constexpr std::uint32_t kHnswFormatVersion = 1;
// Magic and layout version of a shared header block (Create/Attach).
constexpr std::uint32_t kHnswHeaderMagic = 0x48534756u;  // "VGSH"
constexpr std::uint32_t kHnswHeaderVersion = 1;

class HnswSearch;

class HnswGraph {
 public:
  // A private graph (its header block in process memory, chunks from
  // `chunks`, a HeapChunkSource when null). Throws Error(InvalidArgument) for
  // dim outside 1..kMaxDim or m out of range.
  explicit HnswGraph(const HnswParams& params, std::unique_ptr<ChunkSource> chunks = nullptr);
  ~HnswGraph();
  HnswGraph(const HnswGraph&) = delete;
  HnswGraph& operator=(const HnswGraph&) = delete;

  // ---- shared graphs
  // Entries of the chunk-handle (and node-block) table of a header created
  // for `memory_limit`: ceil(limit / 4 MB), between 1 and kArenaMaxChunks.
  static std::uint32_t ChunkCapacity(std::size_t memory_limit);
  // Bytes of the header block Create needs for `params` (a few hundred bytes
  // plus 12 per chunk of capacity; under 1 MB at the largest capacity).
  static std::size_t HeaderBytes(const HnswParams& params);
  // Initialises a graph in `header_block` (`bytes` >= HeaderBytes(params),
  // 8-byte aligned; 64 is better) and returns this process's view of it,
  // taking chunks from `chunks` (null: HeapChunkSource). The block must
  // outlive every object attached to it. Throws Error(InvalidArgument) for
  // bad parameters or a block too small or misaligned.
  static std::unique_ptr<HnswGraph> Create(void* header_block, std::size_t bytes, const HnswParams& params,
                                           std::unique_ptr<ChunkSource> chunks = nullptr);
  // Another view of a graph that Create initialised (in this process or
  // another one mapping the same memory; `chunks` must map the creator's
  // handles, and create chunks others can map). Views insert, delete and
  // search concurrently and see each other's nodes. Throws
  // Error(InvalidArgument) when the block is not a valid header (magic,
  // version, layout).
  static std::unique_ptr<HnswGraph> Attach(void* header_block, std::unique_ptr<ChunkSource> chunks = nullptr);
  // Bytes of arena chunks reserved by the graph in a header block, read
  // without attaching (a glue sums these over graphs). Throws like Attach.
  static std::size_t SharedMemoryUsage(const void* header_block);
  // The header block of this graph (the private one for the constructor).
  const void* header_block() const { return h_; }

  // Adds a vector (params().dim floats) with the caller's label; returns its
  // internal id (dense, from 0). Thread-safe with other inserts and searches.
  // Throws Error(OutOfMemory) past the memory limit (the graph is unchanged)
  // and Error(InvalidArgument) for NaN/Inf components.
  std::uint32_t Insert(const float* vec, std::uint64_t label);

  // The k nearest live (not deleted, admitted by `filter`) nodes, closest
  // first, exploring with a candidate list of max(ef, k). Writes up to k
  // results to `out` and returns how many. Thread-safe.
  std::size_t Search(const float* query, std::size_t k, std::size_t ef, HnswResult* out,
                     HnswFilter filter = {}) const;
  std::vector<HnswResult> Search(const float* query, std::size_t k, std::size_t ef,
                                 HnswFilter filter = {}) const;

  // Delete marks: the node stays in the graph as a waypoint but is never
  // returned. Thread-safe; idempotent. Returns false for an unknown id.
  bool MarkDeleted(std::uint32_t id);
  bool IsDeleted(std::uint32_t id) const;

  std::size_t size() const { return count_->load(std::memory_order_acquire); }
  std::size_t deleted_count() const;
  std::uint64_t Label(std::uint32_t id) const;
  int Level(std::uint32_t id) const;
  // Copies the neighbour ids of `id` on `level` (<= Level(id)) into `out`
  // (room for 2m ids) and returns how many; for structural checks.
  std::size_t Neighbours(std::uint32_t id, int level, std::uint32_t* out) const;
  // The stored vector (normalised for cosine).
  const float* Vector(std::uint32_t id) const;
  // The parameters; memory_limit is the one given at creation (see
  // memory_limit() for the current one).
  const HnswParams& params() const { return params_; }

  // Bytes of arena chunks reserved (what the memory limit counts) and bytes
  // actually handed out inside them, over every view of the graph.
  std::size_t MemoryUsage() const { return arena_.bytes_reserved(); }
  std::size_t BytesUsed() const { return arena_.bytes_used(); }
  // The limit is shared: setting it in one view applies to all. It cannot
  // usefully exceed ChunkCapacity x 4 MB.
  std::size_t memory_limit() const { return arena_.limit(); }
  void set_memory_limit(std::size_t bytes) { arena_.set_limit(bytes); }

  // Serialization as a page stream (pages.h: 8 KB pages by default, page
  // checksums, versioned header). Must not run concurrently with Insert or
  // MarkDeleted through any view (the caller holds the MemTable
  // exclusively). The stream holds no arena layout: a saved shared graph
  // loads as a private one, and saves from any two views are identical.
  //
  // Save writes a whole stream (content kHnswContentMagic) to `sink` and
  // returns the page count; SaveTo appends the graph to a stream the caller
  // opened (to embed it after its own data).
  std::uint64_t Save(PageSink sink, std::size_t page_size = kDefaultPageSize,
                     std::uint32_t stream_id = 0) const;
  void SaveTo(PageStreamWriter* w) const;
  // Reads what SaveTo wrote, from the reader's cursor. A truncated, corrupted
  // or structurally invalid graph throws Error(DataCorrupted); a graph larger
  // than `memory_limit` throws Error(OutOfMemory).
  static std::unique_ptr<HnswGraph> LoadFrom(PageStreamReader* r, std::size_t memory_limit = SIZE_MAX);
  // Reads a stream written by Save into contiguous memory (CollectPages
  // layout); an unknown content version throws Error(DataCorrupted).
  static std::unique_ptr<HnswGraph> Load(const std::uint8_t* data, std::size_t bytes,
                                         std::size_t page_size = kDefaultPageSize,
                                         std::size_t memory_limit = SIZE_MAX);

 private:
  friend class HnswSearch;
  struct Dist;
  struct Header;  // the shared header block's fixed part (hnsw.cpp)
  struct alignas(64) Line {
    char bytes[64];
  };

 public:
  struct Scratch;  // per-thread search buffers (defined in hnsw.cpp)

 private:
  // A view of the initialised header at `block`, or of `owned` when block is
  // null (private graph).
  HnswGraph(void* block, std::unique_ptr<ChunkSource> chunks, std::unique_ptr<Line[]> owned);
  static std::unique_ptr<Line[]> NewPrivateBlock(const HnswParams& params);
  static void InitHeader(void* block, const HnswParams& params, std::uint32_t capacity);
  static const Header* CheckHeader(const void* block);
  static ArenaShared* ArenaOf(void* block);

  char* Record(std::uint32_t id) const {
    std::uint32_t block = static_cast<std::uint32_t>((static_cast<unsigned __int128>(div_magic_) * id) >> 64);
    std::uint32_t slot = id - block * static_cast<std::uint32_t>(per_block_);
    char* base = blocks_[block].load(std::memory_order_acquire);
    if (__builtin_expect(base == nullptr, 0)) base = MapBlock(block);
    return base + slot * rec_size_;
  }
  char* MapBlock(std::uint32_t block) const;
  const float* Vec(std::uint32_t id) const { return reinterpret_cast<const float*>(Record(id) + kVecOff); }
  std::atomic<std::uint32_t>* List(std::uint32_t id, int level) const;
  std::size_t Cap(int level) const { return level == 0 ? 2 * params_.m : params_.m; }

  int RandomLevel(std::uint32_t id) const;
  std::uint32_t Allocate(int level, std::uint64_t label, const float* vec);
  void PrepareQuery(const float* in, float* out) const;
  template <bool kAll>
  void SearchLayer(const Dist& dist, const float* q, std::uint32_t ep, float ep_dist, std::size_t ef,
                   int level, HnswFilter filter, Scratch& s) const;
  bool Admit(std::uint32_t id, HnswFilter filter) const;
  std::uint32_t Greedy(const Dist& dist, const float* q, std::uint32_t ep, float* ep_dist,
                       int from_level, int to_level) const;
  void SelectNeighbours(const Dist& dist, std::vector<std::pair<float, std::uint32_t>>& cand,
                        std::size_t m, std::vector<std::pair<float, std::uint32_t>>& out) const;
  void Link(const Dist& dist, std::uint32_t id, int level, Scratch& s);
  void Lock(std::uint32_t id) const;
  void Unlock(std::uint32_t id) const;

  // Record layout: [0] lock u32, [4] level u32, [8] label u64, [16] upper
  // ArenaRef, [24] deleted u32, [28] pad, [32] vector, then layer-0 list
  // (count u32 + 2m ids), padded to 64 bytes.
  static constexpr std::size_t kVecOff = 32;

  // Process-local: the private block (constructor only), the header, the
  // arena view (source + chunk address cache), constants derived from the
  // immutable parameters, and the block address cache.
  std::unique_ptr<Line[]> owned_;
  Header* h_;
  HnswParams params_;
  Arena arena_;
  std::atomic<std::uint32_t>* count_;        // in the header: published nodes
  std::atomic<std::uint64_t>* entry_;        // in the header: (max level + 1) << 32 | entry id; 0 when empty
  std::atomic<std::uint32_t>* block_chunk_;  // in the header: node block -> arena chunk
  std::size_t rec_size_ = 0;
  std::size_t list0_off_ = 0;
  std::size_t upper_bytes_ = 0;  // per upper level: count + m ids
  std::size_t per_block_ = 0;    // records per 4 MB chunk
  std::uint64_t div_magic_ = 0;  // id / per_block_ as a multiply
  double level_mult_ = 0;
  std::uint32_t block_capacity_ = 0;
  std::unique_ptr<std::atomic<char*>[]> blocks_;  // node block -> local address of its first record
};

// A continuing search (iterative scan): Next(n) returns the next n live
// results after those already returned, exploring further as it goes.
//
// It keeps the whole best-first state (frontier, visited set, found-but-not-
// returned candidates) and widens the candidate window by one for every node
// it hands out or skips, i.e. it is an ef search whose ef grows as results are
// consumed; nodes never come back twice. Ordering guarantee: approximate. A
// node is handed out only once every frontier node closer than the current
// window bound was expanded, so results come in non-decreasing distance order
// nearly always, but a later batch may hold a node slightly closer than one
// already returned (the graph is not monotone); a caller needing exact order
// re-sorts or merges. Repeated Next calls enumerate every node: those reachable
// from the entry point first, then (the graph need not be connected) the
// search starts again from each node not yet visited.
//
// Not thread-safe itself (one per scan); concurrent inserts into the graph
// are allowed (new nodes may or may not be found). Reuse an object across
// scans with Start() to avoid allocation.
class HnswSearch {
 public:
  explicit HnswSearch(const HnswGraph& graph) : g_(&graph) {}
  HnswSearch(const HnswGraph& graph, const float* query, std::size_t ef, HnswFilter filter = {})
      : g_(&graph) {
    Start(query, ef, filter);
  }
  void Start(const float* query, std::size_t ef, HnswFilter filter = {});
  // Writes up to n results to out; returns how many (0 when exhausted).
  std::size_t Next(std::size_t n, HnswResult* out);
  std::vector<HnswResult> Next(std::size_t n);
  std::size_t returned() const { return returned_; }
  std::size_t visited() const { return visited_count_; }

 private:
  void Expand(std::uint32_t id);
  void Visit(std::uint32_t id, float d, std::size_t cap);
  bool Reseed();
  const HnswGraph* g_;
  HnswFilter filter_;
  std::vector<float> query_;
  VisitedSet visited_;
  using Item = std::pair<float, std::uint32_t>;
  std::vector<Item> frontier_;  // min-heap: visited, not yet expanded
  std::vector<Item> pending_;   // min-heap: visited, not yet handed out
  std::vector<float> window_;   // max-heap: best (ef + consumed) distances seen
  std::vector<std::uint32_t> nbuf_;
  std::size_t ef_ = 0;
  std::size_t consumed_ = 0;
  std::size_t returned_ = 0;
  std::size_t visited_count_ = 0;
  std::uint32_t sweep_ = 0;  // Reseed: ids below it have been tried
};

}  // namespace vecgo
