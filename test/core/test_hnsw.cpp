// HNSW graph: recall against brute force for every metric, deletes, filters,
// the continuation, concurrency, serialization, the memory budget, and
// shared graphs (one header block, several attached views).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>

#include "testdata.h"
#include "vecgo/distance.h"
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
  Dataset d = testing::Clustered(10000, 200, 128, 8, 0.5f);
  HnswGraph g(Params(d.dim, metric));
  auto t0 = std::chrono::steady_clock::now();
  Build(&g, d);
  double build = Seconds(t0);
  auto truth = BruteForce(d, metric, 10);
  double r = Recall(truth, SearchAll(g, d, 10, 100), 10);
  std::cout << "[hnsw] synthetic 10k x 128 " << MetricName(metric) << ": build " << build
            << " s (2 threads), recall@10 at ef 100 = " << r << "\n";
  EXPECT_GE(r, 0.95);
}

INSTANTIATE_TEST_SUITE_P(HnswMetrics, HnswRecall,
                         ::testing::Values(Metric::L2, Metric::IP, Metric::Cosine, Metric::L1),
                         [](const ::testing::TestParamInfo<Metric>& i) { return std::string(MetricName(i.param)); });

// GloVe-100: 50k rows, cosine (the real use) at the default parameters, with
// a single-thread QPS sweep; the other metrics on a 10k sample.
TEST(HnswRecallGlove, Cosine50k) {
  Dataset d;
  if (!testing::GloveSample(50000, 300, &d)) GTEST_SKIP() << "GloVe data not found: run scripts/fetch-glove.sh";
  HnswGraph g(Params(d.dim, Metric::Cosine));
  auto t0 = std::chrono::steady_clock::now();
  Build(&g, d);
  double build = Seconds(t0);
  auto truth = BruteForce(d, Metric::Cosine, 10);
  std::cout << "[hnsw] glove 50k x 100 cosine, m 32, ef_construction 300: build " << build
            << " s (2 threads), " << g.MemoryUsage() / (1 << 20) << " MB\n";
  for (std::size_t ef : {40, 100, 200}) {
    auto t1 = std::chrono::steady_clock::now();
    auto got = SearchAll(g, d, 10, ef);
    double secs = Seconds(t1);
    double r = Recall(truth, got, 10);
    std::cout << "[hnsw]   ef_search " << ef << ": recall@10 " << r << ", " << d.nq() / secs
              << " queries/s (1 thread)\n";
    if (ef == 100) {
      EXPECT_GE(r, 0.95);
    }
  }
}

class HnswRecallGloveSmall : public ::testing::TestWithParam<Metric> {};

TEST_P(HnswRecallGloveSmall, Sample10k) {
  const Metric metric = GetParam();
  Dataset d;
  if (!testing::GloveSample(10000, 200, &d)) GTEST_SKIP() << "GloVe data not found: run scripts/fetch-glove.sh";
  HnswGraph g(Params(d.dim, metric));
  Build(&g, d);
  double r = Recall(BruteForce(d, metric, 10), SearchAll(g, d, 10, 100), 10);
  std::cout << "[hnsw] glove 10k " << MetricName(metric) << ": recall@10 at ef 100 = " << r << "\n";
  EXPECT_GE(r, 0.95);
}

INSTANTIATE_TEST_SUITE_P(HnswMetrics, HnswRecallGloveSmall, ::testing::Values(Metric::L2, Metric::IP, Metric::L1),
                         [](const ::testing::TestParamInfo<Metric>& i) { return std::string(MetricName(i.param)); });

// ------------------------------------------------------------------ basics

TEST(HnswBasics, EmptyGraphAndBadInput) {
  HnswGraph g(Params(4, Metric::L2, 8, 32));
  float v[4] = {1, 2, 3, 4};
  EXPECT_TRUE(g.Search(v, 10, 50).empty());
  HnswSearch it(g, v, 10);
  EXPECT_TRUE(it.Next(5).empty());
  float bad[4] = {1, NAN, 3, 4};
  try {
    g.Insert(bad, 1);
    FAIL() << "NaN accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
  }
  EXPECT_EQ(g.size(), 0u);
  EXPECT_THROW(HnswGraph(Params(0, Metric::L2)), Error);
  EXPECT_THROW(HnswGraph(Params(kMaxDim + 1, Metric::L2)), Error);
  EXPECT_THROW(HnswGraph(Params(4, Metric::L2, 1)), Error);
  EXPECT_FALSE(g.MarkDeleted(0));
}

TEST(HnswBasics, SingleNodeAndLabels) {
  HnswGraph g(Params(3, Metric::L2, 4, 16));
  float v[3] = {1, 0, 0};
  EXPECT_EQ(g.Insert(v, 0xdeadbeefcafeULL), 0u);
  auto r = g.Search(v, 5, 10);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].id, 0u);
  EXPECT_EQ(r[0].label, 0xdeadbeefcafeULL);
  EXPECT_FLOAT_EQ(r[0].distance, 0.0f);
}

