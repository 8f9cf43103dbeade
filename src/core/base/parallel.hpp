// SPDX-License-Identifier: Apache-2.0
// Parallel: the interface through which core kernels run work on several threads. Core never
// starts threads; a driver owns an implementation (src/runtime/thread_pool.hpp natively and in
// WASM) and passes it in. Serial() runs everything on the caller.
#pragma once

#include <cstddef>
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

}  // namespace disco
