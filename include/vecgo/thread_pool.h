// A minimal fork-join helper for the core's parallel loops (graph builds,
// ground truth in benchmarks). The caller decides how many threads to use;
// the core never sizes itself from the machine.
#pragma once

#include "vecgo/core.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace vecgo {

// Runs fn(begin, end, worker) over [0, n) in chunks of `chunk` items handed
// out dynamically to `threads` workers (worker in [0, threads)). The calling
// thread is worker 0. The first exception thrown by any worker stops the
// hand-out of further chunks and is rethrown to the caller after all workers
// have joined.
template <class Fn>
void ParallelFor(std::size_t n, std::size_t threads, std::size_t chunk, Fn&& fn) {
  if (n == 0) return;
  if (chunk == 0) chunk = 1;
  threads = std::max<std::size_t>(1, std::min(threads, (n + chunk - 1) / chunk));
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_mu;
  auto work = [&](std::size_t worker) {
    try {
      for (;;) {
        if (failed.load(std::memory_order_relaxed)) return;
        std::size_t begin = next.fetch_add(chunk, std::memory_order_relaxed);
        if (begin >= n) return;
        fn(begin, std::min(n, begin + chunk), worker);
      }
    } catch (...) {
      std::lock_guard<std::mutex> g(error_mu);
      if (!error) error = std::current_exception();
      failed.store(true, std::memory_order_relaxed);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (std::size_t t = 1; t < threads; t++) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace vecgo
