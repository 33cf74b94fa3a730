// Flat exact scan: equal to brute force for every metric, over arrays and
// over page-stream record regions; deletions, filters, continuation.
#include <gtest/gtest.h>

#include <random>

#include "testdata.h"
#include "vecgo/flat.h"

namespace vecgo {
namespace {

using testing::Dataset;

constexpr Metric kMetrics[] = {Metric::L2, Metric::IP, Metric::Cosine, Metric::L1};
constexpr std::uint32_t kRowsMagic = 0x574F5246u;

// Rows as page-stream records: [u64 label][dim floats], never straddling.
struct PagedRows {
  std::vector<std::uint8_t> pages;
  RecordRegion region;
};

PagedRows WriteRows(const Dataset& d, std::size_t page_size = kDefaultPageSize) {
  PagedRows p;
  PageStreamWriter w(kRowsMagic, 1, CollectPages(&p.pages, page_size), page_size, 5);
  const std::uint32_t rec = static_cast<std::uint32_t>(8 + d.dim * sizeof(float));
  std::vector<std::uint8_t> buf(rec);
  w.BeginRecords(rec);
  for (std::size_t i = 0; i < d.n(); i++) {
    std::uint64_t label = 1000000 + i;
    std::memcpy(buf.data(), &label, 8);
    std::memcpy(buf.data() + 8, d.row(i), d.dim * sizeof(float));
    w.PutRecord(buf.data());
  }
  p.region = w.EndRecords();
  w.Put(p.region);
  w.Finish();
  return p;
}

std::vector<std::uint32_t> Ids(const std::vector<Neighbor>& r) {
  std::vector<std::uint32_t> ids;
  for (const auto& n : r) ids.push_back(static_cast<std::uint32_t>(n.label));
  return ids;
}

TEST(FlatTest, ExactOverPagesForEveryMetric) {
  Dataset d = testing::Clustered(3000, 20, 48);
  d.base[5 * d.dim] = 0;  // a few odd rows: a zero vector (cosine 1 from everything)
  std::fill_n(d.base.begin() + 7 * d.dim, d.dim, 0.0f);
  PagedRows p = WriteRows(d);
  auto reader = PageStreamReader::FromBuffer(p.pages.data(), p.pages.size(), kDefaultPageSize,
                                             kRowsMagic, 1);
  ASSERT_GT(p.region.PageCount(), 10u);
  for (Metric m : kMetrics) {
    auto truth = testing::BruteForce(d, m, 10);
    for (std::size_t q = 0; q < d.nq(); q++) {
      auto got = FlatSearch(d.query(q), d.dim, m, FlatPageRuns(&reader, p.region, 8), 10);
      ASSERT_EQ(Ids(got), truth[q]) << MetricName(m) << " query " << q;
      for (const auto& n : got)
        EXPECT_EQ(n.distance, Distance(m, d.query(q), d.row(n.label), d.dim));
      auto arr = FlatSearch(d.query(q), d.dim, m, FlatArrayRuns(d.base.data(), d.n(), d.dim), 10);
      ASSERT_EQ(arr, got);
    }
  }
}

TEST(FlatTest, ManySmallRunsWithStride) {
  // Runs of 1..7 rows taken from an interleaved layout (stride > row).
  Dataset d = testing::Clustered(500, 5, 16);
  const std::size_t stride = (d.dim + 3) * sizeof(float);
  std::vector<std::uint8_t> wide(d.n() * stride);
  for (std::size_t i = 0; i < d.n(); i++) std::memcpy(wide.data() + i * stride, d.row(i), d.dim * 4);
  std::mt19937 rng(9);
  for (Metric m : kMetrics) {
    auto truth = testing::BruteForce(d, m, 20);
    for (std::size_t q = 0; q < d.nq(); q++) {
      std::size_t at = 0;
      FlatRunSource src = [&](FlatRun* run) {
        if (at >= d.n()) return false;
        std::size_t n = std::min<std::size_t>(1 + rng() % 7, d.n() - at);
        *run = FlatRun{wide.data() + at * stride, n, stride, at};
        at += n;
        return true;
      };
      EXPECT_EQ(Ids(FlatSearch(d.query(q), d.dim, m, src, 20)), truth[q]);
    }
  }
}

TEST(FlatTest, DeletionBitmapAndFilter) {
  Dataset d = testing::Clustered(2000, 10, 32);
  PagedRows p = WriteRows(d);
  auto reader = PageStreamReader::FromBuffer(p.pages.data(), p.pages.size(), kDefaultPageSize,
                                             kRowsMagic, 1);
  std::vector<std::uint64_t> bits((d.n() + 63) / 64, 0);
  auto del = [](std::uint32_t id) { return id % 3 == 0 || (id > 500 && id < 700); };
  for (std::uint32_t i = 0; i < d.n(); i++)
    if (del(i)) bits[i / 64] |= std::uint64_t{1} << (i % 64);
  DeletionBitmap bitmap{bits.data(), d.n()};
  auto odd = [](std::uint64_t id) { return id % 2 == 1; };
  for (Metric m : kMetrics) {
    auto truth = testing::BruteForce(d, m, 10, del);
    auto truth_f = testing::BruteForce(d, m, 10, [&](std::uint32_t id) { return del(id) || !odd(id); });
    for (std::size_t q = 0; q < d.nq(); q++) {
      EXPECT_EQ(Ids(FlatSearch(d.query(q), d.dim, m, FlatPageRuns(&reader, p.region, 8), 10, bitmap)),
                truth[q]);
      EXPECT_EQ(Ids(FlatSearch(d.query(q), d.dim, m, FlatPageRuns(&reader, p.region, 8), 10, bitmap,
                               odd)),
                truth_f[q]);
    }
  }
}

TEST(FlatTest, ContinuationEnumeratesEverythingInOrder) {
  Dataset d = testing::Clustered(2500, 3, 24);
  PagedRows p = WriteRows(d);
  auto reader = PageStreamReader::FromBuffer(p.pages.data(), p.pages.size(), kDefaultPageSize,
                                             kRowsMagic, 1);
  std::vector<std::uint64_t> bits((d.n() + 63) / 64, 0);
  for (std::uint32_t i = 0; i < d.n(); i += 10) bits[i / 64] |= std::uint64_t{1} << (i % 64);
  std::mt19937 rng(5);
  for (Metric m : kMetrics) {
    for (std::size_t q = 0; q < d.nq(); q++) {
      std::vector<Neighbor> want;
      for (std::uint32_t i = 0; i < d.n(); i++)
        if (i % 10 != 0) want.push_back({Distance(m, d.query(q), d.row(i), d.dim), i});
      std::sort(want.begin(), want.end());
      FlatScan scan(d.query(q), d.dim, m, FlatPageRuns(&reader, p.region, 8),
                    DeletionBitmap{bits.data(), d.n()});
      std::vector<Neighbor> got;
      while (scan.Next(1 + rng() % 300, &got) > 0) {
      }
      EXPECT_EQ(got, want) << MetricName(m);
      EXPECT_EQ(scan.scanned(), d.n());
    }
  }
}

TEST(FlatTest, ScansMergeAcrossSegments) {
  // Two "segments" (an array and a paged one) behind the k-way merge give the
  // exact global order, and "more" keeps going.
  Dataset d = testing::Clustered(3000, 5, 32);
  Dataset tail = d;
  tail.base.assign(d.base.begin() + 1000 * d.dim, d.base.end());
  PagedRows p = WriteRows(tail);
  auto reader = PageStreamReader::FromBuffer(p.pages.data(), p.pages.size(), kDefaultPageSize,
                                             kRowsMagic, 1);
  for (std::size_t q = 0; q < d.nq(); q++) {
    FlatScan a(d.query(q), d.dim, Metric::L2, FlatArrayRuns(d.base.data(), 1000, d.dim));
    FlatScan b(d.query(q), d.dim, Metric::L2, FlatPageRuns(&reader, p.region, 8, 1000));
    TopKMerger merger;
    merger.AddStream(&a);
    merger.AddStream(&b);
    std::vector<Neighbor> got;
    merger.Next(10, &got);
    EXPECT_EQ(Ids(got), testing::BruteForce(d, Metric::L2, 10)[q]);
    merger.Next(90, &got);
    EXPECT_EQ(Ids(got), testing::BruteForce(d, Metric::L2, 100)[q]);
  }
}

TEST(FlatTest, CorruptPagesRaiseErrors) {
  Dataset d = testing::Clustered(500, 1, 16);
  PagedRows p = WriteRows(d);
  p.pages[3 * kDefaultPageSize + 100] ^= 1;
  auto reader = PageStreamReader::FromBuffer(p.pages.data(), p.pages.size(), kDefaultPageSize,
                                             kRowsMagic, 1);
  EXPECT_THROW(FlatSearch(d.query(0), d.dim, Metric::L2, FlatPageRuns(&reader, p.region, 8), 10),
               Error);
  RecordRegion bad = p.region;
  bad.count += 10000;
  EXPECT_THROW(FlatPageRuns(&reader, bad, 8), Error);
}

TEST(FlatTest, SegmentRoundTrip) {
  // 40 dims fit a page; 3000 dims (12 KB rows) do not and still work.
  for (std::size_t dim : {std::size_t{40}, std::size_t{3000}}) {
    Dataset d = testing::Clustered(dim > 1000 ? 300 : 3000, 5, dim);
    std::vector<std::uint8_t> pages;
    PageStreamWriter w(kFlatSegmentMagic, kFlatSegmentVersion, CollectPages(&pages), kDefaultPageSize, 9);
    FlatSegmentWriter fw(&w, d.dim, Metric::Cosine);
    for (std::size_t i = 0; i < d.n(); i++) fw.Add(5000 + i, d.row(i));
    fw.Finish();
    w.Finish();
    auto r = PageStreamReader::FromBuffer(pages.data(), pages.size(), kDefaultPageSize,
                                          kFlatSegmentMagic, kFlatSegmentVersion, 9);
    FlatSegment seg = FlatSegment::Open(&r);
    EXPECT_EQ(seg.dim, d.dim);
    EXPECT_EQ(seg.metric, Metric::Cosine);
    ASSERT_EQ(seg.size(), d.n());
    EXPECT_EQ(seg.Label(&r, 17), 5017u);
    std::vector<float> v(d.dim);
    seg.Vector(&r, 17, v.data());
    EXPECT_EQ(0, std::memcmp(v.data(), d.row(17), d.dim * 4));
    auto truth = testing::BruteForce(d, Metric::Cosine, 10);
    for (std::size_t q = 0; q < d.nq(); q++)
      EXPECT_EQ(Ids(FlatSearch(d.query(q), d.dim, seg.metric, seg.Runs(&r), 10)), truth[q]);
    EXPECT_THROW(seg.Label(&r, d.n()), Error);
  }
  std::vector<std::uint8_t> pages;
  PageStreamWriter w(kFlatSegmentMagic, kFlatSegmentVersion, CollectPages(&pages));
  std::vector<float> nan(4, std::nanf(""));
  FlatSegmentWriter fw(&w, 4, Metric::L2);
  EXPECT_THROW(fw.Add(1, nan.data()), Error);
}

}  // namespace
}  // namespace vecgo
