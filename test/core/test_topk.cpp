// Top-k heap and the k-way merge of candidate streams.
#include <gtest/gtest.h>

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

// Random sorted streams with random batch behaviour.
class RandomStream final : public CandidateStream {
 public:
  RandomStream(std::vector<Neighbor> items, std::uint32_t seed) : items_(std::move(items)), rng_(seed) {}
  std::size_t Next(std::size_t max, std::vector<Neighbor>* out) override {
    calls++;
    std::size_t n = std::min<std::size_t>(1 + rng_() % max, items_.size() - pos_);
    out->insert(out->end(), items_.begin() + pos_, items_.begin() + pos_ + n);
    pos_ += n;
    pulled += n;
    return n;
  }
  std::size_t calls = 0, pulled = 0;

 private:
  std::vector<Neighbor> items_;
  std::size_t pos_ = 0;
  std::mt19937 rng_;
};

TEST(TopKTest, MergeEqualsGlobalSort) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 30; trial++) {
    std::size_t nstreams = 1 + rng() % 8;
    std::vector<Neighbor> all;
    TopKMerger merger(MergeOptions{1 + rng() % 32, false});
    std::vector<std::unique_ptr<RandomStream>> streams;
    std::uint64_t label = 0;
    for (std::size_t s = 0; s < nstreams; s++) {
      std::vector<Neighbor> items(rng() % 300);
      for (auto& n : items) n = {static_cast<float>(rng() % 1000) / 10.0f, label++};
      std::sort(items.begin(), items.end());
      all.insert(all.end(), items.begin(), items.end());
      streams.push_back(std::make_unique<RandomStream>(items, rng()));
      merger.AddStream(streams.back().get());
    }
    std::sort(all.begin(), all.end());
    // Pull in random-sized "give me more" steps.
    std::vector<Neighbor> got;
    while (merger.Next(1 + rng() % 50, &got) > 0) {
    }
    EXPECT_EQ(got, all);
    EXPECT_EQ(merger.returned(), all.size());
    Neighbor x;
    EXPECT_FALSE(merger.Next(&x));
  }
}

TEST(TopKTest, MergePullsLazily) {
  std::vector<Neighbor> a, b;
  for (std::uint64_t i = 0; i < 10000; i++) {
    a.push_back({static_cast<float>(i), i});
    b.push_back({static_cast<float>(i) + 0.5f, 100000 + i});
  }
  RandomStream sa(a, 1), sb(b, 2);
  TopKMerger merger(MergeOptions{16, false});
  merger.AddStream(&sa);
  merger.AddStream(&sb);
  std::vector<Neighbor> got;
  merger.Next(10, &got);
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got[0].label, 0u);
  EXPECT_EQ(got[1].label, 100000u);
  EXPECT_LT(sa.pulled + sb.pulled, 200u);  // far from the 20000 available
  // "More" continues exactly where the first call stopped.
  merger.Next(10, &got);
  ASSERT_EQ(got.size(), 20u);
  for (std::size_t i = 0; i < 20; i++) EXPECT_EQ(got[i].distance, 0.5f * i);
}

TEST(TopKTest, MergeDeduplicatesLabels) {
  // The same row in two tiers (e.g. L0 and a segment): kept once, closest.
  std::vector<Neighbor> a = {{1.0f, 7}, {2.0f, 8}, {5.0f, 9}};
  std::vector<Neighbor> b = {{0.5f, 9}, {2.0f, 7}, {3.0f, 10}};
  TopKMerger merger(MergeOptions{2, true});
  merger.AddStream(std::make_unique<VectorStream>(a));
  merger.AddStream(std::make_unique<VectorStream>(b));
  std::vector<Neighbor> got;
  merger.Next(100, &got);
  std::vector<Neighbor> want = {{0.5f, 9}, {1.0f, 7}, {2.0f, 8}, {3.0f, 10}};
  EXPECT_EQ(got, want);
}

TEST(TopKTest, FunctionStreamAndEmptyStreams) {
  int left = 3;
  TopKMerger merger;
  merger.AddStream(std::make_unique<VectorStream>(std::vector<Neighbor>{}));
  merger.AddStream(std::make_unique<FunctionStream>([&](std::size_t, std::vector<Neighbor>* out) {
    if (left == 0) return std::size_t{0};
    out->push_back({static_cast<float>(3 - left), static_cast<std::uint64_t>(left)});
    left--;
    return std::size_t{1};
  }));
  std::vector<Neighbor> got;
  EXPECT_EQ(merger.Next(10, &got), 3u);
  EXPECT_EQ(merger.Next(10, &got), 0u);
  EXPECT_EQ(got[2].distance, 2.0f);
}

}  // namespace
}  // namespace vecgo
