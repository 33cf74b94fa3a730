// Vamana graph construction.
//
// One pass over the points (in the order BeginPhase explains), inserting
// each by a greedy search from the medoid (list size L; neighbours scored on
// 4-bit codes of the build space, the expanded nodes rescored exactly), a
// robust prune (alpha) of everything the search expanded down to R
// neighbours, and reverse edges (pruned again when a neighbour's list
// overflows); a last phase prunes lists still above R.
// All working state is one block of memory (VamanaBuildHeader and arrays at
// offsets), so the same code runs on the threads of one process
// (VamanaIndex::Build) or on several processes sharing the block
// (VamanaSharedBuild). Per-node spin locks guard adjacency lists; searches
// copy a list under its lock and work on the copy.
#include "vecgo/vamana.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <numeric>
#include <random>
#include <new>
#include <thread>
#include <type_traits>

#include "vecgo/thread_pool.h"

namespace vecgo {

namespace {

struct Scored {
  float dist;
  std::uint32_t id;
  std::uint32_t settled;  // one of a list a prune left (see Prune)
  bool operator<(const Scored& o) const {
    return DistanceLess(dist, o.dist) || (DistanceEqual(dist, o.dist) && id < o.id);
  }
};

}  // namespace

// The working state of a build, laid out in one block of memory so several
// processes can share it (VamanaSharedBuild: a PostgreSQL DSM segment) or
// one process can own it (VamanaIndex::Build). Offsets, not pointers: each
// process maps the block at its own address. Everything below the header is
// arrays of plain words; the per-node locks are lock-free atomics, which are
// address-free and so work across processes.
struct VamanaBuildHeader {
  std::uint32_t magic;
  std::uint32_t n, dim, R, C, L, metric, medoid;
  float alpha;
  std::int32_t phase;
  std::uint64_t seed;
  std::uint64_t vec_off;  // 0: the vectors are the caller's (one process)
  std::uint64_t unit_off, code_off, cnorm_off, qbase_off, qstep_off, adj_off, deg_off, settled_off, lock_off,
      order_off, bytes;
  std::atomic<std::uint64_t> next;   // hand-out of the current phase's items
  std::atomic<std::uint64_t> done;   // items finished over all phases
  std::atomic<std::uint32_t> cancel; // set by a participant that was cancelled
  // The insert pass's visiting order is valid up to `ready`; the first
  // participant to arrive (order_taken) orders the rest while the others
  // insert the random prefix (BeginPhase).
  std::atomic<std::uint64_t> ready;
  std::atomic<std::uint32_t> order_taken;
  std::mt19937_64 order_rng;  // the generator as the prefix's shuffle left it
};
// The header is shared between processes as plain bytes.
static_assert(std::is_trivially_copyable<std::mt19937_64>::value, "the order's generator must be plain bytes");

void CheckBuildArgs(const float* data, std::size_t n, std::size_t dim, const VamanaParams& params,
                    bool values);

namespace {

constexpr std::uint32_t kBuildMagic = 0x42444756u;  // "VGDB"
constexpr int kBuildPhases = 2;  // the insert pass, the final prune
constexpr std::size_t kInsertChunk = 64;  // points a participant claims at once in a pass
constexpr std::size_t kListsAhead = 3;    // lists a build search fetches ahead (GreedySearch)

std::size_t Align64(std::size_t x) { return (x + 63) & ~std::size_t(63); }

// Build-space codes (two dimensions a byte) are padded to whole cache
// lines: one line a code up to 128 dimensions, where a 50-byte record at a
// multiple of 50 would straddle two lines most of the time.
std::size_t CodeStride(std::size_t dim) { return Align64((dim + 1) / 2); }

struct BuildLayout {
  std::size_t vec_off = 0, unit_off = 0, code_off, cnorm_off, qbase_off, qstep_off, adj_off, deg_off, settled_off,
      lock_off, order_off, bytes;
};

std::uint32_t SlackDegree(std::uint32_t R) { return R + std::max<std::uint32_t>(1, R * 3 / 10); }

BuildLayout Layout(std::size_t n, std::size_t dim, std::uint32_t R, Metric m, bool vectors) {
  BuildLayout l;
  std::size_t off = Align64(sizeof(VamanaBuildHeader));
  const std::size_t vbytes = Align64(n * dim * sizeof(float));
  if (vectors) {
    l.vec_off = off;
    off += vbytes;
  }
  if (m == Metric::IP) {
    l.unit_off = off;
    off += vbytes;
  }
  l.code_off = off;
  off += n * CodeStride(dim);
  l.cnorm_off = off;
  off += Align64(n * sizeof(float));
  l.qbase_off = off;
  off += Align64(dim * sizeof(float));
  l.qstep_off = off;
  off += Align64(dim * sizeof(float));
  l.adj_off = off;
  off += Align64(n * SlackDegree(R) * sizeof(std::uint32_t));
  l.deg_off = off;
  off += Align64(n * sizeof(std::uint32_t));
  l.settled_off = off;
  off += Align64(n * sizeof(std::uint16_t));
  l.lock_off = off;
  off += Align64(n);
  l.order_off = off;
  off += Align64(n * sizeof(std::uint32_t));
  l.bytes = off;
  return l;
}

}  // namespace

// One participant's view of a build block: the arrays at this process's
// addresses, and the graph construction itself.
class VamanaBuilder {
 public:
  VamanaBuilder(void* block, const float* external_vectors) {
    h_ = static_cast<VamanaBuildHeader*>(block);
    if (h_->magic != kBuildMagic) throw Error(Error::Kind::Internal, "Vamana build block is not initialised");
    char* b = static_cast<char*>(block);
    vec_ = h_->vec_off ? reinterpret_cast<const float*>(b + h_->vec_off) : external_vectors;
    unit_ = h_->unit_off ? reinterpret_cast<float*>(b + h_->unit_off) : nullptr;
    codes_ = reinterpret_cast<std::uint8_t*>(b + h_->code_off);
    qbase_ = reinterpret_cast<float*>(b + h_->qbase_off);
    qstep_ = reinterpret_cast<float*>(b + h_->qstep_off);
    cnorm_ = reinterpret_cast<float*>(b + h_->cnorm_off);
    adj_ = reinterpret_cast<std::uint32_t*>(b + h_->adj_off);
    degree_ = reinterpret_cast<std::uint32_t*>(b + h_->deg_off);
    settled_ = reinterpret_cast<std::uint16_t*>(b + h_->settled_off);
    locks_ = reinterpret_cast<std::atomic<std::uint8_t>*>(b + h_->lock_off);
    order_ = reinterpret_cast<std::uint32_t*>(b + h_->order_off);
    n_ = h_->n;
    dim_ = h_->dim;
    R_ = h_->R;
    C_ = h_->C;
    cstride_ = CodeStride(dim_);
    metric_ = static_cast<Metric>(h_->metric);
    const simd::Kernels& k = simd::active();
    l2_ = k.l2sq;
    dot_ = k.dot;
    l1_ = k.l1;
    int4_s8_dot_batch_ = k.int4_s8_dot_batch;
    int4_l1_ = k.int4_l1;
    // Folded scores (every metric but L1) read whole 16-byte steps: a
    // padded code always has room, and its padding nibbles are zero, as
    // are their weights.
    wbytes_ = ((dim_ + 1) / 2 + 15) & ~std::size_t(15);
  }

