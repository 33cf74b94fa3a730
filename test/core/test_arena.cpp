// Arena: shared state in one block, several views (each with its own chunk
// source and address cache) allocating from it, the limit and the capacity.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "vecgo/arena.h"

namespace vecgo {
namespace {

struct SharedBlock {
  explicit SharedBlock(std::uint32_t capacity) : words((ArenaSharedBytes(capacity) + 7) / 8) {}
  void* get() { return words.data(); }
  std::vector<std::uint64_t> words;
};

TEST(ArenaShared, ViewsSeeOneBumpStateAndMapByHandle) {
  SharedBlock blk(8);
  ArenaShared* s = Arena::InitShared(blk.get(), 8, 8 * kArenaChunkBytes);
  Arena a(s, std::make_unique<HeapChunkSource>()), b(s, std::make_unique<HeapChunkSource>());
  EXPECT_EQ(a.capacity(), 8u);
  ArenaRef r1 = a.Allocate(100);
  ArenaRef r2 = b.Allocate(100);
  EXPECT_NE(r1, kNullRef);
  EXPECT_EQ(r2, r1 + 104);  // b continues a's chunk (8-byte aligned)
  std::memcpy(a.Resolve(r2), "shared", 7);
  EXPECT_STREQ(b.Resolve(r2), "shared");
  EXPECT_EQ(a.Resolve(r2), b.Resolve(r2));  // heap handles: one address space
  EXPECT_EQ(b.chunk_count(), 1u);
  EXPECT_EQ(Arena::BytesReserved(s), kArenaChunkBytes);
  EXPECT_EQ(a.bytes_used(), 200u);
  std::uint32_t c = b.AllocateChunk();
  EXPECT_EQ(c, 1u);
  EXPECT_EQ(a.ChunkBase(c), b.ChunkBase(c));
  EXPECT_EQ(a.bytes_reserved(), 2 * kArenaChunkBytes);
}

TEST(ArenaShared, LimitAndCapacity) {
  SharedBlock blk(3);
  ArenaShared* s = Arena::InitShared(blk.get(), 3, 2 * kArenaChunkBytes);
  Arena a(s, nullptr), b(s, nullptr);
  a.AllocateChunk();
  b.AllocateChunk();
  std::size_t one = 8;
  EXPECT_FALSE(a.CanAllocate(&one, 1, false));
  try {
    b.Allocate(8);
    FAIL() << "limit not enforced";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::OutOfMemory);
  }
  EXPECT_EQ(a.chunk_count(), 2u);
  a.set_limit(SIZE_MAX);  // shared: b sees it
  EXPECT_TRUE(b.CanAllocate(&one, 1, false));
  b.AllocateChunk();
  EXPECT_FALSE(a.CanAllocate(&one, 1, false));  // the table is full
  EXPECT_THROW(a.AllocateChunk(), Error);
  EXPECT_THROW(Arena::InitShared(blk.get(), 0, SIZE_MAX), Error);
  EXPECT_THROW(Arena::InitShared(blk.get(), kArenaMaxChunks + 1, SIZE_MAX), Error);
}

// Two views, two threads each, allocating at once: no two allocations
// overlap, and each sees what the others wrote.
TEST(ArenaSharedConcurrency, FourThreadsTwoViewsAllocateDisjointRanges) {
  SharedBlock blk(64);
  ArenaShared* s = Arena::InitShared(blk.get(), 64, SIZE_MAX);
  Arena a(s, std::make_unique<HeapChunkSource>()), b(s, std::make_unique<HeapChunkSource>());
  Arena* views[2] = {&a, &b};
  const int kPer = 20000;
  std::vector<std::vector<ArenaRef>> got(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; t++)
    ts.emplace_back([&, t] {
      Arena* v = views[t % 2];
      for (int i = 0; i < kPer; i++) {
        std::size_t bytes = 8 + (i % 7) * 8;
        ArenaRef r = v->Allocate(bytes);
        std::memset(v->Resolve(r), t + 1, bytes);
        got[t].push_back(r);
      }
    });
  for (auto& t : ts) t.join();
  struct Item {
    ArenaRef ref;
    std::size_t bytes;
    int thread;
    bool operator<(const Item& o) const { return ref < o.ref; }
  };
  std::vector<Item> all;
  for (int t = 0; t < 4; t++)
    for (int i = 0; i < kPer; i++) all.push_back({got[t][i], std::size_t(8 + (i % 7) * 8), t});
  std::sort(all.begin(), all.end());
  for (std::size_t i = 0; i < all.size(); i++) {
    const Item& it = all[i];
    if (i + 1 < all.size()) {
      ASSERT_LE(it.ref + it.bytes, all[i + 1].ref);
    }
    // Read through the other view than the writer's.
    const char* p = views[1 - it.thread % 2]->Resolve(it.ref);
    for (std::size_t k = 0; k < it.bytes; k++) ASSERT_EQ(p[k], it.thread + 1);
  }
  EXPECT_EQ(a.bytes_used(), b.bytes_used());
}

}  // namespace
}  // namespace vecgo
