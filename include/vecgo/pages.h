// Paged serialization: how every core structure is stored in a sequence of
// fixed-size pages (PostgreSQL index pages in the glue, memory in tests).
//
// A *page stream* is a logical byte stream cut into pages of `page_size`
// bytes. Every page starts with a 32-byte header and carries
// `payload = page_size - kPageHeaderSize` stream bytes:
//
//   off size  field
//    0   4    page magic 0x56475053 ("VGPS")
//    4   2    framing version (kPageFormatVersion)
//    6   2    flags (bit 0: last page of the stream)
//    8   4    stream id (given by the writer; the reader can insist on it).
//             Give every stream a distinct id (e.g. segment number and
//             generation): a stale page of another stream with the same id,
//             number and a valid checksum cannot be told apart.
//   12   4    page number within the stream (0, 1, 2, ...)
//   16   8    stream offset of this page's first payload byte (= number * payload)
//   24   4    payload bytes used in this page (= payload except on the last page)
//   28   4    CRC-32C of the whole page (all page_size bytes, this field as 0)
//
// The first 24 bytes of the stream (page 0's payload) are the stream header:
//
//    0   4    content magic (which structure: chosen by its writer)
//    4   4    content format version
//    8   8    total stream length in bytes (stream header included)
//   16   8    number of pages
//
// Page 0 is written last (the writer knows the totals only at the end), so a
// sink receives pages 1..N-1 in order and then page 0. Offsets used by
// callers (Tell, Seek, record regions) are stream offsets: the first byte a
// caller writes is at offset kStreamHeaderSize. Everything is little-endian.
//
// The reader refuses (Error::Kind::DataCorrupted, never a crash, never a read
// outside a page): a wrong page or content magic, an unknown framing or
// content version, a checksum mismatch, a page number, offset or stream id out
// of sequence, a truncated sequence (fewer pages than the header says), and
// any read past the end of the stream.
#pragma once

#include "vecgo/core.h"

#include <cstring>
#include <functional>
#include <type_traits>
#include <vector>

namespace vecgo {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "vecgo's page format is little-endian");

constexpr std::size_t kDefaultPageSize = 8192;
constexpr std::size_t kPageHeaderSize = 32;
constexpr std::size_t kStreamHeaderSize = 24;
constexpr std::size_t kMinPageSize = 256;  // smaller page sizes are refused
constexpr std::uint32_t kPageMagic = 0x56475053u;
constexpr std::uint16_t kPageFormatVersion = 1;
constexpr std::uint32_t kAnyStreamId = 0xffffffffu;  // reader: accept any stream id

// CRC-32C (Castagnoli), software slicing-by-8. `crc` chains calls:
// Crc32c(b, nb, Crc32c(a, na)) == Crc32c(a||b).
std::uint32_t Crc32c(const void* data, std::size_t n, std::uint32_t crc = 0);

// Where record i of a RecordRegion lives.
struct RecordLocation {
  std::uint64_t page;    // page number within the stream
  std::uint32_t offset;  // byte offset within that page (page header included)
};

// A run of `count` fixed-size records inside a page stream. When a record
// fits in a page's payload, records never straddle a page boundary: the run
// starts on a fresh page and each page holds `per_page` records (the rest of
// the page is zero padding). Records larger than a payload are laid out back
// to back (per_page == 0) and must be read with PageStreamReader::ReadAt.
// The struct is plain data: store it with Put/Get (Validate after reading).
struct RecordRegion {
  std::uint64_t start = 0;        // stream offset of record 0 (page-aligned if per_page > 0)
  std::uint64_t count = 0;
  std::uint32_t record_size = 0;
  std::uint32_t per_page = 0;     // records per page, 0 when a record exceeds a payload
  std::uint32_t payload = 0;      // page payload size the region was laid out for
  std::uint32_t reserved = 0;     // explicit padding: the struct is stored as 32 bytes

