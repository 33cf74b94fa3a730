// Top-k heap and the scan's batched merge of candidate streams.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "vecgo/topk.h"

namespace vecgo {
namespace {

TEST(TopKTest, HeapKeepsTheKSmallest) {
  std::mt19937 rng(3);
  for (std::size_t k : {std::size_t{0}, std::size_t{1}, std::size_t{10}, std::size_t{1000}}) {
    TopKHeap heap(k);
    std::vector<Neighbor> all;
    for (std::uint64_t i = 0; i < 500; i++) {
      float d = static_cast<float>(rng() % 50);  // many ties
      all.push_back({d, i});
      heap.Push(d, i);
    }
    std::sort(all.begin(), all.end());
    all.resize(std::min<std::size_t>(k, all.size()));
    EXPECT_EQ(heap.TakeSorted(), all) << "k=" << k;
    EXPECT_TRUE(heap.empty());
  }
}

// A tier as the scan sees it: Next(max) continues after what it yielded.
// An exact tier yields its rows in order; an approximate one yields them in
// an order perturbed within a window.
struct FakeTier {
  std::vector<Neighbor> rows;  // in the order the tier yields them
  std::size_t pos = 0;
  std::size_t Next(std::size_t max, std::vector<Neighbor>* out) {
    out->clear();
    while (out->size() < max && pos < rows.size()) out->push_back(rows[pos++]);
    return out->size();
  }
};

// Runs a whole scan: batches of `first`, doubling; returns every row in the
// order the scan returns them.
std::vector<Neighbor> RunScan(std::vector<FakeTier>& tiers, const std::vector<bool>& exact, bool strict,
                              std::size_t first) {
  BatchMerger m;
  std::unique_ptr<bool[]> ex(new bool[tiers.size()]);
  for (std::size_t i = 0; i < tiers.size(); i++) ex[i] = exact[i];
  m.Reset(tiers.size(), ex.get(), strict);
  std::vector<Neighbor> all, batch, got;
  for (std::size_t cap = first; !m.done(); cap *= 2) {
    for (std::size_t s = 0; s < tiers.size(); s++) {
      std::size_t want = m.Wanted(s, cap);
      if (want == 0) continue;
      std::size_t n = tiers[s].Next(want, &got);
      m.Offer(s, got.data(), n, n == want);
    }
    m.TakeBatch(cap, &batch);
    all.insert(all.end(), batch.begin(), batch.end());
    if (cap > (1u << 20)) ADD_FAILURE() << "scan does not end";
  }
  return all;
}

std::vector<Neighbor> RandomRows(std::mt19937& rng, std::size_t n, std::uint64_t* label) {
  std::vector<Neighbor> rows(n);
  for (auto& r : rows) r = {static_cast<float>(rng() % 1000) / 10.0f, (*label)++};  // ties on purpose
  std::sort(rows.begin(), rows.end());
  return rows;
}

TEST(BatchMergerTest, ExactTiersGiveTheSortedUnion) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 50; trial++) {
    std::size_t ntiers = 1 + rng() % 8;
    std::vector<FakeTier> tiers(ntiers);
    std::vector<Neighbor> want;
    std::uint64_t label = 0;
    for (auto& t : tiers) {
      t.rows = RandomRows(rng, rng() % 400, &label);
      want.insert(want.end(), t.rows.begin(), t.rows.end());
    }
    std::sort(want.begin(), want.end());
    std::vector<bool> exact(ntiers, true);
    EXPECT_EQ(RunScan(tiers, exact, trial % 2 == 0, 1 + rng() % 40), want) << "trial " << trial;
  }
}

// A graph's continuation search: rows come in roughly increasing order.
std::vector<Neighbor> Perturbed(std::mt19937& rng, std::vector<Neighbor> rows) {
  for (std::size_t i = 0; i + 1 < rows.size(); i++)
    if (rng() % 4 == 0) std::swap(rows[i], rows[std::min(rows.size() - 1, i + 1 + rng() % 5)]);
  return rows;
}

TEST(BatchMergerTest, ApproximateTierRelaxedReturnsEveryRowOnce) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 30; trial++) {
    std::uint64_t label = 0;
    std::vector<FakeTier> tiers(3);
    tiers[0].rows = RandomRows(rng, 300, &label);
    tiers[1].rows = Perturbed(rng, RandomRows(rng, 500, &label));
    tiers[2].rows = RandomRows(rng, 50, &label);
    std::vector<Neighbor> want;
    for (auto& t : tiers) want.insert(want.end(), t.rows.begin(), t.rows.end());
    std::sort(want.begin(), want.end());
    std::vector<Neighbor> got = RunScan(tiers, {true, false, true}, false, 1 + rng() % 20);
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want);
  }
}

