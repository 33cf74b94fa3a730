// Vamana (DiskANN) segments: an immutable, bounded-degree proximity graph
// built once over a batch of vectors, searched with a beam over compact codes
// and reranked with the full vectors.
//
// Shape, after DiskANN's split of data store and graph store: the search is a
// template over a *store* that answers a handful of questions about node ids,
// so the same search code runs over
//   - VamanaIndex, the in-memory segment a build produces (tests, benchmarks,
//     the source of serialization), and
//   - PagedVamanaStore, which reads node records out of fixed-size pages
//     through a caller's accessor (the PostgreSQL glue hands out index buffer
//     pages), never needing the segment in one array.
//
// Store concept (all const, no virtual calls; ids are dense in [0, Size())):
//   uint32_t Size(), Dim(), MaxDegree(), Medoid();  Metric metric();
//   VamanaNode Node(id)          vector + neighbour list of one node
//   const float* Vector(id)      the stored (for cosine: normalised) vector
//   NeighborSpan Neighbors(id)
//   const uint8_t* Code(id)      the node's quantized code (nullptr if none)
//   bool Deleted(id);  uint64_t Label(id)
//   void Prefetch(id), PrefetchCode(id)   hints, may do nothing
//   const Quantizer& quantizer()  trained iff the segment has codes
//   std::size_t code_size()       0 without codes
// Pointers a store returns are valid until the next call on that store (a
// page-backed store may recycle one buffer), and the search honours that.
//
// Metrics: smaller is closer for all four. Cosine vectors are normalised on
// build and queries on search, and cosine distance is computed as 1 - dot.
// The graph for inner product is built over x / |x|^1.5 with L2 (directions,
// with large-norm rows drawn toward the origin so they collect in-edges) and
// searched with -dot: the beam follows the directional neighbourhoods
// towards the large-norm, well-aligned rows that win on inner product
// (src/core/vamana_build.cpp gives the reasons, the commit history the
// measurements). (The MIPS-to-L2 lift, an extra coordinate sqrt(M^2 - |x|^2),
// was dropped: on data with a wide spread of norms the lift dominates the
// pairwise distances, the prune leaves a sparse graph and recall at a given L
// falls well below the other metrics.)
#pragma once

#include "vecgo/core.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "vecgo/distance.h"
#include "vecgo/pages.h"
#include "vecgo/quantizer.h"
#include "vecgo/simd.h"

namespace vecgo {

// ---------------------------------------------------------------- options

struct VamanaParams {
  Metric metric = Metric::L2;
  std::uint32_t R = 64;      // max out-degree (graph_degree)
  std::uint32_t L = 100;     // build list size (build_list_size)
  float alpha = 1.2f;        // pruning slack
  std::uint32_t threads = 1; // build threads (the caller's budget; >= 1)
  // Upper bound on the bytes the build may hold (0 = no limit). Checked up
  // front against EstimateVamanaBuildBytes: an over-budget build fails with
  // Error::Kind::OutOfMemory before allocating anything large.
  std::size_t memory_budget = 0;
  // Codes the beam navigates on (None: full vectors). Binary is accepted as
  // a coarse ranking proxy; every result is reranked with full vectors.
  QuantKind quantization = QuantKind::None;
  std::size_t pq_m = 0;               // PQ subspaces, 0 = ceil(dim / 4)
  // Store the node vectors as IEEE half precision in the pages (the build
  // and the in-memory index keep floats). Lossless for data that was half
  // precision to begin with (a halfvec column) up to cosine's normalisation;
  // the pages then take about half the bytes per vector.
  bool half_vectors = false;
  std::uint64_t seed = 1;
  // Optional progress/cancel hook, called on the calling thread only. Return
  // false to cancel: the build then throws Error(Internal, "... cancelled").
  bool (*progress)(void* ctx, std::size_t done, std::size_t total) = nullptr;
  void* progress_ctx = nullptr;
};

// Bytes a build of n vectors of `dim` floats needs at its peak: vectors,
// adjacency, codes, labels, locks, per-thread scratch and training copies.
std::size_t EstimateVamanaBuildBytes(std::size_t n, std::size_t dim, const VamanaParams& p);

struct NeighborSpan {
  const std::uint32_t* ids;
  std::uint32_t count;
};

struct VamanaNode {
  const float* vector;
  const std::uint32_t* neighbors;
  std::uint32_t degree;
};

struct VamanaResult {
  float distance;       // exact distance (smaller is closer)
  std::uint32_t id;     // node id in the segment
  std::uint64_t label;  // caller's label (the glue stores heap TIDs)
};

// Admission filter: return true to allow `id` in the results. Rejected nodes
// are still traversed.
using VamanaFilter = bool (*)(void* ctx, std::uint32_t id, std::uint64_t label);

struct VamanaSearchOptions {
  std::uint32_t L = 100;           // search list size (>= k is sensible)
  VamanaFilter filter = nullptr;
  void* filter_ctx = nullptr;
  std::size_t max_visits = 0;      // bound on expanded nodes over all Next calls (0 = none)
  bool use_codes = true;           // navigate on codes when the segment has them
};

// ---------------------------------------------------------------- in-memory segment

class VamanaIndex {
 public:
  VamanaIndex() = default;
  VamanaIndex(VamanaIndex&&) noexcept = default;
  VamanaIndex& operator=(VamanaIndex&&) noexcept = default;

