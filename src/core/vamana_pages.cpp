// Vamana segment <-> page stream (pages.h), and the page-backed store.
//
// Layout in vamana.h. The store opens the stream with PageStreamReader (page
// framing, checksums, regions validated against the stream), then serves the
// search by locating records directly in the pages the accessor returns: a
// page read on the hot path is one accessor call plus range checks.
#include <cstring>

#include "vecgo/vamana.h"

namespace vecgo {

namespace {

void PutRegion(PageStreamWriter& w, const RecordRegion& r) {
  w.Put<std::uint64_t>(r.start);
  w.Put<std::uint64_t>(r.count);
  w.Put<std::uint32_t>(r.record_size);
  w.Put<std::uint32_t>(r.per_page);
  w.Put<std::uint32_t>(r.payload);
}

RecordRegion GetRegion(PageStreamReader& r) {
  RecordRegion g;
  g.start = r.Get<std::uint64_t>();
  g.count = r.Get<std::uint64_t>();
  g.record_size = r.Get<std::uint32_t>();
  g.per_page = r.Get<std::uint32_t>();
  g.payload = r.Get<std::uint32_t>();
  return g;
}

constexpr std::size_t kRegionBytes = 8 + 8 + 4 + 4 + 4;

// Bytes of a node's vector in its record: the neighbour ids after it stay
// 4-byte aligned.
std::size_t VectorBytes(std::uint32_t dim, bool half) {
  return half ? (std::size_t(dim) * 2 + 3) & ~std::size_t(3) : std::size_t(dim) * 4;
}

}  // namespace

std::uint64_t WriteVamanaPages(const VamanaIndex& ix, PageSink sink, std::size_t page_size,
                               std::uint32_t stream_id) {
  PageStreamWriter w(kVamanaContentMagic, kVamanaFormatVersion, std::move(sink), page_size, stream_id);
  const std::uint32_t n = ix.Size(), dim = ix.Dim(), R = ix.MaxDegree();
  const bool quantized = ix.quantizer().trained() && ix.code_size() > 0;
  w.Put<std::uint32_t>(n);
  w.Put<std::uint32_t>(dim);
  w.Put<std::uint32_t>(R);
  w.Put<std::uint32_t>(ix.Medoid());
  w.Put<std::uint8_t>(static_cast<std::uint8_t>(ix.metric()));
  w.Put<std::uint8_t>(quantized ? static_cast<std::uint8_t>(ix.quantizer().kind()) : 0);
  const bool half = ix.half_vectors();
  w.Put<std::uint8_t>(half ? 1 : 0);
  w.PutZeros(1);
  if (quantized) ix.quantizer().Save(w);

  const std::size_t vec_bytes = VectorBytes(dim, half);
  const std::size_t rec_size = vec_bytes + 4 + std::size_t(R) * 4;
  std::vector<std::uint8_t> rec(rec_size);
  const simd::Kernels& k = simd::active();
  w.BeginRecords(static_cast<std::uint32_t>(rec_size));
  for (std::uint32_t i = 0; i < n; i++) {
    VamanaNode nd = ix.Node(i);
    std::memset(rec.data(), 0, rec_size);
    if (half)
      k.f32_to_f16(nd.vector, reinterpret_cast<std::uint16_t*>(rec.data()), dim);
    else
      std::memcpy(rec.data(), nd.vector, std::size_t(dim) * 4);
    std::memcpy(rec.data() + vec_bytes, &nd.degree, 4);
    std::memcpy(rec.data() + vec_bytes + 4, nd.neighbors, std::size_t(nd.degree) * 4);
    w.PutRecord(rec.data());
  }
  RecordRegion nodes = w.EndRecords();
  RecordRegion codes;
  if (quantized) {
    w.BeginRecords(static_cast<std::uint32_t>(ix.code_size()));
    for (std::uint32_t i = 0; i < n; i++) w.PutRecord(ix.Code(i));
    codes = w.EndRecords();
  }
  w.BeginRecords(8);
  for (std::uint32_t i = 0; i < n; i++) {
    std::uint64_t l = ix.Label(i);
    w.PutRecord(&l);
  }
  RecordRegion labels = w.EndRecords();
  w.BeginRecords(8);
  for (std::uint32_t word = 0; word < (n + 63) / 64; word++) {
    std::uint64_t bits = 0;
    for (std::uint32_t b = 0; b < 64 && word * 64 + b < n; b++)
      if (ix.Deleted(word * 64 + b)) bits |= std::uint64_t(1) << b;
    w.PutRecord(&bits);
  }
  RecordRegion deleted = w.EndRecords();
  std::uint64_t trailer = w.Tell();
  PutRegion(w, nodes);
  PutRegion(w, codes);
  PutRegion(w, labels);
  PutRegion(w, deleted);
  w.Put<std::uint64_t>(trailer);
  return w.Finish();
}

std::vector<std::uint8_t> SerializeVamana(const VamanaIndex& ix, std::size_t page_size) {
  std::vector<std::uint8_t> out;
  WriteVamanaPages(ix, CollectPages(&out, page_size), page_size);
  return out;
}

// ---------------------------------------------------------------- paged store

PagedVamanaStore::PagedVamanaStore(VamanaPageAccessor access, void* ctx, std::size_t page_count,
                                   std::size_t page_size)
    : access_(access), ctx_(ctx), page_size_(page_size) {
  auto fn = [access, ctx](std::uint64_t pg) { return access(ctx, static_cast<std::size_t>(pg)); };
  reader_ = std::make_unique<PageStreamReader>(fn, page_count, page_size, kVamanaContentMagic,
                                               kVamanaFormatVersion);
  PageStreamReader& r = *reader_;
  if (r.version() != kVamanaFormatVersion)
    throw Error(Error::Kind::DataCorrupted,
                "Vamana segment has format version " + std::to_string(r.version()) +
                    ", this build reads version " + std::to_string(kVamanaFormatVersion) +
                    "; REINDEX to rebuild it");
  pages_ = r.page_count();
  n_ = r.Get<std::uint32_t>();
  dim_ = r.Get<std::uint32_t>();
  R_ = r.Get<std::uint32_t>();
  medoid_ = r.Get<std::uint32_t>();
  std::uint8_t metric = r.Get<std::uint8_t>();
  std::uint8_t quant = r.Get<std::uint8_t>();
  std::uint8_t half = r.Get<std::uint8_t>();
  r.Skip(1);
  if (dim_ == 0 || dim_ > kMaxDim || R_ == 0 || R_ > 4096 || n_ >= 0x7fffffffu ||
      (n_ && medoid_ >= n_) || metric > 3 || quant > 4 || half > 1)
    detail::VamanaCorrupt("header fields out of range");
  metric_ = static_cast<Metric>(metric);
  half_ = half != 0;
  vec_bytes_ = VectorBytes(dim_, half_);
  if (half_) vec_scratch_.resize(dim_);
  if (quant) {
    quantizer_ = Quantizer::Load(r);
    if (!quantizer_.trained() || static_cast<std::uint8_t>(quantizer_.kind()) != quant ||
        quantizer_.dim() != dim_ || quantizer_.metric() != metric_)
      detail::VamanaCorrupt("quantizer does not match the segment");
  }
  if (r.length() < kStreamHeaderSize + 8) detail::VamanaCorrupt("stream too short");
  r.Seek(r.length() - 8);
  std::uint64_t trailer = r.Get<std::uint64_t>();
  if (trailer > r.length() - 8 || r.length() - 8 - trailer != 4 * kRegionBytes)
    detail::VamanaCorrupt("bad trailer offset");
  r.Seek(trailer);
  nodes_ = GetRegion(r);
  codes_ = GetRegion(r);
  labels_ = GetRegion(r);
  deleted_ = GetRegion(r);
  const std::size_t payload = r.payload();
  nodes_.Validate(r.length(), payload);
  labels_.Validate(r.length(), payload);
  deleted_.Validate(r.length(), payload);
  if (nodes_.count != n_ || nodes_.record_size != vec_bytes_ + 4 + std::size_t(R_) * 4)
    detail::VamanaCorrupt("node region does not match the header");
  if (labels_.count != n_ || labels_.record_size != 8 || labels_.per_page == 0)
    detail::VamanaCorrupt("label region does not match the header");
  if (deleted_.count != (std::uint64_t(n_) + 63) / 64 || deleted_.record_size != 8 || deleted_.per_page == 0)
    detail::VamanaCorrupt("deletion region does not match the header");
  if (quant) {
    codes_.Validate(r.length(), payload);
    if (codes_.count != n_ || codes_.record_size != quantizer_.code_size())
      detail::VamanaCorrupt("code region does not match the quantizer");
  } else if (codes_.count != 0 || codes_.record_size != 0) {
    detail::VamanaCorrupt("code region without a quantizer");
  }
  if (nodes_.per_page == 0) node_scratch_.resize(nodes_.record_size);
  if (codes_.count && codes_.per_page == 0) code_scratch_.resize(codes_.record_size);
}

const std::uint8_t* PagedVamanaStore::Page(std::uint64_t index) const {
  if (index >= pages_) detail::VamanaCorrupt("page number beyond the segment");
  const std::uint8_t* p = access_(ctx_, static_cast<std::size_t>(index));
  if (!p) detail::VamanaCorrupt("page missing (truncated segment)");
  return p;
}

const std::uint8_t* PagedVamanaStore::At(const RecordRegion& r, std::uint64_t i,
                                         std::uint8_t* scratch) const {
  if (r.per_page) {
    RecordLocation loc = r.Locate(i);
    return Page(loc.page) + loc.offset;
  }
  reader_->ReadAt(r.StreamOffset(i), scratch, r.record_size);
  return scratch;
}

VamanaNode PagedVamanaStore::Node(std::uint32_t id) const {
  if (id >= n_) detail::VamanaCorrupt("node id out of range");
  const std::uint8_t* rec = At(nodes_, id, node_scratch_.data());
  VamanaNode nd;
  if (half_) {
    simd::active().f16_to_f32(reinterpret_cast<const std::uint16_t*>(rec), vec_scratch_.data(), dim_);
    nd.vector = vec_scratch_.data();
  } else {
    nd.vector = reinterpret_cast<const float*>(rec);
  }
  std::memcpy(&nd.degree, rec + vec_bytes_, 4);
  if (nd.degree > R_) detail::VamanaCorrupt("node degree above the segment's maximum");
  nd.neighbors = reinterpret_cast<const std::uint32_t*>(rec + vec_bytes_ + 4);
  return nd;
}

const std::uint8_t* PagedVamanaStore::Code(std::uint32_t id) const {
  if (!codes_.count) return nullptr;
  if (id >= n_) detail::VamanaCorrupt("node id out of range");
  return At(codes_, id, code_scratch_.data());
}

bool PagedVamanaStore::Deleted(std::uint32_t id) const {
  if (id >= n_) detail::VamanaCorrupt("node id out of range");
  std::uint64_t w;
  std::memcpy(&w, At(deleted_, id >> 6, nullptr), 8);
  return (w >> (id & 63)) & 1;
}

std::uint64_t PagedVamanaStore::Label(std::uint32_t id) const {
  if (id >= n_) detail::VamanaCorrupt("node id out of range");
  std::uint64_t l;
  std::memcpy(&l, At(labels_, id, nullptr), 8);
  return l;
}

void PagedVamanaStore::Prefetch(std::uint32_t id) const {
  if (id >= n_ || !nodes_.per_page) return;
  RecordLocation loc = nodes_.Locate(id);
  if (loc.page >= pages_) return;
  const std::uint8_t* p = access_(ctx_, static_cast<std::size_t>(loc.page));
  if (!p) return;
  p += loc.offset;
  for (std::size_t o = 0; o < nodes_.record_size && o < 512; o += 64) __builtin_prefetch(p + o);
}

void PagedVamanaStore::PrefetchCode(std::uint32_t id) const {
  if (id >= n_ || !codes_.per_page) return;
  RecordLocation loc = codes_.Locate(id);
  if (loc.page >= pages_) return;
  const std::uint8_t* p = access_(ctx_, static_cast<std::size_t>(loc.page));
  if (!p) return;
  p += loc.offset;
  for (std::size_t o = 0; o < codes_.record_size && o < 256; o += 64) __builtin_prefetch(p + o);
}

PagedVamanaStore::BitLocation PagedVamanaStore::DeletionBit(std::uint32_t id) const {
  if (id >= n_) throw Error(Error::Kind::InvalidArgument, "Vamana: node id out of range");
  RecordLocation loc = deleted_.Locate(id >> 6);
  return {loc.page, static_cast<std::uint32_t>(loc.offset + ((id & 63) >> 3)),
          static_cast<std::uint8_t>(id & 7)};
}

void PagedVamanaStore::SetDeletionBit(std::uint8_t* page, std::size_t page_size, const BitLocation& loc) {
  if (loc.byte < kPageHeaderSize || loc.byte >= page_size || loc.bit > 7)
    throw Error(Error::Kind::InvalidArgument, "Vamana: deletion bit outside the page");
  page[loc.byte] |= static_cast<std::uint8_t>(1u << loc.bit);
  // Reseal: the page checksum covers the whole page with its own field as 0.
  std::memset(page + 28, 0, 4);
  std::uint32_t crc = Crc32c(page, page_size);
  std::memcpy(page + 28, &crc, 4);
}

void PagedVamanaStore::Verify() const {
  auto fn = [this](std::uint64_t pg) { return access_(ctx_, static_cast<std::size_t>(pg)); };
  PageStreamReader r(fn, pages_, page_size_, kVamanaContentMagic, kVamanaFormatVersion);
  r.VerifyAll();
  for (std::uint32_t id = 0; id < n_; id++) {
    VamanaNode nd = Node(id);
    std::vector<std::uint32_t> nb(nd.neighbors, nd.neighbors + nd.degree);
    for (std::uint32_t j = 0; j < dim_; j++)
      if (!std::isfinite(nd.vector[j])) detail::VamanaCorrupt("non-finite vector component");
    for (std::uint32_t x : nb)
      if (x >= n_) detail::VamanaCorrupt("neighbour id out of range");
  }
}

}  // namespace vecgo
