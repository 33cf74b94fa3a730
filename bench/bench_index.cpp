// End-to-end index benchmarks through a running PostgreSQL server, vecgo and
// (when the server has it) pgvector's HNSW in the same run, on the same data
// and queries, each engine in its own database (both define a type `vector`).
// Exact ground truth is computed here with the SIMD kernels (cosine); every
// sweep is single-client recall@10, queries/s and p50/p99 latency per
// ef_search (vecgo.ef_search, hnsw.ef_search).
//
//   --mode build   (default) GloVe-100: load, CREATE INDEX time, index size,
//                  the sweep, single-row INSERT rate with the index (and
//                  without any index, as the ceiling).
//   --mode stream  GloVe-100, 100k rows: the index is created on the empty
//                  table, rows arrive by COPY in --batch-row transactions (one
//                  client); ingest rows/s; the sweep at once ("fresh"), then
//                  after --settle idle seconds with no manual maintenance
//                  ("settled"). vecgo's tiers (vecgo_index_info) are printed
//                  after ingest and after settling.
//   --mode wide    synthetic 768-d, 50k rows: COPY, then CREATE INDEX with
//                  defaults (pgvector: m 16, ef_construction 64); build time,
//                  index size, the sweep.
// --types vector,halfvec runs every engine once per column type (build and
// wide mode; `make bench-halfvec`): halfvec columns and their
// halfvec_cosine_ops indexes next to vector ones, same data and queries.
// Stream and wide end with the best queries/s at recall@10 >= --min-recall (0.95
// stream, 0.99 wide) per engine and the ratio vecgo/pgvector.
//
// The wide data set (no public 768-d set is reachable offline) is generated
// deterministically from --seed with mt19937_64 and Box-Muller normals:
//   - a random basis B (768 x 64, entries N(0, 1/768)), the low-rank subspace;
//   - a spectrum s_j = 1/sqrt(1 + j/8) over the 64 latent axes (real
//     embeddings have decaying spectra);
//   - 200 cluster centres c_k = s * N(0, I_64), cluster sizes proportional to
//     1/sqrt(k+1) (a few large topics, a long tail);
//   - a point of cluster k: x = B (c_k + 1.2 s * N(0, I_64)) + e, with e
//     isotropic noise carrying 25% of the energy, then x / |x|.
// Queries are drawn from the same mixture and are not in the base set.
// --dim, --rank, --clusters, --spread (1.2), --noise (0.25) change it. The
// defaults were chosen so that the set is neither trivial nor adversarial:
// pgvector HNSW (m 16, ef_construction 64) on 50k rows reaches recall@10
// 0.87 at ef_search 10, 0.97 at 40 and 0.99 at 80 (with 0.6 / 0.08 it was
// 0.97 already at ef_search 10).
//
//   make bench / bench-stream / bench-wide   (build this program, start a
//                                             throwaway cluster, run it)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "vecgo/distance.h"

namespace {

using namespace bench;

struct Options {
  std::string mode = "build";  // build | stream | wide
  std::string conninfo = "host=/tmp port=5495 user=postgres";
  std::string fvecs = "data/glove-100.fvecs";
  std::string out_dir = "bench/results";
  std::size_t rows = 0;  // 0 = the mode's default (build: all but the held-out queries)
  std::size_t queries = 1000;
  std::size_t inserts = 2000;
  std::vector<int> efs;  // empty = the mode's default
  bool vecgo = true;
  bool pgvector = true;
  bool reuse = false;        // build: keep an existing table and index (query sweep only)
  std::size_t batch = 1000;  // stream: rows per COPY transaction
  int settle = 60;           // stream: idle seconds between the fresh and settled sweeps
  double min_recall = 0;     // 0 = the mode's default
  std::size_t dim = 768;     // wide: generator parameters
  std::size_t clusters = 200;
  std::size_t rank = 64;
  double spread = 1.2;  // within-cluster / between-cluster standard deviation
  double noise = 0.25;  // share of the energy in isotropic noise
  std::uint64_t seed = 42;
  // Column types (--types), each engine run once per type.
  std::vector<std::string> types{"vector"};
};

std::vector<int> ParseList(const char* s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

// Standard normals from mt19937_64 by Box-Muller: the same stream on every
// platform (std::normal_distribution is implementation-defined).
class Normal {
 public:
  explicit Normal(std::uint64_t seed) : rng_(seed) {}
  double operator()() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = ((rng_() >> 11) + 1) * 0x1.0p-53;  // (0, 1]
    double u2 = (rng_() >> 11) * 0x1.0p-53;
    double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2 * M_PI * u2);
  }
  std::uint64_t Below(std::uint64_t n) { return rng_() % n; }

