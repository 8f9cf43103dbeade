// SPDX-License-Identifier: Apache-2.0
// The federated machines back to back in memory (federated_test_world.hpp): synchronous rounds,
// quorum, deadlines, and what a misbehaving peer gets.
#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/base/rng.hpp"
#include "proto/codec.hpp"
#include "proto/federated_client.hpp"
#include "proto/federated_server.hpp"
#include "proto/federated_test_world.hpp"

namespace disco::proto {
namespace {

using namespace fedtest;  // NOLINT: the harness

TEST(FederatedMachines, ThreeClientsThreeRoundsReachWeightedMean) {
  World world(server_config(3, 3));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(2.0f, 1);
  Peer& c = world.add(4.0f, 2);
  world.pump();
  // Weighted mean delta: (1*1 + 2*1 + 4*2) / 4 = 2.75 per unit, exact in float.
  std::vector<float> expected = expected_after({0.5f, -1.0f, 2.0f}, 2.75, 3);
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(*world.server_finished, expected);
  EXPECT_EQ(world.server.status().phase, ServerPhase::Finished);
  EXPECT_EQ(world.server.status().n_rounds_completed, 3u);
  for (Peer* p : {&a, &b, &c}) {
    EXPECT_EQ(p->client->status().phase, ClientPhase::Finished);
    ASSERT_TRUE(p->final_weights.has_value());
    EXPECT_EQ(p->final_weights->values, expected);
    EXPECT_EQ(p->final_weights->fingerprint, kFp);
    ASSERT_EQ(p->trained_on.size(), 3u);
    EXPECT_EQ(p->trained_on[1], expected_after({0.5f, -1.0f, 2.0f}, 2.75, 1));
    EXPECT_EQ(p->client->status().n_rounds_completed, 3u);
    EXPECT_TRUE(p->server_closed);
  }
  EXPECT_EQ(a.client->status().client_id, "c1");
  EXPECT_EQ(c.client->status().client_id, "c3");
  auto results = all_of<RoundResult>(a);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0]->n_participants, 3u);
  // Loss reported = delta; sample-weighted mean = 2.75.
  EXPECT_EQ(results[0]->metrics.loss, 2.75);
  EXPECT_FALSE(results[0]->metrics.accuracy.has_value());
}

TEST(FederatedMachines, WaitsBelowQuorumAndResumesWhenAClientArrives) {
  World world(server_config(1, 2));
  Peer& a = world.add(1.0f, 1);
  world.pump();
  EXPECT_EQ(world.server.status().phase, ServerPhase::Waiting);
  EXPECT_EQ(a.client->status().phase, ClientPhase::Waiting);
  EXPECT_EQ(a.client->status().n_connected, 1u);
  EXPECT_EQ(a.client->status().n_required, 2u);
  EXPECT_TRUE(a.trained_on.empty());
  Peer& b = world.add(3.0f, 1);
  world.pump();
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(*world.server_finished, expected_after({0.5f, -1.0f, 2.0f}, 2.0, 1));
  EXPECT_EQ(b.client->status().phase, ClientPhase::Finished);
  // The waiting count went down again when a joined client left before quorum.
  World world2(server_config(1, 2));
  Peer& x = world2.add(1.0f, 1);
  Peer& y = world2.add(1.0f, 1, client_config());
  y.hold = true;
  world2.pump();
  EXPECT_EQ(world2.server.status().phase, ServerPhase::Round);
  world2.disconnect(y);  // the round cannot reach quorum: abandoned
  EXPECT_EQ(world2.server.status().phase, ServerPhase::Waiting);
  EXPECT_EQ(world2.server.status().n_round_restarts, 1u);
  EXPECT_EQ(x.client->status().n_connected, 1u);
  // x had already contributed; the abandoned round's contribution is dropped.
  Peer& z = world2.add(5.0f, 1);
  world2.pump();
  ASSERT_TRUE(world2.server_finished.has_value());
  EXPECT_EQ(*world2.server_finished, expected_after({0.5f, -1.0f, 2.0f}, 3.0, 1));
  EXPECT_EQ(x.trained_on.size(), 2u);  // round 1 twice
  EXPECT_EQ(z.client->status().phase, ClientPhase::Finished);
}

