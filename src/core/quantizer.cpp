// Quantizers: training, encoding, decoding, query distancers, serialization.
#include "vecgo/quantizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "vecgo/kmeans.h"
#include "vecgo/pages.h"

namespace vecgo {

namespace {

constexpr std::uint32_t kQuantMagic = 0x5A514756u;  // "VGQZ"
constexpr std::uint32_t kQuantVersion = 1;
constexpr std::size_t kPqK = 256;

[[noreturn]] void Invalid(const std::string& why) {
  throw Error(Error::Kind::InvalidArgument, "quantizer: " + why);
}
[[noreturn]] void Corrupt(const std::string& why) {
  throw Error(Error::Kind::DataCorrupted, "quantizer: " + why);
}

void NormaliseInto(const float* v, std::size_t dim, float* out) {
  double s = 0.0;
  for (std::size_t i = 0; i < dim; i++) s += static_cast<double>(v[i]) * v[i];
  float inv = s > 0.0 ? static_cast<float>(1.0 / std::sqrt(s)) : 0.0f;
  for (std::size_t i = 0; i < dim; i++) out[i] = v[i] * inv;
}

inline std::uint8_t QuantiseLevel(float x, float base, float step, int levels) {
  if (!(step > 0.0f)) return 0;
  float t = std::nearbyint((x - base) / step);
  if (!(t > 0.0f)) return 0;  // also NaN
  if (t > static_cast<float>(levels)) return static_cast<std::uint8_t>(levels);
  return static_cast<std::uint8_t>(t);
}

std::size_t BinaryWords(std::size_t dim) { return (dim + 63) / 64; }

// Transposes k <= 256 x dim centroids into dim x 256 (columns past k zero,
// their norms FLT_MAX so they never win) and computes squared norms.
// t has dim * 256 floats, norms 256.
void Transpose(const float* c, std::size_t k, std::size_t dim, float* t, float* norms) {
  std::fill(t, t + dim * kPqK, 0.0f);
  std::fill(norms, norms + kPqK, std::numeric_limits<float>::max());
  for (std::size_t i = 0; i < k; i++) {
    float n = 0.0f;
    for (std::size_t d = 0; d < dim; d++) {
      t[d * kPqK + i] = c[i * dim + d];
      n += c[i * dim + d] * c[i * dim + d];
    }
    norms[i] = n;
  }
}

// argmin_i |c_i|^2 - 2 x.c_i over 256 transposed centroid slots. The inner
// loop runs over centroids with a fixed trip count, so the compiler
// vectorises it for any dim (PQ subspaces are 2..16 dims, where a
// per-centroid distance call would dominate).
std::size_t NearestTransposed(const float* x, const float* t, const float* norms, std::size_t dim) {
  float acc[kPqK];
  for (std::size_t i = 0; i < kPqK; i++) acc[i] = norms[i];
  for (std::size_t d = 0; d < dim; d++) {
    const float xd = -2.0f * x[d];
    const float* row = t + d * kPqK;
    for (std::size_t i = 0; i < kPqK; i++) acc[i] += xd * row[i];
  }
  return ArgMin(acc, kPqK);
}

}  // namespace

// ---------------------------------------------------------------- names

const char* QuantKindName(QuantKind kind) {
  switch (kind) {
    case QuantKind::None: return "none";
    case QuantKind::SQ8: return "sq8";
    case QuantKind::INT4: return "int4";
    case QuantKind::PQ: return "pq";
    case QuantKind::Binary: return "binary";
  }
  return "unknown";
}

bool ParseQuantKind(const char* name, QuantKind* out) {
  if (!name) return false;
  for (QuantKind k : {QuantKind::None, QuantKind::SQ8, QuantKind::INT4, QuantKind::PQ, QuantKind::Binary})
    if (std::string(name) == QuantKindName(k)) {
      *out = k;
      return true;
    }
  return false;
}

// ---------------------------------------------------------------- distances

// One function per (kind, metric); the kernel result r becomes sign*r + bias.
struct QuantDistImpl {
  static float None_L2(const QueryDistancer& d, const std::uint8_t* c) {
    return d.k_->l2sq(d.table_.data(), reinterpret_cast<const float*>(c), d.dim_);
  }
  static float None_Dot(const QueryDistancer& d, const std::uint8_t* c) {
    return d.bias_ + d.sign_ * d.k_->dot(d.table_.data(), reinterpret_cast<const float*>(c), d.dim_);
  }
  static float None_L1(const QueryDistancer& d, const std::uint8_t* c) {
    return d.k_->l1(d.table_.data(), reinterpret_cast<const float*>(c), d.dim_);
  }
  static float Sq8_L2(const QueryDistancer& d, const std::uint8_t* c) {
    return d.k_->sq8_l2sq(c, d.table_.data(), d.base_, d.step_, d.dim_);
  }
  // table_ holds q * step and bias_ has q . base folded in (Prepare).
  static float Sq8_Dot(const QueryDistancer& d, const std::uint8_t* c) {
    return d.bias_ + d.sign_ * d.k_->sq8_wsum(c, d.table_.data(), d.dim_);
  }
  static float Sq8_L1(const QueryDistancer& d, const std::uint8_t* c) {
    return d.k_->sq8_l1(c, d.table_.data(), d.base_, d.step_, d.dim_);
  }
  static float Int4_L2(const QueryDistancer& d, const std::uint8_t* c) {
    return d.k_->int4_l2sq(c, d.table_.data(), d.base_, d.step_, d.dim_);
  }
  static float Int4_Dot(const QueryDistancer& d, const std::uint8_t* c) {
    return d.bias_ + d.sign_ * d.k_->int4_dot(c, d.table_.data(), d.base_, d.step_, d.dim_);
  }
  static float Int4_L1(const QueryDistancer& d, const std::uint8_t* c) {
    return d.k_->int4_l1(c, d.table_.data(), d.base_, d.step_, d.dim_);
  }
  static float Pq(const QueryDistancer& d, const std::uint8_t* c) {
    return d.bias_ + d.k_->pq_adc(c, d.table_.data(), d.dim_);
  }
  // Residual PQ: table_ = [m x 256 LUT][coarse table]; code = [m][cell][norm].
  static float PqRes_L2(const QueryDistancer& d, const std::uint8_t* c) {
    const std::size_t m = d.dim_;
    float norm;
    std::memcpy(&norm, c + m + 1, sizeof(float));
    return d.bias_ + norm + d.table_[m * kPqK + c[m]] + d.k_->pq_adc(c, d.table_.data(), m);
  }
  static float PqRes_Dot(const QueryDistancer& d, const std::uint8_t* c) {
    const std::size_t m = d.dim_;
    return d.bias_ + d.table_[m * kPqK + c[m]] + d.k_->pq_adc(c, d.table_.data(), m);
  }
  // Slow path: decode, then the float kernel (table_ holds the query).
  static float Decoded_L1(const QueryDistancer& d, const std::uint8_t* c) {
    const std::size_t dim = d.owner_->dim();
    float small[1024];
    std::vector<float> big(dim > 1024 ? dim : 0);
    float* v = big.empty() ? small : big.data();
    d.owner_->Decode(c, v);
    return d.k_->l1(d.table_.data(), v, dim);
  }
  static float Binary(const QueryDistancer& d, const std::uint8_t* c) {
    const std::size_t words = d.dim_;
    if ((reinterpret_cast<std::uintptr_t>(c) & 7u) == 0)
      return static_cast<float>(
          d.k_->hamming(d.bits_.data(), reinterpret_cast<const std::uint64_t*>(c), words));
    // Unaligned code: hand the kernel an aligned copy, in chunks.
    std::uint64_t buf[64];
    std::uint32_t total = 0;
    for (std::size_t w = 0; w < words; w += 64) {
      std::size_t nw = std::min<std::size_t>(64, words - w);
      std::memcpy(buf, c + w * 8, nw * 8);
      total += d.k_->hamming(d.bits_.data() + w, buf, nw);
    }
    return static_cast<float>(total);
  }
};

// ---------------------------------------------------------------- training

const float* Quantizer::Normalised(const float* v, float* buf) const {
  if (metric_ != Metric::Cosine) return v;
  NormaliseInto(v, dim_, buf);
  return buf;
}

void Quantizer::Train(const float* data, std::size_t n, std::size_t dim, Metric metric,
                      std::uint64_t seed) {
  if (dim == 0 || dim > kMaxDim) Invalid("dimension out of range");
  if (n == 0 || !data) Invalid("no training rows");
  for (std::size_t i = 0; i < n * dim; i++)
    if (!std::isfinite(data[i])) Invalid("training data contains NaN or Inf");
  const QuantKind kind = options_.kind;
  if (kind != QuantKind::None && kind != QuantKind::SQ8 && kind != QuantKind::INT4 &&
      kind != QuantKind::PQ && kind != QuantKind::Binary)
    Invalid("unknown kind");

  // Reset, then fill the parameters of this kind.
  metric_ = metric;
  dim_ = dim;  // Normalised() needs it; cleared again on failure below
  base_.clear();
  step_.clear();
  centroids_.clear();
  coarse_.clear();
  pq_coarse_ = 0;
  mean_.clear();
  spread_.clear();
  pq_m_ = pq_dsub_ = 0;
  std::vector<float> row(dim);

  try {
    switch (kind) {
      case QuantKind::None:
        code_size_ = dim * sizeof(float);
        break;
      case QuantKind::SQ8:
      case QuantKind::INT4: {
        const int levels = kind == QuantKind::SQ8 ? 255 : 15;
        std::vector<float> lo(dim, std::numeric_limits<float>::infinity());
        std::vector<float> hi(dim, -std::numeric_limits<float>::infinity());
        for (std::size_t i = 0; i < n; i++) {
          const float* v = Normalised(data + i * dim, row.data());
          for (std::size_t j = 0; j < dim; j++) {
            lo[j] = std::min(lo[j], v[j]);
            hi[j] = std::max(hi[j], v[j]);
          }
        }
        base_ = lo;
        step_.resize(dim);
        for (std::size_t j = 0; j < dim; j++) step_[j] = (hi[j] - lo[j]) / static_cast<float>(levels);
        code_size_ = kind == QuantKind::SQ8 ? dim : (dim + 1) / 2;
        break;
      }
      case QuantKind::PQ: {
        std::size_t m = options_.pq_m ? options_.pq_m : (dim + 3) / 4;
        if (m == 0 || m > dim) Invalid("pq_m must be in 1..dim");
        int coarse = options_.pq_coarse < 0 ? (metric == Metric::L1 ? 0 : 256) : options_.pq_coarse;
        if (coarse > 256) Invalid("pq_coarse must be in 0..256");
        pq_m_ = m;
        pq_dsub_ = (dim + m - 1) / m;
        pq_coarse_ = static_cast<std::size_t>(coarse);
        const std::size_t ds = pq_dsub_;
        // Deterministic training sample.
        std::mt19937_64 rng(seed);
        std::size_t ns = std::min(n, options_.pq_max_train ? options_.pq_max_train : n);
        std::vector<std::size_t> idx(n);
        for (std::size_t i = 0; i < n; i++) idx[i] = i;
        if (ns < n) {
          for (std::size_t i = 0; i < ns; i++) std::swap(idx[i], idx[i + rng() % (n - i)]);
          std::sort(idx.begin(), idx.begin() + ns);
        }
        // Normalised sample, then (residual PQ) minus each row's cell centre.
        std::vector<float> rows(ns * dim);
        for (std::size_t i = 0; i < ns; i++)
          std::copy_n(Normalised(data + idx[i] * dim, row.data()), dim, rows.data() + i * dim);
        if (pq_coarse_ > 0) {
          KMeansOptions ko;
          ko.k = pq_coarse_;
          ko.iters = options_.pq_iters;
          ko.max_points = 0;
          ko.seed = seed ^ 0xC0A25Eull;
          coarse_ = KMeans(rows.data(), ns, dim, ko);
          std::vector<float> ct(dim * kPqK), cn(kPqK);
          Transpose(coarse_.data(), pq_coarse_, dim, ct.data(), cn.data());
          for (std::size_t i = 0; i < ns; i++) {
            float* r = rows.data() + i * dim;
            const float* c = coarse_.data() + NearestTransposed(r, ct.data(), cn.data(), dim) * dim;
            for (std::size_t j = 0; j < dim; j++) r[j] -= c[j];
          }
        }
        // Padded: ns x (m * ds).
        const std::size_t pd = m * ds;
        std::vector<float> sample(ns * pd, 0.0f);
        for (std::size_t i = 0; i < ns; i++) std::copy_n(rows.data() + i * dim, dim, sample.data() + i * pd);
        rows = std::vector<float>();
        centroids_.assign(m * kPqK * ds, 0.0f);
        std::vector<float> sub(ns * ds);
        for (std::size_t s = 0; s < m; s++) {
          for (std::size_t i = 0; i < ns; i++)
            std::copy_n(sample.data() + i * pd + s * ds, ds, sub.data() + i * ds);
          KMeansOptions ko;
          ko.k = kPqK;
          ko.iters = options_.pq_iters;
          ko.max_points = 0;  // already sampled
          ko.seed = seed * 0x9E3779B97F4A7C15ull + s + 1;
          std::vector<float> c = KMeans(sub.data(), ns, ds, ko);
          std::copy(c.begin(), c.end(), centroids_.begin() + s * kPqK * ds);
        }
        code_size_ = m + (pq_coarse_ > 0 ? 1 + sizeof(float) : 0);
        BuildEncodeTables();
        break;
      }
      case QuantKind::Binary: {
        std::vector<double> sum(dim, 0.0), dev(dim, 0.0);
        for (std::size_t i = 0; i < n; i++) {
          const float* v = Normalised(data + i * dim, row.data());
          for (std::size_t j = 0; j < dim; j++) sum[j] += v[j];
        }
        mean_.resize(dim);
        for (std::size_t j = 0; j < dim; j++) mean_[j] = static_cast<float>(sum[j] / n);
        for (std::size_t i = 0; i < n; i++) {
          const float* v = Normalised(data + i * dim, row.data());
          for (std::size_t j = 0; j < dim; j++) dev[j] += std::fabs(v[j] - mean_[j]);
        }
        spread_.resize(dim);
        for (std::size_t j = 0; j < dim; j++) spread_[j] = static_cast<float>(dev[j] / n);
        code_size_ = BinaryWords(dim) * 8;
        break;
      }
    }
  } catch (...) {
    dim_ = 0;
    code_size_ = 0;
    throw;
  }
}

// ---------------------------------------------------------------- codes

void Quantizer::Encode(const float* in, std::uint8_t* code) const {
  if (!trained()) throw Error(Error::Kind::Internal, "quantizer: Encode before Train");
  float small[512];
  std::vector<float> big(metric_ == Metric::Cosine && dim_ > 512 ? dim_ : 0);
  const float* v = Normalised(in, big.empty() ? small : big.data());
  switch (options_.kind) {
    case QuantKind::None:
      std::memcpy(code, v, dim_ * sizeof(float));
      break;
    case QuantKind::SQ8:
      for (std::size_t j = 0; j < dim_; j++) code[j] = QuantiseLevel(v[j], base_[j], step_[j], 255);
      break;
    case QuantKind::INT4:
      std::memset(code, 0, code_size_);
      for (std::size_t j = 0; j < dim_; j++) {
        std::uint8_t q = QuantiseLevel(v[j], base_[j], step_[j], 15);
        code[j >> 1] |= static_cast<std::uint8_t>((j & 1) ? (q << 4) : q);
      }
      break;
    case QuantKind::PQ: {
      if (pq_coarse_ == 0) {
        PqEncodeSub(v, code);
        break;
      }
      std::size_t cell = NearestTransposed(v, coarse_t_.data(), coarse_norms_.data(), dim_);
      const float* c = coarse_.data() + cell * dim_;
      std::vector<float> r(dim_);
      for (std::size_t j = 0; j < dim_; j++) r[j] = v[j] - c[j];
      PqEncodeSub(r.data(), code);
      code[pq_m_] = static_cast<std::uint8_t>(cell);
      const float zero = 0.0f;
      std::memcpy(code + pq_m_ + 1, &zero, sizeof(float));
      Decode(code, r.data());
      double norm = 0.0;
      for (std::size_t j = 0; j < dim_; j++) norm += static_cast<double>(r[j]) * r[j];
      const float nf = static_cast<float>(norm);
      std::memcpy(code + pq_m_ + 1, &nf, sizeof(float));
      break;
    }
    case QuantKind::Binary: {
      std::memset(code, 0, code_size_);
      for (std::size_t j = 0; j < dim_; j++)
        if (v[j] > mean_[j]) code[j >> 3] |= static_cast<std::uint8_t>(1u << (j & 7));
      break;
    }
  }
}

void Quantizer::BuildEncodeTables() {
  pq_t_.assign(centroids_.size(), 0.0f);
  pq_norms_.assign(pq_m_ * kPqK, 0.0f);
  for (std::size_t m = 0; m < pq_m_; m++)
    Transpose(centroids_.data() + m * kPqK * pq_dsub_, kPqK, pq_dsub_,
              pq_t_.data() + m * kPqK * pq_dsub_, pq_norms_.data() + m * kPqK);
  coarse_t_.assign(pq_coarse_ ? dim_ * kPqK : 0, 0.0f);
  coarse_norms_.assign(pq_coarse_ ? kPqK : 0, 0.0f);
  if (pq_coarse_ > 0) Transpose(coarse_.data(), pq_coarse_, dim_, coarse_t_.data(), coarse_norms_.data());
}

void Quantizer::PqEncodeSub(const float* v, std::uint8_t* code) const {
  const std::size_t ds = pq_dsub_;
  float sub[64];
  std::vector<float> big(ds > 64 ? ds : 0);
  float* s = ds > 64 ? big.data() : sub;
  for (std::size_t m = 0; m < pq_m_; m++) {
    for (std::size_t d = 0; d < ds; d++) {
      std::size_t j = m * ds + d;
      s[d] = j < dim_ ? v[j] : 0.0f;
    }
    code[m] = static_cast<std::uint8_t>(
        NearestTransposed(s, pq_t_.data() + m * kPqK * ds, pq_norms_.data() + m * kPqK, ds));
  }
}

void Quantizer::EncodeBatch(const float* v, std::size_t n, std::uint8_t* codes) const {
  for (std::size_t i = 0; i < n; i++) Encode(v + i * dim_, codes + i * code_size_);
}

void Quantizer::Decode(const std::uint8_t* code, float* v) const {
  if (!trained()) throw Error(Error::Kind::Internal, "quantizer: Decode before Train");
  switch (options_.kind) {
    case QuantKind::None:
      std::memcpy(v, code, dim_ * sizeof(float));
      break;
    case QuantKind::SQ8:
      for (std::size_t j = 0; j < dim_; j++) v[j] = base_[j] + step_[j] * static_cast<float>(code[j]);
      break;
    case QuantKind::INT4:
      for (std::size_t j = 0; j < dim_; j++) {
        std::uint8_t b = code[j >> 1];
        float q = static_cast<float>((j & 1) ? (b >> 4) : (b & 0x0F));
        v[j] = base_[j] + step_[j] * q;
      }
      break;
    case QuantKind::PQ: {
      const std::size_t ds = pq_dsub_;
      for (std::size_t m = 0; m < pq_m_; m++) {
        const float* c = centroids_.data() + (m * kPqK + code[m]) * ds;
        for (std::size_t d = 0; d < ds; d++) {
          std::size_t j = m * ds + d;
          if (j < dim_) v[j] = c[d];
        }
      }
      if (pq_coarse_ > 0) {
        // A corrupt cell byte cannot index past the table.
        const float* c = coarse_.data() + (code[pq_m_] % pq_coarse_) * dim_;
        for (std::size_t j = 0; j < dim_; j++) v[j] += c[j];
      }
      break;
    }
    case QuantKind::Binary:
      for (std::size_t j = 0; j < dim_; j++) {
        bool bit = (code[j >> 3] >> (j & 7)) & 1u;
        v[j] = mean_[j] + (bit ? spread_[j] : -spread_[j]);
      }
      break;
  }
}

// ---------------------------------------------------------------- queries

QueryDistancer Quantizer::Prepare(const float* query, Metric metric) const {
  QueryDistancer d;
  Prepare(query, metric, &d);
  return d;
}

double FoldSq8Query(const float* q, const float* base, const float* step, std::size_t n, float* w) {
  double qb = 0.0;
  for (std::size_t i = 0; i < n; i++) {
    qb += double(q[i]) * base[i];
    w[i] = q[i] * step[i];
  }
  return qb;
}

void Quantizer::Prepare(const float* query, Metric metric, QueryDistancer* out) const {
  if (!trained()) throw Error(Error::Kind::Internal, "quantizer: Prepare before Train");
  QueryDistancer& d = *out;
  d.k_ = &simd::active();
  d.metric_ = metric;
  d.code_size_ = code_size_;
  d.base_ = base_.data();
  d.step_ = step_.data();
  d.bias_ = metric == Metric::Cosine ? 1.0f : 0.0f;
  d.sign_ = -1.0f;  // used by the dot-product variants only
  d.owner_ = this;

  const QuantKind kind = options_.kind;
  if (kind == QuantKind::None || kind == QuantKind::SQ8 || kind == QuantKind::INT4) {
    d.dim_ = dim_;
    d.table_.resize(dim_);
    if (metric == Metric::Cosine)
      NormaliseInto(query, dim_, d.table_.data());
    else
      std::copy_n(query, dim_, d.table_.data());
    using I = QuantDistImpl;
    if (kind == QuantKind::None)
      d.fn_ = metric == Metric::L2 ? I::None_L2 : metric == Metric::L1 ? I::None_L1 : I::None_Dot;
    else if (kind == QuantKind::SQ8 && (metric == Metric::L2 || metric == Metric::L1))
      d.fn_ = metric == Metric::L2 ? I::Sq8_L2 : I::Sq8_L1;
    else if (kind == QuantKind::SQ8) {
      // The query folded into the scale once: each code then costs one
      // multiply-add per dimension instead of a decode and a multiply-add.
      const double qb = FoldSq8Query(d.table_.data(), base_.data(), step_.data(), dim_, d.table_.data());
      d.bias_ += d.sign_ * static_cast<float>(qb);
      d.fn_ = I::Sq8_Dot;
    }
    else
      d.fn_ = metric == Metric::L2 ? I::Int4_L2 : metric == Metric::L1 ? I::Int4_L1 : I::Int4_Dot;
    return;
  }

  if (kind == QuantKind::PQ) {
    const std::size_t ds = pq_dsub_, m = pq_m_;
    std::vector<float> q(m * ds, 0.0f);
    if (metric == Metric::Cosine)
      NormaliseInto(query, dim_, q.data());
    else
      std::copy_n(query, dim_, q.data());
    d.dim_ = m;
    if (pq_coarse_ > 0 && metric == Metric::L1) {
      d.table_.assign(q.begin(), q.begin() + dim_);
      d.fn_ = QuantDistImpl::Decoded_L1;
      return;
    }
    // Residual L2 needs -2 q.r per subspace; everything else the metric's own table.
    const bool res_l2 = pq_coarse_ > 0 && metric == Metric::L2;
    d.table_.resize(m * kPqK + pq_coarse_);
    for (std::size_t s = 0; s < m; s++) {
      const float* qs = q.data() + s * ds;
      const float* cs = centroids_.data() + s * kPqK * ds;
      float* lut = d.table_.data() + s * kPqK;
      for (std::size_t c = 0; c < kPqK; c++) {
        const float* cc = cs + c * ds;
        float acc = 0.0f;
        if (res_l2) {
          for (std::size_t t = 0; t < ds; t++) acc -= 2.0f * qs[t] * cc[t];
        } else if (metric == Metric::L2) {
          for (std::size_t t = 0; t < ds; t++) {
            float diff = qs[t] - cc[t];
            acc += diff * diff;
          }
        } else if (metric == Metric::L1) {
          for (std::size_t t = 0; t < ds; t++) acc += std::fabs(qs[t] - cc[t]);
        } else {
          for (std::size_t t = 0; t < ds; t++) acc -= qs[t] * cc[t];
        }
        lut[c] = acc;
      }
    }
    if (pq_coarse_ == 0) {
      d.fn_ = QuantDistImpl::Pq;
      return;
    }
    float* ct = d.table_.data() + m * kPqK;
    for (std::size_t c = 0; c < pq_coarse_; c++) {
      const float* cc = coarse_.data() + c * dim_;
      double dot = 0.0;
      for (std::size_t j = 0; j < dim_; j++) dot += static_cast<double>(q[j]) * cc[j];
      ct[c] = static_cast<float>(res_l2 ? -2.0 * dot : -dot);
    }
    if (res_l2) {
      double qq = 0.0;
      for (std::size_t j = 0; j < dim_; j++) qq += static_cast<double>(q[j]) * q[j];
      d.bias_ = static_cast<float>(qq);
      d.fn_ = QuantDistImpl::PqRes_L2;
    } else {
      d.fn_ = QuantDistImpl::PqRes_Dot;
    }
    return;
  }

  // Binary.
  const std::size_t words = BinaryWords(dim_);
  std::vector<float> q(dim_);
  if (metric_ == Metric::Cosine)
    NormaliseInto(query, dim_, q.data());
  else
    std::copy_n(query, dim_, q.data());
  d.dim_ = words;
  d.bits_.assign(words, 0);
  for (std::size_t j = 0; j < dim_; j++)
    if (q[j] > mean_[j]) d.bits_[j >> 6] |= std::uint64_t{1} << (j & 63);
  d.table_.clear();
  d.fn_ = QuantDistImpl::Binary;
}

// ---------------------------------------------------------------- bytes

namespace {

class ByteWriter {
 public:
  template <typename T>
  void Put(const T& v) {
    const std::uint8_t* p = reinterpret_cast<const std::uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
  }
  void PutFloats(const std::vector<float>& v) {
    Put<std::uint64_t>(v.size());
    const std::uint8_t* p = reinterpret_cast<const std::uint8_t*>(v.data());
    out.insert(out.end(), p, p + v.size() * sizeof(float));
  }
  std::vector<std::uint8_t> out;
};

class ByteReader {
 public:
  ByteReader(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}
  template <typename T>
  T Get() {
    if (n_ - at_ < sizeof(T)) Corrupt("parameters truncated");
    T v;
    std::memcpy(&v, p_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::vector<float> GetFloats(std::size_t expect) {
    std::uint64_t n = Get<std::uint64_t>();
    if (n != expect) Corrupt("parameter array of unexpected length");
    if ((n_ - at_) / sizeof(float) < n) Corrupt("parameters truncated");
    std::vector<float> v(n);
    if (n) std::memcpy(v.data(), p_ + at_, n * sizeof(float));
    at_ += n * sizeof(float);
    for (float f : v)
      if (!std::isfinite(f)) Corrupt("non-finite parameter");
    return v;
  }
  std::size_t at() const { return at_; }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
  std::size_t at_ = 0;
};

}  // namespace

std::vector<std::uint8_t> Quantizer::ToBytes() const {
  if (!trained()) throw Error(Error::Kind::Internal, "quantizer: serialising an untrained quantizer");
  ByteWriter w;
  w.Put<std::uint32_t>(kQuantMagic);
  w.Put<std::uint32_t>(kQuantVersion);
  w.Put<std::uint8_t>(static_cast<std::uint8_t>(options_.kind));
  w.Put<std::uint8_t>(static_cast<std::uint8_t>(metric_));
  w.Put<std::uint16_t>(0);
  w.Put<std::uint32_t>(static_cast<std::uint32_t>(dim_));
  w.Put<std::uint32_t>(static_cast<std::uint32_t>(code_size_));
  w.Put<std::uint32_t>(static_cast<std::uint32_t>(pq_m_));
  w.Put<std::uint32_t>(static_cast<std::uint32_t>(pq_dsub_));
  w.Put<std::uint32_t>(static_cast<std::uint32_t>(options_.pq_iters));
  w.Put<std::uint32_t>(static_cast<std::uint32_t>(options_.pq_max_train));
  w.Put<std::uint32_t>(static_cast<std::uint32_t>(pq_coarse_));
  w.PutFloats(base_);
  w.PutFloats(step_);
  w.PutFloats(centroids_);
  w.PutFloats(coarse_);
  w.PutFloats(mean_);
  w.PutFloats(spread_);
  w.Put<std::uint32_t>(Crc32c(w.out.data(), w.out.size()));
  return std::move(w.out);
}

Quantizer Quantizer::FromBytes(const std::uint8_t* data, std::size_t n) {
  if (!data || n < 8) Corrupt("parameters truncated");
  std::uint32_t stored;
  std::memcpy(&stored, data + n - 4, 4);
  if (Crc32c(data, n - 4) != stored) Corrupt("parameter checksum mismatch");
  ByteReader r(data, n - 4);
  if (r.Get<std::uint32_t>() != kQuantMagic) Corrupt("bad magic");
  std::uint32_t version = r.Get<std::uint32_t>();
  if (version != kQuantVersion)
    Corrupt("unsupported parameter format version " + std::to_string(version));
  Quantizer q;
  std::uint8_t kind = r.Get<std::uint8_t>();
  std::uint8_t metric = r.Get<std::uint8_t>();
  r.Get<std::uint16_t>();
  if (kind > static_cast<std::uint8_t>(QuantKind::Binary)) Corrupt("unknown kind");
  if (metric > static_cast<std::uint8_t>(Metric::L1)) Corrupt("unknown metric");
  q.options_.kind = static_cast<QuantKind>(kind);
  q.metric_ = static_cast<Metric>(metric);
  std::size_t dim = r.Get<std::uint32_t>();
  std::size_t code_size = r.Get<std::uint32_t>();
  std::size_t m = r.Get<std::uint32_t>();
  std::size_t ds = r.Get<std::uint32_t>();
  q.options_.pq_iters = r.Get<std::uint32_t>();
  q.options_.pq_max_train = r.Get<std::uint32_t>();
  std::size_t coarse = r.Get<std::uint32_t>();
  if (dim == 0 || dim > kMaxDim) Corrupt("dimension out of range");
  std::size_t nb = 0, ns = 0, nc = 0, nm = 0, expect_code = 0;
  switch (q.options_.kind) {
    case QuantKind::None: expect_code = dim * 4; break;
    case QuantKind::SQ8: nb = ns = dim; expect_code = dim; break;
    case QuantKind::INT4: nb = ns = dim; expect_code = (dim + 1) / 2; break;
    case QuantKind::PQ:
      if (m == 0 || m > dim || ds != (dim + m - 1) / m) Corrupt("bad PQ geometry");
      if (coarse > 256) Corrupt("bad PQ coarse cell count");
      nc = m * kPqK * ds;
      expect_code = m + (coarse > 0 ? 1 + sizeof(float) : 0);
      break;
    case QuantKind::Binary: nm = dim; expect_code = BinaryWords(dim) * 8; break;
  }
  if (q.options_.kind != QuantKind::PQ && (m != 0 || ds != 0 || coarse != 0)) Corrupt("bad PQ geometry");
  if (code_size != expect_code) Corrupt("code size inconsistent with kind and dimension");
  q.base_ = r.GetFloats(nb);
  q.step_ = r.GetFloats(ns);
  q.centroids_ = r.GetFloats(nc);
  q.coarse_ = r.GetFloats(coarse * dim);
  q.mean_ = r.GetFloats(nm);
  q.spread_ = r.GetFloats(nm);
  if (r.at() != n - 4) Corrupt("trailing bytes");
  q.dim_ = dim;
  q.code_size_ = code_size;
  q.pq_m_ = m;
  q.pq_dsub_ = ds;
  q.pq_coarse_ = coarse;
  q.options_.pq_m = m;
  q.options_.pq_coarse = static_cast<int>(coarse);
  if (q.options_.kind == QuantKind::PQ) q.BuildEncodeTables();
  return q;
}

void Quantizer::Save(PageStreamWriter& w) const {
  std::vector<std::uint8_t> b = ToBytes();
  w.Put<std::uint64_t>(b.size());
  w.Write(b.data(), b.size());
}

Quantizer Quantizer::Load(PageStreamReader& r) {
  std::uint64_t n = r.GetCount(std::uint64_t{1} << 32, 1);
  std::vector<std::uint8_t> b(n);
  r.Read(b.data(), n);
  return FromBytes(b.data(), b.size());
}

}  // namespace vecgo