  // Leader, once: the header, the build-space copies and the medoid.
  // Inner product: the graph is built over the unit directions (cosine
  // geometry) and searched with -dot. The MIPS-to-L2 lift was tried and
  // dropped: its extra coordinate sqrt(M^2 - |x|^2) dominates pairwise
  // distances on data with a wide spread of norms, so the robust prune left
  // only a few edges per node and the queries, lifted to (q, 0), sit far
  // off the data's sphere: recall fell far below the other metrics'. The
  // directional graph keeps full degree and the -dot beam walks it to the
  // large-norm, well-aligned rows.
  // The build space is x / |x|^1.5 with L2 rather than the plain
  // direction x / |x|: a large-norm row, the kind inner-product queries
  // want, lands nearer the origin and so near many rows, and gets the
  // in-edges that lead the beam to it; a small-norm row moves out. That
  // raised recall at every L with a lower mean degree. Of the exponents
  // tried from 1.25 to 2, 1.5 recalled best; below 1 (toward the raw
  // vectors) recall fell.
  static void InitBlock(void* block, const BuildLayout& l, std::size_t n, std::size_t dim,
                        const VamanaParams& p) {
    std::memset(block, 0, sizeof(VamanaBuildHeader));
    VamanaBuildHeader* h = new (block) VamanaBuildHeader();
    h->n = static_cast<std::uint32_t>(n);
    h->dim = static_cast<std::uint32_t>(dim);
    h->R = p.R;
    h->C = SlackDegree(p.R);
    h->L = std::max<std::uint32_t>(1, p.L);
    h->metric = static_cast<std::uint32_t>(p.metric);
    h->alpha = std::max(1.0f, p.alpha);
    h->phase = -1;
    h->seed = p.seed;
    h->vec_off = l.vec_off;
    h->unit_off = l.unit_off;
    h->code_off = l.code_off;
    h->qbase_off = l.qbase_off;
    h->qstep_off = l.qstep_off;
    h->cnorm_off = l.cnorm_off;
    h->adj_off = l.adj_off;
    h->deg_off = l.deg_off;
    h->settled_off = l.settled_off;
    h->lock_off = l.lock_off;
    h->order_off = l.order_off;
    h->bytes = l.bytes;
    char* b = static_cast<char*>(block);
    std::memset(b + l.deg_off, 0, n * sizeof(std::uint32_t));
    std::memset(b + l.settled_off, 0, n * sizeof(std::uint16_t));
    for (std::size_t i = 0; i < n; i++) new (b + l.lock_off + i) std::atomic<std::uint8_t>(0);
    h->magic = kBuildMagic;
  }

  void PrepareSpace() {
    if (n_ == 0) return;
    if (unit_) {
      // Inner product: x / |x|^1.5 (see InitBlock). Norms below 1/8 of the
      // median count as 1/8 of it, so a row of tiny norm sits at most
      // sqrt(8) times the typical distance from the origin instead of
      // arbitrarily far out, where reverse edges would all be pruned away
      // and leave it unreachable. A zero vector stays zero.
      std::vector<double> norm(n_);
      for (std::size_t i = 0; i < n_; i++) {
        const float* x = vec_ + i * dim_;
        double nn = 0;
        for (std::size_t j = 0; j < dim_; j++) nn += double(x[j]) * x[j];
        norm[i] = std::sqrt(nn);
      }
      std::vector<double> sorted(norm);
      std::nth_element(sorted.begin(), sorted.begin() + n_ / 2, sorted.end());
      const double floor = sorted[n_ / 2] / 8;
      for (std::size_t i = 0; i < n_; i++) {
        const float* x = vec_ + i * dim_;
        const double r = norm[i];
        // The scale in double: for a norm near the float range (1e25 and
        // up) it is below the smallest float, and in float every such row
        // would collapse onto the origin.
        const double s = r > 0 ? 1.0 / (r * std::sqrt(std::max(r, floor))) : 0.0;
        for (std::size_t j = 0; j < dim_; j++) unit_[i * dim_ + j] = static_cast<float>(x[j] * s);
      }
    }
    EncodeSpace();
    h_->medoid = FindMedoid();
  }

  // Leader, between phases: resets the hand-out and sets the order the
  // insert pass visits the points in (deterministic for the seed).
  //
  // The order is local: points inserted one after another lie close
  // together, so each search finds most of the codes and lists it reads
  // still in cache from the searches before it. Only the pass's
  // first tenth is in random order: while the graph is being laid down, a
  // random sample of the whole set spans it first, so no region is joined
  // to the rest only through the region built before it. The local order
  // is dealt out as kStreams interleaved streams (chunk by chunk, from
  // kStreams far-apart parts of it): one region refined in one burst lost
  // recall, as if its reverse edges crowded each other out.
  // Against a random order, the local one builds markedly faster at the
  // same recall (8 streams recalled as well as random order; the query sets
  // disagree by more than the orders do).
  void BeginPhase(int phase) {
    if (phase < 0 || phase >= kBuildPhases) throw Error(Error::Kind::InvalidArgument, "Vamana build: no such phase");
    h_->phase = phase;
    h_->next.store(0);
    if (phase == 0) {
      std::iota(order_, order_ + n_, 0u);
      h_->order_rng.seed(h_->seed);
      std::shuffle(order_, order_ + n_, h_->order_rng);
      // The rest is put in locality order by the first participant in
      // Work, while the others insert the random prefix: ordered here
      // instead, the PostgreSQL backend sorted alone while the worker
      // waited to start.
      h_->order_taken.store(0);
      h_->ready.store(n_ / 10, std::memory_order_release);
    } else {
      h_->ready.store(n_, std::memory_order_release);
    }
  }

  // Puts order_[prefix, n) in locality order and publishes it (ready = n).
  void FinishOrder() {
    const std::size_t prefix = n_ / 10;
    // Going on with the shuffle's generator, so the order, and the graph,
    // are what ordering in BeginPhase gave.
    LocalityOrder(order_ + prefix, n_ - prefix, h_->order_rng);
    Interleave(order_ + prefix, n_ - prefix);
    h_->ready.store(n_, std::memory_order_release);
  }