 private:
  std::mt19937_64 rng_;
  bool has_spare_ = false;
  double spare_ = 0;
};

// The wide mode's Gaussian mixture in a low-rank subspace (see the header).
Data Generate(const Options& o) {
  const std::size_t D = o.dim, r = o.rank, K = o.clusters;
  Normal g(o.seed);
  std::vector<double> basis(D * r), spectrum(r), centres(K * r), cumulative(K);
  for (auto& b : basis) b = g() / std::sqrt(static_cast<double>(D));
  double energy = 0;
  for (std::size_t j = 0; j < r; j++) {
    spectrum[j] = 1.0 / std::sqrt(1.0 + j / 8.0);
    energy += spectrum[j] * spectrum[j] * (1.0 + o.spread * o.spread);
  }
  for (std::size_t k = 0; k < K; k++)
    for (std::size_t j = 0; j < r; j++) centres[k * r + j] = spectrum[j] * g();
  double total = 0;
  for (std::size_t k = 0; k < K; k++) cumulative[k] = total += 1.0 / std::sqrt(k + 1.0);
  const double noise = std::sqrt(o.noise / (1.0 - o.noise) * energy / D);

  auto point = [&](float* out) {
    double u = (g.Below(1ull << 53) * 0x1.0p-53) * total;
    std::size_t k = std::upper_bound(cumulative.begin(), cumulative.end(), u) - cumulative.begin();
    k = std::min(k, K - 1);
    std::vector<double> z(r), x(D);
    for (std::size_t j = 0; j < r; j++) z[j] = centres[k * r + j] + o.spread * spectrum[j] * g();
    double norm = 0;
    for (std::size_t i = 0; i < D; i++) {
      double v = noise * g();
      for (std::size_t j = 0; j < r; j++) v += basis[i * r + j] * z[j];
      x[i] = v;
      norm += v * v;
    }
    norm = std::sqrt(norm);
    for (std::size_t i = 0; i < D; i++) out[i] = static_cast<float>(x[i] / norm);
  };
  Data d;
  d.dim = D;
  std::size_t n = o.rows, nq = o.queries;
  d.base.resize(n * D);
  d.queries.resize(nq * D);
  for (std::size_t i = 0; i < n; i++) point(d.base.data() + i * D);
  for (std::size_t q = 0; q < nq; q++) point(d.queries.data() + q * D);
  return d;
}

using GroundTruthIds = std::vector<std::vector<int>>;

struct Point {
  int ef;
  double recall, qps, p50_ms, p99_ms;
};

// One sweep: "" in build and wide mode, "fresh" and "settled" in stream mode.
struct Phase {
  std::string name;
  std::vector<Point> points;
};

struct Result {
  std::string name;
  double load_s = 0, build_s = 0, insert_rate = 0;
  double ingest_rate = 0, batch_p50_ms = 0, batch_p99_ms = 0;
  long long index_bytes = 0;
  std::vector<Phase> phases;
};

// How an engine is set up and tuned.
struct Engine {
  std::string name, db, extension, ef_guc, index_method;
  std::string type = "vector";  // the column's type
  bool is_vecgo() const { return extension == "vecgo"; }
};

// `type` other than vector names the engine "vecgo halfvec" and so on.
Engine MakeEngine(const std::string& engine, const std::string& mode,
                  const std::string& type = "vector") {
  bool v = engine == "vecgo";
  const std::string suffix = type == "vector" ? "" : "_" + type;
  const std::string opclass = type + "_cosine_ops";
  return {type == "vector" ? engine : engine + " " + type,
          "bench_" + (mode == "build" ? "" : mode + "_") + engine + suffix,
          v ? "vecgo" : "vector",
          v ? "vecgo.ef_search" : "hnsw.ef_search",
          v ? "USING vecgo (%s " + opclass + ")"
            : "USING hnsw (%s " + opclass + ") WITH (m = 16, ef_construction = 64)",
          type};
}

