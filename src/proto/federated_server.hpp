// SPDX-License-Identifier: Apache-2.0
// FederatedServer: the server side of one federated task as a sans-I/O machine (STYLE 2.7), with
// synchronous rounds (FedAvg with a quorum) or buffered asynchronous aggregation (FedBuff). The
// host feeds it connection events, bytes and time, and drains next_action() after every input; it
// arms one timer at deadline() and calls on_timeout() then. The machine never reads a clock, does
// no I/O, starts no threads and never aborts on anything a peer sends: a misbehaving node gets
// ErrorMessage + Close and the others carry on.
//
// Session (docs/protocol.md, "State machines", has the full tables and every outcome):
//   - A node's first message must be ClientHello with this task's id, model fingerprint and (if
//     configured) join token; the server answers ServerWelcome, assigning "c1", "c2", ... or
//     confirming a returning id. A hello for an id held by another connection replaces it.
//   - While fewer than min_participants clients are joined, every joined client gets
//     WaitingForParticipants after each change; with more than kWaitingBatch joined, a joining
//     client gets it at once and the others at every kWaitingBatch-th change (N joins cost
//     O(N^2 / kWaitingBatch) messages, not O(N^2)).
//   - Sync: with min_participants joined, round r opens: StartRound{r, global, deadline_ms} to
//     every joined client; they are the round's participants. It closes once
//     max(min_participants, ceil(fraction * participants)) contributed, when no participant is
//     still expected, or at the deadline with at least min_participants contributions; a round
//     that can no longer reach min_participants is abandoned and the same round opens again.
//   - Async: with min_participants joined, every idle client gets StartRound{v, global} for the
//     current model version v (= rounds aggregated + 1). A contribution trained from version r
//     has staleness v - r; it is refused beyond staleness.max_staleness, else weighted by
//     staleness_weight(v - r) * n_samples. Every buffer_size accepted contributions are
//     aggregated into the global model (v += 1) and idle clients get the new version. Each client
//     contributes at most once per version.
//   - Aggregation: MeanAggregator over the weighted deltas, then the ServerOptimizer; the host
//     gets RoundClosed. After n_rounds aggregations, TrainingFinished{global} and Close go to
//     everyone and the host gets Finished.
//   - Restart: a server rebuilt with completed_rounds, known_client_ids and the checkpoint's
//     global as initial_weights continues with round completed_rounds + 1. The ServerOptimizer's
//     state (momentum, moments) is not part of the checkpoint and starts from zero.
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
#include "core/aggregate/staleness.hpp"
#include "core/base/result.hpp"
#include "core/task.hpp"
#include "proto/codec.hpp"
#include "proto/messages.hpp"
#include "proto/time.hpp"

namespace disco::proto {

// Above this many joined clients, WaitingForParticipants updates are batched (see above).
inline constexpr uint32_t kWaitingBatch = 32;

// The host's name for one connection. Chosen by the host, unique among open connections.
using NodeId = uint64_t;

// How contributions become global weights.
enum class Aggregation {
  Sync,   // rounds: every participant trains on the same global model
  Async,  // FedBuff: clients train continuously; aggregate every buffer_size contributions
};
const char* aggregation_name(Aggregation aggregation);

struct ServerConfig {
  std::string task_id;
  std::string model_fingerprint;  // 16 lowercase hex digits
  // The global model of round completed_rounds + 1 (the round-1 model on a fresh start, the
  // last checkpoint's global after a restart).
  std::vector<float> initial_weights;
  uint64_t n_rounds = 1;          // aggregations in total, >= 1
  uint32_t min_participants = 1;  // >= 1
  double fraction = 1.0;          // sync: in (0, 1]; see the header comment
  Duration round_timeout{0};      // sync: after StartRound; 0 = wait for every participant
  Aggregation aggregation = Aggregation::Sync;
  // Async: contributions per aggregation, in [1, min_participants]; 0 = min_participants. (A
  // client contributes once per version, so a larger buffer could wait for ever.)
  uint32_t buffer_size = 0;
  core::StalenessPolicy staleness;               // async
  core::ServerOptimizerConfig server_optimizer;  // default: FedAvg, lr 1
  // Float64 (arrival-order deterministic) or FixedPoint (order independent); task
  // federation.summation.
  core::Summation summation = core::Summation::Float64;
  // When set, a ClientHello must carry exactly this token (compared in constant time).
  std::optional<std::string> join_token;
  // Resume after a restart: rounds already aggregated (< n_rounds) and the client ids issued
  // before; a returning client keeps its id and new ids never collide with these.
  uint64_t completed_rounds = 0;
  std::vector<std::string> known_client_ids;
  std::size_t max_message_bytes = std::size_t{256} << 20;
};

// Errors (InvalidArgument, naming the field): empty task_id, malformed fingerprint,
// n_rounds == 0, min_participants == 0, fraction outside (0, 1], negative round_timeout,
// buffer_size > min_participants, completed_rounds >= n_rounds, max_message_bytes == 0, an
// invalid server_optimizer or staleness policy.
Result<void> validate(const ServerConfig& config);

// The ServerConfig for a parsed task (federation.scheme "federated"): min_participants,
// fraction, round_timeout (round_timeout_s, rounded to ms), aggregation, buffer_size,
// staleness and server_optimizer from task.federation, n_rounds = task.n_rounds(). The caller
// adds join_token, completed_rounds and known_client_ids. `initial_weights` must be the model's
// weights (its length is not checked here). Errors: InvalidArgument for a task whose scheme is
// not "federated", a value out of the server's range (min_participants above 2^32 - 1), or
// whatever validate() refuses.
Result<ServerConfig> server_config_for_task(const core::Task& task, std::string fingerprint,
                                            std::vector<float> initial_weights);

// The server's phase (the round phase in docs/protocol.md).
enum class ServerPhase {
  Waiting,   // fewer than min_participants joined; no round open (async: no new work handed out)
  Round,     // sync: round `round` is open; async: version `round` is being trained on
  Finished,  // n_rounds done; TrainingFinished sent
};
const char* server_phase_name(ServerPhase phase);

struct ServerStatus {
  ServerPhase phase = ServerPhase::Waiting;
  // The open round, or the next one to open; async: the current model version (Finished:
  // n_rounds). Starts at completed_rounds + 1.
  uint64_t round = 1;
  uint64_t n_rounds_completed = 0;  // starts at completed_rounds
  uint64_t n_round_restarts = 0;    // sync rounds abandoned below quorum
  uint32_t n_joined = 0;            // connections past ClientHello
  // Sync: the open round's participants (still expected or already contributed). Async: clients
  // training on a version (a StartRound not yet answered).
  uint32_t n_participants = 0;
  uint32_t n_contributions = 0;           // to the open round / in the async buffer
  uint64_t n_contributions_accepted = 0;  // since this machine was built
  uint64_t n_contributions_refused = 0;   // answered with ErrorMessage{StaleRound}
  uint64_t n_closed_for_errors = 0;
  std::optional<Error> last_error;  // the last peer misbehaviour, for logs
};

class FederatedServer {
 public:
  struct Send {
    NodeId to;
    SharedBytes bytes;  // one encoded Message, shared by every Send of a broadcast
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
  // Events for the host to persist; the protocol does not depend on what it does with them.
  // A node passed ClientHello. Every ClientJoined is followed, eventually, by one ClientLeft.
  struct ClientJoined {
    NodeId node;
    std::string client_id;
  };
  // A joined node is gone: disconnected, closed for an error, replaced by a newer connection
  // with its id, or closed at the end of training.
  struct ClientLeft {
    NodeId node;
    std::string client_id;
  };
  // Round `round` was aggregated; global_weights() holds its result while the host handles this
  // action (no later round closes within the same input). `contributors` are the client ids of
  // the aggregated contributions, in arrival order.
  struct RoundClosed {
    uint64_t round = 0;
    uint32_t n_contributions = 0;
    TrainMetrics metrics;
    std::vector<std::string> contributors;
  };
  using Action = std::variant<Send, Close, Finished, ClientJoined, ClientLeft, RoundClosed>;

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
  // Every client id issued so far, config.known_client_ids included, sorted: what a host
  // persists for ServerConfig::known_client_ids.
  std::vector<std::string> known_client_ids() const;
  const ServerConfig& config() const { return config_; }

