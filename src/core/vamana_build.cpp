// Vamana graph construction.
//
// Two passes over the points in random order (alpha = 1 then alpha), each
// inserting a point by a greedy search from the medoid (list size L/2 in the
// first pass, L in the second), a
// robust prune of everything the search expanded down to R neighbours, and
// reverse edges (pruned again when a neighbour's list overflows). Passes run
// on the caller's threads with per-node spin locks around adjacency lists;
// searches copy a list under its lock and work on the copy.
#include "vecgo/vamana.h"

#include <atomic>
#include <cstdio>
#include <numeric>
#include <random>
#include <thread>

#include "vecgo/thread_pool.h"

namespace vecgo {

namespace {

struct Scored {
  float dist;
  std::uint32_t id;
  bool operator<(const Scored& o) const { return dist < o.dist || (dist == o.dist && id < o.id); }
};

class SpinLock {
 public:
  void lock() {
    for (;;) {
      if (!f_.exchange(1, std::memory_order_acquire)) return;
      while (f_.load(std::memory_order_relaxed)) std::this_thread::yield();
    }
  }
  void unlock() { f_.store(0, std::memory_order_release); }

 private:
  std::atomic<std::uint8_t> f_{0};
};

}  // namespace

// Builds the adjacency of a VamanaIndex whose vectors are already in place.
class VamanaBuilder {
 public:
  VamanaBuilder(VamanaIndex* ix, const VamanaParams& p) : ix_(*ix), p_(p) {}

  void Run() {
    const std::size_t n = ix_.n_;
    dim_ = ix_.dim_;
    R_ = ix_.R_;
    const simd::Kernels& k = simd::active();
    l2_ = k.l2sq;
    dot_ = k.dot;
    l1_ = k.l1;
    // Inner product: the graph is built over the unit directions (cosine
    // geometry) and searched with -dot. The MIPS-to-L2 lift was tried and
    // dropped: its extra coordinate sqrt(M^2 - |x|^2) dominates pairwise
    // distances on data with a wide spread of norms (GloVe), so the robust
    // prune left ~13 edges per node out of 64 and the queries, lifted to
    // (q, 0), sit far off the data's sphere; recall@10 at L=100 on 20k
    // GloVe rows was 0.68. The directional graph keeps full degree and the
    // -dot beam walks it to the large-norm, well-aligned rows (0.97).
    if (ix_.metric_ == Metric::IP) {
      unit_.resize(n * dim_);
      for (std::size_t i = 0; i < n; i++)
        detail::PrepareVamanaQuery(Metric::Cosine, ix_.Vector(static_cast<std::uint32_t>(i)), dim_,
                                   unit_.data() + i * dim_);
    }
    // Lists may grow to C = 1.3 R between prunes (a reverse edge into a full
    // list then costs a prune only every ~R/3 insertions, not every time);
    // a final pass prunes every list back to R.
    C_ = R_ + std::max<std::uint32_t>(1, R_ * 3 / 10);
    adj_.assign(n * C_, 0);
    locks_.reset(new SpinLock[n]);
    ix_.medoid_ = FindMedoid();
    if (n == 1) return;
    std::size_t threads = std::max<std::uint32_t>(1, p_.threads);
    scratch_.resize(threads);
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::mt19937_64 rng(p_.seed);
    const float alphas[2] = {1.0f, std::max(1.0f, p_.alpha)};
    std::atomic<std::size_t> done{0};
    for (int pass = 0; pass < 2; pass++) {
      std::shuffle(order.begin(), order.end(), rng);
      // alpha scales squared distances (L2, cosine and IP as 1 - dot);
      // L1 is a plain distance, so it gets the square root to prune alike.
      float alpha = ix_.metric_ == Metric::L1 ? std::sqrt(alphas[pass]) : alphas[pass];
      // The first pass only has to lay down a navigable scaffold for the
      // second: half the list size there costs little recall and most of
      // the search work it would otherwise do (GloVe 100k, 2 threads: build
      // CPU ~40 s -> ~25 s, recall@10 at L=60 0.968 -> 0.964).
      cur_L_ = pass == 0 ? std::max<std::uint32_t>(1, p_.L / 2) : p_.L;
      std::atomic<bool> cancel{false};
      ParallelFor(n, threads, 64, [&](std::size_t b, std::size_t e, std::size_t w) {
        if (cancel.load(std::memory_order_relaxed)) return;
        Scratch& s = scratch_[w];
        for (std::size_t i = b; i < e; i++) Insert(order[i], alpha, s);
        std::size_t d = done.fetch_add(e - b) + (e - b);
        if (w == 0 && p_.progress && !p_.progress(p_.progress_ctx, d, 2 * n)) {
          cancel.store(true);
          throw Error(Error::Kind::Internal, "Vamana build cancelled");
        }
      });
      if (cancel.load()) throw Error(Error::Kind::Internal, "Vamana build cancelled");
    }
    // Final cleanup: lists above R are pruned, then packed at stride R.
    const float last = ix_.metric_ == Metric::L1 ? std::sqrt(alphas[1]) : alphas[1];
    ParallelFor(n, threads, 256, [&](std::size_t b, std::size_t e, std::size_t w) {
      Scratch& s = scratch_[w];
      for (std::size_t i = b; i < e; i++) {
        std::uint32_t id = static_cast<std::uint32_t>(i);
        if (ix_.degree_[id] <= R_) continue;
        s.pool.clear();
        const std::uint32_t* lst = adj_.data() + std::size_t(id) * C_;
        for (std::uint32_t t = 0; t < ix_.degree_[id]; t++) s.pool.push_back({D(id, lst[t]), lst[t]});
        std::sort(s.pool.begin(), s.pool.end());
        Prune(id, s.pool, last, s);
        SetNeighbors(id, s.kept);
      }
    });
    for (std::size_t i = 0; i < n; i++)
      std::copy_n(adj_.data() + i * C_, ix_.degree_[i], ix_.adj_.data() + i * R_);
  }

