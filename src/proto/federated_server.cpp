// SPDX-License-Identifier: Apache-2.0
#include "proto/federated_server.hpp"

#include <algorithm>
#include <utility>

namespace disco::proto {
namespace {

// Where a connection is in its session.
enum class NodeState { AwaitingHello, Joined };

// What the server does with a message a node sends in a state.
enum class Effect {
  Hello,         // check task/fingerprint; ServerWelcome (or ErrorMessage + Close)
  Contribution,  // check and add to the open round
  ReplyPong,     // answer Pong with the same nonce
  Ignore,        // nothing
  PeerGaveUp,    // the node reported a fatal error: Close it, drop it from the round
};

struct Rule {
  NodeState state;
  MessageType type;
  Effect effect;
  const char* doc;  // the effect, for docs/protocol.md
};

// The server's per-connection transitions (STYLE 2.7). Any (state, message) pair not listed is
// a ProtocolViolation: ErrorMessage{ProtocolViolation} + Close. Undecodable bytes are too.
constexpr Rule kRules[] = {
    {NodeState::AwaitingHello, MessageType::ClientHello, Effect::Hello,
     "task and fingerprint match: ServerWelcome, → Joined (WaitingForParticipants or a round "
     "may follow); wrong task, wrong fingerprint or a client id already connected: "
     "ErrorMessage{UnknownTask, ModelMismatch or Unavailable} + Close"},
    {NodeState::AwaitingHello, MessageType::ErrorMessage, Effect::PeerGaveUp, "Close"},
    {NodeState::Joined, MessageType::Contribution, Effect::Contribution,
     "see \"Contributions\" below"},
    {NodeState::Joined, MessageType::Ping, Effect::ReplyPong, "Pong{nonce}"},
    {NodeState::Joined, MessageType::Pong, Effect::Ignore, "nothing"},
    {NodeState::Joined, MessageType::ErrorMessage, Effect::PeerGaveUp,
     "Close; the node leaves the open round"},
};

const Rule* find_rule(NodeState state, MessageType type) {
  for (const Rule& rule : kRules) {
    if (rule.state == state && rule.type == type) return &rule;
  }
  return nullptr;
}

const char* node_state_name(NodeState state) {
  return state == NodeState::AwaitingHello ? "AwaitingHello" : "Joined";
}

}  // namespace

const char* server_phase_name(ServerPhase phase) {
  switch (phase) {
    case ServerPhase::Waiting:
      return "Waiting";
    case ServerPhase::Round:
      return "Round";
    case ServerPhase::Finished:
      return "Finished";
  }
  return "?";
}

std::string server_transition_table_markdown() {
  std::string out = "| node state | message from node | effect |\n| --- | --- | --- |\n";
  for (const Rule& rule : kRules) {
    out += "| ";
    out += node_state_name(rule.state);
    out += " | ";
    out += message_type_name(rule.type);
    out += " | ";
    out += rule.doc;
    out += " |\n";
  }
  out +=
      "| any | anything else, or undecodable bytes | ErrorMessage{ProtocolViolation} + Close |\n";
  return out;
}

Result<void> validate(const ServerConfig& config) {
  if (config.task_id.empty()) return make_error(Errc::InvalidArgument, "task_id: empty");
  if (!is_valid_fingerprint(config.model_fingerprint)) {
    return make_error(Errc::InvalidArgument, "model_fingerprint: not 16 lowercase hex digits");
  }
  if (config.n_rounds == 0) return make_error(Errc::InvalidArgument, "n_rounds: must be >= 1");
  if (config.min_participants == 0) {
    return make_error(Errc::InvalidArgument, "min_participants: must be >= 1");
  }
  if (config.round_timeout.count() < 0) {
    return make_error(Errc::InvalidArgument, "round_timeout: must be >= 0");
  }
  if (config.max_message_bytes == 0) {
    return make_error(Errc::InvalidArgument, "max_message_bytes: must be > 0");
  }
  return {};
}

FederatedServer::FederatedServer(ServerConfig config)
    : config_(std::move(config)),
      global_(config_.initial_weights),
      optimizer_(core::make_server_optimizer(config_.server_optimizer, global_.size())),
      aggregator_(global_.size()) {
  DISCO_CHECK(validate(config_).has_value(), "FederatedServer: invalid ServerConfig");
  limits_.max_message_bytes = config_.max_message_bytes;
  status_.round = 1;
}

std::optional<FederatedServer::Action> FederatedServer::next_action() {
  if (actions_.empty()) return std::nullopt;
  Action action = std::move(actions_.front());
  actions_.pop_front();
  return action;
}

std::optional<Time> FederatedServer::deadline() const {
  if (status_.phase != ServerPhase::Round) return std::nullopt;
  return round_deadline_;
}

std::optional<std::string> FederatedServer::client_id(NodeId node) const {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || !it->second.joined) return std::nullopt;
  return it->second.client_id;
}