// The table: build mode keeps its historical shape, the other modes the
// plain `(id int, v vector(N))`.
struct Table {
  std::string col, id_decl;
};

Table TableFor(const Options& o) {
  return o.mode == "build" ? Table{"embedding", "id int PRIMARY KEY"} : Table{"v", "id int"};
}

void CreateTable(Conn& c, const Table& t, std::size_t dim, const std::string& type = "vector") {
  c.Exec("CREATE TABLE items (" + t.id_decl + ", " + t.col + " " + type + "(" +
         std::to_string(dim) + "))");
}

std::string CreateIndexSql(const Engine& e, const Table& t) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), e.index_method.c_str(), t.col.c_str());
  return "CREATE INDEX items_idx ON items " + std::string(buf);
}

void RecreateDatabase(const Options& o, const std::string& db) {
  Conn admin(o.conninfo + " dbname=postgres");
  admin.Exec("DROP DATABASE IF EXISTS " + db);
  admin.Exec("CREATE DATABASE " + db);
}

void SessionSettings(Conn& c) {
  c.Exec("SET maintenance_work_mem = '4GB'");
  c.Exec("SET max_parallel_maintenance_workers = 1");
  c.Exec("SET max_parallel_workers_per_gather = 0");
}

long long IndexBytes(Conn& c) {
  return std::atoll(c.Value("SELECT pg_relation_size('items_idx')").c_str());
}

void PrintTiers(Conn& c, const Engine& e, const char* when) {
  if (!e.is_vecgo()) return;
  std::printf("\n[%s] vecgo_index_info %s:\n\n", e.name.c_str(), when);
  PrintTable(c, "SELECT * FROM vecgo_index_info('items_idx')");
  std::printf("\n");
}

void CopyRows(Conn& c, const Data& d, std::size_t from, std::size_t to, const Table& t) {
  CopyBaseRows(c, d, from, to, t.col);
}

double InsertRate(Conn& c, const Data& d, std::size_t count, int first_id, const Table& t) {
  PGresult* r =
      PQprepare(c.get(), "ins", ("INSERT INTO items (id, " + t.col + ") VALUES ($1, $2)").c_str(),
                2, nullptr);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    Die(std::string("prepare: ") + PQerrorMessage(c.get()));
  PQclear(r);
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < count; i++) {
    std::string id = std::to_string(first_id + static_cast<int>(i));
    std::string v = VectorText(d.queries.data() + (i % d.nq()) * d.dim, d.dim);
    const char* params[2] = {id.c_str(), v.c_str()};
    r = PQexecPrepared(c.get(), "ins", 2, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
      Die(std::string("insert: ") + PQerrorMessage(c.get()));
    PQclear(r);
  }
  double s = Seconds(t0, Clock::now());
  c.Exec("DEALLOCATE ins");
  return count / s;
}

