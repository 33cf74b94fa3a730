// The scan's batched merge of per-tier candidate streams (see topk.h).
#include "vecgo/topk.h"

namespace vecgo {

void BatchMerger::Reset(std::size_t nstreams, const bool* exact, bool strict_order) {
  streams_.resize(nstreams);
  for (std::size_t s = 0; s < nstreams; s++) {
    streams_[s].exact = exact[s];
    streams_[s].more = true;
    streams_[s].waiting.clear();
  }
  strict_ = strict_order;
  have_last_ = false;
  done_ = false;
}

std::size_t BatchMerger::Wanted(std::size_t s, std::size_t cap) const {
  const Stream& st = streams_[s];
  if (!st.more) return 0;
  // An approximate stream is asked for a full batch every round: its order
  // is only approximate, so what waits says nothing about what is left. An
  // exact stream only needs to bring its waiting rows up to `cap`: then the
  // batch's last row is no farther than any row it has not yielded.
  if (!st.exact) return cap;
  return st.waiting.size() >= cap ? 0 : cap - st.waiting.size();
}

void BatchMerger::Offer(std::size_t s, const Neighbor* items, std::size_t n, bool more) {
  Stream& st = streams_[s];
  st.more = more;
  for (std::size_t i = 0; i < n; i++) {
    // Rows of an exact stream always come after the last row returned. An
    // approximate stream's row may be closer than that (found late): it is
    // kept under relaxed order and dropped under strict order.
    if (!st.exact && strict_ && have_last_ && !(last_ < items[i])) continue;
    st.waiting.push_back(items[i]);
  }
}

std::size_t BatchMerger::TakeBatch(std::size_t cap, std::vector<Neighbor>* out) {
  out->clear();
  heap_.Reset(cap);
  bool more = false;
  for (const Stream& st : streams_) {
    for (const Neighbor& c : st.waiting) heap_.Push(c.distance, c.label);
    more |= st.more;
  }
  heap_.TakeSorted(out);
  const std::size_t n = out->size();
  // Everything waiting at or before the batch's last row is in the batch
  // (the heap keeps the smallest `cap` of all offered): forget it.
  for (Stream& st : streams_) {
    std::size_t keep = 0;
    if (n == cap && n > 0)
      for (const Neighbor& c : st.waiting)
        if ((*out)[n - 1] < c) st.waiting[keep++] = c;
    st.waiting.resize(keep);
  }
  if (n > 0) {
    last_ = (*out)[n - 1];
    have_last_ = true;
  }
  if (n < cap && !more) done_ = true;
  return n;
}

}  // namespace vecgo
