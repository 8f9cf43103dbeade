// SPDX-License-Identifier: Apache-2.0
// Test harness for the federated machines back to back in memory (STYLE "Do this" 7: h11
// ConnectionPair, quiche Pipe::advance): one FederatedServer, N FederatedClients, FIFO links, a
// scripted trainer, and a virtual clock the test advances by hand. No threads, no sleeps. Shared
// by federated_test.cpp and federated_features_test.cpp; test-only.
#pragma once

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "proto/codec.hpp"
#include "proto/federated_client.hpp"
#include "proto/federated_server.hpp"

namespace disco::proto::fedtest {

inline constexpr const char* kFp = "0123456789abcdef";
inline constexpr const char* kTask = "toy";

inline ServerConfig server_config(uint64_t n_rounds, uint32_t min_participants,
                                  Duration timeout = Duration(0)) {
  ServerConfig config;
  config.task_id = kTask;
  config.model_fingerprint = kFp;
  config.initial_weights = {0.5f, -1.0f, 2.0f};
  config.n_rounds = n_rounds;
  config.min_participants = min_participants;
  config.round_timeout = timeout;
  return config;
}

inline ClientConfig client_config(std::string fingerprint = kFp) {
  ClientConfig config;
  config.task_id = kTask;
  config.model_fingerprint = std::move(fingerprint);
  return config;
}

// One client and its link to the server. The trainer answers TrainLocal with
// update[i] = delta * (i + 1) over n_samples examples, unless `hold` keeps the request.
struct Peer {
  NodeId id = 0;
  std::unique_ptr<FederatedClient> client;
  float delta = 0;
  uint64_t n_samples = 1;
  bool hold = false;
  bool linked = false;  // the connection is open
  std::deque<std::vector<std::byte>> inbox;
  std::vector<Message> received;  // every message the client got, decoded
  std::vector<FederatedClient::TrainLocal> held;
  std::vector<std::vector<float>> trained_on;  // global weights of each TrainLocal
  std::optional<Weights> final_weights;
  bool server_closed = false;
};

struct World {
  explicit World(ServerConfig config) : server(std::move(config)) {}

  Peer& add(float delta, uint64_t n_samples, ClientConfig config = client_config()) {
    auto peer = std::make_unique<Peer>();
    peer->id = next_id++;
    peer->client = std::make_unique<FederatedClient>(std::move(config));
    peer->delta = delta;
    peer->n_samples = n_samples;
    peer->linked = true;
    server.on_connect(peer->id, now);
    peer->client->on_connected(now);
    peers.push_back(std::move(peer));
    return *peers.back();
  }

  Peer& peer(NodeId id) {
    for (auto& p : peers) {
      if (p->id == id) return *p;
    }
    ADD_FAILURE() << "no peer " << id;
    return *peers.front();
  }

  void train(Peer& p, const FederatedClient::TrainLocal& request) {
    std::vector<float> update(request.weights.values.size());
    for (std::size_t i = 0; i < update.size(); ++i) update[i] = p.delta * float(i + 1);
    p.client->on_trained(request.round, std::move(update), p.n_samples,
                         TrainMetrics{double(p.delta), std::nullopt}, now);
  }

  void release(Peer& p) {
    auto held = std::move(p.held);
    p.held.clear();
    for (auto& request : held) train(p, request);
    pump();
  }

  void disconnect(Peer& p) {
    p.linked = false;
    server.on_disconnect(p.id, now);
    pump();
  }

