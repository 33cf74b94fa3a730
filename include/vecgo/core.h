// Shared definitions of the PostgreSQL-free core.
//
// Every core header includes this one first. It refuses to compile inside a
// translation unit that has already included postgres.h: PostgreSQL's macros
// (Min, Max, elog, ...) and its longjmp-based errors must never leak into the
// engine, and the engine must stay buildable and testable without a server.
#pragma once

#ifdef POSTGRES_H
#error "vecgo core headers must be included before postgres.h (or not at all in glue code that needs both: include the core header first)"
#endif

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace vecgo {

// Largest dimension count accepted anywhere (same limit as pgvector).
constexpr std::size_t kMaxDim = 16000;

// Distance metrics. One convention everywhere: smaller is closer.
//  L2     squared Euclidean distance (the SQL operator takes the sqrt)
//  IP     negative inner product
//  Cosine 1 - cos(a, b)
//  L1     Manhattan distance
enum class Metric : std::uint8_t { L2 = 0, IP = 1, Cosine = 2, L1 = 3 };

// The one order of distances, in the core and in the glue: ascending, NaN
// after everything (+infinity included), every NaN equal to every other.
// It is PostgreSQL's float8 order, so an index scan yields rows in the order
// a sort of the operator's values gives. Inner product and cosine distances
// are NaN for some finite vectors (products that overflow to +inf and -inf
// in one sum), and `<` on floats is no strict weak order once NaN is among
// them: heaps, sorted lists and merges built on it lose rows, return rows
// twice or stop early, and std::sort may read out of bounds. Every
// comparison of distances goes through these two.
inline bool DistanceLess(float a, float b) noexcept { return a < b || (b != b && a == a); }
inline bool DistanceEqual(float a, float b) noexcept { return a == b || (a != a && b != b); }

// Error raised by the core. The glue turns it into ereport(ERROR) keeping the
// category as a SQLSTATE.
class Error : public std::runtime_error {
 public:
  enum class Kind { InvalidArgument, DataCorrupted, OutOfMemory, Internal, FeatureNotSupported };
  Error(Kind kind, const std::string& msg) : std::runtime_error(msg), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

}  // namespace vecgo
