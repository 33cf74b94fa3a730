// What the end-to-end benchmarks (bench_index.cpp, bench_mixed.cpp) share: a
// libpq connection whose statements must succeed, vectors as SQL text, the
// GloVe-100 file split into base rows and held-out queries, percentiles.
#pragma once

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <queue>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "vecgo/distance.h"

namespace bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// Prefixes the messages of Die; each program sets it to its name in main.
inline const char* g_program = "bench";

[[noreturn]] inline void Die(const std::string& msg) {
  std::fprintf(stderr, "%s: %s\n", g_program, msg.c_str());
  std::exit(1);
}

// A connection for setup and reporting: any failed statement ends the program.
class Conn {
 public:
  explicit Conn(const std::string& conninfo) : c_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(c_) != CONNECTION_OK) Die(std::string("connect: ") + PQerrorMessage(c_));
  }
  ~Conn() { PQfinish(c_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  PGconn* get() { return c_; }
  // The result of a statement that must succeed; the caller PQclears it.
  PGresult* Query(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string err = PQerrorMessage(c_);
      PQclear(r);
      Die("`" + sql.substr(0, 120) + "`: " + err);
    }
    return r;
  }
  void Exec(const std::string& sql) { PQclear(Query(sql)); }
  std::string Value(const std::string& sql) {
    PGresult* r = Query(sql);
    std::string v = PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return v;
  }

 private:
  PGconn* c_;
};

// A query's rows as a Markdown table.
inline void PrintTable(Conn& c, const std::string& sql) {
  PGresult* r = c.Query(sql);
  std::string head = "|", rule = "|";
  for (int j = 0; j < PQnfields(r); j++) {
    head += std::string(" ") + PQfname(r, j) + " |";
    rule += "---|";
  }
  std::printf("%s\n%s\n", head.c_str(), rule.c_str());
  for (int i = 0; i < PQntuples(r); i++) {
    std::string line = "|";
    for (int j = 0; j < PQnfields(r); j++) line += std::string(" ") + PQgetvalue(r, i, j) + " |";
    std::printf("%s\n", line.c_str());
  }
  PQclear(r);
  std::fflush(stdout);
}

inline std::string VectorText(const float* v, std::size_t dim) {
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

// An .fvecs file shuffled with a fixed seed (the same split in every run and
// program): the first min(queries, total/10) vectors are the held-out
// queries, the next `rows` (0: all the rest) the base rows.
inline Data LoadFvecs(const std::string& path, std::size_t queries, std::size_t rows) {
  std::ifstream f(path, std::ios::binary);
  if (!f) Die("cannot read " + path + " (run scripts/fetch-glove.sh)");
  std::vector<float> all;
  std::int32_t dim = 0;
  while (f.read(reinterpret_cast<char*>(&dim), 4)) {
    std::size_t at = all.size();
    all.resize(at + dim);
    f.read(reinterpret_cast<char*>(all.data() + at), 4 * dim);
  }
  if (dim <= 0 || all.empty()) Die(path + " holds no vectors");
  Data d;
  d.dim = dim;
  std::size_t total = all.size() / dim;
  std::vector<std::size_t> idx(total);
  std::iota(idx.begin(), idx.end(), 0);
  std::mt19937_64 rng(7);
  std::shuffle(idx.begin(), idx.end(), rng);
  std::size_t nq = std::min(queries, total / 10);
  std::size_t n = rows ? std::min(rows, total - nq) : total - nq;
  d.queries.resize(nq * dim);
  d.base.resize(n * dim);
  for (std::size_t i = 0; i < nq; i++)
    std::copy_n(all.data() + idx[i] * dim, dim, d.queries.data() + i * dim);
  for (std::size_t i = 0; i < n; i++)
    std::copy_n(all.data() + idx[nq + i] * dim, dim, d.base.data() + i * dim);
  return d;
}

// The p-th percentile of sorted values (p in 0..100).
// COPY rows [from, to) into items (id, `column`): row i has id i + 1 and the
// vector of base row i (modulo the base size), in text form.
inline void CopyBaseRows(Conn& c, const Data& d, std::size_t from, std::size_t to, const std::string& column,
                         const std::string& table = "items") {
  PGresult* start = PQexec(c.get(), ("COPY " + table + " (id, " + column + ") FROM STDIN").c_str());
  if (PQresultStatus(start) != PGRES_COPY_IN) Die(std::string("COPY: ") + PQerrorMessage(c.get()));
  PQclear(start);
  std::string buf;
  for (std::size_t i = from; i < to; i++) {
    buf += std::to_string(i + 1);
    buf += '\t';
    buf += VectorText(d.base.data() + i % d.n() * d.dim, d.dim);
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

inline double Percentile(const std::vector<double>& sorted, std::size_t p) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, sorted.size() * p / 100)];
}

// Exact top-k ids (1-based, as stored) per query under cosine distance.
inline std::vector<std::vector<int>> GroundTruth(const Data& d, std::size_t k) {
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

}  // namespace bench
