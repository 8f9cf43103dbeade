// SPDX-License-Identifier: Apache-2.0
// The messages of the federated protocol, as plain values. One struct per message; `Message` is
// their variant. This file only defines the vocabulary: bytes <-> Message lives in codec.hpp,
// who may send what when lives in the federated machines, and docs/protocol.md ("Wire format")
// describes each message's encoding field by field.
//
// A session, seen from the client (C) and the server (S):
//   C -> S  ClientHello                 once, first
//   S -> C  ServerWelcome | ErrorMessage  the reply; an ErrorMessage is followed by a close
//   S -> C  WaitingForParticipants      whenever fewer than min_participants are ready
//   S -> C  StartRound                  global weights; the client trains on them
//   C -> S  Contribution                its update for that round
//   S -> C  RoundResult                 the round closed (summary; no weights)
//   ...     StartRound / Contribution / RoundResult repeat per round
//   S -> C  TrainingFinished            the final global weights; the session ends
//   either  Ping -> Pong                liveness, any time after the hello
//   either  ErrorMessage                a fatal problem; the sender closes afterwards
// Weights travel down once per round (StartRound), up once per round (Contribution), and once
// at the end (TrainingFinished).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace disco::proto {

// Version of the wire format and message set. Decoders refuse any other version. Bump it on
// any change an older peer could misread; adding an optional field does not need a bump (old
// decoders skip keys they do not know).
inline constexpr uint32_t kProtocolVersion = 1;

// A flat parameter vector and the architecture it belongs to. Move-only (STYLE 2.6: big
// buffers copy only through clone()).
struct Weights {
  // The model's fingerprint: exactly 16 lowercase hex digits (docs/formats.md). Two models can
  // exchange weights iff their fingerprints match.
  std::string fingerprint;
  // The parameters in the model's canonical order; n_params == values.size().
  std::vector<float> values;

  Weights() = default;
  Weights(std::string fingerprint_in, std::vector<float> values_in)
      : fingerprint(std::move(fingerprint_in)), values(std::move(values_in)) {}
  Weights(Weights&&) = default;
  Weights& operator=(Weights&&) = default;
  Weights(const Weights&) = delete;
  Weights& operator=(const Weights&) = delete;
  Weights clone() const { return Weights(fingerprint, values); }
  // Element-wise equality; NaN values compare unequal, as floats do.
  bool operator==(const Weights&) const = default;
};

// Training metrics a client reports with its update; each may be absent.
struct TrainMetrics {
  std::optional<double> loss;      // mean training loss over the round's local epochs
  std::optional<double> accuracy;  // in [0, 1] (not checked by the codec)
  bool operator==(const TrainMetrics&) const = default;
};

// Client -> server, first message on a connection: which task to join and as whom.
struct ClientHello {
  std::string task_id;
  // Empty for a new client; the id from an earlier ServerWelcome to rejoin as the same client.
  std::string client_id;
  // The fingerprint of the model the client holds for this task (16 hex digits); the server
  // refuses a mismatch with ErrorMessage{ModelMismatch}.
  std::string model_fingerprint;
  // Required only by tasks that restrict who may join.
  std::optional<std::string> join_token;
  bool operator==(const ClientHello&) const = default;
};

// Server -> client, the reply to a ClientHello that was accepted.
struct ServerWelcome {
  std::string client_id;          // the client's id from now on (assigned or confirmed)
  uint64_t round = 0;             // the server's current round (0 before the first round)
  std::string model_fingerprint;  // 16 hex digits; equals the hello's
  uint64_t n_params = 0;          // parameter count of every Weights in this session
  uint32_t min_participants = 1;  // a round starts only with this many clients ready
  uint64_t n_rounds = 0;          // rounds the task runs for; 0 = until stopped
  bool operator==(const ServerWelcome&) const = default;
};

