// SPDX-License-Identifier: Apache-2.0
#include "runtime/thread_pool.hpp"

#include <algorithm>
#include <chrono>

#include "core/base/check.hpp"

namespace disco::runtime {
namespace {

constexpr int kIndexBits = 22;
constexpr int kTasksBits = 22;
constexpr uint64_t kIndexMask = (uint64_t{1} << kIndexBits) - 1;
constexpr uint64_t kTasksMask = (uint64_t{1} << kTasksBits) - 1;
// How long a worker spins for the next region before it sleeps. Long enough to bridge the gaps
// between the parallel regions of one training step, short enough not to steal a core for long
// when the machine is oversubscribed.
constexpr auto kSpinTime = std::chrono::microseconds(30);

uint64_t generation_of(uint64_t w) { return w >> (kIndexBits + kTasksBits); }
uint64_t tasks_of(uint64_t w) { return (w >> kIndexBits) & kTasksMask; }
uint64_t index_of(uint64_t w) { return w & kIndexMask; }

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

int ThreadPool::hardware_threads() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(n_threads <= 0 ? hardware_threads() : n_threads) {
  workers_.reserve(static_cast<std::size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::drain() {
  uint64_t w = work_.load(std::memory_order_acquire);
  for (;;) {
    if (index_of(w) >= tasks_of(w)) return;
    if (!work_.compare_exchange_weak(w, w + 1, std::memory_order_acq_rel,
                                     std::memory_order_acquire))
      continue;
    // The region of this claim cannot end before this task is counted done, so job_ still
    // points at its function.
    (*job_.load(std::memory_order_acquire))(static_cast<std::size_t>(index_of(w)));
    n_done_.fetch_add(1, std::memory_order_acq_rel);
    w = work_.load(std::memory_order_acquire);
  }
}

void ThreadPool::run(std::size_t n_tasks, const std::function<void(std::size_t)>& fn) {
  if (n_tasks == 0) return;
  if (workers_.empty() || n_tasks == 1) {
    for (std::size_t i = 0; i < n_tasks; ++i) fn(i);
    return;
  }
  DISCO_CHECK(n_tasks <= kTasksMask, "too many tasks for one parallel region");
  job_.store(&fn, std::memory_order_release);
  n_done_.store(0, std::memory_order_release);
  const uint64_t generation =
      (generation_of(work_.load(std::memory_order_relaxed)) + 1) & ((uint64_t{1} << 20) - 1);
  work_.store((generation << (kIndexBits + kTasksBits)) | (uint64_t{n_tasks} << kIndexBits),
              std::memory_order_seq_cst);
  if (n_sleeping_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
  drain();
  // The caller's own share is done; the rest is short, so spin (yielding now and then).
  for (int spins = 0; n_done_.load(std::memory_order_acquire) != n_tasks; ++spins) {
    if ((spins & 255) == 255) {
      std::this_thread::yield();
    } else {
      cpu_relax();
    }
  }
}

void ThreadPool::worker_loop() {
  uint64_t seen = 0;
  for (;;) {
    int spins = 0;
    auto spin_until = std::chrono::steady_clock::now() + kSpinTime;
    uint64_t g;
    while ((g = generation_of(work_.load(std::memory_order_acquire))) == seen) {
      if (stop_.load(std::memory_order_acquire)) return;
      // Read the clock only every 64 spins.
      if ((++spins & 63) != 0 || std::chrono::steady_clock::now() < spin_until) {
        cpu_relax();
        continue;
      }
      std::unique_lock<std::mutex> lock(mu_);
      n_sleeping_.fetch_add(1, std::memory_order_seq_cst);
      wake_.wait(lock, [&] {
        return stop_.load() || generation_of(work_.load(std::memory_order_seq_cst)) != seen;
      });
      n_sleeping_.fetch_sub(1, std::memory_order_seq_cst);
      spins = 0;
      spin_until = std::chrono::steady_clock::now() + kSpinTime;
    }
    seen = g;
    drain();
  }
}

}  // namespace disco::runtime
