// SPDX-License-Identifier: Apache-2.0
// `disco simulate --server`: the N simulated clients as real FederatedSessions against a
// running server, one thread each.
#include "cli/simulate_server.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <thread>
#include <utility>

#include "client/session.hpp"
#include "core/json_util.hpp"
#include "net/http_client.hpp"

namespace disco::cli {
namespace {

using core::Json;

// GET /api/tasks/<id>/status. Errors: Unavailable (network, an HTTP error), Corruption (not a
// JSON object).
Result<Json> fetch_status(const ServerUrls& urls, const std::string& task_id) {
  const std::string url = urls.http + "/api/tasks/" + task_id + "/status";
  DISCO_ASSIGN_OR_RETURN(response, net::http_get(url, std::chrono::seconds(30)));
  if (response.status != 200)
    return make_error(Errc::Unavailable, "GET " + url + ": HTTP " +
                                             std::to_string(response.status) + " " +
                                             response.body.substr(0, 200));
  DISCO_ASSIGN_OR_RETURN(doc, core::parse_json(response.body, url));
  if (!doc.is_object()) return make_error(Errc::Corruption, url + ": not a JSON object");
  return doc;
}

int64_t int_field(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::optional<double> number_field(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

// The server's record of aggregation `round`: its contributions and mean train metrics.
// Errors: fetch_status's; Unavailable when the server has no such round (yet).
Result<RoundLog> fetch_round(const ServerUrls& urls, const std::string& task_id, uint64_t round) {
  DISCO_ASSIGN_OR_RETURN(status, fetch_status(urls, task_id));
  auto rows = status.find("rounds");
  if (rows != status.end() && rows->is_array()) {
    for (const Json& row : *rows) {
      if (!row.is_object() || int_field(row, "round") != static_cast<int64_t>(round)) continue;
      RoundLog log;
      log.round = round;
      log.n_participants = static_cast<uint32_t>(int_field(row, "contributions"));
      log.train.loss = number_field(row, "loss");
      log.train.accuracy = number_field(row, "accuracy");
      return log;
    }
  }
  return make_error(Errc::Unavailable, "the server's status of task " + task_id + " has no round " +
                                           std::to_string(round));
}

// Evaluates each aggregation's global model once, from whichever session receives it first, and
// prints its line. Rounds are handled in increasing order from `first_round` on; one arriving
// after a newer one is skipped (in sync rounds every session receives every model, in order).
// Thread-safe: sessions call deliver() from their run() threads. On the first error it stops
// reporting and calls `on_error` once (under its lock, so on_error must not call deliver()).
class RoundReporter {
 public:
  // Borrowed: `evaluator` and `test` (may be null) must outlive the reporter.
  RoundReporter(ServerUrls urls, std::string task_id, uint64_t first_round, uint64_t n_rounds,
                core::Trainer& evaluator, const core::Dataset* test, int64_t eval_batch,
                std::function<void()> on_error)
      : urls_(std::move(urls)),
        task_id_(std::move(task_id)),
        n_rounds_(n_rounds),
        evaluator_(evaluator),
        test_(test),
        eval_batch_(eval_batch),
        on_error_(std::move(on_error)),
        claimed_(first_round - 1) {}

  void deliver(uint64_t round, const proto::Weights& weights) {
    if (round <= claimed_.load()) return;  // the others need not wait for the lock
    std::lock_guard<std::mutex> lock(mu_);
    if (round <= claimed_.load() || error_) return;
    claimed_ = round;
    Result<RoundLog> log = fetch_round(urls_, task_id_, round);
    if (!log) return fail(log.error());
    if (test_ != nullptr && test_->size() > 0) {
      std::span<float> w = evaluator_.model().weights();
      if (weights.values.size() != w.size())
        return fail(make_error(Errc::ProtocolViolation,
                               "the global model of round " + std::to_string(round) + " has " +
                                   std::to_string(weights.values.size()) + " weights, expected " +
                                   std::to_string(w.size())));
      std::copy(weights.values.begin(), weights.values.end(), w.begin());
      log->test = evaluator_.evaluate(*test_, eval_batch_);
    }
    print_round(*log, n_rounds_);
    rounds_.push_back(std::move(*log));
  }

  // Call once every session has returned.
  const std::optional<Error>& error() const { return error_; }
  std::vector<RoundLog>& rounds() { return rounds_; }

 private:
  void fail(Error error) {
    error_ = std::move(error);
    on_error_();
  }

  ServerUrls urls_;
  std::string task_id_;
  uint64_t n_rounds_;
  core::Trainer& evaluator_;
  const core::Dataset* test_;
  int64_t eval_batch_;
  std::function<void()> on_error_;
  std::mutex mu_;
  std::atomic<uint64_t> claimed_;  // the newest round taken by a deliver(); written under mu_
  std::optional<Error> error_;     // under mu_
  std::vector<RoundLog> rounds_;   // under mu_
};

// Refuses a task this simulation cannot take part in as planned, warns when the server's state
// will make the lines differ from a fresh run, and returns the rounds the server has completed.
// Errors: fetch_status's; InvalidArgument for a task the server has already finished.
Result<uint64_t> check_server_task(const ServerUrls& urls, const std::string& task_id) {
  DISCO_ASSIGN_OR_RETURN(status, fetch_status(urls, task_id));
  auto phase = status.find("phase");
  const int64_t completed = int_field(status, "rounds_completed");
  if (phase != status.end() && phase->is_string() && phase->get<std::string>() == "Finished")
    return make_error(Errc::InvalidArgument, "task " + task_id + " has already finished on " +
                                                 urls.http + " (" + std::to_string(completed) +
                                                 " rounds); use a new task or server");
  if (completed > 0)
    std::fprintf(stderr, "task %s: the server has completed %lld rounds; joining at round %lld\n",
                 task_id.c_str(), static_cast<long long>(completed),
                 static_cast<long long>(completed + 1));
  if (const int64_t joined = int_field(status, "joined"); joined > 0)
    std::fprintf(stderr, "task %s: %lld other clients are joined; rounds may include them\n",
                 task_id.c_str(), static_cast<long long>(joined));
  return static_cast<uint64_t>(std::max<int64_t>(completed, 0));
}

}  // namespace

Result<ServerRun> run_on_server(const ServerUrls& urls, const SimulateOptions& o,
                                const core::Task& task, const std::vector<core::Dataset>& shards,
                                const std::vector<uint64_t>& client_seeds, Parallel& parallel,
                                core::Trainer& evaluator, const core::Dataset* test,
                                int64_t eval_batch, uint64_t n_rounds) {
  DISCO_ASSIGN_OR_RETURN(n_completed, check_server_task(urls, task.id));
  std::vector<std::unique_ptr<client::FederatedSession>> sessions;
  auto cancel_all = [&sessions] {
    for (auto& session : sessions) session->cancel();
  };
  RoundReporter reporter(urls, task.id, n_completed + 1, n_rounds, evaluator, test, eval_batch,
                         cancel_all);
  for (std::size_t i = 0; i < shards.size(); ++i) {
    client::SessionConfig config;
    config.url = urls.ws + "/ws/" + task.id;
    if (!o.join_token.empty()) config.join_token = o.join_token;
    config.round_seed = [seed = client_seeds[i]](uint64_t round) {
      return LocalParticipant::round_seed(seed, round);
    };
    config.on_global = [&reporter](uint64_t round, const proto::Weights& weights) {
      reporter.deliver(round, weights);
    };
    sessions.push_back(
        std::make_unique<client::FederatedSession>(task, shards[i], parallel, std::move(config)));
  }
  std::vector<std::optional<Result<client::SessionResult>>> results(sessions.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i].emplace(sessions[i]->run());
      if (!*results[i]) cancel_all();
    });
  }
  for (std::thread& t : threads) t.join();

  if (reporter.error()) return *reporter.error();
  std::optional<Error> first;  // a session's own failure before the ones it cancelled
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (*results[i]) continue;
    Error e = results[i]->error();
    e.message = "client " + std::to_string(i) + ": " + e.message;
    if (!first || (first->code == Errc::Cancelled && e.code != Errc::Cancelled)) first = e;
  }
  if (first) return *first;
  ServerRun run;
  run.final_weights = std::move((*results[0])->weights.values);
  for (std::size_t i = 1; i < results.size(); ++i)
    if ((*results[i])->weights.values != run.final_weights)
      return make_error(Errc::Internal,
                        "clients 0 and " + std::to_string(i) + " received different final models");
  run.rounds = std::move(reporter.rounds());
  return run;
}

}  // namespace disco::cli
