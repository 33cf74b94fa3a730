// Arena of 4 MB chunks addressed by 64-bit offsets, shareable between
// processes.
//
// Structures that may live in a PostgreSQL DSA area (the HNSW MemTable) never
// store raw pointers: they store an ArenaRef, (chunk index << 22) | byte
// offset, and resolve it through the Arena object of the process that reads
// it.
//
// Shared state: ArenaShared, a plain block of atomics and words followed by
// the chunk-handle table (one 64-bit handle per chunk, `capacity` entries
// fixed when the block is initialised). It holds the bump state (current
// chunk and offset), the chunk count, the bytes handed out and the limit, and
// contains no pointers, so each process may map it at its own address. The
// owner places it (inside the HNSW header block, or in process memory for a
// private arena) and initialises it once with InitShared.
//
// Process-local state (one Arena object per process, or several in one
// process): the ChunkSource and a table chunk index -> local address, filled
// on first use. A chunk is created by exactly one process (NewChunk, which
// returns the chunk's handle; the handle goes into the shared table before
// the chunk count is published); any other process maps it from the stored
// handle when it first resolves a reference into it (MapChunk). The source is
// called once per chunk per process, never on the hot path: resolving a ref
// is an inline table lookup (one acquire load).
//
// Locking: Allocate, AllocateChunk and CanAllocate take a spinlock on an
// atomic word in ArenaShared (critical sections are a few stores, plus the
// source's NewChunk when a chunk is full). Resolve takes no lock.
//
// Chunks are never freed one by one: the whole arena is dropped at once (the
// sources free what they created, or the DSA area is destroyed).
#pragma once

#include "vecgo/core.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

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

// Shared-memory words must be lock-free (hence address-free) atomics.
static_assert(std::atomic<std::uint32_t>::is_always_lock_free, "32-bit atomics must be lock-free");
static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "64-bit atomics must be lock-free");
static_assert(sizeof(std::atomic<std::uint64_t>) == 8 && sizeof(std::atomic<std::uint32_t>) == 4,
              "atomics in shared memory must have the size of the plain word");

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ volatile("yield");
#endif
}

// Test-and-test-and-set spinlock on a word that may live in shared memory
// (0 free, 1 held). Backs off with CpuRelax, then yields the CPU so a holder
// that was preempted can finish. Holders must not throw out of, or longjmp
// out of, a critical section (SpinGuard releases on C++ unwinding).
inline void SpinAcquire(std::atomic<std::uint32_t>& w) {
  for (unsigned spins = 0;; ) {
    if (w.exchange(1, std::memory_order_acquire) == 0) return;
    while (w.load(std::memory_order_relaxed) != 0) {
      if (++spins < 64) {
        CpuRelax();
      } else {
        std::this_thread::yield();
      }
    }
  }
}
inline void SpinRelease(std::atomic<std::uint32_t>& w) { w.store(0, std::memory_order_release); }

class SpinGuard {
 public:
  explicit SpinGuard(std::atomic<std::uint32_t>& w) : w_(w) { SpinAcquire(w_); }
  ~SpinGuard() { SpinRelease(w_); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  std::atomic<std::uint32_t>& w_;
};

// Where 4 MB chunks come from. A chunk is identified across processes by the
// 64-bit handle NewChunk returns (a DSA source: the dsa_pointer; the heap
// source: the address itself). Both calls must return memory aligned to at
// least 64 bytes, or nullptr when the chunk cannot be had.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  // Creates chunk number `index` (indexes are dense and increasing over all
  // processes sharing the arena; each is created once) and stores its handle
  // in *handle. Called with the arena's spinlock held: it must return (not
  // throw, not longjmp), with nullptr on failure.
  virtual void* NewChunk(std::uint32_t index, std::uint64_t* handle) = 0;
  // Local address of chunk `index`, created with `handle` by this or another
  // process. May be called concurrently by threads of one process, and more
  // than once for one chunk.
  virtual void* MapChunk(std::uint32_t index, std::uint64_t handle) = 0;
};

// Chunks from the C heap; the handle is the address, so any source in the
// same process maps any heap chunk. Each source frees the chunks it created
// when destroyed: the objects sharing an arena must outlive each other's use.
class HeapChunkSource final : public ChunkSource {
 public:
  HeapChunkSource() = default;
  HeapChunkSource(const HeapChunkSource&) = delete;
  HeapChunkSource& operator=(const HeapChunkSource&) = delete;
  ~HeapChunkSource() override;
  void* NewChunk(std::uint32_t index, std::uint64_t* handle) override;
  void* MapChunk(std::uint32_t index, std::uint64_t handle) override;

 private:
  std::mutex mu_;  // process-local: guards the list of chunks to free
  std::vector<void*> owned_;
};