// Cosine: vectors are stored normalised; distances match Distance(); a zero
// vector (stored or queried) is at distance 1 from everything.
TEST(HnswBasics, CosineNormalisationAndZeroVectors) {
  const std::size_t dim = 16;
  Dataset d = testing::Clustered(500, 20, dim);
  HnswGraph g(Params(dim, Metric::Cosine, 8, 64));
  for (std::size_t i = 0; i < d.n(); i++) g.Insert(d.row(i), i);
  std::vector<float> zero(dim, 0.0f);
  std::uint32_t zid = g.Insert(zero.data(), 999999);
  double norm = 0;
  for (std::size_t j = 0; j < dim; j++) norm += g.Vector(0)[j] * g.Vector(0)[j];
  EXPECT_NEAR(norm, 1.0, 1e-5);
  for (std::size_t q = 0; q < d.nq(); q++) {
    for (const HnswResult& r : g.Search(d.query(q), 10, 50)) {
      if (r.id == zid) {
        EXPECT_FLOAT_EQ(r.distance, 1.0f);
        continue;
      }
      EXPECT_NEAR(r.distance, Distance(Metric::Cosine, d.query(q), d.row(r.label), dim), 1e-4);
    }
  }
  auto r = g.Search(zero.data(), 5, 50);
  ASSERT_EQ(r.size(), 5u);
  for (const HnswResult& x : r) EXPECT_FLOAT_EQ(x.distance, 1.0f);
}

// Distances reported for every metric equal the reference Distance().
TEST(HnswBasics, ReportedDistancesMatchReference) {
  Dataset d = testing::Clustered(300, 10, 24);
  for (Metric m : {Metric::L2, Metric::IP, Metric::Cosine, Metric::L1}) {
    HnswGraph g(Params(d.dim, m, 8, 64));
    for (std::size_t i = 0; i < d.n(); i++) g.Insert(d.row(i), i);
    for (std::size_t q = 0; q < d.nq(); q++) {
      auto r = g.Search(d.query(q), 10, 50);
      ASSERT_EQ(r.size(), 10u);
      for (std::size_t i = 0; i < r.size(); i++) {
        float ref = Distance(m, d.query(q), d.row(r[i].label), d.dim);
        EXPECT_NEAR(r[i].distance, ref, 1e-3f * std::max(1.0f, std::fabs(ref))) << MetricName(m);
        if (i) {
          EXPECT_LE(r[i - 1].distance, r[i].distance);
        }
      }
    }
  }
}

// Levels depend only on (seed, id): two single-threaded builds are identical.
TEST(HnswBasics, DeterministicForASeed) {
  Dataset d = testing::Clustered(2000, 20, 16);
  HnswGraph a(Params(d.dim, Metric::L2, 8, 50)), b(Params(d.dim, Metric::L2, 8, 50));
  Build(&a, d, 1);
  Build(&b, d, 1);
  std::size_t tall = 0;
  for (std::uint32_t i = 0; i < d.n(); i++) {
    ASSERT_EQ(a.Level(i), b.Level(i));
    tall += a.Level(i) > 0;
  }
  // P(level > 0) = 1/m.
  EXPECT_NEAR(static_cast<double>(tall) / d.n(), 1.0 / 8, 0.03);
  for (std::size_t q = 0; q < d.nq(); q++) {
    auto ra = a.Search(d.query(q), 10, 40), rb = b.Search(d.query(q), 10, 40);
    ASSERT_EQ(ra.size(), rb.size());
    for (std::size_t i = 0; i < ra.size(); i++) EXPECT_EQ(ra[i].id, rb[i].id);
  }
}

// ------------------------------------------------------- deletes and filters

TEST(HnswDelete, RecallHoldsAfterDeleting30Percent) {
  Dataset d = testing::Clustered(10000, 200, 64, 8, 1.0f);
  HnswGraph g(Params(d.dim, Metric::L2, 16, 100));
  Build(&g, d);
  auto before = Recall(BruteForce(d, Metric::L2, 10), SearchAll(g, d, 10, 100), 10);
  std::mt19937_64 rng(3);
  std::vector<char> dead(d.n(), 0);
  for (std::uint32_t id = 0; id < d.n(); id++)
    if (rng() % 10 < 3) {
      dead[g.Label(id)] = 1;
      EXPECT_TRUE(g.MarkDeleted(id));
    }
  EXPECT_NEAR(static_cast<double>(g.deleted_count()) / d.n(), 0.3, 0.02);
  auto truth = BruteForce(d, Metric::L2, 10, [&](std::uint32_t row) { return dead[row] != 0; });
  auto got = SearchAll(g, d, 10, 100);
  for (auto& row : got)
    for (std::uint32_t label : row) ASSERT_FALSE(dead[label]) << "deleted row returned";
  double after = Recall(truth, got, 10);
  std::cout << "[hnsw] delete 30%: recall@10 " << before << " -> " << after << "\n";
  EXPECT_GE(after, 0.95);
  EXPECT_GE(after, before - 0.01);
}

TEST(HnswFilter, OnlyAdmittedResults) {
  Dataset d = testing::Clustered(5000, 100, 32);
  HnswGraph g(Params(d.dim, Metric::L2, 16, 100));
  Build(&g, d);
  // Keep rows whose label is a multiple of 7 (~14%).
  auto keep = [](std::uint32_t, std::uint64_t label) { return label % 7 == 0; };
  auto truth = BruteForce(d, Metric::L2, 10, [](std::uint32_t row) { return row % 7 != 0; });
  auto got = SearchAll(g, d, 10, 100, keep);
  for (auto& row : got) {
    EXPECT_EQ(row.size(), 10u);
    for (std::uint32_t label : row) ASSERT_EQ(label % 7, 0u);
  }
  double r = Recall(truth, got, 10);
  std::cout << "[hnsw] filter 1/7: recall@10 " << r << "\n";
  EXPECT_GE(r, 0.9);
  // The filter sees the internal id and the label of the same node.
  bool consistent = true;
  auto check = [&](std::uint32_t id, std::uint64_t label) {
    consistent = consistent && g.Label(id) == label;
    return true;
  };
  g.Search(d.query(0), 10, 50, check);
  EXPECT_TRUE(consistent);
}

