// SPDX-License-Identifier: Apache-2.0
#include "proto/federated_server.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

namespace disco::proto {
namespace {

// Where a connection is in its session.
enum class NodeState { AwaitingHello, Joined };

// What the server does with a message a node sends in a state.
enum class Effect {
  Hello,         // check task/token/fingerprint; ServerWelcome (or ErrorMessage + Close)
  Contribution,  // check and add to the open round / the async buffer
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
// a ProtocolViolation: ErrorMessage{ProtocolViolation} + Close. Undecodable bytes are too, except
// an envelope of another protocol version: ErrorMessage{VersionMismatch} + Close.
constexpr Rule kRules[] = {
    {NodeState::AwaitingHello, MessageType::ClientHello, Effect::Hello,
     "task, join token and fingerprint match: ServerWelcome, → Joined (see \"Joining\" below); "
     "wrong task, token or fingerprint: ErrorMessage{UnknownTask, Unauthorized or "
     "ModelMismatch} + Close"},
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

// Compares a peer's token with the expected one in time that depends only on the expected
// token's length, so a peer cannot learn a prefix from response times.
bool tokens_equal(std::string_view given, std::string_view expected) {
  unsigned diff = given.size() == expected.size() ? 0u : 1u;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto g = static_cast<unsigned char>(i < given.size() ? given[i] : 0);
    diff |= g ^ static_cast<unsigned char>(expected[i]);
  }
  return diff == 0;
}

Error invalid(const std::string& message) { return make_error(Errc::InvalidArgument, message); }

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

const char* aggregation_name(Aggregation aggregation) {
  return aggregation == Aggregation::Sync ? "sync" : "async";
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
      "| any | a message of another protocol version | ErrorMessage{VersionMismatch} naming both "
      "versions + Close |\n"
      "| any | anything else, or undecodable bytes | ErrorMessage{ProtocolViolation} + Close |\n";
  return out;
}

Result<void> validate(const ServerConfig& config) {
  if (config.task_id.empty()) return invalid("task_id: empty");
  if (!is_valid_fingerprint(config.model_fingerprint)) {
    return invalid("model_fingerprint: not 16 lowercase hex digits");
  }
  if (config.n_rounds == 0) return invalid("n_rounds: must be >= 1");
  if (config.min_participants == 0) return invalid("min_participants: must be >= 1");
  if (!(config.fraction > 0.0 && config.fraction <= 1.0)) {
    return invalid("fraction: must be in (0, 1]");
  }
  if (config.round_timeout.count() < 0) return invalid("round_timeout: must be >= 0");
  if (config.buffer_size > config.min_participants) {
    return invalid("buffer_size: must be <= min_participants (" +
                   std::to_string(config.min_participants) + "), got " +
                   std::to_string(config.buffer_size));
  }
  if (config.completed_rounds >= config.n_rounds) {
    return invalid("completed_rounds: must be < n_rounds");
  }
  if (config.max_message_bytes == 0) return invalid("max_message_bytes: must be > 0");
  const core::ServerOptimizerConfig& opt = config.server_optimizer;
  if (!(opt.lr > 0.0 && std::isfinite(opt.lr)) || !(opt.tau > 0.0 && std::isfinite(opt.tau)) ||
      !(opt.momentum >= 0.0 && opt.momentum < 1.0) || !(opt.beta_1 >= 0.0 && opt.beta_1 < 1.0) ||
      !(opt.beta_2 >= 0.0 && opt.beta_2 < 1.0)) {
    return invalid("server_optimizer: out of range (see parse_server_optimizer)");
  }
  const core::StalenessPolicy& st = config.staleness;
  if (!(st.exponent >= 0.0 && std::isfinite(st.exponent)) ||
      !(st.hinge_slope >= 0.0 && std::isfinite(st.hinge_slope)) || st.hinge_start < 0 ||
      (st.max_staleness && *st.max_staleness < 0)) {
    return invalid("staleness: out of range (see parse_staleness_policy)");
  }
  return {};
}

Result<ServerConfig> server_config_for_task(const core::Task& task, std::string fingerprint,
                                            std::vector<float> initial_weights) {
  const core::FederationSettings& f = task.federation;
  if (f.scheme != "federated") {
    return invalid("federation.scheme: the server runs \"federated\" tasks, got \"" + f.scheme +
                   "\"");
  }
  constexpr auto kMaxU32 = static_cast<int64_t>(std::numeric_limits<uint32_t>::max());
  if (f.min_participants > kMaxU32) return invalid("federation.min_participants: too large");
  if (f.buffer_size > kMaxU32) return invalid("federation.buffer_size: too large");
  if (!(f.round_timeout_s >= 0.0 && f.round_timeout_s <= 1e9)) {
    return invalid("federation.round_timeout_s: must be in [0, 1e9]");
  }
  ServerConfig config;
  config.task_id = task.id;
  config.model_fingerprint = std::move(fingerprint);
  config.initial_weights = std::move(initial_weights);
  config.n_rounds = static_cast<uint64_t>(task.n_rounds());
  config.min_participants = static_cast<uint32_t>(f.min_participants);
  config.fraction = f.fraction;
  config.round_timeout = Duration(std::llround(f.round_timeout_s * 1000.0));
  config.aggregation = f.aggregation == "async" ? Aggregation::Async : Aggregation::Sync;
  config.buffer_size = static_cast<uint32_t>(f.buffer_size);
  config.staleness = f.staleness;
  config.server_optimizer = f.server_optimizer;
  config.summation =
      f.summation == "fixed_point" ? core::Summation::FixedPoint : core::Summation::Float64;
  Result<void> valid = validate(config);
  if (!valid) return valid.error();
  return config;
}

FederatedServer::FederatedServer(ServerConfig config)
    : config_(std::move(config)),
      global_(config_.initial_weights),
      optimizer_(core::make_server_optimizer(config_.server_optimizer, global_.size())),
      aggregator_(global_.size(), core::MeanAggregatorOptions{config_.summation}) {
  DISCO_CHECK(validate(config_).has_value(), "FederatedServer: invalid ServerConfig");
  limits_.max_message_bytes = config_.max_message_bytes;
  status_.n_rounds_completed = config_.completed_rounds;
  status_.round = config_.completed_rounds + 1;
  issued_ids_.insert(config_.known_client_ids.begin(), config_.known_client_ids.end());
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

std::vector<std::string> FederatedServer::known_client_ids() const {
  return {issued_ids_.begin(), issued_ids_.end()};
}

uint32_t FederatedServer::buffer_size() const {
  return config_.buffer_size == 0 ? config_.min_participants : config_.buffer_size;
}

void FederatedServer::on_connect(NodeId node, Time /*now*/) { nodes_.try_emplace(node); }

void FederatedServer::on_message(NodeId node, std::span<const std::byte> bytes, Time now) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  Result<Message> decoded = decode(bytes, limits_);
  if (!decoded) {
    const std::optional<uint64_t> version = envelope_version(bytes);
    if (version && *version != kProtocolVersion) {
      close_for_error(node, ErrorCode::VersionMismatch, Errc::ProtocolViolation,
                      "peer speaks protocol version " + std::to_string(*version) +
                          ", this server speaks version " + std::to_string(kProtocolVersion));
    } else {
      close_for_error(node, ErrorCode::ProtocolViolation, decoded.error().code,
                      decoded.error().message);
    }
    after_input(now);
    return;
  }
  Message message = std::move(decoded).value();
  NodeState state = it->second.joined ? NodeState::Joined : NodeState::AwaitingHello;
  const Rule* rule = find_rule(state, message_type(message));
  if (rule == nullptr) {
    close_for_error(node, ErrorCode::ProtocolViolation, Errc::ProtocolViolation,
                    std::string(message_type_name(message_type(message))) + " not allowed in " +
                        node_state_name(state));
    after_input(now);
    return;
  }
  switch (rule->effect) {
    case Effect::Hello:
      handle_hello(node, std::get<ClientHello>(std::move(message)), now);
      break;
    case Effect::Contribution:
      handle_contribution(node, std::get<Contribution>(std::move(message)), now);
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
      break;
    }
  }
  after_input(now);
}

void FederatedServer::on_disconnect(NodeId node, Time now) {
  if (nodes_.find(node) == nodes_.end()) return;
  drop_node(node);
  after_input(now);
}

void FederatedServer::on_timeout(Time now) {
  if (status_.phase != ServerPhase::Round || !round_deadline_ || now < *round_deadline_) return;
  if (contributed_.size() >= config_.min_participants) {
    close_round(now);
  } else {
    abandon_round(now);
  }
}

void FederatedServer::handle_hello(NodeId node, ClientHello hello, Time now) {
  if (hello.task_id != config_.task_id) {
    close_for_error(node, ErrorCode::UnknownTask, Errc::NotFound,
                    "no task '" + hello.task_id + "' on this server");
    return;
  }
  if (config_.join_token &&
      !(hello.join_token && tokens_equal(*hello.join_token, *config_.join_token))) {
    close_for_error(node, ErrorCode::Unauthorized, Errc::InvalidArgument,
                    hello.join_token ? "wrong join token" : "this task requires a join token");
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
  } else if (auto held = joined_ids_.find(id); held != joined_ids_.end() && held->second != node) {
    // The newer connection wins: the older one is most likely half-open (its client reconnected
    // before the server noticed the break).
    const NodeId old = held->second;
    send(old, ErrorMessage{ErrorCode::Unavailable,
                           "client id '" + id + "' reconnected on another connection"});
    actions_.emplace_back(Close{old, "replaced by a newer connection of '" + id + "'"});
    drop_node(old);
  }
  issued_ids_.insert(id);
  send(node, ServerWelcome{id, status_.round, config_.model_fingerprint, global_.size(),
                           config_.min_participants, config_.n_rounds});
  if (status_.phase == ServerPhase::Finished) {
    // Late after the end: hand over the final model and close.
    send(node, TrainingFinished{config_.n_rounds, Weights(config_.model_fingerprint, global_)});
    actions_.emplace_back(Close{node, "training finished"});
    nodes_.erase(node);
    return;
  }
  Node& info = nodes_[node];
  info.joined = true;
  info.client_id = id;
  joined_ids_[id] = node;
  actions_.emplace_back(ClientJoined{node, id});
  update_counts();
  if (status_.phase == ServerPhase::Round && config_.aggregation == Aggregation::Sync &&
      members_.count(id) != 0 && contributed_.count(id) == 0) {
    // A participant of the open round came back before contributing: it takes part again.
    start_round_for(node, now);
  }
  if (status_.phase == ServerPhase::Waiting && n_joined() < config_.min_participants) {
    announce_waiting(node);
  }
}

// Tells the waiting clients how many are joined. Every change reaches everyone while few wait;
// with many waiting, the newcomer hears at once and the others at every kWaitingBatch-th
// change, so N joins cost O(N^2 / kWaitingBatch) messages, not O(N^2).
void FederatedServer::announce_waiting(NodeId changed) {
  const uint32_t n = n_joined();
  const WaitingForParticipants waiting{n, config_.min_participants};
  if (n <= kWaitingBatch || n % kWaitingBatch == 0) {
    broadcast(waiting);
  } else if (changed != 0 && nodes_.count(changed) != 0 && nodes_.at(changed).joined) {
    send(changed, waiting);
  }
}

void FederatedServer::start_round_for(NodeId node, Time now) {
  uint64_t deadline_ms = 0;
  if (round_deadline_)
    deadline_ms = static_cast<uint64_t>(std::max<int64_t>(1, (*round_deadline_ - now).count()));
  send(node, StartRound{status_.round, Weights(config_.model_fingerprint, global_), deadline_ms});
}

void FederatedServer::handle_contribution(NodeId node, Contribution contribution, Time now) {
  if (contribution.round > status_.round || contribution.round == 0 ||
      status_.phase == ServerPhase::Finished) {
    close_for_error(
        node, ErrorCode::ProtocolViolation, Errc::ProtocolViolation,
        "contribution for round " + std::to_string(contribution.round) + ", which has not started");
    return;
  }
  if (config_.aggregation == Aggregation::Sync) {
    handle_contribution_sync(node, std::move(contribution));
  } else {
    handle_contribution_async(node, std::move(contribution), now);
  }
}

void FederatedServer::refuse(NodeId node, const Contribution& contribution,
                             const std::string& why) {
  send(node, ErrorMessage{ErrorCode::StaleRound, "contribution for round " +
                                                     std::to_string(contribution.round) +
                                                     " ignored: " + why});
  status_.last_error = make_error(Errc::ProtocolViolation, why);
  ++status_.n_contributions_refused;
}

bool FederatedServer::accept(NodeId node, const Contribution& contribution, double weight) {
  if (contribution.update.fingerprint != config_.model_fingerprint ||
      contribution.update.values.size() != global_.size()) {
    close_for_error(node, ErrorCode::ModelMismatch, Errc::InvalidArgument,
                    "update has fingerprint " + contribution.update.fingerprint + " and " +
                        std::to_string(contribution.update.values.size()) + " values, expected " +
                        config_.model_fingerprint + " and " + std::to_string(global_.size()));
    return false;
  }
  if (contribution.n_samples == 0) {
    close_for_error(node, ErrorCode::ProtocolViolation, Errc::ProtocolViolation,
                    "contribution with n_samples 0");
    return false;
  }
  Result<void> added = aggregator_.add_contribution(contribution.update.values, weight);
  if (!added) {
    close_for_error(node, ErrorCode::ProtocolViolation, added.error().code, added.error().message);
    return false;
  }
  // Metrics are weighted by samples only: staleness discounts the update, not what it measured.
  const auto samples = static_cast<double>(contribution.n_samples);
  if (contribution.metrics.loss && std::isfinite(*contribution.metrics.loss)) {
    loss_sum_ += samples * *contribution.metrics.loss;
    loss_weight_ += samples;
  }
  if (contribution.metrics.accuracy && std::isfinite(*contribution.metrics.accuracy)) {
    accuracy_sum_ += samples * *contribution.metrics.accuracy;
    accuracy_weight_ += samples;
  }
  contributors_.push_back(nodes_[node].client_id);
  ++status_.n_contributions_accepted;
  return true;
}

void FederatedServer::handle_contribution_sync(NodeId node, Contribution contribution) {
  const std::string& id = nodes_[node].client_id;
  if (contribution.round < status_.round) return refuse(node, contribution, "the round is closed");
  if (status_.phase != ServerPhase::Round) {
    return refuse(node, contribution, "the round was abandoned");
  }
  if (contributed_.count(id) != 0) return refuse(node, contribution, "duplicate contribution");
  if (members_.count(id) == 0) {
    return refuse(node, contribution, "not a participant of this round");
  }
  const std::string client = id;  // accept() may drop the node
  if (!accept(node, contribution, static_cast<double>(contribution.n_samples))) return;
  contributed_.insert(client);
  update_counts();
}

void FederatedServer::handle_contribution_async(NodeId node, Contribution contribution, Time now) {
  Node& info = nodes_[node];
  const std::string client = info.client_id;
  auto last = last_contributed_.find(client);
  if (last != last_contributed_.end() && contribution.round <= last->second) {
    return refuse(
        node, contribution,
        "duplicate: this client already contributed to version " + std::to_string(last->second));
  }
  // It answers the node's outstanding StartRound, unless it is an older one (a resend).
  const bool answers = info.assigned && *info.assigned <= contribution.round;
  const auto staleness = static_cast<int64_t>(status_.round - contribution.round);
  if (!core::within_staleness_bound(staleness, config_.staleness)) {
    refuse(node, contribution,
           "staleness " + std::to_string(staleness) + " exceeds max_staleness " +
               std::to_string(*config_.staleness.max_staleness));
    if (answers) info.assigned.reset();  // after_input hands it the current model
    return;
  }
  const double weight = core::staleness_weight(staleness, config_.staleness) *
                        static_cast<double>(contribution.n_samples);
  if (!accept(node, contribution, weight)) return;
  last_contributed_[client] = contribution.round;
  if (answers) nodes_[node].assigned.reset();
  update_counts();
  if (aggregator_.n_contributions() >= static_cast<int64_t>(buffer_size())) {
    const uint64_t version = status_.round;
    const TrainMetrics metrics = aggregate();
    // Contributors not training on a newer version hear the result; busy ones will get the new
    // model with their next StartRound.
    const SharedBytes result(
        encode(RoundResult{version, static_cast<uint32_t>(contributors_.size()), metrics}));
    for (const std::string& id : contributors_) {
      auto joined = joined_ids_.find(id);
      if (joined != joined_ids_.end() && !nodes_[joined->second].assigned) {
        send_bytes(joined->second, result);
      }
    }
    reset_round();
    ++status_.n_rounds_completed;
    if (status_.n_rounds_completed >= config_.n_rounds) {
      finish();
      return;
    }
    ++status_.round;
    update_counts();
  }
  (void)now;
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
  const std::string id = it->second.client_id;
  nodes_.erase(it);
  if (!was_joined) return;
  // A contribution already added stays in the round; the id stays a member and may come back.
  auto held = joined_ids_.find(id);
  if (held != joined_ids_.end() && held->second == node) joined_ids_.erase(held);
  actions_.emplace_back(ClientLeft{node, id});
  update_counts();
  if (status_.phase == ServerPhase::Waiting) announce_waiting(0);
}

void FederatedServer::send(NodeId node, const Message& message) {
  send_bytes(node, SharedBytes(encode(message)));
}

void FederatedServer::send_bytes(NodeId node, SharedBytes bytes) {
  actions_.emplace_back(Send{node, std::move(bytes)});
}

// To every joined node, except (async) the ones training: a WaitingForParticipants or a
// RoundResult would make their client abandon work the server still wants.
void FederatedServer::broadcast(const Message& message) {
  const SharedBytes bytes(encode(message));
  const bool skip_busy = config_.aggregation == Aggregation::Async &&
                         !std::holds_alternative<TrainingFinished>(message);
  for (const auto& [node, info] : nodes_) {
    if (info.joined && !(skip_busy && info.assigned)) send_bytes(node, bytes);
  }
}

uint32_t FederatedServer::n_joined() const { return static_cast<uint32_t>(joined_ids_.size()); }

uint32_t FederatedServer::n_expected() const {
  uint32_t n = 0;
  for (const std::string& id : members_) {
    n += (contributed_.count(id) == 0 && joined_ids_.count(id) != 0) ? 1 : 0;
  }
  return n;
}

void FederatedServer::update_counts() {
  status_.n_joined = n_joined();
  status_.n_contributions = static_cast<uint32_t>(aggregator_.n_contributions());
  if (config_.aggregation == Aggregation::Sync) {
    status_.n_participants = static_cast<uint32_t>(members_.size());
  } else {
    uint32_t busy = 0;
    for (const auto& entry : nodes_) busy += entry.second.assigned ? 1 : 0;
    status_.n_participants = busy;
  }
}

void FederatedServer::after_input(Time now) {
  if (status_.phase == ServerPhase::Finished) return;
  if (config_.aggregation == Aggregation::Sync) {
    if (status_.phase == ServerPhase::Waiting) maybe_start_round(now);
    check_round(now);
    return;
  }
  if (n_joined() >= config_.min_participants) {
    status_.phase = ServerPhase::Round;
    assign_idle(now);
  } else if (status_.phase == ServerPhase::Round) {
    status_.phase = ServerPhase::Waiting;
    broadcast(WaitingForParticipants{n_joined(), config_.min_participants});
  }
}

void FederatedServer::assign_idle(Time /*now*/) {
  std::optional<SharedBytes> start;
  for (auto& [node, info] : nodes_) {
    if (!info.joined || info.assigned) continue;
    auto last = last_contributed_.find(info.client_id);
    if (last != last_contributed_.end() && last->second >= status_.round) continue;
    if (!start) {
      start = SharedBytes(
          encode(StartRound{status_.round, Weights(config_.model_fingerprint, global_), 0}));
    }
    info.assigned = status_.round;
    send_bytes(node, *start);
  }
  update_counts();
}

void FederatedServer::reset_round() {
  members_.clear();
  contributed_.clear();
  contributors_.clear();
  aggregator_.reset();
  loss_sum_ = loss_weight_ = accuracy_sum_ = accuracy_weight_ = 0;
  round_deadline_.reset();
}

void FederatedServer::maybe_start_round(Time now) {
  if (status_.phase != ServerPhase::Waiting || n_joined() < config_.min_participants) return;
  status_.phase = ServerPhase::Round;
  reset_round();
  if (config_.round_timeout.count() > 0) round_deadline_ = now + config_.round_timeout;
  for (const auto& entry : joined_ids_) members_.insert(entry.first);
  broadcast(StartRound{status_.round, Weights(config_.model_fingerprint, global_),
                       static_cast<uint64_t>(config_.round_timeout.count())});
  update_counts();
}

void FederatedServer::check_round(Time now) {
  if (status_.phase != ServerPhase::Round) return;
  const auto n_contributed = static_cast<uint32_t>(contributed_.size());
  const uint32_t n_expected = this->n_expected();
  const auto by_fraction = static_cast<uint32_t>(
      std::ceil(config_.fraction * static_cast<double>(members_.size()) - 1e-9));
  const uint32_t enough = std::max(config_.min_participants, by_fraction);
  if (n_contributed >= enough || (n_expected == 0 && n_contributed >= config_.min_participants)) {
    close_round(now);
  } else if (n_contributed + n_expected < config_.min_participants) {
    abandon_round(now);
  }
}

TrainMetrics FederatedServer::aggregate() {
  std::optional<std::vector<float>> mean = aggregator_.finish();
  DISCO_CHECK(mean.has_value(), "aggregate without contributions");
  optimizer_->apply(global_, *mean);
  TrainMetrics metrics;
  if (loss_weight_ > 0) metrics.loss = loss_sum_ / loss_weight_;
  if (accuracy_weight_ > 0) metrics.accuracy = accuracy_sum_ / accuracy_weight_;
  actions_.emplace_back(RoundClosed{status_.round, static_cast<uint32_t>(contributors_.size()),
                                    metrics, contributors_});
  return metrics;
}

void FederatedServer::close_round(Time now) {
  const TrainMetrics metrics = aggregate();
  broadcast(RoundResult{status_.round, static_cast<uint32_t>(contributed_.size()), metrics});
  ++status_.n_rounds_completed;
  reset_round();
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
  reset_round();
  status_.phase = ServerPhase::Waiting;
  update_counts();
  if (n_joined() < config_.min_participants) {
    broadcast(WaitingForParticipants{n_joined(), config_.min_participants});
  }
  maybe_start_round(now);
}

void FederatedServer::finish() {
  status_.phase = ServerPhase::Finished;
  status_.round = config_.n_rounds;
  broadcast(TrainingFinished{config_.n_rounds, Weights(config_.model_fingerprint, global_)});
  for (const auto& [node, info] : nodes_) {
    actions_.emplace_back(Close{node, "training finished"});
    if (info.joined) actions_.emplace_back(ClientLeft{node, info.client_id});
  }
  nodes_.clear();
  joined_ids_.clear();
  reset_round();
  update_counts();
  actions_.emplace_back(Finished{config_.n_rounds, global_});
}

}  // namespace disco::proto
