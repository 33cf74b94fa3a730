// k-means (Lloyd's algorithm with k-means++ seeding) on squared L2: PQ
// codebooks, and any caller that needs a deterministic partition (e.g. a
// medoid or a partitioned build).
#pragma once

#include "vecgo/core.h"

#include <vector>

namespace vecgo {

struct KMeansOptions {
  std::size_t k = 256;
  std::size_t iters = 12;          // Lloyd iterations (stops early when nothing moves)
  std::size_t max_points = 65536;  // deterministic random subsample above this
  std::uint64_t seed = 0x5eed;
};

// Returns k x dim centroids (row-major). When n < k the extra centroids are
// copies of data rows (every centroid is still a valid point). Empty clusters
// are re-seeded by splitting the largest one. Deterministic for (data, opts).
// Throws InvalidArgument for n == 0, dim == 0 or k == 0.
std::vector<float> KMeans(const float* data, std::size_t n, std::size_t dim,
                          const KMeansOptions& opts);

// Index of the centroid nearest to v (squared L2), its distance in *dist.
std::size_t NearestCentroid(const float* v, const float* centroids, std::size_t k,
                            std::size_t dim, float* dist = nullptr);

// Index of the smallest of v[0..n) (the first one on ties; n >= 1). Lane-wise
// minimum first (vectorised), then a scan for its first position: a plain
// argmin loop is one long dependency chain.
std::size_t ArgMin(const float* v, std::size_t n);

}  // namespace vecgo
