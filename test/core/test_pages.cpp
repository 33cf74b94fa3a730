// Page streams: round trips, record regions, and refusal of corrupt,
// truncated or unknown-version input.
#include <gtest/gtest.h>

#include <random>

#include "vecgo/pages.h"

namespace vecgo {
namespace {

constexpr std::uint32_t kMagic = 0x54534554u;  // "TEST"

// A stream with typed values, a byte blob and a record region.
struct Sample {
  std::vector<std::uint8_t> pages;
  RecordRegion region;
  std::vector<std::uint8_t> blob;
  std::uint64_t npages = 0;
};

Sample Write(std::size_t page_size, std::size_t blob_bytes, std::size_t records, std::uint32_t rec_size,
             std::uint32_t version = 1, std::uint32_t stream_id = 77) {
  Sample s;
  std::mt19937 rng(1);
  s.blob.resize(blob_bytes);
  for (auto& b : s.blob) b = static_cast<std::uint8_t>(rng());
  PageStreamWriter w(kMagic, version, CollectPages(&s.pages, page_size), page_size, stream_id);
  w.Put<std::uint32_t>(0xdeadbeef);
  w.Put<double>(3.25);
  w.PutVector(s.blob);
  w.BeginRecords(rec_size);
  std::vector<std::uint8_t> rec(rec_size);
  for (std::size_t i = 0; i < records; i++) {
    for (std::size_t j = 0; j < rec_size; j++) rec[j] = static_cast<std::uint8_t>(i * 31 + j);
    w.PutRecord(rec.data());
  }
  s.region = w.EndRecords();
  w.Put(s.region);
  w.Put<std::uint64_t>(0x0123456789abcdefull);
  s.npages = w.Finish();
  EXPECT_EQ(s.pages.size(), s.npages * page_size);
  return s;
}

// Reads everything back and checks it; throws on corruption.
void ReadAll(const std::uint8_t* data, std::size_t bytes, std::size_t page_size, const Sample& s) {
  auto r = PageStreamReader::FromBuffer(data, bytes, page_size, kMagic, 1);
  EXPECT_EQ(r.Get<std::uint32_t>(), 0xdeadbeefu);
  EXPECT_EQ(r.Get<double>(), 3.25);
  EXPECT_EQ(r.GetVector<std::uint8_t>(), s.blob);
  // Skip the records by seeking past the region that follows them.
  std::uint64_t after = s.region.StreamOffset(s.region.count ? s.region.count - 1 : 0) +
                        (s.region.count ? s.region.record_size : 0);
  if (s.region.count == 0) after = s.region.start;
  r.Seek(after);
  RecordRegion got = r.Get<RecordRegion>();
  got.Validate(r.length(), r.payload());
  EXPECT_EQ(got.count, s.region.count);
  for (std::uint64_t i = 0; i < got.count; i++) {
    const std::uint8_t* rec = r.Record(got, i);
    for (std::size_t j = 0; j < got.record_size; j++)
      ASSERT_EQ(rec[j], static_cast<std::uint8_t>(i * 31 + j));
  }
  EXPECT_EQ(r.Get<std::uint64_t>(), 0x0123456789abcdefull);
  EXPECT_EQ(r.remaining(), 0u);
  r.VerifyAll();
}

TEST(PagesTest, Crc32cKnownValue) {
  // The standard check value of CRC-32C.
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c("56789", 5, Crc32c("1234", 4)), 0xE3069283u);
}

TEST(PagesTest, RoundTrip) {
  for (std::size_t page_size : {std::size_t{256}, std::size_t{8150}, kDefaultPageSize}) {
    for (std::size_t blob : {std::size_t{0}, std::size_t{10}, std::size_t{20000}}) {
      Sample s = Write(page_size, blob, 300, 100);
      ReadAll(s.pages.data(), s.pages.size(), page_size, s);
    }
  }
}

TEST(PagesTest, RecordsNeverStraddle) {
  const std::size_t page_size = 8192;
  Sample s = Write(page_size, 5000, 1000, 300);
  const std::size_t payload = page_size - kPageHeaderSize;
  EXPECT_EQ(s.region.per_page, payload / 300);
  EXPECT_EQ(s.region.start % payload, 0u);
  for (std::uint64_t i = 0; i < s.region.count; i++) {
    RecordLocation loc = s.region.Locate(i);
    ASSERT_GE(loc.offset, kPageHeaderSize);
    ASSERT_LE(loc.offset + 300, page_size);
    // Direct access through (page, offset) sees the record.
    ASSERT_EQ(s.pages[loc.page * page_size + loc.offset], static_cast<std::uint8_t>(i * 31));
  }
  EXPECT_EQ(s.region.PageCount(), (1000 + s.region.per_page - 1) / s.region.per_page);
}

TEST(PagesTest, RecordsLargerThanAPage) {
  const std::size_t page_size = 512;
  std::vector<std::uint8_t> pages;
  PageStreamWriter w(kMagic, 1, CollectPages(&pages, page_size), page_size);
  std::vector<std::uint8_t> rec(1000);
  w.BeginRecords(1000);
  for (int i = 0; i < 5; i++) {
    std::fill(rec.begin(), rec.end(), static_cast<std::uint8_t>(i + 1));
    w.PutRecord(rec.data());
  }
  RecordRegion region = w.EndRecords();
  w.Finish();
  EXPECT_EQ(region.per_page, 0u);
  auto r = PageStreamReader::FromBuffer(pages.data(), pages.size(), page_size, kMagic, 1);
  region.Validate(r.length(), r.payload());
  for (int i = 0; i < 5; i++) {
    r.ReadAt(region.StreamOffset(i), rec.data(), rec.size());
    EXPECT_EQ(rec[0], i + 1);
    EXPECT_EQ(rec[999], i + 1);
  }
  EXPECT_THROW(r.Record(region, 0), Error);
}

TEST(PagesTest, PageZeroArrivesLast) {
  std::vector<std::uint64_t> order;
  PageStreamWriter w(kMagic, 1, [&](std::uint64_t no, const std::uint8_t*) { order.push_back(no); },
                     256);
  w.PutZeros(1000);
  std::uint64_t n = w.Finish();
  ASSERT_EQ(order.size(), n);
  EXPECT_EQ(order.back(), 0u);
  for (std::size_t i = 0; i + 1 < order.size(); i++) EXPECT_EQ(order[i], i + 1);
}

// Every single-byte change anywhere in the page sequence is refused.
TEST(PagesTest, EverySingleByteCorruptionDetected) {
  const std::size_t page_size = 256;  // small pages: many headers, fast loop
  Sample s = Write(page_size, 700, 40, 24);
  std::size_t detected = 0;
  std::vector<std::uint8_t> copy = s.pages;
  for (std::size_t i = 0; i < copy.size(); i++) {
    for (std::uint8_t flip : {std::uint8_t{0x01}, std::uint8_t{0x80}}) {
      copy[i] ^= flip;
      try {
        ReadAll(copy.data(), copy.size(), page_size, s);
        ADD_FAILURE() << "corruption at byte " << i << " not detected";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::DataCorrupted);
        detected++;
      }
      copy[i] ^= flip;
    }
  }
  EXPECT_EQ(detected, 2 * copy.size());
}

