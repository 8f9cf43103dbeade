// SPDX-License-Identifier: Apache-2.0
// Scenario: federated training (3 rounds, quorum 2) with 3-5 clients over faulty links — seeded
// latency, dropped messages (which break the connection, see sim/world.hpp), client crashes with
// and without restart, and reconnects. Parameterised over seeds; a failure prints its seed, and
// running the same seed again replays the identical event sequence (FederatedFaultsTest.
// SameSeedReplaysIdenticalTrace checks that).
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/base/rng.hpp"
#include "sim/world.hpp"

namespace disco::sim {
namespace {

constexpr uint64_t kRounds = 3;
constexpr uint32_t kMinParticipants = 2;
const Time kTimeLimit = Time::from_ms(600'000);

// Everything about the scenario, drawn from the seed (the world's own Rng uses the seed too,
// through a different stream).
WorldConfig scenario(uint64_t seed) {
  Rng rng(seed ^ 0x5eed5eed5eed5eedull);
  WorldConfig config;
  config.seed = seed;
  config.server.task_id = "toy";
  config.server.model_fingerprint = "0123456789abcdef";
  config.server.initial_weights = {0.5f, -1.0f, 2.0f};
  config.server.n_rounds = kRounds;
  config.server.min_participants = kMinParticipants;
  config.server.round_timeout = Duration(5000);
  config.client.task_id = "toy";
  config.client.model_fingerprint = "0123456789abcdef";
  const uint32_t n_clients = 3 + rng.uniform_int(3);
  const float crash_rate = rng.uniform() * 0.6f;
  for (uint32_t i = 0; i < n_clients; ++i) {
    ClientSpec spec;
    spec.n_samples = 1 + rng.uniform_int(50);
    if (rng.uniform() < crash_rate) {
      spec.crash_at = Time::from_ms(rng.uniform_int(10'000));
      spec.restart_after_crash = rng.uniform() < 0.5f;
    }
    config.clients.push_back(spec);
  }
  config.latency_min_ms = 1 + rng.uniform_int(50);
  config.latency_max_ms = config.latency_min_ms + rng.uniform_int(200);
  config.drop_probability = rng.uniform() * 0.08;
  config.train_min_ms = 100;
  config.train_max_ms = 2000;
  return config;
}

std::string describe(const World& world, StopReason reason) {
  std::string s = std::string("stopped: ") + stop_reason_name(reason) +
                  ", t=" + std::to_string(world.now().ms()) + "ms, events " +
                  std::to_string(world.n_events()) + ", broken links " +
                  std::to_string(world.n_broken_links()) + ", crashes " +
                  std::to_string(world.n_crashes()) + ", rounds completed " +
                  std::to_string(world.server().status().n_rounds_completed) + ", restarts " +
                  std::to_string(world.server().status().n_round_restarts) + ", clients alive " +
                  std::to_string(world.n_clients_alive()) + "/" + std::to_string(world.n_clients());
  return s;
}

class FederatedFaultsTest : public ::testing::TestWithParam<int> {};

TEST_P(FederatedFaultsTest, FinishesWithTheAggregatedContributionsOrRunsOutOfClients) {
  const auto seed = static_cast<uint64_t>(GetParam());
  SCOPED_TRACE("seed=" + std::to_string(seed) + " (replay: --gtest_filter=*/" +
               std::to_string(seed) + ")");
  const WorldConfig config = scenario(seed);
  World world(config);
  const StopReason reason = world.run_until(nullptr, kTimeLimit);
  SCOPED_TRACE(describe(world, reason));
  ASSERT_LE(world.now().ms(), kTimeLimit.ms());

  if (reason != StopReason::Finished) {
    // The one accepted failure: crashes without restart left fewer clients than the quorum, so
    // no round can close any more. Everything else (broken links, reconnects, abandoned rounds)
    // must still end in a finished task within the time limit.
    EXPECT_LT(world.n_clients_alive(), kMinParticipants);
    EXPECT_FALSE(world.finished_weights().has_value());
    return;
  }

  // Finished: every round was aggregated from a quorum of distinct clients, the server's
  // RoundResult counted exactly the contributions the world saw it accept, and the final
  // global equals the initial one plus each round's n_samples-weighted mean of the scripted
  // updates of exactly those clients (FedAvg, server lr 1).
  ASSERT_TRUE(world.finished_weights().has_value());
  const auto& rounds = world.aggregated();
  ASSERT_EQ(rounds.size(), kRounds);
  std::vector<double> expected(config.server.initial_weights.begin(),
                               config.server.initial_weights.end());
  for (std::size_t r = 0; r < rounds.size(); ++r) {
    SCOPED_TRACE("round " + std::to_string(r + 1));
    EXPECT_EQ(rounds[r].round, r + 1);
    ASSERT_GE(rounds[r].contributions.size(), kMinParticipants);
    ASSERT_EQ(world.round_results().count(rounds[r].round), 1u);
    EXPECT_EQ(world.round_results().at(rounds[r].round), rounds[r].contributions.size());
    std::set<std::size_t> distinct;
    double weighted = 0, weight = 0;
    for (const Accepted& a : rounds[r].contributions) {
      distinct.insert(a.client);
      EXPECT_EQ(a.n_samples, config.clients[a.client].n_samples);
      weighted += double(a.n_samples) * double(update_value(a.client, rounds[r].round));
      weight += double(a.n_samples);
    }
    EXPECT_EQ(distinct.size(), rounds[r].contributions.size());
    for (double& w : expected) w += weighted / weight;
  }
  const std::vector<float>& final_weights = *world.finished_weights();
  ASSERT_EQ(final_weights.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_NEAR(final_weights[i], expected[i], 1e-4) << "parameter " << i;
  }
  EXPECT_EQ(final_weights, world.server().global_weights());
}

INSTANTIATE_TEST_SUITE_P(Seeds, FederatedFaultsTest, ::testing::Range(0, 1000));

TEST(FederatedFaults, SameSeedReplaysIdenticalTrace) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    SCOPED_TRACE("seed=" + std::to_string(seed));
    World a(scenario(seed));
    World b(scenario(seed));
    const StopReason ra = a.run_until(nullptr, kTimeLimit);
    const StopReason rb = b.run_until(nullptr, kTimeLimit);
    EXPECT_EQ(ra, rb);
    EXPECT_EQ(a.n_events(), b.n_events());
    EXPECT_EQ(a.now(), b.now());
    EXPECT_EQ(a.trace_hash(), b.trace_hash());
    EXPECT_EQ(a.finished_weights(), b.finished_weights());
  }
}

TEST(FederatedFaults, DifferentSeedsGiveDifferentTraces) {
  World a(scenario(1));
  World b(scenario(2));
  a.run_until(nullptr, kTimeLimit);
  b.run_until(nullptr, kTimeLimit);
  EXPECT_NE(a.trace_hash(), b.trace_hash());
}

TEST(FederatedFaults, RunUntilStopsWhenThePredicateHolds) {
  World world(scenario(3));
  const StopReason reason = world.run_until(
      [](const World& w) { return w.server().status().n_rounds_completed >= 1; }, kTimeLimit);
  if (reason == StopReason::Predicate) {
    EXPECT_EQ(world.server().status().n_rounds_completed, 1u);
  }
}

}  // namespace
}  // namespace disco::sim
