// Top-k selection and the k-way merge of per-tier candidate streams.
//
// A scan asks every tier (L0 log, Flat segments, DiskANN segments) for
// candidates in distance order and merges them batch by batch; when the
// executor keeps asking (filters), further batches keep pulling from the
// tiers rather than stopping at a fixed k.
//
// Order: by distance (DistanceLess: NaN last), then by label (ties broken
// deterministically).
#pragma once

#include "vecgo/core.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace vecgo {

// One result: a distance (smaller is closer) and the caller's label (a row id
// inside a structure, or a heap TID packed into 64 bits by the glue).
struct Neighbor {
  float distance;
  std::uint64_t label;
};

inline bool operator<(const Neighbor& a, const Neighbor& b) {
  return DistanceLess(a.distance, b.distance) ||
         (DistanceEqual(a.distance, b.distance) && a.label < b.label);
}
inline bool operator==(const Neighbor& a, const Neighbor& b) {
  return DistanceEqual(a.distance, b.distance) && a.label == b.label;
}

// Keeps the k smallest Neighbors pushed into it: a max-heap of capacity k
// whose top is the worst kept result. Allocates only in the constructor and
// in Reset when k grows.
class TopKHeap {
 public:
  explicit TopKHeap(std::size_t k = 0) { Reset(k); }

  // Empties the heap and sets its capacity.
  void Reset(std::size_t k) {
    k_ = k;
    heap_.clear();
    heap_.reserve(k);
  }

  // Distance a new result must beat to be kept (+inf while not full). A
  // result equal to the threshold is kept only when its label is smaller.
  float Threshold() const {
    return Full() ? heap_.front().distance : std::numeric_limits<float>::infinity();
  }
  bool Full() const { return heap_.size() >= k_; }
  std::size_t size() const { return heap_.size(); }
  std::size_t capacity() const { return k_; }
  bool empty() const { return heap_.empty(); }
  // The worst kept result (requires !empty()).
  const Neighbor& Worst() const { return heap_.front(); }

  // Offers a result; returns true when it was kept.
  bool Push(float distance, std::uint64_t label) {
    Neighbor n{distance, label};
    if (heap_.size() < k_) {
      heap_.push_back(n);
      std::push_heap(heap_.begin(), heap_.end());
      return true;
    }
    if (k_ == 0 || !(n < heap_.front())) return false;
    std::pop_heap(heap_.begin(), heap_.end());
    heap_.back() = n;
    std::push_heap(heap_.begin(), heap_.end());
    return true;
  }

  // The kept results, unordered.
  const std::vector<Neighbor>& items() const { return heap_; }

  // Moves the kept results into *out sorted closest first and empties the heap.
  void TakeSorted(std::vector<Neighbor>* out) {
    std::sort_heap(heap_.begin(), heap_.end());
    out->assign(heap_.begin(), heap_.end());
    heap_.clear();
  }
  std::vector<Neighbor> TakeSorted() {
    std::vector<Neighbor> out;
    TakeSorted(&out);
    return out;
  }

 private:
  std::size_t k_ = 0;
  std::vector<Neighbor> heap_;  // std heap ordered by operator< (max at front)
};

// The merge of an index scan's per-tier candidate streams, in rounds.
//
// A scan produces rows in batches (the first vecgo.ef_search rows, then
// batches that double). For each batch every tier offers candidates, and the
// batch is the best `cap` of everything offered and not yet taken, in
// (distance, label) order. Two kinds of stream take part:
//  - exact streams yield their rows in exact order, each call continuing
//    after the rows it yielded before (a Flat segment or the L0 log scanned
//    exactly). Wanted() asks one for just enough rows that every row it has
//    not yet yielded is farther than the batch's last row, so the output is
//    exactly the sorted union of the exact streams.
//  - approximate streams (a graph's continuation search) yield rows in
//    roughly increasing distance; a row may come after a farther one was
//    already returned. It is still returned (relaxed order) or dropped
//    (strict order, so the scan's output never goes backwards).
// Candidates offered but not taken wait for later batches. Allocates only
// when its buffers grow. Not thread-safe (one per scan).
class BatchMerger {
 public:
  // `exact[s]` says whether stream s yields in exact order.
  void Reset(std::size_t nstreams, const bool* exact, bool strict_order);

  // How many candidates stream s should offer for a batch of `cap` rows
  // (0: it has enough waiting, or it has no more).
  std::size_t Wanted(std::size_t s, std::size_t cap) const;
  // Stream s's candidates for this batch, in the order it produced them;
  // `more` is false once the stream has produced everything.
  void Offer(std::size_t s, const Neighbor* items, std::size_t n, bool more);
  // Ends the round: appends the best `cap` waiting candidates to *out (after
  // clearing it), closest first, and returns how many. Fewer than `cap` only
  // when nothing further exists (then done() is true).
  std::size_t TakeBatch(std::size_t cap, std::vector<Neighbor>* out);
  bool done() const { return done_; }

 private:
  struct Stream {
    bool exact = true;
    bool more = true;
    std::vector<Neighbor> waiting;  // offered, not yet taken
  };
  std::vector<Stream> streams_;
  TopKHeap heap_;
  bool strict_ = false;
  bool have_last_ = false;
  Neighbor last_{0.0f, 0};
  bool done_ = false;
};

}  // namespace vecgo
