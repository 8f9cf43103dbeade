// SPDX-License-Identifier: Apache-2.0
#include "runtime/thread_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace disco::runtime {
namespace {

TEST(ThreadPool, RunsEveryTaskExactlyOnce) {
  ThreadPool pool(2);
  EXPECT_EQ(pool.n_threads(), 2);
  for (int rep = 0; rep < 200; ++rep) {
    std::vector<std::atomic<int>> hits(37);
    pool.run(hits.size(), [&](std::size_t i) { hits[i].fetch_add(1); });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(ThreadPool, ParallelForCoversRangeInChunks) {
  ThreadPool pool(3);
  std::vector<int> v(1000, 0);
  parallel_for(pool, v.size(), 10, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) v[i] += 1;
  });
  for (int x : v) ASSERT_EQ(x, 1);
}

}  // namespace
}  // namespace disco::runtime

namespace disco::runtime {
namespace {

// More regions than the 20-bit generation counter holds, each with more tasks than threads:
// every task still runs exactly once.
TEST(ThreadPool, SurvivesGenerationWraparound) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  const int64_t n_regions = (int64_t{1} << 20) + 100;
  for (int64_t r = 0; r < n_regions; ++r)
    pool.run(4, [&](std::size_t i) { sum.fetch_add(static_cast<int64_t>(i) + 1); });
  EXPECT_EQ(sum.load(), n_regions * 10);
}

}  // namespace
}  // namespace disco::runtime
