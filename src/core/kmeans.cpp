// k-means: k-means++ seeding, then Lloyd iterations.
//
// The assignment step keeps the centroids transposed (dim x k) and computes
// |c|^2 - 2 x.c for all k centroids at once: the inner loop runs over
// centroids, so it vectorises whatever dim is (PQ subspaces have 2..16 dims,
// where a per-pair distance kernel would spend its time in call overhead).
#include "vecgo/kmeans.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace vecgo {
namespace {

// Uniform double in [0, 1) from a 64-bit generator (same on every platform,
// unlike std::uniform_real_distribution).
inline double Uniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

// Squared L2 with eight fixed partial sums. Not the dispatched kernel on
// purpose: its rounding depends on the instruction set, and k-means++ draws
// from cumulative sums of these values, so training would differ from one CPU
// to another. This loop gives the same bits everywhere (and still vectorises).
inline float L2sqScalar(const float* a, const float* b, std::size_t dim) {
  constexpr std::size_t kL = 8;
  float lane[kL] = {};
  std::size_t full = dim / kL * kL;
  for (std::size_t d = 0; d < full; d += kL)
    for (std::size_t j = 0; j < kL; j++) {
      float t = a[d + j] - b[d + j];
      lane[j] += t * t;
    }
  float s = 0.0f;
  for (std::size_t d = full; d < dim; d++) {
    float t = a[d] - b[d];
    s += t * t;
  }
  for (std::size_t j = 0; j < kL; j++) s += lane[j];
  return s;
}

// Nearest centroid of every point using the transposed centroid table.
class Assigner {
 public:
  // Columns padded to a multiple of kLanes (zero centroids whose norm is
  // FLT_MAX, so they never win): the inner loop has a fixed trip count and
  // the compiler vectorises it at -O2.
  static constexpr std::size_t kLanes = 16;
  Assigner(std::size_t k, std::size_t dim)
      : k_(k), kp_((k + kLanes - 1) / kLanes * kLanes), dim_(dim), ct_(kp_ * dim), norms_(kp_),
        acc_(kp_) {}

  void Load(const float* centroids) {
    std::fill(ct_.begin(), ct_.end(), 0.0f);
    std::fill(norms_.begin(), norms_.end(), std::numeric_limits<float>::max());
    for (std::size_t c = 0; c < k_; c++) {
      float n = 0.0f;
      for (std::size_t d = 0; d < dim_; d++) {
        float v = centroids[c * dim_ + d];
        ct_[d * kp_ + c] = v;
        n += v * v;
      }
      norms_[c] = n;
    }
  }

  std::size_t Nearest(const float* x) {
    float* acc = acc_.data();
    const float* norms = norms_.data();
    for (std::size_t c = 0; c < kp_; c++) acc[c] = norms[c];
    for (std::size_t d = 0; d < dim_; d++) {
      const float xd = -2.0f * x[d];
      const float* row = ct_.data() + d * kp_;
      for (std::size_t c0 = 0; c0 < kp_; c0 += kLanes)
        for (std::size_t c = 0; c < kLanes; c++) acc[c0 + c] += xd * row[c0 + c];
    }
    return ArgMin(acc, kp_);
  }

 private:
  std::size_t k_, kp_, dim_;
  std::vector<float> ct_, norms_, acc_;
};

}  // namespace

std::size_t ArgMin(const float* v, std::size_t n) {
  constexpr std::size_t kL = 16;
  float lane[kL];
  std::size_t full = n / kL * kL;
  float m;
  if (full > 0) {
    for (std::size_t j = 0; j < kL; j++) lane[j] = v[j];
    for (std::size_t i = kL; i < full; i += kL)
      for (std::size_t j = 0; j < kL; j++) lane[j] = v[i + j] < lane[j] ? v[i + j] : lane[j];
    m = lane[0];
    for (std::size_t j = 1; j < kL; j++) m = lane[j] < m ? lane[j] : m;
  } else {
    m = v[0];
  }
  for (std::size_t i = full; i < n; i++) m = v[i] < m ? v[i] : m;
  for (std::size_t i = 0; i < n; i++)
    if (v[i] == m) return i;
  return 0;  // only when every value is NaN
}

std::size_t NearestCentroid(const float* v, const float* centroids, std::size_t k, std::size_t dim,
                            float* dist) {
  std::size_t best = 0;
  float bd = std::numeric_limits<float>::infinity();
  for (std::size_t c = 0; c < k; c++) {
    float d = L2sqScalar(v, centroids + c * dim, dim);
    if (d < bd) {
      bd = d;
      best = c;
    }
  }
  if (dist) *dist = bd;
  return best;
}

