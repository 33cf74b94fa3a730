// Vamana segment <-> fixed-size pages, and the page-backed store.
//
// Layout in vamana.h. Every offset is recomputed from the header's geometry
// on open and compared with what the header says, so a header that passes
// its checksum but disagrees with itself is refused too.
#include <cstring>

#include "vecgo/vamana.h"

namespace vecgo {

namespace {

constexpr std::size_t kTrailer = 8;
enum PageKind : std::uint32_t { kHeader = 1, kQuant = 2, kNode = 3, kCode = 4, kLabel = 5, kDeleted = 6 };

std::uint32_t Checksum(const std::uint8_t* p, std::size_t len) {
  // FNV-1a over 32-bit words, then the tail bytes; cheap and good enough to
  // catch torn or overwritten pages (PostgreSQL's page checksums sit below).
  std::uint32_t h = 2166136261u;
  std::size_t i = 0;
  for (; i + 4 <= len; i += 4) {
    std::uint32_t w;
    std::memcpy(&w, p + i, 4);
    h = (h ^ w) * 16777619u;
  }
  for (; i < len; i++) h = (h ^ p[i]) * 16777619u;
  return h ^ static_cast<std::uint32_t>(len);
}

struct Header {
  std::uint32_t magic, version, page_size, n, dim, R, medoid;
  std::uint8_t metric, quant, pad0, pad1;
  std::uint32_t code_size, quant_checksum;
  std::uint64_t quant_bytes;
  std::uint32_t record_size, records_per_page, pages_per_record, codes_per_page;
  std::uint64_t quant_start, node_start, code_start, label_start, deleted_start, total_pages;
};
static_assert(sizeof(Header) == 112, "header layout");

std::size_t DivUp(std::size_t a, std::size_t b) { return (a + b - 1) / b; }

// Fills the derived fields of h from its geometry. Returns false when the
// geometry cannot be laid out.
bool Layout(Header* h) {
  if (h->page_size < 512 || h->page_size % 8 != 0 || h->page_size > (1u << 20)) return false;
  std::size_t payload = h->page_size - kTrailer;
  std::size_t n = h->n;
  h->record_size = static_cast<std::uint32_t>(std::size_t(h->dim) * 4 + 4 + std::size_t(h->R) * 4);
  if (h->record_size <= payload) {
    h->records_per_page = static_cast<std::uint32_t>(payload / h->record_size);
    h->pages_per_record = 1;
  } else {
    h->records_per_page = 0;
    h->pages_per_record = static_cast<std::uint32_t>(DivUp(h->record_size, payload));
  }
  std::size_t node_pages =
      h->records_per_page ? DivUp(n, h->records_per_page) : n * h->pages_per_record;
  std::size_t code_pages = 0;
  if (h->code_size == 0) {
    h->codes_per_page = 0;
  } else if (h->code_size <= payload) {
    h->codes_per_page = static_cast<std::uint32_t>(payload / h->code_size);
    code_pages = DivUp(n, h->codes_per_page);
  } else {
    h->codes_per_page = 0;
    code_pages = n * DivUp(h->code_size, payload);
  }
  h->quant_start = 1;
  h->node_start = h->quant_start + DivUp(h->quant_bytes, payload);
  h->code_start = h->node_start + node_pages;
  h->label_start = h->code_start + code_pages;
  h->deleted_start = h->label_start + DivUp(n * 8, payload);
  h->total_pages = h->deleted_start + DivUp(DivUp(n, 8), payload);
  return true;
}

void PutTrailer(std::uint8_t* page, std::size_t page_size, std::uint32_t kind, std::size_t index,
                bool checksum) {
  std::uint32_t tag = (kind << 24) | static_cast<std::uint32_t>(index & 0xffffff);
  std::uint32_t sum = checksum ? Checksum(page, page_size - kTrailer) : 0;
  std::memcpy(page + page_size - kTrailer, &tag, 4);
  std::memcpy(page + page_size - 4, &sum, 4);
}

}  // namespace

static Header MakeHeader(const VamanaIndex& ix, std::size_t page_size, std::size_t quant_bytes) {
  Header h{};
  h.magic = kVamanaPageMagic;
  h.version = kVamanaFormatVersion;
  h.page_size = static_cast<std::uint32_t>(page_size);
  h.n = ix.Size();
  h.dim = ix.Dim();
  h.R = ix.MaxDegree();
  h.medoid = ix.Medoid();
  h.metric = static_cast<std::uint8_t>(ix.metric());
  h.quant = static_cast<std::uint8_t>(ix.codec().kind());
  h.code_size = static_cast<std::uint32_t>(ix.codec().code_size());
  h.quant_bytes = quant_bytes;
  if (!Layout(&h))
    throw Error(Error::Kind::InvalidArgument,
                "Vamana: page size " + std::to_string(page_size) + " is not usable");
  return h;
}

std::size_t VamanaPageCount(const VamanaIndex& ix, std::size_t page_size) {
  return MakeHeader(ix, page_size, ix.codec().Serialize().size()).total_pages;
}

void WriteVamanaPages(const VamanaIndex& ix, std::size_t page_size,
                      void (*emit)(void* ctx, std::size_t page_index, const std::uint8_t* page),
                      void* ctx) {
  std::vector<std::uint8_t> qbytes = ix.codec().Serialize();
  Header h = MakeHeader(ix, page_size, qbytes.size());
  h.quant_checksum = Checksum(qbytes.data(), qbytes.size());
  const std::size_t payload = page_size - kTrailer;
  std::vector<std::uint8_t> page(page_size);
  std::size_t index = 0;
  auto flush = [&](std::uint32_t kind, bool checksum) {
    PutTrailer(page.data(), page_size, kind, index, checksum);
    emit(ctx, index, page.data());
    index++;
    std::fill(page.begin(), page.end(), 0);
  };
  // A byte stream packed into consecutive pages of one kind.
  auto stream = [&](const std::uint8_t* data, std::size_t len, std::uint32_t kind, bool checksum) {
    for (std::size_t off = 0; off < len; off += payload) {
      std::memcpy(page.data(), data + off, std::min(payload, len - off));
      flush(kind, checksum);
    }
  };
  // Fixed-size items, `per_page` to a page (0: each item spans its own pages).
  auto items = [&](std::size_t count, std::size_t size, std::size_t per_page, std::uint32_t kind,
                   auto&& fill_item) {
    if (per_page) {
      for (std::size_t i = 0; i < count; i += per_page) {
        for (std::size_t j = i; j < std::min(count, i + per_page); j++)
          fill_item(j, page.data() + (j - i) * size);
        flush(kind, true);
      }
    } else {
      std::vector<std::uint8_t> buf(size);
      for (std::size_t i = 0; i < count; i++) {
        fill_item(i, buf.data());
        stream(buf.data(), size, kind, true);
      }
    }
  };

  std::memcpy(page.data(), &h, sizeof h);
  flush(kHeader, true);
  stream(qbytes.data(), qbytes.size(), kQuant, true);
  const std::size_t dim = ix.Dim(), R = ix.MaxDegree();
  items(h.n, h.record_size, h.records_per_page, kNode, [&](std::size_t i, std::uint8_t* out) {
    VamanaNode nd = ix.Node(static_cast<std::uint32_t>(i));
    std::memcpy(out, nd.vector, dim * 4);
    std::memcpy(out + dim * 4, &nd.degree, 4);
    std::memcpy(out + dim * 4 + 4, nd.neighbors, std::size_t(nd.degree) * 4);
    std::memset(out + dim * 4 + 4 + std::size_t(nd.degree) * 4, 0, (R - nd.degree) * 4);
  });
  if (h.code_size) {
    items(h.n, h.code_size, h.codes_per_page, kCode, [&](std::size_t i, std::uint8_t* out) {
      std::memcpy(out, ix.Code(static_cast<std::uint32_t>(i)), h.code_size);
    });
  }
  items(h.n, 8, payload / 8, kLabel, [&](std::size_t i, std::uint8_t* out) {
    std::uint64_t l = ix.Label(static_cast<std::uint32_t>(i));
    std::memcpy(out, &l, 8);
  });
  for (std::size_t i = 0; i < h.n; i += payload * 8) {
    for (std::size_t j = i; j < std::min<std::size_t>(h.n, i + payload * 8); j++)
      if (ix.Deleted(static_cast<std::uint32_t>(j))) page[(j - i) >> 3] |= std::uint8_t(1u << ((j - i) & 7));
    flush(kDeleted, false);
  }
  if (index != h.total_pages) throw Error(Error::Kind::Internal, "Vamana: page count mismatch");
}

std::vector<std::uint8_t> SerializeVamana(const VamanaIndex& ix, std::size_t page_size) {
  std::vector<std::uint8_t> out(VamanaPageCount(ix, page_size) * page_size);
  struct Ctx {
    std::vector<std::uint8_t>* out;
    std::size_t page_size;
  } c{&out, page_size};
  WriteVamanaPages(ix, page_size,
                   [](void* ctx, std::size_t i, const std::uint8_t* p) {
                     auto* c = static_cast<Ctx*>(ctx);
                     std::memcpy(c->out->data() + i * c->page_size, p, c->page_size);
                   },
                   &c);
  return out;
}

// ---------------------------------------------------------------- paged store

PagedVamanaStore::PagedVamanaStore(VamanaPageAccessor access, void* ctx, std::size_t page_count,
                                   std::size_t page_size)
    : access_(access), ctx_(ctx), page_size_(page_size), payload_(page_size - kTrailer) {
  if (page_size < 512 || page_size % 8 != 0)
    throw Error(Error::Kind::InvalidArgument, "Vamana: page size " + std::to_string(page_size) + " is not usable");
  total_pages_ = page_count;
  if (page_count == 0) detail::VamanaCorrupt("no pages");
  const std::uint8_t* p0 = Page(0);
  Header h;
  std::memcpy(&h, p0, sizeof h);
  if (h.magic != kVamanaPageMagic) detail::VamanaCorrupt("bad magic number in the header page");
  if (h.version != kVamanaFormatVersion)
    throw Error(Error::Kind::DataCorrupted,
                "Vamana segment has format version " + std::to_string(h.version) + ", this build reads version " +
                    std::to_string(kVamanaFormatVersion) + "; REINDEX to rebuild it");
  std::uint32_t sum;
  std::memcpy(&sum, p0 + page_size - 4, 4);
  if (sum != Checksum(p0, payload_)) detail::VamanaCorrupt("header page checksum mismatch");
  if (h.page_size != page_size) detail::VamanaCorrupt("header page size differs from the reader's");
  if (h.dim == 0 || h.dim > kMaxDim || h.R == 0 || h.R > 4096 || h.n >= 0x7fffffffu ||
      (h.n && h.medoid >= h.n) || h.metric > 3 || h.quant > 3 || h.quant_bytes > (std::uint64_t(1) << 32))
    detail::VamanaCorrupt("header fields out of range");
  Header check = h;
  if (!Layout(&check) || std::memcmp(&check, &h, sizeof h) != 0)
    detail::VamanaCorrupt("header geometry is inconsistent");
  if (h.total_pages > page_count) detail::VamanaCorrupt("segment is truncated (fewer pages than its header says)");
  n_ = h.n;
  dim_ = h.dim;
  R_ = h.R;
  medoid_ = h.medoid;
  metric_ = static_cast<Metric>(h.metric);
  record_size_ = h.record_size;
  records_per_page_ = h.records_per_page;
  pages_per_record_ = h.pages_per_record;
  code_size_ = h.code_size;
  codes_per_page_ = h.codes_per_page;
  node_start_ = h.node_start;
  code_start_ = h.code_start;
  label_start_ = h.label_start;
  deleted_start_ = h.deleted_start;
  total_pages_ = h.total_pages;
  // Quantizer parameters: gather, check, decode.
  std::vector<std::uint8_t> q(h.quant_bytes);
  for (std::size_t off = 0, pg = h.quant_start; off < q.size(); off += payload_, pg++) {
    const std::uint8_t* p = Page(pg);
    std::memcpy(q.data() + off, p, std::min(payload_, q.size() - off));
  }
  if (Checksum(q.data(), q.size()) != h.quant_checksum) detail::VamanaCorrupt("quantizer checksum mismatch");
  codec_ = VamanaCodec::Deserialize(static_cast<VamanaQuantization>(h.quant), metric_, dim_, q.data(), q.size());
  if (codec_.code_size() != code_size_) detail::VamanaCorrupt("quantizer code size differs from the header");
  if (records_per_page_ == 0) scratch_.resize(record_size_ + code_size_);
  else if (code_size_ && codes_per_page_ == 0) scratch_.resize(code_size_);
}

const std::uint8_t* PagedVamanaStore::Page(std::size_t index) const {
  if (index >= total_pages_) detail::VamanaCorrupt("page index beyond the segment");
  const std::uint8_t* p = access_(ctx_, index);
  if (!p) detail::VamanaCorrupt("page missing (truncated segment)");
  return p;
}

VamanaNode PagedVamanaStore::Node(std::uint32_t id) const {
  if (id >= n_) detail::VamanaCorrupt("node id out of range");
  const std::uint8_t* rec;
  if (records_per_page_) {
    rec = Page(node_start_ + id / records_per_page_) + (id % records_per_page_) * record_size_;
  } else {
    std::size_t first = node_start_ + std::size_t(id) * pages_per_record_;
    for (std::size_t off = 0, k = 0; off < record_size_; off += payload_, k++)
      std::memcpy(scratch_.data() + off, Page(first + k), std::min(payload_, record_size_ - off));
    rec = scratch_.data();
  }
  VamanaNode nd;
  nd.vector = reinterpret_cast<const float*>(rec);
  std::memcpy(&nd.degree, rec + std::size_t(dim_) * 4, 4);
  if (nd.degree > R_) detail::VamanaCorrupt("node degree above the segment's maximum");
  nd.neighbors = reinterpret_cast<const std::uint32_t*>(rec + std::size_t(dim_) * 4 + 4);
  return nd;
}

const std::uint8_t* PagedVamanaStore::Code(std::uint32_t id) const {
  if (!code_size_) return nullptr;
  if (id >= n_) detail::VamanaCorrupt("node id out of range");
  if (codes_per_page_) return Page(code_start_ + id / codes_per_page_) + (id % codes_per_page_) * code_size_;
  std::size_t per = (code_size_ + payload_ - 1) / payload_;
  std::uint8_t* buf = scratch_.data() + (records_per_page_ ? 0 : record_size_);
  for (std::size_t off = 0, k = 0; off < code_size_; off += payload_, k++)
    std::memcpy(buf + off, Page(code_start_ + std::size_t(id) * per + k), std::min(payload_, code_size_ - off));
  return buf;
}

bool PagedVamanaStore::Deleted(std::uint32_t id) const {
  if (id >= n_) detail::VamanaCorrupt("node id out of range");
  std::size_t bits = payload_ * 8;
  const std::uint8_t* p = Page(deleted_start_ + id / bits);
  std::size_t b = id % bits;
  return (p[b >> 3] >> (b & 7)) & 1;
}

std::uint64_t PagedVamanaStore::Label(std::uint32_t id) const {
  if (id >= n_) detail::VamanaCorrupt("node id out of range");
  std::size_t per = payload_ / 8;
  std::uint64_t l;
  std::memcpy(&l, Page(label_start_ + id / per) + (id % per) * 8, 8);
  return l;
}

void PagedVamanaStore::Prefetch(std::uint32_t id) const {
  if (id >= n_ || !records_per_page_) return;
  const std::uint8_t* p = access_(ctx_, node_start_ + id / records_per_page_);
  if (!p) return;
  p += (id % records_per_page_) * record_size_;
  for (std::size_t o = 0; o < record_size_ && o < 512; o += 64) __builtin_prefetch(p + o);
}

void PagedVamanaStore::PrefetchCode(std::uint32_t id) const {
  if (id >= n_ || !codes_per_page_) return;
  const std::uint8_t* p = access_(ctx_, code_start_ + id / codes_per_page_);
  if (!p) return;
  p += (id % codes_per_page_) * code_size_;
  for (std::size_t o = 0; o < code_size_ && o < 256; o += 64) __builtin_prefetch(p + o);
}

std::pair<std::size_t, std::size_t> PagedVamanaStore::DeletionBit(std::uint32_t id) const {
  if (id >= n_) throw Error(Error::Kind::InvalidArgument, "Vamana: node id out of range");
  std::size_t bits = payload_ * 8;
  return {deleted_start_ + id / bits, id % bits};
}

void PagedVamanaStore::Verify() const {
  for (std::size_t i = 0; i < deleted_start_; i++) {
    const std::uint8_t* p = Page(i);
    std::uint32_t tag, sum;
    std::memcpy(&tag, p + page_size_ - kTrailer, 4);
    std::memcpy(&sum, p + page_size_ - 4, 4);
    if ((tag & 0xffffff) != (i & 0xffffff)) detail::VamanaCorrupt("page out of sequence");
    if (sum != Checksum(p, payload_)) detail::VamanaCorrupt("page checksum mismatch");
  }
  for (std::uint32_t id = 0; id < n_; id++) {
    VamanaNode nd = Node(id);
    for (std::uint32_t j = 0; j < nd.degree; j++)
      if (nd.neighbors[j] >= n_) detail::VamanaCorrupt("neighbour id out of range");
    for (std::uint32_t j = 0; j < dim_; j++)
      if (!std::isfinite(nd.vector[j])) detail::VamanaCorrupt("non-finite vector component");
  }
}

}  // namespace vecgo
