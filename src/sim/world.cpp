// SPDX-License-Identifier: Apache-2.0
#include "sim/world.hpp"

#include <algorithm>
#include <deque>
#include <utility>
#include <variant>

#include "core/base/check.hpp"
#include "proto/codec.hpp"

namespace disco::sim {

float update_value(std::size_t client, uint64_t round) {
  return static_cast<float>(client + 1) * 0.25f + static_cast<float>(round % 8) * (1.0f / 64.0f);
}

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::Predicate:
      return "predicate";
    case StopReason::Finished:
      return "finished";
    case StopReason::TimeLimit:
      return "time limit";
    case StopReason::QueueEmpty:
      return "queue empty";
  }
  return "?";
}

// One message or end-of-stream in flight on a channel.
struct Item {
  std::vector<std::byte> bytes;
  bool fin = false;   // orderly Close: the other end sees the connection end
  bool lost = false;  // dropped: the connection breaks when it would have arrived
};

struct World::Connection {
  std::size_t client = 0;
  std::deque<Item> to_server, to_client;
  Time last_to_server = Time::from_ms(0), last_to_client = Time::from_ms(0);
  // Half-open: the client is gone; what it sent reaches the server at this time, and the server
  // notices the break just after.
  std::optional<Time> half_open_until;
  // A message to the server was lost: nothing after it on that stream can arrive.
  bool to_server_cut = false;
};

struct World::Client {
  ClientSpec spec;
  ClientState state = ClientState::Reconnecting;
  NodeId conn = 0;  // 0: none
  std::unique_ptr<proto::FederatedClient> machine;
  bool saw_finished = false;
  std::string client_id;  // from ServerWelcome
  uint32_t n_reconnects = 0;
  std::optional<Time> timer;
  uint32_t n_actions = 0;  // emitted by its machines, over all connections
  bool crashed_after_actions = false;
  std::optional<Time> partitioned_until;
  std::optional<std::vector<std::byte>> last_contribution;  // bytes, for re-sending
};

World::World(WorldConfig config)
    : config_(std::move(config)),
      rng_(config_.seed),
      server_(std::make_unique<proto::FederatedServer>(config_.server)) {
  DISCO_CHECK(config_.latency_min_ms >= 0 && config_.latency_max_ms >= config_.latency_min_ms,
              "bad latency range");
  DISCO_CHECK(config_.train_min_ms >= 0 && config_.train_max_ms >= config_.train_min_ms,
              "bad training time range");
  for (std::size_t i = 0; i < config_.clients.size(); ++i) {
    auto client = std::make_unique<Client>();
    client->spec = config_.clients[i];
    clients_.push_back(std::move(client));
    schedule(now_, Event{EventKind::Reconnect, 0, false, i, 0});
    if (config_.clients[i].crash_at) {
      schedule(*config_.clients[i].crash_at, Event{EventKind::Crash, 0, false, i, 0});
    }
  }
  for (std::size_t p = 0; p < config_.partitions.size(); ++p) {
    const Partition& partition = config_.partitions[p];
    schedule(partition.start, Event{EventKind::PartitionStart, 0, false, p, 0});
    schedule(partition.start + partition.length, Event{EventKind::PartitionEnd, 0, false, p, 0});
  }
  for (Time t : config_.server_restarts) {
    schedule(t, Event{EventKind::ServerRestart, 0, false, 0, 0});
  }
}

World::~World() = default;

std::size_t World::n_clients() const { return clients_.size(); }

ClientState World::client_state(std::size_t client) const { return clients_.at(client)->state; }

const std::string& World::client_id(std::size_t client) const {
  return clients_.at(client)->client_id;
}

std::size_t World::n_clients_alive() const {
  return static_cast<std::size_t>(std::count_if(
      clients_.begin(), clients_.end(), [](auto& c) { return c->state != ClientState::Gone; }));
}

void World::schedule(Time at, Event event) {
  queue_.emplace(std::make_pair(at.ms(), next_seq_++), event);
}

