// Shared test data for the core unit tests: synthetic clustered vectors, the
// real GloVe-100 sample when available, brute-force ground truth and recall.
#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "vecgo/distance.h"

namespace vecgo::testing {

struct Dataset {
  std::size_t dim = 0;
  std::vector<float> base;     // n x dim
  std::vector<float> queries;  // q x dim
  std::size_t n() const { return dim ? base.size() / dim : 0; }
  std::size_t nq() const { return dim ? queries.size() / dim : 0; }
  const float* row(std::size_t i) const { return base.data() + i * dim; }
  const float* query(std::size_t i) const { return queries.data() + i * dim; }
};

// Gaussian clusters: `clusters` centres uniform in [-1,1]^dim, points with
// per-dimension stddev `spread` around a random centre. Deterministic.
inline Dataset Clustered(std::size_t n, std::size_t nq, std::size_t dim, std::size_t clusters = 64,
                         float spread = 0.15f, std::uint64_t seed = 42) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::normal_distribution<float> gauss(0.0f, spread);
  std::vector<float> centres(clusters * dim);
  for (auto& c : centres) c = uni(rng);
  Dataset d;
  d.dim = dim;
  auto fill = [&](std::vector<float>& out, std::size_t count) {
    out.resize(count * dim);
    for (std::size_t i = 0; i < count; i++) {
      std::size_t c = rng() % clusters;
      for (std::size_t j = 0; j < dim; j++) out[i * dim + j] = centres[c * dim + j] + gauss(rng);
    }
  };
  fill(d.base, n);
  fill(d.queries, nq);
  return d;
}

// Path of the GloVe-100 fvecs file written by scripts/fetch-glove.sh, or "".
// Looks at $VECGO_GLOVE, then data/glove-100.fvecs relative to the repo root.
// n rows of 4 dimensions in [0, 1), except: every 10th row has a component
// near +-3e38, so that its inner product with a query of components 1-2 is
// NaN (every 30th), +inf or -inf; and every 10th from row 5 is the same point
// (100 exact duplicates, which occlude each other in a graph's pruning).
inline std::vector<float> OverflowAndDuplicateRows(std::size_t n) {
  const std::size_t dim = 4;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> rows(n * dim);
  for (std::size_t i = 0; i < n; i++) {
    float* x = &rows[i * dim];
    for (std::size_t j = 0; j < dim; j++) x[j] = u(rng);
    if (i % 10 == 0) {
      const float big = 3e38f * (0.6f + 0.4f * u(rng));
      if (i % 30 == 0) x[0] = 3e38f, x[1] = -big;  // NaN
      else if (i % 30 == 10) x[0] = -big;          // +inf
      else x[0] = big;                             // -inf
    } else if (i % 10 == 5) {
      x[0] = x[1] = x[2] = x[3] = 0.5f;  // 100 duplicates
    }
  }
  return rows;
}

inline std::string GlovePath() {
  if (const char* p = std::getenv("VECGO_GLOVE")) return p;
  for (const char* cand : {"data/glove-100.fvecs", "../data/glove-100.fvecs", "../../data/glove-100.fvecs"}) {
    if (FILE* f = std::fopen(cand, "rb")) {
      std::fclose(f);
      return cand;
    }
  }
  return "";
}

// Reads an .fvecs file (per row: int32 dim, then dim float32). Returns false
// when the file is missing or malformed. Takes the first `limit` rows (0 = all).
inline bool ReadFvecs(const std::string& path, std::size_t limit, std::size_t* dim_out,
                      std::vector<float>* out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  out->clear();
  std::int32_t dim = 0;
  std::size_t rows = 0;
  while (std::fread(&dim, sizeof(dim), 1, f) == 1) {
    if (dim <= 0 || dim > 100000) {
      std::fclose(f);
      return false;
    }
    std::size_t at = out->size();
    out->resize(at + dim);
    if (std::fread(out->data() + at, sizeof(float), dim, f) != static_cast<std::size_t>(dim)) {
      std::fclose(f);
      return false;
    }
    *dim_out = dim;
    if (++rows == limit) break;
  }
  std::fclose(f);
  return rows > 0;
}

// A GloVe sample: `n` base rows and `nq` held-out query rows taken from a
// deterministic shuffle of the file. Returns false (test should GTEST_SKIP with
// a visible message) when the file is not there.
inline bool GloveSample(std::size_t n, std::size_t nq, Dataset* d, std::uint64_t seed = 7) {
  // The file (138 MB) is read once per test binary and kept.
  static std::size_t dim = 0;
  static std::vector<float> all;
  static bool loaded = false, ok = false;
  if (!loaded) {
    loaded = true;
    std::string path = GlovePath();
    ok = !path.empty() && ReadFvecs(path, 0, &dim, &all);
  }
  if (!ok) return false;
  std::size_t total = all.size() / dim;
  if (total < n + nq) return false;
  std::vector<std::size_t> idx(total);
  for (std::size_t i = 0; i < total; i++) idx[i] = i;
  std::mt19937_64 rng(seed);
  std::shuffle(idx.begin(), idx.end(), rng);
  d->dim = dim;
  d->base.resize(n * dim);
  d->queries.resize(nq * dim);
  for (std::size_t i = 0; i < n; i++)
    std::copy_n(all.data() + idx[i] * dim, dim, d->base.data() + i * dim);
  for (std::size_t i = 0; i < nq; i++)
    std::copy_n(all.data() + idx[n + i] * dim, dim, d->queries.data() + i * dim);
  return true;
}

// Exact top-k ids per query (ties broken by id), skipping ids for which
// `skip(id)` is true.
template <typename Skip>
std::vector<std::vector<std::uint32_t>> BruteForce(const Dataset& d, Metric metric, std::size_t k,
                                                   Skip skip) {
  std::vector<std::vector<std::uint32_t>> gt(d.nq());
  for (std::size_t q = 0; q < d.nq(); q++) {
    std::priority_queue<std::pair<float, std::uint32_t>> heap;
    for (std::size_t i = 0; i < d.n(); i++) {
      if (skip(static_cast<std::uint32_t>(i))) continue;
      float dist = Distance(metric, d.query(q), d.row(i), d.dim);
      std::pair<float, std::uint32_t> e{dist, static_cast<std::uint32_t>(i)};
      if (heap.size() < k) {
        heap.push(e);
      } else if (e < heap.top()) {
        heap.pop();
        heap.push(e);
      }
    }
    gt[q].resize(heap.size());
    for (std::size_t j = heap.size(); j-- > 0;) {
      gt[q][j] = heap.top().second;
      heap.pop();
    }
  }
  return gt;
}

inline std::vector<std::vector<std::uint32_t>> BruteForce(const Dataset& d, Metric metric,
                                                          std::size_t k) {
  return BruteForce(d, metric, k, [](std::uint32_t) { return false; });
}

// Mean recall@k of `got` against `truth` (set intersection over k).
inline double Recall(const std::vector<std::vector<std::uint32_t>>& truth,
                     const std::vector<std::vector<std::uint32_t>>& got, std::size_t k) {
  double sum = 0;
  for (std::size_t q = 0; q < truth.size(); q++) {
    std::size_t hit = 0;
    std::size_t tk = std::min(k, truth[q].size());
    for (std::size_t i = 0; i < std::min(k, got[q].size()); i++)
      for (std::size_t j = 0; j < tk; j++)
        if (got[q][i] == truth[q][j]) {
          hit++;
          break;
        }
    sum += tk ? static_cast<double>(hit) / tk : 1.0;
  }
  return truth.empty() ? 1.0 : sum / truth.size();
}

}  // namespace vecgo::testing
