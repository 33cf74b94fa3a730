// Quantizers: reconstruction error bounds, code distances against the float
// reference, determinism, serialization, and ranking quality (code-distance
// ranking of the top 100, reranked with full vectors).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "testdata.h"
#include "vecgo/pages.h"
#include "vecgo/quantizer.h"
#include "vecgo/topk.h"

namespace vecgo {
namespace {

using testing::Dataset;

constexpr Metric kMetrics[] = {Metric::L2, Metric::IP, Metric::Cosine, Metric::L1};
constexpr QuantKind kKinds[] = {QuantKind::None, QuantKind::SQ8, QuantKind::INT4, QuantKind::PQ,
                                QuantKind::Binary};

Quantizer Train(QuantKind kind, const Dataset& d, Metric metric, std::size_t pq_m = 0,
                std::uint64_t seed = 1, int pq_coarse = -1) {
  QuantizerOptions o;
  o.kind = kind;
  o.pq_m = pq_m;
  o.pq_coarse = pq_coarse;
  o.pq_max_train = 8192;
  o.pq_iters = 10;
  Quantizer q(o);
  q.Train(d.base.data(), d.n(), d.dim, metric, seed);
  return q;
}

std::vector<float> Normalised(const float* v, std::size_t dim) {
  double s = 0;
  for (std::size_t i = 0; i < dim; i++) s += double(v[i]) * v[i];
  std::vector<float> out(v, v + dim);
  if (s > 0)
    for (auto& x : out) x = static_cast<float>(x / std::sqrt(s));
  return out;
}

// Relative reconstruction error: sum |x - decode(encode(x))|^2 / sum |x - mean|^2.
double RelativeError(const Quantizer& q, const Dataset& d) {
  std::vector<double> mean(d.dim, 0.0);
  for (std::size_t i = 0; i < d.n(); i++)
    for (std::size_t j = 0; j < d.dim; j++) mean[j] += d.row(i)[j];
  for (auto& m : mean) m /= d.n();
  std::vector<std::uint8_t> code(q.code_size());
  std::vector<float> dec(d.dim);
  double err = 0, var = 0;
  for (std::size_t i = 0; i < d.n(); i++) {
    q.Encode(d.row(i), code.data());
    q.Decode(code.data(), dec.data());
    for (std::size_t j = 0; j < d.dim; j++) {
      double e = double(d.row(i)[j]) - dec[j];
      double v = double(d.row(i)[j]) - mean[j];
      err += e * e;
      var += v * v;
    }
  }
  return err / var;
}

struct ErrorBound {
  QuantKind kind;
  double max_clustered;
  double max_glove;
};

// Measured on this data (see the printed values): SQ8 ~3e-5 / ~2e-4,
// INT4 ~1e-2 / ~6e-2, PQ (dsub 4) ~7e-2 / ~0.2. Bounds leave ~3x headroom.
constexpr ErrorBound kBounds[] = {
    {QuantKind::SQ8, 2e-4, 1e-3},
    {QuantKind::INT4, 0.04, 0.15},
    {QuantKind::PQ, 0.2, 0.45},
    {QuantKind::Binary, 0.9, 0.9},
};

TEST(QuantTest, ReconstructionErrorClustered) {
  Dataset d = testing::Clustered(6000, 0, 128);
  EXPECT_EQ(RelativeError(Train(QuantKind::None, d, Metric::L2), d), 0.0);
  for (const auto& b : kBounds) {
    Quantizer q = Train(b.kind, d, Metric::L2);
    double e = RelativeError(q, d);
    std::printf("[ measure  ] clustered 6000x128 %-6s %5.1fx relative reconstruction error %.3g\n",
                QuantKindName(b.kind), q.compression(), e);
    EXPECT_LT(e, b.max_clustered) << QuantKindName(b.kind);
  }
}

TEST(QuantTest, ReconstructionErrorGlove) {
  Dataset d;
  if (!testing::GloveSample(6000, 0, &d))
    GTEST_SKIP() << "GloVe-100 sample not found (scripts/fetch-glove.sh or $VECGO_GLOVE)";
  for (const auto& b : kBounds) {
    Quantizer q = Train(b.kind, d, Metric::L2);
    double e = RelativeError(q, d);
    std::printf("[ measure  ] GloVe 6000x100    %-6s %5.1fx relative reconstruction error %.3g\n",
                QuantKindName(b.kind), q.compression(), e);
    EXPECT_LT(e, b.max_glove) << QuantKindName(b.kind);
  }
}

TEST(QuantTest, ErrorOrderingAndSq8Bound) {
  // SQ8's per-dimension error is at most half a step.
  Dataset d = testing::Clustered(2000, 0, 64);
  Quantizer q = Train(QuantKind::SQ8, d, Metric::L2);
  std::vector<std::uint8_t> code(q.code_size());
  std::vector<float> dec(d.dim);
  for (std::size_t i = 0; i < d.n(); i++) {
    q.Encode(d.row(i), code.data());
    q.Decode(code.data(), dec.data());
    for (std::size_t j = 0; j < d.dim; j++)
      ASSERT_LE(std::fabs(dec[j] - d.row(i)[j]), q.step()[j] * 0.5f + 1e-6f);
  }
  double sq8 = RelativeError(q, d), int4 = RelativeError(Train(QuantKind::INT4, d, Metric::L2), d);
  EXPECT_LT(sq8, int4);
  // Residual coding beats plain PQ at the same subspace count.
  double pq_res = RelativeError(Train(QuantKind::PQ, d, Metric::L2), d);
  double pq_plain = RelativeError(Train(QuantKind::PQ, d, Metric::L2, 0, 1, 0), d);
  std::printf("[ measure  ] clustered 2000x64 PQ m=16 residual %.3g plain %.3g\n", pq_res, pq_plain);
  EXPECT_LT(pq_res, pq_plain);
}

// The distancer equals the float distance between the query and the decoded
// vector (Cosine: 1 - dot with the normalised query), at every kernel level.
TEST(QuantTest, CodeDistancesMatchDecodedReference) {
  Dataset d = testing::Clustered(1500, 8, 40);
  const simd::Level best = simd::active().level;
  for (QuantKind kind : kKinds) {
    if (kind == QuantKind::Binary) continue;
    for (int variant = 0; variant < (kind == QuantKind::PQ ? 2 : 1); variant++)
    for (Metric m : kMetrics) {
      // PQ: residual (default) and plain; m = 12 with 40 dims: padded subspace.
      Quantizer q = Train(kind, d, m, kind == QuantKind::PQ ? 12 : 0, 1, variant ? 0 : -1);
      std::vector<std::uint8_t> codes(d.n() * q.code_size());
      q.EncodeBatch(d.base.data(), d.n(), codes.data());
      std::vector<float> dec(d.dim);
      for (simd::Level level : {simd::Level::Scalar, simd::Level::SSE42, simd::Level::AVX2,
                                simd::Level::AVX512, simd::Level::NEON}) {
        if (!simd::force(level)) continue;
        for (std::size_t qi = 0; qi < d.nq(); qi++) {
          QueryDistancer dist = q.Prepare(d.query(qi), m);
          std::vector<float> qv = m == Metric::Cosine ? Normalised(d.query(qi), d.dim)
                                                      : std::vector<float>(d.query(qi), d.query(qi) + d.dim);
          std::vector<float> batch(d.n());
          dist.Batch(codes.data(), d.n(), batch.data());
          for (std::size_t i = 0; i < d.n(); i++) {
            const std::uint8_t* c = codes.data() + i * q.code_size();
            q.Decode(c, dec.data());
            double ref = 0;
            for (std::size_t j = 0; j < d.dim; j++) {
              double a = qv[j], b = dec[j];
              if (m == Metric::L2) ref += (a - b) * (a - b);
              else if (m == Metric::L1) ref += std::fabs(a - b);
              else ref -= a * b;
            }
            if (m == Metric::Cosine) ref += 1.0;
            float got = dist(c);
            ASSERT_NEAR(got, ref, 1e-4 * (1.0 + std::fabs(ref)))
                << QuantKindName(kind) << " " << MetricName(m) << " " << simd::level_name(level);
            ASSERT_EQ(batch[i], got);
          }
        }
      }
      simd::force(best);
    }
  }
}

TEST(QuantTest, BinaryIsHammingOfMeanCentredSigns) {
  Dataset d = testing::Clustered(1000, 5, 100);  // 100 dims: two words, the second partial
  Quantizer q = Train(QuantKind::Binary, d, Metric::L2);
  EXPECT_EQ(q.code_size(), 16u);
  EXPECT_NEAR(q.compression(), 25.0, 1e-9);
  std::vector<std::uint8_t> code(q.code_size() + 1);
  for (std::size_t qi = 0; qi < d.nq(); qi++) {
    QueryDistancer dist = q.Prepare(d.query(qi));
    for (std::size_t i = 0; i < 50; i++) {
      q.Encode(d.row(i), code.data() + (i % 2));  // also an unaligned code
      int h = 0;
      for (std::size_t j = 0; j < d.dim; j++)
        h += (d.row(i)[j] > q.mean()[j]) != (d.query(qi)[j] > q.mean()[j]);
      ASSERT_EQ(dist(code.data() + (i % 2)), static_cast<float>(h));
    }
  }
}

TEST(QuantTest, TrainingIsDeterministic) {
  Dataset d = testing::Clustered(3000, 0, 32);
  for (QuantKind kind : kKinds) {
    auto a = Train(kind, d, Metric::L2, 0, 7).ToBytes();
    auto b = Train(kind, d, Metric::L2, 0, 7).ToBytes();
    EXPECT_EQ(a, b) << QuantKindName(kind);
  }
  EXPECT_NE(Train(QuantKind::PQ, d, Metric::L2, 0, 7).ToBytes(),
            Train(QuantKind::PQ, d, Metric::L2, 0, 8).ToBytes());
  // The same parameters whatever kernel level is active (a standby or a
  // rebuild on another CPU trains the same codebooks).
  const simd::Level best = simd::active().level;
  auto at_best = Train(QuantKind::PQ, d, Metric::Cosine, 0, 7).ToBytes();
  ASSERT_TRUE(simd::force(simd::Level::Scalar));
  auto at_scalar = Train(QuantKind::PQ, d, Metric::Cosine, 0, 7).ToBytes();
  simd::force(best);
  EXPECT_EQ(at_best, at_scalar);
}

TEST(QuantTest, SerializationRoundTripAndCorruption) {
  Dataset d = testing::Clustered(2000, 3, 24);
  for (QuantKind kind : kKinds) {
    Quantizer q = Train(kind, d, Metric::Cosine);
    std::vector<std::uint8_t> bytes = q.ToBytes();
    Quantizer r = Quantizer::FromBytes(bytes.data(), bytes.size());
    EXPECT_EQ(r.ToBytes(), bytes);
    EXPECT_EQ(r.kind(), kind);
    EXPECT_EQ(r.metric(), Metric::Cosine);
    std::vector<std::uint8_t> c1(q.code_size()), c2(q.code_size());
    for (std::size_t i = 0; i < 20; i++) {
      q.Encode(d.row(i), c1.data());
      r.Encode(d.row(i), c2.data());
      ASSERT_EQ(c1, c2);
      ASSERT_EQ(q.Prepare(d.query(0))(c1.data()), r.Prepare(d.query(0))(c1.data()));
    }
    // Byte flips (every header byte, then a stride through the tables) and
    // truncations are refused as corruption.
    for (std::size_t i = 0; i < bytes.size(); i += (i < 64 ? 1 : 37)) {
      bytes[i] ^= 0x10;
      EXPECT_THROW(Quantizer::FromBytes(bytes.data(), bytes.size()), Error) << i;
      bytes[i] ^= 0x10;
    }
    for (std::size_t n = 0; n < bytes.size(); n += 1 + n / 16) {
      try {
        Quantizer::FromBytes(bytes.data(), n);
        ADD_FAILURE() << "truncation to " << n << " accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.kind(), Error::Kind::DataCorrupted);
      }
    }
    // Inside a page stream.
    std::vector<std::uint8_t> pages;
    PageStreamWriter w(0x51, 1, CollectPages(&pages, 1024), 1024);
    q.Save(w);
    w.Finish();
    auto reader = PageStreamReader::FromBuffer(pages.data(), pages.size(), 1024, 0x51, 1);
    EXPECT_EQ(Quantizer::Load(reader).ToBytes(), q.ToBytes());
  }
}

TEST(QuantTest, InvalidInputRefused) {
  Dataset d = testing::Clustered(100, 0, 8);
  QuantizerOptions o;
  o.kind = QuantKind::PQ;
  o.pq_m = 9;
  EXPECT_THROW(Quantizer(o).Train(d.base.data(), d.n(), d.dim, Metric::L2), Error);
  Quantizer sq;
  std::vector<float> bad = d.base;
  bad[17] = std::nanf("");
  EXPECT_THROW(Quantizer(QuantizerOptions{}).Train(bad.data(), d.n(), d.dim, Metric::L2), Error);
  EXPECT_THROW(Quantizer(QuantizerOptions{}).Train(d.base.data(), 0, d.dim, Metric::L2), Error);
  EXPECT_THROW(Quantizer(QuantizerOptions{}).Train(d.base.data(), d.n(), 0, Metric::L2), Error);
  std::uint8_t code[8];
  EXPECT_THROW(sq.Encode(d.row(0), code), Error);
  // PQ with fewer rows than centroids still works (duplicated centroids).
  o.pq_m = 4;
  Quantizer small(o);
  small.Train(d.base.data(), 50, d.dim, Metric::L2);
  small.Encode(d.row(0), code);
  QuantKind k;
  EXPECT_TRUE(ParseQuantKind("int4", &k));
  EXPECT_EQ(k, QuantKind::INT4);
  EXPECT_FALSE(ParseQuantKind("pq8", &k));
}

// Recall@10 of: rank every row by code distance, keep the best 100, rerank
// those with exact distances.
double RerankRecall(const Quantizer& q, const Dataset& d, Metric m,
                    const std::vector<std::vector<std::uint32_t>>& truth) {
  std::vector<std::uint8_t> codes(d.n() * q.code_size());
  q.EncodeBatch(d.base.data(), d.n(), codes.data());
  std::vector<std::vector<std::uint32_t>> got(d.nq());
  QueryDistancer dist;
  TopKHeap heap;
  std::vector<Neighbor> cand;
  for (std::size_t qi = 0; qi < d.nq(); qi++) {
    q.Prepare(d.query(qi), m, &dist);
    heap.Reset(100);
    for (std::size_t i = 0; i < d.n(); i++) heap.Push(dist(codes.data() + i * q.code_size()), i);
    heap.TakeSorted(&cand);
    heap.Reset(10);
    for (const auto& c : cand) heap.Push(Distance(m, d.query(qi), d.row(c.label), d.dim), c.label);
    for (const auto& r : heap.TakeSorted()) got[qi].push_back(static_cast<std::uint32_t>(r.label));
  }
  return testing::Recall(truth, got, 10);
}

TEST(QuantTest, RankingRecallWithRerankClustered) {
  Dataset d = testing::Clustered(20000, 50, 128);
  struct Case {
    QuantKind kind;
    double min_recall;
  };
  // Binary is a coarse filter (meant for a much deeper rerank): reported only.
  const Case cases[] = {{QuantKind::SQ8, 0.95}, {QuantKind::INT4, 0.80}, {QuantKind::PQ, 0.90},
                        {QuantKind::Binary, 0.0}};
  for (Metric m : {Metric::L2, Metric::Cosine}) {
    auto truth = testing::BruteForce(d, m, 10);
    for (const auto& c : cases) {
      Quantizer q = Train(c.kind, d, m);
      double r = RerankRecall(q, d, m, truth);
      std::printf("[ measure  ] clustered 20000x128 %-6s %-6s recall@10 (top-100 reranked) %.3f\n",
                  QuantKindName(c.kind), MetricName(m), r);
      EXPECT_GE(r, c.min_recall) << QuantKindName(c.kind) << " " << MetricName(m);
    }
  }
}

TEST(QuantTest, RankingRecallWithRerankGlove) {
  Dataset d;
  if (!testing::GloveSample(20000, 50, &d))
    GTEST_SKIP() << "GloVe-100 sample not found (scripts/fetch-glove.sh or $VECGO_GLOVE)";
  auto truth = testing::BruteForce(d, Metric::Cosine, 10);
  for (QuantKind kind : {QuantKind::SQ8, QuantKind::INT4, QuantKind::PQ, QuantKind::Binary}) {
    Quantizer q = Train(kind, d, Metric::Cosine);
    double r = RerankRecall(q, d, Metric::Cosine, truth);
    std::printf("[ measure  ] GloVe 20000x100 cosine %-6s recall@10 (top-100 reranked) %.3f\n",
                QuantKindName(kind), r);
    if (kind == QuantKind::SQ8) {
      EXPECT_GE(r, 0.95);
    }
    if (kind == QuantKind::PQ) {
      EXPECT_GE(r, 0.85);
    }
  }
}

}  // namespace
}  // namespace vecgo
