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
};

World::World(WorldConfig config)
    : config_(std::move(config)), rng_(config_.seed), server_(config_.server) {
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
}

World::~World() = default;

std::size_t World::n_clients() const { return clients_.size(); }

ClientState World::client_state(std::size_t client) const { return clients_.at(client)->state; }

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
      break_link(event.conn);
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
        server_.on_timeout(now_);
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
    case EventKind::Crash: {
      Client& c = *clients_[event.client];
      if (c.state == ClientState::Done || c.state == ClientState::Gone) break;
      ++n_crashes_;
      if (c.conn != 0) {
        const NodeId conn = c.conn;
        connections_.erase(conn);
        c.conn = 0;
        server_input_begin();
        server_.on_disconnect(conn, now_);
        server_input_end(std::nullopt);
      }
      c.machine.reset();
      c.timer.reset();
      if (c.spec.restart_after_crash) {
        if (c.state != ClientState::Reconnecting) {
          c.state = ClientState::Reconnecting;
          schedule(now_ + config_.reconnect_delay,
                   Event{EventKind::Reconnect, 0, false, event.client, 0});
        }
      } else {
        c.state = ClientState::Gone;
      }
      break;
    }
    case EventKind::Reconnect:
      if (clients_[event.client]->state == ClientState::Reconnecting) connect(event.client);
      break;
  }
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
  server_.on_connect(conn, now_);
  server_input_end(std::nullopt);
  if (c.machine && c.conn == conn) {
    c.machine->on_connected(now_);
    drain_client(client);
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
  std::deque<Item>& channel = to_server ? it->second->to_server : it->second->to_client;
  DISCO_CHECK(!channel.empty(), "delivery from an empty channel");
  Item item = std::move(channel.front());
  channel.pop_front();
  const std::size_t client = it->second->client;
  trace(100 + (to_server ? 1 : 0), conn, item.fin ? 1 : 0, &item.bytes);
  if (item.lost) {
    break_link(conn);
    return;
  }
  if (item.fin) {
    connections_.erase(it);
    if (to_server) {
      server_input_begin();
      server_.on_disconnect(conn, now_);
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
    server_.on_message(conn, item.bytes, now_);
    server_input_end(contribution);
  } else {
    Client& c = *clients_[client];
    if (c.conn != conn || !c.machine) return;
    c.machine->on_message(item.bytes, now_);
    drain_client(client);
  }
}

void World::break_link(NodeId conn) {
  auto it = connections_.find(conn);
  if (it == connections_.end()) return;
  const std::size_t client = it->second->client;
  connections_.erase(it);
  ++n_broken_links_;
  trace(200, conn, client, nullptr);
  server_input_begin();
  server_.on_disconnect(conn, now_);
  server_input_end(std::nullopt);
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

void World::server_input_begin() { before_ = server_.status(); }

void World::server_input_end(std::optional<std::pair<std::size_t, uint64_t>> contribution) {
  const proto::ServerStatus& after = server_.status();
  if (contribution && before_.phase == proto::ServerPhase::Round &&
      contribution->second == before_.round &&
      (after.n_contributions > before_.n_contributions ||
       after.n_rounds_completed > before_.n_rounds_completed)) {
    pending_.push_back(
        Accepted{contribution->first, clients_[contribution->first]->spec.n_samples});
  }
  if (after.n_rounds_completed > before_.n_rounds_completed) {
    aggregated_.push_back(AggregatedRound{before_.round, std::move(pending_)});
    pending_.clear();
  } else if (after.n_round_restarts > before_.n_round_restarts) {
    pending_.clear();
  }
  drain_server();
  arm_server_timer();
}

void World::drain_server() {
  while (auto action = server_.next_action()) {
    if (auto* s = std::get_if<proto::FederatedServer::Send>(&*action)) {
      if (auto decoded = proto::decode(s->bytes)) {
        if (const auto* r = std::get_if<proto::RoundResult>(&decoded.value())) {
          round_results_.emplace(r->round, r->n_participants);
        }
      }
      send(s->to, /*to_server=*/false, std::move(s->bytes));
    } else if (auto* close = std::get_if<proto::FederatedServer::Close>(&*action)) {
      send_fin(close->to, /*to_server=*/false);
    } else {
      finished_ = std::move(std::get<proto::FederatedServer::Finished>(*action).weights);
      finished_now_ = true;
      trace(300, 0, 0, nullptr);
    }
  }
}

void World::arm_server_timer() {
  const std::optional<Time> d = server_.deadline();
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
    if (auto* s = std::get_if<proto::FederatedClient::Send>(&*action)) {
      send(c.conn, /*to_server=*/true, std::move(s->bytes));
    } else if (auto* t = std::get_if<proto::FederatedClient::TrainLocal>(&*action)) {
      const auto span = static_cast<uint32_t>(config_.train_max_ms - config_.train_min_ms + 1);
      const int64_t ms = config_.train_min_ms + rng_.uniform_int(span);
      schedule(now_ + Duration(ms), Event{EventKind::Trained, c.conn, false, client, t->round});
    } else if (std::get_if<proto::FederatedClient::Close>(&*action)) {
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