// recall@10, queries/s and latency per ef_search; `label` prefixes each line.
std::vector<Point> Sweep(Conn& c, const Engine& e, const Table& t, const Data& d,
                         const GroundTruthIds& gt, const std::vector<int>& efs,
                         const std::string& label) {
  std::string knn = "SELECT id FROM items ORDER BY " + t.col + " <=> $1 LIMIT 10";
  PGresult* r = PQprepare(c.get(), "knn", knn.c_str(), 1, nullptr);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    Die(std::string("prepare: ") + PQerrorMessage(c.get()));
  PQclear(r);
  std::vector<std::string> qtext(d.nq());
  for (std::size_t q = 0; q < d.nq(); q++)
    qtext[q] = VectorText(d.queries.data() + q * d.dim, d.dim);
  r = c.Query("EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY " + t.col + " <=> '" + qtext[0] +
              "' LIMIT 10");
  std::string plan;
  for (int i = 0; i < PQntuples(r); i++) plan += std::string(PQgetvalue(r, i, 0)) + "\n";
  PQclear(r);
  if (plan.find("items_idx") == std::string::npos)
    std::printf("[%s] the plan does not use the index:\n%s", label.c_str(), plan.c_str());

  std::vector<Point> points;
  for (int ef : efs) {
    c.Exec("SET " + e.ef_guc + " = " + std::to_string(ef));
    // Warm-up pass (caches), then the timed pass.
    for (std::size_t q = 0; q < std::min<std::size_t>(50, d.nq()); q++) {
      const char* p[1] = {qtext[q].c_str()};
      PQclear(PQexecPrepared(c.get(), "knn", 1, p, nullptr, nullptr, 0));
    }
    std::vector<double> lat(d.nq());
    double hits = 0;
    auto s0 = Clock::now();
    for (std::size_t q = 0; q < d.nq(); q++) {
      const char* p[1] = {qtext[q].c_str()};
      auto q0 = Clock::now();
      r = PQexecPrepared(c.get(), "knn", 1, p, nullptr, nullptr, 0);
      lat[q] = Seconds(q0, Clock::now()) * 1000.0;
      if (PQresultStatus(r) != PGRES_TUPLES_OK)
        Die(std::string("query: ") + PQerrorMessage(c.get()));
      for (int i = 0; i < PQntuples(r); i++) {
        int id = std::atoi(PQgetvalue(r, i, 0));
        if (std::find(gt[q].begin(), gt[q].end(), id) != gt[q].end()) hits++;
      }
      PQclear(r);
    }
    double secs = Seconds(s0, Clock::now());
    std::sort(lat.begin(), lat.end());
    Point pt{ef, hits / (10.0 * d.nq()), d.nq() / secs, Percentile(lat, 50), Percentile(lat, 99)};
    points.push_back(pt);
    std::printf("[%s] ef_search %4d  recall@10 %.4f  %8.1f q/s  p50 %.2f ms  p99 %.2f ms\n",
                label.c_str(), ef, pt.recall, pt.qps, pt.p50_ms, pt.p99_ms);
    std::fflush(stdout);
  }
  c.Exec("DEALLOCATE knn");
  return points;
}

// Build and wide mode: COPY into an unindexed table, CREATE INDEX, sweep;
// build mode then measures single-row inserts.
Result RunBuild(const Options& o, const Data& d, const GroundTruthIds& gt, const Engine& e) {
  const Table t = TableFor(o);
  const std::string& name = e.name;
  bool reuse = false;
  {
    Conn admin(o.conninfo + " dbname=postgres");
    if (o.reuse &&
        admin.Value("SELECT count(*) FROM pg_database WHERE datname = '" + e.db + "'") == "1") {
      Conn probe(o.conninfo + " dbname=" + e.db);
      reuse = probe.Value("SELECT count(*) FROM pg_class WHERE relname = 'items_idx'") == "1";
    }
  }
  if (!reuse) RecreateDatabase(o, e.db);
  Conn c(o.conninfo + " dbname=" + e.db);
  Result res;
  res.name = name;
  SessionSettings(c);
  if (reuse) std::printf("[%s] reusing the existing table and index\n", name.c_str());
  if (!reuse) {
    c.Exec("CREATE EXTENSION " + e.extension);
    CreateTable(c, t, d.dim, e.type);
    auto t0 = Clock::now();
    CopyRows(c, d, 0, d.n(), t);
    res.load_s = Seconds(t0, Clock::now());
    c.Exec("VACUUM ANALYZE items");
    std::printf("[%s] loaded %zu rows in %.1f s\n", name.c_str(), d.n(), res.load_s);
    std::fflush(stdout);

    t0 = Clock::now();
    c.Exec(CreateIndexSql(e, t));
    res.build_s = Seconds(t0, Clock::now());
    res.index_bytes = IndexBytes(c);
    std::printf("[%s] index built in %.1f s, %.1f MB\n", name.c_str(), res.build_s,
                res.index_bytes / 1048576.0);
    std::fflush(stdout);
    if (o.mode != "build") PrintTiers(c, e, "after CREATE INDEX");
  }
  res.index_bytes = IndexBytes(c);
  res.phases.push_back({"", Sweep(c, e, t, d, gt, o.efs, name)});
  if (o.mode == "build") {
    res.insert_rate = InsertRate(c, d, o.inserts, 10000000, t);
    std::printf("[%s] single-row inserts with the index: %.0f rows/s\n", name.c_str(),
                res.insert_rate);
    std::fflush(stdout);
  }
  return res;
}

