// SPDX-License-Identifier: Apache-2.0
// Scenario: federated training, sync (FedAvg rounds) and async (FedBuff), with 3-6 clients over
// faulty links: seeded latency, broken connections, half-open connections whose messages
// overtake the client's new connection, contributions re-sent after a reconnect, partitions
// that heal or break, client crashes at any protocol step with and without restart, and server
// restarts from the last completed round (sim/world.hpp has the fault model). Parameterised
// over seeds; every run must either finish with exactly the global model the accepted
// contributions imply (recomputed here bit for bit from the scripted trainer's values) or stop
// for the one explained reason: fewer live clients than the quorum.
//
// Replay: a failing seed prints a command line; DISCO_SIM_SEED=N runs only seed N (both
// policies) and replays the identical event sequence (trace hash).
#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "core/aggregate/staleness.hpp"
#include "core/base/rng.hpp"
#include "sim/world.hpp"

namespace disco::sim {
namespace {

const Time kTimeLimit = Time::from_ms(900'000);
constexpr int kSeedsPerPolicy = 600;

enum class Policy { Sync, Async };

// Everything about the scenario, drawn from the seed (the world's own Rng uses the seed too,
// through a different stream).
WorldConfig scenario(uint64_t seed, Policy policy) {
  Rng rng(seed ^ 0x5eed5eed5eed5eedull ^ (policy == Policy::Async ? 0xa5a5ull : 0));
  WorldConfig config;
  config.seed = seed;
  proto::ServerConfig& server = config.server;
  server.task_id = "toy";
  server.model_fingerprint = "0123456789abcdef";
  server.initial_weights = {0.5f, -1.0f, 2.0f};
  server.n_rounds = 3 + rng.uniform_int(2);
  server.min_participants = 2 + rng.uniform_int(2);
  if (policy == Policy::Sync) {
    server.aggregation = proto::Aggregation::Sync;
    const double fractions[] = {1.0, 0.75, 0.5};
    server.fraction = fractions[rng.uniform_int(3)];
    server.round_timeout =
        rng.uniform() < 0.7f ? Duration(3000 + rng.uniform_int(5000)) : Duration(0);
  } else {
    server.aggregation = proto::Aggregation::Async;
    server.buffer_size = 1 + rng.uniform_int(server.min_participants);
    const core::StalenessPolicyKind kinds[] = {core::StalenessPolicyKind::Constant,
                                               core::StalenessPolicyKind::Polynomial,
                                               core::StalenessPolicyKind::Hinge};
    server.staleness.kind = kinds[rng.uniform_int(3)];
    server.staleness.hinge_start = rng.uniform_int(3);
    if (rng.uniform() < 0.5f) server.staleness.max_staleness = rng.uniform_int(3);
  }
  config.client.task_id = "toy";
  config.client.model_fingerprint = "0123456789abcdef";
  const uint32_t n_clients = 3 + rng.uniform_int(4);
  const float crash_rate = rng.uniform() * 0.6f;
  for (uint32_t i = 0; i < n_clients; ++i) {
    ClientSpec spec;
    spec.n_samples = 1 + rng.uniform_int(50);
    if (rng.uniform() < crash_rate) {
      if (rng.uniform() < 0.5f) {
        spec.crash_at = Time::from_ms(rng.uniform_int(20'000));
      } else {
        spec.crash_after_actions = 1 + rng.uniform_int(12);
      }
      spec.restart_after_crash = rng.uniform() < 0.6f;
    }
    config.clients.push_back(spec);
  }
  config.latency_min_ms = 1 + rng.uniform_int(50);
  config.latency_max_ms = config.latency_min_ms + rng.uniform_int(200);
  config.drop_probability = rng.uniform() * 0.04;
  config.reorder_probability = rng.uniform() * 0.6;
  config.max_notice_delay_ms = rng.uniform_int(4000);
  config.duplicate_probability = rng.uniform() * 0.8;
  const uint32_t n_partitions = rng.uniform_int(3);
  for (uint32_t p = 0; p < n_partitions; ++p) {
    Partition partition;
    partition.start = Time::from_ms(rng.uniform_int(20'000));
    partition.length = Duration(100 + rng.uniform_int(6000));
    for (uint32_t i = 0; i < n_clients; ++i) {
      if (rng.uniform() < 0.4f) partition.clients.push_back(i);
    }
    partition.breaks = rng.uniform() < 0.5f;
    config.partitions.push_back(partition);
  }
  const uint32_t n_restarts = rng.uniform() < 0.4f ? 1 + rng.uniform_int(2) : 0;
  for (uint32_t r = 0; r < n_restarts; ++r) {
    config.server_restarts.push_back(Time::from_ms(rng.uniform_int(25'000)));
  }
  config.train_min_ms = 100;
  config.train_max_ms = 2000;
  config.reconnect_delay = Duration(200 + rng.uniform_int(1300));
  config.max_reconnects = 60;
  return config;
}

const char* policy_name(Policy policy) { return policy == Policy::Sync ? "Sync" : "Async"; }

std::string describe(const World& world, StopReason reason) {
  char hash[32];
  std::snprintf(hash, sizeof hash, "%016" PRIx64, world.trace_hash());
  return std::string("stopped: ") + stop_reason_name(reason) +
         ", t=" + std::to_string(world.now().ms()) + "ms, events " +
         std::to_string(world.n_events()) + ", broken links " +
         std::to_string(world.n_broken_links()) + " (half-open " +
         std::to_string(world.n_half_open()) + "), resent " + std::to_string(world.n_resent()) +
         ", crashes " + std::to_string(world.n_crashes()) + ", server restarts " +
         std::to_string(world.n_server_restarts()) + ", rounds completed " +
         std::to_string(world.server().status().n_rounds_completed) + ", clients alive " +
         std::to_string(world.n_clients_alive()) + "/" + std::to_string(world.n_clients()) +
         ", trace " + hash;
}

// The final global model the accepted contributions imply: for each aggregated round, the
// weighted mean of the scripted updates, computed the way MeanAggregator (Float64) and FedAvg
// with lr 1 do, in the same order, so the comparison is exact.
std::vector<float> expected_global(const WorldConfig& config, const World& world) {
  std::vector<float> global = config.server.initial_weights;
  for (const AggregatedRound& round : world.aggregated()) {
    double sum = 0, total = 0;
    for (const Accepted& a : round.contributions) {
      double weight = static_cast<double>(a.n_samples);
      if (config.server.aggregation == proto::Aggregation::Async) {
        const auto staleness = static_cast<int64_t>(round.round - a.round);
        weight = core::staleness_weight(staleness, config.server.staleness) *
                 static_cast<double>(a.n_samples);
      }
      sum += weight * static_cast<double>(update_value(a.client, a.round));
      total += weight;
    }
    const auto mean = static_cast<float>(sum / total);
    for (float& w : global) w += 1.0f * mean;
  }
  return global;
}

void run_and_check(uint64_t seed, Policy policy) {
  SCOPED_TRACE(std::string("seed=") + std::to_string(seed) + " policy=" + policy_name(policy) +
               " (replay: DISCO_SIM_SEED=" + std::to_string(seed) +
               " ./disco_sim_test --gtest_filter='*" + policy_name(policy) + "*')");
  const WorldConfig config = scenario(seed, policy);
  World world(config);
  const StopReason reason = world.run_until(nullptr, kTimeLimit);
  SCOPED_TRACE(describe(world, reason));
  ASSERT_LE(world.now().ms(), kTimeLimit.ms());
  // Nothing in the fault model is a protocol error: no machine may fail or close a peer for one.
  EXPECT_EQ(world.client_failures(), std::vector<std::string>{});
  EXPECT_EQ(world.server().status().n_closed_for_errors, 0u)
      << (world.server().status().last_error ? world.server().status().last_error->message : "");

  if (reason != StopReason::Finished) {
    // The one accepted failure: crashes without restart (or exhausted reconnects) left fewer
    // clients than the quorum, so no round can close any more.
    EXPECT_LT(world.n_clients_alive(), config.server.min_participants);
    EXPECT_FALSE(world.finished_weights().has_value());
    return;
  }
  ASSERT_TRUE(world.finished_weights().has_value());
  const auto& rounds = world.aggregated();
  ASSERT_EQ(rounds.size(), config.server.n_rounds);
  const uint32_t needed =
      policy == Policy::Sync ? config.server.min_participants : config.server.buffer_size;
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    SCOPED_TRACE("round " + std::to_string(r + 1));
    EXPECT_EQ(rounds[r].round, r + 1);
    ASSERT_GE(rounds[r].contributions.size(), needed);
    // The world's log of accepted contributions matches the server's RoundClosed, and one client
    // counts at most once per round (sync) or per trained version (async).
    ASSERT_EQ(rounds[r].contributors.size(), rounds[r].contributions.size());
    std::set<std::pair<std::size_t, uint64_t>> distinct;
    for (std::size_t i = 0; i < rounds[r].contributions.size(); ++i) {
      const Accepted& a = rounds[r].contributions[i];
      EXPECT_EQ(rounds[r].contributors[i], world.client_id(a.client));
      EXPECT_EQ(a.n_samples, config.clients[a.client].n_samples);
      if (policy == Policy::Sync) {
        EXPECT_EQ(a.round, rounds[r].round);
      } else {
        EXPECT_LE(a.round, rounds[r].round);
        if (config.server.staleness.max_staleness) {
          EXPECT_LE(static_cast<int64_t>(rounds[r].round - a.round),
                    *config.server.staleness.max_staleness);
        }
      }
      distinct.emplace(a.client, a.round);
    }
    EXPECT_EQ(distinct.size(), rounds[r].contributions.size());
    if (policy == Policy::Sync && world.round_results().count(rounds[r].round) != 0) {
      EXPECT_EQ(world.round_results().at(rounds[r].round), rounds[r].contributions.size());
    }
  }
  EXPECT_EQ(*world.finished_weights(), expected_global(config, world));
  EXPECT_EQ(*world.finished_weights(), world.server().global_weights());
}

std::vector<int> seeds() {
  if (const char* one = std::getenv("DISCO_SIM_SEED")) return {std::atoi(one)};
  std::vector<int> all;
  for (int s = 0; s < kSeedsPerPolicy; ++s) all.push_back(s);
  return all;
}

class SyncFaultsTest : public ::testing::TestWithParam<int> {};
class AsyncFaultsTest : public ::testing::TestWithParam<int> {};

TEST_P(SyncFaultsTest, FinishesWithTheImpliedGlobalOrRunsOutOfClients) {
  run_and_check(static_cast<uint64_t>(GetParam()), Policy::Sync);
}

TEST_P(AsyncFaultsTest, FinishesWithTheImpliedGlobalOrRunsOutOfClients) {
  run_and_check(static_cast<uint64_t>(GetParam()), Policy::Async);
}

INSTANTIATE_TEST_SUITE_P(Seeds, SyncFaultsTest, ::testing::ValuesIn(seeds()));
INSTANTIATE_TEST_SUITE_P(Seeds, AsyncFaultsTest, ::testing::ValuesIn(seeds()));

TEST(FederatedFaults, SameSeedReplaysIdenticalTrace) {
  for (Policy policy : {Policy::Sync, Policy::Async}) {
    for (uint64_t seed = 0; seed < 20; ++seed) {
      SCOPED_TRACE("seed=" + std::to_string(seed) + " policy=" + policy_name(policy));
      World a(scenario(seed, policy));
      World b(scenario(seed, policy));
      const StopReason ra = a.run_until(nullptr, kTimeLimit);
      const StopReason rb = b.run_until(nullptr, kTimeLimit);
      EXPECT_EQ(ra, rb);
      EXPECT_EQ(a.n_events(), b.n_events());
      EXPECT_EQ(a.now(), b.now());
      EXPECT_EQ(a.trace_hash(), b.trace_hash());
      EXPECT_EQ(a.finished_weights(), b.finished_weights());
    }
  }
}

TEST(FederatedFaults, DifferentSeedsGiveDifferentTraces) {
  World a(scenario(1, Policy::Sync));
  World b(scenario(2, Policy::Sync));
  a.run_until(nullptr, kTimeLimit);
  b.run_until(nullptr, kTimeLimit);
  EXPECT_NE(a.trace_hash(), b.trace_hash());
}

// The fault model is exercised, not just configured: over the seeds, every kind of fault
// happens somewhere.
TEST(FederatedFaults, SeedsCoverEveryFaultKind) {
  uint64_t half_open = 0, resent = 0, restarts = 0, crashes = 0, finished = 0;
  for (Policy policy : {Policy::Sync, Policy::Async}) {
    for (uint64_t seed = 0; seed < 40; ++seed) {
      World world(scenario(seed, policy));
      finished += world.run_until(nullptr, kTimeLimit) == StopReason::Finished ? 1 : 0;
      half_open += world.n_half_open();
      resent += world.n_resent();
      restarts += world.n_server_restarts();
      crashes += world.n_crashes();
    }
  }
  EXPECT_GT(half_open, 0u);
  EXPECT_GT(resent, 0u);
  EXPECT_GT(restarts, 0u);
  EXPECT_GT(crashes, 0u);
  EXPECT_GT(finished, 40u);
}

TEST(FederatedFaults, RunUntilStopsWhenThePredicateHolds) {
  World world(scenario(3, Policy::Sync));
  const StopReason reason = world.run_until(
      [](const World& w) { return w.server().status().n_rounds_completed >= 1; }, kTimeLimit);
  if (reason == StopReason::Predicate) {
    EXPECT_EQ(world.server().status().n_rounds_completed, 1u);
  }
}

}  // namespace
}  // namespace disco::sim
