// SPDX-License-Identifier: Apache-2.0
// sim::World: a deterministic simulator for the federated machines (STYLE 2.7, "Simulator").
// One FederatedServer and N FederatedClients run against a virtual clock that starts at 0 and
// an event queue ordered by (time, sequence); every random choice comes from one Rng(seed), so
// a seed replays exactly (trace_hash() is the same on every run and platform).
//
// Transport model. Each client connection is a pair of directed FIFO channels, as a WebSocket
// over TCP is: within one connection nothing is lost, duplicated or reordered, so the faults
// below are the ways a reliable stream really fails, and each is seeded:
//   - Latency: uniform in [latency_min, latency_max] ms per message, never before the message
//     ahead of it on its channel (FIFO).
//   - Broken connection ("drop"): with probability drop_probability a message never arrives, and
//     the connection breaks at the time it would have arrived. The client learns it at once
//     (its machine is discarded; it reconnects after reconnect_delay). The server learns it at
//     once too, unless the break is half-open (below).
//   - Reordering = half-open connections. With probability reorder_probability a break is
//     noticed by the server only after a delay up to max_notice_delay_ms: what the client sent
//     on the old connection stays in flight and reaches the server at the end of that delay, so
//     it can overtake (arrive after) the hello and messages of the client's new connection. Then
//     the server gets on_disconnect. (A newer hello with the same client id makes the server
//     close the old connection first; its late messages then go to a forgotten node.)
//   - Duplication = re-sending after reconnect. A client driver cannot know whether the last
//     Contribution it sent before a break arrived; with probability duplicate_probability it
//     sends those bytes again on its new connection right after the hello, so the server may
//     see the same contribution twice (on two connections).
//   - Partitions: a set of clients is cut off from `start` for `length`: every message to or
//     from them (on any of their connections, new ones included) is stalled until the end, then
//     either delivered (healed) or lost with the connection breaking (`breaks`).
//   - A Close from either machine is an orderly shutdown: the messages queued before it are
//     delivered, then the other end sees the connection end.
//
// Clients. Each client may crash at a seeded time and/or right after its machine's n-th action
// (crash_after_actions: a crash at any protocol step, e.g. just after sending a Contribution);
// its connection breaks and its machine is lost. It then either stays down or restarts after
// reconnect_delay. After a broken link or a Close before training finished, a client reconnects
// after reconnect_delay (at most max_reconnects times). Every reconnect is a new connection with
// a new NodeId and a fresh FederatedClient that rejoins with the client id the server gave it.
//
// Server restarts. At each time in server_restarts the server process dies: every connection
// breaks (clients reconnect) and the machine is rebuilt from the last completed round's state,
// as a host would from its checkpoint: completed_rounds = status().n_rounds_completed,
// initial_weights = global_weights(), known_client_ids = known_client_ids(). Contributions to
// the interrupted round are lost; the ServerOptimizer's state restarts from zero.
//
// Training. TrainLocal is answered by a scripted trainer after a seeded training time: the
// update is update_value(client, round) for every parameter, over the client's n_samples.
//
// Observation. The world decodes the bytes it moves only to keep a log for tests: which
// clients' contributions the server accepted (status().n_contributions_accepted grew) and which
// RoundClosed they went into (aggregated()), and the n_participants of each RoundResult.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/rng.hpp"
#include "proto/federated_client.hpp"
#include "proto/federated_server.hpp"
#include "proto/time.hpp"

namespace disco::sim {

using proto::Duration;
using proto::NodeId;
using proto::Time;

struct ClientSpec {
  uint64_t n_samples = 1;
  std::optional<Time> crash_at;  // the client crashes once at this time, if set
  // The client crashes once right after its machines (over all connections) emitted this many
  // actions, if set.
  std::optional<uint32_t> crash_after_actions;
  bool restart_after_crash = false;
};

struct Partition {
  Time start;
  Duration length{0};
  std::vector<std::size_t> clients;
  bool breaks = false;  // at the end: true = the connections break, false = traffic resumes
};

struct WorldConfig {
  uint64_t seed = 0;
  proto::ServerConfig server;
  proto::ClientConfig client;  // template for every client (client_id is set by the world)
  std::vector<ClientSpec> clients;
  int64_t latency_min_ms = 1;
  int64_t latency_max_ms = 10;
  double drop_probability = 0;       // per message; a drop breaks the connection (see above)
  double reorder_probability = 0;    // per break: half-open, noticed late by the server
  int64_t max_notice_delay_ms = 0;   // half-open: the server notices within this
  double duplicate_probability = 0;  // per reconnect: re-send the last Contribution
  std::vector<Partition> partitions;
  std::vector<Time> server_restarts;
  int64_t train_min_ms = 10;
  int64_t train_max_ms = 100;
  Duration reconnect_delay{1000};
  uint32_t max_reconnects = 20;  // per client, after broken links and early Closes
};

// The scripted trainer's update for every parameter (exact in float: multiples of 1/64).
float update_value(std::size_t client, uint64_t round);

// One contribution the server accepted into an aggregated round.
struct Accepted {
  std::size_t client = 0;
  uint64_t round = 0;  // the round (async: model version) it was trained from
  uint64_t n_samples = 0;
};

struct AggregatedRound {
  uint64_t round = 0;
  std::vector<Accepted> contributions;    // in the order the server accepted them
  std::vector<std::string> contributors;  // RoundClosed::contributors
};

enum class StopReason { Predicate, Finished, TimeLimit, QueueEmpty };
const char* stop_reason_name(StopReason reason);

enum class ClientState {
  Connected,     // a connection is open (or opening)
  Reconnecting,  // down; a reconnect is scheduled
  Gone,          // down for good (crashed without restart, or out of reconnects)
  Done,          // its machine saw TrainingFinished
};

class World {
 public:
  explicit World(WorldConfig config);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  // Processes events in (time, sequence) order until `until(*this)` holds after an event, the
  // server emits Finished, the next event lies past time_limit (the clock stops at time_limit),
  // or no event is left.
  StopReason run_until(const std::function<bool(const World&)>& until, Time time_limit);

