// Top-k selection and the k-way merge of per-tier candidate streams.
//
// A scan asks every tier (MemTable, Flat segments, DiskANN segments) for its
// candidates in distance order and merges them into one exact global order;
// when the executor keeps asking (filters), the merge keeps pulling from the
// streams rather than stopping at a fixed k.
//
// Order: by distance, then by label (ties broken deterministically). NaN
// distances must not be produced by streams (the core never does).
#pragma once

#include "vecgo/core.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <memory>
#include <unordered_set>
#include <vector>

namespace vecgo {

// One result: a distance (smaller is closer) and the caller's label (a row id
// inside a structure, or a heap TID packed into 64 bits by the glue).
struct Neighbor {
  float distance;
  std::uint64_t label;
};

inline bool operator<(const Neighbor& a, const Neighbor& b) {
  return a.distance < b.distance || (a.distance == b.distance && a.label < b.label);
}
inline bool operator==(const Neighbor& a, const Neighbor& b) {
  return a.distance == b.distance && a.label == b.label;
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

// A source of candidates in non-decreasing (distance, label) order, pulled in
// batches. One per tier in a scan.
class CandidateStream {
 public:
  virtual ~CandidateStream() = default;
  // Appends up to `max` (>= 1) further results to *out, continuing where the
  // previous call stopped, and returns how many it appended. 0 means the
  // stream is exhausted (it will return 0 from then on).
  virtual std::size_t Next(std::size_t max, std::vector<Neighbor>* out) = 0;
};

// A stream over results already sorted (e.g. a tier that computed them all).
class VectorStream final : public CandidateStream {
 public:
  explicit VectorStream(std::vector<Neighbor> sorted) : items_(std::move(sorted)) {}
  std::size_t Next(std::size_t max, std::vector<Neighbor>* out) override {
    std::size_t n = std::min(max, items_.size() - pos_);
    out->insert(out->end(), items_.begin() + pos_, items_.begin() + pos_ + n);
    pos_ += n;
    return n;
  }

 private:
  std::vector<Neighbor> items_;
  std::size_t pos_ = 0;
};

// A stream backed by a callable with CandidateStream::Next's contract.
class FunctionStream final : public CandidateStream {
 public:
  using Fn = std::function<std::size_t(std::size_t max, std::vector<Neighbor>* out)>;
  explicit FunctionStream(Fn fn) : fn_(std::move(fn)) {}
  std::size_t Next(std::size_t max, std::vector<Neighbor>* out) override {
    if (done_) return 0;
    std::size_t n = fn_(max, out);
    if (n == 0) done_ = true;
    return n;
  }

 private:
  Fn fn_;
  bool done_ = false;
};

struct MergeOptions {
  std::size_t batch = 64;      // results pulled from a stream at a time (grows x2 per refill, up to 4096)
  bool dedup_labels = false;   // return each label once, at its smallest distance
};

// K-way merge of candidate streams into one global (distance, label) order.
// Pulls lazily: a stream is asked for a batch only when its buffered results
// are used up and its head is needed. If every stream is sorted, the output is
// exactly the sorted union of all streams (minus label duplicates when asked).
// "Give me more" is just calling Next again.
class TopKMerger {
 public:
  explicit TopKMerger(MergeOptions options = {});
  ~TopKMerger();
  TopKMerger(const TopKMerger&) = delete;
  TopKMerger& operator=(const TopKMerger&) = delete;

  // Adds a stream (not owned: it must outlive the merger). Streams may be
  // added before the first Next only.
  void AddStream(CandidateStream* stream);
  // Adds a stream the merger owns.
  void AddStream(std::unique_ptr<CandidateStream> stream);

  // The next result in global order; false when every stream is exhausted.
  bool Next(Neighbor* out);
  // Appends up to n further results to *out; returns how many (0 = exhausted).
  std::size_t Next(std::size_t n, std::vector<Neighbor>* out);

  std::size_t returned() const { return returned_; }

 private:
  struct Source;
  bool Refill(std::size_t s);
  void SiftDown(std::size_t pos);
  void SiftUp(std::size_t pos);
  bool Less(std::size_t a, std::size_t b) const;

  MergeOptions options_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::vector<std::size_t> heap_;  // min-heap of source indices by head
  bool started_ = false;
  std::size_t returned_ = 0;
  std::unordered_set<std::uint64_t> seen_;
};

}  // namespace vecgo
