// Size-tiered compaction policy (see compaction.h).
#include "vecgo/compaction.h"

#include <algorithm>
#include <cmath>

namespace vecgo {

int SizeTier(std::uint64_t live) {
  return live == 0 ? -1 : static_cast<int>(std::floor(std::log2(static_cast<double>(live)) / 2.0));
}

CompactionPlan PlanCompaction(const SegmentRows* segs, std::size_t n, const CompactionPolicy& policy,
                              int* group, std::uint64_t* group_rows) {
  CompactionPlan plan;
  auto live = [&](std::size_t i) { return segs[i].rows - std::min(segs[i].rows, segs[i].deleted); };
  auto fits = [&](std::uint64_t rows) {
    return rows <= policy.max_rows && (rows < policy.graph_rows || rows <= policy.max_graph_rows);
  };
  auto skip = [&](std::size_t count, std::uint64_t rows) {
    plan.skipped_segments += count;
    plan.skipped_rows = std::max(plan.skipped_rows, rows);
  };
  for (std::size_t i = 0; i < n; i++) group[i] = kCompactStay;

  // Tiers with `threshold` or more segments. A tier's members are packed in
  // order into outputs that fit; an output needs two members (one alone
  // would be a plain copy). What cannot pair up within the memory limit is
  // reported once a tier.
  bool reported[64] = {};
  for (std::size_t i = 0; i < n; i++) {
    if (group[i] != kCompactStay || live(i) == 0) continue;
    const int tier = SizeTier(live(i));
    auto member = [&](std::size_t j) { return group[j] == kCompactStay && live(j) > 0 && SizeTier(live(j)) == tier; };
    std::size_t count = 0;
    std::uint64_t all = 0;
    for (std::size_t j = i; j < n; j++)
      if (member(j)) {
        count++;
        all += live(j);
      }
    if (count < policy.threshold || count > policy.max_members - plan.members) continue;
    // The open output: its members carry group number `g` already; one that
    // closes with a single member gives it back.
    const int g0 = static_cast<int>(plan.groups);
    int g = g0;
    std::uint64_t total = 0;
    std::size_t open = 0, first = 0, packed = 0;
    auto close = [&]() {
      if (open >= 2) {
        group_rows[plan.groups++] = total;
        plan.members += open;
        packed += open;
      } else if (open == 1) {
        group[first] = kCompactStay;
      }
      open = 0;
      total = 0;
    };
    for (std::size_t j = i; j < n; j++) {
      if (!member(j) || group[j] >= g0) continue;
      if (open > 0 && fits(total + live(j))) {
        group[j] = g;
        total += live(j);
        open++;
        continue;
      }
      close();
      g = static_cast<int>(plan.groups);
      if (fits(live(j))) {
        group[j] = g;
        total = live(j);
        open = 1;
        first = j;
      }
    }
    close();
    if (packed < count && !reported[tier]) {
      skip(count - packed, all);
      reported[tier] = true;
    }
  }

  // Segments with deleted rows: dropped when all are deleted, rewritten on
  // their own past the rewrite fraction.
  for (std::size_t i = 0; i < n && plan.members < policy.max_members; i++) {
    const SegmentRows& s = segs[i];
    if (group[i] != kCompactStay || s.deleted == 0) continue;
    if (s.deleted >= s.rows) {
      group[i] = kCompactDrop;
      plan.members++;
    } else if (s.deleted * policy.rewrite_den >= s.rows * policy.rewrite_num) {
      if (fits(live(i))) {
        group[i] = static_cast<int>(plan.groups);
        group_rows[plan.groups++] = live(i);
        plan.members++;
      } else {
        skip(1, live(i));
      }
    }
  }
  // Exact segments that have reached graph size (a seal of a large L0 log,
  // a bulk build's remainder, or a lowered threshold) become graphs. Those
  // waiting together (compaction fell behind the seals) are packed into as
  // few graphs as fit: built once, searched once, where one graph each would
  // leave a query more graphs to search until the tier fills.
  {
    std::uint64_t total = 0;
    std::size_t open = 0;
    int g = -1;
    for (std::size_t i = 0; i < n && plan.members < policy.max_members; i++) {
      if (group[i] != kCompactStay || segs[i].graph || live(i) == 0 || live(i) < policy.graph_rows) continue;
      if (!fits(live(i))) {
        skip(1, live(i));
        continue;
      }
      if (open == 0 || !fits(total + live(i))) {
        g = static_cast<int>(plan.groups++);
        group_rows[g] = 0;
        total = 0;
        open = 0;
      }
      group[i] = g;
      total += live(i);
      group_rows[g] = total;
      open++;
      plan.members++;
      plan.promoted++;
    }
  }
  return plan;
}

}  // namespace vecgo
