// Sustained mixed load through a running PostgreSQL server: vecgo and (when
// the server has it) pgvector's HNSW (m 16, ef_construction 64), one after
// the other in the same run, each in its own database (both define a type
// `vector`).
//
// Per engine: a table (id bigint primary key, v vector(100)) gets
// --initial-rows GloVe-100 rows by COPY, then CREATE INDEX (vector_cosine_ops;
// vecgo with its defaults). Then, for --duration seconds, at once:
//   - --inserters clients COPY further GloVe rows in --insert-batch-row
//     transactions, as fast as they can (or --insert-rate rows/s in all);
//     row id k holds base vector (k - 1) mod n, so ids stay fresh when the
//     vectors are used up;
//   - --searchers clients run `ORDER BY v <=> $1 LIMIT 10` (a prepared
//     statement) with random held-out queries, back to back, at the fixed
//     ef_search of --ef-vecgo / --ef-pgvector;
//   - --deleters clients delete random ids, --delete-batch per transaction,
//     keeping the rows deleted near --delete-ratio of the rows inserted, so
//     the table both grows and churns;
//   - autovacuum as the server has it (on by default), and vecgo's
//     compaction worker.
// Every --interval seconds the main thread samples rows inserted/s and
// deleted/s, searches/s and their p50/p99 latency over the interval, the
// index size and vecgo's tiers (vecgo_index_info: segments, L0 log rows,
// MemTable rows); every --recall-every seconds (and at t = 0 and at the end)
// it measures recall@10 on the table as it is, for the first
// --recall-queries held-out queries, in one REPEATABLE READ snapshot (see
// MeasureRecall).
//
// Any SQL error in any client is counted, printed (the first few of each
// kind with the time, the client and the SQLSTATE) and summarised; so is a
// failed job of vecgo's compaction worker (vecgo_index_info.worker_job).
//
// vecgo runs first. After each engine its database is dropped and a
// checkpoint taken, so the other engine inherits none of its background work
// (pgvector's autovacuum of a large HNSW graph, vecgo's compactions) and the
// order does not favour either; vecgo first means a shortened or interrupted
// run still measures the engine under development.
//
// Prints a table per interval while running and a summary per engine, and
// writes --out/mixed_timeline.csv (plotted by bench/run_bench.sh).
//
//   make bench-mixed BENCH_ARGS="--duration 60"
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench_common.h"
#include "vecgo/distance.h"

namespace {

using namespace bench;

struct Options {
  std::string conninfo = "host=/tmp port=5495 user=postgres";
  std::string fvecs = "data/glove-100.fvecs";
  std::string out_dir = "bench/results";
  int duration = 600;  // seconds of mixed load per engine
  std::size_t initial_rows = 50000;
  std::size_t queries = 1000;  // held-out query vectors (never inserted)
  int inserters = 4, searchers = 2, deleters = 1;
  int ef_vecgo = 40, ef_pgvector = 100;
  std::size_t insert_batch = 100, delete_batch = 20;
  double insert_rate = 0;      // rows/s of all inserters together, 0 for as fast as they can
  double delete_ratio = 0.25;  // rows deleted per row inserted
  int interval = 10, recall_every = 30;
  std::size_t recall_queries = 20;
  bool vecgo = true, pgvector = true;
};

struct Engine {
  std::string name, db, extension, ef_guc, create_index;
  int ef;
  bool is_vecgo() const { return name == "vecgo"; }
};

Engine MakeEngine(const std::string& name, const Options& o) {
  if (name == "vecgo")
    return {name,
            "bench_mixed_vecgo",
            "vecgo",
            "vecgo.ef_search",
            "CREATE INDEX items_idx ON items USING vecgo (v vector_cosine_ops)",
            o.ef_vecgo};
  return {name,
          "bench_mixed_pgvector",
          "vector",
          "hnsw.ef_search",
          "CREATE INDEX items_idx ON items USING hnsw (v vector_cosine_ops) "
          "WITH (m = 16, ef_construction = 64)",
          o.ef_pgvector};
}

// Every error of a run: counted, the first kPrinted of each (SQLSTATE,
// message) printed when it happens, all of them summarised at the end.
class ErrorLog {
 public:
  explicit ErrorLog(std::string engine) : engine_(std::move(engine)), start_(Clock::now()) {}

  // `r` may be null (a connection that failed or was lost).
  void Add(const std::string& who, PGconn* c, const PGresult* r) {
    std::string state = "-----", message;
    if (r && PQresultErrorField(r, PG_DIAG_SQLSTATE)) {
      state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
      const char* detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL);
      message = primary ? primary : "";
      if (detail) message += std::string(" (") + detail + ")";
    } else {
      message = c ? PQerrorMessage(c) : "no connection";
      while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
        message.pop_back();
    }
    Record(who, state, message);
  }

