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

  // Tiers with `threshold` or more segments, looked at from each segment in
  // turn (a tier too large for the room left may still merge from a later
  // segment, with fewer members); what does not fit is reported once a tier.
  bool reported[64] = {};
  for (std::size_t i = 0; i < n; i++) {
    if (group[i] != kCompactStay || live(i) == 0) continue;
    const int tier = SizeTier(live(i));
    std::size_t count = 0;
    std::uint64_t total = 0;
    for (std::size_t j = i; j < n; j++)
      if (group[j] == kCompactStay && live(j) > 0 && SizeTier(live(j)) == tier) {
        count++;
        total += live(j);
      }
    if (count < policy.threshold || count > policy.max_members - plan.members) continue;
    if (!fits(total)) {
      if (!reported[tier]) skip(count, total);
      reported[tier] = true;
      continue;
    }
    for (std::size_t j = i; j < n; j++)
      if (group[j] == kCompactStay && live(j) > 0 && SizeTier(live(j)) == tier)
        group[j] = static_cast<int>(plan.groups);
    group_rows[plan.groups++] = total;
    plan.members += count;
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
  return plan;
}

}  // namespace vecgo