void World::trace(uint64_t kind, uint64_t a, uint64_t b, const std::vector<std::byte>* bytes) {
  auto mix = [this](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      trace_hash_ ^= (v >> (8 * i)) & 0xffu;
      trace_hash_ *= 1099511628211ull;
    }
  };
  mix(kind);
  mix(static_cast<uint64_t>(now_.ms()));
  mix(a);
  mix(b);
  if (bytes != nullptr) {
    mix(bytes->size());
    for (std::byte x : *bytes) {
      trace_hash_ ^= static_cast<uint64_t>(x);
      trace_hash_ *= 1099511628211ull;
    }
  }
}

int64_t World::latency() {
  const auto span = static_cast<uint32_t>(config_.latency_max_ms - config_.latency_min_ms + 1);
  return config_.latency_min_ms + rng_.uniform_int(span);
}

StopReason World::run_until(const std::function<bool(const World&)>& until, Time time_limit) {
  finished_now_ = false;
  for (;;) {
    if (queue_.empty()) return StopReason::QueueEmpty;
    auto it = queue_.begin();
    if (it->first.first > time_limit.ms()) {
      now_ = std::max(now_, time_limit);
      return StopReason::TimeLimit;
    }
    now_ = Time::from_ms(it->first.first);
    Event event = it->second;
    queue_.erase(it);
    ++n_events_;
    dispatch(event);
    if (finished_now_) return StopReason::Finished;
    if (until && until(*this)) return StopReason::Predicate;
  }
}

void World::dispatch(const Event& event) {
  trace(static_cast<uint64_t>(event.kind), event.conn, event.client, nullptr);
  switch (event.kind) {
    case EventKind::Deliver:
      deliver(event.conn, event.to_server);
      break;
    case EventKind::Break:
      break_link(event.conn, true);
      break;
    case EventKind::Trained: {
      Client& c = *clients_[event.client];
      if (c.conn != event.conn || !c.machine) break;  // the connection it trained for is gone
      const std::size_t n = config_.server.initial_weights.size();
      c.machine->on_trained(event.round,
                            std::vector<float>(n, update_value(event.client, event.round)),
                            c.spec.n_samples, proto::TrainMetrics{1.0, std::nullopt}, now_);
      drain_client(event.client);
      break;
    }
    case EventKind::ServerTimeout:
      if (server_timer_ && *server_timer_ == now_) {
        server_timer_.reset();
        server_input_begin();
        server_->on_timeout(now_);
        server_input_end(std::nullopt);
      }
      break;
    case EventKind::ClientTimeout: {
      Client& c = *clients_[event.client];
      if (c.conn != event.conn || !c.machine || !c.timer || *c.timer != now_) break;
      c.timer.reset();
      c.machine->on_timeout(now_);
      drain_client(event.client);
      break;
    }
    case EventKind::Crash:
      crash(event.client);
      break;
    case EventKind::Reconnect:
      if (clients_[event.client]->state == ClientState::Reconnecting) connect(event.client);
      break;
    case EventKind::ServerNotice: {
      auto it = connections_.find(event.conn);
      if (it == connections_.end()) break;
      connections_.erase(it);
      server_input_begin();
      server_->on_disconnect(event.conn, now_);
      server_input_end(std::nullopt);
      break;
    }
    case EventKind::PartitionStart: {
      const Partition& partition = config_.partitions[event.client];
      for (std::size_t client : partition.clients) {
        Client& c = *clients_[client];
        const Time end = now_ + partition.length;
        c.partitioned_until = c.partitioned_until ? std::max(*c.partitioned_until, end) : end;
      }
      break;
    }
    case EventKind::PartitionEnd: {
      const Partition& partition = config_.partitions[event.client];
      for (std::size_t client : partition.clients) {
        Client& c = *clients_[client];
        if (!c.partitioned_until || *c.partitioned_until > now_) continue;  // a longer one
        c.partitioned_until.reset();
        if (!partition.breaks) continue;
        std::vector<NodeId> conns;
        for (const auto& [id, connection] : connections_) {
          if (connection->client == client) conns.push_back(id);
        }
        for (NodeId id : conns) break_link(id, false);
      }
      break;
    }
    case EventKind::ServerRestart:
      restart_server();
      break;
  }
}