std::vector<float> KMeans(const float* data, std::size_t n, std::size_t dim,
                          const KMeansOptions& opts) {
  if (n == 0 || dim == 0 || opts.k == 0)
    throw Error(Error::Kind::InvalidArgument, "k-means: empty input or k == 0");
  const std::size_t k = opts.k;
  std::mt19937_64 rng(opts.seed);

  // Deterministic subsample (partial Fisher-Yates over row indices).
  std::vector<float> sample;
  const float* x = data;
  std::size_t m = n;
  if (opts.max_points > 0 && n > opts.max_points && opts.max_points >= k) {
    std::vector<std::size_t> idx(n);
    for (std::size_t i = 0; i < n; i++) idx[i] = i;
    m = opts.max_points;
    for (std::size_t i = 0; i < m; i++) std::swap(idx[i], idx[i + rng() % (n - i)]);
    std::sort(idx.begin(), idx.begin() + m);  // sequential reads
    sample.resize(m * dim);
    for (std::size_t i = 0; i < m; i++)
      std::copy_n(data + idx[i] * dim, dim, sample.data() + i * dim);
    x = sample.data();
  }

  std::vector<float> cent(k * dim);
  if (m <= k) {
    for (std::size_t c = 0; c < k; c++) std::copy_n(x + (c % m) * dim, dim, cent.data() + c * dim);
    return cent;
  }

  // k-means++ seeding: each next centroid drawn with probability
  // proportional to the squared distance to the nearest chosen one.
  std::vector<float> mind(m, std::numeric_limits<float>::infinity());
  std::size_t first = rng() % m;
  std::copy_n(x + first * dim, dim, cent.data());
  for (std::size_t c = 1; c < k; c++) {
    const float* prev = cent.data() + (c - 1) * dim;
    double total = 0.0;
    for (std::size_t i = 0; i < m; i++) {
      float d = L2sqScalar(x + i * dim, prev, dim);
      if (d < mind[i]) mind[i] = d;
      total += mind[i];
    }
    std::size_t pick = rng() % m;
    if (total > 0.0) {
      double r = Uniform(rng) * total;
      double acc = 0.0;
      for (std::size_t i = 0; i < m; i++) {
        acc += mind[i];
        if (acc > r) {
          pick = i;
          break;
        }
      }
    }
    std::copy_n(x + pick * dim, dim, cent.data() + c * dim);
  }

  // Lloyd iterations.
  Assigner assigner(k, dim);
  std::vector<std::uint32_t> assign(m, UINT32_MAX);
  std::vector<double> sums(k * dim);
  std::vector<std::size_t> counts(k);
  for (std::size_t it = 0; it < opts.iters; it++) {
    assigner.Load(cent.data());
    std::size_t moved = 0;
    for (std::size_t i = 0; i < m; i++) {
      std::uint32_t a = static_cast<std::uint32_t>(assigner.Nearest(x + i * dim));
      if (a != assign[i]) moved++;
      assign[i] = a;
    }
    if (moved == 0) break;
    std::fill(sums.begin(), sums.end(), 0.0);
    std::fill(counts.begin(), counts.end(), 0);
    for (std::size_t i = 0; i < m; i++) {
      std::size_t a = assign[i];
      counts[a]++;
      for (std::size_t d = 0; d < dim; d++) sums[a * dim + d] += x[i * dim + d];
    }
    for (std::size_t c = 0; c < k; c++)
      if (counts[c] > 0)
        for (std::size_t d = 0; d < dim; d++)
          cent[c * dim + d] = static_cast<float>(sums[c * dim + d] / counts[c]);
    // Empty clusters: split the largest cluster, nudging the two copies apart.
    for (std::size_t c = 0; c < k; c++) {
      if (counts[c] > 0) continue;
      std::size_t big = static_cast<std::size_t>(
          std::max_element(counts.begin(), counts.end()) - counts.begin());
      if (counts[big] < 2) break;
      for (std::size_t d = 0; d < dim; d++) {
        float v = cent[big * dim + d];
        float eps = (std::fabs(v) + 1e-6f) * 1e-3f * (d % 2 ? 1.0f : -1.0f);
        cent[c * dim + d] = v + eps;
        cent[big * dim + d] = v - eps;
      }
      counts[c] = counts[big] / 2;
      counts[big] -= counts[c];
    }
  }
  return cent;
}

}  // namespace vecgo
