// Vamana (DiskANN) segments: recall against brute force per metric and per
// quantization, deletes, filter, continuation, page round trip, corruption,
// memory budget.
#include <gtest/gtest.h>

#include <random>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "testdata.h"
#include "vecgo/distance.h"
#include "vecgo/vamana.h"

namespace vecgo {
namespace {

using testing::BruteForce;
using testing::Dataset;
using testing::Recall;

constexpr std::size_t kN = 20000, kNQ = 200, kDim = 128, kK = 10;

std::uint32_t Threads() { return std::max(2u, std::thread::hardware_concurrency()); }

const Dataset& Synthetic() {
  static const Dataset d = testing::Clustered(kN, kNQ, kDim);
  return d;
}

// Built segments are shared between tests (builds dominate the suite's time).
VamanaIndex& Built(Metric m, QuantKind q = QuantKind::None) {
  static std::map<std::pair<int, int>, std::unique_ptr<VamanaIndex>> cache;
  auto key = std::make_pair(int(m), int(q));
  auto it = cache.find(key);
  if (it != cache.end()) return *it->second;
  const Dataset& d = Synthetic();
  VamanaParams p;
  p.metric = m;
  p.threads = Threads();
  p.quantization = q;
  auto ix = std::make_unique<VamanaIndex>(VamanaIndex::Build(d.base.data(), d.n(), d.dim, nullptr, p));
  return *cache.emplace(key, std::move(ix)).first->second;
}

template <class Store>
std::vector<std::vector<std::uint32_t>> SearchAll(const Store& s, const Dataset& d, std::size_t k,
                                                  VamanaSearchOptions o = {}) {
  VamanaSearcher<Store> searcher(s);
  std::vector<VamanaResult> res;
  std::vector<std::vector<std::uint32_t>> out(d.nq());
  for (std::size_t q = 0; q < d.nq(); q++) {
    searcher.Search(d.query(q), k, o, &res);
    for (auto& r : res) out[q].push_back(r.id);
  }
  return out;
}

class VamanaMetric : public ::testing::TestWithParam<Metric> {};

TEST_P(VamanaMetric, FullPrecisionRecall) {
  const Dataset& d = Synthetic();
  Metric m = GetParam();
  const VamanaIndex& ix = Built(m);
  auto gt = BruteForce(d, m, kK);
  double r = Recall(gt, SearchAll(ix, d, kK), kK);
  std::printf("[ metric %s ] recall@10 %.4f (mean degree %.1f)\n", MetricName(m), r, ix.MeanDegree());
  EXPECT_GE(r, 0.95);
}

TEST_P(VamanaMetric, DistancesAreExactAndSorted) {
  const Dataset& d = Synthetic();
  Metric m = GetParam();
  const VamanaIndex& ix = Built(m);
  VamanaSearcher<VamanaIndex> s(ix);
  std::vector<VamanaResult> res;
  for (std::size_t q = 0; q < 20; q++) {
    s.Search(d.query(q), kK, {}, &res);
    ASSERT_EQ(res.size(), kK);
    for (std::size_t i = 0; i < res.size(); i++) {
      float want = Distance(m, d.query(q), d.row(res[i].id), d.dim);
      EXPECT_NEAR(res[i].distance, want, 1e-3f * std::max(1.0f, std::fabs(want)));
      EXPECT_EQ(res[i].label, res[i].id);
      if (i) {
        EXPECT_LE(res[i - 1].distance, res[i].distance);
      }
    }
  }
}

// Codes steer the beam; rerank with full vectors restores exact order.
TEST_P(VamanaMetric, SQ8RerankRecall) {
  const Dataset& d = Synthetic();
  Metric m = GetParam();
  VamanaIndex& ix = Built(m);
  ix.SetQuantization(QuantKind::SQ8, 0, Threads());
  auto gt = BruteForce(d, m, kK);
  double r = Recall(gt, SearchAll(ix, d, kK), kK);
  VamanaSearchOptions exact;
  exact.use_codes = false;
  double r_full = Recall(gt, SearchAll(ix, d, kK, exact), kK);
  ix.SetQuantization(QuantKind::None);
  std::printf("[ metric %s ] SQ8+rerank recall@10 %.4f (full precision %.4f)\n", MetricName(m), r, r_full);
  EXPECT_GE(r, 0.95);
}

// Isotropic Gaussian clusters are PQ's worst case (no structure for the
// subspace codebooks to find), so the synthetic check uses 8x PQ (m = dim/2);
// the GloVe test below uses the default 16x.
TEST_P(VamanaMetric, PQRerankRecall) {
  const Dataset& d = Synthetic();
  Metric m = GetParam();
  VamanaIndex& ix = Built(m);
  ix.SetQuantization(QuantKind::PQ, kDim / 2, Threads());
  auto gt = BruteForce(d, m, kK);
  double r = Recall(gt, SearchAll(ix, d, kK), kK);
  ix.SetQuantization(QuantKind::None);
  std::printf("[ metric %s ] PQ(m=%zu)+rerank recall@10 %.4f\n", MetricName(m), kDim / 2, r);
  EXPECT_GE(r, 0.90);
}

TEST(VamanaQuant, Int4AndBinaryRerank) {
  const Dataset& d = Synthetic();
  VamanaIndex& ix = Built(Metric::L2);
  auto gt = BruteForce(d, Metric::L2, kK);
  for (QuantKind q : {QuantKind::INT4, QuantKind::Binary}) {
    ix.SetQuantization(q, 0, Threads());
    VamanaSearchOptions o;
    o.L = 200;
    double r = Recall(gt, SearchAll(ix, d, kK, o), kK);
    std::printf("[ %s ] rerank recall@10 %.4f at L=200\n", QuantKindName(q), r);
    // Binary codes are a coarse Hamming proxy (32x): a weaker bound.
    EXPECT_GE(r, q == QuantKind::Binary ? 0.80 : 0.95);
  }
  ix.SetQuantization(QuantKind::None);
}

INSTANTIATE_TEST_SUITE_P(VamanaMetrics, VamanaMetric,
                         ::testing::Values(Metric::L2, Metric::IP, Metric::Cosine, Metric::L1),
                         [](const ::testing::TestParamInfo<Metric>& i) { return std::string(MetricName(i.param)); });

TEST(VamanaBasic, EmptyAndTiny) {
  VamanaParams p;
  VamanaIndex empty = VamanaIndex::Build(nullptr, 0, 4, nullptr, p);
  VamanaSearcher<VamanaIndex> s(empty);
  std::vector<VamanaResult> res;
  float q[4] = {1, 2, 3, 4};
  s.Search(q, 10, {}, &res);
  EXPECT_TRUE(res.empty());

  float one[4] = {1, 1, 1, 1};
  VamanaIndex single = VamanaIndex::Build(one, 1, 4, nullptr, p);
  VamanaSearcher<VamanaIndex> s1(single);
  s1.Search(q, 10, {}, &res);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_EQ(res[0].id, 0u);
}

TEST(VamanaBasic, RejectsBadInput) {
  VamanaParams p;
  float v[8] = {1, 2, 3, 4, 5, 6, 7, NAN};
  EXPECT_THROW(VamanaIndex::Build(v, 2, 4, nullptr, p), Error);
  EXPECT_THROW(VamanaIndex::Build(v, 1, 0, nullptr, p), Error);
  p.alpha = 0.5f;
  EXPECT_THROW(VamanaIndex::Build(v, 1, 4, nullptr, p), Error);
}

TEST(VamanaBudget, OverBudgetFailsUpFront) {
  const Dataset& d = Synthetic();
  VamanaParams p;
  p.memory_budget = 1 << 20;  // 1 MB for 20k x 128: far too small
  try {
    VamanaIndex::Build(d.base.data(), d.n(), d.dim, nullptr, p);
    FAIL() << "expected OutOfMemory";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::OutOfMemory);
    EXPECT_NE(std::string(e.what()).find("memory budget"), std::string::npos) << e.what();
  }
  p.threads = Threads();
  std::size_t need = EstimateVamanaBuildBytes(2000, d.dim, p);
  EXPECT_GT(need, 2000u * (d.dim * 4 + p.R * 4));
  p.memory_budget = need;
  EXPECT_NO_THROW(VamanaIndex::Build(d.base.data(), 2000, d.dim, nullptr, p));
}

// The build's searches score on SQ8 codes of the build space: a stray row
// with one huge coordinate must not stretch the code range so far that
// every other row's code collapses (the range is cut to the quantiles;
// with min-to-max codes this build's recall@10 was 0.39).
TEST(VamanaBuild, OutlierRowKeepsRecall) {
  Dataset d = testing::Clustered(3000, 32, 16);
  VamanaParams p;
  p.metric = Metric::L2;
  p.R = 24;
  p.L = 40;
  p.threads = 1;
  VamanaIndex clean = VamanaIndex::Build(d.base.data(), d.n(), d.dim, nullptr, p);
  auto gt0 = BruteForce(d, Metric::L2, kK);
  const double r0 = Recall(gt0, SearchAll(clean, d, kK), kK);
  for (std::size_t j = 0; j < d.dim; j++) d.base[17 * d.dim + j] = j == 3 ? 1e6f : -1e6f;
  VamanaIndex ix = VamanaIndex::Build(d.base.data(), d.n(), d.dim, nullptr, p);
  const double r = Recall(BruteForce(d, Metric::L2, kK), SearchAll(ix, d, kK), kK);
  std::printf("[ outlier ] recall@10 %.4f (without the outlier %.4f)\n", r, r0);
  EXPECT_GE(r, r0 - 0.02);
}

TEST(VamanaDelete, RecallHoldsAndDeletedNeverReturned) {
  Dataset d = Synthetic();  // the first 10k rows: an own build, kept small
  d.base.resize(10000 * d.dim);
  VamanaParams p;
  p.threads = Threads();
  VamanaIndex ix = VamanaIndex::Build(d.base.data(), d.n(), d.dim, nullptr, p);
  auto before = Recall(BruteForce(d, Metric::L2, kK), SearchAll(ix, d, kK), kK);
  std::mt19937_64 rng(3);
  std::vector<bool> del(d.n(), false);
  for (std::size_t i = 0; i < d.n(); i++)
    if (rng() % 10 < 3) {
      del[i] = true;
      ix.MarkDeleted(static_cast<std::uint32_t>(i));
    }
  EXPECT_NEAR(double(ix.DeletedCount()) / d.n(), 0.3, 0.02);
  auto gt = BruteForce(d, Metric::L2, kK, [&](std::uint32_t id) { return bool(del[id]); });
  auto got = SearchAll(ix, d, kK);
  for (auto& row : got) {
    EXPECT_EQ(row.size(), kK);
    for (auto id : row) EXPECT_FALSE(del[id]) << "deleted row " << id << " returned";
  }
  double after = Recall(gt, got, kK);
  std::printf("[ delete 30%% ] recall@10 before %.4f after %.4f\n", before, after);
  EXPECT_GE(after, 0.95);
  EXPECT_GE(after, before - 0.01);
}

TEST(VamanaFilter, OnlyAdmittedRowsReturned) {
  const Dataset& d = Synthetic();
  const VamanaIndex& ix = Built(Metric::L2);
  VamanaSearchOptions o;
  o.filter = [](void*, std::uint32_t, std::uint64_t label) { return label % 5 == 0; };
  auto gt = BruteForce(d, Metric::L2, kK, [](std::uint32_t id) { return id % 5 != 0; });
  auto got = SearchAll(ix, d, kK, o);
  for (auto& row : got) {
    EXPECT_EQ(row.size(), kK);
    for (auto id : row) EXPECT_EQ(id % 5, 0u);
  }
  double r = Recall(gt, got, kK);
  std::printf("[ filter 20%% ] recall@10 %.4f\n", r);
  EXPECT_GE(r, 0.9);
}

TEST(VamanaContinuation, EnumeratesFurtherResults) {
  const Dataset& d = Synthetic();
  const VamanaIndex& ix = Built(Metric::L2);
  VamanaSearcher<VamanaIndex> s(ix);
  auto gt100 = BruteForce(d, Metric::L2, 100);
  std::vector<std::vector<std::uint32_t>> got(d.nq());
  for (std::size_t q = 0; q < d.nq(); q++) {
    VamanaSearchOptions o;
    o.L = 40;
    s.Start(d.query(q), o);
    std::vector<VamanaResult> all;
    std::set<std::uint32_t> seen;
    for (int batch = 0; batch < 10; batch++) {
      std::vector<VamanaResult> part;
      std::size_t n = s.Next(10, &part);
      ASSERT_EQ(n, 10u);
      for (std::size_t i = 0; i < part.size(); i++) {
        if (i) {
          ASSERT_LE(part[i - 1].distance, part[i].distance) << "batch not sorted";
        }
        ASSERT_TRUE(seen.insert(part[i].id).second) << "result returned twice";
        all.push_back(part[i]);
      }
    }
    for (auto& r : all) got[q].push_back(r.id);
  }
  double r = Recall(gt100, got, 100);
  std::printf("[ continuation ] recall@100 over 10 batches of 10 %.4f\n", r);
  EXPECT_GE(r, 0.9);
}

TEST(VamanaContinuation, ExhaustsSmallGraph) {
  const Dataset& d = Synthetic();
  VamanaParams p;
  p.R = 16;
  p.L = 32;
  VamanaIndex ix = VamanaIndex::Build(d.base.data(), 500, d.dim, nullptr, p);
  ix.MarkDeleted(7);
  VamanaSearcher<VamanaIndex> s(ix);
  VamanaSearchOptions o;
  o.L = 10;
  s.Start(d.query(0), o);
  std::vector<VamanaResult> all;
  while (s.Next(64, &all) > 0) {
  }
  std::set<std::uint32_t> ids;
  for (auto& r : all) ids.insert(r.id);
  EXPECT_EQ(ids.size(), all.size());
  EXPECT_EQ(all.size(), 499u);  // every reachable row but the deleted one
  EXPECT_EQ(ids.count(7), 0u);
}

// Inner product over rows whose distances to the query are NaN, +inf or
// -inf, and L2 over a run of exact duplicates: results come closest first
// with NaN last, and a continuation enumerates every row, including those the
// medoid cannot reach (duplicates occlude each other in the prune).
TEST(VamanaContinuation, NaNDistancesAndUnreachableRows) {
  const std::size_t n = 1000, dim = 4;
  const std::vector<float> rows = testing::OverflowAndDuplicateRows(n);
  const float q[dim] = {2, 2, 1, 1};
  for (Metric m : {Metric::IP, Metric::L2}) {
    VamanaParams p;
    p.metric = m;
    p.R = 8;
    p.L = 32;
    VamanaIndex ix = VamanaIndex::Build(rows.data(), n, dim, nullptr, p);
    std::size_t nans = 0;
    for (std::size_t i = 0; i < n; i++) nans += std::isnan(Distance(m, q, &rows[i * dim], dim));
    ASSERT_EQ(nans, m == Metric::IP ? 34u : 0u);
    VamanaSearcher<VamanaIndex> s(ix);
    VamanaSearchOptions o;
    // One call for every row: exact order, NaN last.
    o.L = 16;
    s.Start(q, o);
    std::vector<VamanaResult> all;
    s.Next(n, &all);
    ASSERT_EQ(all.size(), n) << MetricName(m);
    std::size_t got_nans = 0;
    for (std::size_t i = 0; i < all.size(); i++) {
      if (i) {
        ASSERT_FALSE(DistanceLess(all[i].distance, all[i - 1].distance)) << "out of order at " << i;
      }
      got_nans += std::isnan(all[i].distance);
    }
    EXPECT_EQ(got_nans, nans);
    // Small batches: every row exactly once.
    s.Start(q, o);
    std::vector<VamanaResult> part;
    std::set<std::uint32_t> seen;
    while (s.Next(13, &part) > 0) {
    }
    for (const VamanaResult& r : part) ASSERT_TRUE(seen.insert(r.id).second) << "returned twice";
    EXPECT_EQ(seen.size(), n) << MetricName(m);
  }
}

// ---------------------------------------------------------------- pages

struct PageBuf {
  std::vector<std::uint8_t> bytes;
  std::size_t page_size;
  static const std::uint8_t* Get(void* ctx, std::size_t i) {
    auto* b = static_cast<PageBuf*>(ctx);
    if ((i + 1) * b->page_size > b->bytes.size()) return nullptr;
    return b->bytes.data() + i * b->page_size;
  }
  std::size_t pages() const { return bytes.size() / page_size; }
};

void ExpectSameResults(const VamanaIndex& ix, const PagedVamanaStore& ps, const Dataset& d) {
  VamanaSearcher<VamanaIndex> a(ix);
  VamanaSearcher<PagedVamanaStore> b(ps);
  std::vector<VamanaResult> ra, rb;
  for (std::size_t q = 0; q < d.nq(); q++) {
    a.Search(d.query(q), kK, {}, &ra);
    b.Search(d.query(q), kK, {}, &rb);
    ASSERT_EQ(ra.size(), rb.size());
    for (std::size_t i = 0; i < ra.size(); i++) {
      EXPECT_EQ(ra[i].id, rb[i].id);
      EXPECT_EQ(ra[i].label, rb[i].label);
      EXPECT_EQ(ra[i].distance, rb[i].distance);
    }
  }
}

TEST(VamanaPages, RoundTripIdentical) {
  const Dataset& d = Synthetic();
  VamanaParams p;
  p.threads = Threads();
  std::vector<std::uint64_t> labels(3000);
  for (std::size_t i = 0; i < labels.size(); i++) labels[i] = 1000000 + i * 3;
  VamanaIndex ix = VamanaIndex::Build(d.base.data(), labels.size(), d.dim, labels.data(), p);
  for (std::uint32_t i = 0; i < 3000; i += 7) ix.MarkDeleted(i);
  for (QuantKind q : {QuantKind::None, QuantKind::SQ8, QuantKind::PQ, QuantKind::INT4})
  // 512-byte pages: node records (772 bytes) larger than a page's payload.
  for (std::size_t page_size : {std::size_t(8192), std::size_t(8192 - 24 - 16), std::size_t(1024),
                                std::size_t(512)}) {
    SCOPED_TRACE(QuantKindName(q));
    ix.SetQuantization(q, 0, Threads());
    PageBuf buf{{}, page_size};
    std::uint64_t count = WriteVamanaPages(ix, CollectPages(&buf.bytes, page_size), page_size);
    ASSERT_EQ(buf.pages(), count);
    PagedVamanaStore ps(&PageBuf::Get, &buf, buf.pages(), page_size);
    ps.Verify();
    EXPECT_EQ(ps.Size(), ix.Size());
    for (std::uint32_t i = 0; i < 3000; i += 97) {
      EXPECT_EQ(ps.Deleted(i), ix.Deleted(i));
      EXPECT_EQ(ps.Label(i), ix.Label(i));
    }
    ExpectSameResults(ix, ps, d);
  }
}

TEST(VamanaPages, DeletionBitFlipInPlace) {
  const Dataset& d = Synthetic();
  VamanaParams p;
  VamanaIndex ix = VamanaIndex::Build(d.base.data(), 1000, d.dim, nullptr, p);
  PageBuf buf{SerializeVamana(ix), kDefaultPageSize};
  PagedVamanaStore ps(&PageBuf::Get, &buf, buf.pages());
  VamanaSearcher<PagedVamanaStore> s(ps);
  std::vector<VamanaResult> res;
  s.Search(d.row(123), 1, {}, &res);
  ASSERT_EQ(res[0].id, 123u);
  auto loc = ps.DeletionBit(123);
  PagedVamanaStore::SetDeletionBit(buf.bytes.data() + loc.page * kDefaultPageSize, kDefaultPageSize, loc);
  EXPECT_TRUE(ps.Deleted(123));
  s.Search(d.row(123), 1, {}, &res);
  ASSERT_EQ(res.size(), 1u);
  EXPECT_NE(res[0].id, 123u);
  ps.Verify();  // SetDeletionBit resealed the page
}

TEST(VamanaPages, CorruptOrTruncatedIsAnError) {
  const Dataset& d = Synthetic();
  VamanaParams p;
  VamanaIndex ix = VamanaIndex::Build(d.base.data(), 2000, d.dim, nullptr, p);
  const std::size_t ps = kDefaultPageSize;
  PageBuf good{SerializeVamana(ix), ps};
  auto expect_corrupt = [&](PageBuf& b, std::size_t pages, bool search) {
    try {
      PagedVamanaStore st(&PageBuf::Get, &b, pages);
      if (search) {
        VamanaSearcher<PagedVamanaStore> s(st);
        std::vector<VamanaResult> res;
        for (std::size_t q = 0; q < d.nq(); q++) s.Search(d.query(q), kK, {}, &res);
      }
      st.Verify();
      ADD_FAILURE() << "corruption not detected";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::DataCorrupted) << e.what();
    }
  };
  {  // truncated: fewer pages than the header says
    PageBuf b = good;
    b.bytes.resize(b.bytes.size() - 3 * ps);
    expect_corrupt(b, b.pages(), true);
  }
  {  // accessor claims the pages exist but cannot deliver them
    PageBuf b = good;
    std::size_t count = b.pages();
    b.bytes.resize(b.bytes.size() / 2);
    expect_corrupt(b, count, true);
  }
  {  // header bytes flipped
    PageBuf b = good;
    b.bytes[40] ^= 0x5a;
    expect_corrupt(b, b.pages(), false);
  }
  {  // wrong magic
    PageBuf b = good;
    b.bytes[0] = 'X';
    expect_corrupt(b, b.pages(), false);
  }
  {  // neighbour ids overwritten with garbage in every node page
    PageBuf b = good;
    std::mt19937 rng(5);
    for (std::size_t pg = 1; pg < 30; pg++)
      for (std::size_t i = 0; i < 200; i++) b.bytes[pg * ps + rng() % (ps - 8)] = std::uint8_t(rng());
    expect_corrupt(b, b.pages(), true);
  }
  {  // random garbage everywhere, header included
    PageBuf b = good;
    std::mt19937 rng(9);
    for (auto& c : b.bytes) c = std::uint8_t(rng());
    expect_corrupt(b, b.pages(), true);
  }
  {  // zero pages
    PageBuf b{{}, ps};
    expect_corrupt(b, 0, false);
  }
}

