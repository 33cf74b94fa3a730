// Kernel benchmark: nanoseconds per distance for every instruction set this
// CPU and build support, and the speedup of each over the scalar path.
//
//   make bench-kernels                 (or ./bench/bench_kernels [ms-per-cell])
//
// Each cell times one query against a working set of 64 stored vectors,
// cycled, so the data stays in L1/L2 and the numbers measure the kernels,
// not memory. Calls go through the dispatch table, as in the engine. A cell
// is the best of several timed runs, taken in rounds over the whole table
// (the machine may be shared).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <memory>
#include <utility>
#include <vector>

#include "vecgo/simd.h"

namespace {

using vecgo::simd::Kernels;
using vecgo::simd::Level;

constexpr std::size_t kSet = 64;  // stored vectors cycled through
constexpr int kTrials = 15;
double g_cell_ms = 2.0;  // timed work per run of a cell
volatile float g_sink;   // keeps results alive

std::vector<float> RandomFloats(std::size_t n, std::mt19937& rng, float lo = -1.0f,
                                float hi = 1.0f) {
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

std::vector<std::uint8_t> RandomBytes(std::size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<std::uint8_t> v(n);
  for (auto& x : v) x = static_cast<std::uint8_t>(d(rng));
  return v;
}

using Clock = std::chrono::steady_clock;

// One table cell: `pass` computes kSet distances and returns their sum.
struct Cell {
  std::function<float()> pass;
  std::size_t passes = 1;  // per timed run, from calibration
  double best_ns = 1e300;  // best time per distance so far
};

std::vector<Cell> g_cells;

std::size_t AddCell(std::function<float()> pass) {
  g_cells.push_back(Cell{std::move(pass)});
  return g_cells.size() - 1;
}

double RunMs(const Cell& c, std::size_t passes) {
  auto t0 = Clock::now();
  float s = 0;
  for (std::size_t p = 0; p < passes; p++) s += c.pass();
  g_sink = s;
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Grows the pass count until one run takes about g_cell_ms.
void Calibrate(Cell& c) {
  std::size_t passes = 1;
  for (;;) {
    double ms = RunMs(c, passes);
    if (ms >= g_cell_ms / 4 || passes > (std::size_t{1} << 30)) {
      c.passes = std::max<std::size_t>(
          1, static_cast<std::size_t>(passes * g_cell_ms / std::max(ms, 1e-3)));
      return;
    }
    passes *= 2;
  }
}

// Times every cell kTrials times, in rounds over the whole table, keeping the
// best: a burst of load from other processes then spoils one run of many
// cells rather than every run of one cell.
void RunAll() {
  for (Cell& c : g_cells) Calibrate(c);
  for (int t = 0; t < kTrials; t++)
    for (Cell& c : g_cells) {
      double ns = RunMs(c, c.passes) * 1e6 / static_cast<double>(c.passes * kSet);
      c.best_ns = std::min(c.best_ns, ns);
    }
}

struct Row {
  std::string kernel;
  std::size_t dims;
  std::vector<std::size_t> cells;  // per level, in table order
};

std::string CpuModel() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) {
      auto p = line.find(':');
      if (p != std::string::npos) return line.substr(p + 2);
    }
  return "unknown CPU";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1) g_cell_ms = std::max(0.5, std::atof(argv[1]));

  std::vector<const Kernels*> tables;
  for (Level l : {Level::Scalar, Level::SSE42, Level::AVX2, Level::AVX512, Level::NEON})
    if (const Kernels* k = vecgo::simd::for_level(l)) tables.push_back(k);

  std::mt19937 rng(42);
  std::vector<Row> rows;
  std::deque<std::vector<float>> keep;

  // ---- float kernels
  const std::size_t float_dims[] = {96, 128, 384, 768, 1536};
  for (const char* kernel : {"l2sq", "dot", "cosine", "l1"}) {
    for (std::size_t dim : float_dims) {
      // Cells run after this loop: the data lives in `keep`.
      keep.push_back(RandomFloats(dim, rng));
      const float* q = keep.back().data();
      keep.push_back(RandomFloats(kSet * dim, rng));
      const float* s = keep.back().data();
      Row row{kernel, dim, {}};
      for (const Kernels* k : tables) {
        std::function<float()> pass;
        if (!std::strcmp(kernel, "l2sq")) {
          pass = [=] {
            float acc = 0;
            for (std::size_t v = 0; v < kSet; v++) acc += k->l2sq(q, s + v * dim, dim);
            return acc;
          };
        } else if (!std::strcmp(kernel, "dot")) {
          pass = [=] {
            float acc = 0;
            for (std::size_t v = 0; v < kSet; v++) acc += k->dot(q, s + v * dim, dim);
            return acc;
          };
        } else if (!std::strcmp(kernel, "cosine")) {
          pass = [=] {  // dot_norms plus the division, as the cosine operator does it
            float acc = 0, out[3];
            for (std::size_t v = 0; v < kSet; v++) {
              k->dot_norms(q, s + v * dim, dim, out);
              acc += out[0] / std::sqrt(out[1] * out[2]);
            }
            return acc;
          };
        } else {
          pass = [=] {
            float acc = 0;
            for (std::size_t v = 0; v < kSet; v++) acc += k->l1(q, s + v * dim, dim);
            return acc;
          };
        }
        row.cells.push_back(AddCell(pass));
      }
      rows.push_back(row);
    }
  }

