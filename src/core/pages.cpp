// Page stream writer and reader (format in pages.h).
#include "vecgo/pages.h"

#include <algorithm>

namespace vecgo {
namespace {

// CRC-32C tables for slicing-by-8, built once (constant initialisation of a
// function-local static: no instruction-set specific code involved).
struct CrcTables {
  std::uint32_t t[8][256];
  CrcTables() {
    for (std::uint32_t i = 0; i < 256; i++) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
      t[0][i] = c;
    }
    for (std::uint32_t i = 0; i < 256; i++)
      for (int s = 1; s < 8; s++) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};

const CrcTables& Tables() {
  static const CrcTables tables;
  return tables;
}

template <typename T>
void Store(std::uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof(T));
}
template <typename T>
T Load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

constexpr std::uint16_t kFlagLast = 1;

}  // namespace

std::uint32_t Crc32c(const void* data, std::size_t n, std::uint32_t crc) {
  const CrcTables& tb = Tables();
  const std::uint8_t* p = static_cast<const std::uint8_t*>(data);
  crc = ~crc;
  while (n >= 8) {
    std::uint32_t lo = Load<std::uint32_t>(p) ^ crc;
    std::uint32_t hi = Load<std::uint32_t>(p + 4);
    crc = tb.t[7][lo & 0xff] ^ tb.t[6][(lo >> 8) & 0xff] ^ tb.t[5][(lo >> 16) & 0xff] ^
          tb.t[4][lo >> 24] ^ tb.t[3][hi & 0xff] ^ tb.t[2][(hi >> 8) & 0xff] ^
          tb.t[1][(hi >> 16) & 0xff] ^ tb.t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) crc = (crc >> 8) ^ tb.t[0][(crc ^ *p++) & 0xff];
  return ~crc;
}

// ---------------------------------------------------------------- regions

std::uint64_t RecordRegion::PageCount() const {
  if (count == 0) return 0;
  std::uint64_t first = start / payload;
  std::uint64_t end = StreamOffset(count - 1) + record_size;  // one past the last byte
  return (end - 1) / payload - first + 1;
}

void RecordRegion::Validate(std::uint64_t stream_length, std::size_t payload_size) const {
  if (payload != payload_size) PageStreamReader::Fail("record region laid out for another page size");
  if (record_size == 0) PageStreamReader::Fail("record region with zero-sized records");
  if (record_size <= payload) {
    if (per_page != payload / record_size) PageStreamReader::Fail("record region: bad records per page");
    if (start % payload != 0) PageStreamReader::Fail("record region not page-aligned");
  } else if (per_page != 0) {
    PageStreamReader::Fail("record region: bad records per page");
  }
  if (start > stream_length) PageStreamReader::Fail("record region starts past the stream");
  if (count == 0) return;
  // Bound count before multiplying (no overflow): every record takes at least
  // record_size stream bytes.
  if (count > (stream_length - start) / record_size + 1) PageStreamReader::Fail("record region too long");
  std::uint64_t end = StreamOffset(count - 1) + record_size;
  if (end > stream_length || end < start) PageStreamReader::Fail("record region runs past the stream");
}

// ---------------------------------------------------------------- writer

PageSink CollectPages(std::vector<std::uint8_t>* out, std::size_t page_size) {
  return [out, page_size](std::uint64_t page_no, const std::uint8_t* page) {
    std::size_t at = static_cast<std::size_t>(page_no) * page_size;
    if (out->size() < at + page_size) out->resize(at + page_size);
    std::memcpy(out->data() + at, page, page_size);
  };
}

PageStreamWriter::PageStreamWriter(std::uint32_t content_magic, std::uint32_t content_version,
                                   PageSink sink, std::size_t page_size, std::uint32_t stream_id)
    : sink_(std::move(sink)), page_size_(page_size), stream_id_(stream_id) {
  if (page_size < kMinPageSize || page_size > (std::size_t{1} << 30))
    throw Error(Error::Kind::InvalidArgument, "page stream: page size out of range");
  if (!sink_) throw Error(Error::Kind::InvalidArgument, "page stream: no page sink");
  first_.assign(page_size_, 0);
  cur_.assign(page_size_, 0);
  std::uint8_t hdr[kStreamHeaderSize] = {};
  Store<std::uint32_t>(hdr, content_magic);
  Store<std::uint32_t>(hdr + 4, content_version);
  Write(hdr, sizeof(hdr));  // totals patched in Finish
}