TEST(FederatedMachines, DeadlineClosesRoundWithQuorumAndLateContributionIsStale) {
  World world(server_config(3, 2, Duration(1000)));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(3.0f, 1);
  Peer& slow = world.add(100.0f, 1);
  slow.hold = true;
  world.pump();
  // Round 1 opened with a and b (slow's hello came third) and closed at once; round 2 has all
  // three, and slow sits on its TrainLocal.
  EXPECT_EQ(world.server.status().n_rounds_completed, 1u);
  ASSERT_EQ(world.server.deadline(), Time::from_ms(1000));
  EXPECT_EQ(world.server.status().n_participants, 3u);
  EXPECT_EQ(world.server.status().n_contributions, 2u);
  world.advance_to(Time::from_ms(999));
  EXPECT_EQ(world.server.status().n_rounds_completed, 1u);
  world.advance_to(Time::from_ms(1000));
  EXPECT_EQ(world.server.status().n_rounds_completed, 2u);
  EXPECT_EQ(world.server.global_weights(), expected_after({0.5f, -1.0f, 2.0f}, 2.0, 2));
  EXPECT_EQ(world.server.deadline(), Time::from_ms(2000));
  // The slow client was left out: it saw RoundResult for its round and is in round 3 now.
  EXPECT_EQ(all_of<RoundResult>(slow).front()->n_participants, 2u);
  EXPECT_EQ(slow.client->status().round, 3u);
  // Its round-2 work arrives late, straight from the wire: StaleRound, connection kept.
  ASSERT_EQ(slow.held.front().round, 2u);
  world.inject(slow, Contribution{2, 1, Weights(kFp, {100, 200, 300}), {}});
  EXPECT_EQ(last_error_code(slow), ErrorCode::StaleRound);
  EXPECT_FALSE(slow.server_closed);
  EXPECT_EQ(slow.client->status().phase, ClientPhase::Training);  // StaleRound is not fatal
  // The client itself drops the stale round-2 result and answers round 3 normally.
  slow.hold = false;
  world.release(slow);
  ASSERT_TRUE(world.server_finished.has_value());
  std::vector<float> expected = expected_after({0.5f, -1.0f, 2.0f}, 2.0, 2);
  for (std::size_t i = 0; i < expected.size(); ++i) {
    expected[i] += static_cast<float>(104.0 * double(i + 1) / 3.0);
  }
  EXPECT_EQ(*world.server_finished, expected);
  EXPECT_EQ(all_of<RoundResult>(slow).back()->n_participants, 3u);
  EXPECT_EQ(a.client->status().phase, ClientPhase::Finished);
  EXPECT_EQ(b.client->status().phase, ClientPhase::Finished);
}

TEST(FederatedMachines, DeadlineBelowQuorumRestartsTheSameRound) {
  World world(server_config(1, 2, Duration(500)));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(3.0f, 1);
  b.hold = true;
  world.pump();
  world.advance_to(Time::from_ms(500));
  EXPECT_EQ(world.server.status().n_round_restarts, 1u);
  EXPECT_EQ(world.server.status().round, 1u);
  EXPECT_EQ(world.server.deadline(), Time::from_ms(1000));
  EXPECT_EQ(all_of<StartRound>(a).size(), 2u);
  EXPECT_EQ(all_of<StartRound>(a).back()->round, 1u);
  b.hold = false;
  world.release(b);  // first held request (round 1) is still round 1: accepted
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(*world.server_finished, expected_after({0.5f, -1.0f, 2.0f}, 2.0, 1));
}

