// Every distance kernel, at every SIMD level this CPU and build support,
// held against a double-precision reference; plus the dispatch rules.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "vecgo/simd.h"

namespace vecgo::simd {
namespace {

constexpr double kRelTol = 1e-5;

const Level kAllLevels[] = {Level::Scalar, Level::SSE42, Level::AVX2, Level::AVX512, Level::NEON};

std::vector<const Kernels*> AvailableTables() {
  std::vector<const Kernels*> out;
  for (Level l : kAllLevels)
    if (const Kernels* k = for_level(l)) out.push_back(k);
  return out;
}

// Dimensions for the float kernels: all of 1..1100 (every tail length at every
// unroll depth, several accumulation blocks) and a few large ones.
std::vector<std::size_t> FloatDims() {
  std::vector<std::size_t> dims;
  for (std::size_t n = 1; n <= 1100; n++) dims.push_back(n);
  for (std::size_t n : {2048, 4096, 16000}) dims.push_back(n);
  return dims;
}

// A representative set for the quantized kernels: every small size (all
// tails), the usual embedding sizes and block boundaries.
std::vector<std::size_t> QuantDims() {
  std::vector<std::size_t> dims;
  for (std::size_t n = 1; n <= 160; n++) dims.push_back(n);
  for (std::size_t n : {255, 256, 257, 383, 384, 385, 767, 768, 769, 1023, 1024, 1025, 1536, 2047,
                        2048, 3071, 4096, 16000})
    dims.push_back(n);
  return dims;
}

// 64-byte aligned storage; at(1) is the same memory one float off.
template <class T>
class AlignedBuf {
 public:
  explicit AlignedBuf(std::size_t n) : storage_(n + 64 / sizeof(T) + 1) {
    auto p = reinterpret_cast<std::uintptr_t>(storage_.data());
    base_ = reinterpret_cast<T*>((p + 63) & ~std::uintptr_t{63});
  }
  T* at(std::size_t offset) { return base_ + offset; }