  // Builds a segment over n rows of `dim` floats. labels may be null (label =
  // row number). Throws InvalidArgument (bad sizes, NaN/Inf), OutOfMemory
  // (over params.memory_budget), Internal (cancelled).
  static VamanaIndex Build(const float* data, std::size_t n, std::size_t dim,
                           const std::uint64_t* labels, const VamanaParams& params);

  // ---- store interface ----
  std::uint32_t Size() const { return n_; }
  std::uint32_t Dim() const { return dim_; }
  std::uint32_t MaxDegree() const { return R_; }
  std::uint32_t Medoid() const { return medoid_; }
  Metric metric() const { return metric_; }
  // Whether the pages store the vectors as halves (VamanaParams::half_vectors).
  bool half_vectors() const { return half_vectors_; }
  const float* Vector(std::uint32_t id) const { return vectors_.data() + std::size_t(id) * dim_; }
  NeighborSpan Neighbors(std::uint32_t id) const {
    return {adj_.data() + std::size_t(id) * R_, degree_[id]};
  }
  VamanaNode Node(std::uint32_t id) const {
    return {Vector(id), adj_.data() + std::size_t(id) * R_, degree_[id]};
  }
  const std::uint8_t* Code(std::uint32_t id) const {
    return codes_.empty() ? nullptr : codes_.data() + std::size_t(id) * code_size_;
  }
  bool Deleted(std::uint32_t id) const { return (deleted_[id >> 6] >> (id & 63)) & 1; }
  std::uint64_t Label(std::uint32_t id) const { return labels_[id]; }
  void Prefetch(std::uint32_t id) const {
    const char* p = reinterpret_cast<const char*>(Vector(id));
    for (std::size_t o = 0; o < std::size_t(dim_) * 4 && o < 512; o += 64) __builtin_prefetch(p + o);
    __builtin_prefetch(adj_.data() + std::size_t(id) * R_);
  }
  void PrefetchCode(std::uint32_t id) const {
    if (codes_.empty()) return;
    const char* p = reinterpret_cast<const char*>(Code(id));
    for (std::size_t o = 0; o < code_size_ && o < 256; o += 64) __builtin_prefetch(p + o);
  }
  const Quantizer& quantizer() const { return quantizer_; }
  std::size_t code_size() const { return code_size_; }

  // ---- mutation and introspection ----
  // (Re)trains the quantizer on the stored vectors and encodes every node;
  // QuantKind::None drops the codes. The graph is unchanged.
  void SetQuantization(QuantKind kind, std::size_t pq_m = 0, std::uint32_t threads = 1,
                       std::uint64_t seed = 1);
  // Tombstone: the node stays a waypoint but is never returned. Not to be
  // called while searches run on this index (the glue flips bits in pages).
  void MarkDeleted(std::uint32_t id);
  std::size_t DeletedCount() const;
  // Bytes held by the segment's arrays.
  std::size_t MemoryBytes() const;
  // Mean out-degree (diagnostics).
  double MeanDegree() const;

 private:
  friend class VamanaBuilder;
  friend class VamanaSharedBuild;
  // An index of n nodes with labels set and everything else zero.
  static VamanaIndex Allocate(std::size_t n, std::size_t dim, const VamanaParams& params,
                              const std::uint64_t* labels);