// Server -> client: training is paused until more clients join.
struct WaitingForParticipants {
  uint32_t n_connected = 0;  // clients currently connected and ready
  uint32_t n_required = 0;   // the task's min_participants
  bool operator==(const WaitingForParticipants&) const = default;
};

// Server -> client: round `round` is open; train on `weights` (the current global model) and
// answer with a Contribution for this round. Async (FedBuff) servers send the current model
// version as `round` (aggregations so far + 1); the Contribution echoes it, and the server
// derives the contribution's staleness from it.
struct StartRound {
  uint64_t round = 0;
  Weights weights;
  // How long the server waits for contributions after sending this, in milliseconds; 0 = no
  // deadline. A duration, not a timestamp: the peers share no clock.
  uint64_t deadline_ms = 0;
  bool operator==(const StartRound&) const = default;
};

// Client -> server: the client's update for `round`.
struct Contribution {
  uint64_t round = 0;
  uint64_t n_samples = 0;  // local examples the update was trained on (FedAvg weight)
  Weights update;          // the model delta (new local weights minus the round's global)
  TrainMetrics metrics;
  bool operator==(const Contribution&) const = default;
};

// Server -> client: round `round` was aggregated. The new global weights follow in the next
// StartRound or in TrainingFinished.
struct RoundResult {
  uint64_t round = 0;
  uint32_t n_participants = 0;  // contributions that went into the aggregate
  TrainMetrics metrics;         // sample-weighted mean of the participants' metrics
  bool operator==(const RoundResult&) const = default;
};

// Server -> client: the task is done; `weights` is the final global model. The server closes
// the connection after sending it.
struct TrainingFinished {
  uint64_t round = 0;  // the last round aggregated
  Weights weights;
  bool operator==(const TrainingFinished&) const = default;
};

// Why a peer gave up on a session. Stable wire values; receivers treat values they do not know
// like Internal.
enum class ErrorCode : uint32_t {
  ProtocolViolation = 1,  // a message that breaks the protocol (bad bytes, wrong state)
  VersionMismatch = 2,    // the peer speaks another kProtocolVersion
  UnknownTask = 3,        // no task with the hello's task_id
  Unauthorized = 4,       // missing or wrong join token
  ModelMismatch = 5,      // fingerprint or n_params differ from the task's model
  StaleRound = 6,         // a contribution was ignored (late, duplicate, too stale); not fatal
  Unavailable = 7,        // the server cannot take the client now (full, shutting down)
  Internal = 8,           // the sender failed on its own
};

// Either direction: a fatal problem. The sender closes the connection after it.
// (Not named Error: that is disco::Error, the Result failure type.)
struct ErrorMessage {
  ErrorCode code = ErrorCode::Internal;
  std::string message;  // human-readable, for logs and the UI
  bool operator==(const ErrorMessage&) const = default;
};

// Either direction: liveness probe; the receiver answers Pong with the same nonce.
struct Ping {
  uint64_t nonce = 0;
  bool operator==(const Ping&) const = default;
};
struct Pong {
  uint64_t nonce = 0;
  bool operator==(const Pong&) const = default;
};

using Message = std::variant<ClientHello, ServerWelcome, WaitingForParticipants, StartRound,
                             Contribution, RoundResult, TrainingFinished, ErrorMessage, Ping, Pong>;

// The type tag each message carries on the wire (the envelope's second element). Stable
// values; 0 is never used.
enum class MessageType : uint32_t {
  ClientHello = 1,
  ServerWelcome = 2,
  WaitingForParticipants = 3,
  StartRound = 4,
  Contribution = 5,
  RoundResult = 6,
  TrainingFinished = 7,
  ErrorMessage = 8,
  Ping = 9,
  Pong = 10,
};

MessageType message_type(const Message& message);
// "ClientHello", "StartRound", ... for logs.
const char* message_type_name(MessageType type);
const char* error_code_name(ErrorCode code);

}  // namespace disco::proto