// ---------------------------------------------------------------- real data

TEST(VamanaGlove, CosineRecall) {
  Dataset d;
  if (!testing::GloveSample(50000, 200, &d))
    GTEST_SKIP() << "GloVe data not found: run scripts/fetch-glove.sh";
  VamanaParams p;
  p.metric = Metric::Cosine;
  p.threads = Threads();
  
  VamanaIndex ix = VamanaIndex::Build(d.base.data(), d.n(), d.dim, nullptr, p);
  auto gt = BruteForce(d, Metric::Cosine, kK);
  double r = Recall(gt, SearchAll(ix, d, kK), kK);
  std::printf("[ glove 50k cosine ] full precision recall@10 %.4f at L=100\n", r);
  EXPECT_GE(r, 0.95);
  ix.SetQuantization(QuantKind::SQ8, 0, Threads());
  r = Recall(gt, SearchAll(ix, d, kK), kK);
  std::printf("[ glove 50k cosine ] SQ8+rerank recall@10 %.4f at L=100\n", r);
  EXPECT_GE(r, 0.95);
  ix.SetQuantization(QuantKind::PQ, 0, Threads());
  r = Recall(gt, SearchAll(ix, d, kK), kK);
  std::printf("[ glove 50k cosine ] PQ(m=%zu, 16x)+rerank recall@10 %.4f at L=100\n",
              ix.quantizer().pq_m(), r);
  EXPECT_GE(r, 0.90);
}

}  // namespace
}  // namespace vecgo