TEST(FederatedMachines, DisconnectMidRoundDropsTheParticipant) {
  World world(server_config(2, 2));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(3.0f, 1);
  Peer& gone = world.add(100.0f, 1);
  gone.hold = true;
  world.pump();
  EXPECT_EQ(world.server.status().n_participants, 3u);
  world.disconnect(gone);
  EXPECT_EQ(world.server.status().n_rounds_completed, 2u);
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(*world.server_finished, expected_after({0.5f, -1.0f, 2.0f}, 2.0, 2));
  EXPECT_EQ(a.client->status().phase, ClientPhase::Finished);
  EXPECT_EQ(b.client->status().phase, ClientPhase::Finished);
}

TEST(FederatedMachines, WrongFingerprintClosesOnlyThatNode) {
  World world(server_config(1, 2));
  Peer& a = world.add(1.0f, 1);
  Peer& bad = world.add(1.0f, 1, client_config("fedcba9876543210"));
  world.pump();
  EXPECT_TRUE(bad.server_closed);
  EXPECT_EQ(last_error_code(bad), ErrorCode::ModelMismatch);
  EXPECT_EQ(bad.client->status().phase, ClientPhase::Failed);
  EXPECT_FALSE(a.server_closed);
  EXPECT_EQ(world.server.status().n_joined, 1u);
  ClientConfig wrong_task = client_config();
  wrong_task.task_id = "other";
  Peer& lost = world.add(1.0f, 1, std::move(wrong_task));
  world.pump();
  EXPECT_EQ(last_error_code(lost), ErrorCode::UnknownTask);
  world.add(3.0f, 1);
  world.pump();
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(world.server.status().n_closed_for_errors, 2u);
}

TEST(FederatedMachines, GarbageBytesCloseOnlyThatNode) {
  World world(server_config(1, 2));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(3.0f, 1);
  b.hold = true;
  world.pump();
  Peer& junk = world.add(0.0f, 1);
  world.pump();
  std::vector<std::byte> garbage = {std::byte{0xc1}, std::byte{0x00}, std::byte{0xff}};
  world.server.on_message(junk.id, garbage, world.now);
  world.pump();
  EXPECT_TRUE(junk.server_closed);
  EXPECT_EQ(last_error_code(junk), ErrorCode::ProtocolViolation);
  EXPECT_FALSE(a.server_closed);
  world.release(b);
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(*world.server_finished, expected_after({0.5f, -1.0f, 2.0f}, 2.0, 1));
  // The client machine treats garbage from the server the same way.
  FederatedClient client(client_config());
  client.on_connected(Time{});
  while (client.next_action()) {
  }
  client.on_message(garbage, Time{});
  EXPECT_EQ(client.status().phase, ClientPhase::Failed);
  auto first = client.next_action();
  ASSERT_TRUE(first && std::holds_alternative<FederatedClient::Send>(*first));
  auto second = client.next_action();
  ASSERT_TRUE(second && std::holds_alternative<FederatedClient::Close>(*second));
}

TEST(FederatedMachines, FutureRoundContributionCloses) {
  World world(server_config(1, 2));
  Peer& a = world.add(1.0f, 1);
  a.hold = true;
  Peer& b = world.add(3.0f, 1);
  b.hold = true;
  world.pump();
  world.inject(a, Contribution{2, 1, Weights(kFp, {1, 2, 3}), {}});
  EXPECT_TRUE(a.server_closed);
  EXPECT_EQ(last_error_code(a), ErrorCode::ProtocolViolation);
  EXPECT_EQ(world.server.status().phase, ServerPhase::Waiting);  // below quorum now
  EXPECT_FALSE(b.server_closed);
}

TEST(FederatedMachines, WrongLengthContributionCloses) {
  World world(server_config(1, 2));
  Peer& a = world.add(1.0f, 1);
  a.hold = true;
  Peer& b = world.add(3.0f, 1);
  b.hold = true;
  world.pump();
  world.inject(a, Contribution{1, 1, Weights(kFp, {1, 2}), {}});
  EXPECT_TRUE(a.server_closed);
  EXPECT_EQ(last_error_code(a), ErrorCode::ModelMismatch);
}