 private:
  struct Scratch {
    std::vector<std::uint32_t> visited;
    std::uint32_t epoch = 0;
    std::vector<Scored> list;       // bounded sorted candidate list
    std::vector<std::uint8_t> done; // expanded flags parallel to list
    std::vector<Scored> pool;       // expanded nodes + current neighbours
    std::vector<Scored> kept;
    std::vector<std::uint32_t> nbrs;
  };

  // A point in the build space (IP: its direction; else the stored vector).
  const float* P(std::uint32_t id) const {
    return unit_.empty() ? ix_.Vector(id) : unit_.data() + std::size_t(id) * dim_;
  }

  // Distance between two stored points in the build space.
  float D(std::uint32_t a, std::uint32_t b) const {
    const float* x = ix_.Vector(a);
    const float* y = ix_.Vector(b);
    switch (ix_.metric_) {
      case Metric::L2: return l2_(x, y, dim_);
      case Metric::Cosine: return 1.0f - dot_(x, y, dim_);
      case Metric::IP:  // the graph of the directions (see Run)
        return 1.0f - dot_(P(a), P(b), dim_);
      case Metric::L1: return l1_(x, y, dim_);
    }
    return 0;
  }

  std::uint32_t FindMedoid() const {
    const std::size_t n = ix_.n_;
    std::vector<double> sum(dim_, 0.0);
    for (std::size_t i = 0; i < n; i++) {
      const float* x = P(static_cast<std::uint32_t>(i));
      for (std::size_t j = 0; j < dim_; j++) sum[j] += x[j];
    }
    std::vector<float> c(dim_);
    for (std::size_t j = 0; j < dim_; j++) c[j] = static_cast<float>(sum[j] / n);
    std::uint32_t best = 0;
    float bd = INFINITY;
    for (std::size_t i = 0; i < n; i++) {
      float d = l2_(c.data(), P(static_cast<std::uint32_t>(i)), dim_);
      if (d < bd) {
        bd = d;
        best = static_cast<std::uint32_t>(i);
      }
    }
    return best;
  }

  void CopyNeighbors(std::uint32_t id, std::vector<std::uint32_t>* out) {
    locks_[id].lock();
    const std::uint32_t* lst = adj_.data() + std::size_t(id) * C_;
    out->assign(lst, lst + ix_.degree_[id]);
    locks_[id].unlock();
  }

  void ListInsert(Scratch& s, std::size_t cap, Scored c, std::size_t* cursor) {
    if (s.list.size() >= cap) {
      if (!(c < s.list.back())) return;
      s.list.pop_back();
      s.done.pop_back();
    }
    std::size_t pos = std::upper_bound(s.list.begin(), s.list.end(), c) - s.list.begin();
    s.list.insert(s.list.begin() + pos, c);
    s.done.insert(s.done.begin() + pos, 0);
    if (pos < *cursor) *cursor = pos;
  }

