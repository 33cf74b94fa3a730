// One server holding every row against a coordinator with the same rows
// hash-partitioned over postgres_fdw shards (scripts/shard-demo.sh starts the
// servers on this machine, loopback only). GloVe-100, cosine, single client.
//
// Setup: on the single server `items (id int PRIMARY KEY, embedding
// vector(100))` by COPY, then CREATE INDEX ... USING vecgo (embedding
// vector_cosine_ops). On each shard the same table (empty); on the
// coordinator the partitioned `items` (hash on id) whose partitions are
// foreign tables on the shards (servers with extensions 'vecgo',
// async_capable 'true', batch_size '1000'). The rows go through the
// coordinator (COPY into a local staging table, then INSERT INTO items
// SELECT: postgres_fdw routes each row to its shard in batches), then every
// shard builds its own index, all shards at once.
//
// Sweep per vecgo.ef_search (on the shards: the servers' `options '-c
// vecgo.ef_search=N -c jit=off'`, which postgres_fdw passes to its shard
// sessions; without jit=off the plain query's cursor, planned for every row,
// is costed past jit_above_cost and each shard JIT-compiles it, about 3 ms a
// query at 170k rows):
//   single    SELECT id FROM items ORDER BY embedding <=> $1 LIMIT 10
//   plain     the same query on the coordinator (a Merge Append over the
//             foreign partitions; postgres_fdw's default fetch_size, 100)
//   plain10   the same with the servers' fetch_size at 10 (the LIMIT)
//   knn       SELECT id FROM vecgo_shard_knn(NULL::items, 'embedding', $1, 10)
//             on the coordinator (every shard's ORDER BY ... LIMIT 10 at once)
// recall@10 against the exact top 10 (computed here), queries/s, p50/p99
// latency, and per query and shard: the rows fetched (pg_stat_statements on
// the shards: the rows of postgres_fdw's FETCH statements), the FETCH round
// trips, the shard's execution time, and the CPU time of the processes (the
// coordinator's backend, the shards' postgres_fdw sessions, the single
// server's backend; from /proc, every server being on this machine): the
// inputs of the N-shard formula in the README.
//
//   make bench-shard   (bash scripts/shard-demo.sh: servers, then this program)
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <queue>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "vecgo/distance.h"

namespace {

using namespace bench;

struct Options {
  std::string single = "host=localhost port=5520 user=postgres dbname=postgres";
  std::string coord = "host=localhost port=5521 user=postgres dbname=postgres";
  std::vector<std::string> shards{"host=localhost port=5522 user=postgres dbname=postgres",
                                  "host=localhost port=5523 user=postgres dbname=postgres"};
  // How the coordinator reaches the shards (postgres_fdw server options).
  std::vector<std::string> shard_addr{"host 'localhost', port '5522'",
                                      "host 'localhost', port '5523'"};
  std::string fvecs = "data/glove-100.fvecs";
  std::size_t rows = 0;  // 0: all but the held-out queries
  std::size_t queries = 1000;
  std::vector<int> efs{10, 20, 40, 80, 120, 200};
  double min_recall = 0.95;
  bool reuse = false;  // keep the loaded tables and indexes
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) out.push_back(item);
  return out;
}

// CPU seconds (user + system) a process has used, from /proc.
double CpuSeconds(const std::string& pid) {
  std::ifstream f("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(f, line)) return 0;
  // Fields after the command name (which may hold spaces): state is field 3,
  // utime field 14, stime field 15.
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; i++)
    if (i >= 14) ticks += std::atof(field.c_str());
  return ticks / sysconf(_SC_CLK_TCK);
}

double CpuSeconds(const std::vector<std::string>& pids) {
  double s = 0;
  for (auto& p : pids) s += CpuSeconds(p);
  return s;
}

struct Point {
  std::string setup;
  int ef = 0;
  double recall = 0, qps = 0, p50 = 0, p99 = 0;
  double rows_per_shard = 0, fetches_per_shard = 0, shard_exec_ms = 0;
  double cpu_client_ms = 0;  // the single server's backend, or the coordinator's
  double cpu_shard_ms = 0;   // per shard: its postgres_fdw session
};

class Bench {
 public:
  Bench(const Options& o, const Data& d, const std::vector<std::vector<int>>& gt)
      : o_(o), d_(d), gt_(gt), single_(o.single), coord_(o.coord) {
    for (auto& s : o.shards) shards_.emplace_back(new Conn(s));
    for (std::size_t q = 0; q < d.nq(); q++)
      qtext_.push_back(VectorText(d.queries.data() + q * d.dim, d.dim));
  }