void PageStreamWriter::Write(const void* data, std::size_t n) {
  if (finished_) throw Error(Error::Kind::Internal, "page stream: write after Finish");
  const std::uint8_t* p = static_cast<const std::uint8_t*>(data);
  const std::size_t cap = payload();
  while (n > 0) {
    if (fill_ == cap) FlushPage(false);
    std::size_t take = std::min(n, cap - fill_);
    std::uint8_t* page = page_no_ == 0 ? first_.data() : cur_.data();
    if (p) {
      std::memcpy(page + kPageHeaderSize + fill_, p, take);
      p += take;
    } else {
      std::memset(page + kPageHeaderSize + fill_, 0, take);
    }
    fill_ += take;
    offset_ += take;
    n -= take;
  }
}

void PageStreamWriter::PutZeros(std::size_t n) { Write(nullptr, n); }

void PageStreamWriter::AlignToPage() {
  if (fill_ != 0 && fill_ != payload()) PutZeros(payload() - fill_);
}

void PageStreamWriter::BeginRecords(std::uint32_t record_size) {
  if (in_records_) throw Error(Error::Kind::Internal, "page stream: nested record regions");
  if (record_size == 0) throw Error(Error::Kind::InvalidArgument, "page stream: zero record size");
  region_ = RecordRegion{};
  region_.record_size = record_size;
  region_.payload = static_cast<std::uint32_t>(payload());
  if (record_size <= payload()) {
    AlignToPage();
    region_.per_page = static_cast<std::uint32_t>(payload() / record_size);
  }
  region_.start = offset_;
  in_records_ = true;
}

void PageStreamWriter::PutRecord(const void* record) {
  if (!in_records_) throw Error(Error::Kind::Internal, "page stream: PutRecord outside a region");
  if (region_.per_page != 0) {
    std::uint64_t want = region_.StreamOffset(region_.count);
    if (want != offset_) PutZeros(static_cast<std::size_t>(want - offset_));
  }
  Write(record, region_.record_size);
  region_.count++;
}

RecordRegion PageStreamWriter::EndRecords() {
  if (!in_records_) throw Error(Error::Kind::Internal, "page stream: EndRecords without Begin");
  in_records_ = false;
  return region_;
}

void PageStreamWriter::SealPage(std::uint8_t* page, std::uint64_t page_no, bool last,
                                std::uint32_t used) {
  Store<std::uint32_t>(page, kPageMagic);
  Store<std::uint16_t>(page + 4, kPageFormatVersion);
  Store<std::uint16_t>(page + 6, last ? kFlagLast : 0);
  Store<std::uint32_t>(page + 8, stream_id_);
  Store<std::uint32_t>(page + 12, static_cast<std::uint32_t>(page_no));
  Store<std::uint64_t>(page + 16, page_no * payload());
  Store<std::uint32_t>(page + 24, used);
  Store<std::uint32_t>(page + 28, 0);
  Store<std::uint32_t>(page + 28, Crc32c(page, page_size_));
}

void PageStreamWriter::FlushPage(bool last) {
  if (page_no_ >= 0xffffffffull) throw Error(Error::Kind::OutOfMemory, "page stream: too many pages");
  if (page_no_ != 0) {
    SealPage(cur_.data(), page_no_, last, static_cast<std::uint32_t>(fill_));
    sink_(page_no_, cur_.data());
    std::memset(cur_.data(), 0, page_size_);
  } else {
    // Page 0 is sealed in Finish, once the totals are known; only remember
    // how much of it is used.
    Store<std::uint32_t>(first_.data() + 24, static_cast<std::uint32_t>(fill_));
  }
  page_no_++;
  fill_ = 0;
}

std::uint64_t PageStreamWriter::Finish() {
  if (finished_) throw Error(Error::Kind::Internal, "page stream: Finish called twice");
  if (in_records_) throw Error(Error::Kind::Internal, "page stream: Finish inside a record region");
  bool single = page_no_ == 0;
  std::uint64_t pages = page_no_ + 1;
  std::uint32_t first_used = single ? static_cast<std::uint32_t>(fill_)
                                    : static_cast<std::uint32_t>(payload());
  if (!single) FlushPage(true);
  finished_ = true;
  Store<std::uint64_t>(first_.data() + kPageHeaderSize + 8, offset_);
  Store<std::uint64_t>(first_.data() + kPageHeaderSize + 16, pages);
  SealPage(first_.data(), 0, single, first_used);
  sink_(0, first_.data());
  return pages;
}