  void Record(const std::string& who, const std::string& state, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    double t = Seconds(start_, Clock::now());
    Kind& k = kinds_[{state, message}];
    if (k.count++ == 0) k.first_s = t;
    k.last_s = t;
    total_++;
    if (k.count <= kPrinted)
      std::printf("!! [%s] error at %.1f s in %s: SQLSTATE %s: %s%s\n", engine_.c_str(), t,
                  who.c_str(), state.c_str(), message.c_str(),
                  k.count == kPrinted ? " (further ones of this kind only counted)" : "");
    std::fflush(stdout);
  }

  long long total() const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_;
  }

  void PrintSummary() const {
    std::lock_guard<std::mutex> lock(mu_);
    if (total_ == 0) return;
    std::printf(
        "\n[%s] %lld errors:\n\n| SQLSTATE | message | count | first s | last s |\n"
        "|---|---|---|---|---|\n",
        engine_.c_str(), total_);
    for (auto& [key, k] : kinds_)
      std::printf("| %s | %s | %lld | %.1f | %.1f |\n", key.first.c_str(), key.second.c_str(),
                  k.count, k.first_s, k.last_s);
  }

 private:
  static constexpr long long kPrinted = 5;
  struct Kind {
    long long count = 0;
    double first_s = 0, last_s = 0;
  };
  std::string engine_;
  Clock::time_point start_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, Kind> kinds_;
  long long total_ = 0;
};

// A connection of the load: a failed statement is logged and counted, never
// fatal; a lost connection is made again (with its settings and prepared
// statements) at the next Ready().
class Client {
 public:
  Client(std::string conninfo, std::string who, ErrorLog& log, std::vector<std::string> setup,
         std::vector<std::pair<std::string, std::string>> prepared = {})
      : conninfo_(std::move(conninfo)),
        who_(std::move(who)),
        log_(log),
        setup_(std::move(setup)),
        prepared_(std::move(prepared)) {}
  ~Client() { PQfinish(c_); }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  PGconn* get() { return c_; }

  // Connected and set up; false (the failure logged) when not.
  bool Ready() {
    if (c_ && PQstatus(c_) == CONNECTION_OK) return true;
    PQfinish(c_);
    c_ = PQconnectdb(conninfo_.c_str());
    if (PQstatus(c_) != CONNECTION_OK) {
      log_.Add(who_, c_, nullptr);
      return false;
    }
    for (auto& sql : setup_)
      if (!Exec(sql)) return false;
    for (auto& [name, sql] : prepared_)
      if (!Ok(PQprepare(c_, name.c_str(), sql.c_str(), 0, nullptr))) return false;
    return true;
  }

  // `r` when its status is `want`; otherwise the error is logged, `r`
  // cleared and null returned.
  PGresult* Take(PGresult* r, ExecStatusType want) {
    if (r && PQresultStatus(r) == want) return r;
    log_.Add(who_, c_, r);
    PQclear(r);
    return nullptr;
  }
  bool Ok(PGresult* r) {
    r = Take(r, PGRES_COMMAND_OK);
    PQclear(r);
    return r != nullptr;
  }
  bool Exec(const std::string& sql) { return Ok(PQexec(c_, sql.c_str())); }
  void Fail(const std::string& message) { log_.Record(who_, "bench", message); }
  PGresult* Rows(const std::string& sql) { return Take(PQexec(c_, sql.c_str()), PGRES_TUPLES_OK); }
  const std::string& who() const { return who_; }

 private:
  std::string conninfo_, who_;
  ErrorLog& log_;
  std::vector<std::string> setup_;
  std::vector<std::pair<std::string, std::string>> prepared_;
  PGconn* c_ = nullptr;
};

// What the load threads share with the monitor.
struct Load {
  std::atomic<bool> stop{false};
  std::atomic<long long> next_id{1};  // the next row id to insert
  std::atomic<long long> inserted{0}, deleted{0}, short_answers{0};
  std::mutex mu;
  std::vector<double> latencies_ms;  // of the searches since the last sample
};

const char* const kKnn = "SELECT id FROM items ORDER BY v <=> $1 LIMIT 10";