// Stream mode: index on the empty table, COPY in batches, sweep fresh, idle,
// sweep settled.
Result RunStream(const Options& o, const Data& d, const GroundTruthIds& gt, const Engine& e) {
  const Table t = TableFor(o);
  const char* name = e.name.c_str();
  RecreateDatabase(o, e.db);
  Conn c(o.conninfo + " dbname=" + e.db);
  SessionSettings(c);
  c.Exec("CREATE EXTENSION " + e.extension);
  CreateTable(c, t, d.dim);
  c.Exec(CreateIndexSql(e, t));
  Result res;
  res.name = e.name;
  std::vector<double> batch_ms;
  auto t0 = Clock::now();
  for (std::size_t at = 0; at < d.n(); at += o.batch) {
    auto b0 = Clock::now();
    CopyRows(c, d, at, std::min(d.n(), at + o.batch), t);
    batch_ms.push_back(Seconds(b0, Clock::now()) * 1000.0);
  }
  double secs = Seconds(t0, Clock::now());
  std::sort(batch_ms.begin(), batch_ms.end());
  res.ingest_rate = d.n() / secs;
  res.batch_p50_ms = Percentile(batch_ms, 50);
  res.batch_p99_ms = Percentile(batch_ms, 99);
  std::printf(
      "[%s] ingested %zu rows by COPY in %zu-row transactions in %.1f s: %.0f rows/s "
      "(per transaction p50 %.1f ms, p99 %.1f ms, max %.1f ms)\n",
      name, d.n(), o.batch, secs, res.ingest_rate, res.batch_p50_ms, res.batch_p99_ms,
      batch_ms.empty() ? 0.0 : batch_ms.back());
  std::fflush(stdout);
  PrintTiers(c, e, "after ingest");
  res.phases.push_back({"fresh", Sweep(c, e, t, d, gt, o.efs, e.name + " fresh")});
  std::printf("[%s] idle %d s\n", name, o.settle);
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(o.settle));
  PrintTiers(c, e, "after settling");
  res.phases.push_back({"settled", Sweep(c, e, t, d, gt, o.efs, e.name + " settled")});
  res.index_bytes = IndexBytes(c);
  // Leave a quiet server to the next engine: the autovacuum that 100k
  // inserts call for runs here, not during the next engine's ingest.
  c.Exec("VACUUM ANALYZE");
  return res;
}

double NoIndexInsertRate(const Options& o, const Data& d) {
  RecreateDatabase(o, "bench_noindex");
  Conn c(o.conninfo + " dbname=bench_noindex");
  c.Exec("CREATE EXTENSION vecgo");
  const Table t = TableFor(o);
  CreateTable(c, t, d.dim);
  return InsertRate(c, d, o.inserts, 1, t);
}

// The fastest point of a sweep at or above min_recall (ef 0: none).
Point Best(const std::vector<Point>& sweep, double min_recall) {
  Point best{0, 0, 0, 0, 0};
  for (auto& p : sweep)
    if (p.recall >= min_recall && p.qps > best.qps) best = p;
  return best;
}

std::string BestText(const Point& p) {
  if (p.ef == 0) return "not reached";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.1f (ef %d)", p.qps, p.ef);
  return buf;
}

std::string Ratio(double a, double b) {
  if (a <= 0 || b <= 0) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2fx", a / b);
  return buf;
}

const Result* Find(const std::vector<Result>& results, const char* name) {
  for (auto& r : results)
    if (r.name == name) return &r;
  return nullptr;
}

