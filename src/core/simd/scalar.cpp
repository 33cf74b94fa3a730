// Portable scalar kernels: the reference every other level is tested against,
// and the path used by `make NOASM=1` or when the CPU has nothing better.
#include <cmath>

#include "vecgo/simd.h"

namespace vecgo::simd {
namespace {

float L2sq(const float* a, const float* b, std::size_t n) {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; i++) {
    float d = a[i] - b[i];
    s += d * d;
  }
  return s;
}

float Dot(const float* a, const float* b, std::size_t n) {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; i++) s += a[i] * b[i];
  return s;
}

float L1(const float* a, const float* b, std::size_t n) {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; i++) s += std::fabs(a[i] - b[i]);
  return s;
}

void DotNorms(const float* a, const float* b, std::size_t n, float out[3]) {
  float d = 0.0f, na = 0.0f, nb = 0.0f;
  for (std::size_t i = 0; i < n; i++) {
    d += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  out[0] = d;
  out[1] = na;
  out[2] = nb;
}

float Sq8L2sq(const std::uint8_t* code, const float* q, const float* base, const float* step,
              std::size_t n) {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; i++) {
    float d = base[i] + step[i] * static_cast<float>(code[i]) - q[i];
    s += d * d;
  }
  return s;
}

float Sq8Dot(const std::uint8_t* code, const float* q, const float* base, const float* step,
             std::size_t n) {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; i++) s += (base[i] + step[i] * static_cast<float>(code[i])) * q[i];
  return s;
}

float Sq8L1(const std::uint8_t* code, const float* q, const float* base, const float* step,
            std::size_t n) {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; i++)
    s += std::fabs(base[i] + step[i] * static_cast<float>(code[i]) - q[i]);
  return s;
}

inline float Nibble(const std::uint8_t* code, std::size_t i) {
  std::uint8_t b = code[i >> 1];
  return static_cast<float>((i & 1) ? (b >> 4) : (b & 0x0F));
}

float Int4L2sq(const std::uint8_t* code, const float* q, const float* base, const float* step,
               std::size_t n) {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; i++) {
    float d = base[i] + step[i] * Nibble(code, i) - q[i];
    s += d * d;
  }
  return s;
}

float Int4Dot(const std::uint8_t* code, const float* q, const float* base, const float* step,
              std::size_t n) {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; i++) s += (base[i] + step[i] * Nibble(code, i)) * q[i];
  return s;
}

float Int4L1(const std::uint8_t* code, const float* q, const float* base, const float* step,
             std::size_t n) {
  float s = 0.0f;
  for (std::size_t i = 0; i < n; i++) s += std::fabs(base[i] + step[i] * Nibble(code, i) - q[i]);
  return s;
}

float PqAdc(const std::uint8_t* code, const float* lut, std::size_t m) {
  float s = 0.0f;
  for (std::size_t j = 0; j < m; j++) s += lut[j * 256 + code[j]];
  return s;
}

std::uint32_t Hamming(const std::uint64_t* a, const std::uint64_t* b, std::size_t words) {
  std::uint32_t c = 0;
  for (std::size_t i = 0; i < words; i++) {
    std::uint64_t x = a[i] ^ b[i];
    while (x) {  // no popcnt instruction assumed in the baseline
      x &= x - 1;
      c++;
    }
  }
  return c;
}

const Kernels kTable = {Level::Scalar, "scalar", L2sq,    Dot,     L1,       DotNorms, Sq8L2sq,
                        Sq8Dot,        Sq8L1,    Int4L2sq, Int4Dot, Int4L1, PqAdc,    Hamming};

}  // namespace

const Kernels* kernels_scalar() { return &kTable; }

}  // namespace vecgo::simd
