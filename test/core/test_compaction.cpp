// Size-tiered compaction policy.
#include <gtest/gtest.h>

#include <vector>

#include "vecgo/compaction.h"

namespace vecgo {
namespace {

struct Planned {
  CompactionPlan plan;
  std::vector<int> group;
  std::vector<std::uint64_t> rows;
};

Planned Plan(const std::vector<SegmentRows>& segs, const CompactionPolicy& p) {
  Planned out;
  out.group.assign(segs.size(), 99);
  out.rows.assign(segs.size(), 0);
  out.plan = PlanCompaction(segs.data(), segs.size(), p, out.group.data(), out.rows.data());
  out.rows.resize(out.plan.groups);
  return out;
}

TEST(CompactionPolicy, SizeTiersSpanAFactorOfFour) {
  EXPECT_EQ(SizeTier(0), -1);
  EXPECT_EQ(SizeTier(1), 0);
  EXPECT_EQ(SizeTier(3), 0);
  EXPECT_EQ(SizeTier(4), 1);
  EXPECT_EQ(SizeTier(15), 1);
  EXPECT_EQ(SizeTier(16), 2);
  EXPECT_EQ(SizeTier(1000), 4);   // 256..1023
  EXPECT_EQ(SizeTier(1024), 5);
  EXPECT_EQ(SizeTier(UINT64_MAX), 32);  // the double rounds up to 2^64
}

TEST(CompactionPolicy, MergesATierOnlyAtTheThreshold) {
  CompactionPolicy p;
  p.threshold = 4;
  std::vector<SegmentRows> segs(3, SegmentRows{1000, 0});
  Planned a = Plan(segs, p);
  EXPECT_EQ(a.plan.groups, 0u);
  EXPECT_EQ(a.group, std::vector<int>(3, kCompactStay));

  segs.push_back({700, 0});     // same tier (256..1023)
  segs.push_back({5000, 0});    // another tier: stays
  Planned b = Plan(segs, p);
  ASSERT_EQ(b.plan.groups, 1u);
  EXPECT_EQ(b.plan.members, 4u);
  EXPECT_EQ(b.group, (std::vector<int>{0, 0, 0, 0, kCompactStay}));
  EXPECT_EQ(b.rows[0], 3700u);
}

TEST(CompactionPolicy, TiersGroupByLiveRowsAndEachTierIsOneOutput) {
  CompactionPolicy p;
  p.threshold = 2;
  // Live rows: 1000, 100, 900, 90, 2000 (deleted rows move 1,100 to tier 4).
  std::vector<SegmentRows> segs = {{1000, 0}, {100, 0}, {1100, 200}, {90, 0}, {2000, 0}};
  Planned r = Plan(segs, p);
  ASSERT_EQ(r.plan.groups, 2u);
  EXPECT_EQ(r.group, (std::vector<int>{0, 1, 0, 1, kCompactStay}));
  EXPECT_EQ(r.rows, (std::vector<std::uint64_t>{1900, 190}));
}

TEST(CompactionPolicy, DeletedFractionRewritesAndAllDeletedDrops) {
  CompactionPolicy p;
  p.threshold = 8;
  std::vector<SegmentRows> segs = {{1000, 199}, {1000, 200}, {1000, 1000}, {50, 0}};
  Planned r = Plan(segs, p);
  EXPECT_EQ(r.group, (std::vector<int>{kCompactStay, 0, kCompactDrop, kCompactStay}));
  ASSERT_EQ(r.plan.groups, 1u);
  EXPECT_EQ(r.rows[0], 800u);
  EXPECT_EQ(r.plan.members, 2u);

  p.rewrite_num = 1;
  p.rewrite_den = 10;  // rewrite at a tenth
  Planned t = Plan(segs, p);
  EXPECT_EQ(t.group, (std::vector<int>{0, 1, kCompactDrop, kCompactStay}));
}

TEST(CompactionPolicy, ATierTooLargeForMemoryIsSplitNotSkipped) {
  CompactionPolicy p;
  p.threshold = 3;
  p.max_rows = 2500;
  std::vector<SegmentRows> segs(5, SegmentRows{1000, 0});
  Planned r = Plan(segs, p);
  // Five of 1000 do not fit one output (2500): two outputs of two, and the
  // fifth pairs with nothing.
  ASSERT_EQ(r.plan.groups, 2u);
  EXPECT_EQ(r.group, (std::vector<int>{0, 0, 1, 1, kCompactStay}));
  EXPECT_EQ(r.rows, (std::vector<std::uint64_t>{2000, 2000}));
  EXPECT_EQ(r.plan.members, 4u);
  EXPECT_EQ(r.plan.skipped_segments, 1u);
  EXPECT_EQ(r.plan.skipped_rows, 5000u);

  // When not even two members fit, the tier is skipped and reported once.
  p.max_rows = 1500;
  Planned none = Plan(segs, p);
  EXPECT_EQ(none.plan.groups, 0u);
  EXPECT_EQ(none.plan.skipped_segments, 5u);
  EXPECT_EQ(none.plan.skipped_rows, 5000u);

  // A graph output must also fit its build: 3000 rows are a graph here.
  CompactionPolicy g;
  g.threshold = 3;
  g.graph_rows = 2000;
  g.max_graph_rows = 2999;
  std::vector<SegmentRows> three(3, SegmentRows{1000, 0});
  Planned two = Plan(three, g);
  ASSERT_EQ(two.plan.groups, 1u);
  EXPECT_EQ(two.group, (std::vector<int>{0, 0, kCompactStay}));
  g.max_graph_rows = 3000;
  EXPECT_EQ(Plan(three, g).group, (std::vector<int>{0, 0, 0}));
  // Below graph_rows the output is Flat and only max_rows counts.
  g.graph_rows = 5000;
  g.max_graph_rows = 0;
  EXPECT_EQ(Plan(three, g).plan.groups, 1u);

  // A rewrite that does not fit is skipped too.
  CompactionPolicy w;
  w.max_rows = 500;
  Planned rw = Plan({{1000, 400}}, w);
  EXPECT_EQ(rw.group[0], kCompactStay);
  EXPECT_EQ(rw.plan.skipped_segments, 1u);
  EXPECT_EQ(rw.plan.skipped_rows, 600u);
}

TEST(CompactionPolicy, ExactSegmentsOfGraphSizeBecomeGraphs) {
  CompactionPolicy p;
  p.threshold = 8;
  p.graph_rows = 5000;
  p.max_graph_rows = 20000;
  // Flat of 6000 live: rewritten alone; a graph of 6000 and a Flat below
  // graph size stay; a Flat too large for a graph build is reported; one
  // past the deleted fraction is rewritten for that reason first.
  std::vector<SegmentRows> segs = {{6000, 0, false}, {6000, 0, true}, {4000, 0, false}, {30000, 0, false},
                                   {7000, 2000, false}};
  Planned r = Plan(segs, p);
  EXPECT_EQ(r.group, (std::vector<int>{1, kCompactStay, kCompactStay, kCompactStay, 0}));
  EXPECT_EQ(r.rows, (std::vector<std::uint64_t>{5000, 6000}));
  EXPECT_EQ(r.plan.promoted, 1u);
  EXPECT_EQ(r.plan.skipped_segments, 1u);
  EXPECT_EQ(r.plan.skipped_rows, 30000u);
}

TEST(CompactionPolicy, ExactSegmentsWaitingTogetherBecomeOneGraph) {
  CompactionPolicy p;
  p.threshold = 8;
  p.graph_rows = 5000;
  p.max_graph_rows = 19000;
  // Three sealed logs and a fourth that would not fit with them: two
  // graphs; a graph and a small Flat between them stay.
  std::vector<SegmentRows> segs = {{6000, 0, false}, {6000, 0, true}, {7000, 1000, false},
                                   {2000, 0, false}, {8000, 0, false}, {9000, 0, false}};
  Planned r = Plan(segs, p);
  EXPECT_EQ(r.group, (std::vector<int>{0, kCompactStay, 0, kCompactStay, 1, 1}));
  EXPECT_EQ(r.rows, (std::vector<std::uint64_t>{12000, 17000}));
  EXPECT_EQ(r.plan.promoted, 4u);
  EXPECT_EQ(r.plan.members, 4u);
  // Room for two replaced segments: the first two promotions only.
  p.max_members = 2;
  Planned m = Plan(segs, p);
  EXPECT_EQ(m.group, (std::vector<int>{0, kCompactStay, 0, kCompactStay, kCompactStay, kCompactStay}));
}

TEST(CompactionPolicy, NeverReplacesMoreThanMaxMembers) {
  CompactionPolicy p;
  p.threshold = 4;
  p.max_members = 5;
  // Two tiers of four: only the first fits the room; the second's four are
  // more than the one slot left.
  std::vector<SegmentRows> segs = {{1000, 0}, {1000, 0}, {1000, 0}, {1000, 0},
                                   {10, 0},   {10, 0},   {10, 0},   {10, 0},
                                   {100, 100}, {100, 100}};
  Planned r = Plan(segs, p);
  EXPECT_EQ(r.plan.members, 5u);
  EXPECT_EQ(r.group, (std::vector<int>{0, 0, 0, 0, kCompactStay, kCompactStay, kCompactStay,
                                       kCompactStay, kCompactDrop, kCompactStay}));
  // A tier larger than the room merges from a later segment with fewer members.
  p.max_members = 3;
  std::vector<SegmentRows> four(4, SegmentRows{1000, 0});
  p.threshold = 3;
  Planned f = Plan(four, p);
  EXPECT_EQ(f.group, (std::vector<int>{kCompactStay, 0, 0, 0}));
}

}  // namespace
}  // namespace vecgo