// ------------------------------------------------------------- continuation

TEST(HnswContinuation, NextBatchesAreNewAndOrdered) {
  Dataset d = testing::Clustered(5000, 20, 32);
  HnswGraph g(Params(d.dim, Metric::L2, 16, 100));
  Build(&g, d);
  auto truth50 = BruteForce(d, Metric::L2, 50);
  double hits = 0;
  HnswSearch it(g);
  for (std::size_t q = 0; q < d.nq(); q++) {
    it.Start(d.query(q), 40);
    std::vector<HnswResult> all;
    std::set<std::uint32_t> seen;
    for (int b = 0; b < 5; b++) {
      auto batch = it.Next(10);
      ASSERT_EQ(batch.size(), 10u);
      for (const HnswResult& r : batch) {
        ASSERT_TRUE(seen.insert(r.id).second) << "result returned twice";
        all.push_back(r);
      }
    }
    // The first 10 match a plain search.
    auto plain = g.Search(d.query(q), 10, 40);
    std::set<std::uint32_t> first;
    for (auto& r : plain) first.insert(r.id);
    std::size_t same = 0;
    for (int i = 0; i < 10; i++) same += first.count(all[i].id);
    EXPECT_GE(same, 9u);
    // Approximate order: inversions are rare.
    std::size_t inversions = 0;
    for (std::size_t i = 1; i < all.size(); i++) inversions += all[i].distance < all[i - 1].distance;
    EXPECT_LE(inversions, 5u);
    std::set<std::uint32_t> t(truth50[q].begin(), truth50[q].end());
    for (auto& r : all) hits += t.count(static_cast<std::uint32_t>(r.label));
  }
  double r50 = hits / (50.0 * d.nq());
  std::cout << "[hnsw] continuation: recall@50 over 5 batches of 10 = " << r50 << "\n";
  EXPECT_GE(r50, 0.95);
}

TEST(HnswContinuation, EnumeratesTheWholeGraphWithDeletesAndFilter) {
  Dataset d = testing::Clustered(3000, 1, 16);
  HnswGraph g(Params(d.dim, Metric::Cosine, 8, 64));
  Build(&g, d);
  for (std::uint32_t id = 0; id < d.n(); id += 5) g.MarkDeleted(id);
  auto odd = [](std::uint32_t id, std::uint64_t) { return id % 2 == 1; };
  HnswSearch it(g, d.query(0), 20, odd);
  std::set<std::uint32_t> seen;
  std::vector<HnswResult> buf(97);
  for (std::size_t n; (n = it.Next(buf.size(), buf.data())) > 0;)
    for (std::size_t i = 0; i < n; i++) {
      ASSERT_FALSE(g.IsDeleted(buf[i].id));
      ASSERT_EQ(buf[i].id % 2, 1u);
      ASSERT_TRUE(seen.insert(buf[i].id).second);
    }
  std::size_t live = 0;
  for (std::uint32_t id = 0; id < d.n(); id++) live += !g.IsDeleted(id) && id % 2 == 1;
  std::cout << "[hnsw] continuation enumerated " << seen.size() << " of " << live << " admitted nodes\n";
  EXPECT_GE(seen.size(), live * 99 / 100);
}

// Inner product over rows whose distances to the query are NaN (+inf and
// -inf products in one sum), +inf or -inf, plus a run of exact duplicates:
// the graph's own orderings must treat NaN as the farthest (not break their
// heaps), and a continuation must still enumerate every node although such
// rows leave the graph far from connected (a large-norm row wins every
// neighbour heuristic test, duplicates prune each other's links).
TEST(HnswContinuation, NaNDistancesAndDisconnectedNodes) {
  const std::size_t n = 1000, dim = 4;
  const std::vector<float> rows = testing::OverflowAndDuplicateRows(n);
  const float q[dim] = {2, 2, 1, 1};
  HnswGraph g(Params(dim, Metric::IP, 8, 64));
  for (std::size_t i = 0; i < n; i++) g.Insert(&rows[i * dim], i);
  std::size_t nans = 0;
  for (std::size_t i = 0; i < n; i++) nans += std::isnan(Distance(Metric::IP, q, &rows[i * dim], dim));
  ASSERT_EQ(nans, 34u);

  // One search over everything it reaches: closest first, NaN last.
  std::vector<HnswResult> all = g.Search(q, n, n);
  ASSERT_FALSE(all.empty());
  for (std::size_t i = 0; i < all.size(); i++) {
    if (i) {
      ASSERT_FALSE(DistanceLess(all[i].distance, all[i - 1].distance)) << "out of order at " << i;
    }
    EXPECT_EQ(std::isnan(all[i].distance), all[i].label % 30 == 0) << all[i].label;
  }

  // The continuation, in small batches, returns every node exactly once.
  for (std::size_t ef : {std::size_t{10}, std::size_t{n}}) {
    HnswSearch it(g, q, ef);
    std::set<std::uint32_t> seen;
    std::vector<HnswResult> buf(13);
    for (std::size_t k; (k = it.Next(buf.size(), buf.data())) > 0;)
      for (std::size_t i = 0; i < k; i++) ASSERT_TRUE(seen.insert(buf[i].id).second) << "returned twice";
    EXPECT_EQ(seen.size(), n) << "ef " << ef;
  }
}