void World::crash(std::size_t client) {
  Client& c = *clients_[client];
  if (c.state == ClientState::Done || c.state == ClientState::Gone) return;
  ++n_crashes_;
  trace(400, client, 0, nullptr);
  if (c.conn != 0) {
    const NodeId conn = c.conn;
    connections_.erase(conn);
    c.conn = 0;
    server_input_begin();
    server_->on_disconnect(conn, now_);
    server_input_end(std::nullopt);
  }
  c.machine.reset();
  c.timer.reset();
  if (c.spec.restart_after_crash) {
    if (c.state != ClientState::Reconnecting) {
      c.state = ClientState::Reconnecting;
      schedule(now_ + config_.reconnect_delay, Event{EventKind::Reconnect, 0, false, client, 0});
    }
  } else {
    c.state = ClientState::Gone;
  }
}

void World::restart_server() {
  if (finished_) return;
  const proto::FederatedServer& old = *server_;
  proto::ServerConfig config = config_.server;
  config.completed_rounds = old.status().n_rounds_completed;
  config.initial_weights = old.global_weights();
  config.known_client_ids = old.known_client_ids();
  server_ = std::make_unique<proto::FederatedServer>(std::move(config));
  server_timer_.reset();
  pending_.clear();
  ++n_server_restarts_;
  trace(500, 0, 0, nullptr);
  std::vector<std::pair<NodeId, std::size_t>> conns;
  for (const auto& [id, connection] : connections_) conns.emplace_back(id, connection->client);
  connections_.clear();
  n_broken_links_ += conns.size();
  for (const auto& [id, client] : conns) {
    if (clients_[client]->conn == id) client_down(client);
  }
}

std::optional<Time> World::stalled_until(NodeId conn) const {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return std::nullopt;
  std::optional<Time> until = it->second->half_open_until;
  const std::optional<Time>& partition = clients_[it->second->client]->partitioned_until;
  if (partition && (!until || *partition > *until)) until = partition;
  if (until && *until <= now_) return std::nullopt;
  return until;
}

void World::connect(std::size_t client) {
  Client& c = *clients_[client];
  const NodeId conn = next_node_++;
  auto connection = std::make_unique<Connection>();
  connection->client = client;
  connections_[conn] = std::move(connection);
  proto::ClientConfig cc = config_.client;
  if (!c.client_id.empty()) cc.client_id = c.client_id;
  c.machine = std::make_unique<proto::FederatedClient>(std::move(cc));
  c.conn = conn;
  c.state = ClientState::Connected;
  c.saw_finished = false;
  server_input_begin();
  server_->on_connect(conn, now_);
  server_input_end(std::nullopt);
  if (c.machine && c.conn == conn) {
    c.machine->on_connected(now_);
    drain_client(client);
  }
  if (c.conn == conn && c.last_contribution && config_.duplicate_probability > 0 &&
      rng_.uniform() < config_.duplicate_probability) {
    ++n_resent_;
    send(conn, /*to_server=*/true, *c.last_contribution);
  }
}

void World::send(NodeId conn, bool to_server, std::vector<std::byte> bytes) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return;  // already gone: nothing to carry it
  Connection& c = *it->second;
  Time& last = to_server ? c.last_to_server : c.last_to_client;
  const Time at = std::max(now_ + Duration(latency()), last);
  last = at;
  Item item;
  item.lost = config_.drop_probability > 0 && rng_.uniform() < config_.drop_probability;
  item.bytes = std::move(bytes);
  (to_server ? c.to_server : c.to_client).push_back(std::move(item));
  schedule(at, Event{EventKind::Deliver, conn, to_server, c.client, 0});
}