  std::uint32_t n_ = 0, dim_ = 0, R_ = 0, medoid_ = 0;
  Metric metric_ = Metric::L2;
  bool half_vectors_ = false;
  std::vector<float> vectors_;          // n x dim (normalised for cosine)
  std::vector<std::uint32_t> adj_;      // n x R
  std::vector<std::uint32_t> degree_;   // n
  std::vector<std::uint64_t> labels_;   // n
  std::vector<std::uint64_t> deleted_;  // bitmap, ceil(n/64) words
  std::vector<std::uint8_t> codes_;     // n x code_size
  std::size_t code_size_ = 0;
  Quantizer quantizer_;
};

// ---------------------------------------------------------------- shared builds

// A build whose working state (vectors, adjacency, locks, visiting order)
// lives in one caller-provided block of memory, so that several processes
// can construct one graph: the PostgreSQL glue puts the block in a dynamic
// shared memory segment and runs Work in its parallel workers. The block
// holds offsets only, never pointers, so it may be mapped at a different
// address in each process.
//
// Protocol: the leader calls Init once, then for each phase in
// [0, Phases()) calls BeginPhase, after which every participant (the leader
// included) calls Work; Work returns when the phase has no items left to
// claim. The caller must make sure every participant's Work of a phase has
// returned before BeginPhase of the next (a barrier; PostgreSQL: wait for
// the workers, then relaunch them). Finish, in the leader after the last
// phase, returns the segment. A cancelled participant (progress returned
// false) sets a flag in the block, and every other participant's Work then
// throws Error(Internal, "... cancelled") at its next item.
class VamanaSharedBuild {
 public:
  // Bytes of the block for n vectors of `dim` floats.
  static std::size_t Bytes(std::size_t n, std::size_t dim, const VamanaParams& p);
  static int Phases();
  // Validates like VamanaIndex::Build (but without the memory budget, the
  // caller sized the block), copies the vectors and finds the medoid.
  static void Init(void* block, std::size_t bytes, const float* data, std::size_t n,
                   std::size_t dim, const VamanaParams& p);
  static void BeginPhase(void* block, int phase);
  // threads: this participant's threads (>= 1). progress is called on the
  // calling thread with items done over all participants and phases.
  static void Work(void* block, std::uint32_t threads,
                   bool (*progress)(void* ctx, std::size_t done, std::size_t total), void* ctx);
  static void Cancel(void* block);
  // Whether some participant cancelled the build.
  static bool Cancelled(const void* block);
  // labels may be null (label = row number). Trains p.quantization.
  static VamanaIndex Finish(const void* block, const std::uint64_t* labels, const VamanaParams& p);
};

// ---------------------------------------------------------------- pages

// A segment is one page stream (pages.h: every page framed with its own
// header and CRC-32C) with content magic "VGDA":
//   header      n, dim, R, medoid, metric, quantization; the quantizer
//   nodes       records [vector: dim f32][degree: u32][R x u32], never
//               straddling a page when one fits in a page's payload; with
//               half vectors (header byte, VamanaParams::half_vectors) the
//               vector is dim f16, zero-padded to a multiple of 4 bytes
//   codes       records of code_size bytes (when quantized)
//   labels      records of one u64 caller label (the glue: heap TIDs)
//   deletions   records of one u64 bitmap word (bit i%64 of word i/64)
//   trailer     the four RecordRegions, then the u64 offset of the trailer
//               as the stream's last 8 bytes
// The deletion pages are the only ones that change after the build: the glue
// sets bits with SetDeletionBit, which reseals the page checksum.
constexpr std::uint32_t kVamanaContentMagic = 0x41444756u;  // "VGDA"
constexpr std::uint32_t kVamanaFormatVersion = 1;

// Writes `index` as a page stream into `sink` (pages 1..N-1, then page 0 as
// pages.h specifies). Returns the number of pages.
std::uint64_t WriteVamanaPages(const VamanaIndex& index, PageSink sink,
                               std::size_t page_size = kDefaultPageSize,
                               std::uint32_t stream_id = 0);
// Convenience: all pages back to back in one buffer.
std::vector<std::uint8_t> SerializeVamana(const VamanaIndex& index,
                                          std::size_t page_size = kDefaultPageSize);

// Returns page `page_index` (page_size bytes) or nullptr when there is no
// such page. The pointer must stay valid until the next call.
using VamanaPageAccessor = const std::uint8_t* (*)(void* ctx, std::size_t page_index);

// A store over a serialized segment, reading node records, codes, labels and
// deletion bits straight out of the pages the accessor returns. Opening
// checks the stream (magic, version, checksums of the pages it reads, the
// trailer and every region against the stream length). The search path does
// not re-checksum pages (that is Verify's job) but range-checks every degree
// and neighbour id it reads: corruption throws DataCorrupted, never crashes.
// Not thread-safe (scratch buffers): one store per scan or per thread.
class PagedVamanaStore {
 public:
  PagedVamanaStore(VamanaPageAccessor access, void* ctx, std::size_t page_count,
                   std::size_t page_size = kDefaultPageSize);