namespace vecgo {
namespace {

// Inner product on raw (unnormalised) GloVe, whose norms spread widely: the
// exact top-10 is dominated by large-norm rows, and the search must still
// find them at an ordinary list size.
TEST(VamanaGlove, InnerProductRecall) {
  Dataset d;
  if (!testing::GloveSample(20000, 200, &d))
    GTEST_SKIP() << "GloVe data not found: run scripts/fetch-glove.sh";
  VamanaParams p;
  p.metric = Metric::IP;
  p.threads = Threads();
  VamanaIndex ix = VamanaIndex::Build(d.base.data(), d.n(), d.dim, nullptr, p);
  auto gt = BruteForce(d, Metric::IP, kK);
  double r100 = 0;
  for (std::uint32_t L : {100u, 200u}) {
    VamanaSearchOptions o;
    o.L = L;
    double r = Recall(gt, SearchAll(ix, d, kK, o), kK);
    if (L == 100) r100 = r;
    std::printf("[ glove 20k ip ] recall@10 %.4f at L=%u (mean degree %.1f)\n", r, L, ix.MeanDegree());
  }
  EXPECT_GE(r100, 0.95);
}

}  // namespace
}  // namespace vecgo

namespace vecgo {
namespace {

// A multi-threaded build, then searches on the built segment from several
// threads at once (each with its own searcher). Under `make tsan` this
// checks the build's locking and that searches share nothing mutable.
TEST(VamanaConcurrency, ParallelBuildThenParallelSearch) {
  const Dataset d = testing::Clustered(3000, 64, 32);
  VamanaParams p;
  p.metric = Metric::L2;
  p.R = 24;
  p.L = 40;
  p.threads = 4;
  VamanaIndex ix = VamanaIndex::Build(d.base.data(), d.n(), d.dim, nullptr, p);
  ASSERT_EQ(ix.Size(), d.n());
  auto gt = BruteForce(d, Metric::L2, kK);
  constexpr int kThreads = 4;
  std::vector<std::vector<std::vector<std::uint32_t>>> got(kThreads);
  std::vector<std::thread> th;
  for (int t = 0; t < kThreads; t++) {
    th.emplace_back([&, t] {
      VamanaSearcher<VamanaIndex> s(ix);
      std::vector<VamanaResult> res;
      got[t].resize(d.nq());
      for (std::size_t q = 0; q < d.nq(); q++) {
        s.Search(d.query(q), kK, {}, &res);
        for (auto& r : res) got[t][q].push_back(r.id);
      }
    });
  }
  for (auto& x : th) x.join();
  for (int t = 0; t < kThreads; t++) {
    EXPECT_EQ(got[t], got[0]) << "thread " << t;  // searches are deterministic
    EXPECT_GE(Recall(gt, got[t], kK), 0.9);
  }
}

}  // namespace
}  // namespace vecgo