// The settings of every connection: no parallel workers and no JIT (the
// exact scans of the recall check would otherwise take the cores from the
// load or compile), and a statement timeout so that a statement that hangs
// shows up as an error instead of stalling the run.
std::vector<std::string> SessionSetup(const Engine& e) {
  return {"SET max_parallel_workers_per_gather = 0", "SET jit = off",
          "SET statement_timeout = '120s'", "SET " + e.ef_guc + " = " + std::to_string(e.ef)};
}

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// `rate`: rows/s of this inserter, 0 for as fast as it can.
void Inserter(Client& cl, Load& load, const Data& d, std::size_t batch, double rate) {
  std::string buf;
  const auto start = Clock::now();
  long long sent = 0;  // rows this inserter has tried to insert
  while (!load.stop) {
    if (rate > 0) {
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(sent / rate));
      if (Clock::now() < due) {
        std::this_thread::sleep_for(
            std::min<Clock::duration>(due - Clock::now(), std::chrono::milliseconds(100)));
        continue;
      }
    }
    if (!cl.Ready()) {
      Sleep(200);
      continue;
    }
    long long first = load.next_id.fetch_add(static_cast<long long>(batch));
    sent += static_cast<long long>(batch);
    buf.clear();
    for (long long id = first; id < first + static_cast<long long>(batch); id++) {
      buf += std::to_string(id);
      buf += '\t';
      buf += VectorText(d.base.data() + static_cast<std::size_t>(id - 1) % d.n() * d.dim, d.dim);
      buf += '\n';
    }
    PGresult* r = cl.Take(PQexec(cl.get(), "COPY items (id, v) FROM STDIN"), PGRES_COPY_IN);
    if (!r) continue;
    PQclear(r);
    if (PQputCopyData(cl.get(), buf.data(), static_cast<int>(buf.size())) != 1)
      PQputCopyEnd(cl.get(), "client failed to send rows");
    else
      PQputCopyEnd(cl.get(), nullptr);
    if (cl.Ok(PQgetResult(cl.get()))) load.inserted += static_cast<long long>(batch);
    while ((r = PQgetResult(cl.get())) != nullptr) PQclear(r);
  }
}

void Searcher(Client& cl, Load& load, const std::vector<std::string>& qtext, unsigned seed) {
  std::mt19937_64 rng(seed);
  while (!load.stop) {
    if (!cl.Ready()) {
      Sleep(200);
      continue;
    }
    const char* p[1] = {qtext[rng() % qtext.size()].c_str()};
    auto t0 = Clock::now();
    PGresult* r =
        cl.Take(PQexecPrepared(cl.get(), "knn", 1, p, nullptr, nullptr, 0), PGRES_TUPLES_OK);
    double ms = Seconds(t0, Clock::now()) * 1000.0;
    if (!r) continue;
    if (PQntuples(r) < 10) load.short_answers++;
    PQclear(r);
    std::lock_guard<std::mutex> lock(load.mu);
    load.latencies_ms.push_back(ms);
  }
}

// Deletes random ids below the highest handed out (some already deleted or
// not yet committed: those delete nothing) while the rows deleted are fewer
// than `ratio` of the rows inserted.
void Deleter(Client& cl, Load& load, std::size_t batch, double ratio, unsigned seed) {
  std::mt19937_64 rng(seed);
  while (!load.stop) {
    if (load.deleted >= ratio * load.inserted) {
      Sleep(10);
      continue;
    }
    if (!cl.Ready()) {
      Sleep(200);
      continue;
    }
    long long top = load.next_id - 1;
    std::string ids = "{";
    for (std::size_t i = 0; i < batch; i++) {
      if (i) ids += ',';
      ids += std::to_string(1 + static_cast<long long>(rng() % static_cast<std::uint64_t>(top)));
    }
    ids += '}';
    const char* p[1] = {ids.c_str()};
    PGresult* r =
        cl.Take(PQexecPrepared(cl.get(), "del", 1, p, nullptr, nullptr, 0), PGRES_COMMAND_OK);
    if (!r) continue;
    load.deleted += std::atoll(PQcmdTuples(r));
    PQclear(r);
  }
}

struct Sample {
  double t = 0;
  double inserts_s = 0, deletes_s = 0, qps = 0, p50_ms = 0, p99_ms = 0;
  long long short_answers = 0;  // searches of the interval that returned fewer than 10 rows
  long long rows = 0;
  double index_mb = 0;
  // vecgo's tiers (-1: pgvector, or the query failed).
  long long segments = -1, flat = -1, diskann = -1, l0_rows = -1, memtable_rows = -1;
  double recall = -1, recall_s = 0;  // recall -1: not measured at this sample
  long long errors = 0;
};

struct Result {
  std::string name;
  int ef = 0;
  double load_s = 0, build_s = 0, run_s = 0;
  long long inserted = 0, deleted = 0, searches = 0, short_answers = 0, errors = 0;
  long long dead_rows = 0, autovacuums = 0, autoanalyzes = 0;  // of the table, at the end
  std::vector<double> latencies_ms;  // every search of the run, sorted at the end
  std::vector<Sample> samples;
};

// A big-endian integer of `n` bytes (COPY's binary format).
std::uint64_t BigEndian(const char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; i++) v = v << 8 | static_cast<unsigned char>(p[i]);
  return v;
}

