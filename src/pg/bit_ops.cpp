// Distances between bit strings (PostgreSQL's `bit` type), as pgvector
// defines them: Hamming (`<~>`, hamming_distance) and Jaccard (`<%>`,
// jaccard_distance). With binary_quantize they give the usual pattern of a
// coarse search over one bit per dimension, reranked with the full vectors.
//
// Both count set bits a 64-bit word at a time; the POPCNT instruction is used
// where the CPU has it (checked once), a portable count otherwise. The
// padding bits of a bit string's last byte are always zero, so whole bytes
// may be counted.
#include <cstdint>
#include <cstring>

#include "guard.h"

extern "C" {
#include "utils/varbit.h"
}

namespace vecgo::pg {
namespace {

struct BitCounts {
  uint64 a_and_b;  // bits set in both
  uint64 a_xor_b;  // bits set in one only
  uint64 a, b;     // bits set in each
};

template <bool kPopcnt>
inline int Count(uint64 w) {
  if constexpr (kPopcnt) return __builtin_popcountll(w);
  w = w - ((w >> 1) & 0x5555555555555555ULL);
  w = (w & 0x3333333333333333ULL) + ((w >> 2) & 0x3333333333333333ULL);
  w = (w + (w >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return static_cast<int>((w * 0x0101010101010101ULL) >> 56);
}

template <bool kPopcnt>
BitCounts CountBits(const uint8* a, const uint8* b, size_t bytes) {
  BitCounts c{0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= bytes; i += 8) {
    uint64 x, y;
    std::memcpy(&x, a + i, 8);
    std::memcpy(&y, b + i, 8);
    c.a_and_b += Count<kPopcnt>(x & y);
    c.a_xor_b += Count<kPopcnt>(x ^ y);
    c.a += Count<kPopcnt>(x);
    c.b += Count<kPopcnt>(y);
  }
  for (; i < bytes; i++) {
    const uint64 x = a[i], y = b[i];
    c.a_and_b += Count<kPopcnt>(x & y);
    c.a_xor_b += Count<kPopcnt>(x ^ y);
    c.a += Count<kPopcnt>(x);
    c.b += Count<kPopcnt>(y);
  }
  return c;
}

__attribute__((target("popcnt"))) BitCounts CountBitsPopcnt(const uint8* a, const uint8* b, size_t bytes) {
  return CountBits<true>(a, b, bytes);
}

BitCounts Counts(VarBit* a, VarBit* b) {
  if (VARBITLEN(a) != VARBITLEN(b))
    Raise(ERRCODE_DATA_EXCEPTION, "different bit lengths %u and %u", static_cast<unsigned>(VARBITLEN(a)),
          static_cast<unsigned>(VARBITLEN(b)));
  static const bool popcnt = __builtin_cpu_supports("popcnt");
  const size_t bytes = static_cast<size_t>(VARBITBYTES(a));
  return popcnt ? CountBitsPopcnt(VARBITS(a), VARBITS(b), bytes) : CountBits<false>(VARBITS(a), VARBITS(b), bytes);
}

}  // namespace
}  // namespace vecgo::pg

using vecgo::pg::Counts;

// The number of positions at which the bits differ.
VECGO_FUNCTION(hamming_distance) {
  VarBit* a = PG_GETARG_VARBIT_P(0);
  VarBit* b = PG_GETARG_VARBIT_P(1);
  PG_RETURN_FLOAT8(static_cast<double>(Counts(a, b).a_xor_b));
}

// 1 - |a AND b| / |a OR b|; 1 when no bit is set in both (empty strings
// included).
VECGO_FUNCTION(jaccard_distance) {
  VarBit* a = PG_GETARG_VARBIT_P(0);
  VarBit* b = PG_GETARG_VARBIT_P(1);
  const auto c = Counts(a, b);
  if (c.a_and_b == 0) PG_RETURN_FLOAT8(1.0);
  PG_RETURN_FLOAT8(1.0 - static_cast<double>(c.a_and_b) / static_cast<double>(c.a + c.b - c.a_and_b));
}