// Every truncation (whole pages dropped, or a cut mid-page) is refused.
TEST(PagesTest, EveryTruncationDetected) {
  const std::size_t page_size = 256;
  Sample s = Write(page_size, 900, 30, 40);
  for (std::size_t len = 0; len < s.pages.size(); len++) {
    try {
      ReadAll(s.pages.data(), len, page_size, s);
      ADD_FAILURE() << "truncation to " << len << " bytes not detected";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), Error::Kind::DataCorrupted) << e.what();
    }
  }
  // A page swapped in from another stream (another stream id) or out of
  // order is refused too.
  Sample other = Write(page_size, 901, 30, 40, 1, 78);
  std::vector<std::uint8_t> mixed = s.pages;
  std::copy_n(other.pages.begin() + 2 * page_size, page_size, mixed.begin() + 2 * page_size);
  EXPECT_THROW(ReadAll(mixed.data(), mixed.size(), page_size, s), Error);
  mixed = s.pages;
  std::swap_ranges(mixed.begin() + page_size, mixed.begin() + 2 * page_size,
                   mixed.begin() + 2 * page_size);
  EXPECT_THROW(ReadAll(mixed.data(), mixed.size(), page_size, s), Error);
}

TEST(PagesTest, UnknownVersionAndMagicRefused) {
  Sample s = Write(kDefaultPageSize, 10, 3, 8, /*version=*/2);
  try {
    PageStreamReader::FromBuffer(s.pages.data(), s.pages.size(), kDefaultPageSize, kMagic, 1);
    ADD_FAILURE() << "version 2 accepted by a version-1 reader";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::DataCorrupted);
    EXPECT_NE(std::string(e.what()).find("version"), std::string::npos);
  }
  auto r = PageStreamReader::FromBuffer(s.pages.data(), s.pages.size(), kDefaultPageSize, kMagic, 2);
  EXPECT_EQ(r.version(), 2u);
  EXPECT_THROW(PageStreamReader::FromBuffer(s.pages.data(), s.pages.size(), kDefaultPageSize,
                                            kMagic + 1, 2),
               Error);
  // Wrong stream id, wrong page size.
  EXPECT_THROW(PageStreamReader::FromBuffer(s.pages.data(), s.pages.size(), kDefaultPageSize, kMagic,
                                            2, 78),
               Error);
  EXPECT_THROW(PageStreamReader::FromBuffer(s.pages.data(), s.pages.size(), 4096, kMagic, 2), Error);
}

TEST(PagesTest, ReadsPastTheEndRefused) {
  Sample s = Write(kDefaultPageSize, 10, 0, 8);
  auto r = PageStreamReader::FromBuffer(s.pages.data(), s.pages.size(), kDefaultPageSize, kMagic, 1);
  r.Seek(r.length());
  EXPECT_THROW(r.Get<std::uint8_t>(), Error);
  EXPECT_THROW(r.Seek(r.length() + 1), Error);
  r.Seek(kStreamHeaderSize);
  EXPECT_THROW(r.GetCount(1, 1), Error);  // first value is 0xdeadbeef > 1
  r.Seek(kStreamHeaderSize);
  // A huge vector length is refused before allocating.
  EXPECT_THROW(r.GetVector<double>(), Error);
  RecordRegion bogus = s.region;
  bogus.count = UINT64_MAX / 2;
  EXPECT_THROW(bogus.Validate(r.length(), r.payload()), Error);
  EXPECT_THROW(r.Record(bogus, bogus.count - 1), Error);
}

TEST(PagesTest, AccessorReturningNullIsCorruption) {
  Sample s = Write(256, 2000, 0, 8);
  auto fn = [&](std::uint64_t i) -> const std::uint8_t* {
    return i == 3 ? nullptr : s.pages.data() + i * 256;
  };
  PageStreamReader r(fn, s.npages, 256, kMagic, 1);
  EXPECT_THROW(r.VerifyAll(), Error);
}

}  // namespace
}  // namespace vecgo
