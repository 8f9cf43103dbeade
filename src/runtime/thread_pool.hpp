// SPDX-License-Identifier: Apache-2.0
// ThreadPool: the Parallel implementation drivers hand to core. It starts n_threads - 1 worker
// threads once (in WASM they come from the pthread pool, so n_threads - 1 must not exceed
// PTHREAD_POOL_SIZE) and the calling thread works too. run() is not re-entrant and must be
// called from one thread at a time (the owner); the pool itself is otherwise thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
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
  void drain();

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void(std::size_t)>* job_ = nullptr;  // valid while a run() is in flight
  std::size_t n_tasks_ = 0;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> n_done_{0};
  uint64_t generation_ = 0;
  int n_active_ = 0;
  bool stop_ = false;
};

}  // namespace disco::runtime