// The cosine distances from the recall queries (the first held-out ones) to
// every base vector, computed once. Row id k holds base vector (k - 1) mod n
// and no row is ever updated, so the ids a snapshot holds determine its
// exact answers.
class QueryDistances {
 public:
  QueryDistances(const Data& d, std::size_t nq) : nq_(std::min(nq, d.nq())), n_(d.n()) {
    dist_.resize(nq_ * n_);
    for (std::size_t q = 0; q < nq_; q++)
      for (std::size_t i = 0; i < n_; i++)
        dist_[q * n_ + i] = vecgo::Distance(vecgo::Metric::Cosine, d.queries.data() + q * d.dim,
                                            d.base.data() + i * d.dim, d.dim);
  }
  std::size_t queries() const { return nq_; }
  float operator()(std::size_t q, long long id) const {
    return dist_[q * n_ + static_cast<std::size_t>(id - 1) % n_];
  }

 private:
  std::size_t nq_, n_;
  std::vector<float> dist_;
};

// recall@10 of the index against the exact answers, both from one REPEATABLE
// READ snapshot; -1 when a statement failed. The exact answers come from the
// snapshot's ids (a binary COPY of the id column) and QueryDistances: an
// exact scan per query (ORDER BY with index scans disabled) would read and
// compare every vector `queries` times, minutes at millions of rows on a
// loaded machine. A returned row that ties the exact 10th neighbour (an
// equal vector under another id) counts as a hit.
double MeasureRecall(Client& m, const QueryDistances& dist, const std::vector<std::string>& qtext) {
  const std::size_t nq = dist.queries();
  std::vector<std::vector<long long>> answer(nq);
  bool ok = m.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  for (std::size_t q = 0; ok && q < nq; q++) {
    const char* p[1] = {qtext[q].c_str()};
    PGresult* r =
        m.Take(PQexecPrepared(m.get(), "knn", 1, p, nullptr, nullptr, 0), PGRES_TUPLES_OK);
    if (!(ok = r != nullptr)) break;
    for (int i = 0; i < PQntuples(r); i++) answer[q].push_back(std::atoll(PQgetvalue(r, i, 0)));
    PQclear(r);
  }
  // Per query, the exact 10 nearest distances: a max-heap.
  std::vector<std::vector<float>> nearest(nq);
  if (ok) {
    PGresult* r = m.Take(PQexec(m.get(), "COPY (SELECT id FROM items) TO STDOUT (FORMAT binary)"),
                         PGRES_COPY_OUT);
    ok = r != nullptr;
    PQclear(r);
  }
  if (ok) {
    bool header = true, layout = true;
    char* buf = nullptr;
    int len;
    while ((len = PQgetCopyData(m.get(), &buf, 0)) > 0) {
      const char* p = buf;
      if (header) {  // signature, flags, extension length, extension
        p += 11 + 8 + BigEndian(p + 15, 4);
        header = false;
      }
      // A row: one field, the id (int8); the trailer: -1.
      const auto fields = static_cast<std::int16_t>(BigEndian(p, 2));
      if (fields == 1 && BigEndian(p + 2, 4) == 8) {
        const auto id = static_cast<long long>(BigEndian(p + 6, 8));
        for (std::size_t q = 0; q < nq; q++) {
          const float x = dist(q, id);
          auto& h = nearest[q];
          if (h.size() < 10) {
            h.push_back(x);
            std::push_heap(h.begin(), h.end());
          } else if (x < h.front()) {
            std::pop_heap(h.begin(), h.end());
            h.back() = x;
            std::push_heap(h.begin(), h.end());
          }
        }
      } else if (fields != -1) {
        layout = false;
      }
      PQfreemem(buf);
    }
    if (!layout) m.Fail("the binary COPY of the ids has rows of an unexpected layout");
    ok = m.Ok(PQgetResult(m.get())) && layout;
    while (PGresult* r = PQgetResult(m.get())) PQclear(r);
  }
  m.Exec(ok ? "COMMIT" : "ROLLBACK");
  if (!ok) return -1;
  std::size_t hits = 0, wanted = 0;
  for (std::size_t q = 0; q < nq; q++) {
    if (nearest[q].empty()) continue;
    const float kth = nearest[q].front();
    wanted += nearest[q].size();
    std::size_t h = 0;
    for (long long id : answer[q])
      if (dist(q, id) <= kth) h++;
    hits += std::min(h, nearest[q].size());
  }
  return wanted ? static_cast<double>(hits) / wanted : 1.0;
}