  std::uint32_t Size() const { return n_; }
  std::uint32_t Dim() const { return dim_; }
  std::uint32_t MaxDegree() const { return R_; }
  std::uint32_t Medoid() const { return medoid_; }
  Metric metric() const { return metric_; }
  bool half_vectors() const { return half_; }
  // With half vectors, the node's vector is decoded into a scratch buffer
  // (valid until the next call, as every pointer the store returns).
  VamanaNode Node(std::uint32_t id) const;
  const float* Vector(std::uint32_t id) const { return Node(id).vector; }
  NeighborSpan Neighbors(std::uint32_t id) const {
    VamanaNode nd = Node(id);
    return {nd.neighbors, nd.degree};
  }
  const std::uint8_t* Code(std::uint32_t id) const;
  bool Deleted(std::uint32_t id) const;
  std::uint64_t Label(std::uint32_t id) const;
  void Prefetch(std::uint32_t id) const;
  void PrefetchCode(std::uint32_t id) const;
  const Quantizer& quantizer() const { return quantizer_; }
  std::size_t code_size() const { return codes_.record_size; }

  std::uint64_t page_count() const { return pages_; }
  // Where node id's deletion bit lives: stream page number, byte offset in
  // that page (page header included) and bit within the byte.
  struct BitLocation {
    std::uint64_t page;
    std::uint32_t byte;
    std::uint8_t bit;
  };
  BitLocation DeletionBit(std::uint32_t id) const;
  // Sets a deletion bit in a page image and reseals its checksum (for the
  // glue, inside its WAL-logged page change).
  static void SetDeletionBit(std::uint8_t* page, std::size_t page_size, const BitLocation& loc);
  // Full check: every page's checksum and framing, every degree, neighbour
  // id and vector component. Throws DataCorrupted on the first problem.
  void Verify() const;

 private:
  const std::uint8_t* Page(std::uint64_t index) const;
  const std::uint8_t* At(const RecordRegion& r, std::uint64_t i, std::uint8_t* scratch) const;

  VamanaPageAccessor access_;
  void* ctx_;
  std::size_t page_size_;
  std::uint64_t pages_ = 0;
  std::uint32_t n_ = 0, dim_ = 0, R_ = 0, medoid_ = 0;
  Metric metric_ = Metric::L2;
  bool half_ = false;
  std::size_t vec_bytes_ = 0;  // bytes of a node's vector in its record
  RecordRegion nodes_, codes_, labels_, deleted_;
  Quantizer quantizer_;
  mutable std::unique_ptr<PageStreamReader> reader_;  // records larger than a page
  mutable std::vector<std::uint8_t> node_scratch_, code_scratch_;
  mutable std::vector<float> vec_scratch_;  // a decoded half vector
};

// ---------------------------------------------------------------- search

namespace detail {

// Exact distance from a prepared query to a stored vector: a * f(q, v) + b.
struct ExactDistance {
  float (*fn)(const float*, const float*, std::size_t) = nullptr;
  float a = 1.0f, b = 0.0f;
  std::size_t dim = 0;
  void Init(Metric m, std::size_t d) {
    const simd::Kernels& k = simd::active();
    dim = d;
    switch (m) {
      case Metric::L2: fn = k.l2sq; a = 1; b = 0; break;
      case Metric::IP: fn = k.dot; a = -1; b = 0; break;
      case Metric::Cosine: fn = k.dot; a = -1; b = 1; break;
      case Metric::L1: fn = k.l1; a = 1; b = 0; break;
    }
  }
  float operator()(const float* q, const float* v) const { return a * fn(q, v, dim) + b; }
};

// Writes the query in the form the segment stores (cosine: unit length).
void PrepareVamanaQuery(Metric m, const float* in, std::size_t dim, float* out);

[[noreturn]] void VamanaCorrupt(const char* what);

}  // namespace detail

// A search over one segment, reusable across queries (buffers are kept, so a
// steady stream of searches does no heap allocation).
//
// Continuation guarantee: Start() then Next(k) returns the best k the beam
// found, reranked by exact distance. Each further Next(batch) widens the list
// (L grows by `batch`, and whenever too few results remain, it doubles), keeps
// expanding from where it stopped, and returns up to `batch` results never
// returned before. Within one call, results are in non-decreasing exact
// distance. Across calls the order is approximate: a later call may return a
// row closer than the last row of an earlier call (the caller's merge sorts
// that out). Every admitted, non-deleted node is returned exactly once over
// the calls (nodes the medoid cannot reach included); Next returns 0 only
// when every node has been (or max_visits is hit).
template <class Store>
class VamanaSearcher {
 public:
  explicit VamanaSearcher(const Store& store) : s_(store) {}