void FederatedServer::on_connect(NodeId node, Time /*now*/) { nodes_.try_emplace(node); }

void FederatedServer::on_message(NodeId node, std::span<const std::byte> bytes, Time now) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  Result<Message> decoded = decode(bytes, limits_);
  if (!decoded) {
    close_for_error(node, ErrorCode::ProtocolViolation, decoded.error().code,
                    decoded.error().message);
    check_round(now);
    return;
  }
  Message message = std::move(decoded).value();
  NodeState state = it->second.joined ? NodeState::Joined : NodeState::AwaitingHello;
  const Rule* rule = find_rule(state, message_type(message));
  if (rule == nullptr) {
    close_for_error(node, ErrorCode::ProtocolViolation, Errc::ProtocolViolation,
                    std::string(message_type_name(message_type(message))) + " not allowed in " +
                        node_state_name(state));
    check_round(now);
    return;
  }
  switch (rule->effect) {
    case Effect::Hello:
      handle_hello(node, std::get<ClientHello>(std::move(message)));
      maybe_start_round(now);
      break;
    case Effect::Contribution:
      handle_contribution(node, std::get<Contribution>(std::move(message)));
      check_round(now);
      break;
    case Effect::ReplyPong:
      send(node, Pong{std::get<Ping>(message).nonce});
      break;
    case Effect::Ignore:
      break;
    case Effect::PeerGaveUp: {
      const auto& error = std::get<ErrorMessage>(message);
      actions_.emplace_back(Close{
          node, std::string("peer error: ") + error_code_name(error.code) + ": " + error.message});
      drop_node(node);
      check_round(now);
      break;
    }
  }
}

void FederatedServer::on_disconnect(NodeId node, Time now) {
  if (nodes_.find(node) == nodes_.end()) return;
  drop_node(node);
  check_round(now);
}

void FederatedServer::on_timeout(Time now) {
  if (status_.phase != ServerPhase::Round || !round_deadline_ || now < *round_deadline_) return;
  if (contributed_.size() >= config_.min_participants) {
    close_round(now);
  } else {
    abandon_round(now);
  }
}