// The monitor's view of the index: its size, and vecgo's tiers. A failed
// compaction job of vecgo's worker is logged as an error (once per job).
void SampleIndex(Client& m, const Engine& e, ErrorLog& log, std::string& last_failed_job,
                 Sample& s) {
  if (PGresult* r = m.Rows("SELECT pg_relation_size('items_idx')")) {
    s.index_mb = std::atoll(PQgetvalue(r, 0, 0)) / 1048576.0;
    PQclear(r);
  }
  if (!e.is_vecgo()) return;
  PGresult* r = m.Rows(
      "SELECT count(*) FILTER (WHERE kind <> 'l0 log'), count(*) FILTER (WHERE kind = 'flat'), "
      "count(*) FILTER (WHERE kind = 'diskann'), sum(rows) FILTER (WHERE kind = 'l0 log'), "
      "coalesce(sum(memtable_rows) FILTER (WHERE kind = 'l0 log'), 0), "
      "max(worker_finished::text || ' ' || worker_job) FILTER (WHERE worker_job LIKE 'failed%') "
      "FROM vecgo_index_info('items_idx')");
  if (!r) return;
  s.segments = std::atoll(PQgetvalue(r, 0, 0));
  s.flat = std::atoll(PQgetvalue(r, 0, 1));
  s.diskann = std::atoll(PQgetvalue(r, 0, 2));
  s.l0_rows = std::atoll(PQgetvalue(r, 0, 3));
  s.memtable_rows = std::atoll(PQgetvalue(r, 0, 4));
  std::string failed = PQgetisnull(r, 0, 5) ? "" : PQgetvalue(r, 0, 5);
  PQclear(r);
  if (!failed.empty() && failed != last_failed_job) {
    last_failed_job = failed;
    log.Record("the compaction worker", "worker", failed);
  }
}

std::string Tier(long long v) { return v < 0 ? "n/a" : std::to_string(v); }