// --------------------------------------------------------------- concurrency

// 8 threads: 6 insert, 2 search while the graph grows; afterwards every row is
// found by searching its own vector.
TEST(HnswConcurrency, InsertAndSearchFrom8Threads) {
  const std::size_t n = 4000;
  // Overlapping clusters: a graph where a node stranded by a race is not
  // rescued by being one of a few far-apart points.
  Dataset d = testing::Clustered(n, 50, 32, 16, 0.5f);
  HnswGraph g(Params(d.dim, Metric::L2, 16, 64));
  std::atomic<std::size_t> next{0};
  std::atomic<bool> done{false};
  std::atomic<std::size_t> searches{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 6; t++)
    ts.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) {
        g.Insert(d.row(i), i);
        if (i % 97 == 0) g.MarkDeleted(static_cast<std::uint32_t>(i / 2));
      }
    });
  for (int t = 0; t < 2; t++)
    ts.emplace_back([&, t] {
      HnswSearch it(g);
      std::vector<HnswResult> out(10);
      for (std::size_t q = t; !done.load(); q = (q + 1) % d.nq()) {
        std::size_t got = g.Search(d.query(q), 10, 32, out.data());
        for (std::size_t i = 1; i < got; i++) ASSERT_LE(out[i - 1].distance, out[i].distance);
        it.Start(d.query(q), 16);
        it.Next(10, out.data());
        searches.fetch_add(1);
      }
    });
  for (int t = 0; t < 6; t++) ts[t].join();
  done.store(true);
  for (std::size_t t = 6; t < ts.size(); t++) ts[t].join();
  ASSERT_EQ(g.size(), n);
  std::vector<char> label_seen(n, 0);
  for (std::uint32_t id = 0; id < n; id++) label_seen[g.Label(id)]++;
  for (std::size_t i = 0; i < n; i++) ASSERT_EQ(label_seen[i], 1) << "label " << i;
  std::size_t found = 0;
  for (std::uint32_t id = 0; id < n; id++) {
    if (g.IsDeleted(id)) {
      found++;
      continue;
    }
    auto r = g.Search(g.Vector(id), 5, 64);
    for (auto& x : r)
      if (x.id == id) {
        found++;
        break;
      }
  }
  std::cout << "[hnsw] concurrency: " << searches.load() << " searches during the build, " << found << "/" << n
            << " rows found by their own vector\n";
  EXPECT_EQ(found, n);
}

// ------------------------------------------------------------ serialization

TEST(HnswSerialization, RoundTripGivesIdenticalResults) {
  Dataset d = testing::Clustered(3000, 50, 40);
  HnswGraph g(Params(d.dim, Metric::Cosine, 16, 64));
  Build(&g, d);
  for (std::uint32_t id = 0; id < d.n(); id += 11) g.MarkDeleted(id);
  std::vector<std::uint8_t> buf;
  std::uint64_t pages = g.Save(CollectPages(&buf));
  EXPECT_GT(pages, 10u);
  EXPECT_EQ(buf.size(), pages * kDefaultPageSize);
  auto h = HnswGraph::Load(buf.data(), buf.size());
  ASSERT_EQ(h->size(), g.size());
  EXPECT_EQ(h->deleted_count(), g.deleted_count());
  EXPECT_EQ(h->params().metric, Metric::Cosine);
  for (std::size_t q = 0; q < d.nq(); q++) {
    auto a = g.Search(d.query(q), 10, 50), b = h->Search(d.query(q), 10, 50);
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); i++) {
      EXPECT_EQ(a[i].id, b[i].id);
      EXPECT_EQ(a[i].label, b[i].label);
      EXPECT_EQ(a[i].distance, b[i].distance);
    }
  }
  // An empty graph round-trips too; so does a graph embedded after other data.
  HnswGraph e(Params(8, Metric::L2));
  std::vector<std::uint8_t> eb;
  e.Save(CollectPages(&eb));
  EXPECT_EQ(HnswGraph::Load(eb.data(), eb.size())->size(), 0u);
  std::vector<std::uint8_t> mixed;
  {
    PageStreamWriter w(0x12345678, 3, CollectPages(&mixed));
    w.Put<std::uint64_t>(42);
    g.SaveTo(&w);
    w.Finish();
  }
  PageStreamReader r = PageStreamReader::FromBuffer(mixed.data(), mixed.size(), kDefaultPageSize, 0x12345678, 3);
  EXPECT_EQ(r.Get<std::uint64_t>(), 42u);
  EXPECT_EQ(HnswGraph::LoadFrom(&r)->size(), g.size());
}

void ExpectCorrupted(const std::vector<std::uint8_t>& buf, const char* what) {
  try {
    HnswGraph::Load(buf.data(), buf.size());
    ADD_FAILURE() << what << ": loaded without error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::DataCorrupted) << what << ": " << e.what();
  }
}