  Time now() const { return now_; }
  const proto::FederatedServer& server() const { return *server_; }
  // The final weights from the server's Finished action, once emitted.
  const std::optional<std::vector<float>>& finished_weights() const { return finished_; }
  const std::vector<AggregatedRound>& aggregated() const { return aggregated_; }
  // n_participants of the RoundResult the server sent for each round.
  const std::map<uint64_t, uint32_t>& round_results() const { return round_results_; }
  std::size_t n_clients() const;
  ClientState client_state(std::size_t client) const;
  // Clients not Gone.
  std::size_t n_clients_alive() const;
  uint64_t n_events() const { return n_events_; }
  uint64_t n_broken_links() const { return n_broken_links_; }
  uint64_t n_crashes() const { return n_crashes_; }
  uint64_t n_server_restarts() const { return n_server_restarts_; }
  uint64_t n_resent() const { return n_resent_; }
  uint64_t n_half_open() const { return n_half_open_; }
  // The client id the server gave a client ("" before its first ServerWelcome).
  const std::string& client_id(std::size_t client) const;
  // Errors that made a client machine fail (each one is a bug in the protocol or the world:
  // nothing in the fault model should make a correct client give up).
  const std::vector<std::string>& client_failures() const { return client_failures_; }
  // FNV-1a over every processed event (kind, time, client, connection, bytes).
  uint64_t trace_hash() const { return trace_hash_; }

 private:
  enum class EventKind {
    Deliver,
    Break,
    Trained,
    ServerTimeout,
    ClientTimeout,
    Crash,
    Reconnect,
    ServerNotice,    // conn: the server notices a half-open connection is gone
    PartitionStart,  // client: index into config_.partitions
    PartitionEnd,
    ServerRestart,
  };
  struct Event {
    EventKind kind = EventKind::Deliver;
    NodeId conn = 0;         // Deliver, Break, Trained, ClientTimeout: the connection
    bool to_server = false;  // Deliver: which channel
    std::size_t client = 0;  // Trained, ClientTimeout, Crash, Reconnect
    uint64_t round = 0;      // Trained
  };
  struct Connection;
  struct Client;

  void schedule(Time at, Event event);
  void dispatch(const Event& event);
  void trace(uint64_t kind, uint64_t a, uint64_t b, const std::vector<std::byte>* bytes);
  int64_t latency();

  void connect(std::size_t client);
  void send(NodeId conn, bool to_server, std::vector<std::byte> bytes);
  void send_fin(NodeId conn, bool to_server);
  void break_link(NodeId conn, bool allow_half_open);
  void crash(std::size_t client);
  void restart_server();
  void client_down(std::size_t client);
  void deliver(NodeId conn, bool to_server);
  void server_input_begin();
  void server_input_end(std::optional<std::pair<std::size_t, uint64_t>> contribution);
  std::optional<Time> stalled_until(NodeId conn) const;
  void drain_server();
  void drain_client(std::size_t client);
  void arm_server_timer();
  void arm_client_timer(std::size_t client);

  WorldConfig config_;
  Rng rng_;
  std::unique_ptr<proto::FederatedServer> server_;
  Time now_ = Time::from_ms(0);
  uint64_t next_seq_ = 0;
  std::map<std::pair<int64_t, uint64_t>, Event> queue_;  // by (time in ms, sequence)
  std::map<NodeId, std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Client>> clients_;
  NodeId next_node_ = 1;
  std::optional<Time> server_timer_;
  std::optional<std::vector<float>> finished_;
  bool finished_now_ = false;
  // Accepted contributions of the open round; moved to aggregated_ when it closes.
  std::vector<Accepted> pending_;
  proto::ServerStatus before_;
  std::vector<AggregatedRound> aggregated_;
  std::map<uint64_t, uint32_t> round_results_;
  uint64_t n_events_ = 0, n_broken_links_ = 0, n_crashes_ = 0, n_server_restarts_ = 0;
  uint64_t n_resent_ = 0, n_half_open_ = 0;
  std::vector<std::string> client_failures_;
  uint64_t trace_hash_ = 1469598103934665603ull;
};

}  // namespace disco::sim
