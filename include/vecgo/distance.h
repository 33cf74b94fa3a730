// Metric distances over float vectors through the dispatched kernels.
// Convention: smaller is closer (see Metric in core.h).
#pragma once

#include <cmath>

#include "vecgo/core.h"
#include "vecgo/simd.h"

namespace vecgo {

// Distance between two full-precision vectors under `metric`.
//  L2: squared Euclidean; IP: -dot; Cosine: 1 - dot/(|a||b|) (1 when either is
//  zero, so zero vectors sort last instead of poisoning a graph with NaN);
//  L1: Manhattan.
inline float Distance(Metric metric, const float* a, const float* b, std::size_t n) {
  const simd::Kernels& k = simd::active();
  switch (metric) {
    case Metric::L2:
      return k.l2sq(a, b, n);
    case Metric::IP:
      return -k.dot(a, b, n);
    case Metric::Cosine: {
      float p[3];
      k.dot_norms(a, b, n, p);
      double denom = std::sqrt(static_cast<double>(p[1]) * static_cast<double>(p[2]));
      if (!(denom > 0.0)) return 1.0f;
      double sim = static_cast<double>(p[0]) / denom;
      if (sim > 1.0) sim = 1.0;
      if (sim < -1.0) sim = -1.0;
      return static_cast<float>(1.0 - sim);
    }
    case Metric::L1:
      return k.l1(a, b, n);
  }
  return 0.0f;
}

inline const char* MetricName(Metric m) {
  switch (m) {
    case Metric::L2: return "l2";
    case Metric::IP: return "ip";
    case Metric::Cosine: return "cosine";
    case Metric::L1: return "l1";
  }
  return "unknown";
}

}  // namespace vecgo