TEST(HnswSerialization, CorruptedOrTruncatedPagesGiveAnError) {
  Dataset d = testing::Clustered(1500, 1, 24);
  HnswGraph g(Params(d.dim, Metric::L2, 8, 40));
  Build(&g, d);
  std::vector<std::uint8_t> good;
  const std::uint64_t np = g.Save(CollectPages(&good));
  const std::size_t ps = kDefaultPageSize;
  ASSERT_GE(np, 3u);
  ExpectCorrupted({}, "no pages");
  for (std::size_t keep : {ps / 2, ps, np / 2 * ps, (np - 1) * ps, np * ps - 1}) {
    std::vector<std::uint8_t> p(good.begin(), good.begin() + keep);
    ExpectCorrupted(p, "truncated");
  }
  {
    std::vector<std::uint8_t> p = good;
    std::swap_ranges(p.begin() + ps, p.begin() + 2 * ps, p.begin() + 2 * ps);
    ExpectCorrupted(p, "pages swapped");
  }
  // Single flipped bits anywhere.
  std::mt19937_64 rng(9);
  for (int trial = 0; trial < 300; trial++) {
    std::vector<std::uint8_t> p = good;
    p[rng() % p.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
    ExpectCorrupted(p, "bit flip");
  }
  // Garbage behind valid framing and checksums: copy the body through a new
  // stream with some bytes replaced. The structural checks must refuse it or
  // (when the garbage lands in a vector or a label) give a usable graph;
  // never crash.
  PageStreamReader r = PageStreamReader::FromBuffer(good.data(), good.size(), ps, kHnswContentMagic,
                                                    kHnswFormatVersion);
  std::vector<std::uint8_t> body(r.remaining());
  r.Read(body.data(), body.size());
  std::size_t refused = 0;
  for (int trial = 0; trial < 200; trial++) {
    std::vector<std::uint8_t> b = body;
    std::size_t from = rng() % b.size(), count = 1 + rng() % 16;
    for (std::size_t j = from; j < std::min(b.size(), from + count); j++) b[j] = static_cast<std::uint8_t>(rng());
    if (trial % 10 == 0) b.resize(rng() % b.size());  // a short body in a well-formed stream
    std::vector<std::uint8_t> p;
    PageStreamWriter w(kHnswContentMagic, kHnswFormatVersion, CollectPages(&p));
    w.Write(b.data(), b.size());
    w.Finish();
    try {
      auto h = HnswGraph::Load(p.data(), p.size());
      h->Search(d.query(0), 10, 20);
      HnswSearch it(*h, d.query(0), 10);
      while (!it.Next(100).empty()) {
      }
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::DataCorrupted) << e.what();
      refused++;
    }
  }
  EXPECT_GT(refused, 20u);
  // Unknown content version.
  {
    std::vector<std::uint8_t> p;
    PageStreamWriter w(kHnswContentMagic, kHnswFormatVersion + 1, CollectPages(&p));
    g.SaveTo(&w);
    w.Finish();
    ExpectCorrupted(p, "future version");
  }
}

// ------------------------------------------------------------ memory budget

TEST(HnswMemory, BudgetEnforced) {
  const std::size_t dim = 256;
  HnswParams p = Params(dim, Metric::L2, 16, 40);
  p.memory_limit = 12u << 20;  // three 4 MB chunks
  HnswGraph g(p);
  Dataset d = testing::Clustered(12000, 1, dim);
  std::size_t inserted = 0;
  try {
    for (; inserted < d.n(); inserted++) g.Insert(d.row(inserted), inserted);
    FAIL() << "limit never reached";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::OutOfMemory);
    EXPECT_NE(std::string(e.what()).find("memory limit"), std::string::npos);
  }
  EXPECT_EQ(g.size(), inserted);
  EXPECT_LE(g.MemoryUsage(), p.memory_limit);
  EXPECT_GT(g.BytesUsed(), 0u);
  std::cout << "[hnsw] budget 12 MB: " << inserted << " vectors of 256 dims, " << g.BytesUsed() << " bytes used\n";
  // The graph is intact and still searchable; raising the limit resumes.
  for (std::uint32_t id = 0; id < inserted; id += 501) {
    auto r = g.Search(g.Vector(id), 1, 50);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].id, id);
  }
  g.set_memory_limit(SIZE_MAX);
  g.Insert(d.row(inserted), inserted);
  EXPECT_EQ(g.size(), inserted + 1);
}


// ------------------------------------------------------------ shared graphs

