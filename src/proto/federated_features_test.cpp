// SPDX-License-Identifier: Apache-2.0
// The federated machines' later features, back to back in memory (federated_test_world.hpp):
// config from a task, the sync fraction, async FedBuff aggregation with staleness, join tokens,
// version mismatches, host events, rejoining mid-round and resuming after a server restart.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "core/task.hpp"
#include "proto/federated_test_world.hpp"

namespace disco::proto {
namespace {

using namespace fedtest;  // NOLINT: the harness

const std::vector<float> kInitial = {0.5f, -1.0f, 2.0f};

ServerConfig async_config(uint64_t n_rounds, uint32_t min_participants) {
  ServerConfig config = server_config(n_rounds, min_participants);
  config.aggregation = Aggregation::Async;
  config.staleness.kind = core::StalenessPolicyKind::Polynomial;
  config.staleness.exponent = 1.0;  // weight 1 / (1 + s)
  return config;
}

core::Task penguins_task(const char* federation_json) {
  std::ifstream f(std::string(DISCO_SOURCE_DIR) + "/tasks/penguins.json");
  std::stringstream text;
  text << f.rdbuf();
  core::Json doc = core::Json::parse(text.str());
  doc["training"]["epochs"] = 6;
  doc["training"]["round_duration"] = 2;
  doc["federation"] = core::Json::parse(federation_json);
  Result<core::Task> task = core::parse_task(doc);
  EXPECT_TRUE(task.has_value()) << task.error().message;
  return std::move(task).value();
}

TEST(ServerConfigForTask, MapsTheFederationSettings) {
  core::Task task = penguins_task(R"({"scheme": "federated", "min_participants": 3,
      "fraction": 0.5, "round_timeout_s": 2.5, "aggregation": "async", "buffer_size": 2,
      "staleness": {"policy": "constant", "max_staleness": 4},
      "server_optimizer": {"type": "fedavgm", "lr": 0.5}, "summation": "fixed_point"})");
  Result<ServerConfig> config = server_config_for_task(task, kFp, {1.0f, 2.0f});
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->task_id, task.id);
  EXPECT_EQ(config->model_fingerprint, kFp);
  EXPECT_EQ(config->initial_weights, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(config->n_rounds, 3u);
  EXPECT_EQ(config->min_participants, 3u);
  EXPECT_DOUBLE_EQ(config->fraction, 0.5);
  EXPECT_EQ(config->round_timeout, Duration(2500));
  EXPECT_EQ(config->aggregation, Aggregation::Async);
  EXPECT_EQ(config->buffer_size, 2u);
  EXPECT_EQ(config->staleness.kind, core::StalenessPolicyKind::Constant);
  EXPECT_EQ(config->staleness.max_staleness, std::optional<int64_t>(4));
  EXPECT_EQ(config->server_optimizer.type, core::ServerOptimizerType::FedAvgM);
  EXPECT_EQ(config->summation, core::Summation::FixedPoint);
  EXPECT_FALSE(config->join_token.has_value());
  EXPECT_EQ(config->completed_rounds, 0u);
}

// The server sums with the configured arithmetic: an update below the fixed-point grid (2^-32)
// vanishes there and survives in float64.
TEST(ServerConfigForTask, SummationReachesTheAggregator) {
  for (core::Summation summation : {core::Summation::Float64, core::Summation::FixedPoint}) {
    ServerConfig config = server_config(1, 1);
    config.summation = summation;
    config.initial_weights = {0.0f, 0.0f, 0.0f};  // 0 + 1e-11 is representable in float
    const std::vector<float> before = config.initial_weights;
    World world(std::move(config));
    world.add(1e-11f, 1);
    world.pump();
    ASSERT_TRUE(world.server_finished.has_value());
    const bool moved = *world.server_finished != before;
    EXPECT_EQ(moved, summation == core::Summation::Float64);
  }
}

TEST(ServerConfigForTask, RefusesWhatTheServerCannotRun) {
  Result<ServerConfig> local =
      server_config_for_task(penguins_task(R"({"scheme": "local"})"), kFp, {1.0f});
  ASSERT_FALSE(local.has_value());
  EXPECT_NE(local.error().message.find("federation.scheme"), std::string::npos);
  Result<ServerConfig> buffer = server_config_for_task(
      penguins_task(R"({"scheme": "federated", "min_participants": 2, "buffer_size": 3})"), kFp,
      {1.0f});
  ASSERT_FALSE(buffer.has_value());
  EXPECT_NE(buffer.error().message.find("buffer_size"), std::string::npos);
}

// While many clients wait, each join reaches the newcomer at once and everyone only at every
// kWaitingBatch-th join: a join storm costs O(N^2 / kWaitingBatch) messages, not O(N^2).
TEST(FederatedServerWaiting, BatchesUpdatesWhenManyClientsWait) {
  FederatedServer server(server_config(1, 100));
  const uint32_t n = 2 * kWaitingBatch;
  std::vector<uint32_t> last_seen(n + 1, 0), received(n + 1, 0);
  uint64_t total = 0;
  for (NodeId node = 1; node <= n; ++node) {
    server.on_connect(node, Time::from_ms(0));
    server.on_message(node, encode(ClientHello{kTask, "", kFp, std::nullopt}), Time::from_ms(0));
    while (auto action = server.next_action()) {
      auto* send = std::get_if<FederatedServer::Send>(&*action);
      if (!send) continue;
      Result<Message> m = decode(send->bytes);
      ASSERT_TRUE(m.has_value());
      if (auto* w = std::get_if<WaitingForParticipants>(&*m)) {
        ++total;
        ++received[send->to];
        last_seen[send->to] = w->n_connected;
        EXPECT_EQ(w->n_required, 100u);
      }
    }
    EXPECT_EQ(last_seen[node], node) << "the joining client hears the current count at once";
  }
  // Joins 1..32 reach everyone (1 + 2 + ... + 32), joins 33..63 only the newcomer, join 64
  // everyone again.
  const uint64_t b = kWaitingBatch;
  EXPECT_EQ(total, b * (b + 1) / 2 + (b - 1) + 2 * b);
  for (NodeId node = 1; node <= n; ++node) EXPECT_EQ(last_seen[node], n) << node;
  EXPECT_EQ(received[1], b + 1);
}

// Drivers decide on retries from the protocol code, not from message text.
TEST(FederatedClientErrors, KeepTheProtocolCodeOfTheFailure) {
  FederatedClient refused(client_config());
  refused.on_connected(Time::from_ms(0));
  refused.on_message(encode(ErrorMessage{ErrorCode::Unavailable, "id held"}), Time::from_ms(1));
  EXPECT_EQ(refused.status().phase, ClientPhase::Failed);
  EXPECT_EQ(refused.status().last_error_code, ErrorCode::Unavailable);

  ClientConfig config = client_config();
  config.hello_timeout = Duration(10);
  FederatedClient silent(config);
  silent.on_connected(Time::from_ms(0));
  silent.on_timeout(Time::from_ms(10));
  EXPECT_EQ(silent.status().phase, ClientPhase::Failed);
  EXPECT_EQ(silent.status().last_error_code, ErrorCode::Unavailable);

  FederatedClient garbage(client_config());
  garbage.on_connected(Time::from_ms(0));
  const std::vector<std::byte> junk = {std::byte{0xc1}};
  garbage.on_message(junk, Time::from_ms(1));
  EXPECT_EQ(garbage.status().last_error_code, ErrorCode::ProtocolViolation);
}

TEST(FederatedServerConfig, ValidatesTheNewFields) {
  ServerConfig c = server_config(2, 2);
  c.fraction = 0;
  EXPECT_FALSE(validate(c).has_value());
  c = server_config(2, 2);
  c.completed_rounds = 2;
  EXPECT_FALSE(validate(c).has_value());
  c.completed_rounds = 1;
  EXPECT_TRUE(validate(c).has_value());
  c.buffer_size = 3;
  EXPECT_FALSE(validate(c).has_value());
  c = server_config(2, 2);
  c.server_optimizer.lr = 0;
  EXPECT_FALSE(validate(c).has_value());
}

TEST(FederatedMachines, FractionClosesTheRoundWithoutStragglers) {
  ServerConfig config = server_config(2, 2);
  config.fraction = 0.5;
  World world(std::move(config));
  world.add(1.0f, 1);
  world.add(3.0f, 1);
  Peer& c = world.add(100.0f, 1);
  Peer& d = world.add(100.0f, 1);
  c.hold = d.hold = true;
  world.pump();
  // Four participants, fraction 0.5: two contributions close each round.
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(*world.server_finished, expected_after(kInitial, 2.0, 2));
  EXPECT_EQ(c.client->status().phase, ClientPhase::Finished);
  EXPECT_EQ(world.events.size(), 4u + 2u + 4u);  // 4 joined, 2 closed, 4 left
  EXPECT_EQ(world.events[4], "closed 1: c1 c2");
  EXPECT_EQ(world.closed_globals[0], expected_after(kInitial, 2.0, 1));
}

TEST(FederatedMachines, SyncParticipantRejoiningMidRoundTakesPartAgain) {
  World world(server_config(2, 2));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(3.0f, 1);
  Peer& c = world.add(5.0f, 2);
  b.hold = c.hold = true;
  world.pump();
  world.release(b);  // round 1 closes with a and b; round 2 has all three
  EXPECT_EQ(world.server.status().round, 2u);
  EXPECT_EQ(world.server.status().n_participants, 3u);
  EXPECT_EQ(world.server.status().n_contributions, 1u);
  world.disconnect(b);  // 1 contributed + 1 expected still reach the quorum of 2
  EXPECT_EQ(world.server.status().phase, ServerPhase::Round);
  ClientConfig again = client_config();
  again.client_id = "c2";
  Peer& b2 = world.add(3.0f, 1, std::move(again));
  world.pump();
  ASSERT_EQ(all_of<StartRound>(b2).size(), 1u);
  EXPECT_EQ(all_of<StartRound>(b2)[0]->round, 2u);
  EXPECT_EQ(world.server.status().n_contributions, 2u);  // b2 trained at once
  // The same client's second contribution to the round is a duplicate, whatever connection.
  world.inject(b2, Contribution{2, 1, Weights(kFp, {9, 9, 9}), {}});
  EXPECT_EQ(last_error_code(b2), ErrorCode::StaleRound);
  EXPECT_EQ(world.server.status().n_contributions_refused, 1u);
  world.release(c);  // c's held round-2 request (it joined after round 1 opened)
  ASSERT_TRUE(world.server_finished.has_value());
  // Round 1: (1 + 3) / 2 = 2; round 2: (1*1 + 3*1 + 5*2) / 4 = 3.5.
  EXPECT_EQ(*world.server_finished, expected_after(kInitial, 5.5, 1));
  EXPECT_NE(std::find(world.events.begin(), world.events.end(), "closed 2: c1 c2 c3"),
            world.events.end());
  EXPECT_EQ(a.client->status().phase, ClientPhase::Finished);
}

TEST(FederatedMachines, AsyncAggregatesEveryBufferWithStalenessWeights) {
  ServerConfig config = async_config(2, 2);
  config.buffer_size = 2;
  World world(std::move(config));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(2.0f, 1);
  Peer& c = world.add(4.0f, 2);
  a.hold = b.hold = c.hold = true;
  world.pump();
  // Version 1 goes to everyone once two are joined.
  for (Peer* p : {&a, &b, &c}) ASSERT_EQ(p->held.size(), 1u);
  EXPECT_EQ(world.server.status().phase, ServerPhase::Round);
  EXPECT_EQ(world.server.status().n_participants, 3u);
  world.release(a);
  world.release(b);
  // a and b filled the buffer: version 1 aggregated, mean 1.5; both get version 2.
  EXPECT_EQ(world.server.status().n_rounds_completed, 1u);
  EXPECT_EQ(world.server.global_weights(), expected_after(kInitial, 1.5, 1));
  ASSERT_EQ(a.held.size(), 1u);
  EXPECT_EQ(a.held[0].round, 2u);
  EXPECT_EQ(all_of<RoundResult>(a).size(), 1u);
  EXPECT_TRUE(all_of<RoundResult>(c).empty());  // still training: not told
  EXPECT_EQ(c.client->status().phase, ClientPhase::Training);
  // c's version-1 update arrives with staleness 1: weight 2 * 1/2 = 1. a's version-2 one: 1.
  world.release(c);
  world.release(a);
  ASSERT_TRUE(world.server_finished.has_value());
  // (4*1 + 1*1) / 2 = 2.5 on top of 1.5.
  EXPECT_EQ(*world.server_finished, expected_after(kInitial, 4.0, 1));
  EXPECT_EQ(world.events[world.events.size() - 4], "closed 2: c3 c1");
  for (Peer* p : {&a, &b, &c}) EXPECT_EQ(p->client->status().phase, ClientPhase::Finished);
  EXPECT_EQ(world.server.status().n_closed_for_errors, 0u);
}

TEST(FederatedMachines, AsyncRefusesTooStaleAndDuplicateContributionsWithoutClosing) {
  ServerConfig config = async_config(3, 2);
  config.staleness.max_staleness = 0;
  World world(std::move(config));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(2.0f, 1);
  Peer& c = world.add(4.0f, 2);
  a.hold = b.hold = c.hold = true;
  world.pump();
  world.release(a);
  // Each client contributes once per version: a's second version-1 update is a duplicate.
  world.inject(a, Contribution{1, 1, Weights(kFp, {7, 7, 7}), {}});
  EXPECT_EQ(last_error_code(a), ErrorCode::StaleRound);
  EXPECT_FALSE(a.server_closed);
  world.release(b);
  EXPECT_EQ(world.server.status().round, 2u);
  // c trained on version 1, now 1 behind with max_staleness 0: refused, and handed version 2.
  world.release(c);
  EXPECT_EQ(last_error_code(c), ErrorCode::StaleRound);
  EXPECT_FALSE(c.server_closed);
  ASSERT_EQ(c.held.size(), 1u);
  EXPECT_EQ(c.held[0].round, 2u);
  EXPECT_EQ(c.client->status().phase, ClientPhase::Training);
  EXPECT_EQ(world.server.status().n_contributions_refused, 2u);
  EXPECT_EQ(world.server.status().n_closed_for_errors, 0u);
  // A contribution for a version that does not exist yet is a violation.
  world.inject(b, Contribution{5, 1, Weights(kFp, {1, 1, 1}), {}});
  EXPECT_TRUE(b.server_closed);
  EXPECT_EQ(last_error_code(b), ErrorCode::ProtocolViolation);
  // Below quorum: no new work, but what is in flight still counts.
  world.disconnect(a);
  EXPECT_EQ(world.server.status().phase, ServerPhase::Waiting);
  world.release(c);
  EXPECT_EQ(world.server.status().n_contributions, 1u);
}

TEST(FederatedMachines, JoinTokenIsRequiredWhenConfigured) {
  ServerConfig config = server_config(1, 1);
  config.join_token = "s3cret";
  World world(std::move(config));
  Peer& none = world.add(1.0f, 1);
  ClientConfig wrong = client_config();
  wrong.join_token = "s3cre";
  Peer& bad = world.add(1.0f, 1, std::move(wrong));
  world.pump();
  EXPECT_EQ(last_error_code(none), ErrorCode::Unauthorized);
  EXPECT_TRUE(none.server_closed);
  EXPECT_EQ(last_error_code(bad), ErrorCode::Unauthorized);
  EXPECT_EQ(bad.client->status().phase, ClientPhase::Failed);
  ClientConfig right = client_config();
  right.join_token = "s3cret";
  Peer& ok = world.add(1.0f, 1, std::move(right));
  world.pump();
  EXPECT_EQ(ok.client->status().phase, ClientPhase::Finished);
  EXPECT_TRUE(world.server_finished.has_value());
}

TEST(FederatedMachines, AnotherProtocolVersionGetsVersionMismatch) {
  World world(server_config(1, 2));
  Peer& a = world.add(1.0f, 1);
  Peer& future = world.add(1.0f, 1);
  a.hold = future.hold = true;
  world.pump();
  std::vector<std::byte> bytes = encode(Ping{1});
  bytes[1] = std::byte{0x07};  // the envelope's version (a positive fixint)
  world.server.on_message(future.id, bytes, world.now);
  world.pump();
  ASSERT_EQ(last_error_code(future), ErrorCode::VersionMismatch);
  const ErrorMessage* error = all_of<ErrorMessage>(future).back();
  EXPECT_NE(error->message.find("version 7"), std::string::npos);
  EXPECT_NE(error->message.find("version 1"), std::string::npos);
  EXPECT_TRUE(future.server_closed);
  EXPECT_FALSE(a.server_closed);
  // The client side answers the same way.
  FederatedClient client(client_config());
  client.on_connected(Time{});
  while (client.next_action()) {
  }
  client.on_message(bytes, Time{});
  EXPECT_EQ(client.status().phase, ClientPhase::Failed);
  auto sent = client.next_action();
  ASSERT_TRUE(sent && std::holds_alternative<FederatedClient::Send>(*sent));
  Result<Message> reply = decode(std::get<FederatedClient::Send>(*sent).bytes);
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(std::get<ErrorMessage>(*reply).code, ErrorCode::VersionMismatch);
}

TEST(FederatedMachines, NonFiniteContributionClosesOnlyThatNode) {
  World world(server_config(1, 2));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(3.0f, 1);
  Peer& c = world.add(3.0f, 1);
  a.hold = b.hold = c.hold = true;
  world.pump();
  world.inject(a, Contribution{1, 1, Weights(kFp, {1, std::nanf(""), 3}), {}});
  EXPECT_TRUE(a.server_closed);
  EXPECT_EQ(last_error_code(a), ErrorCode::ProtocolViolation);
  world.release(b);
  world.release(c);
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(*world.server_finished, expected_after(kInitial, 3.0, 1));
}

TEST(FederatedMachines, ResumesAfterARestartFromCompletedRounds) {
  ServerConfig config = server_config(3, 2);
  config.completed_rounds = 2;
  config.known_client_ids = {"c1", "c2"};
  config.initial_weights = expected_after(kInitial, 1.0, 2);
  World world(std::move(config));
  ClientConfig back = client_config();
  back.client_id = "c2";
  Peer& returning = world.add(1.0f, 1, std::move(back));
  Peer& fresh = world.add(3.0f, 1);
  world.pump();
  EXPECT_EQ(returning.client->status().client_id, "c2");
  EXPECT_EQ(fresh.client->status().client_id, "c3");
  ASSERT_FALSE(all_of<ServerWelcome>(fresh).empty());
  EXPECT_EQ(all_of<ServerWelcome>(fresh)[0]->round, 3u);
  ASSERT_FALSE(all_of<StartRound>(fresh).empty());
  EXPECT_EQ(all_of<StartRound>(fresh)[0]->round, 3u);
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(*world.server_finished, expected_after(kInitial, 1.0, 2 + 2));
  EXPECT_EQ(world.server.known_client_ids(), (std::vector<std::string>{"c1", "c2", "c3"}));
}

}  // namespace
}  // namespace disco::proto