  // ---- quantized kernels at 768 dimensions
  const std::size_t dim = 768, pq_m = 96, words = dim / 64;
  std::vector<float> query = RandomFloats(dim, rng);
  std::vector<float> base = RandomFloats(dim, rng, -1.0f, 0.0f);
  std::vector<float> step = RandomFloats(dim, rng, 0.001f, 0.01f);
  std::vector<std::uint8_t> sq8 = RandomBytes(kSet * dim, rng);
  std::vector<std::uint8_t> int4 = RandomBytes(kSet * dim / 2, rng);
  std::vector<std::uint8_t> pq = RandomBytes(kSet * pq_m, rng);
  std::vector<float> lut = RandomFloats(pq_m * 256, rng, 0.0f, 1.0f);
  std::vector<std::uint64_t> bits(kSet * words + words);
  for (auto& w : bits) w = (static_cast<std::uint64_t>(rng()) << 32) | rng();
  const float *q = query.data(), *b = base.data(), *st = step.data(), *lt = lut.data();
  const std::uint8_t *c8 = sq8.data(), *c4 = int4.data(), *cp = pq.data();
  const std::uint64_t* bw = bits.data();

  using QuantFn =
      float (*)(const std::uint8_t*, const float*, const float*, const float*, std::size_t);
  struct QuantKernel {
    const char* name;
    QuantFn Kernels::*fn;
    bool int4;
  };
  const QuantKernel quant[] = {
      {"sq8_l2sq", &Kernels::sq8_l2sq, false}, {"sq8_dot", &Kernels::sq8_dot, false},
      {"sq8_l1", &Kernels::sq8_l1, false},     {"int4_l2sq", &Kernels::int4_l2sq, true},
      {"int4_dot", &Kernels::int4_dot, true},  {"int4_l1", &Kernels::int4_l1, true}};
  for (const QuantKernel& qk : quant) {
    Row row{qk.name, dim, {}};
    for (const Kernels* k : tables) {
      QuantFn fn = k->*qk.fn;
      const std::uint8_t* codes = qk.int4 ? c4 : c8;
      const std::size_t stride = qk.int4 ? dim / 2 : dim;
      row.cells.push_back(AddCell([=] {
        float acc = 0;
        for (std::size_t v = 0; v < kSet; v++) acc += fn(codes + v * stride, q, b, st, dim);
        return acc;
      }));
    }
    rows.push_back(row);
  }
  {
    // sq8_dot with the query folded into the scale (as queries and builds
    // score SQ8 codes for cosine and inner product).
    // Owned by the cells, which run after this block ends.
    auto w = std::make_shared<std::vector<float>>(dim);
    for (std::size_t i = 0; i < dim; i++) (*w)[i] = query[i] * step[i];
    Row row{"sq8_wsum", dim, {}};
    for (const Kernels* k : tables)
      row.cells.push_back(AddCell([=] {
        float acc = 0;
        for (std::size_t v = 0; v < kSet; v++) acc += k->sq8_wsum(c8 + v * dim, w->data(), dim);
        return acc;
      }));
    rows.push_back(row);
    // 4-bit codes against an int8 query, as the Vamana build scores a
    // node's neighbours on its build-space codes (ids in shuffled order; ns
    // per code).
    auto ids = std::make_shared<std::vector<std::uint32_t>>(kSet);
    for (std::size_t v = 0; v < kSet; v++) (*ids)[v] = static_cast<std::uint32_t>((v * 7919) % kSet);
    auto out = std::make_shared<std::vector<std::int32_t>>(kSet);
    auto w8 = std::make_shared<std::vector<std::int8_t>>(dim);
    for (std::size_t i = 0; i < dim; i++) (*w8)[(i & 1) * (dim / 2) + i / 2] = static_cast<std::int8_t>((i * 37) % 255 - 127);
    Row batch4{"int4_s8_dot_batch", dim, {}};
    for (const Kernels* k : tables)
      batch4.cells.push_back(AddCell([=] {
        k->int4_s8_dot_batch(c4, dim / 2, ids->data(), kSet, w8->data(), dim / 2, out->data());
        float acc = 0;
        for (std::int32_t x : *out) acc += static_cast<float>(x);
        return acc;
      }));
    rows.push_back(batch4);
  }
  {
    Row row{"pq_adc(m=96)", dim, {}};
    for (const Kernels* k : tables)
      row.cells.push_back(AddCell([=] {
        float acc = 0;
        for (std::size_t v = 0; v < kSet; v++) acc += k->pq_adc(cp + v * pq_m, lt, pq_m);
        return acc;
      }));
    rows.push_back(row);
  }
  {
    Row row{"hamming(bits)", dim, {}};
    for (const Kernels* k : tables)
      row.cells.push_back(AddCell([=] {
        float acc = 0;
        for (std::size_t v = 0; v < kSet; v++)
          acc += static_cast<float>(k->hamming(bw + kSet * words, bw + v * words, words));
        return acc;
      }));
    rows.push_back(row);
  }