// Memory like a DSA area seen from several processes: one memfd file, mapped
// separately by every view, so each view sees the header and the chunks at
// its own addresses (a stored pointer would break). The header block is at
// file offset 0, chunk i at chunk_off + i x 4 MB; the handle is the offset.
class SharedFile {
 public:
  explicit SharedFile(std::size_t header_bytes, std::uint32_t chunks)
      : chunk_off_((header_bytes + kArenaChunkBytes - 1) & ~(kArenaChunkBytes - 1)),
        bytes_(chunk_off_ + std::size_t{chunks} * kArenaChunkBytes) {
    fd_ = memfd_create("vecgo-hnsw-test", 0);
    if (fd_ >= 0 && ftruncate(fd_, static_cast<off_t>(bytes_)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~SharedFile() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  std::size_t bytes() const { return bytes_; }
  std::size_t chunk_off() const { return chunk_off_; }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::size_t chunk_off_, bytes_;
};

// One "process": its own mapping of the file and a chunk source over it.
class FileView {
 public:
  explicit FileView(const SharedFile& f) : f_(f) {
    void* p = mmap(nullptr, f.bytes(), PROT_READ | PROT_WRITE, MAP_SHARED, f.fd(), 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }
  ~FileView() {
    if (base_) munmap(base_, f_.bytes());
  }
  char* base() const { return base_; }

  class Source : public ChunkSource {
   public:
    Source(const FileView* v, std::atomic<int>* maps) : v_(v), maps_(maps) {}
    void* NewChunk(std::uint32_t index, std::uint64_t* handle) override {
      std::uint64_t off = v_->f_.chunk_off() + std::uint64_t{index} * kArenaChunkBytes;
      if (off + kArenaChunkBytes > v_->f_.bytes()) return nullptr;
      *handle = off;
      return v_->base_ + off;
    }
    void* MapChunk(std::uint32_t, std::uint64_t handle) override {
      maps_->fetch_add(1);
      return handle + kArenaChunkBytes <= v_->f_.bytes() ? v_->base_ + handle : nullptr;
    }

   private:
    const FileView* v_;
    std::atomic<int>* maps_;
  };
  std::unique_ptr<ChunkSource> source(std::atomic<int>* maps) const { return std::make_unique<Source>(this, maps); }

 private:
  const SharedFile& f_;
  char* base_ = nullptr;
};

// Heap-backed header block (64-byte aligned).
struct HeapBlock {
  explicit HeapBlock(std::size_t bytes) : bytes(bytes), p(static_cast<char*>(std::aligned_alloc(64, (bytes + 63) & ~std::size_t{63}))) {}
  ~HeapBlock() { std::free(p); }
  std::size_t bytes;
  char* p;
};

std::vector<std::uint8_t> Saved(const HnswGraph& g) {
  std::vector<std::uint8_t> buf;
  g.Save(CollectPages(&buf));
  return buf;
}

TEST(HnswShared, CreateAndAttachShareOneGraph) {
  Dataset d = testing::Clustered(2000, 20, 16);
  HnswParams p = Params(d.dim, Metric::Cosine, 8, 64);
  p.memory_limit = 64u << 20;
  EXPECT_EQ(HnswGraph::ChunkCapacity(p.memory_limit), 16u);
  EXPECT_EQ(HnswGraph::ChunkCapacity(SIZE_MAX), kArenaMaxChunks);
  EXPECT_EQ(HnswGraph::ChunkCapacity(1), 1u);
  EXPECT_LT(HnswGraph::HeaderBytes(p), 4096u);
  HeapBlock blk(HnswGraph::HeaderBytes(p));
  auto a = HnswGraph::Create(blk.p, blk.bytes, p, std::make_unique<HeapChunkSource>());
  auto b = HnswGraph::Attach(blk.p, std::make_unique<HeapChunkSource>());
  EXPECT_EQ(a->header_block(), b->header_block());
  EXPECT_EQ(b->params().dim, d.dim);
  EXPECT_EQ(b->params().m, 8u);
  EXPECT_EQ(b->params().metric, Metric::Cosine);
  EXPECT_EQ(b->memory_limit(), p.memory_limit);
  EXPECT_TRUE(b->Search(d.row(0), 5, 10).empty());
  // Alternate views: each insert lands in the one graph.
  for (std::size_t i = 0; i < d.n(); i++) (i % 2 ? b : a)->Insert(d.row(i), i);
  EXPECT_EQ(a->size(), d.n());
  EXPECT_EQ(b->size(), d.n());
  for (std::uint32_t id = 0; id < d.n(); id += 3) EXPECT_EQ(a->Label(id), b->Label(id));
  EXPECT_TRUE(b->MarkDeleted(5));
  EXPECT_TRUE(a->IsDeleted(5));
  EXPECT_EQ(a->deleted_count(), 1u);
  for (std::size_t q = 0; q < d.nq(); q++) {
    auto ra = a->Search(d.query(q), 10, 40), rb = b->Search(d.query(q), 10, 40);
    ASSERT_EQ(ra.size(), rb.size());
    for (std::size_t i = 0; i < ra.size(); i++) EXPECT_EQ(ra[i].id, rb[i].id);
  }
  EXPECT_EQ(a->MemoryUsage(), b->MemoryUsage());
  EXPECT_EQ(HnswGraph::SharedMemoryUsage(blk.p), a->MemoryUsage());
  EXPECT_GT(a->MemoryUsage(), 0u);
  EXPECT_EQ(Saved(*a), Saved(*b));
  // The limit is shared.
  b->set_memory_limit(40u << 20);
  EXPECT_EQ(a->memory_limit(), 40u << 20);
  // The continuation works on a view too.
  HnswSearch it(*b, d.query(0), 20);
  EXPECT_EQ(it.Next(10).size(), 10u);
}

TEST(HnswShared, AttachRejectsABadBlock) {
  HnswParams p = Params(8, Metric::L2, 8, 32);
  p.memory_limit = 8u << 20;
  HeapBlock blk(HnswGraph::HeaderBytes(p));
  std::memset(blk.p, 0, blk.bytes);
  auto expect_invalid = [](auto&& f, const char* what) {
    try {
      f();
      ADD_FAILURE() << what << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument) << what << ": " << e.what();
    }
  };
  expect_invalid([&] { HnswGraph::Attach(blk.p); }, "zeroed block");
  expect_invalid([&] { HnswGraph::SharedMemoryUsage(blk.p); }, "usage of a zeroed block");
  expect_invalid([&] { HnswGraph::Attach(nullptr); }, "null block");
  {
    auto g = HnswGraph::Create(blk.p, blk.bytes, p);
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    g->Insert(v, 1);
  }
  EXPECT_EQ(HnswGraph::Attach(blk.p)->size(), 1u);
  std::uint32_t magic;
  std::memcpy(&magic, blk.p, 4);
  std::uint32_t bad = magic ^ 1;
  std::memcpy(blk.p, &bad, 4);
  expect_invalid([&] { HnswGraph::Attach(blk.p); }, "bad magic");
  std::memcpy(blk.p, &magic, 4);
  std::uint32_t version;
  std::memcpy(&version, blk.p + 4, 4);
  std::uint32_t v2 = version + 1;
  std::memcpy(blk.p + 4, &v2, 4);
  expect_invalid([&] { HnswGraph::Attach(blk.p); }, "future version");
  std::memcpy(blk.p + 4, &version, 4);
  EXPECT_NO_THROW(HnswGraph::Attach(blk.p));
}

TEST(HnswShared, CreateRejectsASmallOrMisalignedBlock) {
  HnswParams p = Params(8, Metric::L2, 8, 32);
  const std::size_t need = HnswGraph::HeaderBytes(p);  // unlimited: the largest chunk table
  EXPECT_GT(need, std::size_t{kArenaMaxChunks} * 12);
  HeapBlock blk(need + 64);
  try {
    HnswGraph::Create(blk.p, need - 1, p);
    FAIL() << "small block accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("too small"), std::string::npos);
  }
  EXPECT_THROW(HnswGraph::Create(blk.p + 4, need, p), Error);
  EXPECT_THROW(HnswGraph::Create(nullptr, need, p), Error);
  EXPECT_THROW(HnswGraph::Create(blk.p, need, Params(0, Metric::L2)), Error);
  EXPECT_NO_THROW(HnswGraph::Create(blk.p, need, p));
}

// The budget is shared: inserts through either view stop at the limit with
// the graph unchanged; the chunk table is sized from the limit at Create.
TEST(HnswShared, MemoryLimitCountsEveryView) {
  const std::size_t dim = 256;
  HnswParams p = Params(dim, Metric::L2, 16, 40);
  p.memory_limit = 12u << 20;
  EXPECT_EQ(HnswGraph::ChunkCapacity(p.memory_limit), 3u);
  HeapBlock blk(HnswGraph::HeaderBytes(p));
  auto a = HnswGraph::Create(blk.p, blk.bytes, p);
  auto b = HnswGraph::Attach(blk.p);
  Dataset d = testing::Clustered(12000, 1, dim);
  std::size_t inserted = 0;
  try {
    for (; inserted < d.n(); inserted++) (inserted % 2 ? b : a)->Insert(d.row(inserted), inserted);
    FAIL() << "limit never reached";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::OutOfMemory);
  }
  EXPECT_EQ(a->size(), inserted);
  EXPECT_LE(a->MemoryUsage(), p.memory_limit);
  EXPECT_EQ(HnswGraph::SharedMemoryUsage(blk.p), b->MemoryUsage());
  std::vector<std::uint8_t> before = Saved(*a);
  EXPECT_THROW(b->Insert(d.row(inserted), inserted), Error);
  EXPECT_EQ(Saved(*b), before);
  // The table holds 3 chunks: a higher limit does not make room.
  a->set_memory_limit(SIZE_MAX);
  EXPECT_THROW(b->Insert(d.row(inserted), inserted), Error);
  EXPECT_EQ(b->size(), inserted);
  for (std::uint32_t id = 0; id < inserted; id += 501) {
    auto r = b->Search(a->Vector(id), 1, 50);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].id, id);
  }
}

