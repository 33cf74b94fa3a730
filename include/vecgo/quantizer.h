// Vector quantizers: compact codes and fast estimated distances to them.
//
//   kind    code bytes            ratio  trained parameters
//   None    4*dim                 1x     (raw float32 copy; uniform code path)
//   SQ8     dim                   4x     per-dimension base (min) and step ((max-min)/255)
//   INT4    ceil(dim/2)           8x     per-dimension base and step ((max-min)/15); nibbles
//                                        as in simd.h: dim 2j low nibble, 2j+1 high nibble
//   PQ      m (+5 with residual)  ~4*dim/m  m subspaces of dsub = ceil(dim/m) dims (zero-padded
//                                        to m*dsub), 256 k-means centroids per subspace;
//                                        by default on residuals (below)
//   Binary  8*ceil(dim/64)        ~32x   per-dimension mean; bit i = (x[i] > mean[i]),
//                                        in 64-bit little-endian words
//
// Distances follow core.h (smaller is closer) and estimate the metric
// distance between the query and the *decoded* vector:
//   L2      squared Euclidean      IP   -dot      L1   Manhattan
//   Cosine  1 - dot(q̂, decode(code)), where q̂ is the query normalised to unit
//           length. For Cosine the quantizer normalises every vector itself in
//           Train and Encode (a zero vector stays zero), so Decode returns the
//           (approximate) unit vector and callers may pass raw or normalised
//           vectors alike. This is exact for unit data and ranks like cosine.
//   PQ      L2 uses per-subspace squared-L2 lookup tables, IP/Cosine
//           dot-product tables, L1 per-subspace L1 tables; the sum over
//           subspaces equals the distance to the decoded vector exactly.
//   PQ residual (pq_coarse > 0, the default except for L1): a coarse k-means
//           (pq_coarse <= 256 centroids over whole vectors) takes out each
//           vector's cell centre first and PQ codes the residual, so the
//           256 centroids per subspace are spent on within-cell detail rather
//           than on where the clusters are. Code = m PQ bytes, 1 byte cell,
//           float32 |decoded|^2 (little-endian, unaligned). L2 is computed as
//           |q|^2 - 2 q.cell - 2 sum LUT(q.residual) + |decoded|^2; IP/Cosine
//           as -(q.cell + sum LUT); both equal the distance to the decoded
//           vector up to float rounding. L1 on a residual code decodes (slow
//           path: train with Metric::L1 to get plain PQ).
//   Binary  every metric returns the Hamming distance between the query's
//           bits and the code (as a float): a ranking proxy only, not on the
//           metric's scale. Callers rerank with full vectors.
//
// Training is deterministic for a given (data, seed). Values outside the
// trained range are clamped by SQ8/INT4. All code distances go through the
// dispatched kernels of simd.h. A trained quantizer is immutable and may be
// shared by any number of threads.
#pragma once

#include "vecgo/core.h"
#include "vecgo/simd.h"

#include <cstring>
#include <vector>

namespace vecgo {

class PageStreamWriter;
class PageStreamReader;

enum class QuantKind : std::uint8_t { None = 0, SQ8 = 1, INT4 = 2, PQ = 3, Binary = 4 };

const char* QuantKindName(QuantKind kind);  // "none", "sq8", "int4", "pq", "binary"
// Parses the names above (the `quantization` reloption); false if unknown.
bool ParseQuantKind(const char* name, QuantKind* out);

struct QuantizerOptions {
  QuantKind kind = QuantKind::SQ8;
  // PQ: number of subspaces (code bytes). 0 = auto: ceil(dim / 4), i.e. 16x.
  // Must be in 1..dim; dim need not be a multiple (the last subspace is
  // zero-padded).
  std::size_t pq_m = 0;
  // PQ: Lloyd iterations per subspace, and the training sample cap (a
  // deterministic random subset of the rows passed to Train).
  std::size_t pq_iters = 12;
  std::size_t pq_max_train = 16384;
  // PQ: coarse cells for residual coding, 0..256 (0 = plain PQ). -1 = auto:
  // 256, or 0 when the metric is L1.
  int pq_coarse = -1;
};

class Quantizer;

// Estimated distances from one query to codes of one Quantizer. Made by
// Quantizer::Prepare; cheap to call in an inner loop (one indirect call, no
// virtual dispatch, no allocation). Holds pointers into its Quantizer, which
// must outlive it. Copyable; reusable across queries through Prepare(q, &d).
class QueryDistancer {
 public:
  QueryDistancer() = default;

  float operator()(const std::uint8_t* code) const { return fn_(*this, code); }
  // out[i] = distance to the code at codes + i * code_size.
  void Batch(const std::uint8_t* codes, std::size_t count, float* out) const {
    for (std::size_t i = 0; i < count; i++) out[i] = fn_(*this, codes + i * code_size_);
  }
  std::size_t code_size() const { return code_size_; }
  Metric metric() const { return metric_; }

 private:
  friend class Quantizer;
  friend struct QuantDistImpl;  // the per-kind distance functions (quantizer.cpp)
  using Fn = float (*)(const QueryDistancer&, const std::uint8_t*);

