// Arena of 4 MB chunks (see include/vecgo/arena.h).
#include "vecgo/arena.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace vecgo {

HeapChunkSource::~HeapChunkSource() {
  for (void* p : owned_) std::free(p);
}

void* HeapChunkSource::NewChunk(std::uint32_t, std::uint64_t* handle) {
  std::lock_guard<std::mutex> g(mu_);
  try {
    owned_.reserve(owned_.size() + 1);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  void* p = std::aligned_alloc(64, kArenaChunkBytes);
  if (!p) return nullptr;
  owned_.push_back(p);
  *handle = reinterpret_cast<std::uintptr_t>(p);
  return p;
}

void* HeapChunkSource::MapChunk(std::uint32_t, std::uint64_t handle) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(handle));
}

ArenaShared* Arena::InitShared(void* at, std::uint32_t capacity, std::size_t limit_bytes) {
  if (capacity == 0 || capacity > kArenaMaxChunks)
    throw Error(Error::Kind::InvalidArgument, "arena: chunk capacity out of range");
  if (reinterpret_cast<std::uintptr_t>(at) % alignof(ArenaShared) != 0)
    throw Error(Error::Kind::InvalidArgument, "arena: shared block is misaligned");
  ArenaShared* s = new (at) ArenaShared();
  s->lock.store(0, std::memory_order_relaxed);
  s->chunks.store(0, std::memory_order_relaxed);
  s->capacity = capacity;
  s->cur_chunk = 0;
  s->cur_off = 0;
  s->has_cur = 0;
  s->used.store(0, std::memory_order_relaxed);
  s->limit.store(limit_bytes, std::memory_order_relaxed);
  std::atomic<std::uint64_t>* h = reinterpret_cast<std::atomic<std::uint64_t>*>(s + 1);
  for (std::uint32_t i = 0; i < capacity; i++) new (h + i) std::atomic<std::uint64_t>(0);
  std::atomic_thread_fence(std::memory_order_release);
  return s;
}

Arena::Arena(std::size_t limit_bytes, std::unique_ptr<ChunkSource> source)
    : owned_(new std::uint64_t[(ArenaSharedBytes(kArenaMaxChunks) + 7) / 8]),
      s_(InitShared(owned_.get(), kArenaMaxChunks, limit_bytes)),
      source_(source ? std::move(source) : std::make_unique<HeapChunkSource>()),
      capacity_(kArenaMaxChunks),
      local_(new std::atomic<char*>[kArenaMaxChunks]) {
  for (std::uint32_t i = 0; i < capacity_; i++) local_[i].store(nullptr, std::memory_order_relaxed);
}

Arena::Arena(ArenaShared* shared, std::unique_ptr<ChunkSource> source)
    : s_(shared),
      source_(source ? std::move(source) : std::make_unique<HeapChunkSource>()),
      capacity_(shared->capacity) {
  if (capacity_ == 0 || capacity_ > kArenaMaxChunks)
    throw Error(Error::Kind::InvalidArgument, "arena: shared block has a bad chunk capacity");
  local_.reset(new std::atomic<char*>[capacity_]);
  for (std::uint32_t i = 0; i < capacity_; i++) local_[i].store(nullptr, std::memory_order_relaxed);
}

Arena::~Arena() = default;

// A chunk this process has not seen yet: its handle is in the shared table
// (stored before the chunk count that made the reference reachable).
char* Arena::MapSlow(std::uint32_t chunk) const {
  if (chunk >= capacity_ || chunk >= s_->chunks.load(std::memory_order_acquire))
    throw Error(Error::Kind::Internal, "arena reference out of range");
  std::uint64_t handle = Handles()[chunk].load(std::memory_order_acquire);
  char* p = static_cast<char*>(source_->MapChunk(chunk, handle));
  if (!p) throw Error(Error::Kind::Internal, "arena chunk cannot be mapped");
  local_[chunk].store(p, std::memory_order_release);
  return p;
}

std::uint32_t Arena::NewChunkLocked() {
  std::uint32_t idx = s_->chunks.load(std::memory_order_relaxed);
  if (idx >= capacity_ || (static_cast<std::size_t>(idx) + 1) * kArenaChunkBytes > limit())
    throw Error(Error::Kind::OutOfMemory,
                "memory limit reached: " + std::to_string(std::min<std::size_t>(
                                              limit(), static_cast<std::size_t>(capacity_) * kArenaChunkBytes)) +
                    " bytes (" + std::to_string(idx) + " chunks of 4 MB in use)");
  std::uint64_t handle = 0;
  char* p = static_cast<char*>(source_->NewChunk(idx, &handle));
  if (!p) throw Error(Error::Kind::OutOfMemory, "out of memory allocating a 4 MB arena chunk");
  local_[idx].store(p, std::memory_order_release);
  Handles()[idx].store(handle, std::memory_order_release);
  s_->chunks.store(idx + 1, std::memory_order_release);
  return idx;
}

ArenaRef Arena::Allocate(std::size_t bytes, std::size_t align) {
  if (bytes == 0 || bytes > kArenaChunkBytes - 64 || align == 0 || align > 64 || (align & (align - 1)))
    throw Error(Error::Kind::InvalidArgument, "arena allocation of unsupported size or alignment");
  SpinGuard g(s_->lock);
  std::size_t off = (s_->cur_off + align - 1) & ~(align - 1);
  // Byte 0 of a chunk is never handed out, so that no allocation is kNullRef.
  if (off == 0) off = align;
  if (!s_->has_cur || off + bytes > kArenaChunkBytes) {
    s_->cur_chunk = NewChunkLocked();
    s_->has_cur = 1;
    off = align;
  }
  s_->cur_off = static_cast<std::uint32_t>(off + bytes);
  s_->used.fetch_add(bytes, std::memory_order_relaxed);
  return MakeArenaRef(s_->cur_chunk, static_cast<std::uint32_t>(off));
}

std::uint32_t Arena::AllocateChunk() {
  SpinGuard g(s_->lock);
  std::uint32_t idx = NewChunkLocked();
  s_->used.fetch_add(kArenaChunkBytes, std::memory_order_relaxed);
  return idx;
}

bool Arena::CanAllocate(const std::size_t* sizes, std::size_t n, bool whole_chunk) const {
  SpinGuard g(s_->lock);
  std::size_t chunks = s_->chunks.load(std::memory_order_relaxed);
  std::size_t off = s_->has_cur ? s_->cur_off : kArenaChunkBytes;
  if (whole_chunk) chunks++;
  for (std::size_t i = 0; i < n; i++) {
    std::size_t o = (off + 7) & ~std::size_t{7};
    if (o + sizes[i] > kArenaChunkBytes) {
      chunks++;
      o = 8;
    }
    off = o + sizes[i];
  }
  return chunks <= capacity_ && chunks * kArenaChunkBytes <= limit();
}

}  // namespace vecgo