// ---------------------------------------------------------------- reader

void PageStreamReader::Fail(const std::string& why) {
  throw Error(Error::Kind::DataCorrupted, "page stream: " + why);
}

PageStreamReader::PageStreamReader(PageFn page, std::uint64_t page_count, std::size_t page_size,
                                   std::uint32_t content_magic, std::uint32_t max_version,
                                   std::uint32_t stream_id)
    : fn_(std::move(page)), available_(page_count), page_size_(page_size), stream_id_(stream_id) {
  if (page_size < kMinPageSize || page_size > (std::size_t{1} << 30))
    throw Error(Error::Kind::InvalidArgument, "page stream: page size out of range");
  if (page_count == 0) Fail("no pages");
  const std::uint8_t* p0 = fn_ ? fn_(0) : nullptr;
  if (!p0) Fail("page 0 unavailable");
  // Provisional totals so CheckPage can run on page 0.
  const std::uint8_t* sh = p0 + kPageHeaderSize;
  pages_ = 1;
  length_ = payload();
  CheckPage(p0, 0);
  std::uint32_t magic = Load<std::uint32_t>(sh);
  std::uint32_t version = Load<std::uint32_t>(sh + 4);
  std::uint64_t length = Load<std::uint64_t>(sh + 8);
  std::uint64_t pages = Load<std::uint64_t>(sh + 16);
  if (magic != content_magic) Fail("unexpected content magic (not this kind of structure)");
  if (version == 0 || version > max_version)
    Fail("unsupported format version " + std::to_string(version) + " (this build reads up to " +
         std::to_string(max_version) + "; REINDEX)");
  if (length < kStreamHeaderSize) Fail("stream shorter than its header");
  if (pages == 0 || pages != (length + payload() - 1) / payload()) Fail("page count does not match length");
  if (pages > available_) Fail("truncated: " + std::to_string(available_) + " of " +
                               std::to_string(pages) + " pages present");
  version_ = version;
  length_ = length;
  pages_ = pages;
  // Re-check page 0's used count and last flag against the real totals.
  std::uint32_t used0 = Load<std::uint32_t>(p0 + 24);
  bool last0 = Load<std::uint16_t>(p0 + 6) & kFlagLast;
  if ((pages == 1) != last0) Fail("page 0: last-page flag inconsistent");
  if (used0 != std::min<std::uint64_t>(length, payload())) Fail("page 0: used bytes inconsistent");
  verified_.assign(pages_, false);
  verified_[0] = true;
  offset_ = kStreamHeaderSize;
}

PageStreamReader PageStreamReader::FromBuffer(const std::uint8_t* data, std::size_t bytes,
                                              std::size_t page_size, std::uint32_t content_magic,
                                              std::uint32_t max_version, std::uint32_t stream_id) {
  std::size_t count = page_size ? bytes / page_size : 0;
  return PageStreamReader(
      [data, page_size, count](std::uint64_t i) -> const std::uint8_t* {
        return i < count ? data + i * page_size : nullptr;
      },
      count, page_size, content_magic, max_version, stream_id);
}

void PageStreamReader::CheckPage(const std::uint8_t* p, std::uint64_t page_no) {
  std::string at = "page " + std::to_string(page_no) + ": ";
  if (Load<std::uint32_t>(p) != kPageMagic) Fail(at + "bad page magic");
  if (Load<std::uint16_t>(p + 4) != kPageFormatVersion)
    Fail(at + "unsupported page framing version " + std::to_string(Load<std::uint16_t>(p + 4)));
  std::uint32_t stored = Load<std::uint32_t>(p + 28);
  std::uint32_t crc = Crc32c(p, 28);
  const std::uint32_t zero = 0;
  crc = Crc32c(&zero, 4, crc);
  crc = Crc32c(p + kPageHeaderSize, page_size_ - kPageHeaderSize, crc);
  if (crc != stored) Fail(at + "checksum mismatch");
  std::uint16_t flags = Load<std::uint16_t>(p + 6);
  if (flags & ~kFlagLast) Fail(at + "unknown flags");
  std::uint32_t sid = Load<std::uint32_t>(p + 8);
  if (stream_id_ != kAnyStreamId && sid != stream_id_) Fail(at + "belongs to another stream");
  if (page_no == 0) {
    if (stream_id_ == kAnyStreamId) stream_id_ = sid;  // later pages must match page 0
  } else if (sid != stream_id_) {
    Fail(at + "belongs to another stream");
  }
  if (Load<std::uint32_t>(p + 12) != static_cast<std::uint32_t>(page_no)) Fail(at + "page number out of sequence");
  if (Load<std::uint64_t>(p + 16) != page_no * payload()) Fail(at + "stream offset out of sequence");
  if (page_no == 0) return;  // page 0's totals are checked by the constructor
  bool last = flags & kFlagLast;
  if (last != (page_no + 1 == pages_)) Fail(at + "last-page flag inconsistent");
  std::uint64_t expect = std::min<std::uint64_t>(payload(), length_ - page_no * payload());
  if (Load<std::uint32_t>(p + 24) != expect) Fail(at + "used bytes inconsistent");
}

