// Runtime-dispatched distance kernels.
//
// One translation unit per instruction set (src/core/simd/<level>.cpp), each
// compiled with its own flags, fills a Kernels table. The best level the CPU
// supports is chosen once, at load (or a lower one forced through the
// VECGO_SIMD environment variable: scalar, sse4.2, avx2, avx512, neon).
// Nothing in a header reads dispatch state at include time.
#pragma once

#include "vecgo/core.h"

namespace vecgo::simd {

enum class Level : std::uint8_t { Scalar = 0, SSE42 = 1, AVX2 = 2, AVX512 = 3, NEON = 4 };

struct Kernels {
  Level level;
  const char* name;  // "scalar", "sse4.2", "avx2", "avx512", "neon"

  // ---- float32 vectors, n >= 0 elements, no alignment required ----
  float (*l2sq)(const float* a, const float* b, std::size_t n);  // sum (a-b)^2
  float (*dot)(const float* a, const float* b, std::size_t n);   // sum a*b
  float (*l1)(const float* a, const float* b, std::size_t n);    // sum |a-b|
  // out[0] = sum a*b, out[1] = sum a*a, out[2] = sum b*b (one pass; cosine)
  void (*dot_norms)(const float* a, const float* b, std::size_t n, float out[3]);

  // ---- SQ8: one byte per dimension, value = base[i] + step[i] * code[i] ----
  float (*sq8_l2sq)(const std::uint8_t* code, const float* q, const float* base,
                    const float* step, std::size_t n);
  float (*sq8_dot)(const std::uint8_t* code, const float* q, const float* base,
                   const float* step, std::size_t n);
  float (*sq8_l1)(const std::uint8_t* code, const float* q, const float* base,
                  const float* step, std::size_t n);
  // sum w[i] * code[i]: the dot product with a query folded into the
  // code's scale ahead of time (w = q * step; q . base is a constant), one
  // multiply-add per dimension where sq8_dot decodes first
  float (*sq8_wsum)(const std::uint8_t* code, const float* w, std::size_t n);

  // ---- INT4: two dims per byte (dim 2j in the low nibble, 2j+1 in the high
  // nibble), value = base[i] + step[i] * nibble ----
  float (*int4_l2sq)(const std::uint8_t* code, const float* q, const float* base,
                     const float* step, std::size_t n);
  float (*int4_dot)(const std::uint8_t* code, const float* q, const float* base,
                    const float* step, std::size_t n);
  float (*int4_l1)(const std::uint8_t* code, const float* q, const float* base,
                   const float* step, std::size_t n);
  // out[k] = sum over bytes b < nbytes of lo(b) * w[b] + hi(b) * w[nbytes + b],
  // lo(b) and hi(b) the nibbles of byte b of codes + ids[k] * stride, k <
  // count: a query rounded to int8 (w: the weights of the low nibbles, the
  // even dimensions, then of the high ones) against the neighbours of one
  // graph node. Exact in integers, so every level returns the same. nbytes
  // is a multiple of 16; every code is read for nbytes bytes.
  void (*int4_s8_dot_batch)(const std::uint8_t* codes, std::size_t stride, const std::uint32_t* ids,
                            std::size_t count, const std::int8_t* w, std::size_t nbytes, std::int32_t* out);

  // ---- PQ asymmetric distance: sum over m subspaces of lut[j*256 + code[j]] ----
  float (*pq_adc)(const std::uint8_t* code, const float* lut, std::size_t m);

  // ---- binary codes: popcount(a ^ b) over `words` 64-bit words ----
  std::uint32_t (*hamming)(const std::uint64_t* a, const std::uint64_t* b, std::size_t words);

  // ---- IEEE 754 binary16 ("half") values, held as their 16-bit patterns ----
  // Conversions of n >= 0 values. Half to float is exact. Float to half rounds
  // to nearest, ties to even; a finite float beyond the half range becomes
  // infinity, and a NaN stays a NaN (quieted, its top payload bits kept).
  // Every level produces the same bits as the F16C instructions.
  void (*f16_to_f32)(const std::uint16_t* in, float* out, std::size_t n);
  void (*f32_to_f16)(const float* in, std::uint16_t* out, std::size_t n);
  // The float kernels above over two half arrays: each element is widened
  // to float and accumulated in float.
  float (*f16_l2sq)(const std::uint16_t* a, const std::uint16_t* b, std::size_t n);
  float (*f16_dot)(const std::uint16_t* a, const std::uint16_t* b, std::size_t n);
  float (*f16_l1)(const std::uint16_t* a, const std::uint16_t* b, std::size_t n);
  void (*f16_dot_norms)(const std::uint16_t* a, const std::uint16_t* b, std::size_t n,
                        float out[3]);
};

// The table in use (selected on first call; thread-safe).
const Kernels& active();

// A table for a given level, or nullptr when this build or this CPU lacks it.
const Kernels* for_level(Level level);

// The best level this CPU and this build support.
Level best_supported();

// Forces the active level (tests, benchmarks). Returns false when unsupported.
bool force(Level level);

// Parses "scalar", "sse4.2", "avx2", "avx512", "neon"; returns false if unknown.
bool parse_level(const char* name, Level* out);
const char* level_name(Level level);

// Per-level table getters, defined in the per-ISA translation units.
const Kernels* kernels_scalar();
const Kernels* kernels_sse42();   // nullptr unless built for x86-64
const Kernels* kernels_avx2();
const Kernels* kernels_avx512();
const Kernels* kernels_neon();    // nullptr unless built for arm64

}  // namespace vecgo::simd