void World::send_fin(NodeId conn, bool to_server) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return;
  Connection& c = *it->second;
  Time& last = to_server ? c.last_to_server : c.last_to_client;
  const Time at = std::max(now_ + Duration(latency()), last);
  last = at;
  Item item;
  item.fin = true;
  (to_server ? c.to_server : c.to_client).push_back(std::move(item));
  schedule(at, Event{EventKind::Deliver, conn, to_server, c.client, 0});
}

void World::deliver(NodeId conn, bool to_server) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return;  // broken or closed: its bytes are lost
  if (const std::optional<Time> until = stalled_until(conn)) {
    schedule(*until, Event{EventKind::Deliver, conn, to_server, it->second->client, 0});
    return;
  }
  if (it->second->half_open_until && !to_server) return;  // its client is gone
  std::deque<Item>& channel = to_server ? it->second->to_server : it->second->to_client;
  DISCO_CHECK(!channel.empty(), "delivery from an empty channel");
  Item item = std::move(channel.front());
  channel.pop_front();
  const std::size_t client = it->second->client;
  trace(100 + (to_server ? 1 : 0), conn, item.fin ? 1 : 0, &item.bytes);
  if (to_server && it->second->to_server_cut) return;
  if (item.lost) {
    if (to_server) it->second->to_server_cut = true;
    break_link(conn, true);
    return;
  }
  if (item.fin) {
    connections_.erase(it);
    if (to_server) {
      server_input_begin();
      server_->on_disconnect(conn, now_);
      server_input_end(std::nullopt);
    } else if (clients_[client]->conn == conn) {
      client_down(client);
    }
    return;
  }
  if (to_server) {
    std::optional<std::pair<std::size_t, uint64_t>> contribution;
    if (auto decoded = proto::decode(item.bytes)) {
      if (const auto* c = std::get_if<proto::Contribution>(&decoded.value())) {
        contribution = std::make_pair(client, c->round);
      }
    }
    server_input_begin();
    server_->on_message(conn, item.bytes, now_);
    server_input_end(contribution);
  } else {
    Client& c = *clients_[client];
    if (c.conn != conn || !c.machine) return;
    c.machine->on_message(item.bytes, now_);
    drain_client(client);
  }
}

void World::break_link(NodeId conn, bool allow_half_open) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return;
  Connection& connection = *it->second;
  if (connection.half_open_until) return;  // already broken; the server notices later
  const std::size_t client = connection.client;
  ++n_broken_links_;
  trace(200, conn, client, nullptr);
  if (allow_half_open && config_.reorder_probability > 0 && config_.max_notice_delay_ms > 0 &&
      rng_.uniform() < config_.reorder_probability) {
    // Half-open: the client knows at once; the server still gets what was in flight to it, late.
    ++n_half_open_;
    const auto delay = static_cast<int64_t>(
        1 + rng_.uniform_int(static_cast<uint32_t>(config_.max_notice_delay_ms)));
    const Time until = now_ + Duration(delay);
    connection.half_open_until = until;
    connection.to_client.clear();
    schedule(until + Duration(1), Event{EventKind::ServerNotice, conn, false, client, 0});
  } else {
    connections_.erase(it);
    server_input_begin();
    server_->on_disconnect(conn, now_);
    server_input_end(std::nullopt);
  }
  if (clients_[client]->conn == conn) client_down(client);
}

void World::client_down(std::size_t client) {
  Client& c = *clients_[client];
  c.conn = 0;
  c.machine.reset();
  c.timer.reset();
  if (c.saw_finished) {
    c.state = ClientState::Done;
  } else if (c.n_reconnects < config_.max_reconnects) {
    ++c.n_reconnects;
    c.state = ClientState::Reconnecting;
    schedule(now_ + config_.reconnect_delay, Event{EventKind::Reconnect, 0, false, client, 0});
  } else {
    c.state = ClientState::Gone;
  }
}

void World::server_input_begin() { before_ = server_->status(); }

void World::server_input_end(std::optional<std::pair<std::size_t, uint64_t>> contribution) {
  const proto::ServerStatus& after = server_->status();
  if (contribution && after.n_contributions_accepted > before_.n_contributions_accepted) {
    pending_.push_back(Accepted{contribution->first, contribution->second,
                                clients_[contribution->first]->spec.n_samples});
  }
  if (after.n_round_restarts > before_.n_round_restarts) pending_.clear();
  drain_server();
  arm_server_timer();
}

