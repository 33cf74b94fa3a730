// Arena of 4 MB chunks (see include/vecgo/arena.h).
#include "vecgo/arena.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace vecgo {

HeapChunkSource::~HeapChunkSource() {
  for (std::uint32_t i = 0; i < count_; i++) std::free(chunks_[i]);
}

void* HeapChunkSource::NewChunk(std::uint32_t index) {
  std::lock_guard<std::mutex> g(mu_);
  if (index != count_) return nullptr;
  if (count_ == cap_) {
    std::uint32_t ncap = cap_ ? cap_ * 2 : 16;
    std::unique_ptr<void*[]> n(new (std::nothrow) void*[ncap]);
    if (!n) return nullptr;
    if (count_) std::memcpy(n.get(), chunks_.get(), count_ * sizeof(void*));
    chunks_ = std::move(n);
    cap_ = ncap;
  }
  void* p = std::aligned_alloc(64, kArenaChunkBytes);
  if (!p) return nullptr;
  chunks_[count_++] = p;
  return p;
}

void* HeapChunkSource::MapChunk(std::uint32_t index) {
  std::lock_guard<std::mutex> g(mu_);
  return index < count_ ? chunks_[index] : nullptr;
}

Arena::Arena(std::size_t limit_bytes, std::unique_ptr<ChunkSource> source)
    : source_(source ? std::move(source) : std::make_unique<HeapChunkSource>()), limit_(limit_bytes) {
  // The table is sized for the hard cap (512 KB) so raising the limit works.
  max_chunks_ = kArenaMaxChunks;
  local_.reset(new std::atomic<char*>[max_chunks_]);
  for (std::uint32_t i = 0; i < max_chunks_; i++) local_[i].store(nullptr, std::memory_order_relaxed);
}

char* Arena::MapSlow(std::uint32_t chunk) const {
  if (chunk >= max_chunks_) throw Error(Error::Kind::Internal, "arena reference out of range");
  char* p = static_cast<char*>(source_->MapChunk(chunk));
  if (!p) throw Error(Error::Kind::Internal, "arena chunk cannot be mapped");
  local_[chunk].store(p, std::memory_order_release);
  return p;
}

std::uint32_t Arena::NewChunkLocked() {
  std::uint32_t idx = chunks_.load(std::memory_order_relaxed);
  if (idx >= max_chunks_ || (static_cast<std::size_t>(idx) + 1) * kArenaChunkBytes > limit())
    throw Error(Error::Kind::OutOfMemory,
                "memory limit reached: " + std::to_string(limit()) + " bytes (" +
                    std::to_string(idx) + " chunks of 4 MB in use)");
  char* p = static_cast<char*>(source_->NewChunk(idx));
  if (!p) throw Error(Error::Kind::OutOfMemory, "out of memory allocating a 4 MB arena chunk");
  local_[idx].store(p, std::memory_order_release);
  chunks_.store(idx + 1, std::memory_order_relaxed);
  return idx;
}

ArenaRef Arena::Allocate(std::size_t bytes, std::size_t align) {
  if (bytes == 0 || bytes > kArenaChunkBytes - 64 || align == 0 || align > 64 || (align & (align - 1)))
    throw Error(Error::Kind::InvalidArgument, "arena allocation of unsupported size or alignment");
  std::lock_guard<std::mutex> g(mu_);
  std::size_t off = (cur_off_ + align - 1) & ~(align - 1);
  // Byte 0 of a chunk is never handed out, so that no allocation is kNullRef.
  if (off == 0) off = align;
  if (!has_cur_ || off + bytes > kArenaChunkBytes) {
    cur_chunk_ = NewChunkLocked();
    has_cur_ = true;
    off = align;
  }
  cur_off_ = static_cast<std::uint32_t>(off + bytes);
  used_.fetch_add(bytes, std::memory_order_relaxed);
  return MakeArenaRef(cur_chunk_, static_cast<std::uint32_t>(off));
}

std::uint32_t Arena::AllocateChunk() {
  std::lock_guard<std::mutex> g(mu_);
  std::uint32_t idx = NewChunkLocked();
  used_.fetch_add(kArenaChunkBytes, std::memory_order_relaxed);
  return idx;
}

bool Arena::CanAllocate(const std::size_t* sizes, std::size_t n, bool whole_chunk) const {
  std::lock_guard<std::mutex> g(mu_);
  std::size_t chunks = chunks_.load(std::memory_order_relaxed);
  std::size_t off = has_cur_ ? cur_off_ : kArenaChunkBytes;
  if (whole_chunk) chunks++;
  for (std::size_t i = 0; i < n; i++) {
    std::size_t o = (off + 7) & ~std::size_t{7};
    if (o + sizes[i] > kArenaChunkBytes) {
      chunks++;
      o = 8;
    }
    off = o + sizes[i];
  }
  return chunks <= max_chunks_ && chunks * kArenaChunkBytes <= limit();
}

}  // namespace vecgo