  void Setup() {
    const std::string table = "items (id int PRIMARY KEY, embedding vector(" +
                              std::to_string(d_.dim) + "))";
    const std::string index =
        "CREATE INDEX items_idx ON items USING vecgo (embedding vector_cosine_ops)";
    if (o_.reuse && single_.Value("SELECT to_regclass('items_idx') IS NOT NULL") == "t") {
      std::printf("reusing the loaded tables and indexes\n");
    } else {
      // One server.
      single_.Exec("DROP TABLE IF EXISTS items");
      single_.Exec("CREATE EXTENSION IF NOT EXISTS vecgo");
      single_.Exec("CREATE TABLE " + table);
      auto t0 = Clock::now();
      CopyBaseRows(single_, d_, 0, d_.n(), "embedding");
      single_.Exec("VACUUM ANALYZE items");
      double load = Seconds(t0, Clock::now());
      t0 = Clock::now();
      single_.Exec("SET maintenance_work_mem = '2GB'");
      single_.Exec(index);
      std::printf("single server: %zu rows loaded in %.1f s, index built in %.1f s\n", d_.n(), load,
                  Seconds(t0, Clock::now()));
      std::fflush(stdout);

      // Shards and coordinator.
      for (auto& s : shards_) {
        s->Exec("DROP TABLE IF EXISTS items");
        s->Exec("CREATE EXTENSION IF NOT EXISTS vecgo");
        s->Exec("CREATE TABLE " + table);
      }
      coord_.Exec("DROP TABLE IF EXISTS items, staging");
      coord_.Exec("CREATE EXTENSION IF NOT EXISTS vecgo");
      coord_.Exec("CREATE EXTENSION IF NOT EXISTS postgres_fdw");
      std::size_t n = shards_.size();
      coord_.Exec("CREATE TABLE items (id int, embedding vector(" + std::to_string(d_.dim) +
                  ")) PARTITION BY HASH (id)");
      for (std::size_t i = 0; i < n; i++) {
        std::string srv = "shard" + std::to_string(i + 1);
        coord_.Exec("DROP SERVER IF EXISTS " + srv + " CASCADE");
        coord_.Exec("CREATE SERVER " + srv + " FOREIGN DATA WRAPPER postgres_fdw OPTIONS (" +
                    o_.shard_addr[i] +
                    ", dbname 'postgres', extensions 'vecgo', async_capable 'true', "
                    "batch_size '1000', fetch_size '100', options '-c vecgo.ef_search=200 -c jit=off')");
        coord_.Exec("CREATE USER MAPPING FOR CURRENT_USER SERVER " + srv +
                    " OPTIONS (user 'postgres')");
        coord_.Exec("CREATE FOREIGN TABLE items_" + std::to_string(i) +
                    " PARTITION OF items FOR VALUES WITH (MODULUS " + std::to_string(n) +
                    ", REMAINDER " + std::to_string(i) + ") SERVER " + srv +
                    " OPTIONS (table_name 'items')");
      }
      coord_.Exec("CREATE UNLOGGED TABLE staging (id int, embedding vector(" +
                  std::to_string(d_.dim) + "))");
      t0 = Clock::now();
      CopyInto(coord_, "staging");
      coord_.Exec("INSERT INTO items SELECT * FROM staging");
      coord_.Exec("DROP TABLE staging");
      load = Seconds(t0, Clock::now());
      std::string counts;
      for (auto& s : shards_) {
        s->Exec("VACUUM ANALYZE items");
        counts += (counts.empty() ? "" : " + ") + s->Value("SELECT count(*) FROM items");
      }
      std::printf("coordinator: %zu rows loaded through it in %.1f s (%s per shard)\n", d_.n(), load,
                  counts.c_str());
      std::fflush(stdout);
      // Every shard builds its index, all at once.
      t0 = Clock::now();
      std::vector<std::thread> builds;
      for (auto& s : shards_)
        builds.emplace_back([&s, &index] {
          s->Exec("SET maintenance_work_mem = '2GB'");
          s->Exec(index);
        });
      for (auto& th : builds) th.join();
      std::printf("shards: indexes built in %.1f s (all shards at once)\n", Seconds(t0, Clock::now()));
      coord_.Exec("ANALYZE items");
    }
    for (auto& s : shards_) s->Exec("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
    bytes_per_row_ = std::atof(shards_[0]
                                   ->Value("SELECT avg(octet_length(id::text) + "
                                           "octet_length(embedding::text)) FROM "
                                           "(SELECT * FROM items LIMIT 1000) s")
                                   .c_str());
    std::printf("a row in text form (as postgres_fdw fetches it): %.0f bytes\n", bytes_per_row_);
    std::fflush(stdout);
  }

  // Sweeps every setup; returns the points.
  std::vector<Point> Run() {
    std::vector<Point> pts;
    for (int ef : o_.efs) {
      pts.push_back(Sweep("single", ef));
      pts.push_back(Sweep("plain", ef));
      pts.push_back(Sweep("plain10", ef));
      pts.push_back(Sweep("knn", ef));
    }
    return pts;
  }

 public:
  double bytes_per_row() const { return bytes_per_row_; }

 private:
  Point Sweep(const std::string& setup, int ef);
  // COPY every base row into `table` (id, embedding) of c; row i has id i + 1.
  void CopyInto(Conn& c, const std::string& table);

  const Options& o_;
  const Data& d_;
  const std::vector<std::vector<int>>& gt_;
  Conn single_, coord_;
  std::vector<std::unique_ptr<Conn>> shards_;
  std::vector<std::string> qtext_;
  double bytes_per_row_ = 0;
};

void Bench::CopyInto(Conn& c, const std::string& table) {
  CopyBaseRows(c, d_, 0, d_.n(), "embedding", table);
}

Point Bench::Sweep(const std::string& setup, int ef) {
  const bool sharded = setup != "single";
  Conn& c = sharded ? coord_ : single_;
  if (sharded) {
    // postgres_fdw drops its connections to a server whose options change and
    // opens new ones with the new setting at the next query.
    for (std::size_t i = 0; i < shards_.size(); i++)
      c.Exec("ALTER SERVER shard" + std::to_string(i + 1) + " OPTIONS (SET options '-c vecgo.ef_search=" +
             std::to_string(ef) + " -c jit=off', SET fetch_size '" + (setup == "plain10" ? "10" : "100") + "')");
  } else {
    c.Exec("SET vecgo.ef_search = " + std::to_string(ef));
  }
  const std::string sql =
      setup == "knn" ? "SELECT id FROM vecgo_shard_knn(NULL::items, 'embedding', $1::vector, 10)"
                     : "SELECT id FROM items ORDER BY embedding <=> $1::vector LIMIT 10";
  PGresult* r = PQprepare(c.get(), "q", sql.c_str(), 1, nullptr);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) Die(std::string("prepare: ") + PQerrorMessage(c.get()));
  PQclear(r);
  auto run = [&](std::size_t q) {
    const char* p[1] = {qtext_[q].c_str()};
    PGresult* res = PQexecPrepared(c.get(), "q", 1, p, nullptr, nullptr, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) Die(std::string("query: ") + PQerrorMessage(c.get()));
    return res;
  };
  for (std::size_t q = 0; q < std::min<std::size_t>(50, d_.nq()); q++) PQclear(run(q));

