// HNSW graph: the in-memory (later shared-memory) MemTable of the engine.
//
// Malkov & Yashunin's hierarchical navigable small world graph with the
// neighbour-selection heuristic, built for many threads inserting and
// searching at once:
//  - every node is one fixed-size record in an Arena (4 MB chunks addressed
//    by offsets): header, caller's 64-bit label, the vector, and the layer-0
//    neighbour list (2M ids). Upper layers (M ids each) live in one extra arena
//    block per node. Lists hold 32-bit internal ids, never pointers.
//  - writers change a node's list under that node's spinlock; readers never
//    lock: ids and counts are atomics, a reader may see a list half rewritten
//    but every id it can see is a fully published node (release/acquire).
//  - only an entry-point upgrade (a node taller than the graph) and id/record
//    allocation take a graph-wide lock, both on the insert path only.
//  - searches allocate nothing in steady state: thread-local visited set
//    (epoch-tagged) and heaps.
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
#include <mutex>
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
  std::size_t memory_limit = SIZE_MAX;  // bytes of arena chunks; Insert fails past it
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

class HnswSearch;

class HnswGraph {
 public:
  // Throws Error(InvalidArgument) for dim outside 1..kMaxDim or m out of range.
  explicit HnswGraph(const HnswParams& params, std::unique_ptr<ChunkSource> chunks = nullptr);
  ~HnswGraph();
  HnswGraph(const HnswGraph&) = delete;
  HnswGraph& operator=(const HnswGraph&) = delete;

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

  std::size_t size() const { return count_.load(std::memory_order_acquire); }
  std::size_t deleted_count() const { return deleted_.load(std::memory_order_relaxed); }
  std::uint64_t Label(std::uint32_t id) const;
  int Level(std::uint32_t id) const;
  // Copies the neighbour ids of `id` on `level` (<= Level(id)) into `out`
  // (room for 2m ids) and returns how many; for structural checks.
  std::size_t Neighbours(std::uint32_t id, int level, std::uint32_t* out) const;
  // The stored vector (normalised for cosine).
  const float* Vector(std::uint32_t id) const;
  const HnswParams& params() const { return params_; }

  // Bytes of arena chunks reserved (what the memory limit counts) and bytes
  // actually handed out inside them.
  std::size_t MemoryUsage() const { return arena_.bytes_reserved(); }
  std::size_t BytesUsed() const { return arena_.bytes_used(); }
  void set_memory_limit(std::size_t bytes) { arena_.set_limit(bytes); }

  // Serialization as a page stream (pages.h: 8 KB pages by default, page
  // checksums, versioned header). Must not run concurrently with Insert or
  // MarkDeleted (the caller holds the MemTable exclusively).
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

 public:
  struct Scratch;  // per-thread search buffers (defined in hnsw.cpp)

 private:

  char* Record(std::uint32_t id) const {
    std::uint32_t block = static_cast<std::uint32_t>((static_cast<unsigned __int128>(div_magic_) * id) >> 64);
    std::uint32_t slot = id - block * static_cast<std::uint32_t>(per_block_);
    return blocks_[block].load(std::memory_order_acquire) + slot * rec_size_;
  }
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

  HnswParams params_;
  Arena arena_;
  std::size_t rec_size_ = 0;
  std::size_t list0_off_ = 0;
  std::size_t upper_bytes_ = 0;  // per upper level: count + m ids
  std::size_t per_block_ = 0;    // records per 4 MB chunk
  std::uint64_t div_magic_ = 0;  // id / per_block_ as a multiply
  double level_mult_ = 0;
  std::unique_ptr<std::atomic<char*>[]> blocks_;
  std::uint32_t block_count_ = 0;  // guarded by alloc_mu_
  std::atomic<std::uint32_t> count_{0};
  std::atomic<std::uint32_t> deleted_{0};
  // (max level + 1) << 32 | entry id; 0 while the graph is empty.
  std::atomic<std::uint64_t> entry_{0};
  std::mutex alloc_mu_;
  std::mutex entry_mu_;
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
// re-sorts or merges. Repeated Next calls enumerate every node reachable from
// the entry point (in practice the whole graph).
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
};

}  // namespace vecgo