  Fn fn_ = nullptr;
  const simd::Kernels* k_ = nullptr;
  Metric metric_ = Metric::L2;
  std::size_t dim_ = 0;        // dims (None/SQ8/INT4), subspaces (PQ), words (Binary)
  std::size_t code_size_ = 0;
  const float* base_ = nullptr;
  const float* step_ = nullptr;
  float bias_ = 0.0f;          // added to the kernel result (e.g. 1 for cosine)
  float sign_ = 1.0f;          // multiplies the kernel result (e.g. -1 for IP)
  std::vector<float> table_;   // query copy (normalised for cosine) or PQ LUT (m x 256)
  std::vector<std::uint64_t> bits_;  // Binary: query bits
  const Quantizer* owner_ = nullptr;  // slow paths that decode
};

// Folds a query into an SQ8 scale (value = base + step * code), so that
// q . value = q . base + w . code: writes w = q * step (w may be q) and
// returns q . base. The dot product against a code is then one
// multiply-add per dimension (simd::Kernels::sq8_wsum).
double FoldSq8Query(const float* q, const float* base, const float* step, std::size_t n, float* w);

class Quantizer {
 public:
  Quantizer() = default;  // untrained (kind None, dim 0)
  explicit Quantizer(const QuantizerOptions& options) : options_(options) {}

  // Learns the parameters from n rows of dim floats (row-major). Throws
  // InvalidArgument for dim outside 1..kMaxDim, n == 0, NaN/Inf input, a bad
  // pq_m. PQ with fewer than 256 rows duplicates centroids (still valid).
  void Train(const float* data, std::size_t n, std::size_t dim, Metric metric,
             std::uint64_t seed = 0x5eed);

  bool trained() const { return dim_ != 0; }
  QuantKind kind() const { return options_.kind; }
  Metric metric() const { return metric_; }
  std::size_t dim() const { return dim_; }
  std::size_t code_size() const { return code_size_; }
  std::size_t pq_m() const { return pq_m_; }
  std::size_t pq_dsub() const { return pq_dsub_; }
  std::size_t pq_coarse() const { return pq_coarse_; }  // 0 = plain PQ
  double compression() const { return code_size_ ? 4.0 * dim_ / code_size_ : 0.0; }

  // Writes code_size() bytes. Requires trained().
  void Encode(const float* v, std::uint8_t* code) const;
  void EncodeBatch(const float* v, std::size_t n, std::uint8_t* codes) const;
  // Writes dim() floats: the vector the code stands for (Binary: mean ± a
  // per-dimension spread, a coarse reconstruction).
  void Decode(const std::uint8_t* code, float* v) const;

  // A distancer for `query` under the trained metric, or under another
  // metric (same quantizer, e.g. an L2-trained PQ answering IP).
  QueryDistancer Prepare(const float* query) const { return Prepare(query, metric_); }
  QueryDistancer Prepare(const float* query, Metric metric) const;
  // Same, reusing *out's buffers (no allocation after the first query).
  void Prepare(const float* query, Metric metric, QueryDistancer* out) const;

  // Parameters as bytes (own header: magic, version, CRC-32C) and back.
  // FromBytes throws DataCorrupted on any inconsistency.
  std::vector<std::uint8_t> ToBytes() const;
  static Quantizer FromBytes(const std::uint8_t* data, std::size_t n);
  // The same bytes embedded in a page stream (u64 length + ToBytes()).
  void Save(PageStreamWriter& w) const;
  static Quantizer Load(PageStreamReader& r);

  // Trained parameters (read-only views for tests and SIMD-side checks).
  const std::vector<float>& base() const { return base_; }            // SQ8/INT4
  const std::vector<float>& step() const { return step_; }            // SQ8/INT4
  const std::vector<float>& centroids() const { return centroids_; }  // PQ: m x 256 x dsub
  const std::vector<float>& coarse() const { return coarse_; }        // PQ: pq_coarse x dim
  const std::vector<float>& mean() const { return mean_; }            // Binary

 private:
  friend struct QuantDistImpl;
  // Copies v into buf, normalised when the metric is Cosine; returns buf or v.
  const float* Normalised(const float* v, float* buf) const;
  void PqEncodeSub(const float* v, std::uint8_t* code) const;  // m codes of a padded-or-not vector

  QuantizerOptions options_;
  Metric metric_ = Metric::L2;
  std::size_t dim_ = 0;
  std::size_t code_size_ = 0;
  std::size_t pq_m_ = 0, pq_dsub_ = 0, pq_coarse_ = 0;
  std::vector<float> base_, step_;   // SQ8/INT4
  std::vector<float> centroids_;     // PQ
  std::vector<float> coarse_;        // PQ residual cells
  // Derived (not serialised): centroids transposed per table, and their
  // squared norms, for the encoder's nearest-centroid search.
  std::vector<float> pq_t_, pq_norms_, coarse_t_, coarse_norms_;
  void BuildEncodeTables();
  std::vector<float> mean_, spread_; // Binary
};

}  // namespace vecgo