namespace vecgo {
namespace {

// Runs one phase of a shared build with `procs` participants of one thread
// each, as the PostgreSQL glue does with its parallel workers.
void RunSharedPhase(void* block, int procs) {
  std::vector<std::thread> th;
  for (int t = 1; t < procs; t++)
    th.emplace_back([block] { VamanaSharedBuild::Work(block, 1, nullptr, nullptr); });
  VamanaSharedBuild::Work(block, 1, nullptr, nullptr);
  for (auto& x : th) x.join();
}

// The block holds offsets only: it is moved to another address between
// phases (as each process maps a DSM segment at its own address), and the
// graph it yields searches as well as a one-process build.
TEST(VamanaShared, ParticipantsBuildOneGraphAnywhereInMemory) {
  const Dataset& d = Synthetic();
  for (Metric m : {Metric::Cosine, Metric::IP}) {
    VamanaParams p;
    p.metric = m;
    p.quantization = QuantKind::SQ8;
    std::vector<std::uint64_t> labels(d.n());
    for (std::size_t i = 0; i < d.n(); i++) labels[i] = 1000 + i;
    const std::size_t bytes = VamanaSharedBuild::Bytes(d.n(), d.dim, p);
    std::vector<std::uint64_t> a((bytes + 7) / 8), b((bytes + 7) / 8);
    VamanaSharedBuild::Init(a.data(), bytes, d.base.data(), d.n(), d.dim, p);
    void* cur = a.data();
    for (int phase = 0; phase < VamanaSharedBuild::Phases(); phase++) {
      VamanaSharedBuild::BeginPhase(cur, phase);
      RunSharedPhase(cur, 3);
      void* other = cur == a.data() ? static_cast<void*>(b.data()) : static_cast<void*>(a.data());
      std::memcpy(other, cur, bytes);
      std::memset(cur, 0xAB, bytes);
      cur = other;
    }
    VamanaIndex ix = VamanaSharedBuild::Finish(cur, labels.data(), p);
    ASSERT_EQ(ix.Size(), d.n());
    EXPECT_EQ(ix.Label(7), 1007u);
    EXPECT_GT(ix.code_size(), 0u);
    EXPECT_GT(ix.MeanDegree(), 8.0);
    for (std::uint32_t i = 0; i < ix.Size(); i++) {
      NeighborSpan nb = ix.Neighbors(i);
      ASSERT_LE(nb.count, p.R);
      for (std::uint32_t j = 0; j < nb.count; j++) ASSERT_LT(nb.ids[j], ix.Size());
    }
    auto gt = BruteForce(d, m, kK);
    double r = Recall(gt, SearchAll(ix, d, kK), kK);
    std::printf("[ shared %s ] recall@10 %.4f (mean degree %.1f)\n", MetricName(m), r, ix.MeanDegree());
    EXPECT_GE(r, 0.95);
  }
}

// A participant whose progress hook says stop cancels every participant.
TEST(VamanaShared, CancelStopsEveryParticipant) {
  const Dataset d = testing::Clustered(4000, 8, 32);
  VamanaParams p;
  const std::size_t bytes = VamanaSharedBuild::Bytes(d.n(), d.dim, p);
  std::vector<std::uint64_t> a((bytes + 7) / 8);
  VamanaSharedBuild::Init(a.data(), bytes, d.base.data(), d.n(), d.dim, p);
  VamanaSharedBuild::BeginPhase(a.data(), 0);
  EXPECT_FALSE(VamanaSharedBuild::Cancelled(a.data()));
  std::atomic<int> threw{0};
  std::thread other([&] {
    try {
      VamanaSharedBuild::Work(a.data(), 1, nullptr, nullptr);
    } catch (const Error&) {
      threw++;
    }
  });
  auto stop = [](void*, std::size_t done, std::size_t) { return done < 500; };
  EXPECT_THROW(VamanaSharedBuild::Work(a.data(), 1, stop, nullptr), Error);
  other.join();
  EXPECT_EQ(threw.load(), 1);
  EXPECT_TRUE(VamanaSharedBuild::Cancelled(a.data()));
  // Too small a block and an unknown phase are refused.
  EXPECT_THROW(VamanaSharedBuild::Init(a.data(), bytes / 2, d.base.data(), d.n(), d.dim, p), Error);
  EXPECT_THROW(VamanaSharedBuild::BeginPhase(a.data(), VamanaSharedBuild::Phases()), Error);
}

// Half-precision node vectors (a halfvec column's segments): data that is
// half precision already comes back exactly, the search answers as over the
// in-memory index, and the pages hold about half the bytes per vector. Odd
// dimensions (padding keeps the neighbour ids aligned) and records larger
// than a page's payload included.

TEST(VamanaPages, HalfVectorsRoundTrip) {
  const simd::Kernels& k = simd::active();
  for (std::size_t dim : {std::size_t(32), std::size_t(33)}) {
    SCOPED_TRACE(dim);
    const std::size_t n = 2000;
    Dataset d = testing::Clustered(n, 50, dim);
    std::vector<std::uint16_t> h(d.base.size());
    k.f32_to_f16(d.base.data(), h.data(), d.base.size());
    k.f16_to_f32(h.data(), d.base.data(), d.base.size());  // the data is half precision now
    VamanaParams p;
    p.threads = Threads();
    p.R = 32;
    VamanaIndex full = VamanaIndex::Build(d.base.data(), n, dim, nullptr, p);
    p.half_vectors = true;
    VamanaIndex ix = VamanaIndex::Build(d.base.data(), n, dim, nullptr, p);
    ASSERT_TRUE(ix.half_vectors());
    for (std::size_t page_size : {kDefaultPageSize, std::size_t(256)}) {
      SCOPED_TRACE(page_size);
      PageBuf buf{{}, page_size}, fbuf{{}, page_size};
      WriteVamanaPages(ix, CollectPages(&buf.bytes, page_size), page_size);
      WriteVamanaPages(full, CollectPages(&fbuf.bytes, page_size), page_size);
      PagedVamanaStore ps(&PageBuf::Get, &buf, buf.pages(), page_size);
      ps.Verify();
      EXPECT_TRUE(ps.half_vectors());
      for (std::uint32_t i = 0; i < n; i += 37) {
        const float* v = ps.Vector(i);
        for (std::size_t j = 0; j < dim; j++) ASSERT_EQ(v[j], ix.Vector(i)[j]) << i << " " << j;
      }
      ExpectSameResults(ix, ps, d);
      if (page_size == kDefaultPageSize) {
        // Node records: dim*2 (padded) + 4 + 4R bytes against dim*4 + 4 + 4R.
        const double expect = double(((dim * 2 + 3) & ~std::size_t(3)) + 4 + 4 * p.R) / double(dim * 4 + 4 + 4 * p.R);
        EXPECT_LT(double(buf.pages()) / double(fbuf.pages()), expect + 0.1);
      }
    }
  }
}

}  // namespace
}  // namespace vecgo
