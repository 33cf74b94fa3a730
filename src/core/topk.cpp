// K-way merge of candidate streams (see topk.h).
#include "vecgo/topk.h"

namespace vecgo {

struct TopKMerger::Source {
  CandidateStream* stream = nullptr;
  std::unique_ptr<CandidateStream> owned;
  std::vector<Neighbor> buf;
  std::size_t pos = 0;
  std::size_t batch = 0;
  bool exhausted = false;
  const Neighbor& head() const { return buf[pos]; }
};

TopKMerger::TopKMerger(MergeOptions options) : options_(options) {
  if (options_.batch == 0) options_.batch = 1;
}

TopKMerger::~TopKMerger() = default;

void TopKMerger::AddStream(CandidateStream* stream) {
  if (started_) throw Error(Error::Kind::Internal, "top-k merge: stream added after the first Next");
  if (!stream) throw Error(Error::Kind::InvalidArgument, "top-k merge: null stream");
  auto s = std::make_unique<Source>();
  s->stream = stream;
  s->batch = options_.batch;
  sources_.push_back(std::move(s));
}

void TopKMerger::AddStream(std::unique_ptr<CandidateStream> stream) {
  CandidateStream* raw = stream.get();
  AddStream(raw);
  sources_.back()->owned = std::move(stream);
}

// Makes source s's head available; false when it has nothing left.
bool TopKMerger::Refill(std::size_t s) {
  Source& src = *sources_[s];
  if (src.pos < src.buf.size()) return true;
  if (src.exhausted) return false;
  src.buf.clear();
  src.pos = 0;
  std::size_t got = src.stream->Next(src.batch, &src.buf);
  if (got == 0 || src.buf.empty()) {
    src.exhausted = true;
    src.buf.clear();
    return false;
  }
  // A continuing scan usually wants more than the first page of results.
  src.batch = std::min<std::size_t>(src.batch * 2, std::max<std::size_t>(options_.batch, 4096));
  return true;
}

bool TopKMerger::Less(std::size_t a, std::size_t b) const {
  const Neighbor& x = sources_[a]->head();
  const Neighbor& y = sources_[b]->head();
  if (x < y) return true;
  if (y < x) return false;
  return a < b;
}

void TopKMerger::SiftDown(std::size_t pos) {
  std::size_t n = heap_.size();
  for (;;) {
    std::size_t l = 2 * pos + 1, best = pos;
    if (l < n && Less(heap_[l], heap_[best])) best = l;
    if (l + 1 < n && Less(heap_[l + 1], heap_[best])) best = l + 1;
    if (best == pos) return;
    std::swap(heap_[pos], heap_[best]);
    pos = best;
  }
}

void TopKMerger::SiftUp(std::size_t pos) {
  while (pos > 0) {
    std::size_t parent = (pos - 1) / 2;
    if (!Less(heap_[pos], heap_[parent])) return;
    std::swap(heap_[pos], heap_[parent]);
    pos = parent;
  }
}

bool TopKMerger::Next(Neighbor* out) {
  if (!started_) {
    started_ = true;
    for (std::size_t s = 0; s < sources_.size(); s++)
      if (Refill(s)) {
        heap_.push_back(s);
        SiftUp(heap_.size() - 1);
      }
  }
  while (!heap_.empty()) {
    std::size_t s = heap_.front();
    Neighbor n = sources_[s]->head();
    sources_[s]->pos++;
    if (Refill(s)) {
      SiftDown(0);
    } else {
      heap_.front() = heap_.back();
      heap_.pop_back();
      if (!heap_.empty()) SiftDown(0);
    }
    if (options_.dedup_labels && !seen_.insert(n.label).second) continue;
    *out = n;
    returned_++;
    return true;
  }
  return false;
}

std::size_t TopKMerger::Next(std::size_t n, std::vector<Neighbor>* out) {
  std::size_t got = 0;
  Neighbor x;
  while (got < n && Next(&x)) {
    out->push_back(x);
    got++;
  }
  return got;
}

}  // namespace vecgo