void World::drain_server() {
  while (auto action = server_->next_action()) {
    if (auto* s = std::get_if<proto::FederatedServer::Send>(&*action)) {
      if (auto decoded = proto::decode(s->bytes)) {
        if (const auto* r = std::get_if<proto::RoundResult>(&decoded.value())) {
          round_results_.emplace(r->round, r->n_participants);
        }
      }
      send(s->to, /*to_server=*/false, std::move(s->bytes));
    } else if (auto* close = std::get_if<proto::FederatedServer::Close>(&*action)) {
      send_fin(close->to, /*to_server=*/false);
    } else if (auto* closed = std::get_if<proto::FederatedServer::RoundClosed>(&*action)) {
      aggregated_.push_back(
          AggregatedRound{closed->round, std::move(pending_), std::move(closed->contributors)});
      pending_.clear();
    } else if (auto* finished = std::get_if<proto::FederatedServer::Finished>(&*action)) {
      finished_ = std::move(finished->weights);
      finished_now_ = true;
      trace(300, 0, 0, nullptr);
    }  // ClientJoined / ClientLeft: host events the simulator does not persist
  }
}

void World::arm_server_timer() {
  const std::optional<Time> d = server_->deadline();
  if (d == server_timer_) return;
  server_timer_ = d;
  if (d) {
    server_timer_ = std::max(*d, now_);
    schedule(*server_timer_, Event{EventKind::ServerTimeout, 0, false, 0, 0});
  }
}

void World::drain_client(std::size_t client) {
  Client& c = *clients_[client];
  if (c.machine && !c.machine->status().client_id.empty()) {
    c.client_id = c.machine->status().client_id;
  }
  while (c.machine) {
    auto action = c.machine->next_action();
    if (!action) break;
    ++c.n_actions;
    if (c.spec.crash_after_actions && !c.crashed_after_actions &&
        c.n_actions >= *c.spec.crash_after_actions) {
      // Crash right after this step (the action still takes effect, as a send already left).
      c.crashed_after_actions = true;
      schedule(now_, Event{EventKind::Crash, 0, false, client, 0});
    }
    if (auto* s = std::get_if<proto::FederatedClient::Send>(&*action)) {
      if (auto decoded = proto::decode(s->bytes);
          decoded && std::holds_alternative<proto::Contribution>(decoded.value())) {
        c.last_contribution = s->bytes;
      }
      send(c.conn, /*to_server=*/true, std::move(s->bytes));
    } else if (auto* t = std::get_if<proto::FederatedClient::TrainLocal>(&*action)) {
      const auto span = static_cast<uint32_t>(config_.train_max_ms - config_.train_min_ms + 1);
      const int64_t ms = config_.train_min_ms + rng_.uniform_int(span);
      schedule(now_ + Duration(ms), Event{EventKind::Trained, c.conn, false, client, t->round});
    } else if (std::get_if<proto::FederatedClient::Close>(&*action)) {
      if (c.machine->status().phase == proto::ClientPhase::Failed) {
        const auto& error = c.machine->status().last_error;
        client_failures_.push_back("client " + std::to_string(client) + ": " +
                                   (error ? error->message : std::string("?")));
      }
      // Orderly shutdown: the server sees the end after the bytes before it.
      send_fin(c.conn, /*to_server=*/true);
      client_down(client);
      return;
    } else {
      c.saw_finished = true;
    }
  }
  if (c.machine) arm_client_timer(client);
}

void World::arm_client_timer(std::size_t client) {
  Client& c = *clients_[client];
  const std::optional<Time> d = c.machine->deadline();
  if (d == c.timer) return;
  c.timer = d;
  if (d) {
    c.timer = std::max(*d, now_);
    schedule(*c.timer, Event{EventKind::ClientTimeout, c.conn, false, client, 0});
  }
}

}  // namespace disco::sim