// The shared part of an arena: plain words and lock-free atomics, no
// pointers. The chunk-handle table (capacity x std::atomic<uint64_t>)
// follows it directly (ArenaSharedBytes).
struct ArenaShared {
  std::atomic<std::uint32_t> lock;    // spinlock over the fields marked (L)
  std::atomic<std::uint32_t> chunks;  // chunks created; handle[i] valid for i < chunks (release)
  std::uint32_t capacity;             // entries of the handle table (immutable)
  std::uint32_t cur_chunk;            // (L) bump chunk, valid when has_cur
  std::uint32_t cur_off;              // (L) next free byte in it
  std::uint32_t has_cur;              // (L)
  std::atomic<std::uint64_t> used;    // bytes handed out
  std::atomic<std::uint64_t> limit;   // bytes of chunks that may be reserved
};
static_assert(std::is_standard_layout<ArenaShared>::value, "ArenaShared lives in shared memory");

// Bytes of ArenaShared plus a handle table of `capacity` entries.
inline std::size_t ArenaSharedBytes(std::uint32_t capacity) {
  return sizeof(ArenaShared) + static_cast<std::size_t>(capacity) * sizeof(std::atomic<std::uint64_t>);
}

// Bump allocator over chunks: one process's view of an ArenaShared block.
// Nothing is freed individually.
class Arena {
 public:
  // Initialises a shared block at `at` (ArenaSharedBytes(capacity) bytes,
  // 8-byte aligned). capacity is 1..kArenaMaxChunks.
  static ArenaShared* InitShared(void* at, std::uint32_t capacity, std::size_t limit_bytes);
  // Bytes of chunks reserved, read from a shared block (no Arena needed).
  static std::size_t BytesReserved(const ArenaShared* s) {
    return static_cast<std::size_t>(s->chunks.load(std::memory_order_acquire)) * kArenaChunkBytes;
  }

  // A private arena: the shared block lives in process memory (capacity
  // kArenaMaxChunks). `limit_bytes` caps the chunks reserved (a multiple of
  // 4 MB is reserved at a time); Allocate past it throws Error(OutOfMemory).
  explicit Arena(std::size_t limit_bytes = SIZE_MAX, std::unique_ptr<ChunkSource> source = nullptr);
  // A view of a shared block initialised by InitShared (by this or another
  // process). A null source is a HeapChunkSource.
  Arena(ArenaShared* shared, std::unique_ptr<ChunkSource> source);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // `bytes` <= 4 MB - 64, `align` a power of two <= 64. Throws Error(OutOfMemory)
  // when a new chunk would pass the limit or the capacity, or the source has none.
  ArenaRef Allocate(std::size_t bytes, std::size_t align = 8);
  // A whole fresh chunk; returns its index.
  std::uint32_t AllocateChunk();
  // True when `bytes` (in one allocation each of `sizes`) can be had without
  // passing the limit. Used to fail an insert before it changes anything;
  // only meaningful while the caller keeps other allocators out.
  bool CanAllocate(const std::size_t* sizes, std::size_t n, bool whole_chunk) const;

  inline char* Resolve(ArenaRef ref) const {
    std::uint32_t chunk = static_cast<std::uint32_t>(ref >> kArenaChunkShift);
    char* base = local_[chunk].load(std::memory_order_acquire);
    if (__builtin_expect(base == nullptr, 0)) base = MapSlow(chunk);
    return base + (ref & (kArenaChunkBytes - 1));
  }
  inline char* ChunkBase(std::uint32_t chunk) const { return Resolve(MakeArenaRef(chunk, 0)); }

  std::size_t bytes_reserved() const { return BytesReserved(s_); }
  std::size_t bytes_used() const { return s_->used.load(std::memory_order_relaxed); }
  std::size_t limit() const { return s_->limit.load(std::memory_order_relaxed); }
  void set_limit(std::size_t bytes) { s_->limit.store(bytes, std::memory_order_relaxed); }
  std::uint32_t chunk_count() const { return s_->chunks.load(std::memory_order_acquire); }
  std::uint32_t capacity() const { return capacity_; }

 private:
  std::atomic<std::uint64_t>* Handles() const { return reinterpret_cast<std::atomic<std::uint64_t>*>(s_ + 1); }
  char* MapSlow(std::uint32_t chunk) const;
  std::uint32_t NewChunkLocked();  // s_->lock held

  std::unique_ptr<std::uint64_t[]> owned_;  // a private arena's shared block
  ArenaShared* s_;
  std::unique_ptr<ChunkSource> source_;
  std::uint32_t capacity_;
  std::unique_ptr<std::atomic<char*>[]> local_;  // chunk index -> local address (process-local)
};

}  // namespace vecgo