TEST(FederatedMachines, DuplicateContributionIsStaleAndIgnored) {
  World world(server_config(1, 2));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(3.0f, 1);
  b.hold = true;
  world.pump();
  EXPECT_EQ(world.server.status().n_contributions, 1u);
  world.inject(a, Contribution{1, 1, Weights(kFp, {50, 50, 50}), {}});
  EXPECT_EQ(last_error_code(a), ErrorCode::StaleRound);
  EXPECT_FALSE(a.server_closed);
  EXPECT_EQ(world.server.status().n_contributions, 1u);
  world.release(b);
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(*world.server_finished, expected_after({0.5f, -1.0f, 2.0f}, 2.0, 1));
}

TEST(FederatedMachines, LateJoinerGetsCurrentGlobalAtNextRound) {
  World world(server_config(2, 2));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(3.0f, 1);
  b.hold = true;
  world.pump();
  Peer& late = world.add(7.0f, 1);
  world.pump();
  EXPECT_EQ(late.client->status().phase, ClientPhase::Waiting);
  ASSERT_EQ(all_of<ServerWelcome>(late).size(), 1u);
  EXPECT_EQ(all_of<ServerWelcome>(late)[0]->round, 1u);
  EXPECT_TRUE(late.trained_on.empty());
  EXPECT_EQ(world.server.status().n_participants, 2u);
  b.hold = false;
  world.release(b);
  std::vector<float> after_1 = expected_after({0.5f, -1.0f, 2.0f}, 2.0, 1);
  ASSERT_EQ(late.trained_on.size(), 1u);
  EXPECT_EQ(late.trained_on[0], after_1);
  EXPECT_EQ(all_of<StartRound>(late)[0]->round, 2u);
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(all_of<RoundResult>(late).back()->n_participants, 3u);
  EXPECT_EQ(a.client->status().phase, ClientPhase::Finished);
}

TEST(FederatedMachines, ReturningClientKeepsItsId) {
  World world(server_config(1, 3));
  Peer& a = world.add(1.0f, 1);
  world.pump();
  EXPECT_EQ(a.client->status().client_id, "c1");
  world.disconnect(a);
  ClientConfig again = client_config();
  again.client_id = "c1";
  Peer& back = world.add(1.0f, 1, std::move(again));
  Peer& other = world.add(1.0f, 1);
  world.pump();
  EXPECT_EQ(back.client->status().client_id, "c1");
  EXPECT_EQ(other.client->status().client_id, "c2");
  ClientConfig twin = client_config();
  twin.client_id = "c1";
  Peer& dup = world.add(1.0f, 1, std::move(twin));
  world.pump();
  // The newer connection with an id takes over: the older one (likely half-open) is closed.
  EXPECT_EQ(last_error_code(back), ErrorCode::Unavailable);
  EXPECT_TRUE(back.server_closed);
  EXPECT_FALSE(dup.server_closed);
  EXPECT_EQ(dup.client->status().client_id, "c1");
  EXPECT_EQ(world.server.status().n_joined, 2u);
  EXPECT_EQ(world.server.status().n_closed_for_errors, 0u);
  EXPECT_EQ(world.events, (std::vector<std::string>{"joined c1", "left c1", "joined c1",
                                                    "joined c2", "left c1", "joined c1"}));
}

TEST(FederatedMachines, PingPongAndHelloTimeout) {
  World world(server_config(1, 2));
  Peer& a = world.add(1.0f, 1);
  world.pump();
  world.inject(a, Ping{42});
  ASSERT_FALSE(all_of<Pong>(a).empty());
  EXPECT_EQ(all_of<Pong>(a).back()->nonce, 42u);
  ClientConfig config = client_config();
  config.hello_timeout = Duration(200);
  FederatedClient client(std::move(config));
  client.on_connected(Time::from_ms(10));
  EXPECT_EQ(client.deadline(), Time::from_ms(210));
  client.on_timeout(Time::from_ms(209));
  EXPECT_EQ(client.status().phase, ClientPhase::Connecting);
  client.on_timeout(Time::from_ms(210));
  EXPECT_EQ(client.status().phase, ClientPhase::Failed);
  EXPECT_FALSE(client.deadline().has_value());
}