// Best q/s at min_recall per engine and phase, then vecgo/pgvector.
void PrintBest(const std::vector<Result>& results, double min_recall) {
  const auto& phases = results.front().phases;
  char at[64];
  std::snprintf(at, sizeof(at), " best q/s at recall@10 >= %.2f", min_recall);
  std::string head = "| engine |", rule = "|---|";
  for (auto& ph : phases) {
    head += at + (ph.name.empty() ? "" : " (" + ph.name + ")") + " |";
    rule += "---|";
  }
  std::printf("\n%s\n%s\n", head.c_str(), rule.c_str());
  for (auto& r : results) {
    std::string line = "| " + r.name + " |";
    for (auto& ph : r.phases) line += " " + BestText(Best(ph.points, min_recall)) + " |";
    std::printf("%s\n", line.c_str());
  }
  const Result* v = Find(results, "vecgo");
  const Result* p = Find(results, "pgvector");
  if (v && p) {
    std::string line = "| vecgo/pgvector |";
    for (std::size_t i = 0; i < phases.size(); i++)
      line += " " +
              Ratio(Best(v->phases[i].points, min_recall).qps,
                    Best(p->phases[i].points, min_recall).qps) +
              " |";
    std::printf("%s\n", line.c_str());
  }
}

void PrintSweeps(const std::vector<Result>& results) {
  bool phased = !results.front().phases.front().name.empty();
  std::printf(
      "\n| engine |%s ef_search | recall@10 | queries/s | p50 ms | p99 ms "
      "|\n|---|%s---|---|---|---|---|\n",
      phased ? " phase |" : "", phased ? "---|" : "");
  for (auto& r : results)
    for (auto& ph : r.phases)
      for (auto& p : ph.points)
        std::printf("| %s |%s %d | %.4f | %.1f | %.2f | %.2f |\n", r.name.c_str(),
                    phased ? (" " + ph.name + " |").c_str() : "", p.ef, p.recall, p.qps, p.p50_ms,
                    p.p99_ms);
}

FILE* OpenCsv(const Options& o, const std::string& file) {
  std::string mk = "mkdir -p '" + o.out_dir + "'";
  if (std::system(mk.c_str()) != 0) Die("cannot create " + o.out_dir);
  std::string path = o.out_dir + "/" + file;
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) Die("cannot write " + path);
  return f;
}

void CloseCsv(const Options& o, FILE* f, const std::string& file) {
  std::fclose(f);
  std::printf("wrote %s/%s\n", o.out_dir.c_str(), file.c_str());
}

void WriteSweepCsv(const Options& o, const std::vector<Result>& results, const std::string& file) {
  bool phased = !results.front().phases.front().name.empty();
  FILE* f = OpenCsv(o, file);
  std::fprintf(f, "engine,%sef_search,recall,qps,p50_ms,p99_ms\n", phased ? "phase," : "");
  for (auto& r : results)
    for (auto& ph : r.phases)
      for (auto& p : ph.points)
        std::fprintf(f, "%s,%s%d,%.5f,%.2f,%.3f,%.3f\n", r.name.c_str(),
                     phased ? (ph.name + ",").c_str() : "", p.ef, p.recall, p.qps, p.p50_ms,
                     p.p99_ms);
  CloseCsv(o, f, file);
}

// Per-engine figures of the stream and wide modes.
void WriteEngineCsv(const Options& o, const std::vector<Result>& results, const std::string& file) {
  FILE* f = OpenCsv(o, file);
  bool stream = o.mode == "stream";
  std::fprintf(f, "engine,%sindex_bytes,min_recall",
               stream ? "ingest_rows_per_s,batch_p50_ms,batch_p99_ms," : "load_s,build_s,");
  for (auto& ph : results.front().phases) {
    std::string p = ph.name.empty() ? "" : ph.name + "_";
    std::fprintf(f, ",%sbest_qps,%sbest_ef", p.c_str(), p.c_str());
  }
  std::fprintf(f, "\n");
  for (auto& r : results) {
    if (stream)
      std::fprintf(f, "%s,%.1f,%.2f,%.2f,", r.name.c_str(), r.ingest_rate, r.batch_p50_ms,
                   r.batch_p99_ms);
    else
      std::fprintf(f, "%s,%.2f,%.2f,", r.name.c_str(), r.load_s, r.build_s);
    std::fprintf(f, "%lld,%.2f", r.index_bytes, o.min_recall);
    for (auto& ph : r.phases) {
      Point b = Best(ph.points, o.min_recall);
      std::fprintf(f, ",%.2f,%d", b.qps, b.ef);
    }
    std::fprintf(f, "\n");
  }
  CloseCsv(o, f, file);
}