  // Stream offset of record i (i < count not checked).
  std::uint64_t StreamOffset(std::uint64_t i) const {
    if (per_page == 0) return start + i * record_size;
    return start + (i / per_page) * payload + (i % per_page) * static_cast<std::uint64_t>(record_size);
  }
  // Page and in-page offset of record i; only meaningful when per_page > 0.
  RecordLocation Locate(std::uint64_t i) const {
    std::uint64_t off = StreamOffset(i);
    return {off / payload, static_cast<std::uint32_t>(kPageHeaderSize + off % payload)};
  }
  // Number of pages the region touches.
  std::uint64_t PageCount() const;
  // Throws DataCorrupted unless the region is self-consistent and lies within
  // a stream of `stream_length` bytes with the given payload.
  void Validate(std::uint64_t stream_length, std::size_t payload_size) const;
};
static_assert(sizeof(RecordRegion) == 32, "RecordRegion is stored as-is");

// Receives finished pages: `page` has page_size bytes and is valid only during
// the call. Pages 1..N-1 arrive in order, page 0 arrives last.
using PageSink = std::function<void(std::uint64_t page_no, const std::uint8_t* page)>;

// A sink that stores page i at bytes [i*page_size, (i+1)*page_size) of *out
// (growing it): the contiguous layout PageStreamReader::FromBuffer reads.
PageSink CollectPages(std::vector<std::uint8_t>* out, std::size_t page_size = kDefaultPageSize);

class PageStreamWriter {
 public:
  // Throws InvalidArgument when page_size < kMinPageSize or > 1 GB.
  PageStreamWriter(std::uint32_t content_magic, std::uint32_t content_version, PageSink sink,
                   std::size_t page_size = kDefaultPageSize, std::uint32_t stream_id = 0);
  PageStreamWriter(const PageStreamWriter&) = delete;
  PageStreamWriter& operator=(const PageStreamWriter&) = delete;

  void Write(const void* data, std::size_t n);
  template <typename T>
  void Put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>, "Put needs a trivially copyable type");
    Write(&v, sizeof(T));
  }
  template <typename T>
  void PutArray(const T* v, std::size_t n) {
    static_assert(std::is_trivially_copyable_v<T>, "PutArray needs a trivially copyable type");
    Write(v, n * sizeof(T));
  }
  // u64 length then the elements (GetVector reads it back, bounds-checked).
  template <typename T>
  void PutVector(const std::vector<T>& v) {
    Put<std::uint64_t>(v.size());
    PutArray(v.data(), v.size());
  }
  void PutZeros(std::size_t n);
  // Pads with zeros to the next page boundary (no-op when already there).
  void AlignToPage();

  // Fixed-size records that never straddle a page (see RecordRegion):
  // BeginRecords pads to a fresh page, PutRecord appends one record (padding
  // to the next page first when it would not fit), EndRecords returns the
  // region. Other writes are not allowed between Begin and End.
  void BeginRecords(std::uint32_t record_size);
  void PutRecord(const void* record);
  RecordRegion EndRecords();

  // Stream offset of the next byte written.
  std::uint64_t Tell() const { return offset_; }
  std::size_t page_size() const { return page_size_; }
  std::size_t payload() const { return page_size_ - kPageHeaderSize; }

  // Flushes the last page, then page 0; returns the number of pages. No
  // writes afterwards. Calling Finish twice throws Internal.
  std::uint64_t Finish();

 private:
  void FlushPage(bool last);
  void SealPage(std::uint8_t* page, std::uint64_t page_no, bool last, std::uint32_t used);

  PageSink sink_;
  std::size_t page_size_;
  std::uint32_t stream_id_;
  std::vector<std::uint8_t> first_;  // page 0, held until Finish
  std::vector<std::uint8_t> cur_;    // the page being filled (page 0 uses first_)
  std::uint64_t page_no_ = 0;        // number of the page being filled
  std::size_t fill_ = 0;             // payload bytes in the page being filled
  std::uint64_t offset_ = 0;         // stream offset of the next byte
  bool finished_ = false;
  bool in_records_ = false;
  RecordRegion region_;
};

// Reads a page stream through an accessor that returns a pointer to page i's
// page_size bytes (or nullptr when it cannot, which is reported as
// DataCorrupted). The pointer need only stay valid until the accessor is next
// called (the glue can hand out one pinned buffer at a time); the reader never
// keeps two pages at once, and reuses the last pointer while it reads within
// the same page (so the accessor must not be called by anyone else while the
// reader is in use). Each page's checksum and header are verified the
// first time the reader touches it (once per reader).
class PageStreamReader {
 public:
  using PageFn = std::function<const std::uint8_t*(std::uint64_t page_no)>;