  // Moves everything until no machine has output and no link holds bytes.
  void pump() {
    for (int guard = 0; guard < 100000; ++guard) {
      bool progress = false;
      while (auto action = server.next_action()) {
        progress = true;
        if (auto* send = std::get_if<FederatedServer::Send>(&*action)) {
          Peer& p = peer(send->to);
          if (p.linked) p.inbox.push_back(std::move(send->bytes));
        } else if (auto* close = std::get_if<FederatedServer::Close>(&*action)) {
          Peer& p = peer(close->to);
          p.server_closed = true;
          p.linked = false;  // queued inbox bytes still arrive, as TCP flushes before FIN
        } else if (auto* finished = std::get_if<FederatedServer::Finished>(&*action)) {
          server_finished = std::move(finished->weights);
        } else if (auto* joined = std::get_if<FederatedServer::ClientJoined>(&*action)) {
          events.push_back("joined " + joined->client_id);
        } else if (auto* left = std::get_if<FederatedServer::ClientLeft>(&*action)) {
          events.push_back("left " + left->client_id);
        } else {
          auto& closed = std::get<FederatedServer::RoundClosed>(*action);
          std::string e = "closed " + std::to_string(closed.round) + ":";
          for (const std::string& id : closed.contributors) e += " " + id;
          events.push_back(e);
          closed_globals.push_back(server.global_weights());
        }
      }
      for (auto& p : peers) {
        while (auto action = p->client->next_action()) {
          progress = true;
          if (auto* send = std::get_if<FederatedClient::Send>(&*action)) {
            if (p->linked) to_server.emplace_back(p->id, std::move(send->bytes));
          } else if (auto* train_local = std::get_if<FederatedClient::TrainLocal>(&*action)) {
            p->trained_on.push_back(train_local->weights.values);
            if (p->hold) {
              p->held.push_back(std::move(*train_local));
            } else {
              train(*p, *train_local);
            }
          } else if (std::get_if<FederatedClient::Close>(&*action)) {
            if (p->linked) {
              p->linked = false;
              server.on_disconnect(p->id, now);
            }
          } else {
            p->final_weights = std::move(std::get<FederatedClient::Finished>(*action).weights);
          }
        }
      }
      if (!to_server.empty()) {
        progress = true;
        auto [id, bytes] = std::move(to_server.front());
        to_server.pop_front();
        server.on_message(id, bytes, now);
      }
      for (auto& p : peers) {
        if (p->inbox.empty()) continue;
        progress = true;
        auto bytes = std::move(p->inbox.front());
        p->inbox.pop_front();
        auto decoded = decode(bytes);
        if (decoded) p->received.push_back(std::move(decoded).value());
        p->client->on_message(bytes, now);
      }
      if (!progress) return;
    }
    ADD_FAILURE() << "pump did not settle";
  }

  void advance_to(Time t) {
    now = t;
    if (auto d = server.deadline(); d && *d <= now) server.on_timeout(now);
    pump();
  }

  // Sends raw bytes from a peer's connection to the server.
  void inject(Peer& p, const Message& message) {
    server.on_message(p.id, encode(message), now);
    pump();
  }

  FederatedServer server;
  std::vector<std::unique_ptr<Peer>> peers;
  std::deque<std::pair<NodeId, std::vector<std::byte>>> to_server;
  std::optional<std::vector<float>> server_finished;
  std::vector<std::string> events;                 // ClientJoined, ClientLeft, RoundClosed
  std::vector<std::vector<float>> closed_globals;  // global_weights() at each RoundClosed
  NodeId next_id = 1;
  Time now = Time::from_ms(0);
};

template <typename T>
std::vector<const T*> all_of(const Peer& p) {
  std::vector<const T*> out;
  for (const auto& m : p.received) {
    if (const T* t = std::get_if<T>(&m)) out.push_back(t);
  }
  return out;
}

inline std::optional<ErrorCode> last_error_code(const Peer& p) {
  auto errors = all_of<ErrorMessage>(p);
  if (errors.empty()) return std::nullopt;
  return errors.back()->code;
}

// global + sum over rounds of the weighted mean update: update[i] = delta * (i + 1).
inline std::vector<float> expected_after(const std::vector<float>& initial, double mean_delta,
                                         int n_rounds) {
  std::vector<float> out = initial;
  for (int r = 0; r < n_rounds; ++r) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] += static_cast<float>(mean_delta * double(i + 1));
    }
  }
  return out;
}

}  // namespace disco::proto::fedtest