TEST(FederatedMachines, KeepalivePingsASilentServerThenGivesUp) {
  World world(server_config(1, 2));  // quorum 2: the one client waits, and the server is quiet
  ClientConfig config = client_config();
  config.keepalive = Duration(100);
  Peer& a = world.add(1.0f, 1, config);
  world.pump();
  ASSERT_EQ(a.client->status().phase, ClientPhase::Waiting);
  EXPECT_EQ(a.client->deadline(), Time::from_ms(100));
  a.client->on_timeout(Time::from_ms(99));  // early: nothing
  world.pump();
  EXPECT_TRUE(all_of<Pong>(a).empty());

  // After 100 ms of silence the client pings; the server's Pong resets the clock.
  world.now = Time::from_ms(100);
  a.client->on_timeout(world.now);
  world.pump();
  ASSERT_EQ(all_of<Pong>(a).size(), 1u);
  EXPECT_EQ(a.client->status().phase, ClientPhase::Waiting);
  EXPECT_EQ(a.client->deadline(), Time::from_ms(200));

  // A server that went silent (bytes to it are lost): Ping at 200, give up at 300.
  a.linked = false;
  world.now = Time::from_ms(200);
  a.client->on_timeout(world.now);
  EXPECT_EQ(a.client->deadline(), Time::from_ms(300));
  world.now = Time::from_ms(299);
  a.client->on_timeout(world.now);
  EXPECT_EQ(a.client->status().phase, ClientPhase::Waiting);
  world.now = Time::from_ms(300);
  a.client->on_timeout(world.now);
  EXPECT_EQ(a.client->status().phase, ClientPhase::Failed);
  EXPECT_EQ(a.client->status().last_error_code, ErrorCode::Unavailable);
  EXPECT_FALSE(a.client->deadline().has_value());
  bool closed = false;
  while (auto action = a.client->next_action()) {
    closed |= std::holds_alternative<FederatedClient::Close>(*action);
  }
  EXPECT_TRUE(closed);

  // Off by default: no deadline once joined.
  World quiet(server_config(1, 2));
  Peer& b = quiet.add(1.0f, 1);
  quiet.pump();
  EXPECT_EQ(b.client->status().phase, ClientPhase::Waiting);
  EXPECT_FALSE(b.client->deadline().has_value());
  ClientConfig negative = client_config();
  negative.keepalive = Duration(-1);
  EXPECT_FALSE(validate(negative).has_value());
}

TEST(FederatedMachines, ConfigValidation) {
  EXPECT_TRUE(validate(server_config(1, 1)).has_value());
  ServerConfig bad = server_config(0, 1);
  EXPECT_FALSE(validate(bad).has_value());
  bad = server_config(1, 0);
  EXPECT_FALSE(validate(bad).has_value());
  bad = server_config(1, 1);
  bad.model_fingerprint = "xyz";
  EXPECT_FALSE(validate(bad).has_value());
  EXPECT_TRUE(validate(client_config()).has_value());
  EXPECT_FALSE(validate(client_config("ABCDEF0123456789")).has_value());
}

TEST(FederatedMachines, TransitionTablesRender) {
  std::string server = server_transition_table_markdown();
  std::string client = client_transition_table_markdown();
  EXPECT_NE(server.find("| AwaitingHello | ClientHello |"), std::string::npos);
  EXPECT_NE(client.find("| Connecting | ServerWelcome |"), std::string::npos);
}

std::vector<std::vector<std::byte>> fuzz_seeds() {
  std::vector<std::vector<std::byte>> samples;
  samples.push_back(encode(ClientHello{kTask, "", kFp, std::nullopt}));
  samples.push_back(encode(Contribution{1, 5, Weights(kFp, {1, 2, 3}), TrainMetrics{0.5, 0.25}}));
  samples.push_back(encode(StartRound{1, Weights(kFp, {1, 2, 3}), 10}));
  samples.push_back(encode(ErrorMessage{ErrorCode::Internal, "x"}));
  samples.push_back(encode(Ping{7}));
  samples.push_back(encode(WaitingForParticipants{1, 2}));
  return samples;
}

