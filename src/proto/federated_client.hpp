// SPDX-License-Identifier: Apache-2.0
// FederatedClient: the client side of one federated task as a sans-I/O machine (STYLE 2.7). The
// host reports the connection, the bytes that arrive and the end of local training, passes the
// time into every input, drains next_action() after every input and arms one timer at
// deadline(). Training itself is requested (TrainLocal) and answered later (on_trained).
// Never reads a clock, does no I/O, never aborts on what the server sends: a violation makes
// the machine Failed with ErrorMessage + Close. Not thread-safe; the host serialises calls.
// docs/protocol.md ("State machines") holds the transition table, generated from this file's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/base/result.hpp"
#include "proto/codec.hpp"
#include "proto/messages.hpp"
#include "proto/time.hpp"

namespace disco::proto {

struct ClientConfig {
  std::string task_id;
  std::string model_fingerprint;          // 16 lowercase hex digits
  std::optional<std::string> client_id;   // set to rejoin as an earlier client
  std::optional<std::string> join_token;  // sent in ClientHello when set
  // Fail when ServerWelcome has not arrived this long after on_connected; 0 = never.
  Duration hello_timeout{0};
  // Liveness once joined (for hosts that cannot see WebSocket pings, e.g. browsers): after this
  // long without any message from the server the client sends a Ping, and after twice this long
  // it gives up: Close, → Failed with ErrorCode::Unavailable (a lost connection: reconnect).
  // 0 = off.
  Duration keepalive{0};
  std::size_t max_message_bytes = std::size_t{256} << 20;
};

// Errors (InvalidArgument, naming the field): empty task_id, malformed model_fingerprint,
// negative hello_timeout, max_message_bytes == 0.
Result<void> validate(const ClientConfig& config);

enum class ClientPhase {
  Connecting,      // before on_connected, and until ServerWelcome
  Waiting,         // joined; waiting for a StartRound
  Training,        // TrainLocal emitted; waiting for on_trained
  AwaitingResult,  // Contribution sent; waiting for RoundResult
  Finished,        // TrainingFinished received (terminal)
  Failed,          // a fatal error (terminal); status().last_error says which
};
const char* client_phase_name(ClientPhase phase);

struct ClientStatus {
  ClientPhase phase = ClientPhase::Connecting;
  uint64_t round = 0;               // the last round started (0 before the first StartRound)
  uint64_t n_rounds_completed = 0;  // RoundResults received
  uint32_t n_connected = 0;         // from the last WaitingForParticipants
  uint32_t n_required = 0;          // from the last WaitingForParticipants (or ServerWelcome)
  std::string client_id;            // from ServerWelcome
  uint64_t n_params = 0;            // from ServerWelcome
  std::optional<TrainMetrics> last_round_metrics;  // from the last RoundResult
  uint32_t last_round_participants = 0;            // from the last RoundResult
  std::optional<Error> last_error;                 // the last error received or detected
  // The protocol code of last_error: the ErrorMessage's code, received or sent.
  std::optional<ErrorCode> last_error_code;
};

class FederatedClient {
 public:
  struct Send {
    std::vector<std::byte> bytes;  // one encoded Message
  };
  // Train on `weights` (the round's global model) and call on_trained(round, ...).
  struct TrainLocal {
    uint64_t round = 0;
    Weights weights;
  };
  // Close the connection after the Sends before it are flushed.
  struct Close {
    std::string reason;
  };
  // Training is done; `weights` is the final global model (Close follows).
  struct Finished {
    uint64_t round = 0;
    Weights weights;
  };
  using Action = std::variant<Send, TrainLocal, Close, Finished>;

  // `config` must pass validate() (an invalid one aborts: a caller bug).
  explicit FederatedClient(ClientConfig config);

  // The connection is open: sends ClientHello. Ignored unless Connecting and not yet called.
  void on_connected(Time now);
  // Bytes of one message from the server (borrowed for the call).
  void on_message(std::span<const std::byte> bytes, Time now);
  // Local training for `round` finished with this delta (local - global) over n_samples
  // examples. Ignored when `round` is not the round being trained (the server moved on). A
  // delta of the wrong length or n_samples == 0 fails the machine (Internal).
  void on_trained(uint64_t round, std::vector<float> update_delta, uint64_t n_samples,
                  TrainMetrics metrics, Time now);
  // The host's timer fired. Does nothing before deadline().
  void on_timeout(Time now);

  std::optional<Action> next_action();
  // When on_timeout should be called: the hello timeout while Connecting; once joined, the next
  // keepalive step (Ping, then give up) when keepalive is on; else none.
  std::optional<Time> deadline() const;
  const ClientStatus& status() const { return status_; }

 private:
  void fail(ErrorCode code, Errc errc, const std::string& message, bool tell_server);
  void send(const Message& message);

  ClientConfig config_;
  DecodeLimits limits_;
  bool hello_sent_ = false;
  std::optional<Time> hello_deadline_;
  Time last_heard_{};          // the last message from the server (keepalive)
  bool ping_pending_ = false;  // a keepalive Ping was sent since then
  uint64_t ping_nonce_ = 0;
  std::deque<Action> actions_;
  ClientStatus status_;
};

// The client's transition table as markdown (docs/protocol.md holds the same text).
std::string client_transition_table_markdown();

}  // namespace disco::proto
