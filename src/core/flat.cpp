// Flat exact scan (see flat.h).
#include "vecgo/flat.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

#include "vecgo/distance.h"

namespace vecgo {

FlatRunSource FlatArrayRuns(const float* data, std::size_t n, std::size_t dim,
                            std::uint64_t first_id) {
  bool given = false;
  return [=](FlatRun* run) mutable {
    if (given || n == 0) return false;
    given = true;
    run->data = reinterpret_cast<const std::uint8_t*>(data);
    run->count = n;
    run->stride = dim * sizeof(float);
    run->first_id = first_id;
    return true;
  };
}

FlatRunSource FlatPageRuns(PageStreamReader* reader, const RecordRegion& region,
                           std::size_t vector_offset, std::uint64_t first_id) {
  if (region.count > 0) {
    region.Validate(reader->length(), reader->payload());
    if (vector_offset > region.record_size)
      throw Error(Error::Kind::InvalidArgument, "flat: vector offset outside the record");
  }
  std::uint64_t next = 0;
  if (region.per_page == 0) {
    // Records larger than a page (very high dimensions): copied out one at a
    // time, one-row runs.
    auto buf = std::make_shared<std::vector<std::uint8_t>>(region.record_size);
    return [=](FlatRun* run) mutable {
      if (next >= region.count) return false;
      reader->ReadAt(region.StreamOffset(next), buf->data(), buf->size());
      *run = FlatRun{buf->data() + vector_offset, 1, region.record_size, first_id + next};
      next++;
      return true;
    };
  }
  return [=](FlatRun* run) mutable {
    if (next >= region.count) return false;
    std::uint64_t n = std::min<std::uint64_t>(region.per_page - next % region.per_page,
                                              region.count - next);
    // Record() checks the first record; the rest of the run lies in the same
    // page by construction (Validate bounded the region by the stream).
    const std::uint8_t* rec = reader->Record(region, next);
    run->data = rec + vector_offset;
    run->count = static_cast<std::size_t>(n);
    run->stride = region.record_size;
    run->first_id = first_id + next;
    next += n;
    return true;
  };
}

namespace {

// Calls emit(distance, id) for every admitted row of every run.
template <typename Emit>
std::size_t ScanRuns(const float* query, std::size_t dim, Metric metric, const FlatRunSource& runs,
                     DeletionBitmap deleted, FlatFilter filter, Emit emit) {
  std::size_t scanned = 0;
  const std::size_t row_bytes = dim * sizeof(float);
  FlatRun run;
  while (runs(&run)) {
    const std::size_t stride = run.stride ? run.stride : row_bytes;
    for (std::size_t j = 0; j < run.count; j++) {
      std::uint64_t id = run.first_id + j;
      if (deleted.deleted(id)) continue;
      if (filter && !filter(id)) continue;
      const float* row = reinterpret_cast<const float*>(run.data + j * stride);
      // The same function as brute force, so results match it bit for bit.
      float d = Distance(metric, query, row, dim);
      emit(d, id);
    }
    scanned += run.count;
  }
  return scanned;
}

}  // namespace

std::vector<Neighbor> FlatSearch(const float* query, std::size_t dim, Metric metric,
                                 const FlatRunSource& runs, std::size_t k, DeletionBitmap deleted,
                                 FlatFilter filter) {
  if (dim == 0 || dim > kMaxDim) throw Error(Error::Kind::InvalidArgument, "flat: dimension out of range");
  TopKHeap heap(k);
  ScanRuns(query, dim, metric, runs, deleted, filter,
           [&](float d, std::uint64_t id) { heap.Push(d, id); });
  return heap.TakeSorted();
}

FlatScan::FlatScan(const float* query, std::size_t dim, Metric metric, FlatRunSource runs,
                   DeletionBitmap deleted, FlatFilter filter)
    : query_(query, query + dim), metric_(metric), runs_(std::move(runs)), deleted_(deleted),
      filter_(filter) {
  if (dim == 0 || dim > kMaxDim) throw Error(Error::Kind::InvalidArgument, "flat: dimension out of range");
}

void FlatScan::ScanAll() {
  done_scan_ = true;
  scanned_ = ScanRuns(query_.data(), query_.size(), metric_, runs_, deleted_, filter_,
                      [&](float d, std::uint64_t id) { all_.push_back({d, id}); });
}

std::size_t FlatScan::Next(std::size_t max, std::vector<Neighbor>* out) {
  if (!done_scan_) ScanAll();
  if (max == 0 || pos_ >= all_.size()) return 0;
  std::size_t want = std::min(all_.size(), pos_ + max);
  if (want > sorted_) {
    // Sort the next window: at least what is asked, doubling each time so a
    // long continuation costs O(n log n) overall.
    window_ = std::max({window_ * 2, want - sorted_, std::size_t{64}});
    std::size_t end = std::min(all_.size(), sorted_ + window_);
    auto first = all_.begin() + sorted_;
    if (end < all_.size()) std::nth_element(first, all_.begin() + end, all_.end());
    std::sort(first, all_.begin() + end);
    sorted_ = end;
  }
  out->insert(out->end(), all_.begin() + pos_, all_.begin() + want);
  std::size_t n = want - pos_;
  pos_ = want;
  return n;
}

// ---------------------------------------------------------------- segments

FlatSegmentWriter::FlatSegmentWriter(PageStreamWriter* w, std::size_t dim, Metric metric)
    : w_(w), dim_(dim) {
  if (dim == 0 || dim > kMaxDim) throw Error(Error::Kind::InvalidArgument, "flat: dimension out of range");
  if (w->Tell() != kStreamHeaderSize)
    throw Error(Error::Kind::Internal, "flat: segment must start a fresh page stream");
  w->Put<std::uint32_t>(static_cast<std::uint32_t>(dim));
  w->Put<std::uint32_t>(static_cast<std::uint32_t>(metric));
  rec_.resize(sizeof(std::uint64_t) + dim * sizeof(float));
  w->BeginRecords(static_cast<std::uint32_t>(rec_.size()));
}

void FlatSegmentWriter::Add(std::uint64_t label, const float* vec) {
  if (finished_) throw Error(Error::Kind::Internal, "flat: Add after Finish");
  for (std::size_t j = 0; j < dim_; j++)
    if (!std::isfinite(vec[j])) throw Error(Error::Kind::InvalidArgument, "flat: NaN or Inf in a vector");
  std::memcpy(rec_.data(), &label, sizeof(label));
  std::memcpy(rec_.data() + sizeof(label), vec, dim_ * sizeof(float));
  w_->PutRecord(rec_.data());
  rows_++;
}

void FlatSegmentWriter::Finish() {
  if (finished_) throw Error(Error::Kind::Internal, "flat: Finish called twice");
  finished_ = true;
  RecordRegion region = w_->EndRecords();
  w_->Put(region);
}

FlatSegment FlatSegment::Open(PageStreamReader* r) {
  FlatSegment seg;
  r->Seek(kStreamHeaderSize);
  std::uint32_t dim = r->Get<std::uint32_t>();
  std::uint32_t metric = r->Get<std::uint32_t>();
  if (dim == 0 || dim > kMaxDim) PageStreamReader::Fail("flat segment: dimension out of range");
  if (metric > static_cast<std::uint32_t>(Metric::L1)) PageStreamReader::Fail("flat segment: unknown metric");
  if (r->length() < kStreamHeaderSize + 8 + sizeof(RecordRegion))
    PageStreamReader::Fail("flat segment: too short");
  r->Seek(r->length() - sizeof(RecordRegion));
  seg.rows = r->Get<RecordRegion>();
  seg.rows.Validate(r->length(), r->payload());
  if (seg.rows.record_size != sizeof(std::uint64_t) + dim * sizeof(float))
    PageStreamReader::Fail("flat segment: record size does not match the dimension");
  if (seg.rows.start < kStreamHeaderSize + 8) PageStreamReader::Fail("flat segment: rows overlap the header");
  seg.dim = dim;
  seg.metric = static_cast<Metric>(metric);
  return seg;
}

std::uint64_t FlatSegment::Label(PageStreamReader* r, std::uint64_t row) const {
  if (row >= rows.count) PageStreamReader::Fail("flat segment: row out of range");
  std::uint64_t label;
  r->ReadAt(rows.StreamOffset(row), &label, sizeof(label));
  return label;
}

void FlatSegment::Vector(PageStreamReader* r, std::uint64_t row, float* out) const {
  if (row >= rows.count) PageStreamReader::Fail("flat segment: row out of range");
  r->ReadAt(rows.StreamOffset(row) + sizeof(std::uint64_t), out, dim * sizeof(float));
}

}  // namespace vecgo
