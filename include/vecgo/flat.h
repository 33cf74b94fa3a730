// Flat: exact nearest-neighbour search by scanning every row.
//
// Rows need not be one array: a RunSource hands the scanner runs of
// contiguous rows (a whole array, or the rows of one page of a record region),
// each with the id of its first row; ids of a run are first_id + 0..count-1.
// Deleted rows (a bitmap indexed by id) and rows the filter rejects are never
// returned. Distances are exact (vecgo::Distance, through the SIMD kernels);
// results come in (distance, id) order.
#pragma once

#include "vecgo/core.h"
#include "vecgo/pages.h"
#include "vecgo/topk.h"

#include <functional>
#include <type_traits>
#include <vector>

namespace vecgo {

// `count` rows of dim floats starting at `data`; row j at data + j * stride
// bytes (stride 0 = dim * sizeof(float)). Row j has id first_id + j.
struct FlatRun {
  const std::uint8_t* data = nullptr;
  std::size_t count = 0;
  std::size_t stride = 0;
  std::uint64_t first_id = 0;
};

// Called repeatedly; fills *run and returns true, or returns false when there
// are no more rows. A run's memory need only stay valid until the next call.
using FlatRunSource = std::function<bool(FlatRun* run)>;

// Bit i set (word i / 64, bit i % 64) = row i deleted. Ids >= bits are live.
struct DeletionBitmap {
  const std::uint64_t* words = nullptr;
  std::uint64_t bits = 0;
  bool deleted(std::uint64_t id) const {
    return id < bits && ((words[id >> 6] >> (id & 63)) & 1u);
  }
};

// Non-owning reference to a callable bool(uint64_t id): true admits the row.
// The callable must outlive the scan.
class FlatFilter {
 public:
  FlatFilter() = default;
  template <typename F, typename = std::enable_if_t<!std::is_same_v<std::decay_t<F>, FlatFilter>>>
  FlatFilter(const F& f)  // NOLINT: implicit on purpose
      : obj_(&f), call_([](const void* o, std::uint64_t id) {
          return static_cast<bool>((*static_cast<const F*>(o))(id));
        }) {}
  explicit operator bool() const { return call_ != nullptr; }
  bool operator()(std::uint64_t id) const { return call_(obj_, id); }

 private:
  const void* obj_ = nullptr;
  bool (*call_)(const void*, std::uint64_t) = nullptr;
};

// Runs over one row-major array of n rows (ids first_id..first_id+n-1).
FlatRunSource FlatArrayRuns(const float* data, std::size_t n, std::size_t dim,
                            std::uint64_t first_id = 0);
// Runs over a record region of a page stream, one run per page. Each record
// holds the vector at byte `vector_offset` (dim floats); record i has id
// first_id + i. The reader must outlive the source.
FlatRunSource FlatPageRuns(PageStreamReader* reader, const RecordRegion& region,
                           std::size_t vector_offset = 0, std::uint64_t first_id = 0);

// The k nearest admitted rows, closest first (ties by id). Labels are row ids.
std::vector<Neighbor> FlatSearch(const float* query, std::size_t dim, Metric metric,
                                 const FlatRunSource& runs, std::size_t k,
                                 DeletionBitmap deleted = {}, FlatFilter filter = {});

// An exact scan that hands out *every* admitted row in order, lazily: the
// first Next scans all runs once (distances kept, 16 bytes a row), then each
// call sorts only the next window (partial sort, window doubling). A
// CandidateStream, so it plugs into TopKMerger. The query is copied.
class FlatScan final : public CandidateStream {
 public:
  FlatScan(const float* query, std::size_t dim, Metric metric, FlatRunSource runs,
           DeletionBitmap deleted = {}, FlatFilter filter = {});
  std::size_t Next(std::size_t max, std::vector<Neighbor>* out) override;
  // Rows scanned so far (0 before the first Next).
  std::size_t scanned() const { return scanned_; }

 private:
  void ScanAll();

  std::vector<float> query_;
  Metric metric_;
  FlatRunSource runs_;
  DeletionBitmap deleted_;
  FlatFilter filter_;
  bool done_scan_ = false;
  std::vector<Neighbor> all_;
  std::size_t pos_ = 0;     // next result to hand out
  std::size_t sorted_ = 0;  // all_[0, sorted_) is in final order
  std::size_t window_ = 0;
  std::size_t scanned_ = 0;
};

// ---- Flat segment on pages -------------------------------------------------
// A page stream (content magic kFlatSegmentMagic) holding a header (dim,
// metric), then one record per row, [u64 label][dim float32], never
// straddling a page, then a trailer with the record region. Row ids are the
// record indexes 0..rows-1; the label is the caller's (a heap TID in the
// glue). The deletion bitmap is not part of it: it changes after the segment
// is written, so the glue keeps it in its own pages.
constexpr std::uint32_t kFlatSegmentMagic = 0x54414C46u;  // "FLAT"
constexpr std::uint32_t kFlatSegmentVersion = 1;

class FlatSegmentWriter {
 public:
  // Writes the header into `w` (which must be fresh: nothing written yet).
  FlatSegmentWriter(PageStreamWriter* w, std::size_t dim, Metric metric);
  // Throws InvalidArgument for NaN/Inf components.
  void Add(std::uint64_t label, const float* vec);
  // Writes the trailer; the caller then calls w->Finish().
  void Finish();
  std::uint64_t rows() const { return rows_; }

 private:
  PageStreamWriter* w_;
  std::size_t dim_;
  std::uint64_t rows_ = 0;
  std::vector<std::uint8_t> rec_;
  bool finished_ = false;
};

// An opened Flat segment: its geometry, read and validated from the stream.
struct FlatSegment {
  std::size_t dim = 0;
  Metric metric = Metric::L2;
  RecordRegion rows;

  // Reads the header and trailer of a stream opened with kFlatSegmentMagic
  // (DataCorrupted on any inconsistency).
  static FlatSegment Open(PageStreamReader* reader);
  std::uint64_t size() const { return rows.count; }
  // Runs over all rows (ids 0..size()-1) for FlatSearch / FlatScan.
  FlatRunSource Runs(PageStreamReader* reader) const {
    return FlatPageRuns(reader, rows, sizeof(std::uint64_t));
  }
  std::uint64_t Label(PageStreamReader* reader, std::uint64_t row) const;
  // Copies row `row`'s vector into out (dim floats).
  void Vector(PageStreamReader* reader, std::uint64_t row, float* out) const;
};

}  // namespace vecgo