const std::uint8_t* PageStreamReader::Page(std::uint64_t page_no) {
  if (page_no >= pages_) Fail("read past the last page");
  if (page_no == cached_no_) return cached_;
  cached_no_ = UINT64_MAX;
  const std::uint8_t* p = fn_(page_no);
  if (!p) Fail("page " + std::to_string(page_no) + " unavailable");
  if (!verified_[page_no]) {
    CheckPage(p, page_no);
    verified_[page_no] = true;
  }
  cached_no_ = page_no;
  cached_ = p;
  return p;
}

void PageStreamReader::ReadAt(std::uint64_t offset, void* out, std::size_t n) {
  if (offset > length_ || n > length_ - offset) Fail("read past the end of the stream");
  std::uint8_t* dst = static_cast<std::uint8_t*>(out);
  const std::size_t cap = payload();
  while (n > 0) {
    std::uint64_t page_no = offset / cap;
    std::size_t in = static_cast<std::size_t>(offset % cap);
    std::size_t take = std::min(n, cap - in);
    const std::uint8_t* p = Page(page_no);
    std::memcpy(dst, p + kPageHeaderSize + in, take);
    dst += take;
    offset += take;
    n -= take;
  }
}

void PageStreamReader::Read(void* out, std::size_t n) {
  ReadAt(offset_, out, n);
  offset_ += n;
}

std::uint64_t PageStreamReader::GetCount(std::uint64_t max, std::size_t elem_size) {
  std::uint64_t n = Get<std::uint64_t>();
  if (n > max) Fail("count out of range");
  if (elem_size && n > remaining() / elem_size) Fail("count runs past the end of the stream");
  return n;
}

void PageStreamReader::Skip(std::uint64_t n) {
  if (n > remaining()) Fail("skip past the end of the stream");
  offset_ += n;
}

void PageStreamReader::Seek(std::uint64_t offset) {
  if (offset > length_) Fail("seek past the end of the stream");
  offset_ = offset;
}

void PageStreamReader::AlignToPage() {
  std::uint64_t in = offset_ % payload();
  if (in != 0) Seek(std::min<std::uint64_t>(length_, offset_ + (payload() - in)));
}

const std::uint8_t* PageStreamReader::Record(const RecordRegion& region, std::uint64_t i) {
  if (region.per_page == 0 || region.payload != payload()) Fail("record region not page-addressable");
  if (i >= region.count) Fail("record index out of range");
  // Bound the page index first so the offset arithmetic cannot wrap.
  if (region.start > length_ || i / region.per_page >= pages_) Fail("record past the end of the stream");
  std::uint64_t off = region.StreamOffset(i);
  if (off > length_ || region.record_size > length_ - off) Fail("record past the end of the stream");
  std::size_t in = static_cast<std::size_t>(off % payload());
  if (in + region.record_size > payload()) Fail("record straddles a page");
  return Page(off / payload()) + kPageHeaderSize + in;
}

const std::uint8_t* PageStreamReader::PagePayload(std::uint64_t page_no, std::size_t* used) {
  const std::uint8_t* p = Page(page_no);
  *used = static_cast<std::size_t>(std::min<std::uint64_t>(payload(), length_ - page_no * payload()));
  return p + kPageHeaderSize;
}

void PageStreamReader::VerifyAll() {
  for (std::uint64_t i = 0; i < pages_; i++) Page(i);
}

}  // namespace vecgo
