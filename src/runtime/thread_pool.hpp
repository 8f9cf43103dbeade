// SPDX-License-Identifier: Apache-2.0
// ThreadPool: the Parallel implementation drivers hand to core. It starts n_threads - 1 worker
// threads once (in WASM they come from the pthread pool, so n_threads - 1 must not exceed
// PTHREAD_POOL_SIZE) and the calling thread works too. run() is not re-entrant and must be
// called from one thread at a time (the owner); the pool itself is otherwise thread-safe.
//
// Training issues tens of small parallel regions per batch, so waking sleeping threads through
// the kernel on every region costs more than the work. Workers therefore spin for a short while
// (about 30 us) after a region before they sleep, and run() only signals the condition
// variable when some worker is actually asleep.
//
// Task claiming is lock-free: one 64-bit word packs (generation, n_tasks, next index), so a
// worker that wakes late for an old region can never claim an index of a newer one.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "core/base/parallel.hpp"

namespace disco::runtime {

class ThreadPool final : public Parallel {
 public:
  // n_threads <= 0 means "all hardware threads".
  explicit ThreadPool(int n_threads);
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int n_threads() const override { return n_threads_; }
  void run(std::size_t n_tasks, const std::function<void(std::size_t)>& fn) override;

  static int hardware_threads();

 private:
  void worker_loop();
  // Claims and runs tasks of the current region until none is left.
  void drain();

  int n_threads_;
  std::vector<std::thread> workers_;
  // Layout: generation (20 bits) | n_tasks (22 bits) | next index (22 bits).
  std::atomic<uint64_t> work_{0};
  std::atomic<const std::function<void(std::size_t)>*> job_{nullptr};
  std::atomic<std::size_t> n_done_{0};
  std::atomic<int> n_sleeping_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable wake_;
};

}  // namespace disco::runtime
