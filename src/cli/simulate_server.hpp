// SPDX-License-Identifier: Apache-2.0
// Internal to `disco simulate` (simulate.cpp): what its in-process mode and its --server mode
// (simulate_server.cpp) share. Not a public interface.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cli/federated.hpp"
#include "cli/simulate.hpp"
#include "core/base/parallel.hpp"
#include "core/data/dataset.hpp"
#include "core/task.hpp"
#include "core/train/trainer.hpp"
#include "proto/messages.hpp"

namespace disco::cli {

// One aggregated round as `disco simulate` prints and reports it.
struct RoundLog {
  uint64_t round = 0;
  uint32_t n_participants = 0;
  proto::TrainMetrics train;
  std::vector<std::string> contributors;
  std::optional<core::Evaluation> test;
};

// Prints "round R/N  participants P  train_loss X  test_loss Y  test_acc Z" and flushes.
void print_round(const RoundLog& log, uint64_t n_rounds);

// Lets many threads share one Parallel whose run() takes one caller at a time
// (runtime::ThreadPool): the callers take turns per parallel region, so they never use more
// threads than the pool has. Thread-safe. `pool` must outlive it.
class SharedParallel final : public Parallel {
 public:
  explicit SharedParallel(Parallel& pool) : pool_(pool) {}
  int n_threads() const override { return pool_.n_threads(); }
  void run(std::size_t n_tasks, const std::function<void(std::size_t)>& fn) override {
    std::lock_guard<std::mutex> lock(mu_);
    pool_.run(n_tasks, fn);
  }

 private:
  Parallel& pool_;
  std::mutex mu_;
};

struct ServerRun {
  std::vector<float> final_weights;
  std::vector<RoundLog> rounds;
};

// Runs one FederatedSession per shard, each on its own thread, against the server, and returns
// the final global model. Borrowed: everything must outlive the call.
// Errors: the first failing session's (named by its client index), which cancels the others;
// the reporter's; Internal when the sessions end with different final models.
Result<ServerRun> run_on_server(const ServerUrls& urls, const SimulateOptions& o,
                                const core::Task& task, const std::vector<core::Dataset>& shards,
                                const std::vector<uint64_t>& client_seeds, Parallel& parallel,
                                core::Trainer& evaluator, const core::Dataset* test,
                                int64_t eval_batch, uint64_t n_rounds);

}  // namespace disco::cli