TEST(BatchMergerTest, ApproximateTierStrictNeverGoesBackward) {
  std::mt19937 rng(9);
  std::size_t dropped_total = 0;
  for (int trial = 0; trial < 30; trial++) {
    std::uint64_t label = 0;
    std::vector<FakeTier> tiers(2);
    tiers[0].rows = RandomRows(rng, 200, &label);
    tiers[1].rows = Perturbed(rng, RandomRows(rng, 400, &label));
    std::vector<Neighbor> got = RunScan(tiers, {true, false}, true, 1 + rng() % 10);
    for (std::size_t i = 1; i < got.size(); i++) ASSERT_TRUE(got[i - 1] < got[i]) << "at " << i;
    // Every exact row is returned; only late approximate rows may be dropped.
    std::size_t exact_rows = 0;
    for (const Neighbor& n : got) exact_rows += n.label < 200;
    EXPECT_EQ(exact_rows, 200u);
    dropped_total += 600 - got.size();
  }
  EXPECT_GT(dropped_total, 0u);  // the perturbation does make rows arrive late
}

// NaN distances (inner product and cosine overflow for finite vectors) sort
// after everything, +inf included, as PostgreSQL sorts float8; all NaNs are
// equal. A heap or merge ordered by plain `<` loses or repeats rows then.
TEST(TopKTest, NaNSortsLastEverywhere) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_TRUE(DistanceLess(inf, nan));
  EXPECT_TRUE(DistanceLess(-inf, nan));
  EXPECT_FALSE(DistanceLess(nan, inf));
  EXPECT_FALSE(DistanceLess(nan, nan));
  EXPECT_FALSE(DistanceLess(-nan, nan));
  EXPECT_TRUE(DistanceEqual(nan, -nan));
  EXPECT_TRUE(DistanceLess(1.0f, 2.0f));
  EXPECT_FALSE(DistanceLess(2.0f, 2.0f));

  // Rows whose distances mix NaN (both signs: x86 makes inf - inf a negative
  // NaN), infinities and ties.
  std::mt19937 rng(11);
  std::vector<Neighbor> all;
  for (std::uint64_t i = 0; i < 600; i++) {
    float d;
    switch (rng() % 6) {
      case 0: d = nan; break;
      case 1: d = -nan; break;
      case 2: d = inf; break;
      case 3: d = -inf; break;
      default: d = static_cast<float>(rng() % 40);
    }
    all.push_back({d, i});
  }
  std::vector<Neighbor> sorted = all;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 1; i < sorted.size(); i++) {
    ASSERT_FALSE(sorted[i] < sorted[i - 1]);
    if (std::isnan(sorted[i - 1].distance)) ASSERT_TRUE(std::isnan(sorted[i].distance)) << "NaN before a number";
  }
  for (std::size_t k : {std::size_t{1}, std::size_t{50}, std::size_t{450}, std::size_t{600}}) {
    TopKHeap heap(k);
    for (const Neighbor& n : all) heap.Push(n.distance, n.label);
    std::vector<Neighbor> want(sorted.begin(), sorted.begin() + k);
    EXPECT_EQ(heap.TakeSorted(), want) << "k=" << k;
  }

  // A scan over exact tiers holding such rows returns every row once, in
  // that order, in batches of any size.
  for (std::size_t first : {std::size_t{1}, std::size_t{7}, std::size_t{64}}) {
    std::vector<FakeTier> tiers(3);
    for (std::size_t i = 0; i < all.size(); i++) tiers[i % 3].rows.push_back(all[i]);
    for (auto& t : tiers) std::sort(t.rows.begin(), t.rows.end());
    EXPECT_EQ(RunScan(tiers, {true, true, true}, false, first), sorted) << "first batch " << first;
  }
  // An approximate tier among them: relaxed order still returns every row.
  std::vector<FakeTier> tiers(2);
  for (std::size_t i = 0; i < all.size(); i++) tiers[i % 2].rows.push_back(all[i]);
  std::sort(tiers[0].rows.begin(), tiers[0].rows.end());
  std::vector<Neighbor> got = RunScan(tiers, {true, false}, false, 10);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, sorted);
}

TEST(BatchMergerTest, EmptyTiersAndNoTiers) {
  std::vector<FakeTier> none;
  EXPECT_TRUE(RunScan(none, {}, false, 10).empty());
  std::vector<FakeTier> empty(2);
  EXPECT_TRUE(RunScan(empty, {true, false}, false, 10).empty());
}

}  // namespace
}  // namespace vecgo
