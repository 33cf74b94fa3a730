// End-to-end index benchmark on GloVe-100 through a running PostgreSQL server:
// load, CREATE INDEX time, index size, recall@10 and queries/s per ef_search
// (single client), p50/p99 latency, and single-row INSERT rate with the index
// (and without any index, as the ceiling). Runs vecgo and, when the server
// has it, pgvector's HNSW in the same run on the same data and queries.
//
//   make bench     (builds this program, starts a throwaway cluster, runs it)
//
// Exact ground truth is computed here with the SIMD kernels (cosine).
#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <queue>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "vecgo/distance.h"

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct Options {
  std::string conninfo = "host=/tmp port=5495 user=postgres";
  std::string fvecs = "data/glove-100.fvecs";
  std::string out_dir = "bench/results";
  std::size_t rows = 0;  // 0 = all but the held-out queries
  std::size_t queries = 1000;
  std::size_t inserts = 2000;
  std::vector<int> efs = {10, 20, 40, 60, 80, 120, 200, 300, 400};
  bool vecgo = true;
  bool pgvector = true;
  bool reuse = false;  // keep an existing table and index (query sweep only)
};

std::vector<int> ParseList(const char* s) {
  std::vector<int> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::atoi(item.c_str()));
  return out;
}

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "bench_index: %s\n", msg.c_str());
  std::exit(1);
}

class Conn {
 public:
  explicit Conn(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) Die(std::string("connect: ") + PQerrorMessage(c_));
  }
  ~Conn() { PQfinish(c_); }
  PGconn* get() { return c_; }
  void Exec(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string err = PQerrorMessage(c_);
      PQclear(r);
      Die("`" + sql.substr(0, 120) + "`: " + err);
    }
    PQclear(r);
  }
  std::string Value(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
      std::string err = PQerrorMessage(c_);
      PQclear(r);
      Die("`" + sql.substr(0, 120) + "`: " + err);
    }
    std::string v = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return v;
  }

 private:
  PGconn* c_;
};

std::string VectorText(const float* v, std::size_t dim) {
  std::string s = "[";
  char buf[32];
  for (std::size_t i = 0; i < dim; i++) {
    std::snprintf(buf, sizeof(buf), i ? ",%.9g" : "%.9g", v[i]);
    s += buf;
  }
  s += "]";
  return s;
}

struct Data {
  std::size_t dim = 0;
  std::vector<float> base, queries;
  std::size_t n() const { return base.size() / dim; }
  std::size_t nq() const { return queries.size() / dim; }
};

Data Load(const Options& o) {
  std::ifstream f(o.fvecs, std::ios::binary);
  if (!f) Die("cannot read " + o.fvecs + " (run scripts/fetch-glove.sh)");
  std::vector<float> all;
  std::int32_t dim = 0;
  while (f.read(reinterpret_cast<char*>(&dim), 4)) {
    std::size_t at = all.size();
    all.resize(at + dim);
    f.read(reinterpret_cast<char*>(all.data() + at), 4 * dim);
  }
  Data d;
  d.dim = dim;
  std::size_t total = all.size() / dim;
  std::vector<std::size_t> idx(total);
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(7);
  std::shuffle(idx.begin(), idx.end(), rng);
  std::size_t nq = std::min(o.queries, total / 10);
  std::size_t n = o.rows ? std::min(o.rows, total - nq) : total - nq;
  d.queries.resize(nq * dim);
  d.base.resize(n * dim);
  for (std::size_t i = 0; i < nq; i++)
    std::copy_n(all.data() + idx[i] * dim, dim, d.queries.data() + i * dim);
  for (std::size_t i = 0; i < n; i++)
    std::copy_n(all.data() + idx[nq + i] * dim, dim, d.base.data() + i * dim);
  return d;
}