  // Reads and checks page 0 and the stream header. `page_count` is how many
  // pages the accessor can serve; fewer than the header records is a
  // truncation (DataCorrupted). A content magic other than `content_magic`
  // or a version above `max_version` throws DataCorrupted.
  PageStreamReader(PageFn page, std::uint64_t page_count, std::size_t page_size,
                   std::uint32_t content_magic, std::uint32_t max_version,
                   std::uint32_t stream_id = kAnyStreamId);
  // Over the contiguous layout written by CollectPages (`bytes` may be a
  // truncated buffer: the partial last page is ignored, then refused).
  static PageStreamReader FromBuffer(const std::uint8_t* data, std::size_t bytes,
                                     std::size_t page_size, std::uint32_t content_magic,
                                     std::uint32_t max_version,
                                     std::uint32_t stream_id = kAnyStreamId);

  std::uint32_t version() const { return version_; }
  std::uint64_t length() const { return length_; }        // stream bytes, header included
  std::uint64_t page_count() const { return pages_; }     // pages in the stream
  std::uint64_t Tell() const { return offset_; }
  std::uint64_t remaining() const { return length_ - offset_; }
  std::size_t page_size() const { return page_size_; }
  std::size_t payload() const { return page_size_ - kPageHeaderSize; }

  void Read(void* out, std::size_t n);
  template <typename T>
  T Get() {
    static_assert(std::is_trivially_copyable_v<T>, "Get needs a trivially copyable type");
    T v;
    Read(&v, sizeof(T));
    return v;
  }
  template <typename T>
  void GetArray(T* out, std::size_t n) {
    static_assert(std::is_trivially_copyable_v<T>, "GetArray needs a trivially copyable type");
    if (n > remaining() / sizeof(T)) Fail("array runs past the end of the stream");
    Read(out, n * sizeof(T));
  }
  // Reads what PutVector wrote. The length is checked against the bytes left
  // and against `max_elems` before anything is allocated.
  template <typename T>
  std::vector<T> GetVector(std::uint64_t max_elems = UINT64_MAX) {
    std::uint64_t n = Get<std::uint64_t>();
    if (n > max_elems || n > remaining() / sizeof(T)) Fail("vector length out of range");
    std::vector<T> v(n);
    GetArray(v.data(), n);
    return v;
  }
  // A u64 count, checked: count <= max and count * elem_size <= remaining().
  std::uint64_t GetCount(std::uint64_t max, std::size_t elem_size = 1);
  void Skip(std::uint64_t n);
  void Seek(std::uint64_t offset);  // offset <= length()
  void AlignToPage();               // skips to the next page boundary, like the writer
  // Reads n bytes at a stream offset without moving the cursor.
  void ReadAt(std::uint64_t offset, void* out, std::size_t n);

  // Pointer to record i of `region` inside its page, checked against the
  // region and the stream; valid until the reader next touches a page.
  // Requires region.per_page > 0 (records that fit a page).
  const std::uint8_t* Record(const RecordRegion& region, std::uint64_t i);
  // Pointer to page `page_no`'s payload (verified) and its used byte count;
  // valid until the reader next touches a page. For scanning record pages.
  const std::uint8_t* PagePayload(std::uint64_t page_no, std::size_t* used);
  // Reads and verifies every page (the structural check of vecgo_verify).
  void VerifyAll();

  // Throws Error(DataCorrupted, "page stream: " + why).
  [[noreturn]] static void Fail(const std::string& why);

 private:
  const std::uint8_t* Page(std::uint64_t page_no);  // fetched and verified
  void CheckPage(const std::uint8_t* p, std::uint64_t page_no);

  PageFn fn_;
  std::uint64_t available_;
  std::size_t page_size_;
  std::uint32_t stream_id_;
  std::uint32_t version_ = 0;
  std::uint64_t length_ = 0;
  std::uint64_t pages_ = 0;
  std::uint64_t offset_ = 0;
  std::vector<bool> verified_;
  // The page the accessor returned last: still valid by the accessor's
  // contract, so small reads within one page cost no accessor call.
  std::uint64_t cached_no_ = UINT64_MAX;
  const std::uint8_t* cached_ = nullptr;
};

}  // namespace vecgo
