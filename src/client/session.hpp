// SPDX-License-Identifier: Apache-2.0
// FederatedSession: the native client's driver (STYLE 2.7, "three drivers, same machine"). It
// runs proto::FederatedClient over a net::WsClient, trains on a local Dataset when the machine
// asks (core::LocalRound), and ends when the server sends the final model.
//
// Threads. run() blocks its calling thread, which owns the socket and the machine: it waits on
// the socket, feeds the machine, drains its actions and reports status. Local training runs on
// one worker thread per round (the step-wise LocalRound API, so it reports progress between
// batches and stops early when the round is abandoned), which hands its result back through a
// mutex-guarded slot and wakes the socket wait. So the connection keeps answering Pings and
// keep-alives while a round trains, and status callbacks always come from run()'s thread.
//
// Reconnects. After the client has joined once, a broken connection (reset, closed, silent past
// the idle timeout, a rejoin refused as Unavailable) is retried with exponential backoff, with a
// new machine that rejoins under the same client id; the server restarts an abandoned round for
// everyone, or lets the client in at the next round. A local result for a round is kept, so a
// restarted round with the same global weights is answered without training again. Before the
// first join nothing is retried: a wrong URL or an unknown task fails at once.
//
// Errors are values: run() returns the server's ErrorMessage (UnknownTask, Unauthorized, ...),
// the connect failure, or "gave up after N reconnect attempts", never aborts on what the network
// does. Not thread-safe except cancel().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/base/parallel.hpp"
#include "core/base/result.hpp"
#include "core/data/dataset.hpp"
#include "core/task.hpp"
#include "net/ws_client.hpp"
#include "proto/messages.hpp"

namespace disco::client {

enum class SessionPhase {
  Connecting,      // opening the first connection, until ServerWelcome
  Waiting,         // joined; waiting for participants or for the next round
  Training,        // training the current round locally
  AwaitingResult,  // contribution sent; waiting for the round to close
  Reconnecting,    // the connection broke; backing off and rejoining
  Finished,        // the final model arrived (terminal)
  Failed,          // run() is returning an error (terminal)
};
const char* session_phase_name(SessionPhase phase);

// What the session is doing, for progress displays. Counts survive reconnects.
struct SessionStatus {
  SessionPhase phase = SessionPhase::Connecting;
  std::string client_id;            // from ServerWelcome ("" before)
  uint64_t round = 0;               // the last round started (0 before the first)
  uint64_t n_rounds = 0;            // rounds the task runs for (Task::n_rounds())
  uint64_t n_rounds_completed = 0;  // RoundResults received for rounds this client was in
  uint64_t n_contributions = 0;     // Contributions sent
  uint32_t n_connected = 0;         // ready clients, from the last WaitingForParticipants
  uint32_t n_required = 0;          // min_participants
  // Local training of the current round (batches over all of the round's local epochs).
  int64_t epoch = 0, n_epochs = 0;
  int64_t batches_done = 0, n_batches = 0;
  std::optional<proto::TrainMetrics> local_metrics;       // running, for the round in training
  std::optional<proto::TrainMetrics> last_round_metrics;  // the server's, from RoundResult
  uint32_t n_reconnects = 0;                              // successful rejoins
  std::optional<Error> last_error;  // the last non-fatal problem (reconnect reason, StaleRound)
};

struct SessionConfig {
  std::string url;                        // ws://host:port/ws/<task id>
  std::optional<std::string> client_id;   // rejoin as this client (else the server assigns one)
  std::optional<std::string> join_token;  // for tasks that require one
  net::WsOptions ws;                      // connect / send / idle timeouts
  // Fail a connection when ServerWelcome has not come this long after connecting.
  std::chrono::milliseconds hello_timeout{30'000};
  // Consecutive failed reconnect attempts before giving up; 0 = never reconnect.
  int max_reconnects = 5;
  // Delay before the first reconnect attempt; doubles per failed attempt up to max_backoff.
  std::chrono::milliseconds backoff{500};
  std::chrono::milliseconds max_backoff{10'000};
  // Least time between two training-progress reports (phase and round changes come at once).
  std::chrono::milliseconds progress_interval{100};
  // Called on run()'s thread whenever the status changes. May be empty.
  std::function<void(const SessionStatus&)> on_status;
  // Called on run()'s thread when a global model newer than any reported before arrives:
  // StartRound r (sync) or model version r (async) carries the model aggregated in round r - 1
  // (0: the initial model), TrainingFinished the final one. `round` is that aggregation's number;
  // `weights` are as the server sent them (not yet checked against the task's model) and borrowed
  // for the call. Each round is reported at most once per session, also across reconnects and
  // restarted rounds; a round this client never got a model for (async versions it was busy
  // through) is skipped. It runs before the round's training starts, so a slow callback delays
  // this client. May be empty.
  std::function<void(uint64_t round, const proto::Weights& weights)> on_global;
  // The seed of round r's local training (core::LocalRoundOptions::seed: shuffles, dropout),
  // called on run()'s thread. Empty: task.training.seed + r. A round's training must be a
  // function of its round, so a restarted round repeats it.
  std::function<uint64_t(uint64_t round)> round_seed;
};

struct SessionResult {
  proto::Weights weights;  // the final global model
  uint64_t round = 0;      // the last round aggregated
  SessionStatus status;    // at the end
};

class FederatedSession {
 public:
  // Borrowed: `task`, `data` and `parallel` must stay alive and unchanged until the session is
  // destroyed. `data` is this client's training data (it must fit the task's model); the
  // task's training.round_duration, batch_size and federation.proximal_mu set each local round.
  FederatedSession(const core::Task& task, const core::Dataset& data, Parallel& parallel,
                   SessionConfig config);
  ~FederatedSession();  // cancels and joins a running training worker
  FederatedSession(const FederatedSession&) = delete;
  FederatedSession& operator=(const FederatedSession&) = delete;

  // Joins the task and takes part until training finishes. Call once.
  // Errors: InvalidArgument (bad URL, data that does not fit the model); Unavailable (cannot
  // connect, the server refused with an ErrorMessage, which is named, e.g. "UnknownTask: ...",
  // or the connection broke and reconnecting failed max_reconnects times); ProtocolViolation
  // (the server broke the protocol); Cancelled (cancel() was called).
  Result<SessionResult> run();

  // Makes run() return Cancelled soon (after the current batch). Thread-safe, any time.
  void cancel();

  const SessionStatus& status() const;  // run()'s thread only

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace disco::client