void ReportBuild(const Options& o, const Data& d, const std::vector<Result>& results) {
  double noindex = NoIndexInsertRate(o, d);
  std::printf("\n| engine | load s | CREATE INDEX s | index MB | inserts/s (no index: %.0f) |\n",
              noindex);
  std::printf("|---|---|---|---|---|\n");
  for (auto& r : results)
    std::printf("| %s | %.1f | %.1f | %.1f | %.0f |\n", r.name.c_str(), r.load_s, r.build_s,
                r.index_bytes / 1048576.0, r.insert_rate);
  PrintSweeps(results);
  std::printf("\n");
  WriteSweepCsv(o, results, "recall_qps.csv");
}

void ReportStream(const Options& o, const std::vector<Result>& results) {
  std::printf(
      "\n| engine | ingest rows/s | per %zu-row COPY p50 ms | p99 ms | index MB after settling |\n",
      o.batch);
  std::printf("|---|---|---|---|---|\n");
  for (auto& r : results)
    std::printf("| %s | %.0f | %.1f | %.1f | %.1f |\n", r.name.c_str(), r.ingest_rate,
                r.batch_p50_ms, r.batch_p99_ms, r.index_bytes / 1048576.0);
  const Result* v = Find(results, "vecgo");
  const Result* p = Find(results, "pgvector");
  if (v && p)
    std::printf("| vecgo/pgvector | %s | | | |\n", Ratio(v->ingest_rate, p->ingest_rate).c_str());
  PrintSweeps(results);
  PrintBest(results, o.min_recall);
  std::printf("\n");
  WriteSweepCsv(o, results, "stream_recall_qps.csv");
  WriteEngineCsv(o, results, "stream_engines.csv");
}

void ReportWide(const Options& o, const std::vector<Result>& results) {
  std::printf("\n| engine | load s | CREATE INDEX s | index MB |\n|---|---|---|---|\n");
  for (auto& r : results)
    std::printf("| %s | %.1f | %.1f | %.1f |\n", r.name.c_str(), r.load_s, r.build_s,
                r.index_bytes / 1048576.0);
  const Result* v = Find(results, "vecgo");
  const Result* p = Find(results, "pgvector");
  if (v && p)
    std::printf("| vecgo/pgvector | | %s | %s |\n", Ratio(v->build_s, p->build_s).c_str(),
                Ratio(v->index_bytes, p->index_bytes).c_str());
  PrintSweeps(results);
  PrintBest(results, o.min_recall);
  std::printf("\n");
  WriteSweepCsv(o, results, "wide_recall_qps.csv");
  WriteEngineCsv(o, results, "wide_engines.csv");
}

}  // namespace