  // Greedy search for point p; leaves the expanded nodes in s.pool.
  void GreedySearch(std::uint32_t p, Scratch& s) {
    const std::size_t n = ix_.n_;
    if (s.visited.size() < n) s.visited.assign(n, 0);
    if (++s.epoch == 0) {
      std::fill(s.visited.begin(), s.visited.end(), 0);
      s.epoch = 1;
    }
    const std::size_t L = std::max<std::uint32_t>(cur_L_, 1);
    s.list.clear();
    s.done.clear();
    s.pool.clear();
    std::uint32_t m = ix_.medoid_;
    s.visited[m] = s.epoch;
    s.visited[p] = s.epoch;
    s.list.push_back({D(p, m), m});
    s.done.push_back(0);
    std::size_t cursor = 0;
    while (cursor < s.list.size()) {
      Scored c = s.list[cursor];
      s.done[cursor] = 1;
      if (c.id != p) s.pool.push_back(c);
      CopyNeighbors(c.id, &s.nbrs);
      std::size_t cnt = 0;
      for (std::uint32_t nb : s.nbrs) {
        if (s.visited[nb] == s.epoch) continue;
        s.visited[nb] = s.epoch;
        s.nbrs[cnt++] = nb;
      }
      // Issue every vector fetch first: the loads overlap instead of
      // missing the cache one after another.
      for (std::size_t j = 0; j < cnt; j++) {
        const char* v = reinterpret_cast<const char*>(P(s.nbrs[j]));
        for (std::size_t o = 0; o < dim_ * 4; o += 64) __builtin_prefetch(v + o);
      }
      for (std::size_t j = 0; j < cnt; j++) ListInsert(s, L, {D(p, s.nbrs[j]), s.nbrs[j]}, &cursor);
      while (cursor < s.list.size() && s.done[cursor]) cursor++;
    }
  }

  // Robust prune of a sorted, duplicate-free candidate pool into s.kept.
  void Prune(std::uint32_t p, const std::vector<Scored>& pool, float alpha, Scratch& s) {
    s.kept.clear();
    for (const Scored& c : pool) {
      if (c.id == p) continue;
      bool occluded = false;
      for (const Scored& k : s.kept) {
        if (alpha * D(k.id, c.id) <= c.dist) {
          occluded = true;
          break;
        }
      }
      if (!occluded) {
        s.kept.push_back(c);
        if (s.kept.size() >= R_) break;
      }
    }
  }

  static void SortUnique(std::vector<Scored>* v) {
    std::sort(v->begin(), v->end(), [](const Scored& a, const Scored& b) {
      return a.id < b.id || (a.id == b.id && a.dist < b.dist);
    });
    v->erase(std::unique(v->begin(), v->end(),
                         [](const Scored& a, const Scored& b) { return a.id == b.id; }),
             v->end());
    std::sort(v->begin(), v->end());
  }

  void SetNeighbors(std::uint32_t id, const std::vector<Scored>& kept) {
    std::uint32_t* dst = adj_.data() + std::size_t(id) * C_;
    for (std::size_t j = 0; j < kept.size(); j++) dst[j] = kept[j].id;
    ix_.degree_[id] = static_cast<std::uint32_t>(kept.size());
  }

  void Insert(std::uint32_t p, float alpha, Scratch& s) {
    GreedySearch(p, s);
    // Candidates: what the search expanded plus p's current neighbours.
    CopyNeighbors(p, &s.nbrs);
    for (std::uint32_t nb : s.nbrs) s.pool.push_back({D(p, nb), nb});
    SortUnique(&s.pool);
    Prune(p, s.pool, alpha, s);
    locks_[p].lock();
    SetNeighbors(p, s.kept);
    locks_[p].unlock();
    // Reverse edges. Copy of p's new list, since s.kept is reused below.
    std::vector<Scored>& mine = s.list;  // free after the search
    mine.assign(s.kept.begin(), s.kept.end());
    for (const Scored& e : mine) AddReverse(e.id, p, alpha, s);
  }

