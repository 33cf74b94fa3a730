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
