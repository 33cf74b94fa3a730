// Size-tiered compaction policy: which segments to merge or rewrite.
//
// Segments are grouped into size tiers by their live rows (a tier spans a
// factor of 4). A tier holding `threshold` or more segments is merged: into
// one output when that fits in memory, otherwise into as many outputs as
// needed, each of at least two members, so a large tier never stalls. A
// segment whose deleted fraction reaches the rewrite fraction is rewritten on
// its own (without its deleted rows), and one whose rows are all deleted is
// dropped. A segment searched exactly (not a graph) that has grown to graph
// size is rewritten on its own, as a graph. Only work that cannot fit in
// memory at all (a single segment too large) is left undone and reported; a
// plan never replaces more than `max_members` segments (the pages of each
// replaced segment wait in a bounded list until no scan can read them). The
// policy is pure arithmetic on row counts; the glue executes the plan.
#pragma once

#include "vecgo/core.h"

namespace vecgo {

struct SegmentRows {
  std::uint64_t rows;     // rows in the segment, deleted included
  std::uint64_t deleted;  // rows marked deleted
  bool graph = false;     // already a graph (otherwise searched exactly)
};

struct CompactionPolicy {
  std::size_t threshold = 8;     // segments of one size tier merged together
  std::size_t max_members = 64;  // most segments one plan may replace
  // Rewrite a segment on its own once deleted * den >= rows * num.
  std::uint64_t rewrite_num = 1, rewrite_den = 5;
  // An output of `rows` live rows fits in memory when rows <= max_rows and,
  // for an output that would be a graph (rows >= graph_rows), rows <=
  // max_graph_rows.
  std::uint64_t max_rows = UINT64_MAX;
  std::uint64_t graph_rows = UINT64_MAX;
  std::uint64_t max_graph_rows = UINT64_MAX;
};

// Per segment in a plan: kStay, kDrop, or the output group (0, 1, ...).
constexpr int kCompactStay = -1;
constexpr int kCompactDrop = -2;

struct CompactionPlan {
  std::size_t groups = 0;            // outputs to write
  std::size_t members = 0;           // segments replaced (merged, rewritten or dropped)
  std::size_t skipped_segments = 0;  // segments left alone because they do not fit
  std::uint64_t skipped_rows = 0;    // the largest output that did not fit
  std::size_t promoted = 0;          // exact segments rewritten as graphs
};

// The size tier of a segment with `live` rows (-1 for none).
int SizeTier(std::uint64_t live);

// Plans one compaction over segs[0..n). Writes each segment's fate to
// group[0..n) and each output's live rows to group_rows[0..groups) (room for
// n entries). Never throws.
CompactionPlan PlanCompaction(const SegmentRows* segs, std::size_t n, const CompactionPolicy& policy,
                              int* group, std::uint64_t* group_rows);

}  // namespace vecgo