  void Start(const float* query, const VamanaSearchOptions& opts) {
    const std::uint32_t n = s_.Size();
    const std::uint32_t dim = s_.Dim();
    opts_ = opts;
    if (opts_.L == 0) opts_.L = 1;
    q_.resize(dim);
    detail::PrepareVamanaQuery(s_.metric(), query, dim, q_.data());
    exact_.Init(s_.metric(), dim);
    codes_ = opts_.use_codes && s_.quantizer().trained() && s_.code_size() > 0 &&
             s_.quantizer().kind() != QuantKind::None;
    if (codes_) s_.quantizer().Prepare(q_.data(), s_.metric(), &cq_);
    if (visited_.size() < n) visited_.assign(n, 0);
    if (++epoch_ == 0) {
      std::fill(visited_.begin(), visited_.end(), 0);
      epoch_ = 1;
    }
    list_.clear();
    overflow_.clear();
    pool_.clear();
    cursor_ = 0;
    expanded_ = 0;
    sweep_ = 0;
    cap_ = opts_.L;
    started_ = false;
    if (n == 0) return;
    std::uint32_t m = s_.Medoid();
    visited_[m] = epoch_;
    Insert(NavDistance(m), m);
  }

  // Appends up to `batch` further results to *out; returns how many.
  std::size_t Next(std::size_t batch, std::vector<VamanaResult>* out) {
    if (batch == 0) return 0;
    if (started_) Grow(cap_ + batch);
    started_ = true;
    for (;;) {
      Expand();
      bool exhausted = cursor_ >= list_.size() && overflow_.empty();
      bool capped = opts_.max_visits && expanded_ >= opts_.max_visits;
      if (pool_.size() >= batch || capped) break;
      if (exhausted) {
        if (!Reseed()) break;
        continue;
      }
      Grow(std::max<std::size_t>(cap_ * 2, cap_ + batch));
    }
    std::size_t got = 0;
    auto cmp = [](const Scored& a, const Scored& b) { return b < a; };
    while (got < batch && !pool_.empty()) {
      std::pop_heap(pool_.begin(), pool_.end(), cmp);
      Scored r = pool_.back();
      pool_.pop_back();
      out->push_back({r.dist, r.id, s_.Label(r.id)});
      got++;
    }
    return got;
  }

  // One-shot top-k: out is cleared and gets up to k results, closest first.
  void Search(const float* query, std::size_t k, const VamanaSearchOptions& opts,
              std::vector<VamanaResult>* out) {
    out->clear();
    VamanaSearchOptions o = opts;
    if (o.L < k) o.L = static_cast<std::uint32_t>(k);
    Start(query, o);
    Next(k, out);
  }

  std::size_t expanded() const { return expanded_; }

 private:
  static constexpr std::uint32_t kExpandedBit = 0x80000000u;
  struct Cand {
    float dist;
    std::uint32_t id;  // kExpandedBit set once expanded
  };
  struct Scored {
    float dist;
    std::uint32_t id;
    bool operator<(const Scored& o) const {
      return DistanceLess(dist, o.dist) || (DistanceEqual(dist, o.dist) && id < o.id);
    }
  };

  float NavDistance(std::uint32_t id) {
    if (codes_) {
      const std::uint8_t* c = s_.Code(id);
      return cq_(c);
    }
    return exact_(q_.data(), s_.Vector(id));
  }

  // Sorted insert into the bounded list; what falls off goes to overflow_.
  // NaN distances sort last (DistanceLess), like PostgreSQL's float8.
  void Insert(float d, std::uint32_t id) {
    std::size_t size = list_.size();
    if (size >= cap_) {
      if (!DistanceLess(d, list_.back().dist)) {
        overflow_.push_back({d, id});
        return;
      }
      // An expanded entry is already in the result pool: forget it.
      if (!(list_.back().id & kExpandedBit)) overflow_.push_back(list_.back());
      list_.pop_back();
      size--;
    }
    std::size_t lo = 0, hi = size;
    while (lo < hi) {
      std::size_t mid = (lo + hi) >> 1;
      if (!DistanceLess(d, list_[mid].dist)) lo = mid + 1; else hi = mid;
    }
    list_.insert(list_.begin() + lo, Cand{d, id});
    if (lo < cursor_) cursor_ = lo;
  }