  // The processes that do the work, and their CPU time so far.
  std::vector<std::string> client{c.Value("SELECT pg_backend_pid()")}, fdw;
  for (auto& s : shards_) {
    if (sharded)
      for (auto& pid : Split(s->Value("SELECT string_agg(pid::text, ',') FROM pg_stat_activity "
                                      "WHERE application_name = 'postgres_fdw'"),
                             ','))
        fdw.push_back(pid);
    s->Exec("SELECT pg_stat_statements_reset()");
  }
  double cpu_client0 = CpuSeconds(client), cpu_fdw0 = CpuSeconds(fdw);

  std::vector<double> lat(d_.nq());
  double hits = 0;
  auto s0 = Clock::now();
  for (std::size_t q = 0; q < d_.nq(); q++) {
    auto q0 = Clock::now();
    PGresult* res = run(q);
    lat[q] = Seconds(q0, Clock::now()) * 1000.0;
    for (int i = 0; i < PQntuples(res); i++) {
      int id = std::atoi(PQgetvalue(res, i, 0));
      if (std::find(gt_[q].begin(), gt_[q].end(), id) != gt_[q].end()) hits++;
    }
    PQclear(res);
  }
  double secs = Seconds(s0, Clock::now());
  const double nq = static_cast<double>(d_.nq());
  Point pt;
  pt.setup = setup;
  pt.ef = ef;
  pt.cpu_client_ms = (CpuSeconds(client) - cpu_client0) * 1000.0 / nq;
  pt.cpu_shard_ms = sharded ? (CpuSeconds(fdw) - cpu_fdw0) * 1000.0 / nq / shards_.size() : 0;
  std::sort(lat.begin(), lat.end());
  pt.recall = hits / (10.0 * nq);
  pt.qps = nq / secs;
  pt.p50 = Percentile(lat, 50);
  pt.p99 = Percentile(lat, 99);
  if (sharded) {
    for (auto& s : shards_) {
      PGresult* st = s->Query(
          "SELECT coalesce(sum(rows) FILTER (WHERE query ~* '^fetch'), 0), "
          "coalesce(sum(calls) FILTER (WHERE query ~* '^fetch'), 0), "
          "coalesce(sum(total_exec_time) FILTER (WHERE query !~ 'pg_stat'), 0) "
          "FROM pg_stat_statements");
      pt.rows_per_shard += std::atof(PQgetvalue(st, 0, 0)) / nq / shards_.size();
      pt.fetches_per_shard += std::atof(PQgetvalue(st, 0, 1)) / nq / shards_.size();
      pt.shard_exec_ms += std::atof(PQgetvalue(st, 0, 2)) / nq / shards_.size();
      PQclear(st);
    }
  }
  c.Exec("DEALLOCATE q");
  std::printf("[%-7s] ef_search %4d  recall@10 %.4f  %7.1f q/s  p50 %.2f ms  p99 %.2f ms", setup.c_str(),
              ef, pt.recall, pt.qps, pt.p50, pt.p99);
  if (sharded)
    std::printf("  per shard: %.1f rows, %.2f fetches, %.2f ms", pt.rows_per_shard, pt.fetches_per_shard,
                pt.shard_exec_ms);
  std::printf("\n");
  std::fflush(stdout);
  return pt;
}