// HeapChunkSource semantics (the handle is the address), counting the chunks
// it maps from handles other views stored.
class CountingHeapSource : public ChunkSource {
 public:
  explicit CountingHeapSource(std::atomic<int>* maps) : maps_(maps) {}
  void* NewChunk(std::uint32_t index, std::uint64_t* handle) override { return heap_.NewChunk(index, handle); }
  void* MapChunk(std::uint32_t index, std::uint64_t handle) override {
    maps_->fetch_add(1);
    return heap_.MapChunk(index, handle);
  }

 private:
  HeapChunkSource heap_;
  std::atomic<int>* maps_;
};

// Two views of one graph; view v inserts the rows r with r % 2 == v from
// `inserters` threads while one more thread per view searches. Afterwards:
// counts, labels, every row found, recall against brute force, identical
// answers and saves from both views.
void InsertAndSearchThroughTwoViews(HnswGraph* a, HnswGraph* b, const Dataset& d, int inserters) {
  const std::size_t n = d.n();
  HnswGraph* views[2] = {a, b};
  std::atomic<std::size_t> next[2];
  next[0] = 0;
  next[1] = 0;
  std::atomic<int> inserting{2 * inserters};
  std::atomic<std::size_t> searches{0}, seen_other{0};
  std::vector<std::thread> ts;
  for (int v = 0; v < 2; v++)
    for (int t = 0; t < inserters; t++)
      ts.emplace_back([&, v] {
        for (std::size_t k; (k = next[v].fetch_add(1)) * 2 + v < n;) {
          std::size_t row = k * 2 + v;
          views[v]->Insert(d.row(row), row);
          if (row % 101 == 0) views[v]->MarkDeleted(0);
        }
        inserting.fetch_sub(1);
      });
  for (int v = 0; v < 2; v++)
    ts.emplace_back([&, v] {
      std::vector<HnswResult> out(10);
      HnswSearch it(*views[v]);
      for (std::size_t q = v; inserting.load() > 0; q = (q + 1) % d.nq()) {
        std::size_t got = views[v]->Search(d.query(q), 10, 32, out.data());
        for (std::size_t i = 0; i < got; i++) {
          ASSERT_LT(out[i].label, n);
          if (i) {
            ASSERT_LE(out[i - 1].distance, out[i].distance);
          }
          if (out[i].label % 2 != static_cast<std::uint64_t>(v)) seen_other.fetch_add(1);
        }
        it.Start(d.query(q), 16);
        it.Next(10, out.data());
        searches.fetch_add(1);
      }
    });
  for (auto& t : ts) t.join();

  ASSERT_EQ(a->size(), n);
  ASSERT_EQ(b->size(), n);
  EXPECT_EQ(a->deleted_count(), 1u);
  EXPECT_EQ(b->deleted_count(), 1u);
  EXPECT_TRUE(b->IsDeleted(0));
  a->MarkDeleted(0);  // idempotent
  EXPECT_EQ(b->deleted_count(), 1u);
  // Every label exactly once, the same through both views.
  std::vector<int> label_seen(n, 0);
  for (std::uint32_t id = 0; id < n; id++) {
    ASSERT_EQ(a->Label(id), b->Label(id));
    label_seen[b->Label(id)]++;
  }
  for (std::size_t i = 0; i < n; i++) ASSERT_EQ(label_seen[i], 1) << "label " << i;
  // Every live row is found by its own vector, through either view.
  std::size_t found = 0;
  for (std::uint32_t id = 0; id < n; id++) {
    if (a->IsDeleted(id)) {
      found++;
      continue;
    }
    for (const HnswResult& x : views[id % 2]->Search(views[1 - id % 2]->Vector(id), 5, 64))
      if (x.id == id) {
        found++;
        break;
      }
  }
  EXPECT_EQ(found, n);
  // Recall against brute force (the deleted node excluded); both views agree.
  const std::uint64_t dead = a->Label(0);
  auto truth = BruteForce(d, Metric::L2, 10, [&](std::uint32_t row) { return row == dead; });
  auto ga = SearchAll(*a, d, 10, 100), gb = SearchAll(*b, d, 10, 100);
  EXPECT_EQ(ga, gb);
  double r = Recall(truth, gb, 10);
  std::cout << "[hnsw] two views: " << searches.load() << " searches during the build (" << seen_other.load()
            << " results inserted by the other view), " << found << "/" << n
            << " rows found, recall@10 at ef 100 = " << r << "\n";
  EXPECT_GE(r, 0.95);
  EXPECT_EQ(a->MemoryUsage(), b->MemoryUsage());
  EXPECT_EQ(HnswGraph::SharedMemoryUsage(b->header_block()), a->MemoryUsage());
  std::vector<std::uint8_t> buf = Saved(*b);
  EXPECT_EQ(Saved(*a), buf);
  // The saved graph loads into a private graph with the same answers.
  auto c = HnswGraph::Load(buf.data(), buf.size());
  EXPECT_EQ(SearchAll(*c, d, 10, 100), gb);
}

