// SPDX-License-Identifier: Apache-2.0
// FederatedSession (session.hpp): one loop on run()'s thread owns the socket and the machine;
// a worker thread per round runs core::LocalRound. The two share only the State fields under
// `mu` (the finished job, training progress, the socket to wake, the cancel flag) plus the
// `stop_job` atomic; everything else belongs to run()'s thread.
#include "client/session.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>

#include "core/train/local_round.hpp"
#include "core/train/trainer.hpp"
#include "proto/federated_client.hpp"

namespace disco::client {
namespace {

using Clock = std::chrono::steady_clock;
using proto::FederatedClient;

// Longest single wait on the socket when the machine has no deadline (wake() ends it early).
constexpr std::chrono::milliseconds kMaxWait{60'000};

// The result of one local round on the worker.
struct JobResult {
  uint64_t round = 0;
  std::optional<core::LocalRoundResult> result;  // absent when cancelled or failed
  std::optional<Error> error;
};

struct Progress {
  int64_t epoch = 0, n_epochs = 0, batches_done = 0, n_batches = 0;
  core::BatchStats stats;
};

// A refusal worth retrying while rejoining: the server still holds our id (it has not noticed
// the old connection die yet) or did not answer in time; both are ErrorCode::Unavailable.
bool is_transient_refusal(std::optional<proto::ErrorCode> code) {
  return code == proto::ErrorCode::Unavailable;
}

bool same_status(const SessionStatus& a, const SessionStatus& b) {
  return a.phase == b.phase && a.client_id == b.client_id && a.round == b.round &&
         a.n_rounds_completed == b.n_rounds_completed && a.n_contributions == b.n_contributions &&
         a.n_connected == b.n_connected && a.n_required == b.n_required && a.epoch == b.epoch &&
         a.batches_done == b.batches_done && a.n_batches == b.n_batches &&
         a.last_round_metrics == b.last_round_metrics && a.n_reconnects == b.n_reconnects;
}

}  // namespace

const char* session_phase_name(SessionPhase phase) {
  switch (phase) {
    case SessionPhase::Connecting:
      return "connecting";
    case SessionPhase::Waiting:
      return "waiting";
    case SessionPhase::Training:
      return "training";
    case SessionPhase::AwaitingResult:
      return "awaiting result";
    case SessionPhase::Reconnecting:
      return "reconnecting";
    case SessionPhase::Finished:
      return "finished";
    case SessionPhase::Failed:
      return "failed";
  }
  return "?";
}

struct FederatedSession::State {
  State(const core::Task& task_in, const core::Dataset& data_in, Parallel& parallel_in,
        SessionConfig config_in)
      : task(task_in),
        data(data_in),
        parallel(parallel_in),
        config(std::move(config_in)),
        model(task.make_model()),
        origin(Clock::now()) {}

  ~State() {
    stop_job = true;
    if (worker.joinable()) worker.join();
  }

  // How one connection ended.
  struct Outcome {
    enum Kind { Finished, Failed, Broken, Cancelled } kind = Broken;
    Error error;
    std::optional<proto::ErrorCode> code;  // Failed: the protocol's code for the failure
    bool welcomed = false;                 // ServerWelcome arrived on this connection
    std::optional<FederatedClient::Finished> finished;
  };

  Result<SessionResult> run();
  Outcome drive(FederatedClient& machine, net::WsClient& ws, bool rejoining);
  void handle_train_local(FederatedClient* machine, FederatedClient::TrainLocal request);
  void start_job(FederatedClient::TrainLocal request);
  void run_job(uint64_t round, uint64_t seed);
  void report_global(uint64_t round, const proto::Weights& weights);
  Result<void> collect(FederatedClient* machine);
  void feed_cached(FederatedClient* machine);
  void absorb(const FederatedClient& machine);
  void emit(bool force = false);
  void stop_worker();
  bool wait_backoff(std::chrono::milliseconds delay);
  bool is_cancelled() {
    std::lock_guard<std::mutex> lock(mu);
    return cancelled;
  }
  proto::Time now() const {
    return proto::Time::from_ms(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - origin).count());
  }

