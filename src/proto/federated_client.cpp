// SPDX-License-Identifier: Apache-2.0
#include "proto/federated_client.hpp"

#include <utility>

namespace disco::proto {
namespace {

constexpr unsigned bit(ClientPhase phase) { return 1u << static_cast<unsigned>(phase); }
constexpr unsigned kJoined =
    bit(ClientPhase::Waiting) | bit(ClientPhase::Training) | bit(ClientPhase::AwaitingResult);

enum class Effect {
  Welcome,      // remember id and n_params; → Waiting
  Waiting,      // remember counts; → Waiting (a round in progress was abandoned)
  StartRound,   // check round and weights; TrainLocal; → Training
  RoundResult,  // → Waiting if it closes the round this client is in
  Finished,     // Finished + Close; → Finished
  ServerError,  // StaleRound: remember, stay; else → Failed + Close
  ReplyPong,    // Pong{nonce}
  Ignore,
};

struct Rule {
  unsigned phases;  // bit(ClientPhase) set
  MessageType type;
  Effect effect;
  const char* doc;
};

// The client's transitions on server messages (STYLE 2.7). Finished and Failed ignore all
// input. Any other (phase, message) pair, undecodable bytes included, is a ProtocolViolation:
// ErrorMessage{ProtocolViolation} + Close, → Failed.
constexpr Rule kRules[] = {
    {bit(ClientPhase::Connecting), MessageType::ServerWelcome, Effect::Welcome,
     "→ Waiting (records client_id, n_params)"},
    {bit(ClientPhase::Connecting), MessageType::ErrorMessage, Effect::ServerError,
     "Close, → Failed"},
    {kJoined, MessageType::WaitingForParticipants, Effect::Waiting,
     "→ Waiting (records n_connected, n_required; a round being trained is abandoned)"},
    {kJoined, MessageType::StartRound, Effect::StartRound,
     "round >= current and weights match: TrainLocal, → Training (async: the next version after a "
     "contribution, or the current one again after a refusal); else ErrorMessage + Close, → "
     "Failed"},
    {kJoined, MessageType::RoundResult, Effect::RoundResult,
     "round == current: → Waiting (from Training: this client was left out); else no change (an "
     "async result for a version this client did not train on)"},
    {kJoined, MessageType::TrainingFinished, Effect::Finished,
     "Finished{weights} + Close, → Finished"},
    {kJoined, MessageType::ErrorMessage, Effect::ServerError,
     "StaleRound: record, no change; other codes: Close, → Failed"},
    {kJoined, MessageType::Ping, Effect::ReplyPong, "Pong{nonce}"},
    {kJoined, MessageType::Pong, Effect::Ignore, "nothing"},
};

const Rule* find_rule(ClientPhase phase, MessageType type) {
  for (const Rule& rule : kRules) {
    if ((rule.phases & bit(phase)) != 0 && rule.type == type) return &rule;
  }
  return nullptr;
}

}  // namespace

const char* client_phase_name(ClientPhase phase) {
  switch (phase) {
    case ClientPhase::Connecting:
      return "Connecting";
    case ClientPhase::Waiting:
      return "Waiting";
    case ClientPhase::Training:
      return "Training";
    case ClientPhase::AwaitingResult:
      return "AwaitingResult";
    case ClientPhase::Finished:
      return "Finished";
    case ClientPhase::Failed:
      return "Failed";
  }
  return "?";
}

std::string client_transition_table_markdown() {
  std::string out = "| client phase | message from server | effect |\n| --- | --- | --- |\n";
  for (const Rule& rule : kRules) {
    std::string phases;
    for (ClientPhase p : {ClientPhase::Connecting, ClientPhase::Waiting, ClientPhase::Training,
                          ClientPhase::AwaitingResult}) {
      if ((rule.phases & bit(p)) == 0) continue;
      if (!phases.empty()) phases += ", ";
      phases += client_phase_name(p);
    }
    out += "| " + phases + " | " + message_type_name(rule.type) + " | " + rule.doc + " |\n";
  }
  out +=
      "| Connecting, Waiting, Training, AwaitingResult | a message of another protocol version | "
      "ErrorMessage{VersionMismatch} naming both versions + Close, → Failed |\n"
      "| Connecting, Waiting, Training, AwaitingResult | anything else, or undecodable bytes | "
      "ErrorMessage{ProtocolViolation} + Close, → Failed |\n"
      "| Finished, Failed | anything | nothing |\n";
  return out;
}

Result<void> validate(const ClientConfig& config) {
  if (config.task_id.empty()) return make_error(Errc::InvalidArgument, "task_id: empty");
  if (!is_valid_fingerprint(config.model_fingerprint)) {
    return make_error(Errc::InvalidArgument, "model_fingerprint: not 16 lowercase hex digits");
  }
  if (config.hello_timeout.count() < 0) {
    return make_error(Errc::InvalidArgument, "hello_timeout: must be >= 0");
  }
  if (config.keepalive.count() < 0) {
    return make_error(Errc::InvalidArgument, "keepalive: must be >= 0");
  }
  if (config.max_message_bytes == 0) {
    return make_error(Errc::InvalidArgument, "max_message_bytes: must be > 0");
  }
  return {};
}

FederatedClient::FederatedClient(ClientConfig config) : config_(std::move(config)) {
  DISCO_CHECK(validate(config_).has_value(), "FederatedClient: invalid ClientConfig");
  limits_.max_message_bytes = config_.max_message_bytes;
}

std::optional<FederatedClient::Action> FederatedClient::next_action() {
  if (actions_.empty()) return std::nullopt;
  Action action = std::move(actions_.front());
  actions_.pop_front();
  return action;
}

std::optional<Time> FederatedClient::deadline() const {
  if (status_.phase == ClientPhase::Connecting) return hello_deadline_;
  if (status_.phase == ClientPhase::Finished || status_.phase == ClientPhase::Failed ||
      config_.keepalive.count() <= 0) {
    return std::nullopt;
  }
  return last_heard_ + (ping_pending_ ? config_.keepalive + config_.keepalive : config_.keepalive);
}

void FederatedClient::send(const Message& message) { actions_.emplace_back(Send{encode(message)}); }

void FederatedClient::fail(ErrorCode code, Errc errc, const std::string& message,
                           bool tell_server) {
  if (tell_server) send(ErrorMessage{code, message});
  actions_.emplace_back(Close{std::string(error_code_name(code)) + ": " + message});
  status_.last_error = make_error(errc, message);
  status_.last_error_code = code;
  status_.phase = ClientPhase::Failed;
}

void FederatedClient::on_connected(Time now) {
  if (status_.phase != ClientPhase::Connecting || hello_sent_) return;
  hello_sent_ = true;
  send(ClientHello{config_.task_id, config_.client_id.value_or(""), config_.model_fingerprint,
                   config_.join_token});
  if (config_.hello_timeout.count() > 0) hello_deadline_ = now + config_.hello_timeout;
}

void FederatedClient::on_timeout(Time now) {
  if (status_.phase == ClientPhase::Connecting) {
    if (!hello_deadline_ || now < *hello_deadline_) return;
    fail(ErrorCode::Unavailable, Errc::Unavailable, "no ServerWelcome before the hello timeout",
         false);
    return;
  }
  const std::optional<Time> due = deadline();
  if (!due || now < *due) return;
  if (!ping_pending_) {
    ping_pending_ = true;
    send(Ping{++ping_nonce_});
    return;
  }
  fail(ErrorCode::Unavailable, Errc::Unavailable,
       "no message from the server for " +
           std::to_string((config_.keepalive + config_.keepalive).count()) + " ms",
       false);
}

void FederatedClient::on_message(std::span<const std::byte> bytes, Time now) {
  const ClientPhase phase = status_.phase;
  if (phase == ClientPhase::Finished || phase == ClientPhase::Failed) return;
  // Any message shows the server is alive.
  last_heard_ = now;
  ping_pending_ = false;
  Result<Message> decoded = decode(bytes, limits_);
  if (!decoded) {
    const std::optional<uint64_t> version = envelope_version(bytes);
    if (version && *version != kProtocolVersion) {
      fail(ErrorCode::VersionMismatch, Errc::ProtocolViolation,
           "server speaks protocol version " + std::to_string(*version) +
               ", this client speaks version " + std::to_string(kProtocolVersion),
           true);
      return;
    }
    fail(ErrorCode::ProtocolViolation, decoded.error().code, decoded.error().message, true);
    return;
  }
  Message message = std::move(decoded).value();
  const Rule* rule = (phase == ClientPhase::Connecting && !hello_sent_)
                         ? nullptr
                         : find_rule(phase, message_type(message));
  if (rule == nullptr) {
    fail(ErrorCode::ProtocolViolation, Errc::ProtocolViolation,
         std::string(message_type_name(message_type(message))) + " not allowed in " +
             client_phase_name(phase),
         true);
    return;
  }
  switch (rule->effect) {
    case Effect::Welcome: {
      auto& welcome = std::get<ServerWelcome>(message);
      if (welcome.model_fingerprint != config_.model_fingerprint) {
        fail(ErrorCode::ModelMismatch, Errc::ProtocolViolation,
             "ServerWelcome for model " + welcome.model_fingerprint, true);
        return;
      }
      status_.client_id = std::move(welcome.client_id);
      status_.n_params = welcome.n_params;
      status_.n_required = welcome.min_participants;
      status_.phase = ClientPhase::Waiting;
      break;
    }
    case Effect::Waiting: {
      const auto& waiting = std::get<WaitingForParticipants>(message);
      status_.n_connected = waiting.n_connected;
      status_.n_required = waiting.n_required;
      status_.phase = ClientPhase::Waiting;
      break;
    }
    case Effect::StartRound: {
      auto& start = std::get<StartRound>(message);
      if (start.round < status_.round || start.round == 0) {
        fail(ErrorCode::ProtocolViolation, Errc::ProtocolViolation,
             "StartRound for round " + std::to_string(start.round) + " after round " +
                 std::to_string(status_.round),
             true);
        return;
      }
      if (start.weights.fingerprint != config_.model_fingerprint ||
          start.weights.values.size() != status_.n_params) {
        fail(ErrorCode::ModelMismatch, Errc::ProtocolViolation,
             "StartRound weights do not match the model", true);
        return;
      }
      status_.round = start.round;
      status_.phase = ClientPhase::Training;
      actions_.emplace_back(TrainLocal{start.round, std::move(start.weights)});
      break;
    }
    case Effect::RoundResult: {
      const auto& result = std::get<RoundResult>(message);
      if (result.round != status_.round) break;
      ++status_.n_rounds_completed;
      status_.last_round_metrics = result.metrics;
      status_.last_round_participants = result.n_participants;
      status_.phase = ClientPhase::Waiting;
      break;
    }
    case Effect::Finished: {
      auto& finished = std::get<TrainingFinished>(message);
      status_.phase = ClientPhase::Finished;
      actions_.emplace_back(Finished{finished.round, std::move(finished.weights)});
      actions_.emplace_back(Close{"training finished"});
      break;
    }
    case Effect::ServerError: {
      const auto& error = std::get<ErrorMessage>(message);
      std::string text = std::string(error_code_name(error.code)) + ": " + error.message;
      status_.last_error_code = error.code;
      if (error.code == ErrorCode::StaleRound && phase != ClientPhase::Connecting) {
        status_.last_error = make_error(Errc::ProtocolViolation, text);
        break;
      }
      actions_.emplace_back(Close{"server error: " + text});
      status_.last_error = make_error(Errc::Unavailable, text);
      status_.phase = ClientPhase::Failed;
      break;
    }
    case Effect::ReplyPong:
      send(Pong{std::get<Ping>(message).nonce});
      break;
    case Effect::Ignore:
      break;
  }
}

void FederatedClient::on_trained(uint64_t round, std::vector<float> update_delta,
                                 uint64_t n_samples, TrainMetrics metrics, Time /*now*/) {
  if (status_.phase != ClientPhase::Training || round != status_.round) return;
  if (update_delta.size() != status_.n_params || n_samples == 0) {
    fail(ErrorCode::Internal, Errc::Internal,
         "local training returned " + std::to_string(update_delta.size()) + " values over " +
             std::to_string(n_samples) + " samples, expected " + std::to_string(status_.n_params) +
             " values over > 0",
         true);
    return;
  }
  send(Contribution{round, n_samples, Weights(config_.model_fingerprint, std::move(update_delta)),
                    metrics});
  status_.phase = ClientPhase::AwaitingResult;
}

}  // namespace disco::proto