  // Everything reachable from the medoid is expanded, yet a graph need not
  // be connected (exact duplicates occlude each other in the prune, so most
  // of a run of them keeps no in-edge): the search goes on from the first
  // node it has not visited (in id order), so Next enumerates every node.
  // Returns false when none is left.
  bool Reseed() {
    const std::uint32_t n = s_.Size();
    while (sweep_ < n) {
      const std::uint32_t id = sweep_++;
      if (visited_[id] == epoch_) continue;
      visited_[id] = epoch_;
      Insert(NavDistance(id), id);
      return true;
    }
    return false;
  }

  void Grow(std::size_t cap) {
    cap_ = cap;
    if (overflow_.empty() || list_.size() >= cap_) return;
    std::vector<Cand> pending;
    pending.swap(spare_);
    pending.clear();
    pending.swap(overflow_);  // overflow_ now empty (reuses spare_ capacity)
    std::sort(pending.begin(), pending.end(),
              [](const Cand& a, const Cand& b) { return DistanceLess(a.dist, b.dist); });
    std::size_t i = 0;
    for (; i < pending.size() && list_.size() < cap_; i++) Insert(pending[i].dist, pending[i].id);
    for (; i < pending.size(); i++) overflow_.push_back(pending[i]);
    spare_.swap(pending);
  }

  void Expand() {
    const std::uint32_t n = s_.Size();
    const std::uint32_t R = s_.MaxDegree();
    if (nbrs_.size() < R) nbrs_.resize(R);
    auto cmp = [](const Scored& a, const Scored& b) { return b < a; };
    while (cursor_ < list_.size()) {
      if (opts_.max_visits && expanded_ >= opts_.max_visits) return;
      Cand& c = list_[cursor_];
      if (c.id & kExpandedBit) {
        cursor_++;
        continue;
      }
      std::uint32_t id = c.id;
      c.id |= kExpandedBit;
      float nav = c.dist;
      expanded_++;
      // Read the node once: exact distance and a copy of its neighbours.
      VamanaNode node = s_.Node(id);
      if (node.degree > R) detail::VamanaCorrupt("node degree above the segment's maximum");
      float exact = codes_ ? exact_(q_.data(), node.vector) : nav;
      std::uint32_t cnt = 0;
      for (std::uint32_t j = 0; j < node.degree; j++) {
        std::uint32_t nb = node.neighbors[j];
        if (nb >= n) detail::VamanaCorrupt("neighbour id out of range");
        if (visited_[nb] == epoch_) continue;
        visited_[nb] = epoch_;
        nbrs_[cnt++] = nb;
      }
      if (!s_.Deleted(id) &&
          (!opts_.filter || opts_.filter(opts_.filter_ctx, id, s_.Label(id)))) {
        pool_.push_back({exact, id});
        std::push_heap(pool_.begin(), pool_.end(), cmp);
      }
      for (std::uint32_t j = 0; j < cnt; j++) {
        if (codes_) s_.PrefetchCode(nbrs_[j]); else s_.Prefetch(nbrs_[j]);
      }
      for (std::uint32_t j = 0; j < cnt; j++) {
        if (j + 2 < cnt) {  // keep the next fetches in flight
          if (codes_) s_.PrefetchCode(nbrs_[j + 2]); else s_.Prefetch(nbrs_[j + 2]);
        }
        Insert(NavDistance(nbrs_[j]), nbrs_[j]);
      }
      // Advance to the first unexpanded entry (Insert may have moved it back).
      while (cursor_ < list_.size() && (list_[cursor_].id & kExpandedBit)) cursor_++;
    }
  }

  const Store& s_;
  VamanaSearchOptions opts_;
  detail::ExactDistance exact_;
  QueryDistancer cq_;
  bool codes_ = false;
  bool started_ = false;
  std::vector<float> q_;
  std::vector<std::uint32_t> visited_;
  std::uint32_t epoch_ = 0;
  std::vector<Cand> list_, overflow_, spare_;
  std::vector<Scored> pool_;
  std::vector<std::uint32_t> nbrs_;
  std::size_t cursor_ = 0, cap_ = 0, expanded_ = 0;
  std::uint32_t sweep_ = 0;  // Reseed: ids below it have been tried
};

}  // namespace vecgo
