// Arena of 4 MB chunks addressed by 64-bit offsets.
//
// Structures that may later live in a PostgreSQL DSA area (the HNSW MemTable)
// never store raw pointers: they store an ArenaRef, (chunk index << 22) | byte
// offset, and resolve it through the arena of the process that reads it. Where
// the chunks come from is the ChunkSource interface: the in-process source
// below mallocs them; a DSA source would dsa_allocate them and map each chunk
// into the local table on first use (MapChunk). The source is called once per
// 4 MB, never on the hot path; resolving a ref is an inline table lookup.
#pragma once

#include "vecgo/core.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

namespace vecgo {

constexpr unsigned kArenaChunkShift = 22;
constexpr std::size_t kArenaChunkBytes = std::size_t{1} << kArenaChunkShift;  // 4 MB
// Upper bound on the chunk table (65536 x 4 MB = 256 GB per arena).
constexpr std::uint32_t kArenaMaxChunks = 65536;

// (chunk << 22) | offset. 0 is never returned by Allocate, so it means "none".
using ArenaRef = std::uint64_t;
constexpr ArenaRef kNullRef = 0;

inline ArenaRef MakeArenaRef(std::uint32_t chunk, std::uint32_t offset) {
  return (static_cast<ArenaRef>(chunk) << kArenaChunkShift) | offset;
}

// Where 4 MB chunks come from. Implementations must return memory aligned to
// at least 64 bytes, or nullptr when the chunk cannot be had.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  // Creates chunk number `index` (indexes are dense, in increasing order).
  virtual void* NewChunk(std::uint32_t index) = 0;
  // Local address of a chunk another process created (shared-memory sources);
  // the in-process source never sees this call.
  virtual void* MapChunk(std::uint32_t index) = 0;
};

// Chunks from the C heap, freed with the source.
class HeapChunkSource final : public ChunkSource {
 public:
  HeapChunkSource() = default;
  HeapChunkSource(const HeapChunkSource&) = delete;
  HeapChunkSource& operator=(const HeapChunkSource&) = delete;
  ~HeapChunkSource() override;
  void* NewChunk(std::uint32_t index) override;
  void* MapChunk(std::uint32_t index) override;

 private:
  std::mutex mu_;
  std::unique_ptr<void*[]> chunks_;
  std::uint32_t count_ = 0, cap_ = 0;
};

// Bump allocator over chunks. Allocation takes a short mutex (it is on the
// insert path only); Resolve is lock-free. Nothing is freed individually: the
// arena is dropped as a whole (a sealed MemTable is discarded at once).
class Arena {
 public:
  // `limit_bytes` caps the chunks reserved (a multiple of 4 MB is reserved at
  // a time); Allocate past it throws Error(OutOfMemory).
  explicit Arena(std::size_t limit_bytes = SIZE_MAX, std::unique_ptr<ChunkSource> source = nullptr);
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // `bytes` <= 4 MB - 64, `align` a power of two <= 64. Throws Error(OutOfMemory)
  // when a new chunk would pass the limit or the source has none.
  ArenaRef Allocate(std::size_t bytes, std::size_t align = 8);
  // A whole fresh chunk; returns its index.
  std::uint32_t AllocateChunk();
  // True when `bytes` (in one allocation each of `sizes`) can be had without
  // passing the limit. Used to fail an insert before it changes anything.
  bool CanAllocate(const std::size_t* sizes, std::size_t n, bool whole_chunk) const;

  inline char* Resolve(ArenaRef ref) const {
    std::uint32_t chunk = static_cast<std::uint32_t>(ref >> kArenaChunkShift);
    char* base = local_[chunk].load(std::memory_order_acquire);
    if (__builtin_expect(base == nullptr, 0)) base = MapSlow(chunk);
    return base + (ref & (kArenaChunkBytes - 1));
  }
  inline char* ChunkBase(std::uint32_t chunk) const { return Resolve(MakeArenaRef(chunk, 0)); }

  std::size_t bytes_reserved() const { return chunks_.load(std::memory_order_relaxed) * kArenaChunkBytes; }
  std::size_t bytes_used() const { return used_.load(std::memory_order_relaxed); }
  std::size_t limit() const { return limit_.load(std::memory_order_relaxed); }
  void set_limit(std::size_t bytes) { limit_.store(bytes, std::memory_order_relaxed); }
  std::uint32_t chunk_count() const { return chunks_.load(std::memory_order_relaxed); }

 private:
  char* MapSlow(std::uint32_t chunk) const;
  std::uint32_t NewChunkLocked();  // mu_ held

  std::unique_ptr<ChunkSource> source_;
  std::unique_ptr<std::atomic<char*>[]> local_;  // chunk index -> local address
  std::uint32_t max_chunks_;
  std::atomic<std::size_t> limit_;
  std::atomic<std::uint32_t> chunks_{0};
  std::atomic<std::size_t> used_{0};
  mutable std::mutex mu_;
  std::uint32_t cur_chunk_ = 0;  // bump chunk (valid when has_cur_)
  std::uint32_t cur_off_ = 0;
  bool has_cur_ = false;
};

}  // namespace vecgo