void FederatedServer::handle_hello(NodeId node, ClientHello hello) {
  if (hello.task_id != config_.task_id) {
    close_for_error(node, ErrorCode::UnknownTask, Errc::NotFound,
                    "no task '" + hello.task_id + "' on this server");
    return;
  }
  if (hello.model_fingerprint != config_.model_fingerprint) {
    close_for_error(
        node, ErrorCode::ModelMismatch, Errc::InvalidArgument,
        "model fingerprint " + hello.model_fingerprint + " != task's " + config_.model_fingerprint);
    return;
  }
  std::string id = hello.client_id;
  if (id.empty()) {
    do {
      id = "c" + std::to_string(next_client_number_++);
    } while (issued_ids_.count(id) != 0);
  } else {
    for (const auto& [other, info] : nodes_) {
      if (other != node && info.joined && info.client_id == id) {
        close_for_error(node, ErrorCode::Unavailable, Errc::Unavailable,
                        "client id '" + id + "' is already connected");
        return;
      }
    }
  }
  issued_ids_.insert(id);
  Node& info = nodes_[node];
  info.joined = true;
  info.client_id = id;
  send(node, ServerWelcome{id, status_.round, config_.model_fingerprint, global_.size(),
                           config_.min_participants, config_.n_rounds});
  if (status_.phase == ServerPhase::Finished) {
    // Late after the end: hand over the final model and close.
    send(node, TrainingFinished{config_.n_rounds, Weights(config_.model_fingerprint, global_)});
    actions_.emplace_back(Close{node, "training finished"});
    nodes_.erase(node);
    return;
  }
  update_counts();
  if (status_.phase == ServerPhase::Waiting && n_joined() < config_.min_participants) {
    broadcast(WaitingForParticipants{n_joined(), config_.min_participants});
  }
}

void FederatedServer::handle_contribution(NodeId node, Contribution contribution) {
  const uint64_t round = status_.round;
  if (contribution.round > round || status_.phase == ServerPhase::Finished) {
    close_for_error(
        node, ErrorCode::ProtocolViolation, Errc::ProtocolViolation,
        "contribution for round " + std::to_string(contribution.round) + ", which has not started");
    return;
  }
  auto stale = [&](const std::string& why) {
    send(node, ErrorMessage{ErrorCode::StaleRound, "contribution for round " +
                                                       std::to_string(contribution.round) +
                                                       " ignored: " + why});
    status_.last_error = make_error(Errc::ProtocolViolation, why);
  };
  if (contribution.round < round) return stale("the round is closed");
  if (status_.phase != ServerPhase::Round) return stale("the round was abandoned");
  if (contributed_.count(node) != 0) return stale("duplicate contribution");
  if (participants_.count(node) == 0) return stale("not a participant of this round");
  if (contribution.update.fingerprint != config_.model_fingerprint ||
      contribution.update.values.size() != global_.size()) {
    close_for_error(node, ErrorCode::ModelMismatch, Errc::InvalidArgument,
                    "update has fingerprint " + contribution.update.fingerprint + " and " +
                        std::to_string(contribution.update.values.size()) + " values, expected " +
                        config_.model_fingerprint + " and " + std::to_string(global_.size()));
    return;
  }
  if (contribution.n_samples == 0) {
    close_for_error(node, ErrorCode::ProtocolViolation, Errc::ProtocolViolation,
                    "contribution with n_samples 0");
    return;
  }
  const auto weight = static_cast<double>(contribution.n_samples);
  Result<void> added = aggregator_.add_contribution(contribution.update.values, weight);
  if (!added) {
    close_for_error(node, ErrorCode::ProtocolViolation, added.error().code, added.error().message);
    return;
  }
  if (contribution.metrics.loss) {
    loss_sum_ += weight * *contribution.metrics.loss;
    loss_weight_ += weight;
  }
  if (contribution.metrics.accuracy) {
    accuracy_sum_ += weight * *contribution.metrics.accuracy;
    accuracy_weight_ += weight;
  }
  participants_.erase(node);
  contributed_.insert(node);
  update_counts();
}

void FederatedServer::close_for_error(NodeId node, ErrorCode code, Errc errc,
                                      const std::string& message) {
  send(node, ErrorMessage{code, message});
  actions_.emplace_back(Close{node, std::string(error_code_name(code)) + ": " + message});
  status_.last_error = make_error(errc, message);
  ++status_.n_closed_for_errors;
  drop_node(node);
}

void FederatedServer::drop_node(NodeId node) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  const bool was_joined = it->second.joined;
  nodes_.erase(it);
  // A contribution already added stays in the round; only the expectation goes.
  participants_.erase(node);
  update_counts();
  if (was_joined && status_.phase == ServerPhase::Waiting) {
    broadcast(WaitingForParticipants{n_joined(), config_.min_participants});
  }
}