void PrintSampleHeader() {
  std::printf(
      "\n| engine | t s | inserts/s | deletes/s | searches/s | p50 ms | p99 ms | short | rows | "
      "index MB | segments (flat+diskann) | L0 rows | MemTable rows | recall@10 | recall s | "
      "errors |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
}

void PrintSample(const std::string& engine, const Sample& s) {
  char seg[64], recall[32], recall_s[32];
  if (s.segments < 0)
    std::snprintf(seg, sizeof(seg), "n/a");
  else
    std::snprintf(seg, sizeof(seg), "%lld (%lld+%lld)", s.segments, s.flat, s.diskann);
  std::snprintf(recall, sizeof(recall), s.recall < 0 ? "" : "%.3f", s.recall);
  std::snprintf(recall_s, sizeof(recall_s), s.recall < 0 ? "" : "%.1f", s.recall_s);
  std::printf(
      "| %s | %.0f | %.0f | %.0f | %.0f | %.2f | %.2f | %lld | %lld | %.1f | %s | %s | %s | %s | "
      "%s | %lld |\n",
      engine.c_str(), s.t, s.inserts_s, s.deletes_s, s.qps, s.p50_ms, s.p99_ms, s.short_answers,
      s.rows, s.index_mb, seg, Tier(s.l0_rows).c_str(), Tier(s.memtable_rows).c_str(), recall,
      recall_s, s.errors);
  std::fflush(stdout);
}

void CopyInitialRows(Conn& c, const Data& d, std::size_t rows) { CopyBaseRows(c, d, 0, rows, "v"); }

// Say so when the searches do not use the index.
void CheckPlan(Conn& c, const Engine& e, const std::string& q) {
  PGresult* r =
      c.Query("EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY v <=> '" + q + "' LIMIT 10");
  std::string plan;
  for (int i = 0; i < PQntuples(r); i++) plan += std::string("    ") + PQgetvalue(r, i, 0) + "\n";
  PQclear(r);
  if (plan.find("items_idx") == std::string::npos)
    std::printf("[%s] warning: the searches do not use the index:\n%s", e.name.c_str(),
                plan.c_str());
}

void RecreateDatabase(const Options& o, const std::string& db) {
  Conn admin(o.conninfo + " dbname=postgres");
  admin.Exec("SET client_min_messages = warning");
  admin.Exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
  admin.Exec("CREATE DATABASE " + db);
}

Result Run(const Options& o, const Data& d, const std::vector<std::string>& qtext,
           const QueryDistances& dist, const Engine& e) {
  const char* name = e.name.c_str();
  const std::string conninfo = o.conninfo + " dbname=" + e.db;
  Result res;
  res.name = e.name;
  res.ef = e.ef;
  RecreateDatabase(o, e.db);
  {
    Conn c(conninfo);
    c.Exec("SET maintenance_work_mem = '1GB'");
    c.Exec("SET max_parallel_maintenance_workers = 1");
    c.Exec("CREATE EXTENSION " + e.extension);
    // log_autovacuum_min_duration = 0 only logs: every autovacuum and
    // autoanalyze of the table, and each one skipped because another
    // process held its lock, which nothing else reports.
    c.Exec("CREATE TABLE items (id bigint PRIMARY KEY, v vector(" + std::to_string(d.dim) +
           ")) WITH (log_autovacuum_min_duration = 0)");
    auto t0 = Clock::now();
    CopyInitialRows(c, d, o.initial_rows);
    res.load_s = Seconds(t0, Clock::now());
    c.Exec("VACUUM ANALYZE items");
    t0 = Clock::now();
    c.Exec(e.create_index);
    res.build_s = Seconds(t0, Clock::now());
    std::printf("\n[%s] loaded %zu rows in %.1f s, CREATE INDEX in %.1f s, %s = %d\n", name,
                o.initial_rows, res.load_s, res.build_s, e.ef_guc.c_str(), e.ef);
    CheckPlan(c, e, qtext[0]);
    std::fflush(stdout);
  }

  ErrorLog log(e.name);
  Load load;
  load.next_id = static_cast<long long>(o.initial_rows) + 1;
  const std::vector<std::string> setup = SessionSetup(e);
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<std::thread> threads;
  Client monitor(conninfo, "the monitor", log, setup,
                 std::vector<std::pair<std::string, std::string>>{{"knn", kKnn}});
  if (!monitor.Ready()) Die("the monitor cannot connect");

  std::string server_start;
  if (PGresult* r = monitor.Rows("SELECT now()::timestamp(0)")) {
    server_start = PQgetvalue(r, 0, 0);
    PQclear(r);
  }
  std::string last_failed_job;
  Sample s0;
  s0.rows = static_cast<long long>(o.initial_rows);
  SampleIndex(monitor, e, log, last_failed_job, s0);
  auto r0 = Clock::now();
  s0.recall = MeasureRecall(monitor, dist, qtext);
  s0.recall_s = Seconds(r0, Clock::now());
  res.samples.push_back(s0);
  PrintSampleHeader();
  PrintSample(e.name, s0);

  const auto start = Clock::now();
  for (int i = 0; i < o.inserters; i++) {
    clients.push_back(
        std::make_unique<Client>(conninfo, "inserter " + std::to_string(i + 1), log, setup));
    threads.emplace_back(Inserter, std::ref(*clients.back()), std::ref(load), std::cref(d),
                         o.insert_batch, o.insert_rate / o.inserters);
  }
  for (int i = 0; i < o.searchers; i++) {
    clients.push_back(
        std::make_unique<Client>(conninfo, "searcher " + std::to_string(i + 1), log, setup,
                                 std::vector<std::pair<std::string, std::string>>{{"knn", kKnn}}));
    threads.emplace_back(Searcher, std::ref(*clients.back()), std::ref(load), std::cref(qtext),
                         1000u + i);
  }
  for (int i = 0; i < o.deleters; i++) {
    clients.push_back(
        std::make_unique<Client>(conninfo, "deleter " + std::to_string(i + 1), log, setup,
                                 std::vector<std::pair<std::string, std::string>>{
                                     {"del", "DELETE FROM items WHERE id = ANY ($1::bigint[])"}}));
    threads.emplace_back(Deleter, std::ref(*clients.back()), std::ref(load), o.delete_batch,
                         o.delete_ratio, 2000u + i);
  }

  // Samples at whole multiples of --interval on the run's clock (a slow
  // recall check delays the next sample, whose rates then cover the longer
  // interval), the last one at --duration.
  long long prev_inserted = 0, prev_deleted = 0, prev_short = 0;
  double prev_t = 0;
  for (int k = 1;; k++) {
    const int at = std::min(k * o.interval, o.duration);
    std::this_thread::sleep_until(start + std::chrono::seconds(at));
    Sample s;
    s.t = Seconds(start, Clock::now());
    std::vector<double> lat;
    {
      std::lock_guard<std::mutex> lock(load.mu);
      lat.swap(load.latencies_ms);
    }
    const long long ins = load.inserted, del = load.deleted;
    const double dt = s.t - prev_t;
    s.inserts_s = (ins - prev_inserted) / dt;
    s.deletes_s = (del - prev_deleted) / dt;
    s.qps = lat.size() / dt;
    res.latencies_ms.insert(res.latencies_ms.end(), lat.begin(), lat.end());
    std::sort(lat.begin(), lat.end());
    s.p50_ms = Percentile(lat, 50);
    s.p99_ms = Percentile(lat, 99);
    const long long shorts = load.short_answers;
    s.short_answers = shorts - prev_short;
    prev_short = shorts;
    s.rows = static_cast<long long>(o.initial_rows) + ins - del;
    prev_inserted = ins;
    prev_deleted = del;
    prev_t = s.t;
    if (monitor.Ready()) {
      SampleIndex(monitor, e, log, last_failed_job, s);
      if (at % o.recall_every == 0 || at == o.duration) {
        auto t0 = Clock::now();
        s.recall = MeasureRecall(monitor, dist, qtext);
        s.recall_s = Seconds(t0, Clock::now());
      }
    }
    s.errors = log.total();
    res.samples.push_back(s);
    PrintSample(e.name, s);
    if (at == o.duration) break;
  }
  load.stop = true;
  for (auto& t : threads) t.join();
  res.run_s = Seconds(start, Clock::now());
  res.inserted = load.inserted;
  res.deleted = load.deleted;
  res.short_answers = load.short_answers;
  {
    std::lock_guard<std::mutex> lock(load.mu);
    res.latencies_ms.insert(res.latencies_ms.end(), load.latencies_ms.begin(),
                            load.latencies_ms.end());
  }
  res.searches = static_cast<long long>(res.latencies_ms.size());
  std::sort(res.latencies_ms.begin(), res.latencies_ms.end());
  res.errors = log.total();
  log.PrintSummary();

  {
    Conn c(conninfo);
    if (e.is_vecgo()) {
      std::printf("\n[%s] vecgo_index_info at the end:\n\n", name);
      PrintTable(c, "SELECT * FROM vecgo_index_info('items_idx')");
    }
    PGresult* r = c.Query(
        "SELECT n_dead_tup, autovacuum_count, autoanalyze_count, now()::timestamp(0) "
        "FROM pg_stat_user_tables WHERE relname = 'items'");
    res.dead_rows = std::atoll(PQgetvalue(r, 0, 0));
    res.autovacuums = std::atoll(PQgetvalue(r, 0, 1));
    res.autoanalyzes = std::atoll(PQgetvalue(r, 0, 2));
    std::printf(
        "\n[%s] load from %s to %s (server time; the server log's \"skipping vacuum of "
        "\"items\"\" lines in between are this engine's)\n",
        name, server_start.c_str(), PQgetvalue(r, 0, 3));
    std::fflush(stdout);
    PQclear(r);
  }
  clients.clear();
  // No background work of this engine may compete with the next one.
  {
    Conn admin(o.conninfo + " dbname=postgres");
    admin.Exec("DROP DATABASE " + e.db + " WITH (FORCE)");
    admin.Exec("CHECKPOINT");
  }
  return res;
}

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / v.size();
}