void PrintTables(const std::vector<Point>& pts, double min_recall, double bytes_per_row,
                 std::size_t nshards) {
  std::printf(
      "\n| setup | ef_search | recall@10 | q/s | p50 ms | p99 ms | rows/query/shard | "
      "KB/query/shard | FETCHes/query/shard | shard exec ms/query | CPU ms/query: "
      "backend | CPU ms/query: each shard |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (auto& p : pts) {
    bool sh = p.setup != "single";
    std::printf("| %s | %d | %.4f | %.1f | %.2f | %.2f | %s | %s | %s | %s | %.2f | %s |\n",
                p.setup.c_str(), p.ef, p.recall, p.qps, p.p50, p.p99,
                sh ? std::to_string(p.rows_per_shard).substr(0, 5).c_str() : "",
                sh ? std::to_string(p.rows_per_shard * bytes_per_row / 1024).substr(0, 5).c_str() : "",
                sh ? std::to_string(p.fetches_per_shard).substr(0, 4).c_str() : "",
                sh ? std::to_string(p.shard_exec_ms).substr(0, 5).c_str() : "", p.cpu_client_ms,
                sh ? std::to_string(p.cpu_shard_ms).substr(0, 5).c_str() : "");
  }
  std::printf("\nBest q/s at recall@10 >= %.2f (%zu shards, every server on this machine):\n\n",
              min_recall, nshards);
  std::printf(
      "| setup | ef_search | recall@10 | q/s | p50 ms | p99 ms | rows/query/shard | CPU ms/query: "
      "backend | CPU ms/query: each shard |\n|---|---|---|---|---|---|---|---|---|\n");
  for (const char* setup : {"single", "plain", "plain10", "knn"}) {
    const Point* best = nullptr;
    for (auto& p : pts)
      if (p.setup == setup && p.recall >= min_recall && (!best || p.qps > best->qps)) best = &p;
    if (!best) {
      std::printf("| %s | not reached | | | | | | | |\n", setup);
      continue;
    }
    bool sh = best->setup != "single";
    std::printf("| %s | %d | %.4f | %.1f | %.2f | %.2f | %s | %.2f | %s |\n", setup, best->ef,
                best->recall, best->qps, best->p50, best->p99,
                sh ? std::to_string(best->rows_per_shard).substr(0, 5).c_str() : "",
                best->cpu_client_ms, sh ? std::to_string(best->cpu_shard_ms).substr(0, 5).c_str() : "");
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  g_program = "bench_shard";
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--single")
      o.single = next();
    else if (a == "--coord")
      o.coord = next();
    else if (a == "--shards")
      o.shards = Split(next(), ';');
    else if (a == "--shard-addr")
      o.shard_addr = Split(next(), ';');
    else if (a == "--fvecs")
      o.fvecs = next();
    else if (a == "--rows")
      o.rows = std::strtoull(next(), nullptr, 10);
    else if (a == "--queries")
      o.queries = std::strtoull(next(), nullptr, 10);
    else if (a == "--ef") {
      o.efs.clear();
      for (auto& e : Split(next(), ',')) o.efs.push_back(std::atoi(e.c_str()));
    } else if (a == "--min-recall")
      o.min_recall = std::atof(next());
    else if (a == "--reuse")
      o.reuse = true;
    else
      Die("unknown option " + a);
  }
  if (o.shards.size() != o.shard_addr.size()) Die("--shards and --shard-addr differ in length");
  Data d = LoadFvecs(o.fvecs, o.queries, o.rows);
  std::printf("GloVe-100: %zu base rows, %zu held-out queries, cosine, %zu shards\n", d.n(), d.nq(),
              o.shards.size());
  auto t0 = Clock::now();
  auto gt = GroundTruth(d, 10);
  std::printf("exact ground truth in %.1f s\n", Seconds(t0, Clock::now()));
  std::fflush(stdout);
  Bench b(o, d, gt);
  b.Setup();
  auto pts = b.Run();
  PrintTables(pts, o.min_recall, b.bytes_per_row(), o.shards.size());
  return 0;
}