void FederatedServer::send(NodeId node, const Message& message) {
  send_bytes(node, encode(message));
}

void FederatedServer::send_bytes(NodeId node, std::vector<std::byte> bytes) {
  actions_.emplace_back(Send{node, std::move(bytes)});
}

void FederatedServer::broadcast(const Message& message) {
  std::vector<std::byte> bytes = encode(message);
  for (const auto& [node, info] : nodes_) {
    if (info.joined) send_bytes(node, bytes);
  }
}

uint32_t FederatedServer::n_joined() const {
  uint32_t n = 0;
  for (const auto& entry : nodes_) n += entry.second.joined ? 1 : 0;
  return n;
}

void FederatedServer::update_counts() {
  status_.n_joined = n_joined();
  status_.n_participants = static_cast<uint32_t>(participants_.size() + contributed_.size());
  status_.n_contributions = static_cast<uint32_t>(contributed_.size());
}

void FederatedServer::maybe_start_round(Time now) {
  if (status_.phase != ServerPhase::Waiting || n_joined() < config_.min_participants) return;
  status_.phase = ServerPhase::Round;
  participants_.clear();
  contributed_.clear();
  aggregator_.reset();
  loss_sum_ = loss_weight_ = accuracy_sum_ = accuracy_weight_ = 0;
  round_deadline_.reset();
  if (config_.round_timeout.count() > 0) round_deadline_ = now + config_.round_timeout;
  for (const auto& [node, info] : nodes_) {
    if (info.joined) participants_.insert(node);
  }
  broadcast(StartRound{status_.round, Weights(config_.model_fingerprint, global_),
                       static_cast<uint64_t>(config_.round_timeout.count())});
  update_counts();
}

void FederatedServer::check_round(Time now) {
  if (status_.phase != ServerPhase::Round) return;
  if (contributed_.size() + participants_.size() < config_.min_participants) {
    abandon_round(now);
  } else if (participants_.empty()) {
    close_round(now);
  }
}

void FederatedServer::close_round(Time now) {
  std::optional<std::vector<float>> mean = aggregator_.finish();
  DISCO_CHECK(mean.has_value(), "close_round without contributions");
  optimizer_->apply(global_, *mean);
  TrainMetrics metrics;
  if (loss_weight_ > 0) metrics.loss = loss_sum_ / loss_weight_;
  if (accuracy_weight_ > 0) metrics.accuracy = accuracy_sum_ / accuracy_weight_;
  broadcast(RoundResult{status_.round, static_cast<uint32_t>(contributed_.size()), metrics});
  ++status_.n_rounds_completed;
  participants_.clear();
  contributed_.clear();
  round_deadline_.reset();
  if (status_.n_rounds_completed >= config_.n_rounds) {
    finish();
    return;
  }
  ++status_.round;
  status_.phase = ServerPhase::Waiting;
  update_counts();
  if (n_joined() < config_.min_participants) {
    broadcast(WaitingForParticipants{n_joined(), config_.min_participants});
  }
  maybe_start_round(now);
}

void FederatedServer::abandon_round(Time now) {
  ++status_.n_round_restarts;
  participants_.clear();
  contributed_.clear();
  aggregator_.reset();
  round_deadline_.reset();
  status_.phase = ServerPhase::Waiting;
  update_counts();
  if (n_joined() < config_.min_participants) {
    broadcast(WaitingForParticipants{n_joined(), config_.min_participants});
  }
  maybe_start_round(now);
}

void FederatedServer::finish() {
  status_.phase = ServerPhase::Finished;
  broadcast(TrainingFinished{config_.n_rounds, Weights(config_.model_fingerprint, global_)});
  for (const auto& [node, info] : nodes_) {
    actions_.emplace_back(Close{node, "training finished"});
  }
  nodes_.clear();
  update_counts();
  actions_.emplace_back(Finished{config_.n_rounds, global_});
}

}  // namespace disco::proto