int main(int argc, char** argv) {
  g_program = "bench_index";
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--mode")
      o.mode = next();
    else if (a == "--conninfo")
      o.conninfo = next();
    else if (a == "--fvecs")
      o.fvecs = next();
    else if (a == "--rows")
      o.rows = std::strtoull(next(), nullptr, 10);
    else if (a == "--queries")
      o.queries = std::strtoull(next(), nullptr, 10);
    else if (a == "--inserts")
      o.inserts = std::strtoull(next(), nullptr, 10);
    else if (a == "--ef")
      o.efs = ParseList(next());
    else if (a == "--out")
      o.out_dir = next();
    else if (a == "--no-pgvector")
      o.pgvector = false;
    else if (a == "--types") {
      o.types.clear();
      std::string list = next();
      for (std::size_t at = 0; at <= list.size();) {
        std::size_t comma = list.find(',', at);
        if (comma == std::string::npos) comma = list.size();
        o.types.push_back(list.substr(at, comma - at));
        at = comma + 1;
      }
    } else if (a == "--no-vecgo")
      o.vecgo = false;
    else if (a == "--reuse")
      o.reuse = true;
    else if (a == "--batch")
      o.batch = std::max<std::size_t>(1, std::strtoull(next(), nullptr, 10));
    else if (a == "--settle")
      o.settle = std::atoi(next());
    else if (a == "--min-recall")
      o.min_recall = std::atof(next());
    else if (a == "--dim")
      o.dim = std::strtoull(next(), nullptr, 10);
    else if (a == "--clusters")
      o.clusters = std::strtoull(next(), nullptr, 10);
    else if (a == "--rank")
      o.rank = std::strtoull(next(), nullptr, 10);
    else if (a == "--spread")
      o.spread = std::atof(next());
    else if (a == "--noise")
      o.noise = std::atof(next());
    else if (a == "--seed")
      o.seed = std::strtoull(next(), nullptr, 10);
    else
      Die("unknown option " + a);
  }
  if (o.mode != "build" && o.mode != "stream" && o.mode != "wide") Die("unknown mode " + o.mode);
  for (const std::string& type : o.types)
    if (type != "vector" && type != "halfvec") Die("--types takes vector and halfvec, not " + type);
  if (o.mode == "stream" && o.types != std::vector<std::string>{"vector"})
    Die("--types is for build and wide mode");
  if (o.mode == "wide" && (o.dim == 0 || o.rank == 0 || o.clusters == 0 || o.queries == 0))
    Die("--dim, --rank, --clusters and --queries must be positive");
  if (o.noise < 0 || o.noise >= 1) Die("--noise must be in [0, 1)");
  if (o.rows == 0 && o.mode != "build") o.rows = o.mode == "stream" ? 100000 : 50000;
  if (o.min_recall == 0) o.min_recall = o.mode == "wide" ? 0.99 : 0.95;
  if (o.efs.empty())
    o.efs = o.mode == "wide" ? std::vector<int>{10, 20, 40, 80, 120, 200, 300, 400, 600, 800}
                             : std::vector<int>{10, 20, 40, 60, 80, 120, 200, 300, 400};

  Data d = o.mode == "wide" ? Generate(o) : LoadFvecs(o.fvecs, o.queries, o.rows);
  if (o.mode == "wide")
    std::printf(
        "synthetic %zu-d: %zu base rows, %zu queries, %zu clusters in a rank-%zu subspace, "
        "seed %llu, cosine, kernels %s\n",
        d.dim, d.n(), d.nq(), o.clusters, o.rank, static_cast<unsigned long long>(o.seed),
        vecgo::simd::active().name);
  else
    std::printf("GloVe-100: %zu base rows, %zu held-out queries, %zu dims, cosine, kernels %s\n",
                d.n(), d.nq(), d.dim, vecgo::simd::active().name);
  auto t0 = Clock::now();
  auto gt = GroundTruth(d, 10);
  std::printf("exact ground truth in %.1f s\n", Seconds(t0, Clock::now()));

  bool have_pgvector = false;
  {
    Conn admin(o.conninfo + " dbname=postgres");
    have_pgvector =
        admin.Value("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") == "1";
  }
  auto run = [&](const char* name, const std::string& type) {
    Engine e = MakeEngine(name, o.mode, type);
    return o.mode == "stream" ? RunStream(o, d, gt, e) : RunBuild(o, d, gt, e);
  };
  // Stream mode runs pgvector first, so that no compaction left over from
  // vecgo's run competes with it; the tables list vecgo first either way.
  std::vector<Result> results;
  bool pg_first = o.mode == "stream";
  std::vector<Result> vecgo_results, pg_results;
  for (const std::string& type : o.types) {
    if (o.pgvector && have_pgvector && pg_first) pg_results.push_back(run("pgvector", type));
    if (o.vecgo) vecgo_results.push_back(run("vecgo", type));
    if (o.pgvector && have_pgvector && !pg_first) pg_results.push_back(run("pgvector", type));
  }
  results = vecgo_results;
  results.insert(results.end(), pg_results.begin(), pg_results.end());
  if (o.pgvector && !have_pgvector)
    std::printf("pgvector is not installed on this server: vecgo only\n");
  if (results.empty()) Die("no engine to run");

  if (o.mode == "build")
    ReportBuild(o, d, results);
  else if (o.mode == "stream")
    ReportStream(o, results);
  else
    ReportWide(o, results);
  return 0;
}