// Exact top-10 ids (1-based, as stored) per query under cosine distance.
std::vector<std::vector<int>> GroundTruth(const Data& d, std::size_t k) {
  std::vector<std::vector<int>> gt(d.nq());
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; t++) {
    pool.emplace_back([&, t] {
      for (std::size_t q = t; q < d.nq(); q += threads) {
        std::priority_queue<std::pair<float, int>> heap;
        const float* qv = d.queries.data() + q * d.dim;
        for (std::size_t i = 0; i < d.n(); i++) {
          float dist = vecgo::Distance(vecgo::Metric::Cosine, qv, d.base.data() + i * d.dim, d.dim);
          if (heap.size() < k) {
            heap.push({dist, static_cast<int>(i + 1)});
          } else if (dist < heap.top().first) {
            heap.pop();
            heap.push({dist, static_cast<int>(i + 1)});
          }
        }
        gt[q].resize(heap.size());
        for (std::size_t j = heap.size(); j-- > 0;) {
          gt[q][j] = heap.top().second;
          heap.pop();
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  return gt;
}

struct Point {
  int ef;
  double recall, qps, p50_ms, p99_ms;
};

struct Result {
  std::string name;
  double load_s = 0, build_s = 0, insert_rate = 0;
  long long index_bytes = 0;
  std::vector<Point> sweep;
};

void CopyRows(Conn& c, const Data& d, std::size_t from, std::size_t to) {
  PGresult* start = PQexec(c.get(), "COPY items (id, embedding) FROM STDIN");
  if (PQresultStatus(start) != PGRES_COPY_IN) Die(std::string("COPY: ") + PQerrorMessage(c.get()));
  PQclear(start);
  std::string buf;
  for (std::size_t i = from; i < to; i++) {
    buf += std::to_string(i + 1);
    buf += '\t';
    buf += VectorText(d.base.data() + i * d.dim, d.dim);
    buf += '\n';
    if (buf.size() > (1 << 20) || i + 1 == to) {
      if (PQputCopyData(c.get(), buf.data(), static_cast<int>(buf.size())) != 1)
        Die(std::string("COPY: ") + PQerrorMessage(c.get()));
      buf.clear();
    }
  }
  if (PQputCopyEnd(c.get(), nullptr) != 1) Die(std::string("COPY end: ") + PQerrorMessage(c.get()));
  PGresult* r = PQgetResult(c.get());
  if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(std::string("COPY: ") + PQerrorMessage(c.get()));
  PQclear(r);
  while ((r = PQgetResult(c.get())) != nullptr) PQclear(r);
}

double InsertRate(Conn& c, const Data& d, std::size_t count, int first_id) {
  PGresult* r = PQprepare(c.get(), "ins", "INSERT INTO items (id, embedding) VALUES ($1, $2)", 2,
                          nullptr);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(std::string("prepare: ") + PQerrorMessage(c.get()));
  PQclear(r);
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < count; i++) {
    std::string id = std::to_string(first_id + static_cast<int>(i));
    std::string v = VectorText(d.queries.data() + (i % d.nq()) * d.dim, d.dim);
    const char* params[2] = {id.c_str(), v.c_str()};
    r = PQexecPrepared(c.get(), "ins", 2, params, nullptr, nullptr, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(std::string("insert: ") + PQerrorMessage(c.get()));
    PQclear(r);
  }
  double s = Seconds(t0, Clock::now());
  c.Exec("DEALLOCATE ins");
  return count / s;
}

Result RunEngine(const Options& o, const Data& d, const std::vector<std::vector<int>>& gt,
                 const std::string& name) {
  bool is_vecgo = name == "vecgo";
  std::string db = is_vecgo ? "bench_vecgo" : "bench_pgvector";
  bool reuse = false;
  {
    Conn admin(o.conninfo + " dbname=postgres");
    if (o.reuse && admin.Value("SELECT count(*) FROM pg_database WHERE datname = '" + db + "'") == "1") {
      Conn probe(o.conninfo + " dbname=" + db);
      reuse = probe.Value("SELECT count(*) FROM pg_class WHERE relname = 'items_idx'") == "1";
    }
    if (!reuse) {
      admin.Exec("DROP DATABASE IF EXISTS " + db);
      admin.Exec("CREATE DATABASE " + db);
    }
  }
  Conn c(o.conninfo + " dbname=" + db);
  Result res;
  res.name = name;
  c.Exec("SET maintenance_work_mem = '4GB'");
  c.Exec("SET max_parallel_maintenance_workers = 1");
  c.Exec("SET max_parallel_workers_per_gather = 0");
  if (reuse) std::printf("[%s] reusing the existing table and index\n", name.c_str());
  if (!reuse) {
  c.Exec(is_vecgo ? "CREATE EXTENSION vecgo" : "CREATE EXTENSION vector");
  c.Exec("CREATE TABLE items (id int PRIMARY KEY, embedding vector(" + std::to_string(d.dim) + "))");
  auto t0 = Clock::now();
  CopyRows(c, d, 0, d.n());
  res.load_s = Seconds(t0, Clock::now());
  c.Exec("VACUUM ANALYZE items");
  std::printf("[%s] loaded %zu rows in %.1f s\n", name.c_str(), d.n(), res.load_s);
  std::fflush(stdout);

  std::string create =
      is_vecgo ? "CREATE INDEX items_idx ON items USING vecgo (embedding vector_cosine_ops)"
               : "CREATE INDEX items_idx ON items USING hnsw (embedding vector_cosine_ops) "
                 "WITH (m = 16, ef_construction = 64)";
  t0 = Clock::now();
  c.Exec(create);
  res.build_s = Seconds(t0, Clock::now());
  res.index_bytes = std::atoll(c.Value("SELECT pg_relation_size('items_idx')").c_str());
  std::printf("[%s] index built in %.1f s, %.1f MB\n", name.c_str(), res.build_s,
              res.index_bytes / 1048576.0);
  std::fflush(stdout);
  }  // !reuse
  res.index_bytes = std::atoll(c.Value("SELECT pg_relation_size('items_idx')").c_str());

  PGresult* r = PQprepare(c.get(), "knn", "SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 10",
                          1, nullptr);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(std::string("prepare: ") + PQerrorMessage(c.get()));
  PQclear(r);
  std::vector<std::string> qtext(d.nq());
  for (std::size_t q = 0; q < d.nq(); q++) qtext[q] = VectorText(d.queries.data() + q * d.dim, d.dim);
  std::string plan = c.Value(
      "EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <=> '" + qtext[0] + "' LIMIT 10");
  if (plan.find("Limit") == std::string::npos) std::printf("[%s] plan: %s\n", name.c_str(), plan.c_str());

  for (int ef : o.efs) {
    c.Exec(std::string(is_vecgo ? "SET vecgo.ef_search = " : "SET hnsw.ef_search = ") +
           std::to_string(ef));
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
      if (PQresultStatus(r) != PGRES_TUPLES_OK) Die(std::string("query: ") + PQerrorMessage(c.get()));
      for (int i = 0; i < PQntuples(r); i++) {
        int id = std::atoi(PQgetvalue(r, i, 0));
        if (std::find(gt[q].begin(), gt[q].end(), id) != gt[q].end()) hits++;
      }
      PQclear(r);
    }
    double secs = Seconds(s0, Clock::now());
    std::sort(lat.begin(), lat.end());
    Point pt{ef, hits / (10.0 * d.nq()), d.nq() / secs, lat[lat.size() / 2],
             lat[std::min(lat.size() - 1, lat.size() * 99 / 100)]};
    res.sweep.push_back(pt);
    std::printf("[%s] ef_search %4d  recall@10 %.4f  %8.1f q/s  p50 %.2f ms  p99 %.2f ms\n",
                name.c_str(), ef, pt.recall, pt.qps, pt.p50_ms, pt.p99_ms);
    std::fflush(stdout);
  }
  c.Exec("DEALLOCATE knn");
  res.insert_rate = InsertRate(c, d, o.inserts, 10000000);
  std::printf("[%s] single-row inserts with the index: %.0f rows/s\n", name.c_str(), res.insert_rate);
  std::fflush(stdout);
  return res;
}

double NoIndexInsertRate(const Options& o, const Data& d) {
  {
    Conn admin(o.conninfo + " dbname=postgres");
    admin.Exec("DROP DATABASE IF EXISTS bench_noindex");
    admin.Exec("CREATE DATABASE bench_noindex");
  }
  Conn c(o.conninfo + " dbname=bench_noindex");
  c.Exec("CREATE EXTENSION vecgo");
  c.Exec("CREATE TABLE items (id int PRIMARY KEY, embedding vector(" + std::to_string(d.dim) + "))");
  return InsertRate(c, d, o.inserts, 1);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--conninfo") o.conninfo = next();
    else if (a == "--fvecs") o.fvecs = next();
    else if (a == "--rows") o.rows = std::strtoull(next(), nullptr, 10);
    else if (a == "--queries") o.queries = std::strtoull(next(), nullptr, 10);
    else if (a == "--inserts") o.inserts = std::strtoull(next(), nullptr, 10);
    else if (a == "--ef") o.efs = ParseList(next());
    else if (a == "--out") o.out_dir = next();
    else if (a == "--no-pgvector") o.pgvector = false;
    else if (a == "--no-vecgo") o.vecgo = false;
    else if (a == "--reuse") o.reuse = true;
    else Die("unknown option " + a);
  }
  Data d = Load(o);
  std::printf("GloVe-100: %zu base rows, %zu held-out queries, %zu dims, cosine, kernels %s\n",
              d.n(), d.nq(), d.dim, vecgo::simd::active().name);
  auto t0 = Clock::now();
  auto gt = GroundTruth(d, 10);
  std::printf("exact ground truth in %.1f s\n", Seconds(t0, Clock::now()));

  bool have_pgvector = false;
  {
    Conn admin(o.conninfo + " dbname=postgres");
    have_pgvector = admin.Value("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") == "1";
  }
  std::vector<Result> results;
  if (o.vecgo) results.push_back(RunEngine(o, d, gt, "vecgo"));
  if (o.pgvector && have_pgvector) results.push_back(RunEngine(o, d, gt, "pgvector"));
  if (o.pgvector && !have_pgvector) std::printf("pgvector is not installed on this server: vecgo only\n");
  double noindex = NoIndexInsertRate(o, d);

  std::printf("\n| engine | load s | CREATE INDEX s | index MB | inserts/s (no index: %.0f) |\n", noindex);
  std::printf("|---|---|---|---|---|\n");
  for (auto& r : results)
    std::printf("| %s | %.1f | %.1f | %.1f | %.0f |\n", r.name.c_str(), r.load_s, r.build_s,
                r.index_bytes / 1048576.0, r.insert_rate);
  std::printf("\n| engine | ef_search | recall@10 | queries/s | p50 ms | p99 ms |\n|---|---|---|---|---|---|\n");
  for (auto& r : results)
    for (auto& p : r.sweep)
      std::printf("| %s | %d | %.4f | %.1f | %.2f | %.2f |\n", r.name.c_str(), p.ef, p.recall, p.qps,
                  p.p50_ms, p.p99_ms);

  std::string mk = "mkdir -p '" + o.out_dir + "'";
  if (std::system(mk.c_str()) != 0) Die("cannot create " + o.out_dir);
  std::string csv = o.out_dir + "/recall_qps.csv";
  FILE* f = std::fopen(csv.c_str(), "w");
  if (!f) Die("cannot write " + csv);
  std::fprintf(f, "engine,ef_search,recall,qps,p50_ms,p99_ms\n");
  for (auto& r : results)
    for (auto& p : r.sweep)
      std::fprintf(f, "%s,%d,%.5f,%.2f,%.3f,%.3f\n", r.name.c_str(), p.ef, p.recall, p.qps, p.p50_ms,
                   p.p99_ms);
  std::fclose(f);
  std::printf("\nwrote %s\n", csv.c_str());
  return 0;
}
