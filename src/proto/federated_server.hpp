// SPDX-License-Identifier: Apache-2.0
// FederatedServer: the server side of one federated task, synchronous rounds with a quorum, as a
// sans-I/O machine (STYLE 2.7). The host feeds it connection events, bytes and time, and drains
// next_action() after every input; it arms one timer at deadline() and calls on_timeout() then.
// The machine never reads a clock, does no I/O, starts no threads and never aborts on anything a
// peer sends: a misbehaving node gets ErrorMessage + Close and the others carry on.
//
// Session (docs/protocol.md, "State machines", has the full tables):
//   - A node's first message must be ClientHello with this task's id and model fingerprint; the
//     server answers ServerWelcome (assigning "c1", "c2", ... or confirming a returning id).
//   - While fewer than min_participants clients are joined, every joined client gets
//     WaitingForParticipants after each change.
//   - With min_participants joined, round r opens: StartRound{r, global, deadline_ms} to every
//     joined client; they are the round's participants. Clients joining later wait for the next
//     round.
//   - The round closes when every remaining participant has contributed, or at the deadline
//     with at least min_participants contributions: the n_samples-weighted mean delta goes
//     through the ServerOptimizer into the global weights and every joined client gets
//     RoundResult. After n_rounds, TrainingFinished{global} and Close go to everyone and the
//     host gets Finished.
//   - A round that can no longer reach min_participants contributions (deadline passed, or
//     participants left) is abandoned: its contributions are dropped and the same round number
//     opens again once min_participants clients are joined.
// Not thread-safe; the host serialises calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/aggregate/mean_aggregator.hpp"
#include "core/aggregate/server_optimizer.hpp"
#include "core/base/result.hpp"
#include "proto/codec.hpp"
#include "proto/messages.hpp"
#include "proto/time.hpp"

namespace disco::proto {

// The host's name for one connection. Chosen by the host, unique among open connections.
using NodeId = uint64_t;

struct ServerConfig {
  std::string task_id;
  std::string model_fingerprint;                 // 16 lowercase hex digits
  std::vector<float> initial_weights;            // the round-1 global model
  uint64_t n_rounds = 1;                         // >= 1
  uint32_t min_participants = 1;                 // >= 1
  Duration round_timeout{0};                     // after StartRound; 0 = wait for every participant
  core::ServerOptimizerConfig server_optimizer;  // default: FedAvg, lr 1
  std::size_t max_message_bytes = std::size_t{256} << 20;
};

// Errors (InvalidArgument, naming the field): empty task_id, malformed fingerprint,
// n_rounds == 0, min_participants == 0, negative round_timeout, max_message_bytes == 0.
Result<void> validate(const ServerConfig& config);

// The server's phase (the round phase in docs/protocol.md).
enum class ServerPhase {
  Waiting,   // fewer than min_participants joined; no round open
  Round,     // round `round()` is open and collecting contributions
  Finished,  // n_rounds done; TrainingFinished sent
};
const char* server_phase_name(ServerPhase phase);

struct ServerStatus {
  ServerPhase phase = ServerPhase::Waiting;
  uint64_t round = 1;  // the open round, or the next one to open (Finished: n_rounds)
  uint64_t n_rounds_completed = 0;
  uint64_t n_round_restarts = 0;  // rounds abandoned below quorum
  uint32_t n_joined = 0;          // connections past ClientHello
  uint32_t n_participants = 0;    // of the open round, still expected or already contributed
  uint32_t n_contributions = 0;   // to the open round
  uint64_t n_closed_for_errors = 0;
  std::optional<Error> last_error;  // the last peer misbehaviour, for logs
};

class FederatedServer {
 public:
  struct Send {
    NodeId to;
    std::vector<std::byte> bytes;  // one encoded Message
  };
  // Close the connection after the Sends before it are flushed. The machine has already
  // forgotten the node; later input from it is ignored.
  struct Close {
    NodeId to;
    std::string reason;
  };
  // Training is done (emitted once, after the last TrainingFinished and Close).
  struct Finished {
    uint64_t n_rounds = 0;
    std::vector<float> weights;
  };
  using Action = std::variant<Send, Close, Finished>;

  // `config` must pass validate() (an invalid one aborts: a caller bug).
  explicit FederatedServer(ServerConfig config);

  // A connection opened; the node must send ClientHello first. A known id is ignored.
  void on_connect(NodeId node, Time now);
  // Bytes of one message from `node` (borrowed for the call). Unknown nodes are ignored.
  void on_message(NodeId node, std::span<const std::byte> bytes, Time now);
  // The connection is gone (any reason). The node leaves its round, if any. Unknown: ignored.
  void on_disconnect(NodeId node, Time now);
  // The host's timer fired. Does nothing before deadline().
  void on_timeout(Time now);

  // The next output, or nullopt when there is none. Drain until nullopt after every input.
  std::optional<Action> next_action();
  // When on_timeout should be called: the open round's deadline, if it has one.
  std::optional<Time> deadline() const;

  const ServerStatus& status() const { return status_; }
  // The current global weights.
  const std::vector<float>& global_weights() const { return global_; }
  // The client id assigned to a joined node, or nullopt.
  std::optional<std::string> client_id(NodeId node) const;

 private:
  struct Node {
    bool joined = false;
    std::string client_id;
  };

  void handle_hello(NodeId node, ClientHello hello);
  void handle_contribution(NodeId node, Contribution contribution);
  void close_for_error(NodeId node, ErrorCode code, Errc errc, const std::string& message);
  void drop_node(NodeId node);
  void send(NodeId node, const Message& message);
  void send_bytes(NodeId node, std::vector<std::byte> bytes);
  void broadcast(const Message& message);
  uint32_t n_joined() const;
  void maybe_start_round(Time now);
  void check_round(Time now);
  void close_round(Time now);
  void abandon_round(Time now);
  void finish();
  void update_counts();

  ServerConfig config_;
  DecodeLimits limits_;
  std::vector<float> global_;
  std::unique_ptr<core::ServerOptimizer> optimizer_;
  core::MeanAggregator aggregator_;
  std::map<NodeId, Node> nodes_;
  std::set<std::string> issued_ids_;
  uint64_t next_client_number_ = 1;
  // The open round.
  std::set<NodeId> participants_;  // still expected
  std::set<NodeId> contributed_;
  double loss_sum_ = 0, loss_weight_ = 0, accuracy_sum_ = 0, accuracy_weight_ = 0;
  std::optional<Time> round_deadline_;
  std::deque<Action> actions_;
  ServerStatus status_;
};

// The per-connection transition table of the server (its rule table), as markdown;
// docs/protocol.md "State machines" holds this text.
std::string server_transition_table_markdown();

}  // namespace disco::proto