  void AddReverse(std::uint32_t j, std::uint32_t p, float alpha, Scratch& s) {
    locks_[j].lock();
    std::uint32_t* lst = adj_.data() + std::size_t(j) * C_;
    std::uint32_t deg = ix_.degree_[j];
    for (std::uint32_t t = 0; t < deg; t++) {
      if (lst[t] == p) {
        locks_[j].unlock();
        return;
      }
    }
    if (deg < C_) {
      lst[deg] = p;
      ix_.degree_[j] = deg + 1;
      locks_[j].unlock();
      return;
    }
    s.nbrs.assign(lst, lst + deg);
    locks_[j].unlock();
    // Overflow: prune j's list plus p outside the lock, then write back.
    s.pool.clear();
    for (std::uint32_t nb : s.nbrs) s.pool.push_back({D(j, nb), nb});
    s.pool.push_back({D(j, p), p});
    std::sort(s.pool.begin(), s.pool.end());
    Prune(j, s.pool, alpha, s);
    locks_[j].lock();
    SetNeighbors(j, s.kept);
    locks_[j].unlock();
  }

  VamanaIndex& ix_;
  const VamanaParams& p_;
  std::size_t dim_ = 0;
  std::uint32_t R_ = 0, C_ = 0;
  std::vector<std::uint32_t> adj_;  // n x C while building
  float (*l2_)(const float*, const float*, std::size_t) = nullptr;
  float (*dot_)(const float*, const float*, std::size_t) = nullptr;
  float (*l1_)(const float*, const float*, std::size_t) = nullptr;
  std::uint32_t cur_L_ = 0;  // list size of the current pass
  std::vector<float> unit_;  // IP: unit-length copies the graph is built over
  std::unique_ptr<SpinLock[]> locks_;
  std::vector<Scratch> scratch_;
};

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
  std::size_t per_node = dim * 4 + (R + R + R * 3 / 10 + 1) * 4 + 4 /*degree*/ + code + 8 /*label*/ + 1 /*lock*/ + 1 /*bitmap*/ +
                         (p.metric == Metric::IP ? dim * 4 : 0);
  std::size_t per_thread = n * 4 /*visited*/ + (L + 2 * R) * 16 + 4096;
  // Quantizer training: PQ copies its sample (<= 16k rows) and centroids.
  std::size_t train = 0;
  if (p.quantization == QuantKind::PQ) train = std::min<std::size_t>(n, 16384) * dim * 4 * 2 + 256 * dim * 4 * 2;
  else if (p.quantization != QuantKind::None) train = dim * 16;
  return n * per_node + threads * per_thread + train + (1u << 20) /*fixed overhead*/;
}

VamanaIndex VamanaIndex::Build(const float* data, std::size_t n, std::size_t dim,
                               const std::uint64_t* labels, const VamanaParams& params) {
  if (dim == 0 || dim > kMaxDim)
    throw Error(Error::Kind::InvalidArgument, "Vamana: dimension " + std::to_string(dim) +
                                                  " out of range (1.." + std::to_string(kMaxDim) + ")");
  if (n >= 0x7fffffffu)
    throw Error(Error::Kind::InvalidArgument, "Vamana: too many vectors in one segment");
  if (params.R == 0 || params.R > 4096)
    throw Error(Error::Kind::InvalidArgument, "Vamana: graph_degree must be between 1 and 4096");
  if (!(params.alpha >= 1.0f) || params.alpha > 10.0f)
    throw Error(Error::Kind::InvalidArgument, "Vamana: alpha must be between 1.0 and 10.0");
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
  for (std::size_t i = 0; i < n * dim; i++) {
    if (!std::isfinite(data[i]))
      throw Error(Error::Kind::InvalidArgument,
                  "Vamana: vector " + std::to_string(i / dim) + " contains NaN or infinity");
  }
  VamanaIndex ix;
  ix.n_ = static_cast<std::uint32_t>(n);
  ix.dim_ = static_cast<std::uint32_t>(dim);
  ix.R_ = params.R;
  ix.metric_ = params.metric;
  ix.vectors_.resize(n * dim);
  for (std::size_t i = 0; i < n; i++)
    detail::PrepareVamanaQuery(params.metric, data + i * dim, dim, ix.vectors_.data() + i * dim);
  ix.adj_.assign(n * params.R, 0);
  ix.degree_.assign(n, 0);
  ix.labels_.resize(n);
  for (std::size_t i = 0; i < n; i++) ix.labels_[i] = labels ? labels[i] : i;
  ix.deleted_.assign((n + 63) / 64, 0);
  if (n == 0) return ix;
  VamanaBuilder(&ix, params).Run();
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