  // Any participant: claims chunks of the current phase until none remain.
  void Work(std::uint32_t threads, bool (*progress)(void*, std::size_t, std::size_t), void* ctx) {
    const int phase = h_->phase;
    if (phase < 0 || phase >= kBuildPhases) throw Error(Error::Kind::Internal, "Vamana build: phase not begun");
    if (n_ <= 1) return;
    threads = std::max<std::uint32_t>(1, threads);
    // alpha scales squared distances (L2, IP in its build space, cosine
    // as 1 - dot); L1 is a plain distance, so it gets the square root to
    // prune alike.
    const float alpha = metric_ == Metric::L1 ? std::sqrt(h_->alpha) : h_->alpha;
    // One insert pass at alpha: a first pass at alpha = 1 (list size L/2)
    // in front of it added much build time and moved nothing on the
    // recall/throughput curve.
    const std::size_t chunk = phase == 0 ? kInsertChunk : 256;
    const std::size_t total = std::size_t(kBuildPhases) * n_;
    // The calling thread reports progress; a hook that says stop cancels
    // every participant.
    auto report = [&](std::size_t w, std::size_t d) {
      if (w == 0 && progress && !progress(ctx, std::min(d, total), total)) {
        h_->cancel.store(1);
        throw Error(Error::Kind::Internal, "Vamana build cancelled");
      }
    };
    ParallelFor(threads, threads, 1, [&](std::size_t, std::size_t, std::size_t w) {
      Scratch s;
      if (phase == 0 && h_->ready.load(std::memory_order_acquire) < n_ && !h_->order_taken.exchange(1)) {
        try {
          FinishOrder();
        } catch (...) {
          h_->cancel.store(1);
          throw;
        }
      }
      for (;;) {
        if (h_->cancel.load(std::memory_order_relaxed))
          throw Error(Error::Kind::Internal, "Vamana build cancelled");
        std::size_t b = h_->next.fetch_add(chunk, std::memory_order_relaxed);
        if (b >= n_) return;
        std::size_t e = std::min<std::size_t>(n_, b + chunk);
        // Past the prefix: wait for the order (a fraction of a second, and
        // only when the prefix ran out first).
        while (h_->ready.load(std::memory_order_acquire) < e) {
          if (h_->cancel.load(std::memory_order_relaxed))
            throw Error(Error::Kind::Internal, "Vamana build cancelled");
          report(w, h_->done.load());
          std::this_thread::yield();
        }
        if (phase == 0) {
          for (std::size_t i = b; i < e; i++) Insert(order_[i], alpha, s);
        } else {
          for (std::size_t i = b; i < e; i++) FinalPrune(static_cast<std::uint32_t>(i), alpha, s);
        }
        report(w, h_->done.fetch_add(e - b) + (e - b));
      }
    });
  }

  // Leader, after the last phase: lists packed at stride R into ix.
  void Finish(VamanaIndex* ix) const {
    ix->medoid_ = h_->medoid;
    for (std::size_t i = 0; i < n_; i++) {
      ix->degree_[i] = std::min(degree_[i], R_);
      std::copy_n(adj_ + i * C_, ix->degree_[i], ix->adj_.data() + i * R_);
    }
  }

 private:
  // A search-list entry: its distance and id in one word whose unsigned
  // order is Scored's order (distance, then id), so the list's merge
  // compares and moves one integer and selects without a branch. Bit 31
  // (above every id: n < 2^31) is set once the entry's neighbours are
  // scored; comparisons mask it off.
  using Cand = std::uint64_t;
  static constexpr Cand kExpanded = 0x80000000u;

  // Floats to unsigned words of the same order (-0 taken as +0 first, as
  // the float comparison has them equal).
  static Cand Key(float d, std::uint32_t id) {
    d += 0.0f;
    std::uint32_t u;
    std::memcpy(&u, &d, 4);
    u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
    return (Cand(u) << 32) | id;
  }
  static float KeyDist(Cand k) {
    std::uint32_t u = static_cast<std::uint32_t>(k >> 32);
    u = (u & 0x80000000u) ? (u & 0x7fffffffu) : ~u;
    float d;
    std::memcpy(&d, &u, 4);
    return d;
  }
  static std::uint32_t KeyId(Cand k) { return static_cast<std::uint32_t>(k) & 0x7fffffffu; }

  struct Scratch {
    std::vector<std::uint64_t> visited;  // one bit per node, cleared per search
    // Sorted candidate list: entries at [1, 1 + size); list[0] is 0, below
    // every entry, so the merge needs no bounds test; room past L for an
    // expansion's worth of entries the merge writes and drops.
    std::vector<Cand> list;
    std::size_t size = 0;
    std::vector<Scored> pool;       // expanded nodes + current neighbours
    std::vector<Scored> kept;
    std::vector<Scored> kept_new;   // the kept entries not settled
    std::vector<Scored> mine;
    std::vector<std::uint32_t> nbrs;
    std::vector<float> dist;        // scores of nbrs
    std::vector<Cand> fresh;        // the scores that enter the list, as list entries
    std::vector<Cand> sort_tmp;
    std::vector<float> qw;          // the point times the code scale
    std::vector<std::int8_t> w8;    // qw rounded to int8 (int4_s8_dot_batch's layout)
    std::vector<std::int32_t> idot; // integer dot products of nbrs
    float wscale = 0.0f;            // qw = wscale * w8, to rounding
    float qoff = 0.0f;              // the point . the code base
    float qnorm = 0.0f;             // |the point|^2
  };