// Every prefix of every valid message, and random garbage, from fresh nodes while a round is
// open: the server never aborts, closes each offender, and still finishes with the others.
TEST(FederatedMachines, ServerSurvivesPrefixesAndGarbage) {
  World world(server_config(1, 2));
  Peer& a = world.add(1.0f, 1);
  Peer& b = world.add(3.0f, 1);
  b.hold = true;
  world.pump();
  std::vector<std::vector<std::byte>> samples = fuzz_seeds();
  NodeId node = 1000;
  Rng rng(1234);
  for (const std::vector<std::byte>& bytes : samples) {
    for (std::size_t n = 0; n <= bytes.size(); ++n) {
      world.server.on_connect(node, world.now);
      world.server.on_message(node, std::span(bytes).first(n), world.now);
      // A second message from the same node, when the first was accepted (a hello).
      world.server.on_message(node, bytes, world.now);
      while (world.server.next_action()) {
      }
      world.server.on_disconnect(node, world.now);
      while (world.server.next_action()) {
      }
      ++node;
    }
  }
  for (int i = 0; i < 300; ++i) {
    std::vector<std::byte> bytes(rng.uniform_int(64));
    for (auto& x : bytes) x = std::byte(rng.uniform_int(256));
    if (i % 2 == 0 && !bytes.empty()) {  // mutate a valid message instead
      bytes = samples[rng.uniform_int(uint32_t(samples.size()))];
      bytes[rng.uniform_int(uint32_t(bytes.size()))] = std::byte(rng.uniform_int(256));
    }
    world.server.on_connect(node, world.now);
    world.server.on_message(node, bytes, world.now);
    while (world.server.next_action()) {
    }
    world.server.on_disconnect(node, world.now);
    while (world.server.next_action()) {
    }
    ++node;
  }
  EXPECT_EQ(world.server.status().phase, ServerPhase::Round);
  EXPECT_EQ(world.server.status().n_joined, 2u);
  world.release(b);
  ASSERT_TRUE(world.server_finished.has_value());
  EXPECT_EQ(*world.server_finished, expected_after({0.5f, -1.0f, 2.0f}, 2.0, 1));
  EXPECT_EQ(a.client->status().phase, ClientPhase::Finished);
}

// The client, joined and waiting, fed every prefix of every seed and random bytes: it never
// aborts, and anything but a valid message leaves it Failed after ErrorMessage + Close.
TEST(FederatedMachines, ClientSurvivesPrefixesAndGarbage) {
  std::vector<std::vector<std::byte>> seeds = fuzz_seeds();
  seeds.push_back(encode(ServerWelcome{"c1", 0, kFp, 3, 1, 1}));
  seeds.push_back(encode(TrainingFinished{1, Weights(kFp, {1, 2, 3})}));
  auto joined_client = [] {
    auto client = std::make_unique<FederatedClient>(client_config());
    client->on_connected(Time{});
    client->on_message(encode(ServerWelcome{"c1", 0, kFp, 3, 1, 1}), Time{});
    while (client->next_action()) {
    }
    return client;
  };
  Rng rng(99);
  int n_failed = 0;
  for (const auto& bytes : seeds) {
    for (std::size_t n = 0; n <= bytes.size(); ++n) {
      auto client = joined_client();
      client->on_message(std::span(bytes).first(n), Time{});
      client->on_trained(1, {1, 2, 3}, 1, {}, Time{});
      while (client->next_action()) {
      }
      n_failed += client->status().phase == ClientPhase::Failed ? 1 : 0;
    }
  }
  for (int i = 0; i < 200; ++i) {
    std::vector<std::byte> bytes = seeds[rng.uniform_int(uint32_t(seeds.size()))];
    bytes[rng.uniform_int(uint32_t(bytes.size()))] = std::byte(rng.uniform_int(256));
    auto client = joined_client();
    client->on_message(bytes, Time{});
    while (client->next_action()) {
    }
  }
  EXPECT_GT(n_failed, 100);
}

}  // namespace
}  // namespace disco::proto
