// Epoch-tagged visited set: clearing is one increment, not a memset, so a
// search reuses the same array without touching it (the array is cleared only
// when the 16-bit epoch wraps, once per 65535 searches).
#pragma once

#include "vecgo/core.h"

#include <cstring>
#include <vector>

namespace vecgo {

class VisitedSet {
 public:
  // Starts a new search over ids < n (ids >= n grow the set on demand).
  void Begin(std::size_t n) {
    if (tags_.size() < n) tags_.resize(n + n / 4 + 64, 0);
    if (++epoch_ == 0) {
      std::memset(tags_.data(), 0, tags_.size() * sizeof(tags_[0]));
      epoch_ = 1;
    }
  }
  // Marks `id`; returns true when it was already marked in this search.
  bool TestAndSet(std::uint32_t id) {
    if (__builtin_expect(id >= tags_.size(), 0)) tags_.resize(id + id / 4 + 64, 0);
    if (tags_[id] == epoch_) return true;
    tags_[id] = epoch_;
    return false;
  }
  bool Test(std::uint32_t id) const { return id < tags_.size() && tags_[id] == epoch_; }
  void Prefetch(std::uint32_t id) const {
    if (id < tags_.size()) __builtin_prefetch(tags_.data() + id);
  }

 private:
  std::vector<std::uint16_t> tags_;
  std::uint16_t epoch_ = 0;
};

}  // namespace vecgo