// One header block, two views with their own chunk sources (mapping each
// other's chunks by handle), two inserting threads and one searching thread
// per view, all at once. Runs under make tsan.
TEST(HnswSharedConcurrency, TwoAttachedGraphsInsertAndSearchAtOnce) {
  Dataset d = testing::Clustered(4000, 100, 32, 16, 0.5f);
  HnswParams p = Params(d.dim, Metric::L2, 16, 100);
  p.memory_limit = 64u << 20;
  HeapBlock blk(HnswGraph::HeaderBytes(p));
  std::atomic<int> maps_a{0}, maps_b{0};
  auto a = HnswGraph::Create(blk.p, blk.bytes, p, std::make_unique<CountingHeapSource>(&maps_a));
  auto b = HnswGraph::Attach(blk.p, std::make_unique<CountingHeapSource>(&maps_b));
  InsertAndSearchThroughTwoViews(a.get(), b.get(), d, 2);
  // Both views read every node, so the chunks one view created were mapped
  // by the other from their stored handles.
  EXPECT_GT(maps_a.load() + maps_b.load(), 0);
}

// The same with each view mapping the memory at its own addresses, as two
// backends would map a DSA area: a stored pointer would break here. (Not run
// under ThreadSanitizer, which cannot follow synchronisation through two
// mappings of one page.)
TEST(HnswShared, ViewsAtDifferentAddresses) {
  Dataset d = testing::Clustered(4000, 100, 32, 16, 0.5f);
  HnswParams p = Params(d.dim, Metric::L2, 16, 100);
  p.memory_limit = 64u << 20;
  SharedFile file(HnswGraph::HeaderBytes(p), HnswGraph::ChunkCapacity(p.memory_limit));
  if (!file.ok()) GTEST_SKIP() << "memfd_create unavailable";
  FileView va(file), vb(file);
  ASSERT_TRUE(va.base() && vb.base());
  ASSERT_NE(va.base(), vb.base());
  std::atomic<int> maps_a{0}, maps_b{0};
  auto a = HnswGraph::Create(va.base(), HnswGraph::HeaderBytes(p), p, va.source(&maps_a));
  auto b = HnswGraph::Attach(vb.base(), vb.source(&maps_b));
  InsertAndSearchThroughTwoViews(a.get(), b.get(), d, 1);
  EXPECT_GT(maps_a.load() + maps_b.load(), 0);
  // A third view attached afterwards maps every chunk it reads.
  FileView vc(file);
  std::atomic<int> maps_c{0};
  auto c = HnswGraph::Attach(vc.base(), vc.source(&maps_c));
  EXPECT_EQ(Saved(*c), Saved(*a));
  EXPECT_GE(static_cast<std::size_t>(maps_c.load()) * kArenaChunkBytes, c->MemoryUsage() / 2);
}

}  // namespace
}  // namespace vecgo