 private:
  std::vector<T> storage_;
  T* base_;
};

std::vector<float> RandomFloats(std::size_t n, std::mt19937& rng, float lo = -1.0f,
                                float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

// Reports at most a few failures per test, so a broken kernel cannot flood
// the log with thousands of lines.
class Checker {
 public:
  // |got - ref| <= kRelTol * scale, where scale is the magnitude the result is
  // judged against.
  void Close(double got, double ref, double scale, const char* kernel, const Kernels& k,
             std::size_t n, std::size_t offset) {
    checks_++;
    double err = std::fabs(got - ref);
    if (err <= kRelTol * scale || (scale == 0.0 && got == 0.0)) return;
    if (++failures_ <= 10)
      ADD_FAILURE() << kernel << " at " << k.name << ", n=" << n << ", offset=" << offset
                    << ": got " << got << ", want " << ref << ", relative error " << err / scale;
  }
  std::size_t checks() const { return checks_; }

 private:
  std::size_t checks_ = 0;
  std::size_t failures_ = 0;
};

// ---------------------------------------------------------------- float

struct FloatRef {
  double l2 = 0, dot = 0, abs_dot = 0, l1 = 0, na = 0, nb = 0;
};

FloatRef ReferenceFloat(const float* a, const float* b, std::size_t n) {
  FloatRef r;
  for (std::size_t i = 0; i < n; i++) {
    double x = a[i], y = b[i];
    r.l2 += (x - y) * (x - y);
    r.dot += x * y;
    r.abs_dot += std::fabs(x * y);
    r.l1 += std::fabs(x - y);
    r.na += x * x;
    r.nb += y * y;
  }
  return r;
}

void CheckFloatKernels(const Kernels& k, const float* a, const float* b, std::size_t n,
                       std::size_t offset, const FloatRef& r, Checker& c) {
  c.Close(k.l2sq(a, b, n), r.l2, r.l2, "l2sq", k, n, offset);
  // A dot product can cancel to near zero; its error is judged relative to
  // sum |a_i * b_i|, the magnitude the rounding errors scale with.
  c.Close(k.dot(a, b, n), r.dot, r.abs_dot, "dot", k, n, offset);
  c.Close(k.l1(a, b, n), r.l1, r.l1, "l1", k, n, offset);
  float out[3] = {-1, -1, -1};
  k.dot_norms(a, b, n, out);
  c.Close(out[0], r.dot, r.abs_dot, "dot_norms.dot", k, n, offset);
  c.Close(out[1], r.na, r.na, "dot_norms.a", k, n, offset);
  c.Close(out[2], r.nb, r.nb, "dot_norms.b", k, n, offset);
}

TEST(KernelFloat, AllLevelsAllDimsAlignedAndUnaligned) {
  std::mt19937 rng(20240501);
  const std::size_t max_n = 16000;
  AlignedBuf<float> a(max_n + 1), b(max_n + 1);
  std::vector<float> va = RandomFloats(max_n + 1, rng), vb = RandomFloats(max_n + 1, rng);
  // Offsets: both aligned; both one float off; one of each.
  const std::size_t offsets[][2] = {{0, 0}, {1, 1}, {0, 1}};
  auto tables = AvailableTables();
  Checker c;
  for (const auto& off : offsets) {
    float* pa = a.at(off[0]);
    float* pb = b.at(off[1]);
    std::memcpy(pa, va.data(), max_n * sizeof(float));
    std::memcpy(pb, vb.data(), max_n * sizeof(float));
    for (std::size_t n : FloatDims()) {
      FloatRef r = ReferenceFloat(pa, pb, n);
      for (const Kernels* k : tables) CheckFloatKernels(*k, pa, pb, n, off[0] * 10 + off[1], r, c);
    }
  }
  EXPECT_GT(c.checks(), 0u);
}

// Magnitudes spread over many orders, and sign patterns that make the dot
// product cancel: the relative-error contract must still hold.
TEST(KernelFloat, WideDynamicRangeAndCancellation) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mant(0.5f, 1.0f);
  std::uniform_int_distribution<int> expo(-20, 20);
  const std::size_t max_n = 4096;
  AlignedBuf<float> a(max_n + 1), b(max_n + 1);
  Checker c;
  for (std::size_t n : {1, 3, 17, 100, 333, 768, 1024, 1031, 4096}) {
    for (std::size_t i = 0; i < n; i++) {
      a.at(1)[i] = std::ldexp(mant(rng), expo(rng)) * ((i & 1) ? -1.0f : 1.0f);
      b.at(1)[i] = std::ldexp(mant(rng), expo(rng));
    }
    FloatRef r = ReferenceFloat(a.at(1), b.at(1), n);
    for (const Kernels* k : AvailableTables()) CheckFloatKernels(*k, a.at(1), b.at(1), n, 1, r, c);
  }
}

TEST(KernelFloat, EmptyAndIdenticalVectors) {
  std::mt19937 rng(3);
  std::vector<float> v = RandomFloats(1000, rng);
  for (const Kernels* k : AvailableTables()) {
    SCOPED_TRACE(k->name);
    float out[3] = {-1, -1, -1};
    EXPECT_EQ(k->l2sq(v.data(), v.data(), 0), 0.0f);
    EXPECT_EQ(k->dot(v.data(), v.data(), 0), 0.0f);
    EXPECT_EQ(k->l1(v.data(), v.data(), 0), 0.0f);
    k->dot_norms(v.data(), v.data(), 0, out);
    EXPECT_EQ(out[0], 0.0f);
    EXPECT_EQ(out[1], 0.0f);
    EXPECT_EQ(out[2], 0.0f);
    for (std::size_t n : {1, 7, 16, 33, 1000}) {
      EXPECT_EQ(k->l2sq(v.data(), v.data(), n), 0.0f) << n;
      EXPECT_EQ(k->l1(v.data(), v.data(), n), 0.0f) << n;
    }
  }
}

// ---------------------------------------------------------------- quantized

struct QuantData {
  std::vector<std::uint8_t> sq8, int4;
  std::vector<float> q, base, step;
};

QuantData RandomQuant(std::size_t n, std::mt19937& rng) {
  QuantData d;
  std::uniform_int_distribution<int> byte(0, 255);
  d.sq8.resize(n);
  for (auto& x : d.sq8) x = static_cast<std::uint8_t>(byte(rng));
  // Unused high nibble of an odd-length code is random too: kernels must
  // ignore it.
  d.int4.resize((n + 1) / 2);
  for (auto& x : d.int4) x = static_cast<std::uint8_t>(byte(rng));
  d.q = RandomFloats(n, rng);
  d.base = RandomFloats(n, rng, -1.0f, 0.0f);
  d.step = RandomFloats(n, rng, 0.001f, 0.01f);
  return d;
}

struct QuantRef {
  double l2 = 0, dot = 0, abs_dot = 0, l1 = 0;
};

template <class Decode>
QuantRef ReferenceQuant(const QuantData& d, std::size_t n, Decode value) {
  QuantRef r;
  for (std::size_t i = 0; i < n; i++) {
    double x = value(i), y = d.q[i];
    r.l2 += (x - y) * (x - y);
    r.dot += x * y;
    r.abs_dot += std::fabs(x * y);
    r.l1 += std::fabs(x - y);
  }
  return r;
}

TEST(KernelQuantized, Sq8AndInt4AllLevels) {
  std::mt19937 rng(11);
  const std::size_t max_n = 16000;
  QuantData d = RandomQuant(max_n, rng);
  auto tables = AvailableTables();
  Checker c;
  for (std::size_t n : QuantDims()) {
    const float* q = d.q.data();
    const float* base = d.base.data();
    const float* step = d.step.data();
    QuantRef rs = ReferenceQuant(
        d, n, [&](std::size_t i) { return double(base[i]) + double(step[i]) * d.sq8[i]; });
    QuantRef ri = ReferenceQuant(d, n, [&](std::size_t i) {
      std::uint8_t b = d.int4[i / 2];
      return double(base[i]) + double(step[i]) * ((i & 1) ? (b >> 4) : (b & 15));
    });
    // sq8_wsum's weights: the query folded into the scale, as the
    // quantizer prepares them; sum w * code + q . base is sq8_dot.
    std::vector<float> w(n);
    double ws = 0, ws_abs = 0;
    for (std::size_t i = 0; i < n; i++) {
      w[i] = q[i] * step[i];
      ws += double(w[i]) * d.sq8[i];
      ws_abs += std::fabs(double(w[i]) * d.sq8[i]);
    }
    for (const Kernels* k : tables) {
      const std::uint8_t* s8 = d.sq8.data();
      const std::uint8_t* i4 = d.int4.data();
      c.Close(k->sq8_l2sq(s8, q, base, step, n), rs.l2, rs.l2, "sq8_l2sq", *k, n, 0);
      c.Close(k->sq8_dot(s8, q, base, step, n), rs.dot, rs.abs_dot, "sq8_dot", *k, n, 0);
      c.Close(k->sq8_l1(s8, q, base, step, n), rs.l1, rs.l1, "sq8_l1", *k, n, 0);
      c.Close(k->sq8_wsum(s8, w.data(), n), ws, ws_abs, "sq8_wsum", *k, n, 0);
      c.Close(k->int4_l2sq(i4, q, base, step, n), ri.l2, ri.l2, "int4_l2sq", *k, n, 0);
      c.Close(k->int4_dot(i4, q, base, step, n), ri.dot, ri.abs_dot, "int4_dot", *k, n, 0);
      c.Close(k->int4_l1(i4, q, base, step, n), ri.l1, ri.l1, "int4_l1", *k, n, 0);
    }
  }
  EXPECT_GT(c.checks(), 0u);
}

// int4_s8_dot_batch against an integer reference, for exact equality at
// every level: codes picked by id out of a strided array (the way a graph
// node's neighbours are scored), in any order, with repeats, for counts
// that leave every remainder, over every whole 16-byte length up to 256
// (the AVX-512 form's 16-, 32- and 48-byte masked tails included), with
// weights at both ends of int8 and codes of all fifteens (the largest
// 16-bit partial sums).
TEST(KernelQuantized, Int4S8DotBatchExactAllLevels) {
  std::mt19937 rng(29);
  std::uniform_int_distribution<int> byte(0, 255), weight(-128, 127);
  auto tables = AvailableTables();
  std::size_t checks = 0;
  for (std::size_t nbytes = 16; nbytes <= 256; nbytes += 16) {
    const std::size_t stride = nbytes + 5, rows = 11;
    for (int pattern = 0; pattern < 3; pattern++) {
      std::vector<std::uint8_t> codes(rows * stride);
      std::vector<std::int8_t> w(2 * nbytes);
      for (auto& x : codes) x = pattern == 0 ? static_cast<std::uint8_t>(byte(rng)) : 0xFF;
      for (auto& x : w) {
        x = static_cast<std::int8_t>(pattern == 0 ? weight(rng) : pattern == 1 ? -128 : 127);
      }
      for (std::size_t count : {0, 1, 3, 4, 5, 8, 9, 13}) {
        std::vector<std::uint32_t> ids(count);
        for (auto& id : ids) id = static_cast<std::uint32_t>(rng() % rows);
        for (const Kernels* k : tables) {
          std::vector<std::int32_t> out(count + 1, -7);
          k->int4_s8_dot_batch(codes.data(), stride, ids.data(), count, w.data(), nbytes, out.data());
          for (std::size_t j = 0; j < count; j++) {
            const std::uint8_t* code = codes.data() + ids[j] * stride;
            std::int64_t ref = 0;
            for (std::size_t b = 0; b < nbytes; b++) ref += (code[b] & 15) * w[b] + (code[b] >> 4) * w[nbytes + b];
            ASSERT_EQ(out[j], ref) << k->name << " nbytes " << nbytes << " code " << j;
            checks++;
          }
          EXPECT_EQ(out[count], -7) << "int4_s8_dot_batch wrote past out[count] at " << k->name;
        }
      }
    }
  }
  EXPECT_GT(checks, 0u);
}

TEST(KernelQuantized, PqAdcAllLevels) {
  std::mt19937 rng(13);
  const std::size_t max_m = 256;
  std::vector<float> lut = RandomFloats(max_m * 256, rng, 0.0f, 4.0f);
  std::vector<std::uint8_t> code(max_m);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& x : code) x = static_cast<std::uint8_t>(byte(rng));
  Checker c;
  for (std::size_t m = 0; m <= max_m; m++) {
    double ref = 0, scale = 0;
    for (std::size_t j = 0; j < m; j++) {
      ref += lut[j * 256 + code[j]];
      scale += std::fabs(lut[j * 256 + code[j]]);
    }
    for (const Kernels* k : AvailableTables())
      c.Close(k->pq_adc(code.data(), lut.data(), m), ref, scale, "pq_adc", *k, m, 0);
  }
}

TEST(KernelQuantized, HammingAllLevels) {
  std::mt19937_64 rng(17);
  const std::size_t max_words = 300;
  std::vector<std::uint64_t> a(max_words), b(max_words);
  for (auto& x : a) x = rng();
  for (auto& x : b) x = rng();
  b[5] = ~a[5];  // a word with all 64 bits different
  b[6] = a[6];   // and one with none
  for (std::size_t words = 0; words <= max_words; words++) {
    std::uint32_t ref = 0;
    for (std::size_t i = 0; i < words; i++)
      for (int bit = 0; bit < 64; bit++) ref += ((a[i] ^ b[i]) >> bit) & 1;
    for (const Kernels* k : AvailableTables())
      ASSERT_EQ(k->hamming(a.data(), b.data(), words), ref) << k->name << ", words=" << words;
  }
}

// ---------------------------------------------------------------- half

std::uint32_t FloatBits(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

float BitsFloat(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// A half's value computed independently of the kernels: (-1)^s * 2^(e-15) *
// 1.m, or m * 2^-24 for subnormals. Not defined for NaN.
double HalfValue(std::uint16_t h) {
  int e = (h >> 10) & 0x1F, m = h & 0x3FF;
  double v = e == 0 ? std::ldexp(m, -24) : e == 31 ? HUGE_VAL : std::ldexp(1024 + m, e - 25);
  return (h & 0x8000) ? -v : v;
}

// Round-to-nearest-even by search: the non-negative half patterns 0x0000 ..
// 0x7C00 increase with their values, and 0x7C00 stands for 65536 (the next
// step after 65504), so that a value from 65520 up rounds to infinity.
std::uint16_t ReferenceFloatToHalf(float f) {
  double a = std::fabs(static_cast<double>(f));
  std::uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  auto value = [](std::uint16_t h) { return h == 0x7C00 ? 65536.0 : HalfValue(h); };
  if (a >= 65536.0) return sign | 0x7C00;
  std::uint16_t lo = 0, hi = 0x7C00;  // value(lo) <= a < value(hi)
  while (hi - lo > 1) {
    std::uint16_t mid = static_cast<std::uint16_t>((lo + hi) / 2);
    (value(mid) <= a ? lo : hi) = mid;
  }
  double dlo = a - value(lo), dhi = value(hi) - a;
  std::uint16_t r = (dlo < dhi || (dlo == dhi && (lo & 1) == 0)) ? lo : hi;
  return sign | r;
}

std::uint16_t ToHalf(const Kernels& k, float f) {
  std::uint16_t h;
  k.f32_to_f16(&f, &h, 1);
  return h;
}

float ToFloat(const Kernels& k, std::uint16_t h) {
  float f;
  k.f16_to_f32(&h, &f, 1);
  return f;
}

TEST(KernelHalf, ConversionEdgeCasesAllLevels) {
  struct ToHalfCase {
    float in;
    std::uint16_t out;
    const char* what;
  };
  const float tie_up = 1.0f + std::ldexp(1.0f, -11);       // halfway 1 .. 1+2^-10
  const float tie_up2 = 1.0f + 3 * std::ldexp(1.0f, -11);  // halfway 0x3C01 .. 0x3C02
  const ToHalfCase cases[] = {
      {0.0f, 0x0000, "zero"},
      {-0.0f, 0x8000, "negative zero"},
      {1.0f, 0x3C00, "one"},
      {-2.0f, 0xC000, "minus two"},
      {0.5f, 0x3800, "half"},
      {65504.0f, 0x7BFF, "largest half"},
      {65519.996f, 0x7BFF, "just below the overflow threshold"},
      {65520.0f, 0x7C00, "overflow threshold: a tie, to even, which is infinity"},
      {-65520.0f, 0xFC00, "negative overflow threshold"},
      {100000.0f, 0x7C00, "overflow"},
      {3.4028235e38f, 0x7C00, "largest float"},
      {-3.4028235e38f, 0xFC00, "most negative float"},
      {HUGE_VALF, 0x7C00, "infinity"},
      {-HUGE_VALF, 0xFC00, "negative infinity"},
      {tie_up, 0x3C00, "tie, down to even"},
      {tie_up2, 0x3C02, "tie, up to even"},
      {std::nextafter(tie_up, 2.0f), 0x3C01, "just above a tie"},
      {std::nextafter(tie_up2, 0.0f), 0x3C01, "just below a tie"},
      {std::ldexp(1.0f, -14), 0x0400, "smallest normal half"},
      {std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25), 0x0400,
       "tie between the largest subnormal and the smallest normal"},
      {std::ldexp(1023.0f, -24), 0x03FF, "largest subnormal half"},
      {std::ldexp(1.0f, -24), 0x0001, "smallest subnormal half"},
      {-std::ldexp(1.0f, -24), 0x8001, "negative smallest subnormal"},
      {std::ldexp(1.0f, -25), 0x0000, "tie between zero and the smallest subnormal"},
      {std::nextafter(std::ldexp(1.0f, -25), 1.0f), 0x0001, "just above that tie"},
      {std::ldexp(3.0f, -25), 0x0002, "subnormal tie, up to even"},
      {std::ldexp(5.0f, -25), 0x0002, "subnormal tie, down to even"},
      {std::ldexp(1.0f, -26), 0x0000, "underflow to zero"},
      {-std::ldexp(1.0f, -26), 0x8000, "underflow to negative zero"},
      {1e-45f, 0x0000, "float subnormal"},
      {-1e-45f, 0x8000, "negative float subnormal"},
      {BitsFloat(0x7FC00000), 0x7E00, "quiet NaN"},
      {BitsFloat(0x7F800001), 0x7E00, "signalling NaN, payload below half precision"},
      {BitsFloat(0xFF800001), 0xFE00, "negative signalling NaN"},
      {BitsFloat(0x7FC02000), 0x7E01, "NaN payload kept"},
      {BitsFloat(0x7FFFFFFF), 0x7FFF, "NaN, all payload bits"},
  };
  struct ToFloatCase {
    std::uint16_t in;
    std::uint32_t out;
  };
  const ToFloatCase back[] = {
      {0x0000, 0x00000000}, {0x8000, 0x80000000}, {0x3C00, 0x3F800000}, {0x7BFF, 0x477FE000},
      {0x0400, 0x38800000}, {0x03FF, 0x387FC000}, {0x0001, 0x33800000}, {0x8001, 0xB3800000},
      {0x7C00, 0x7F800000}, {0xFC00, 0xFF800000}, {0x7C01, 0x7FC02000}, {0xFC01, 0xFFC02000},
      {0x7DFF, 0x7FFFE000}, {0x7E00, 0x7FC00000}, {0x7FFF, 0x7FFFE000}, {0x3555, 0x3EAAA000},
  };
  for (const Kernels* k : AvailableTables()) {
    SCOPED_TRACE(k->name);
    for (const auto& c : cases) EXPECT_EQ(ToHalf(*k, c.in), c.out) << c.what << " (" << c.in << ")";
    for (const auto& c : back) EXPECT_EQ(FloatBits(ToFloat(*k, c.in)), c.out) << std::hex << c.in;
  }
}

// Every half widens exactly and narrows back to itself (a NaN comes back
// quiet), at every level and in every position of a batch.
TEST(KernelHalf, EveryHalfRoundTripsAllLevels) {
  std::vector<std::uint16_t> all(65536), back(65536);
  std::vector<float> wide(65536), ref(65536);
  for (std::size_t i = 0; i < all.size(); i++) all[i] = static_cast<std::uint16_t>(i);
  for (std::size_t i = 0; i < all.size(); i++) {
    std::uint16_t h = all[i];
    bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
    if (!nan) ref[i] = static_cast<float>(HalfValue(h));
  }
  for (const Kernels* k : AvailableTables()) {
    SCOPED_TRACE(k->name);
    // Odd lengths and offsets: whole batches and tails both see every value.
    for (std::size_t off : {0, 1, 7}) {
      std::size_t n = all.size() - off;
      k->f16_to_f32(all.data() + off, wide.data(), n);
      k->f32_to_f16(wide.data(), back.data(), n);
      std::size_t bad = 0;
      for (std::size_t j = 0; j < n && bad < 10; j++) {
        std::uint16_t h = all[off + j];
        bool nan = (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0;
        if (nan) {
          if (!std::isnan(wide[j]) || back[j] != (h | 0x0200)) {
            ADD_FAILURE() << "NaN " << std::hex << h << " came back as " << back[j];
            bad++;
          }
        } else if (FloatBits(wide[j]) != FloatBits(ref[off + j]) || back[j] != h) {
          ADD_FAILURE() << std::hex << h << " -> " << wide[j] << " -> " << back[j];
          bad++;
        }
      }
    }
  }
}

// Float to half against the search-based reference (scalar) and every level
// against scalar: floats spread over the whole bit space, and for every half
// the floats around it and around the midpoints next to it.
TEST(KernelHalf, RoundingMatchesReferenceAllLevels) {
  std::vector<float> in;
  for (std::uint64_t u = 0; u <= 0xFFFFFFFFull; u += 4093)
    in.push_back(BitsFloat(static_cast<std::uint32_t>(u)));
  for (std::uint32_t h = 0; h < 0x7C00; h++) {
    double v = HalfValue(static_cast<std::uint16_t>(h));
    double next = h + 1 == 0x7C00 ? 65536.0 : HalfValue(static_cast<std::uint16_t>(h + 1));
    for (double x : {v, (v + next) / 2}) {
      float f = static_cast<float>(x);  // exact: a half midpoint needs 12 bits
      for (float g : {f, std::nextafter(f, 0.0f), std::nextafter(f, HUGE_VALF)}) {
        in.push_back(g);
        in.push_back(-g);
      }
    }
  }
  const Kernels* scalar = for_level(Level::Scalar);
  std::vector<std::uint16_t> want(in.size()), got(in.size());
  scalar->f32_to_f16(in.data(), want.data(), in.size());
  std::size_t bad = 0;
  for (std::size_t i = 0; i < in.size() && bad < 10; i++) {
    if (std::isnan(in[i])) continue;  // NaNs: the edge-case test
    if (want[i] != ReferenceFloatToHalf(in[i])) {
      ADD_FAILURE() << "scalar: " << in[i] << " (" << std::hex << FloatBits(in[i]) << ") -> "
                    << want[i] << ", want " << ReferenceFloatToHalf(in[i]);
      bad++;
    }
  }
  for (const Kernels* k : AvailableTables()) {
    k->f32_to_f16(in.data(), got.data(), in.size());
    for (std::size_t i = 0; i < in.size() && bad < 10; i++) {
      if (got[i] != want[i]) {
        ADD_FAILURE() << k->name << ": " << std::hex << FloatBits(in[i]) << " -> " << got[i]
                      << ", scalar " << want[i];
        bad++;
      }
    }
  }
}

std::vector<std::uint16_t> RandomHalves(std::size_t n, std::mt19937& rng, float lo = -1.0f,
                                        float hi = 1.0f) {
  std::vector<float> f = RandomFloats(n, rng, lo, hi);
  std::vector<std::uint16_t> h(n);
  for_level(Level::Scalar)->f32_to_f16(f.data(), h.data(), n);
  return h;
}

FloatRef ReferenceHalf(const std::uint16_t* a, const std::uint16_t* b, std::size_t n) {
  std::vector<float> fa(n), fb(n);
  for (std::size_t i = 0; i < n; i++) {
    fa[i] = static_cast<float>(HalfValue(a[i]));
    fb[i] = static_cast<float>(HalfValue(b[i]));
  }
  return ReferenceFloat(fa.data(), fb.data(), n);
}

void CheckHalfKernels(const Kernels& k, const std::uint16_t* a, const std::uint16_t* b,
                      std::size_t n, std::size_t offset, const FloatRef& r, Checker& c) {
  c.Close(k.f16_l2sq(a, b, n), r.l2, r.l2, "f16_l2sq", k, n, offset);
  c.Close(k.f16_dot(a, b, n), r.dot, r.abs_dot, "f16_dot", k, n, offset);
  c.Close(k.f16_l1(a, b, n), r.l1, r.l1, "f16_l1", k, n, offset);
  float out[3] = {-1, -1, -1};
  k.f16_dot_norms(a, b, n, out);
  c.Close(out[0], r.dot, r.abs_dot, "f16_dot_norms.dot", k, n, offset);
  c.Close(out[1], r.na, r.na, "f16_dot_norms.a", k, n, offset);
  c.Close(out[2], r.nb, r.nb, "f16_dot_norms.b", k, n, offset);
}

TEST(KernelHalf, DistancesAllLevelsAlignedAndUnaligned) {
  std::mt19937 rng(16);
  const std::size_t max_n = 16000;
  AlignedBuf<std::uint16_t> a(max_n + 1), b(max_n + 1);
  std::vector<std::uint16_t> va = RandomHalves(max_n, rng), vb = RandomHalves(max_n, rng);
  const std::size_t offsets[][2] = {{0, 0}, {1, 1}, {0, 1}};
  Checker c;
  for (const auto& off : offsets) {
    std::uint16_t* pa = a.at(off[0]);
    std::uint16_t* pb = b.at(off[1]);
    std::memcpy(pa, va.data(), max_n * sizeof(std::uint16_t));
    std::memcpy(pb, vb.data(), max_n * sizeof(std::uint16_t));
    for (std::size_t n : QuantDims()) {
      FloatRef r = ReferenceHalf(pa, pb, n);
      for (const Kernels* k : AvailableTables())
        CheckHalfKernels(*k, pa, pb, n, off[0] * 10 + off[1], r, c);
    }
  }
  EXPECT_GT(c.checks(), 0u);
}

// The whole half range, subnormals included, and identical inputs.
TEST(KernelHalf, DistancesWideRangeAndSpecialValues) {
  std::mt19937 rng(61);
  std::uniform_int_distribution<int> pattern(0, 0x7BFF);
  std::uniform_int_distribution<int> sub(0, 0x03FF);
  Checker c;
  for (std::size_t n : {1, 5, 16, 33, 100, 768, 1025}) {
    std::vector<std::uint16_t> a(n), b(n);
    for (std::size_t i = 0; i < n; i++) {
      // Magnitudes up to 2^8 keep float sums well inside range.
      a[i] = static_cast<std::uint16_t>(std::min(pattern(rng), 0x5BFF) | ((i & 1) ? 0x8000 : 0));
      b[i] = static_cast<std::uint16_t>((i % 3 == 0) ? sub(rng) : std::min(pattern(rng), 0x5BFF));
    }
    FloatRef r = ReferenceHalf(a.data(), b.data(), n);
    FloatRef same = ReferenceHalf(a.data(), a.data(), n);
    for (const Kernels* k : AvailableTables()) {
      CheckHalfKernels(*k, a.data(), b.data(), n, 0, r, c);
      CheckHalfKernels(*k, a.data(), a.data(), n, 0, same, c);
      EXPECT_EQ(k->f16_l2sq(a.data(), a.data(), n), 0.0f) << k->name;
      EXPECT_EQ(k->f16_l1(a.data(), a.data(), n), 0.0f) << k->name;
    }
  }
  for (const Kernels* k : AvailableTables()) {
    EXPECT_EQ(k->f16_l2sq(nullptr, nullptr, 0), 0.0f) << k->name;
    EXPECT_EQ(k->f16_dot(nullptr, nullptr, 0), 0.0f) << k->name;
    // An infinity or a NaN in the input shows in the result.
    const std::uint16_t x[3] = {0x3C00, 0x7C00, 0x3C00}, y[3] = {0x3C00, 0x3C00, 0x7E00};
    EXPECT_TRUE(std::isinf(k->f16_l1(x, x + 1, 1))) << k->name;
    EXPECT_TRUE(std::isnan(k->f16_dot(x, y, 3))) << k->name;
  }
}

// ---------------------------------------------------------------- bounds

// Memory whose last byte is followed by an inaccessible page: a kernel that
// reads one byte past its input faults here instead of passing silently.
class GuardedPage {
 public:
  explicit GuardedPage(std::size_t bytes = 64 * 1024) {
    page_ = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    size_ = (bytes + page_ - 1) / page_ * page_;
    void* p =
        mmap(nullptr, size_ + page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) std::abort();
    mem_ = static_cast<char*>(p);
    if (mprotect(mem_ + size_, page_, PROT_NONE) != 0) std::abort();
  }
  ~GuardedPage() { munmap(mem_, size_ + page_); }
  GuardedPage(const GuardedPage&) = delete;
  GuardedPage& operator=(const GuardedPage&) = delete;

  // A copy of src placed so that its last element ends at the guard page.
  template <class T>
  T* AtEnd(const T* src, std::size_t count) {
    if (count * sizeof(T) > size_) std::abort();
    T* dst = reinterpret_cast<T*>(mem_ + size_) - count;
    std::memcpy(dst, src, count * sizeof(T));
    return dst;
  }

 private:
  std::size_t page_, size_;
  char* mem_;
};

TEST(KernelBounds, NoReadPastTheEnd) {
  std::mt19937 rng(19);
  const std::size_t max_n = 200;
  std::vector<float> va = RandomFloats(max_n, rng), vb = RandomFloats(max_n, rng);
  QuantData d = RandomQuant(max_n, rng);
  std::vector<float> lut = RandomFloats(max_n * 256, rng, 0.0f, 1.0f);
  std::vector<std::uint64_t> words(max_n, 0x0123456789ABCDEFULL);
  // One guarded region per input, so every input ends at a guard page.
  std::vector<std::uint16_t> ha = RandomHalves(max_n, rng), hb = RandomHalves(max_n, rng);
  std::vector<float> wide(max_n);
  std::vector<std::uint16_t> narrow(max_n);
  GuardedPage ga, gb, gq, gbase, gstep, gcode, gw1, gw2, glut(max_n * 256 * sizeof(float));
  GuardedPage gh1, gh2, gout;
  volatile float sink = 0;
  for (const Kernels* k : AvailableTables()) {
    SCOPED_TRACE(k->name);
    for (std::size_t n = 1; n <= max_n; n++) {
      const float* a = ga.AtEnd(va.data(), n);
      const float* b = gb.AtEnd(vb.data(), n);
      const float* q = gq.AtEnd(d.q.data(), n);
      const float* base = gbase.AtEnd(d.base.data(), n);
      const float* step = gstep.AtEnd(d.step.data(), n);
      float out[3];
      sink = sink + k->l2sq(a, b, n) + k->dot(a, b, n) + k->l1(a, b, n);
      k->dot_norms(a, b, n, out);
      const std::uint8_t* s8 = gcode.AtEnd(d.sq8.data(), n);
      sink = sink + k->sq8_l2sq(s8, q, base, step, n) + k->sq8_dot(s8, q, base, step, n) +
             k->sq8_l1(s8, q, base, step, n) + k->sq8_wsum(s8, q, n);
      // Five 4-bit codes of whole 16-byte steps back to back, the last
      // one ending at the guard page, scored in an order that ends with it;
      // the weights end at a guard page too.
      const std::size_t h = ((n + 1) / 2 + 15) & ~std::size_t(15);
      std::vector<std::uint8_t> five(5 * h);
      for (std::size_t r = 0; r < 5; r++) std::copy_n(d.sq8.data(), std::min(h, n), five.data() + r * h);
      std::vector<std::int8_t> w8(2 * h, 3);
      const std::uint32_t ids[5] = {0, 3, 1, 2, 4};
      std::int32_t outs[5];
      const std::uint8_t* rows4 = gcode.AtEnd(five.data(), 5 * h);
      k->int4_s8_dot_batch(rows4, h, ids, 5, gw1.AtEnd(w8.data(), 2 * h), h, outs);
      sink = sink + static_cast<float>(outs[4]);
      const std::uint8_t* i4 = gcode.AtEnd(d.int4.data(), (n + 1) / 2);
      sink = sink + k->int4_l2sq(i4, q, base, step, n) + k->int4_dot(i4, q, base, step, n) +
             k->int4_l1(i4, q, base, step, n);
      const std::uint8_t* pq = gcode.AtEnd(d.sq8.data(), n);
      const float* pl = glut.AtEnd(lut.data(), n * 256);
      sink = sink + k->pq_adc(pq, pl, n);
      sink = sink + static_cast<float>(
                        k->hamming(gw1.AtEnd(words.data(), n), gw2.AtEnd(words.data(), n), n));
      // Half kernels read n halves and the conversions write n values, no more.
      const std::uint16_t* h1 = gh1.AtEnd(ha.data(), n);
      const std::uint16_t* h2 = gh2.AtEnd(hb.data(), n);
      sink = sink + k->f16_l2sq(h1, h2, n) + k->f16_dot(h1, h2, n) + k->f16_l1(h1, h2, n);
      k->f16_dot_norms(h1, h2, n, out);
      k->f16_to_f32(h1, gout.AtEnd(wide.data(), n), n);
      k->f32_to_f16(gout.AtEnd(wide.data(), n), gh2.AtEnd(narrow.data(), n), n);
    }
  }
  SUCCEED();
}

// ---------------------------------------------------------------- dispatch

TEST(SimdDispatch, ParseAndNameLevels) {
  for (Level l : kAllLevels) {
    Level parsed;
    ASSERT_TRUE(parse_level(level_name(l), &parsed)) << level_name(l);
    EXPECT_EQ(parsed, l);
  }
  Level l = Level::Scalar;
  EXPECT_TRUE(parse_level("sse42", &l));
  EXPECT_EQ(l, Level::SSE42);
  EXPECT_STREQ(level_name(Level::SSE42), "sse4.2");
  for (const char* bad : {"", "AVX2", "avx", "avx1024", "sse4", "scalar ", "native"}) {
    Level untouched = Level::AVX2;
    EXPECT_FALSE(parse_level(bad, &untouched)) << '"' << bad << '"';
    EXPECT_EQ(untouched, Level::AVX2);
  }
}

TEST(SimdDispatch, TablesAreCompleteAndSelfDescribing) {
  const Kernels* scalar = for_level(Level::Scalar);
  ASSERT_NE(scalar, nullptr);
  EXPECT_EQ(scalar->level, Level::Scalar);
  for (Level l : kAllLevels) {
    const Kernels* k = for_level(l);
    if (k == nullptr) continue;
    SCOPED_TRACE(level_name(l));
    EXPECT_EQ(k->level, l);
    EXPECT_STREQ(k->name, level_name(l));
    EXPECT_TRUE(k->l2sq && k->dot && k->l1 && k->dot_norms);
    EXPECT_TRUE(k->sq8_l2sq && k->sq8_dot && k->sq8_l1 && k->sq8_wsum);
    EXPECT_TRUE(k->int4_l2sq && k->int4_dot && k->int4_l1 && k->int4_s8_dot_batch);
    EXPECT_TRUE(k->pq_adc && k->hamming);
    EXPECT_TRUE(k->f16_to_f32 && k->f32_to_f16);
    EXPECT_TRUE(k->f16_l2sq && k->f16_dot && k->f16_l1 && k->f16_dot_norms);
  }
}

TEST(SimdDispatch, BestSupportedIsTheHighestAvailable) {
  Level best = best_supported();
  ASSERT_NE(for_level(best), nullptr);
#if defined(__x86_64__) && !defined(VECGO_NOASM)
  EXPECT_EQ(for_level(Level::NEON), nullptr);
  // Levels nest on x86-64: everything at or below the best is available.
  const Level chain[] = {Level::Scalar, Level::SSE42, Level::AVX2, Level::AVX512};
  bool above = false;
  for (Level l : chain) {
    if (above) {
      EXPECT_EQ(for_level(l), nullptr) << level_name(l);
    } else {
      EXPECT_NE(for_level(l), nullptr) << level_name(l);
    }
    if (l == best) above = true;
  }
  EXPECT_NE(best, Level::Scalar) << "every x86-64 CPU this runs on has at least SSE4.2";
#elif defined(__aarch64__) && !defined(VECGO_NOASM)
  EXPECT_EQ(best, Level::NEON);
  EXPECT_EQ(for_level(Level::AVX2), nullptr);
#else
  EXPECT_EQ(best, Level::Scalar);
  for (Level l : kAllLevels) {
    if (l != Level::Scalar) {
      EXPECT_EQ(for_level(l), nullptr) << level_name(l);
    }
  }
#endif
}

TEST(SimdDispatch, ForceSupportedAndRefuseUnsupported) {
  const Level before = active().level;
  for (Level l : kAllLevels) {
    if (for_level(l) != nullptr) {
      EXPECT_TRUE(force(l)) << level_name(l);
      EXPECT_EQ(active().level, l);
      EXPECT_EQ(&active(), for_level(l));
    } else {
      const Level current = active().level;
      EXPECT_FALSE(force(l)) << level_name(l);
      EXPECT_EQ(active().level, current) << "a refused force must leave the table alone";
    }
  }
  EXPECT_TRUE(force(before));
}

// VECGO_SIMD is read once, at the first use of the active table, so it is
// checked in a fresh copy of this test binary. In that copy this initialiser
// runs before main: it compares the level in use with VECGO_TEST_EXPECT_LEVEL
// and exits at once (0 when they match), so no test runs there.
[[maybe_unused]] const bool kEnvChild = [] {
  const char* expect = std::getenv("VECGO_TEST_EXPECT_LEVEL");
  if (expect == nullptr) return false;
  _exit(std::strcmp(active().name, expect) == 0 ? 0 : 3);
}();

int RunChild(const char* simd, const char* expect) {
  pid_t pid = fork();
  if (pid == 0) {
    if (simd)
      setenv("VECGO_SIMD", simd, 1);
    else
      unsetenv("VECGO_SIMD");
    setenv("VECGO_TEST_EXPECT_LEVEL", expect, 1);
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) {
      dup2(devnull, 1);
      dup2(devnull, 2);
    }
    execl("/proc/self/exe", "vecgo_core_tests", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SimdDispatch, EnvironmentVariable) {
  const char* best = level_name(best_supported());
  int rc = RunChild(nullptr, best);
  if (rc == 127)
    GTEST_SKIP() << "this binary cannot be re-executed here (e.g. under user-mode emulation)";
  EXPECT_EQ(rc, 0) << "no VECGO_SIMD: the best level";
  for (Level l : kAllLevels) {
    // A supported level is honoured; an unsupported one cannot be and falls
    // back to the best.
    const char* expect = for_level(l) ? level_name(l) : best;
    EXPECT_EQ(RunChild(level_name(l), expect), 0) << "VECGO_SIMD=" << level_name(l);
  }
  EXPECT_EQ(RunChild("bogus", best), 0) << "an unknown name falls back to the best level";
}

}  // namespace
}  // namespace vecgo::simd