  {
    // Half precision (halfvec): distances over two half arrays, and the
    // conversions per vector (ns per 768-element vector).
    auto hq = std::make_shared<std::vector<std::uint16_t>>(dim);
    auto hs = std::make_shared<std::vector<std::uint16_t>>(kSet * dim);
    auto fs = std::make_shared<std::vector<float>>(RandomFloats(kSet * dim, rng));
    auto fout = std::make_shared<std::vector<float>>(dim);
    auto hout = std::make_shared<std::vector<std::uint16_t>>(dim);
    const Kernels* scalar = tables[0];
    scalar->f32_to_f16(query.data(), hq->data(), dim);
    scalar->f32_to_f16(fs->data(), hs->data(), kSet * dim);
    using HalfFn = float (*)(const std::uint16_t*, const std::uint16_t*, std::size_t);
    const std::pair<const char*, HalfFn Kernels::*> half[] = {{"f16_l2sq", &Kernels::f16_l2sq},
                                                              {"f16_dot", &Kernels::f16_dot},
                                                              {"f16_l1", &Kernels::f16_l1}};
    for (const auto& h : half) {
      Row row{h.first, dim, {}};
      for (const Kernels* k : tables) {
        HalfFn fn = k->*h.second;
        row.cells.push_back(AddCell([=] {
          float acc = 0;
          for (std::size_t v = 0; v < kSet; v++) acc += fn(hq->data(), hs->data() + v * dim, dim);
          return acc;
        }));
      }
      rows.push_back(row);
    }
    Row cos{"f16_cosine", dim, {}};
    for (const Kernels* k : tables)
      cos.cells.push_back(AddCell([=] {
        float acc = 0, out[3];
        for (std::size_t v = 0; v < kSet; v++) {
          k->f16_dot_norms(hq->data(), hs->data() + v * dim, dim, out);
          acc += out[0] / std::sqrt(out[1] * out[2]);
        }
        return acc;
      }));
    rows.push_back(cos);
    Row widen{"f16_to_f32", dim, {}};
    for (const Kernels* k : tables)
      widen.cells.push_back(AddCell([=] {
        float acc = 0;
        for (std::size_t v = 0; v < kSet; v++) {
          k->f16_to_f32(hs->data() + v * dim, fout->data(), dim);
          acc += (*fout)[v];
        }
        return acc;
      }));
    rows.push_back(widen);
    Row narrow{"f32_to_f16", dim, {}};
    for (const Kernels* k : tables)
      narrow.cells.push_back(AddCell([=] {
        float acc = 0;
        for (std::size_t v = 0; v < kSet; v++) {
          k->f32_to_f16(fs->data() + v * dim, hout->data(), dim);
          acc += static_cast<float>((*hout)[v]);
        }
        return acc;
      }));
    rows.push_back(narrow);
  }

  RunAll();

  // ---- table
  std::printf("vecgo kernel benchmark: %s; ns per distance (best of %d), speedup over scalar\n",
              CpuModel().c_str(), kTrials);
  std::printf(
      "working set: 1 query x %zu stored vectors, cycled (%zu KiB at 96 dims, %zu KiB at 768,\n"
      "%zu KiB at 1536: L1/L2-resident); calls through the dispatch table\n\n",
      kSet, kSet * 96 * 4 / 1024, kSet * 768 * 4 / 1024, kSet * 1536 * 4 / 1024);
  std::printf("%-17s %5s", "kernel", "dims");
  for (const Kernels* k : tables) std::printf(" %18s", k->name);
  std::printf("\n");
  std::printf("%-17s %5s", "-----------------", "-----");
  for (std::size_t i = 0; i < tables.size(); i++) std::printf(" %18s", "------------------");
  std::printf("\n");
  for (const Row& r : rows) {
    std::printf("%-17s %5zu", r.kernel.c_str(), r.dims);
    const double scalar_ns = g_cells[r.cells[0]].best_ns;
    for (std::size_t i = 0; i < r.cells.size(); i++) {
      const double ns = g_cells[r.cells[i]].best_ns;
      char cell[64];
      if (i == 0)
        std::snprintf(cell, sizeof cell, "%.1f ns", ns);
      else
        std::snprintf(cell, sizeof cell, "%.1f ns %5.1fx", ns, scalar_ns / ns);
      std::printf(" %18s", cell);
    }
    std::printf("\n");
  }

  // The figure the project promises: AVX-512 at least 4x scalar, l2sq at 768.
  for (std::size_t i = 1; i < tables.size(); i++)
    if (tables[i]->level == Level::AVX512)
      for (const Row& r : rows)
        if (r.kernel == "l2sq" && r.dims == 768)
          std::printf("\navx512 l2sq at 768 dims: %.1fx the scalar path (target: at least 4x)\n",
                      g_cells[r.cells[0]].best_ns / g_cells[r.cells[i]].best_ns);
  return 0;
}