  const core::Task& task;
  const core::Dataset& data;
  Parallel& parallel;
  SessionConfig config;
  core::Model model;
  std::unique_ptr<core::Trainer> trainer;
  Clock::time_point origin;
  bool ran = false;

  // run()'s thread only.
  SessionStatus status;
  SessionStatus last_emitted;
  bool emitted_once = false;
  std::string client_id;        // assigned by the first ServerWelcome
  uint64_t completed_base = 0;  // RoundResults counted on earlier connections
  // The current machine's status as absorb() last saw it (reset per connection).
  uint32_t machine_connected = 0, machine_required = 0;
  uint64_t machine_round = 0, machine_completed = 0;
  std::thread worker;
  bool busy = false;  // a job runs (or finished and was not collected yet)
  uint64_t busy_round = 0;
  proto::Weights busy_global;  // read by the worker while busy; not modified then
  std::optional<FederatedClient::TrainLocal> pending;  // to train once the busy job stops
  struct Cached {
    uint64_t round = 0;
    proto::Weights global;
    core::LocalRoundResult result;
  };
  std::optional<Cached> cache;          // the last finished round, reused if it restarts unchanged
  std::optional<uint64_t> last_global;  // the newest round passed to config.on_global

  // Shared with the worker and cancel().
  std::mutex mu;
  std::condition_variable cv;
  net::WsClient* ws = nullptr;  // the live connection, to wake; null between connections
  bool cancelled = false;
  std::optional<JobResult> finished_job;
  Progress progress;
  std::atomic<bool> stop_job{false};
};

// --- training -------------------------------------------------------------------------------

void FederatedSession::State::handle_train_local(FederatedClient* machine,
                                                 FederatedClient::TrainLocal request) {
  if (cache && cache->round == request.round && cache->global == request.weights) {
    feed_cached(machine);
    return;
  }
  if (busy) {
    if (busy_round == request.round && busy_global == request.weights) return;
    pending = std::move(request);
    stop_job = true;
    return;
  }
  start_job(std::move(request));
}

void FederatedSession::State::start_job(FederatedClient::TrainLocal request) {
  busy = true;
  busy_round = request.round;
  busy_global = std::move(request.weights);
  stop_job = false;
  {
    std::lock_guard<std::mutex> lock(mu);
    progress = Progress{};
  }
  const uint64_t round = busy_round;
  // A round's training is a function of (global, data, seed), so a restarted round repeats it.
  const uint64_t seed = config.round_seed ? config.round_seed(round) : task.training.seed + round;
  worker = std::thread([this, round, seed] { run_job(round, seed); });
}

// The worker: one local round, stopping between batches when asked.
void FederatedSession::State::run_job(uint64_t round, uint64_t seed) {
  core::LocalRoundOptions options;
  options.epochs = task.training.round_duration;
  options.batch_size = task.training.batch_size;
  options.proximal_mu = static_cast<float>(task.federation.proximal_mu);
  options.seed = seed;
  JobResult out;
  out.round = round;
  Result<core::LocalRound> begun =
      core::LocalRound::begin(*trainer, busy_global.values, data, options);
  if (!begun) {
    out.error = begun.error();
  } else {
    core::LocalRound local = std::move(begun).value();
    Clock::time_point last_report = Clock::now() - config.progress_interval;
    bool stopped = false;
    while (local.step()) {
      if (stop_job) {
        stopped = true;
        break;
      }
      if (Clock::now() - last_report < config.progress_interval) continue;
      last_report = Clock::now();
      std::lock_guard<std::mutex> lock(mu);
      progress = Progress{local.epoch(), local.n_epochs(), local.batches_done(), local.n_batches(),
                          local.stats()};
      if (ws != nullptr) ws->wake();
    }
    if (stopped) {
      trainer->clear_proximal();
    } else {
      out.result = local.finish();
    }
  }
  std::lock_guard<std::mutex> lock(mu);
  finished_job = std::move(out);
  if (ws != nullptr) ws->wake();
  cv.notify_all();
}

void FederatedSession::State::stop_worker() {
  stop_job = true;
  if (worker.joinable()) worker.join();
  std::lock_guard<std::mutex> lock(mu);
  finished_job.reset();
  busy = false;
  pending.reset();
}

// Picks up the worker's progress and, when it is done, its result.
// Errors: the local round's own (InvalidArgument: the data does not fit), which end the session.
Result<void> FederatedSession::State::collect(FederatedClient* machine) {
  std::optional<JobResult> done;
  Progress p;
  {
    std::lock_guard<std::mutex> lock(mu);
    done = std::move(finished_job);
    finished_job.reset();
    p = progress;
  }
  if (busy && busy_round == status.round && p.n_batches > 0) {
    status.epoch = p.epoch;
    status.n_epochs = p.n_epochs;
    status.batches_done = p.batches_done;
    status.n_batches = p.n_batches;
    status.local_metrics = proto::TrainMetrics{p.stats.loss(), p.stats.accuracy()};
  }
  if (!done) return {};
  worker.join();
  busy = false;
  if (done->error) return *done->error;
  if (done->result) {
    cache = Cached{done->round, std::move(busy_global), std::move(*done->result)};
    status.batches_done = status.n_batches;
    status.local_metrics = proto::TrainMetrics{cache->result.loss, cache->result.accuracy};
    // A pending request superseded this job; it decides below whether the result still fits.
    if (!pending) feed_cached(machine);
  }
  if (pending) {
    FederatedClient::TrainLocal next = std::move(*pending);
    pending.reset();
    handle_train_local(machine, std::move(next));
  }
  return {};
}

void FederatedSession::State::feed_cached(FederatedClient* machine) {
  if (machine == nullptr || !cache) return;
  const proto::ClientStatus before = machine->status();
  proto::TrainMetrics metrics;
  metrics.loss = cache->result.loss;
  if (data.is_classification()) metrics.accuracy = cache->result.accuracy;
  machine->on_trained(cache->round, cache->result.delta, cache->result.n_samples, metrics, now());
  if (before.phase == proto::ClientPhase::Training && before.round == cache->round &&
      machine->status().phase == proto::ClientPhase::AwaitingResult) {
    ++status.n_contributions;
  }
}

void FederatedSession::State::report_global(uint64_t round, const proto::Weights& weights) {
  if (!config.on_global || (last_global && round <= *last_global)) return;
  last_global = round;
  config.on_global(round, weights);
}

// --- status ---------------------------------------------------------------------------------

void FederatedSession::State::absorb(const FederatedClient& machine) {
  const proto::ClientStatus& s = machine.status();
  switch (s.phase) {
    case proto::ClientPhase::Connecting:
      status.phase = client_id.empty() ? SessionPhase::Connecting : SessionPhase::Reconnecting;
      break;
    case proto::ClientPhase::Waiting:
      status.phase = SessionPhase::Waiting;
      break;
    case proto::ClientPhase::Training:
      status.phase = SessionPhase::Training;
      break;
    case proto::ClientPhase::AwaitingResult:
      status.phase = SessionPhase::AwaitingResult;
      break;
    case proto::ClientPhase::Finished:
    case proto::ClientPhase::Failed:
      break;  // run() decides
  }
  if (s.round > status.round) {
    status.round = s.round;
    status.epoch = status.n_epochs = status.batches_done = status.n_batches = 0;
    status.local_metrics.reset();
  }
  if (!s.client_id.empty()) status.client_id = s.client_id;
  // The machine keeps the last WaitingForParticipants' count; it is current only until a round
  // starts or closes, after which "ready clients" is unknown (0) until the next one.
  if (s.n_connected != machine_connected || s.n_required != machine_required) {
    status.n_connected = s.n_connected;
  } else if (s.round != machine_round || s.n_rounds_completed != machine_completed) {
    status.n_connected = 0;
  }
  machine_connected = s.n_connected;
  machine_required = s.n_required;
  machine_round = s.round;
  machine_completed = s.n_rounds_completed;
  if (s.n_required > 0) status.n_required = s.n_required;
  status.n_rounds_completed = completed_base + s.n_rounds_completed;
  if (s.last_round_metrics) status.last_round_metrics = s.last_round_metrics;
  if (s.last_error && s.phase != proto::ClientPhase::Failed) status.last_error = s.last_error;
}

void FederatedSession::State::emit(bool force) {
  if (!config.on_status) return;
  if (!force && emitted_once && same_status(status, last_emitted)) return;
  emitted_once = true;
  last_emitted = status;
  config.on_status(status);
}

// --- the connection loop --------------------------------------------------------------------

FederatedSession::State::Outcome FederatedSession::State::drive(FederatedClient& machine,
                                                                net::WsClient& ws_client,
                                                                bool rejoining) {
  Outcome out;
  auto end = [&](Outcome::Kind kind, Error error) {
    out.kind = kind;
    out.error = std::move(error);
    return std::move(out);
  };
  machine.on_connected(now());
  while (true) {
    while (std::optional<FederatedClient::Action> action = machine.next_action()) {
      if (auto* send = std::get_if<FederatedClient::Send>(&*action)) {
        if (auto sent = ws_client.send(send->bytes); !sent) {
          return end(Outcome::Broken, sent.error());
        }
      } else if (auto* train = std::get_if<FederatedClient::TrainLocal>(&*action)) {
        if (train->round > 0) report_global(train->round - 1, train->weights);
        handle_train_local(&machine, std::move(*train));
      } else if (auto* finished = std::get_if<FederatedClient::Finished>(&*action)) {
        report_global(finished->round, finished->weights);
        out.finished = std::move(*finished);
      }
      // Close: the loop ends below on the machine's terminal phase.
    }
    absorb(machine);
    const proto::ClientPhase phase = machine.status().phase;
    if (!out.welcomed && phase != proto::ClientPhase::Connecting &&
        phase != proto::ClientPhase::Failed) {
      out.welcomed = true;
      client_id = machine.status().client_id;
      if (rejoining) ++status.n_reconnects;
    }
    if (phase == proto::ClientPhase::Finished && out.finished) return end(Outcome::Finished, {});
    if (phase == proto::ClientPhase::Failed) {
      Error error = machine.status().last_error.value_or(
          make_error(Errc::Internal, "the session failed without a reason"));
      error.message = ws_client.peer() + ": " + error.message;
      out.code = machine.status().last_error_code;
      return end(Outcome::Failed, std::move(error));
    }
    emit();
    if (is_cancelled()) return end(Outcome::Cancelled, make_error(Errc::Cancelled, "cancelled"));

    std::chrono::milliseconds wait = kMaxWait;
    if (std::optional<proto::Time> deadline = machine.deadline()) {
      wait = std::clamp(*deadline - now(), std::chrono::milliseconds(0), kMaxWait);
    }
    auto received = ws_client.receive(wait);
    if (!received) return end(Outcome::Broken, received.error());
    if (*received) machine.on_message(**received, now());
    if (auto collected = collect(&machine); !collected) {
      return end(Outcome::Failed, collected.error());
    }
    if (std::optional<proto::Time> deadline = machine.deadline(); deadline && now() >= *deadline) {
      machine.on_timeout(now());
    }
  }
}

bool FederatedSession::State::wait_backoff(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(mu);
  cv.wait_for(lock, delay, [this] { return cancelled; });
  return !cancelled;
}

Result<SessionResult> FederatedSession::State::run() {
  DISCO_CHECK(!ran, "FederatedSession::run() called twice");
  ran = true;
  auto fail = [&](Error error) -> Result<SessionResult> {
    stop_worker();
    status.phase = SessionPhase::Failed;
    status.last_error = error;
    emit(true);
    return error;
  };
  if (config.hello_timeout.count() < 0 || config.max_reconnects < 0) {
    return fail(make_error(Errc::InvalidArgument, "negative hello_timeout or max_reconnects"));
  }
  if (data.size() == 0) return fail(make_error(Errc::InvalidArgument, "no training data"));
  if (auto fits = core::check_compatible(model, data, "training data"); !fits) {
    return fail(fits.error());
  }
  auto created = core::Trainer::create(model, parallel, task.training.seed + 1);
  if (!created) return fail(created.error());
  trainer = std::move(created).value();
  status.n_rounds = static_cast<uint64_t>(task.n_rounds());
  emit(true);

  int failures = 0;  // consecutive failed reconnect attempts
  std::optional<Error> lost;
  while (true) {
    const bool rejoining = !client_id.empty();
    if (rejoining) {
      if (failures >= config.max_reconnects) {
        return fail(make_error(Errc::Unavailable, lost->message + "; gave up after " +
                                                      std::to_string(config.max_reconnects) +
                                                      " reconnect attempts"));
      }
      std::chrono::milliseconds delay = config.backoff;
      for (int i = 0; i < failures && delay < config.max_backoff; ++i) delay *= 2;
      ++failures;
      if (!wait_backoff(std::min(delay, config.max_backoff))) {
        return fail(make_error(Errc::Cancelled, "cancelled"));
      }
    }
    if (is_cancelled()) return fail(make_error(Errc::Cancelled, "cancelled"));

    auto connected = net::WsClient::connect(config.url, config.ws);
    if (!connected) {
      if (!rejoining) return fail(connected.error());
      lost = connected.error();
      status.last_error = lost;
      emit();
      continue;
    }
    net::WsClient& ws_client = **connected;

    proto::ClientConfig machine_config;
    machine_config.task_id = task.id;
    machine_config.model_fingerprint = model.fingerprint();
    machine_config.client_id = rejoining ? std::optional<std::string>(client_id) : config.client_id;
    machine_config.join_token = config.join_token;
    machine_config.hello_timeout = config.hello_timeout;
    machine_config.max_message_bytes = config.ws.max_message_bytes;
    if (auto valid = proto::validate(machine_config); !valid) return fail(valid.error());
    FederatedClient machine(std::move(machine_config));
    machine_connected = machine_required = 0;
    machine_round = machine_completed = 0;

    {
      std::lock_guard<std::mutex> lock(mu);
      ws = &ws_client;
    }
    Outcome outcome = drive(machine, ws_client, rejoining);
    {
      std::lock_guard<std::mutex> lock(mu);
      ws = nullptr;
    }
    completed_base += machine.status().n_rounds_completed;
    ws_client.close(outcome.kind == Outcome::Finished ? "training finished" : "client leaving");
    pending.reset();  // a new connection brings a new StartRound

    switch (outcome.kind) {
      case Outcome::Finished: {
        stop_worker();
        FederatedClient::Finished& finished = *outcome.finished;
        if (finished.weights.fingerprint != model.fingerprint() ||
            finished.weights.values.size() != static_cast<std::size_t>(model.n_weights())) {
          return fail(make_error(Errc::ProtocolViolation,
                                 ws_client.peer() + ": the final model does not fit the task"));
        }
        status.phase = SessionPhase::Finished;
        emit(true);
        return SessionResult{std::move(finished.weights), finished.round, status};
      }
      case Outcome::Cancelled:
        return fail(outcome.error);
      case Outcome::Failed:
        if (!(rejoining && !outcome.welcomed && is_transient_refusal(outcome.code))) {
          return fail(outcome.error);
        }
        break;
      case Outcome::Broken:
        if (client_id.empty()) {
          return fail(
              make_error(outcome.error.code, outcome.error.message + " (before joining the task)"));
        }
        break;
    }
    if (outcome.welcomed) failures = 0;
    lost = outcome.error;
    status.last_error = lost;
    status.phase = SessionPhase::Reconnecting;
    emit();
  }
}

// --- the public face ------------------------------------------------------------------------

FederatedSession::FederatedSession(const core::Task& task, const core::Dataset& data,
                                   Parallel& parallel, SessionConfig config)
    : state_(std::make_unique<State>(task, data, parallel, std::move(config))) {}

FederatedSession::~FederatedSession() = default;

Result<SessionResult> FederatedSession::run() { return state_->run(); }

void FederatedSession::cancel() {
  State& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  s.cancelled = true;
  s.stop_job = true;
  if (s.ws != nullptr) s.ws->wake();
  s.cv.notify_all();
}

const SessionStatus& FederatedSession::status() const { return state_->status; }

}  // namespace disco::client
