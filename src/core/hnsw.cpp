// HNSW graph (see include/vecgo/hnsw.h for the design).
#include "vecgo/hnsw.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <functional>
#include <limits>
#include <new>
#include <type_traits>

#include "vecgo/simd.h"

namespace vecgo {

namespace {

using Item = std::pair<float, std::uint32_t>;
constexpr int kMaxLevel = 16;

// Offsets inside a node record.
constexpr std::size_t kLockOff = 0, kLevelOff = 4, kLabelOff = 8, kUpperOff = 16, kDeletedOff = 24;

inline std::atomic<std::uint32_t>* AtomicU32(char* p) { return reinterpret_cast<std::atomic<std::uint32_t>*>(p); }

inline std::uint64_t SplitMix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Prefetches the first cache lines of a vector (the hardware prefetcher
// follows the rest).
inline void PrefetchVector(const void* p, std::size_t bytes) {
  const char* c = static_cast<const char*>(p);
  std::size_t lines = std::min<std::size_t>((bytes + 63) / 64, 4);
  for (std::size_t i = 0; i < lines; i++) __builtin_prefetch(c + 64 * i);
}

// Distances compare through DistanceLess (core.h): NaN after everything, as
// PostgreSQL orders float8. Inner product gives NaN for some finite vectors.
struct MinFirst {
  bool operator()(const Item& a, const Item& b) const { return DistanceLess(b.first, a.first); }
};
struct MaxFirst {
  bool operator()(const Item& a, const Item& b) const { return DistanceLess(a.first, b.first); }
};
struct LessDistance {
  bool operator()(float a, float b) const { return DistanceLess(a, b); }
};
// Closest first, ties by id (a strict weak order with NaN, unlike
// std::pair's operator<).
struct Closer {
  bool operator()(const Item& a, const Item& b) const {
    return DistanceLess(a.first, b.first) || (DistanceEqual(a.first, b.first) && a.second < b.second);
  }
};

}  // namespace

// Distance under the graph's metric over stored (for cosine: normalised)
// vectors. The kernel is picked once per operation, never per call site.
struct HnswGraph::Dist {
  float (*fn)(const float*, const float*, std::size_t);
  float scale, bias;
  std::size_t dim;
  explicit Dist(const HnswParams& p) : dim(p.dim) {
    const simd::Kernels& k = simd::active();
    switch (p.metric) {
      case Metric::L2: fn = k.l2sq, scale = 1, bias = 0; break;
      case Metric::IP: fn = k.dot, scale = -1, bias = 0; break;
      case Metric::Cosine: fn = k.dot, scale = -1, bias = 1; break;
      case Metric::L1: default: fn = k.l1, scale = 1, bias = 0; break;
    }
  }
  float operator()(const float* a, const float* b) const { return bias + scale * fn(a, b, dim); }
};

// Per-thread reusable buffers: no heap allocation per search in steady state.
struct HnswGraph::Scratch {
  VisitedSet visited;
  std::vector<Item> cand;  // min-heap
  std::vector<Item> top;   // max-heap
  std::vector<Item> sorted, selected, prune, prune_out;
  std::vector<std::vector<Item>> per_level;
  std::vector<std::uint32_t> nbuf;
  std::vector<float> q;
};

namespace {
HnswGraph::Scratch& ThreadScratch() {
  thread_local HnswGraph::Scratch s;
  return s;
}
}  // namespace

// ------------------------------------------------------------------ setup

// The fixed part of the shared header block. The node-block table
// (chunk_capacity x atomic u32: node block -> arena chunk) and the arena's
// shared part (ArenaShared + chunk-handle table) follow at blocks_off and
// arena_off. Immutable after Create: everything above alloc_lock.
struct HnswGraph::Header {
  std::uint32_t magic;
  std::uint32_t version;
  std::uint64_t bytes;  // the layout's size
  std::uint32_t dim, metric, m, ef_construction;
  std::uint64_t seed;
  std::uint64_t initial_limit;  // memory limit given at Create (params().memory_limit)
  std::uint32_t chunk_capacity;
  std::uint32_t rec_size;  // derived from the parameters; checked on Attach
  std::uint64_t blocks_off, arena_off;
  char pad0[56];
  // Written by inserts (own cache line when the block is 64-byte aligned).
  std::atomic<std::uint32_t> alloc_lock;   // spinlock: id and record allocation
  std::atomic<std::uint32_t> count;        // published nodes (release)
  std::atomic<std::uint32_t> block_count;  // node blocks in the table (release)
  std::atomic<std::uint32_t> deleted;
  char pad1[48];
  // Read by every search; changed by CAS when a taller node arrives.
  std::atomic<std::uint64_t> entry;
  char pad2[56];
};

namespace {

std::size_t Align64(std::size_t x) { return (x + 63) & ~std::size_t{63}; }

struct HeaderLayout {
  std::size_t blocks_off, arena_off, bytes;
};

HeaderLayout LayoutFor(std::size_t header_size, std::uint32_t capacity) {
  HeaderLayout l;
  l.blocks_off = Align64(header_size);
  l.arena_off = Align64(l.blocks_off + static_cast<std::size_t>(capacity) * sizeof(std::atomic<std::uint32_t>));
  l.bytes = Align64(l.arena_off + ArenaSharedBytes(capacity));
  return l;
}

std::size_t RecordSize(std::size_t dim, std::size_t m) {
  return (32 + dim * sizeof(float) + (1 + 2 * m) * sizeof(std::uint32_t) + 63) & ~std::size_t{63};
}

void CheckParams(const HnswParams& p) {
  if (p.dim == 0 || p.dim > kMaxDim)
    throw Error(Error::Kind::InvalidArgument, "hnsw: dimensions must be between 1 and " + std::to_string(kMaxDim));
  if (p.m < 2 || p.m > 256) throw Error(Error::Kind::InvalidArgument, "hnsw: m must be between 2 and 256");
  if (p.ef_construction < 1 || p.ef_construction > 10000)
    throw Error(Error::Kind::InvalidArgument, "hnsw: ef_construction must be between 1 and 10000");
  if (static_cast<unsigned>(p.metric) > 3) throw Error(Error::Kind::InvalidArgument, "hnsw: unknown metric");
}

[[noreturn]] void BadHeader(const char* what) {
  throw Error(Error::Kind::InvalidArgument, std::string("hnsw: not a valid graph header block: ") + what);
}

}  // namespace

std::uint32_t HnswGraph::ChunkCapacity(std::size_t memory_limit) {
  std::size_t c = memory_limit / kArenaChunkBytes + (memory_limit % kArenaChunkBytes != 0);
  return static_cast<std::uint32_t>(std::clamp<std::size_t>(c, 1, kArenaMaxChunks));
}

std::size_t HnswGraph::HeaderBytes(const HnswParams& params) {
  return LayoutFor(sizeof(Header), ChunkCapacity(params.memory_limit)).bytes;
}

ArenaShared* HnswGraph::ArenaOf(void* block) {
  return reinterpret_cast<ArenaShared*>(static_cast<char*>(block) + static_cast<Header*>(block)->arena_off);
}

void HnswGraph::InitHeader(void* block, const HnswParams& p, std::uint32_t capacity) {
  static_assert(std::is_standard_layout<Header>::value, "the header is shared as plain bytes");
  // Padding, not alignas: a block only 8-byte aligned (a DSA allocation)
  // must hold a well-aligned Header.
  static_assert(alignof(Header) == 8 && offsetof(Header, alloc_lock) == 128 && offsetof(Header, entry) == 192 &&
                    sizeof(Header) == 256,
                "header layout");
  CheckParams(p);
  const HeaderLayout l = LayoutFor(sizeof(Header), capacity);
  std::memset(block, 0, sizeof(Header));
  Header* h = new (block) Header();
  h->magic = 0;
  h->version = kHnswHeaderVersion;
  h->bytes = l.bytes;
  h->dim = static_cast<std::uint32_t>(p.dim);
  h->metric = static_cast<std::uint32_t>(p.metric);
  h->m = static_cast<std::uint32_t>(p.m);
  h->ef_construction = static_cast<std::uint32_t>(p.ef_construction);
  h->seed = p.seed;
  h->initial_limit = p.memory_limit;
  h->chunk_capacity = capacity;
  h->rec_size = static_cast<std::uint32_t>(RecordSize(p.dim, p.m));
  h->blocks_off = l.blocks_off;
  h->arena_off = l.arena_off;
  h->alloc_lock.store(0, std::memory_order_relaxed);
  h->count.store(0, std::memory_order_relaxed);
  h->block_count.store(0, std::memory_order_relaxed);
  h->deleted.store(0, std::memory_order_relaxed);
  h->entry.store(0, std::memory_order_relaxed);
  char* b = static_cast<char*>(block);
  for (std::uint32_t i = 0; i < capacity; i++)
    new (b + l.blocks_off + i * sizeof(std::atomic<std::uint32_t>)) std::atomic<std::uint32_t>(0);
  Arena::InitShared(b + l.arena_off, capacity, p.memory_limit);
  // The magic last: a block is valid only once everything else is set.
  std::atomic_thread_fence(std::memory_order_release);
  h->magic = kHnswHeaderMagic;
}

const HnswGraph::Header* HnswGraph::CheckHeader(const void* block) {
  if (block == nullptr) BadHeader("null");
  if (reinterpret_cast<std::uintptr_t>(block) % 8 != 0) BadHeader("misaligned");
  const Header* h = static_cast<const Header*>(block);
  if (h->magic != kHnswHeaderMagic) BadHeader("bad magic");
  std::atomic_thread_fence(std::memory_order_acquire);
  if (h->version != kHnswHeaderVersion) BadHeader("unknown version");
  HnswParams p;
  p.dim = h->dim;
  p.metric = static_cast<Metric>(h->metric);
  p.m = h->m;
  p.ef_construction = h->ef_construction;
  if (h->dim == 0 || h->dim > kMaxDim || h->m < 2 || h->m > 256 || h->ef_construction < 1 ||
      h->ef_construction > 10000 || h->metric > 3)
    BadHeader("bad parameters");
  if (h->chunk_capacity == 0 || h->chunk_capacity > kArenaMaxChunks) BadHeader("bad chunk capacity");
  const HeaderLayout l = LayoutFor(sizeof(Header), h->chunk_capacity);
  if (h->bytes != l.bytes || h->blocks_off != l.blocks_off || h->arena_off != l.arena_off ||
      h->rec_size != RecordSize(h->dim, h->m))
    BadHeader("layout mismatch");
  const ArenaShared* a = reinterpret_cast<const ArenaShared*>(static_cast<const char*>(block) + l.arena_off);
  if (a->capacity != h->chunk_capacity) BadHeader("arena capacity mismatch");
  return h;
}

std::unique_ptr<HnswGraph::Line[]> HnswGraph::NewPrivateBlock(const HnswParams& params) {
  CheckParams(params);
  const std::size_t bytes = LayoutFor(sizeof(Header), kArenaMaxChunks).bytes;
  std::unique_ptr<Line[]> b(new Line[bytes / sizeof(Line)]);
  InitHeader(b.get(), params, kArenaMaxChunks);
  return b;
}

std::unique_ptr<HnswGraph> HnswGraph::Create(void* header_block, std::size_t bytes, const HnswParams& params,
                                             std::unique_ptr<ChunkSource> chunks) {
  CheckParams(params);
  if (header_block == nullptr) throw Error(Error::Kind::InvalidArgument, "hnsw: null header block");
  if (reinterpret_cast<std::uintptr_t>(header_block) % 8 != 0)
    throw Error(Error::Kind::InvalidArgument, "hnsw: header block must be 8-byte aligned");
  if (bytes < HeaderBytes(params))
    throw Error(Error::Kind::InvalidArgument, "hnsw: header block too small: " + std::to_string(bytes) +
                                                  " bytes, " + std::to_string(HeaderBytes(params)) + " needed");
  InitHeader(header_block, params, ChunkCapacity(params.memory_limit));
  return std::unique_ptr<HnswGraph>(new HnswGraph(header_block, std::move(chunks), nullptr));
}

std::unique_ptr<HnswGraph> HnswGraph::Attach(void* header_block, std::unique_ptr<ChunkSource> chunks) {
  CheckHeader(header_block);
  return std::unique_ptr<HnswGraph>(new HnswGraph(header_block, std::move(chunks), nullptr));
}

std::size_t HnswGraph::SharedMemoryUsage(const void* header_block) {
  const Header* h = CheckHeader(header_block);
  return Arena::BytesReserved(
      reinterpret_cast<const ArenaShared*>(static_cast<const char*>(header_block) + h->arena_off));
}

HnswGraph::HnswGraph(const HnswParams& params, std::unique_ptr<ChunkSource> chunks)
    : HnswGraph(nullptr, std::move(chunks), NewPrivateBlock(params)) {}

HnswGraph::HnswGraph(void* block, std::unique_ptr<ChunkSource> chunks, std::unique_ptr<Line[]> owned)
    : owned_(std::move(owned)),
      h_(static_cast<Header*>(block ? block : static_cast<void*>(owned_.get()))),
      arena_(ArenaOf(h_), std::move(chunks)) {
  char* b = reinterpret_cast<char*>(h_);
  params_.dim = h_->dim;
  params_.metric = static_cast<Metric>(h_->metric);
  params_.m = h_->m;
  params_.ef_construction = h_->ef_construction;
  params_.seed = h_->seed;
  params_.memory_limit = h_->initial_limit;
  count_ = &h_->count;
  entry_ = &h_->entry;
  block_chunk_ = reinterpret_cast<std::atomic<std::uint32_t>*>(b + h_->blocks_off);
  list0_off_ = kVecOff + params_.dim * sizeof(float);
  rec_size_ = h_->rec_size;
  upper_bytes_ = (1 + params_.m) * sizeof(std::uint32_t);
  // The first 64 bytes of a node chunk are kept free so no record is at ref 0.
  per_block_ = (kArenaChunkBytes - 64) / rec_size_;
  div_magic_ = ~std::uint64_t{0} / per_block_ + 1;
  level_mult_ = 1.0 / std::log(static_cast<double>(params_.m));
  block_capacity_ = h_->chunk_capacity;
  blocks_.reset(new std::atomic<char*>[block_capacity_]);
  for (std::uint32_t i = 0; i < block_capacity_; i++) blocks_[i].store(nullptr, std::memory_order_relaxed);
}

HnswGraph::~HnswGraph() = default;

// A node block this object has not resolved yet (another view created it).
char* HnswGraph::MapBlock(std::uint32_t block) const {
  if (block >= block_capacity_ || block >= h_->block_count.load(std::memory_order_acquire))
    throw Error(Error::Kind::Internal, "hnsw: node id out of range");
  char* base = arena_.ChunkBase(block_chunk_[block].load(std::memory_order_acquire)) + 64;
  blocks_[block].store(base, std::memory_order_release);
  return base;
}

std::size_t HnswGraph::deleted_count() const { return h_->deleted.load(std::memory_order_relaxed); }

std::atomic<std::uint32_t>* HnswGraph::List(std::uint32_t id, int level) const {
  char* r = Record(id);
  if (level == 0) return AtomicU32(r + list0_off_);
  ArenaRef upper;
  std::memcpy(&upper, r + kUpperOff, sizeof(upper));
  return AtomicU32(arena_.Resolve(upper) + (level - 1) * upper_bytes_);
}

int HnswGraph::RandomLevel(std::uint32_t id) const {
  std::uint64_t x = SplitMix64(params_.seed ^ SplitMix64(id));
  double u = (static_cast<double>(x >> 11) + 1.0) * (1.0 / 9007199254740992.0);  // (0, 1]
  int level = static_cast<int>(-std::log(u) * level_mult_);
  return std::min(level, kMaxLevel);
}

void HnswGraph::Lock(std::uint32_t id) const {
  std::atomic<std::uint32_t>* l = AtomicU32(Record(id) + kLockOff);
  for (;;) {
    if (l->exchange(1, std::memory_order_acquire) == 0) return;
    while (l->load(std::memory_order_relaxed) != 0) CpuRelax();
  }
}

void HnswGraph::Unlock(std::uint32_t id) const { AtomicU32(Record(id) + kLockOff)->store(0, std::memory_order_release); }

std::uint32_t HnswGraph::Allocate(int level, std::uint64_t label, const float* vec) {
  SpinGuard g(h_->alloc_lock);
  std::uint32_t id = count_->load(std::memory_order_relaxed);
  if (id == std::numeric_limits<std::uint32_t>::max())
    throw Error(Error::Kind::OutOfMemory, "hnsw: too many nodes");
  if (level < 0) level = RandomLevel(id);
  std::uint32_t block = static_cast<std::uint32_t>(id / per_block_);
  bool new_block = block >= h_->block_count.load(std::memory_order_relaxed);
  std::size_t upper = static_cast<std::size_t>(level) * upper_bytes_;
  // Check the whole insert fits before taking anything, so a failed insert
  // leaves the graph as it was.
  if (!arena_.CanAllocate(&upper, upper ? 1 : 0, new_block))
    throw Error(Error::Kind::OutOfMemory,
                "hnsw: memory limit of " + std::to_string(arena_.limit()) + " bytes reached (" +
                    std::to_string(arena_.bytes_reserved()) + " bytes in use, " + std::to_string(id) +
                    " vectors)");
  if (new_block) {
    if (block >= block_capacity_) throw Error(Error::Kind::OutOfMemory, "hnsw: too many nodes");
    std::uint32_t chunk = arena_.AllocateChunk();
    blocks_[block].store(arena_.ChunkBase(chunk) + 64, std::memory_order_release);
    block_chunk_[block].store(chunk, std::memory_order_release);
    h_->block_count.store(block + 1, std::memory_order_release);
  }
  ArenaRef upper_ref = kNullRef;
  if (upper) upper_ref = arena_.Allocate(upper, 4);
  char* r = Record(id);
  new (r + kLockOff) std::atomic<std::uint32_t>(0);
  std::uint32_t lv = static_cast<std::uint32_t>(level);
  std::memcpy(r + kLevelOff, &lv, sizeof(lv));
  std::memcpy(r + kLabelOff, &label, sizeof(label));
  std::memcpy(r + kUpperOff, &upper_ref, sizeof(upper_ref));
  new (r + kDeletedOff) std::atomic<std::uint32_t>(0);
  std::memcpy(r + kVecOff, vec, params_.dim * sizeof(float));
  new (r + list0_off_) std::atomic<std::uint32_t>(0);
  if (upper) {
    char* u = arena_.Resolve(upper_ref);
    for (int l = 0; l < level; l++) new (u + l * upper_bytes_) std::atomic<std::uint32_t>(0);
  }
  count_->store(id + 1, std::memory_order_release);
  return id;
}

void HnswGraph::PrepareQuery(const float* in, float* out) const {
  std::memcpy(out, in, params_.dim * sizeof(float));
  if (params_.metric != Metric::Cosine) return;
  double ss = 0;
  for (std::size_t i = 0; i < params_.dim; i++) ss += static_cast<double>(in[i]) * in[i];
  if (!(ss > 0) || !std::isfinite(ss)) return;  // zero vector stays zero: distance 1 to all
  float inv = static_cast<float>(1.0 / std::sqrt(ss));
  for (std::size_t i = 0; i < params_.dim; i++) out[i] *= inv;
}

std::uint64_t HnswGraph::Label(std::uint32_t id) const {
  if (id >= size()) throw Error(Error::Kind::InvalidArgument, "hnsw: no such node");
  std::uint64_t label;
  std::memcpy(&label, Record(id) + kLabelOff, sizeof(label));
  return label;
}

int HnswGraph::Level(std::uint32_t id) const {
  if (id >= size()) throw Error(Error::Kind::InvalidArgument, "hnsw: no such node");
  std::uint32_t lv;
  std::memcpy(&lv, Record(id) + kLevelOff, sizeof(lv));
  return static_cast<int>(lv);
}

const float* HnswGraph::Vector(std::uint32_t id) const {
  if (id >= size()) throw Error(Error::Kind::InvalidArgument, "hnsw: no such node");
  return Vec(id);
}

std::size_t HnswGraph::Neighbours(std::uint32_t id, int level, std::uint32_t* out) const {
  if (level < 0 || level > Level(id)) throw Error(Error::Kind::InvalidArgument, "hnsw: no such layer");
  std::atomic<std::uint32_t>* list = List(id, level);
  std::uint32_t n = std::min<std::uint32_t>(list[0].load(std::memory_order_acquire), static_cast<std::uint32_t>(Cap(level)));
  for (std::uint32_t i = 0; i < n; i++) out[i] = list[1 + i].load(std::memory_order_acquire);
  return n;
}

bool HnswGraph::MarkDeleted(std::uint32_t id) {
  if (id >= size()) return false;
  if (AtomicU32(Record(id) + kDeletedOff)->exchange(1, std::memory_order_acq_rel) == 0)
    h_->deleted.fetch_add(1, std::memory_order_relaxed);
  return true;
}

bool HnswGraph::IsDeleted(std::uint32_t id) const {
  return id < size() && AtomicU32(Record(id) + kDeletedOff)->load(std::memory_order_acquire) != 0;
}

// ------------------------------------------------------------------ search

std::uint32_t HnswGraph::Greedy(const Dist& dist, const float* q, std::uint32_t ep, float* ep_dist,
                                int from_level, int to_level) const {
  std::uint32_t cur = ep;
  float cur_d = *ep_dist;
  for (int level = from_level; level > to_level; level--) {
    bool changed = true;
    while (changed) {
      changed = false;
      std::atomic<std::uint32_t>* list = List(cur, level);
      std::uint32_t n = std::min<std::uint32_t>(list[0].load(std::memory_order_acquire),
                                                static_cast<std::uint32_t>(params_.m));
      for (std::uint32_t i = 0; i < n; i++) {
        std::uint32_t nb = list[1 + i].load(std::memory_order_acquire);
        if (i + 1 < n) PrefetchVector(Vec(list[2 + i].load(std::memory_order_relaxed)), params_.dim * 4);
        float d = dist(q, Vec(nb));
        if (DistanceLess(d, cur_d)) {
          cur_d = d;
          cur = nb;
          changed = true;
        }
      }
    }
  }
  *ep_dist = cur_d;
  return cur;
}

bool HnswGraph::Admit(std::uint32_t id, HnswFilter filter) const {
  char* r = Record(id);
  if (AtomicU32(r + kDeletedOff)->load(std::memory_order_acquire) != 0) return false;
  if (!filter) return true;
  std::uint64_t label;
  std::memcpy(&label, r + kLabelOff, sizeof(label));
  return filter(id, label);
}

// Best-first search of one layer from one entry point. Leaves the (at most)
// ef best admitted nodes in s.top as a max-heap. With kAll every node is
// admitted (construction); otherwise deleted and filtered-out nodes are still
// traversed, only not admitted.
template <bool kAll>
void HnswGraph::SearchLayer(const Dist& dist, const float* q, std::uint32_t ep, float ep_dist,
                            std::size_t ef, int level, HnswFilter filter, Scratch& s) const {
  s.top.clear();
  s.cand.clear();
  s.visited.Begin(size());
  s.visited.TestAndSet(ep);
  float bound = std::numeric_limits<float>::infinity();
  if (kAll || Admit(ep, filter)) {
    s.top.emplace_back(ep_dist, ep);
    bound = ep_dist;
  }
  s.cand.emplace_back(ep_dist, ep);
  const std::uint32_t cap = static_cast<std::uint32_t>(Cap(level));
  const std::size_t vbytes = params_.dim * sizeof(float);
  while (!s.cand.empty()) {
    Item c = s.cand.front();
    if (DistanceLess(bound, c.first) && s.top.size() >= ef) break;
    std::pop_heap(s.cand.begin(), s.cand.end(), MinFirst());
    s.cand.pop_back();

    // Copy the unvisited neighbours out of the (possibly changing) list.
    std::atomic<std::uint32_t>* list = List(c.second, level);
    std::uint32_t n = std::min(list[0].load(std::memory_order_acquire), cap);
    // Two passes: prefetch the visited tags of every neighbour, then test
    // them (the tag loads are the other cache misses of the walk).
    s.nbuf.resize(n);
    for (std::uint32_t i = 0; i < n; i++) {
      s.nbuf[i] = list[1 + i].load(std::memory_order_acquire);
      s.visited.Prefetch(s.nbuf[i]);
    }
    std::size_t nn = 0;
    for (std::uint32_t i = 0; i < n; i++)
      if (!s.visited.TestAndSet(s.nbuf[i])) s.nbuf[nn++] = s.nbuf[i];
    for (std::size_t i = 0; i < std::min<std::size_t>(nn, 2); i++) PrefetchVector(Vec(s.nbuf[i]), vbytes);
    for (std::size_t i = 0; i < nn; i++) {
      if (i + 2 < nn) PrefetchVector(Vec(s.nbuf[i + 2]), vbytes);
      std::uint32_t nb = s.nbuf[i];
      float d = dist(q, Vec(nb));
      if (s.top.size() < ef || DistanceLess(d, bound)) {
        s.cand.emplace_back(d, nb);
        std::push_heap(s.cand.begin(), s.cand.end(), MinFirst());
        if (kAll || Admit(nb, filter)) {
          s.top.emplace_back(d, nb);
          std::push_heap(s.top.begin(), s.top.end(), MaxFirst());
          if (s.top.size() > ef) {
            std::pop_heap(s.top.begin(), s.top.end(), MaxFirst());
            s.top.pop_back();
          }
          bound = s.top.front().first;
        }
      }
    }
  }
}

// The neighbour-selection heuristic: walking candidates from the closest, keep
// one only if it is closer to the base point than to every neighbour kept so
// far, so links spread in different directions instead of crowding into one
// cluster. `cand` must be sorted by distance, closest first.
void HnswGraph::SelectNeighbours(const Dist& dist, std::vector<Item>& cand, std::size_t m,
                                 std::vector<Item>& out) const {
  out.clear();
  if (cand.size() <= m) {
    out = cand;
    return;
  }
  for (const Item& c : cand) {
    if (out.size() >= m) break;
    const float* cv = Vec(c.second);
    bool keep = true;
    for (const Item& r : out) {
      if (DistanceLess(dist(cv, Vec(r.second)), c.first)) {
        keep = false;
        break;
      }
    }
    if (keep) out.push_back(c);
  }
}

// Sets the new node's list on `level` to s.selected and adds back links,
// shrinking a full neighbour list with the same heuristic.
void HnswGraph::Link(const Dist& dist, std::uint32_t id, int level, Scratch& s) {
  const std::size_t cap = Cap(level);
  const float* v = Vec(id);
  {
    // Another insert may already have reached this node through an upper
    // layer and linked back to it here: merge those links instead of
    // overwriting them, or that node would lose its only way in.
    Lock(id);
    std::atomic<std::uint32_t>* list = List(id, level);
    std::uint32_t have = std::min<std::uint32_t>(list[0].load(std::memory_order_relaxed), static_cast<std::uint32_t>(cap));
    s.prune.assign(s.selected.begin(), s.selected.end());
    for (std::uint32_t i = 0; i < have; i++) {
      std::uint32_t x = list[1 + i].load(std::memory_order_relaxed);
      bool dup = false;
      for (const Item& it : s.selected) dup = dup || it.second == x;
      if (!dup) s.prune.emplace_back(dist(v, Vec(x)), x);
    }
    if (s.prune.size() > cap) {
      std::sort(s.prune.begin(), s.prune.end(), Closer());
      SelectNeighbours(dist, s.prune, cap, s.prune_out);
      s.prune.swap(s.prune_out);
    }
    std::uint32_t n = 0;
    for (const Item& it : s.prune) list[1 + n++].store(it.second, std::memory_order_release);
    list[0].store(n, std::memory_order_release);
    Unlock(id);
  }
  bool linked = false;  // some neighbour kept its link back to id
  for (const Item& it : s.selected) {
    std::uint32_t nb = it.second;
    if (nb == id) continue;
    Lock(nb);
    std::atomic<std::uint32_t>* list = List(nb, level);
    std::uint32_t n = std::min<std::uint32_t>(list[0].load(std::memory_order_relaxed), cap);
    bool present = false;
    for (std::uint32_t i = 0; i < n && !present; i++) present = list[1 + i].load(std::memory_order_relaxed) == id;
    if (present) {
      linked = true;
    } else {
      if (n < cap) {
        list[1 + n].store(id, std::memory_order_release);
        list[0].store(n + 1, std::memory_order_release);
        linked = true;
      } else {
        const float* nv = Vec(nb);
        s.prune.clear();
        s.prune.emplace_back(dist(nv, v), id);
        for (std::uint32_t i = 0; i < n; i++) {
          std::uint32_t x = list[1 + i].load(std::memory_order_relaxed);
          s.prune.emplace_back(dist(nv, Vec(x)), x);
        }
        std::sort(s.prune.begin(), s.prune.end(), Closer());
        SelectNeighbours(dist, s.prune, cap, s.prune_out);
        std::uint32_t k = 0;
        for (const Item& p : s.prune_out) {
          linked = linked || p.second == id;
          list[1 + k++].store(p.second, std::memory_order_release);
        }
        list[0].store(k, std::memory_order_release);
      }
    }
    Unlock(nb);
  }
  // Every full list the node was offered to kept its own links instead
  // (more likely while concurrent inserts fill the same lists): the node
  // would have no way in on this layer. Its nearest neighbour gives up its
  // farthest link for it (lists are kept nearest first).
  if (!linked && !s.selected.empty() && s.selected.front().second != id) {
    std::uint32_t nb = s.selected.front().second;
    Lock(nb);
    std::atomic<std::uint32_t>* list = List(nb, level);
    std::uint32_t n = std::min<std::uint32_t>(list[0].load(std::memory_order_relaxed), cap);
    bool present = false;
    for (std::uint32_t i = 0; i < n && !present; i++) present = list[1 + i].load(std::memory_order_relaxed) == id;
    if (!present && n > 0) list[n].store(id, std::memory_order_release);
    Unlock(nb);
  }
}

std::uint32_t HnswGraph::Insert(const float* vec, std::uint64_t label) {
  for (std::size_t i = 0; i < params_.dim; i++)
    if (!std::isfinite(vec[i])) throw Error(Error::Kind::InvalidArgument, "hnsw: vector has NaN or Inf components");
  Scratch& s = ThreadScratch();
  s.q.resize(params_.dim);
  PrepareQuery(vec, s.q.data());
  const std::uint32_t id = Allocate(-1, label, s.q.data());
  const int level = Level(id);
  const float* q = Vec(id);

  const std::uint64_t mine = (static_cast<std::uint64_t>(level + 1) << 32) | id;
  std::uint64_t e = entry_->load(std::memory_order_acquire);
  // The first node becomes the entry point; a loser of that race sees the
  // winner in `e` and links as usual.
  if (e == 0 && entry_->compare_exchange_strong(e, mine, std::memory_order_acq_rel, std::memory_order_acquire))
    return id;
  Dist dist(params_);
  std::uint32_t ep = static_cast<std::uint32_t>(e);
  int max_level = static_cast<int>(e >> 32) - 1;
  float ep_d = dist(q, Vec(ep));
  if (level < max_level) ep = Greedy(dist, q, ep, &ep_d, max_level, level);
  // Choose the neighbours on every layer first, then link from layer 0 up:
  // once another insert can reach this node on a layer, its lists on the
  // layers below are already in place (linking top-down would let a
  // concurrent insert descend into a node with an empty list and come away
  // with a single link).
  const int top = std::min(level, max_level);
  if (s.per_level.size() < static_cast<std::size_t>(top + 1)) s.per_level.resize(top + 1);
  for (int l = top; l >= 0; l--) {
    SearchLayer<true>(dist, q, ep, ep_d, params_.ef_construction, l, HnswFilter{}, s);
    s.sorted.assign(s.top.begin(), s.top.end());
    std::sort(s.sorted.begin(), s.sorted.end(), Closer());
    std::vector<Item>& sel = s.per_level[l];
    SelectNeighbours(dist, s.sorted, params_.m, sel);
    // Top up to m/4 links with the nearest candidates the heuristic pruned.
    // Without this an outlier whose candidates all sit behind one hub keeps a
    // single link (to the hub) and becomes unreachable as soon as the hub's
    // full list is shrunk without it; on raw GloVe under L2 that strands ~4%
    // of the nodes and caps recall near 0.98 whatever ef is.
    const std::size_t min_links = std::max<std::size_t>(params_.m / 4, 1);
    for (const Item& p : s.sorted) {
      if (sel.size() >= min_links) break;
      bool in = false;
      for (const Item& o : sel) in = in || o.second == p.second;
      if (!in) sel.push_back(p);
    }
    ep = s.sorted.front().second;
    ep_d = s.sorted.front().first;
  }
  for (int l = 0; l <= top; l++) {
    s.selected.swap(s.per_level[l]);
    Link(dist, id, l, s);
    s.selected.swap(s.per_level[l]);
  }
  if (level > max_level) {
    // Taller than the graph: become the entry point unless a still taller
    // node got there first. Its lists are linked, so it is ready to enter.
    std::uint64_t cur = entry_->load(std::memory_order_acquire);
    while (level > static_cast<int>(cur >> 32) - 1 &&
           !entry_->compare_exchange_weak(cur, mine, std::memory_order_acq_rel, std::memory_order_acquire)) {
    }
  }
  return id;
}

std::size_t HnswGraph::Search(const float* query, std::size_t k, std::size_t ef, HnswResult* out,
                              HnswFilter filter) const {
  std::uint64_t e = entry_->load(std::memory_order_acquire);
  if (e == 0 || k == 0) return 0;
  Scratch& s = ThreadScratch();
  s.q.resize(params_.dim);
  PrepareQuery(query, s.q.data());
  const float* q = s.q.data();
  Dist dist(params_);
  std::uint32_t ep = static_cast<std::uint32_t>(e);
  float ep_d = dist(q, Vec(ep));
  ep = Greedy(dist, q, ep, &ep_d, static_cast<int>(e >> 32) - 1, 0);
  SearchLayer<false>(dist, q, ep, ep_d, std::max(ef, k), 0, filter, s);
  while (s.top.size() > k) {
    std::pop_heap(s.top.begin(), s.top.end(), MaxFirst());
    s.top.pop_back();
  }
  std::size_t n = s.top.size();
  for (std::size_t i = n; i-- > 0;) {
    const Item& it = s.top.front();
    std::uint64_t label;
    std::memcpy(&label, Record(it.second) + kLabelOff, sizeof(label));
    out[i] = HnswResult{it.first, it.second, label};
    std::pop_heap(s.top.begin(), s.top.end(), MaxFirst());
    s.top.pop_back();
  }
  return n;
}

std::vector<HnswResult> HnswGraph::Search(const float* query, std::size_t k, std::size_t ef,
                                          HnswFilter filter) const {
  std::vector<HnswResult> out(k);
  out.resize(Search(query, k, ef, out.data(), filter));
  return out;
}

// ------------------------------------------------------------ continuation

void HnswSearch::Start(const float* query, std::size_t ef, HnswFilter filter) {
  filter_ = filter;
  ef_ = std::max<std::size_t>(ef, 1);
  consumed_ = returned_ = visited_count_ = 0;
  frontier_.clear();
  pending_.clear();
  window_.clear();
  sweep_ = 0;
  query_.resize(g_->params_.dim);
  g_->PrepareQuery(query, query_.data());
  // Begun even for an empty graph: Reseed may find nodes inserted since.
  visited_.Begin(g_->size());
  std::uint64_t e = g_->entry_->load(std::memory_order_acquire);
  if (e == 0) return;
  HnswGraph::Dist dist(g_->params_);
  std::uint32_t ep = static_cast<std::uint32_t>(e);
  float ep_d = dist(query_.data(), g_->Vec(ep));
  ep = g_->Greedy(dist, query_.data(), ep, &ep_d, static_cast<int>(e >> 32) - 1, 0);
  visited_.TestAndSet(ep);
  visited_count_ = 1;
  frontier_.emplace_back(ep_d, ep);
  pending_.emplace_back(ep_d, ep);
  window_.push_back(ep_d);
}

void HnswSearch::Expand(std::uint32_t id) {
  HnswGraph::Dist dist(g_->params_);
  std::atomic<std::uint32_t>* list = g_->List(id, 0);
  std::uint32_t n = std::min(list[0].load(std::memory_order_acquire), static_cast<std::uint32_t>(g_->Cap(0)));
  nbuf_.clear();
  for (std::uint32_t i = 0; i < n; i++) {
    std::uint32_t nb = list[1 + i].load(std::memory_order_acquire);
    if (!visited_.TestAndSet(nb)) nbuf_.push_back(nb);
  }
  const std::size_t vbytes = g_->params_.dim * sizeof(float);
  const std::size_t cap = ef_ + consumed_;
  for (std::size_t i = 0; i < nbuf_.size(); i++) {
    if (i + 2 < nbuf_.size()) PrefetchVector(g_->Vec(nbuf_[i + 2]), vbytes);
    std::uint32_t nb = nbuf_[i];
    Visit(nb, dist(query_.data(), g_->Vec(nb)), cap);
  }
}

// A node seen for the first time: to be expanded and handed out.
void HnswSearch::Visit(std::uint32_t id, float d, std::size_t cap) {
  visited_count_++;
  frontier_.emplace_back(d, id);
  std::push_heap(frontier_.begin(), frontier_.end(), MinFirst());
  pending_.emplace_back(d, id);
  std::push_heap(pending_.begin(), pending_.end(), MinFirst());
  if (window_.size() < cap || DistanceLess(d, window_.front())) {
    window_.push_back(d);
    std::push_heap(window_.begin(), window_.end(), LessDistance());
    while (window_.size() > cap) {
      std::pop_heap(window_.begin(), window_.end(), LessDistance());
      window_.pop_back();
    }
  }
}

// Everything reachable has been handed out, yet a graph need not be
// connected: exact duplicates prune each other's links away, and under inner
// product a few large-norm rows win every neighbour heuristic test, so the
// links of the rows around them collapse onto them. The search then goes on
// from the first node it has not visited (in id order), so Next enumerates
// every node, reachable or not. Returns false when none is left.
bool HnswSearch::Reseed() {
  const std::size_t size = g_->size();
  while (sweep_ < size) {
    const std::uint32_t id = sweep_++;
    if (visited_.TestAndSet(id)) continue;
    HnswGraph::Dist dist(g_->params_);
    Visit(id, dist(query_.data(), g_->Vec(id)), ef_ + consumed_);
    return true;
  }
  return false;
}

std::size_t HnswSearch::Next(std::size_t n, HnswResult* out) {
  std::size_t got = 0;
  while (got < n) {
    // Expand while the closest unexpanded node could still improve the
    // window of the (ef + consumed) best distances seen.
    while (!frontier_.empty() &&
           (window_.size() < ef_ + consumed_ || !DistanceLess(window_.front(), frontier_.front().first))) {
      std::uint32_t id = frontier_.front().second;
      std::pop_heap(frontier_.begin(), frontier_.end(), MinFirst());
      frontier_.pop_back();
      Expand(id);
    }
    if (pending_.empty()) {
      if (!Reseed()) break;
      continue;
    }
    Item it = pending_.front();
    std::pop_heap(pending_.begin(), pending_.end(), MinFirst());
    pending_.pop_back();
    consumed_++;
    if (!g_->Admit(it.second, filter_)) continue;
    std::uint64_t label;
    std::memcpy(&label, g_->Record(it.second) + kLabelOff, sizeof(label));
    out[got++] = HnswResult{it.first, it.second, label};
    returned_++;
  }
  return got;
}

std::vector<HnswResult> HnswSearch::Next(std::size_t n) {
  std::vector<HnswResult> out(n);
  out.resize(Next(n, out.data()));
  return out;
}

}  // namespace vecgo

// ------------------------------------------------------------ serialization
//
// Body (after the page stream header): parameters (dim, metric, m,
// ef_construction, seed), node count, entry point; then per node: label u64,
// level u32, deleted u32, vector, layer-0 list (count u32 + ids), each upper
// list (count + ids); then an end marker. Every field read back is checked
// before it is used, so garbage behind valid checksums is refused too.

namespace vecgo {
namespace {

constexpr std::uint64_t kEndMarker = 0x444e4557534e4847ULL;

[[noreturn]] void Corrupt(const std::string& what) {
  throw Error(Error::Kind::DataCorrupted, "hnsw: corrupted graph: " + what);
}

}  // namespace

void HnswGraph::SaveTo(PageStreamWriter* w) const {
  const std::uint32_t n = static_cast<std::uint32_t>(size());
  w->Put(static_cast<std::uint32_t>(params_.dim));
  w->Put(static_cast<std::uint32_t>(params_.metric));
  w->Put(static_cast<std::uint32_t>(params_.m));
  w->Put(static_cast<std::uint32_t>(params_.ef_construction));
  w->Put(params_.seed);
  w->Put(n);
  w->Put(entry_->load(std::memory_order_acquire));
  for (std::uint32_t id = 0; id < n; id++) {
    const char* r = Record(id);
    w->Write(r + kLabelOff, 8);
    std::uint32_t level = static_cast<std::uint32_t>(Level(id));
    w->Put(level);
    w->Put(static_cast<std::uint32_t>(IsDeleted(id) ? 1 : 0));
    w->Write(r + kVecOff, params_.dim * sizeof(float));
    for (int l = 0; l <= static_cast<int>(level); l++) {
      std::atomic<std::uint32_t>* list = List(id, l);
      std::uint32_t c = std::min<std::uint32_t>(list[0].load(std::memory_order_acquire),
                                                static_cast<std::uint32_t>(Cap(l)));
      w->Put(c);
      for (std::uint32_t i = 0; i < c; i++) w->Put(list[1 + i].load(std::memory_order_acquire));
    }
  }
  w->Put(kEndMarker);
  w->Put(n);
}

std::uint64_t HnswGraph::Save(PageSink sink, std::size_t page_size, std::uint32_t stream_id) const {
  PageStreamWriter w(kHnswContentMagic, kHnswFormatVersion, std::move(sink), page_size, stream_id);
  SaveTo(&w);
  return w.Finish();
}

std::unique_ptr<HnswGraph> HnswGraph::Load(const std::uint8_t* data, std::size_t bytes, std::size_t page_size,
                                           std::size_t memory_limit) {
  PageStreamReader r =
      PageStreamReader::FromBuffer(data, bytes, page_size, kHnswContentMagic, kHnswFormatVersion);
  return LoadFrom(&r, memory_limit);
}

std::unique_ptr<HnswGraph> HnswGraph::LoadFrom(PageStreamReader* r, std::size_t memory_limit) {
  HnswParams p;
  p.dim = r->Get<std::uint32_t>();
  std::uint32_t metric = r->Get<std::uint32_t>();
  p.m = r->Get<std::uint32_t>();
  p.ef_construction = r->Get<std::uint32_t>();
  p.seed = r->Get<std::uint64_t>();
  p.memory_limit = memory_limit;
  const std::uint32_t n = r->Get<std::uint32_t>();
  const std::uint64_t entry = r->Get<std::uint64_t>();
  if (p.dim == 0 || p.dim > kMaxDim || metric > 3 || p.m < 2 || p.m > 256 || p.ef_construction < 1 ||
      p.ef_construction > 10000)
    Corrupt("bad parameters in header");
  p.metric = static_cast<Metric>(metric);
  // Every node takes at least label, level, deleted, vector and one count.
  const std::uint64_t min_node = 8 + 4 + 4 + p.dim * sizeof(float) + 4;
  if (n > r->remaining() / min_node) Corrupt("node count larger than the stream");
  const int max_level = static_cast<int>(entry >> 32) - 1;
  const std::uint32_t entry_id = static_cast<std::uint32_t>(entry);
  if ((n == 0) != (entry == 0) || (n > 0 && (entry_id >= n || max_level < 0 || max_level > kMaxLevel)))
    Corrupt("bad entry point");
  auto g = std::make_unique<HnswGraph>(p);
  std::vector<float> vec(p.dim);
  std::uint32_t deleted = 0;
  for (std::uint32_t id = 0; id < n; id++) {
    std::uint64_t label = r->Get<std::uint64_t>();
    std::uint32_t level = r->Get<std::uint32_t>();
    std::uint32_t del = r->Get<std::uint32_t>();
    if (level > static_cast<std::uint32_t>(max_level) || del > 1) Corrupt("bad node header");
    r->GetArray(vec.data(), p.dim);
    for (float f : vec)
      if (!std::isfinite(f)) Corrupt("non-finite vector component");
    std::uint32_t got = g->Allocate(static_cast<int>(level), label, vec.data());
    if (got != id) throw Error(Error::Kind::Internal, "hnsw: load out of order");
    if (del) {
      AtomicU32(g->Record(id) + kDeletedOff)->store(1, std::memory_order_relaxed);
      deleted++;
    }
    for (int l = 0; l <= static_cast<int>(level); l++) {
      std::uint32_t c = r->Get<std::uint32_t>();
      if (c > g->Cap(l)) Corrupt("neighbour list too long");
      std::atomic<std::uint32_t>* list = g->List(id, l);
      for (std::uint32_t i = 0; i < c; i++) {
        std::uint32_t nb = r->Get<std::uint32_t>();
        if (nb >= n) Corrupt("neighbour id out of range");
        list[1 + i].store(nb, std::memory_order_relaxed);
      }
      list[0].store(c, std::memory_order_relaxed);
    }
  }
  if (r->Get<std::uint64_t>() != kEndMarker || r->Get<std::uint32_t>() != n) Corrupt("bad end marker");
  // A neighbour on layer l must itself reach layer l.
  for (std::uint32_t id = 0; id < n; id++) {
    int level = g->Level(id);
    for (int l = 1; l <= level; l++) {
      std::atomic<std::uint32_t>* list = g->List(id, l);
      std::uint32_t c = list[0].load(std::memory_order_relaxed);
      for (std::uint32_t i = 0; i < c; i++)
        if (g->Level(list[1 + i].load(std::memory_order_relaxed)) < l) Corrupt("link to a node below its layer");
    }
  }
  if (n > 0 && g->Level(entry_id) != max_level) Corrupt("entry point level mismatch");
  g->h_->deleted.store(deleted, std::memory_order_relaxed);
  g->entry_->store(entry, std::memory_order_release);
  return g;
}

}  // namespace vecgo