void Report(const Options& o, const std::vector<Result>& results) {
  std::printf(
      "\n| engine | ef_search | rows inserted | inserts/s | rows deleted | deletes/s | searches | "
      "searches/s | p50 ms | p99 ms | short answers | recall@10 mean | recall@10 min | final rows "
      "| final segments | final index MB | autovacuums (analyzes) | dead rows at the end | errors "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (auto& r : results) {
    std::vector<double> recalls;
    for (auto& s : r.samples)
      if (s.recall >= 0) recalls.push_back(s.recall);
    const Sample& last = r.samples.back();
    std::printf(
        "| %s | %d | %lld | %.0f | %lld | %.0f | %lld | %.1f | %.2f | %.2f | %lld | %.3f | %.3f | "
        "%lld | %s | %.1f | %lld (%lld) | %lld | %lld |\n",
        r.name.c_str(), r.ef, r.inserted, r.inserted / r.run_s, r.deleted, r.deleted / r.run_s,
        r.searches, r.searches / r.run_s, Percentile(r.latencies_ms, 50),
        Percentile(r.latencies_ms, 99), r.short_answers, Mean(recalls),
        recalls.empty() ? 0.0 : *std::min_element(recalls.begin(), recalls.end()),
        static_cast<long long>(o.initial_rows) + r.inserted - r.deleted,
        Tier(last.segments).c_str(), last.index_mb, r.autovacuums, r.autoanalyzes, r.dead_rows,
        r.errors);
  }
  const std::string pace =
      o.insert_rate > 0
          ? "at most " + std::to_string(static_cast<long long>(o.insert_rate)) + " rows/s in all"
          : "as fast as they can";
  std::printf(
      "\n%d s of load per engine after %zu initial rows; clients: %d inserting (%zu-row COPY, "
      "%s), %d searching (LIMIT 10), %d deleting (%zu ids per DELETE, %.2f of the rows "
      "inserted); recall@10 over %zu held-out queries every %d s (and at t = 0; the mean "
      "includes it).\n",
      o.duration, o.initial_rows, o.inserters, o.insert_batch, pace.c_str(), o.searchers,
      o.deleters, o.delete_batch, o.delete_ratio, o.recall_queries, o.recall_every);
  for (auto& r : results)
    if (r.errors > 0)
      std::printf("\nWARNING: %s had %lld errors during the run (listed above).\n", r.name.c_str(),
                  r.errors);

  std::string mk = "mkdir -p '" + o.out_dir + "'";
  if (std::system(mk.c_str()) != 0) Die("cannot create " + o.out_dir);
  std::string path = o.out_dir + "/mixed_timeline.csv";
  FILE* f = std::fopen(path.c_str(), "w");
  if (!f) Die("cannot write " + path);
  std::fprintf(f,
               "engine,t_s,inserts_per_s,deletes_per_s,searches_per_s,p50_ms,p99_ms,"
               "short_answers,rows,index_mb,segments,flat_segments,diskann_segments,l0_rows,"
               "memtable_rows,recall,recall_s,errors\n");
  auto opt = [](long long v) { return v < 0 ? std::string() : std::to_string(v); };
  for (auto& r : results)
    for (auto& s : r.samples) {
      char recall[32] = "", recall_s[32] = "";
      if (s.recall >= 0) {
        std::snprintf(recall, sizeof(recall), "%.4f", s.recall);
        std::snprintf(recall_s, sizeof(recall_s), "%.2f", s.recall_s);
      }
      std::fprintf(f, "%s,%.1f,%.1f,%.1f,%.1f,%.3f,%.3f,%lld,%lld,%.2f,%s,%s,%s,%s,%s,%s,%s,%lld\n",
                   r.name.c_str(), s.t, s.inserts_s, s.deletes_s, s.qps, s.p50_ms, s.p99_ms,
                   s.short_answers, s.rows, s.index_mb, opt(s.segments).c_str(),
                   opt(s.flat).c_str(), opt(s.diskann).c_str(), opt(s.l0_rows).c_str(),
                   opt(s.memtable_rows).c_str(), recall, recall_s, s.errors);
    }
  std::fclose(f);
  std::printf("wrote %s\n", path.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  g_program = "bench_mixed";
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    auto count = [&]() { return std::strtoull(next(), nullptr, 10); };
    if (a == "--mode") {
      if (std::string(next()) != "mixed") Die("bench_mixed runs --mode mixed only");
    } else if (a == "--conninfo") {
      o.conninfo = next();
    } else if (a == "--fvecs") {
      o.fvecs = next();
    } else if (a == "--out") {
      o.out_dir = next();
    } else if (a == "--duration") {
      o.duration = std::atoi(next());
    } else if (a == "--initial-rows") {
      o.initial_rows = count();
    } else if (a == "--queries") {
      o.queries = count();
    } else if (a == "--inserters") {
      o.inserters = std::atoi(next());
    } else if (a == "--searchers") {
      o.searchers = std::atoi(next());
    } else if (a == "--deleters") {
      o.deleters = std::atoi(next());
    } else if (a == "--ef-vecgo") {
      o.ef_vecgo = std::atoi(next());
    } else if (a == "--ef-pgvector") {
      o.ef_pgvector = std::atoi(next());
    } else if (a == "--insert-rate") {
      o.insert_rate = std::atof(next());
    } else if (a == "--insert-batch") {
      o.insert_batch = count();
    } else if (a == "--delete-batch") {
      o.delete_batch = count();
    } else if (a == "--delete-ratio") {
      o.delete_ratio = std::atof(next());
    } else if (a == "--interval") {
      o.interval = std::atoi(next());
    } else if (a == "--recall-every") {
      o.recall_every = std::atoi(next());
    } else if (a == "--recall-queries") {
      o.recall_queries = count();
    } else if (a == "--no-pgvector") {
      o.pgvector = false;
    } else if (a == "--no-vecgo") {
      o.vecgo = false;
    } else {
      Die("unknown option " + a);
    }
  }
  if (o.duration <= 0 || o.interval <= 0 || o.recall_every <= 0)
    Die("--duration, --interval and --recall-every must be positive");
  if (o.initial_rows == 0 || o.insert_batch == 0 || o.delete_batch == 0 || o.queries == 0 ||
      o.recall_queries == 0)
    Die("--initial-rows, --queries, --insert-batch, --delete-batch and --recall-queries must be "
        "positive");
  if (o.inserters < 0 || o.searchers < 0 || o.deleters < 0 || o.delete_ratio < 0 ||
      o.insert_rate < 0)
    Die("client counts, --delete-ratio and --insert-rate must not be negative");

  Data d = LoadFvecs(o.fvecs, o.queries, 0);
  std::vector<std::string> qtext(d.nq());
  for (std::size_t q = 0; q < d.nq(); q++)
    qtext[q] = VectorText(d.queries.data() + q * d.dim, d.dim);
  std::printf(
      "GloVe-100: %zu base rows (reused under fresh ids once inserted), %zu held-out queries, "
      "%zu dims, cosine; %zu initial rows, %d s of load per engine\n",
      d.n(), d.nq(), d.dim, o.initial_rows, o.duration);

  const QueryDistances dist(d, o.recall_queries);

  bool have_pgvector = false;
  {
    Conn admin(o.conninfo + " dbname=postgres");
    have_pgvector =
        admin.Value("SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") == "1";
  }
  std::vector<Result> results;
  if (o.vecgo) results.push_back(Run(o, d, qtext, dist, MakeEngine("vecgo", o)));
  if (o.pgvector && have_pgvector)
    results.push_back(Run(o, d, qtext, dist, MakeEngine("pgvector", o)));
  if (o.pgvector && !have_pgvector)
    std::printf("pgvector is not installed on this server: vecgo only\n");
  if (results.empty()) Die("no engine to run");
  Report(o, results);
  return 0;
}