 private:
  struct Node {
    bool joined = false;
    std::string client_id;
    // Async: the version of the StartRound this node is training on, if it has not answered.
    std::optional<uint64_t> assigned;
  };

  void handle_hello(NodeId node, ClientHello hello, Time now);
  void handle_contribution(NodeId node, Contribution contribution, Time now);
  void handle_contribution_sync(NodeId node, Contribution contribution);
  void handle_contribution_async(NodeId node, Contribution contribution, Time now);
  // Shape checks and aggregation; false when the node was closed.
  bool accept(NodeId node, const Contribution& contribution, double weight);
  void refuse(NodeId node, const Contribution& contribution, const std::string& why);
  void close_for_error(NodeId node, ErrorCode code, Errc errc, const std::string& message);
  void drop_node(NodeId node);
  void send(NodeId node, const Message& message);
  void send_bytes(NodeId node, SharedBytes bytes);
  void announce_waiting(NodeId changed);
  void broadcast(const Message& message);
  uint32_t n_joined() const;
  uint32_t buffer_size() const;
  // Sync: participants of the open round still connected and not yet contributed.
  uint32_t n_expected() const;
  void after_input(Time now);
  void maybe_start_round(Time now);
  void start_round_for(NodeId node, Time now);
  void assign_idle(Time now);
  void check_round(Time now);
  TrainMetrics aggregate();  // emits RoundClosed
  void close_round(Time now);
  void abandon_round(Time now);
  void finish();
  void reset_round();
  void update_counts();

  ServerConfig config_;
  DecodeLimits limits_;
  std::vector<float> global_;
  std::unique_ptr<core::ServerOptimizer> optimizer_;
  core::MeanAggregator aggregator_;
  std::map<NodeId, Node> nodes_;
  std::map<std::string, NodeId> joined_ids_;  // client id -> its joined node
  std::set<std::string> issued_ids_;
  uint64_t next_client_number_ = 1;
  // Sync: the open round's participants (client ids sent its StartRound) and who contributed.
  std::set<std::string> members_;
  std::set<std::string> contributed_;
  // Contributors of the open round / the async buffer, in arrival order.
  std::vector<std::string> contributors_;
  // Async: the last version each client id contributed to (one contribution per version).
  std::map<std::string, uint64_t> last_contributed_;
  double loss_sum_ = 0, loss_weight_ = 0, accuracy_sum_ = 0, accuracy_weight_ = 0;
  std::optional<Time> round_deadline_;
  std::deque<Action> actions_;
  ServerStatus status_;
};

// The per-connection transition table of the server (its rule table), as markdown;
// docs/protocol.md "State machines" holds this text.
std::string server_transition_table_markdown();

}  // namespace disco::proto
