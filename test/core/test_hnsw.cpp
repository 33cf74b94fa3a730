// HNSW graph: recall against brute force for every metric, deletes, filters,
// the continuation, concurrency, serialization and the memory budget.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <set>
#include <thread>
#include <unordered_set>

#include "testdata.h"
#include "vecgo/hnsw.h"

namespace vecgo {
namespace {

using testing::BruteForce;
using testing::Dataset;
using testing::Recall;

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Inserts every row of `d` (label = row number) from `threads` threads.
void Build(HnswGraph* g, const Dataset& d, unsigned threads = 2) {
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < d.n();) g->Insert(d.row(i), i);
  };
  std::vector<std::thread> ts;
  for (unsigned t = 1; t < threads; t++) ts.emplace_back(work);
  work();
  for (auto& t : ts) t.join();
}

// Search results as row numbers (labels).
std::vector<std::vector<std::uint32_t>> SearchAll(const HnswGraph& g, const Dataset& d, std::size_t k,
                                                  std::size_t ef, HnswFilter filter = {}) {
  std::vector<std::vector<std::uint32_t>> got(d.nq());
  std::vector<HnswResult> res(k);
  for (std::size_t q = 0; q < d.nq(); q++) {
    std::size_t n = g.Search(d.query(q), k, ef, res.data(), filter);
    for (std::size_t i = 0; i < n; i++) got[q].push_back(static_cast<std::uint32_t>(res[i].label));
  }
  return got;
}

HnswParams Params(std::size_t dim, Metric metric, std::size_t m = 32, std::size_t efc = 300) {
  HnswParams p;
  p.dim = dim;
  p.metric = metric;
  p.m = m;
  p.ef_construction = efc;
  return p;
}

// ------------------------------------------------------------------ recall

class HnswRecall : public ::testing::TestWithParam<Metric> {};

TEST_P(HnswRecall, SyntheticClustered) {
  const Metric metric = GetParam();
  Dataset d = testing::Clustered(10000, 200, 128);
  HnswGraph g(Params(d.dim, metric, 32, 100));
  auto t0 = std::chrono::steady_clock::now();
  Build(&g, d);
  double build = Seconds(t0);
  auto truth = BruteForce(d, metric, 10);
  double r = Recall(truth, SearchAll(g, d, 10, 100), 10);
  std::cout << "[hnsw] synthetic 10k x 128 " << MetricName(metric) << ": build " << build
            << " s (2 threads), recall@10 at ef 100 = " << r << "\n";
  EXPECT_GE(r, 0.95);
}

INSTANTIATE_TEST_SUITE_P(Metrics, HnswRecall,
                         ::testing::Values(Metric::L2, Metric::IP, Metric::Cosine, Metric::L1),
                         [](const ::testing::TestParamInfo<Metric>& i) { return std::string(MetricName(i.param)); });

}  // namespace
}  // namespace vecgo