  void Lock(std::uint32_t id) {
    for (;;) {
      if (!locks_[id].exchange(1, std::memory_order_acquire)) return;
      while (locks_[id].load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void Unlock(std::uint32_t id) { locks_[id].store(0, std::memory_order_release); }

  const float* V(std::uint32_t id) const { return vec_ + std::size_t(id) * dim_; }

  // Deals ids[0..count) out as kStreams streams, taking kInsertChunk ids
  // at a time from each of kStreams equal parts in turn.
  static void Interleave(std::uint32_t* ids, std::size_t count) {
    constexpr std::size_t kStreams = 8;
    const std::size_t part = (count + kStreams - 1) / kStreams;
    std::vector<std::uint32_t> out;
    out.reserve(count);
    for (std::size_t round = 0; out.size() < count; round++) {
      for (std::size_t k = 0; k < kStreams; k++) {
        const std::size_t end = std::min(count, (k + 1) * part);
        const std::size_t b = k * part + round * kInsertChunk;
        if (b < end) out.insert(out.end(), ids + b, ids + std::min(end, b + kInsertChunk));
      }
    }
    std::copy(out.begin(), out.end(), ids);
  }

  // Reorders ids[0..count) so that nearby points are near each other in
  // the array: a random-projection tree (split each range at the median of
  // the points' projections on the line through two random points of the
  // range, down to ranges of kLeaf), about log2(count / kLeaf) passes of
  // one dot product per point.
  void LocalityOrder(std::uint32_t* ids, std::size_t count, std::mt19937_64& rng) const {
    constexpr std::size_t kLeaf = 128;
    if (count <= kLeaf) return;
    std::vector<float> key(n_), dir(dim_);
    struct Range {
      std::size_t begin, end;
    };
    std::vector<Range> todo{{0, count}};
    while (!todo.empty()) {
      const Range r = todo.back();
      todo.pop_back();
      const std::size_t len = r.end - r.begin;
      if (len <= kLeaf) continue;
      const float* a = P(ids[r.begin + rng() % len]);
      const float* b = P(ids[r.begin + rng() % len]);
      for (std::size_t j = 0; j < dim_; j++) dir[j] = a[j] - b[j];
      for (std::size_t i = r.begin; i < r.end; i++) key[ids[i]] = dot_(P(ids[i]), dir.data(), dim_);
      const std::size_t mid = r.begin + len / 2;
      std::nth_element(ids + r.begin, ids + mid, ids + r.end,
                       [&key](std::uint32_t x, std::uint32_t y) { return key[x] < key[y]; });
      todo.push_back({r.begin, mid});
      todo.push_back({mid, r.end});
    }
  }

  // A point in the build space (IP: x / |x|^1.5; else the stored vector).
  const float* P(std::uint32_t id) const {
    return unit_ ? unit_ + std::size_t(id) * dim_ : V(id);
  }

  // Distance between two stored points in the build space.
  float D(std::uint32_t a, std::uint32_t b) const {
    switch (metric_) {
      case Metric::L2: return l2_(V(a), V(b), dim_);
      case Metric::Cosine: return 1.0f - dot_(V(a), V(b), dim_);
      case Metric::IP:  // L2 in the build space (see InitBlock)
        return l2_(P(a), P(b), dim_);
      case Metric::L1: return l1_(V(a), V(b), dim_);
    }
    return 0;
  }

  // Build-space 4-bit codes (per-dimension min and step over all points,
  // 16 levels). The build's searches score neighbours on these codes: a
  // search is bound by memory latency, not arithmetic (the float vectors'
  // fetches stalled it), and the candidates it expanded are rescored
  // exactly before the prune, so the edges still come from exact
  // distances. Float to 8-bit codes cut the build's time with recall
  // unchanged; 8-bit to 4-bit (one cache line a code instead of two at 100
  // dimensions) cut it again, and search throughput at a given L rose about
  // as much as recall fell, so the recall/throughput curve held.
  // The range per dimension is min to max, cut to the 0.1% to 99.9%
  // quantile range (of up to 64k evenly spaced rows) widened by half its
  // width on each side: one stray row with a huge coordinate would
  // otherwise spread the 16 levels so thin that every other row's code
  // collapses and the searches steer blind. A clamped outlier only gets a
  // rough search score; its edges still come from exact distances. (Cut at
  // the plain quantiles, recall fell; widened, data without such outliers
  // keeps the codes of min to max.)
  void EncodeSpace() {
    const std::size_t stride = std::max<std::size_t>(1, n_ / 65536);
    const std::size_t m = (n_ + stride - 1) / stride;
    const std::size_t cut = m / 1000;
    std::vector<float> col(m);
    std::vector<float> mn(dim_, INFINITY), mx(dim_, -INFINITY);
    for (std::size_t i = 0; i < n_; i++) {
      const float* x = P(static_cast<std::uint32_t>(i));
      for (std::size_t j = 0; j < dim_; j++) {
        mn[j] = std::min(mn[j], x[j]);
        mx[j] = std::max(mx[j], x[j]);
      }
    }
    for (std::size_t j = 0; j < dim_; j++) {
      for (std::size_t i = 0, r = 0; i < n_; i += stride, r++) col[r] = P(static_cast<std::uint32_t>(i))[j];
      std::nth_element(col.begin(), col.begin() + cut, col.end());
      const float ql = col[cut];
      std::nth_element(col.begin(), col.begin() + (m - 1 - cut), col.end());
      const float qh = col[m - 1 - cut];
      const float lo = std::max(mn[j], ql - (qh - ql) / 2), hi = std::min(mx[j], qh + (qh - ql) / 2);
      qbase_[j] = lo;
      qstep_[j] = (hi - lo) / 15.0f;
    }
    for (std::size_t i = 0; i < n_; i++) {
      const float* x = P(static_cast<std::uint32_t>(i));
      std::uint8_t* c = codes_ + i * cstride_;
      std::memset(c, 0, cstride_);
      double nn = 0;
      for (std::size_t j = 0; j < dim_; j++) {
        const float t = qstep_[j] > 0 ? (x[j] - qbase_[j]) / qstep_[j] : 0.0f;
        const unsigned v = static_cast<unsigned>(std::min(15.0f, std::max(0.0f, std::nearbyint(t))));
        c[j >> 1] |= static_cast<std::uint8_t>((j & 1) ? v << 4 : v);  // 2j low, 2j+1 high
        const double d = double(qbase_[j]) + double(qstep_[j]) * v;
        nn += d * d;
      }
      cnorm_[i] = static_cast<float>(nn);
    }
  }

  const std::uint8_t* Code(std::uint32_t id) const { return codes_ + std::size_t(id) * cstride_; }

  // Readies s for DQ from the build-space point q: q folded into the code
  // scale (q . (base + step c) = q . base + (q step) . c), and the weights
  // q step rounded to int8 on one scale, so a score is an integer dot
  // product of nibbles and weights (int4_s8_dot_batch). Cosine is 1 -
  // q . x; L2 (and inner product, L2 in its build space) is |x|^2 + |q|^2
  // - 2 q . x with each code's |x|^2 kept from the encoding. The rounding
  // costs at most half a step in 127 per weight, well under the codes'
  // own half step in 15: int8 weights instead of float ones build faster,
  // with recall and mean degree unchanged.
  void PrepareQuery(const float* q, Scratch& s) const {
    if (metric_ == Metric::L1) return;
    s.qw.resize(dim_);
    s.qoff = static_cast<float>(FoldSq8Query(q, qbase_, qstep_, dim_, s.qw.data()));
    float top = 0.0f;
    for (std::size_t j = 0; j < dim_; j++) top = std::max(top, std::fabs(s.qw[j]));
    s.wscale = top > 0.0f ? top / 127.0f : 1.0f;
    const float inv = 1.0f / s.wscale;
    s.w8.assign(2 * wbytes_, 0);
    for (std::size_t j = 0; j < dim_; j++)
      s.w8[(j & 1) * wbytes_ + j / 2] = static_cast<std::int8_t>(std::lrint(s.qw[j] * inv));
    double qq = 0;
    for (std::size_t j = 0; j < dim_; j++) qq += double(q[j]) * q[j];
    s.qnorm = static_cast<float>(qq);
  }

  // Distances from the build-space point q (float) to the codes of
  // ids[0..count) (s readied by PrepareQuery(q); s.idot holds count).
  // Every metric but L1 takes one kernel call for the lot, which builds
  // faster than a call per id.
  void DQ(const float* q, Scratch& s, const std::uint32_t* ids, std::size_t count, float* out) const {
    if (metric_ == Metric::L1) {
      for (std::size_t k = 0; k < count; k++) out[k] = int4_l1_(Code(ids[k]), q, qbase_, qstep_, dim_);
      return;
    }
    std::int32_t* idot = s.idot.data();
    int4_s8_dot_batch_(codes_, cstride_, ids, count, s.w8.data(), wbytes_, idot);
    for (std::size_t k = 0; k < count; k++) {
      const float qx = s.qoff + s.wscale * static_cast<float>(idot[k]);
      out[k] = metric_ == Metric::Cosine ? 1.0f - qx : std::max(0.0f, cnorm_[ids[k]] + s.qnorm - 2.0f * qx);
    }
  }

  std::uint32_t FindMedoid() const {
    std::vector<double> sum(dim_, 0.0);
    for (std::size_t i = 0; i < n_; i++) {
      const float* x = P(static_cast<std::uint32_t>(i));
      for (std::size_t j = 0; j < dim_; j++) sum[j] += x[j];
    }
    std::vector<float> c(dim_);
    for (std::size_t j = 0; j < dim_; j++) c[j] = static_cast<float>(sum[j] / std::max<std::size_t>(1, n_));
    std::uint32_t best = 0;
    float bd = INFINITY;
    for (std::size_t i = 0; i < n_; i++) {
      float d = l2_(c.data(), P(static_cast<std::uint32_t>(i)), dim_);
      if (d < bd) {
        bd = d;
        best = static_cast<std::uint32_t>(i);
      }
    }
    return best;
  }

  void CopyNeighbors(std::uint32_t id, std::vector<std::uint32_t>* out) {
    Lock(id);
    const std::uint32_t* lst = adj_ + std::size_t(id) * C_;
    out->assign(lst, lst + degree_[id]);
    Unlock(id);
  }

  // Sorts a handful of distinct keys by rank (each key's place is the
  // count of keys below it): k^2 comparisons without a branch, where an
  // insertion sort mispredicted about once a key.
  static void SortKeys(Cand* in, std::size_t k, std::vector<Cand>* tmp) {
    if (k > 24) {
      std::sort(in, in + k);
      return;
    }
    tmp->assign(in, in + k);
    const Cand* t = tmp->data();
    for (std::size_t a = 0; a < k; a++) {
      std::size_t r = 0;
      for (std::size_t b = 0; b < k; b++) r += t[b] < t[a];
      in[r] = t[a];
    }
  }

  // Merges one expansion's k fresh scores (s.fresh[0..k), each beating
  // the list's last entry) into the sorted list, capped at L: they are
  // sorted among themselves and merged in from the back in one pass that
  // selects each place's entry without a branch (the comparisons are coin
  // flips). The same list as inserting them one by one.
  // *cursor drops to the first new entry's place if that is earlier.
  static void MergeScores(Scratch& s, std::size_t L, std::size_t k, std::size_t* cursor) {
    if (k == 0) return;
    Cand* l = s.list.data() + 1;  // l[-1] == 0
    const std::size_t sz = s.size;
    Cand* in = s.fresh.data();
    SortKeys(in, k, &s.sort_tmp);
    // From the back: out walks the merged sequence's places; those at L
    // and beyond are written into the list's spare room and dropped.
    std::ptrdiff_t i = std::ptrdiff_t(sz) - 1, j = std::ptrdiff_t(k) - 1;
    std::size_t out = sz + k, first = out;
    while (j >= 0) {
      out--;
      const Cand a = l[i], b = in[j];
      const bool old = b < (a & ~kExpanded);
      l[out] = old ? a : b;
      first = old ? first : out;
      i -= old;
      j -= !old;
    }
    s.size = std::min(sz + k, L);
    if (first < *cursor) *cursor = first;
  }

  // Locality 3 brings the code into L1; 2 (prefetcht1) into L2 only, for
  // codes the next expansion will score, asked for while this one's are
  // still arriving into L1.
  template <int Locality = 3>
  void PrefetchCode(std::uint32_t id) const {
    const char* v = reinterpret_cast<const char*>(Code(id));
    for (std::size_t o = 0; o < cstride_; o += 64) __builtin_prefetch(v + o, 0, Locality);
  }

  // Every line of a point's build-space vector.
  void PrefetchPoint(std::uint32_t id) const {
    const char* v = reinterpret_cast<const char*>(P(id));
    for (std::size_t o = 0; o < dim_ * 4; o += 64) __builtin_prefetch(v + o);
  }

  // A node's list and degree; with `lock`, its lock too, for writing. A
  // lock's line holds 64 nodes' locks, so asking for one the search may
  // not take soon would only pull the line away from another participant.
  void PrefetchList(std::uint32_t id, bool lock = true) const {
    const char* a = reinterpret_cast<const char*>(adj_ + std::size_t(id) * C_);
    for (std::size_t o = 0; o < C_ * 4; o += 64) __builtin_prefetch(a + o);
    __builtin_prefetch(a + C_ * 4 - 1);
    __builtin_prefetch(degree_ + id);
    if (lock) __builtin_prefetch(&locks_[id], 1);
  }

  // Greedy search for point p; leaves the expanded nodes in s.pool.
  void GreedySearch(std::uint32_t p, Scratch& s) {
    // A bitmap, not epoch tags: n/8 bytes stay in L2 where 2n bytes of
    // tags did not, and clearing it costs less than one expansion.
    s.visited.assign((n_ + 63) / 64, 0);
    std::uint64_t* vis = s.visited.data();
    auto seen = [vis](std::uint32_t x) {
      const std::uint64_t bit = std::uint64_t(1) << (x & 63);
      const bool was = vis[x >> 6] & bit;
      vis[x >> 6] |= bit;
      return was;
    };
    const std::size_t L = std::max<std::uint32_t>(h_->L, 1);
    if (s.list.size() < 1 + L + C_) s.list.assign(1 + L + C_, 0);
    Cand* list = s.list.data() + 1;
    // Room for one list's worth of neighbours (Insert and AddReverse reuse
    // nbrs at other sizes).
    if (s.nbrs.size() < C_) s.nbrs.resize(C_);
    if (s.dist.size() < C_) {
      s.dist.resize(C_);
      s.idot.resize(C_);
      s.fresh.resize(C_);
    }
    s.pool.clear();
    std::uint32_t m = h_->medoid;
    seen(m);
    seen(p);
    const float* q = P(p);
    PrepareQuery(q, s);
    float dm;
    DQ(q, s, &m, 1, &dm);
    list[0] = Key(dm, m);
    s.size = 1;
    std::size_t cursor = 0;
    while (cursor < s.size) {
      const Cand c = list[cursor];
      list[cursor] = c | kExpanded;
      const std::uint32_t cid = KeyId(c);
      if (cid != p) s.pool.push_back({KeyDist(c), cid});
      // The next unexpanded entry is usually the next one expanded, and
      // the ones after it mostly are soon after (a search expands about L
      // entries of its list): start fetching the lists and degrees of the
      // next kListsAhead (and the next one's lock) now so the misses
      // overlap this expansion's work; the list read was the search's
      // largest stall. Fetching more than one list ahead builds the same
      // graph faster.
      Cand next = ~Cand(0);
      for (std::size_t t = cursor + 1, found = 0; t < s.size && found < kListsAhead; t++) {
        if (list[t] & kExpanded) continue;
        if (found++ == 0) next = list[t];
        PrefetchList(KeyId(list[t]), found == 1);
      }
      const std::uint32_t next_id = KeyId(next);
      // The unvisited neighbours, read from the list under its lock
      // (rather than copied out first) and dropped without a branch:
      // whether a neighbour was seen is a coin flip the predictor cannot
      // learn.
      std::size_t cnt = 0;
      std::uint32_t* nv = s.nbrs.data();
      {
        Lock(cid);
        const std::uint32_t* lst = adj_ + std::size_t(cid) * C_;
        for (std::size_t t = 0, e = degree_[cid]; t < e; t++) {
          const std::uint32_t nb = lst[t];
          const std::uint64_t bit = std::uint64_t(1) << (nb & 63), w = vis[nb >> 6];
          vis[nb >> 6] = w | bit;
          nv[cnt] = nb;
          cnt += (w & bit) == 0;
        }
        Unlock(cid);
      }
      // Issue every code fetch first: the loads overlap instead of missing
      // the cache one after another.
      for (std::size_t j = 0; j < cnt; j++) PrefetchCode(nv[j]);
      // All the scores first, then the merge: the distance computations
      // are independent of each other and overlap, where interleaving them
      // with the list's data-dependent branches serialised them.
      Cand best = ~Cand(0);
      float* dist = s.dist.data();
      DQ(q, s, nv, cnt, dist);
      // In one pass: the best new score, and the scores that beat the
      // list's last entry, which MergeScores takes (branchless: the tests
      // are coin flips).
      std::size_t fresh = 0;
      {
        const Cand worst = s.size >= L ? list[s.size - 1] & ~kExpanded : ~Cand(0);
        Cand* in = s.fresh.data();
        for (std::size_t j = 0; j < cnt; j++) {
          const Cand key = Key(dist[j], nv[j]);
          best = std::min(best, key);
          in[fresh] = key;
          fresh += key < worst;
        }
      }
      // Look ahead one expansion. When no new score beats the next
      // unexpanded entry, that entry is expanded next and its list, asked
      // for above, has arrived: start fetching the codes of its unvisited
      // neighbours (read without the lock: a torn list only misdirects a
      // prefetch). Otherwise the best new neighbour is next: fetch its
      // list. The graph is identical, the build faster. Every neighbour's
      // code is asked for, visited or not: a visited one's is mostly still
      // in cache, and testing the bitmap first cost more than the fetch it
      // saved. They go into L2 only: brought into L1 they crowded this
      // expansion's own fetches (same graph either way; sending the
      // look-ahead lists to L2 as well changed nothing on its own).
      if (next != ~Cand(0) && (next >> 32) <= (best >> 32)) {
        const std::uint32_t* lst = adj_ + std::size_t(next_id) * C_;
        const std::uint32_t deg = std::min(__atomic_load_n(&degree_[next_id], __ATOMIC_RELAXED), C_);
        for (std::uint32_t t = 0; t < deg; t++) {
          const std::uint32_t nb = __atomic_load_n(&lst[t], __ATOMIC_RELAXED);
          PrefetchCode<2>(nb < n_ ? nb : 0);
        }
      } else if (cnt > 0) {
        PrefetchList(KeyId(best));
      }
      MergeScores(s, L, fresh, &cursor);
      while (cursor < s.size && (list[cursor] & kExpanded)) cursor++;
    }
  }

  // Robust prune of a sorted, duplicate-free candidate pool into s.kept.
  // Entries marked settled are what an earlier prune of the same node left
  // (the first settled_[p] entries of its list): none of them occludes a
  // farther one, since their distances and alpha are what they were. So a
  // settled candidate is tested against the kept that are not settled
  // only; the result is the same as testing every pair. A reverse edge's
  // overflow prune (the old list plus the edges appended since) then tests
  // a fraction of the pairs it did: fewer distance computations, the same
  // graph. Holds while alpha never drops between prunes; the build uses one
  // alpha throughout.
  void Prune(std::uint32_t p, const std::vector<Scored>& pool, float alpha, Scratch& s) {
    s.kept.clear();
    s.kept_new.clear();
    for (const Scored& c : pool) {
      if (c.id == p) continue;
      bool occluded = false;
      for (const Scored& k : c.settled ? s.kept_new : s.kept) {
        if (alpha * D(k.id, c.id) <= c.dist) {
          occluded = true;
          break;
        }
      }
      if (!occluded) {
        s.kept.push_back(c);
        if (!c.settled) s.kept_new.push_back(c);
        if (s.kept.size() >= R_) break;
      }
    }
  }

  static void SortUnique(std::vector<Scored>* v) {
    std::sort(v->begin(), v->end(), [](const Scored& a, const Scored& b) {
      return a.id < b.id || (a.id == b.id && DistanceLess(a.dist, b.dist));
    });
    v->erase(std::unique(v->begin(), v->end(),
                         [](const Scored& a, const Scored& b) { return a.id == b.id; }),
             v->end());
    std::sort(v->begin(), v->end());
  }

  // Lists and degrees are written under the node's lock but read without
  // it by the search's look-ahead (a prefetch hint only), so the writes are
  // relaxed atomic stores: plain moves, and no data race.
  static void Publish(std::uint32_t* at, std::uint32_t v) { __atomic_store_n(at, v, __ATOMIC_RELAXED); }

  void SetNeighbors(std::uint32_t id, const std::vector<Scored>& kept) {
    std::uint32_t* dst = adj_ + std::size_t(id) * C_;
    for (std::size_t j = 0; j < kept.size(); j++) Publish(&dst[j], kept[j].id);
    Publish(&degree_[id], static_cast<std::uint32_t>(kept.size()));
    settled_[id] = static_cast<std::uint16_t>(kept.size());
  }

  void Insert(std::uint32_t p, float alpha, Scratch& s) {
    GreedySearch(p, s);
    // Candidates: what the search expanded plus p's current neighbours,
    // with exact distances.
    CopyNeighbors(p, &s.nbrs);
    for (std::uint32_t nb : s.nbrs) s.pool.push_back({0.0f, nb});
    for (const Scored& c : s.pool) PrefetchPoint(c.id);
    for (Scored& c : s.pool) c.dist = D(p, c.id);
    SortUnique(&s.pool);
    Prune(p, s.pool, alpha, s);
    Lock(p);
    SetNeighbors(p, s.kept);
    Unlock(p);
    // Reverse edges. Copy of p's new list, since s.kept is reused below.
    s.mine.assign(s.kept.begin(), s.kept.end());
    for (const Scored& e : s.mine) AddReverse(e.id, p, alpha, s);
  }

  // Lists may grow to C = 1.3 R between prunes (a reverse edge into a full
  // list then costs a prune only every ~R/3 insertions, not every time);
  // the last phase prunes every list still above R back to R.
  void FinalPrune(std::uint32_t id, float alpha, Scratch& s) {
    if (degree_[id] <= R_) return;
    s.pool.clear();
    const std::uint32_t* lst = adj_ + std::size_t(id) * C_;
    // The neighbours' vectors are cold here (nodes come in id order): ask
    // for them all first so the misses overlap.
    for (std::uint32_t t = 0; t < degree_[id]; t++) PrefetchPoint(lst[t]);
    for (std::uint32_t t = 0; t < degree_[id]; t++) s.pool.push_back({D(id, lst[t]), lst[t], t < settled_[id]});
    std::sort(s.pool.begin(), s.pool.end());
    Prune(id, s.pool, alpha, s);
    SetNeighbors(id, s.kept);
  }

  void AddReverse(std::uint32_t j, std::uint32_t p, float alpha, Scratch& s) {
    Lock(j);
    std::uint32_t* lst = adj_ + std::size_t(j) * C_;
    std::uint32_t deg = degree_[j];
    for (std::uint32_t t = 0; t < deg; t++) {
      if (lst[t] == p) {
        Unlock(j);
        return;
      }
    }
    if (deg < C_) {
      Publish(&lst[deg], p);
      Publish(&degree_[j], deg + 1);
      Unlock(j);
      return;
    }
    s.nbrs.assign(lst, lst + deg);
    const std::uint32_t settled = settled_[j];
    Unlock(j);
    // Overflow: prune j's list plus p outside the lock, then write back.
    s.pool.clear();
    for (std::uint32_t t = 0; t < deg; t++) s.pool.push_back({D(j, s.nbrs[t]), s.nbrs[t], t < settled});
    s.pool.push_back({D(j, p), p, 0});
    std::sort(s.pool.begin(), s.pool.end());
    Prune(j, s.pool, alpha, s);
    Lock(j);
    SetNeighbors(j, s.kept);
    Unlock(j);
  }

  VamanaBuildHeader* h_;
  const float* vec_;
  float* unit_;
  std::uint32_t* adj_;
  std::uint32_t* degree_;
  std::uint16_t* settled_;  // per node: how many of its list's first entries a prune left
  std::atomic<std::uint8_t>* locks_;
  std::uint32_t* order_;
  std::size_t n_ = 0, dim_ = 0;
  std::uint32_t R_ = 0, C_ = 0;
  std::size_t cstride_ = 0;  // bytes between build-space codes
  Metric metric_ = Metric::L2;
  float (*l2_)(const float*, const float*, std::size_t) = nullptr;
  float (*dot_)(const float*, const float*, std::size_t) = nullptr;
  float (*l1_)(const float*, const float*, std::size_t) = nullptr;
  float (*int4_l1_)(const std::uint8_t*, const float*, const float*, const float*, std::size_t) = nullptr;
  void (*int4_s8_dot_batch_)(const std::uint8_t*, std::size_t, const std::uint32_t*, std::size_t,
                             const std::int8_t*, std::size_t, std::int32_t*) = nullptr;
  std::size_t wbytes_ = 0;  // the code bytes a folded score reads (whole 16-byte steps)
  std::uint8_t* codes_ = nullptr;
  float* qbase_ = nullptr;
  float* qstep_ = nullptr;
  float* cnorm_ = nullptr;  // per node: |its decoded build-space code|^2
};

// ---------------------------------------------------------------- shared builds

std::size_t VamanaSharedBuild::Bytes(std::size_t n, std::size_t dim, const VamanaParams& p) {
  return Layout(n, dim, p.R, p.metric, true).bytes;
}

int VamanaSharedBuild::Phases() { return kBuildPhases; }

void VamanaSharedBuild::Init(void* block, std::size_t bytes, const float* data, std::size_t n,
                             std::size_t dim, const VamanaParams& p) {
  CheckBuildArgs(data, n, dim, p, true);
  BuildLayout l = Layout(n, dim, p.R, p.metric, true);
  if (bytes < l.bytes) throw Error(Error::Kind::InvalidArgument, "Vamana build block is too small");
  VamanaBuilder::InitBlock(block, l, n, dim, p);
  float* vec = reinterpret_cast<float*>(static_cast<char*>(block) + l.vec_off);
  for (std::size_t i = 0; i < n; i++) detail::PrepareVamanaQuery(p.metric, data + i * dim, dim, vec + i * dim);
  VamanaBuilder(block, nullptr).PrepareSpace();
}

void VamanaSharedBuild::BeginPhase(void* block, int phase) { VamanaBuilder(block, nullptr).BeginPhase(phase); }

void VamanaSharedBuild::Work(void* block, std::uint32_t threads,
                             bool (*progress)(void*, std::size_t, std::size_t), void* ctx) {
  VamanaBuilder(block, nullptr).Work(threads, progress, ctx);
}

void VamanaSharedBuild::Cancel(void* block) {
  static_cast<VamanaBuildHeader*>(block)->cancel.store(1);
}

bool VamanaSharedBuild::Cancelled(const void* block) {
  return static_cast<const VamanaBuildHeader*>(block)->cancel.load() != 0;
}

VamanaIndex VamanaSharedBuild::Finish(const void* block, const std::uint64_t* labels,
                                      const VamanaParams& p) {
  void* b = const_cast<void*>(block);
  const VamanaBuildHeader* h = static_cast<const VamanaBuildHeader*>(block);
  VamanaIndex ix = VamanaIndex::Allocate(h->n, h->dim, p, labels);
  std::memcpy(ix.vectors_.data(), static_cast<const char*>(block) + h->vec_off,
              std::size_t(h->n) * h->dim * sizeof(float));
  if (h->n > 0) VamanaBuilder(b, nullptr).Finish(&ix);
  ix.SetQuantization(p.quantization, p.pq_m, p.threads, p.seed);
  return ix;
}

std::size_t EstimateVamanaBuildBytes(std::size_t n, std::size_t dim, const VamanaParams& p) {
  std::size_t R = p.R, L = std::max<std::uint32_t>(p.L, 1);
  std::size_t threads = std::max<std::uint32_t>(1, p.threads);
  std::size_t code = 0;
  switch (p.quantization) {
    case QuantKind::None: code = 0; break;
    case QuantKind::SQ8: code = dim; break;
    case QuantKind::INT4: code = (dim + 1) / 2; break;
    case QuantKind::PQ: code = p.pq_m ? p.pq_m : (dim + 3) / 4; break;
    case QuantKind::Binary: code = 8 * ((dim + 63) / 64); break;
  }
  // Adjacency: the segment's n x R plus the build's n x 1.3R working copy.
  std::size_t per_node = dim * 4 + (R + R + R * 3 / 10 + 1) * 4 + 4 /*degree*/ + 2 /*settled*/ + code + 8 /*label*/ + 1 /*lock*/ + 1 /*bitmap*/ +
                         CodeStride(dim) + 4 /*build-space 4-bit code and its norm*/ +
                         8 /*the visiting order's scratch*/ +
                         (p.metric == Metric::IP ? dim * 4 : 0);
  std::size_t per_thread = n / 8 /*visited*/ + (L + 2 * R) * 16 + 4096;
  // Quantizer training: PQ copies its sample (<= 16k rows) and centroids.
  std::size_t train = 0;
  if (p.quantization == QuantKind::PQ) train = std::min<std::size_t>(n, 16384) * dim * 4 * 2 + 256 * dim * 4 * 2;
  else if (p.quantization != QuantKind::None) train = dim * 16;
  return n * per_node + threads * per_thread + train + (1u << 20) /*fixed overhead*/;
}

// Shape checks always; the values (NaN, infinity) when `values`.
void CheckBuildArgs(const float* data, std::size_t n, std::size_t dim, const VamanaParams& params,
                    bool values) {
  if (dim == 0 || dim > kMaxDim)
    throw Error(Error::Kind::InvalidArgument, "Vamana: dimension " + std::to_string(dim) +
                                                  " out of range (1.." + std::to_string(kMaxDim) + ")");
  if (n >= 0x7fffffffu)
    throw Error(Error::Kind::InvalidArgument, "Vamana: too many vectors in one segment");
  if (params.R == 0 || params.R > 4096)
    throw Error(Error::Kind::InvalidArgument, "Vamana: graph_degree must be between 1 and 4096");
  if (!(params.alpha >= 1.0f) || params.alpha > 10.0f)
    throw Error(Error::Kind::InvalidArgument, "Vamana: alpha must be between 1.0 and 10.0");
  for (std::size_t i = 0; values && i < n * dim; i++) {
    if (!std::isfinite(data[i]))
      throw Error(Error::Kind::InvalidArgument,
                  "Vamana: vector " + std::to_string(i / dim) + " contains NaN or infinity");
  }
}

VamanaIndex VamanaIndex::Allocate(std::size_t n, std::size_t dim, const VamanaParams& params,
                                  const std::uint64_t* labels) {
  VamanaIndex ix;
  ix.n_ = static_cast<std::uint32_t>(n);
  ix.dim_ = static_cast<std::uint32_t>(dim);
  ix.R_ = params.R;
  ix.metric_ = params.metric;
  ix.half_vectors_ = params.half_vectors;
  ix.vectors_.resize(n * dim);
  ix.adj_.assign(n * params.R, 0);
  ix.degree_.assign(n, 0);
  ix.labels_.resize(n);
  for (std::size_t i = 0; i < n; i++) ix.labels_[i] = labels ? labels[i] : i;
  ix.deleted_.assign((n + 63) / 64, 0);
  return ix;
}

VamanaIndex VamanaIndex::Build(const float* data, std::size_t n, std::size_t dim,
                               const std::uint64_t* labels, const VamanaParams& params) {
  CheckBuildArgs(data, n, dim, params, false);
  if (params.memory_budget) {
    std::size_t need = EstimateVamanaBuildBytes(n, dim, params);
    if (need > params.memory_budget) {
      throw Error(Error::Kind::OutOfMemory,
                  "Vamana build of " + std::to_string(n) + " vectors of " + std::to_string(dim) +
                      " dimensions needs about " + std::to_string((need + (1 << 20) - 1) >> 20) +
                      " MB, over the memory budget of " +
                      std::to_string(params.memory_budget >> 20) +
                      " MB; build fewer rows per segment or raise the budget");
    }
  }
  CheckBuildArgs(data, n, dim, params, true);
  VamanaIndex ix = Allocate(n, dim, params, labels);
  for (std::size_t i = 0; i < n; i++)
    detail::PrepareVamanaQuery(params.metric, data + i * dim, dim, ix.vectors_.data() + i * dim);
  if (n == 0) return ix;
  // One process: the block holds everything but the vectors, which stay in
  // the index being built.
  BuildLayout l = Layout(n, dim, params.R, params.metric, false);
  // Cache-line aligned, so that the padded codes start on a line.
  std::unique_ptr<void, void (*)(void*)> mem(std::aligned_alloc(64, Align64(l.bytes)), std::free);
  if (!mem) throw std::bad_alloc();
  void* block = mem.get();
  VamanaBuilder::InitBlock(block, l, n, dim, params);
  VamanaBuilder b(block, ix.vectors_.data());
  b.PrepareSpace();
  for (int phase = 0; phase < kBuildPhases; phase++) {
    b.BeginPhase(phase);
    b.Work(params.threads, params.progress, params.progress_ctx);
  }
  b.Finish(&ix);
  mem.reset();
  ix.SetQuantization(params.quantization, params.pq_m, params.threads, params.seed);
  return ix;
}

void VamanaIndex::SetQuantization(QuantKind kind, std::size_t pq_m, std::uint32_t threads,
                                  std::uint64_t seed) {
  codes_.clear();
  codes_.shrink_to_fit();
  code_size_ = 0;
  quantizer_ = Quantizer();
  if (kind == QuantKind::None || n_ == 0) return;
  QuantizerOptions qo;
  qo.kind = kind;
  qo.pq_m = pq_m;
  Quantizer qz(qo);
  qz.Train(vectors_.data(), n_, dim_, metric_, seed);
  std::size_t cs = qz.code_size();
  codes_.resize(std::size_t(n_) * cs);
  ParallelFor(n_, std::max<std::uint32_t>(1, threads), 1024,
              [&](std::size_t b, std::size_t e, std::size_t) {
                qz.EncodeBatch(vectors_.data() + b * dim_, e - b, codes_.data() + b * cs);
              });
  quantizer_ = std::move(qz);
  code_size_ = cs;
}

void VamanaIndex::MarkDeleted(std::uint32_t id) {
  if (id >= n_) throw Error(Error::Kind::InvalidArgument, "Vamana: node id out of range");
  deleted_[id >> 6] |= std::uint64_t(1) << (id & 63);
}

std::size_t VamanaIndex::DeletedCount() const {
  std::size_t c = 0;
  for (std::uint64_t w : deleted_) c += __builtin_popcountll(w);
  return c;
}

std::size_t VamanaIndex::MemoryBytes() const {
  return vectors_.size() * 4 + adj_.size() * 4 + degree_.size() * 4 + labels_.size() * 8 +
         deleted_.size() * 8 + codes_.size() +
         (quantizer_.trained() ? quantizer_.ToBytes().size() : 0);
}

double VamanaIndex::MeanDegree() const {
  if (!n_) return 0;
  double s = 0;
  for (std::uint32_t d : degree_) s += d;
  return s / n_;
}

namespace detail {

void PrepareVamanaQuery(Metric m, const float* in, std::size_t dim, float* out) {
  if (m != Metric::Cosine) {
    std::memcpy(out, in, dim * sizeof(float));
    return;
  }
  double s = 0;
  for (std::size_t j = 0; j < dim; j++) s += double(in[j]) * in[j];
  // A zero vector stays zero: its cosine distance to everything is then 1,
  // matching Distance()'s convention.
  float inv = s > 0 ? static_cast<float>(1.0 / std::sqrt(s)) : 0.0f;
  for (std::size_t j = 0; j < dim; j++) out[j] = in[j] * inv;
}

void VamanaCorrupt(const char* what) {
  throw Error(Error::Kind::DataCorrupted, std::string("Vamana segment is corrupted: ") + what);
}

}  // namespace detail

}  // namespace vecgo
