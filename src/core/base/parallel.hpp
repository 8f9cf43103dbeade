// SPDX-License-Identifier: Apache-2.0
// Parallel: the interface through which core kernels run work on several threads. Core never
// starts threads; a driver owns an implementation (src/runtime/thread_pool.hpp natively and in
// WASM) and passes it in. Serial() runs everything on the caller.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace disco {

class Parallel {
 public:
  virtual ~Parallel() = default;
  // Number of workers that may run tasks concurrently (>= 1), including the caller.
  virtual int n_threads() const = 0;
  // Calls fn(i) for every i in [0, n_tasks) and returns when all calls have returned. Calls may
  // run concurrently on different threads; fn must be safe for that. The caller participates.
  // Must not be called re-entrantly from inside fn.
  virtual void run(std::size_t n_tasks, const std::function<void(std::size_t)>& fn) = 0;
};

// Runs every task on the calling thread, in order.
class SerialParallel final : public Parallel {
 public:
  int n_threads() const override { return 1; }
  void run(std::size_t n_tasks, const std::function<void(std::size_t)>& fn) override {
    for (std::size_t i = 0; i < n_tasks; ++i) fn(i);
  }
};

// A process-wide serial executor for callers that do not care about threads.
Parallel& serial_parallel();

// Splits [0, n) into at most `parallel.n_threads() * chunks_per_thread` contiguous ranges of at
// least `min_chunk` items and calls fn(begin, end) for each.
void parallel_for(Parallel& parallel, std::size_t n, std::size_t min_chunk,
                  const std::function<void(std::size_t, std::size_t)>& fn);

// Runs fn(begin, end) over [0, n) in up to `chunks_per_thread` contiguous chunks per thread
// (fewer when n is small; one call on the caller when single-threaded). Used by kernels whose
// per-item cost varies, so several chunks per thread balance the load. fn must give the same
// result however [0, n) is split.
template <typename Fn>
void for_chunks(Parallel& parallel, int64_t n, Fn fn, int64_t chunks_per_thread = 4) {
  const int64_t n_chunks =
      std::min<int64_t>(n, chunks_per_thread * static_cast<int64_t>(parallel.n_threads()));
  if (n_chunks <= 1 || parallel.n_threads() == 1) {
    fn(int64_t{0}, n);
    return;
  }
  parallel.run(static_cast<std::size_t>(n_chunks), [&](std::size_t c) {
    const auto ci = static_cast<int64_t>(c);
    fn(n * ci / n_chunks, n * (ci + 1) / n_chunks);
  });
}

}  // namespace disco
