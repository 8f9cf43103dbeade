// SPDX-License-Identifier: Apache-2.0
// Round overhead: how much of a federated round is spent on anything but local training, with
// the real server (server::App) and N real clients (client::FederatedSession) in one process on
// loopback, training the Fashion-MNIST CNN of tasks/fashion-mnist.json on iid shards.
//
//   round_overhead [--clients N] [--rounds R] [--samples-per-client S] [--threads-per-client T]
//                  [--data DIR] [--task FILE] [--state-root DIR] [--seed S] [--timeout-s SECONDS]
//                  [--server-log]
//
// Defaults: N = 3, R = 5, S = 60000 / N (the whole training set split iid), T = 1, DIR =
// /usr/share/datasets/fashion-mnist, FILE = the source tree's tasks/fashion-mnist.json (its
// epochs become R, round_duration 1, min_participants N), timeout 600 s. The server's state
// (SQLite database, checkpoints) goes to a fresh directory under --state-root (default /tmp, a
// real disk here, so every commit pays its fsyncs; /dev/shm makes them nearly free).
//
// What is measured, per round k (the clients share the machine's cores, so their training
// intervals overlap arbitrarily):
//   round      first StartRound seen by any client -> last RoundResult seen by any client. A
//              StartRound is "seen" at the session's Training status callback (or at the first
//              training kernel of the round when that comes earlier), a RoundResult at the status
//              callback that counts it. The server commits the round (SQLite + checkpoint file)
//              before it sends RoundResult, so the commit is inside the span.
//   training   the union over clients of their local-training intervals, clipped to the round.
//              A client's interval is its first training kernel's start -> its last kernel's end
//              in that round, seen through a timing Parallel handed to the session (the session
//              runs every kernel through it). So LocalRound::begin before the first kernel and
//              finish() (the delta, a few us for this model) count as overhead, as do decoding,
//              encoding and sending messages, aggregation and the commit.
//   overhead   round - training: time in the round when no client is training.
//   head       first StartRound seen -> first training kernel of any client (broadcast, decode).
//   tail       last training kernel of any client -> last RoundResult seen (delta, encode, upload,
//              decode, aggregate, commit, RoundResult to every client).
//   between    last RoundResult seen of round k -> first StartRound seen of round k+1, outside
//              both rounds' spans (the server sends the next StartRound right after RoundResult;
//              negative when one client already has the next round before the last one has the
//              result). Not part of `overhead`: broadcasting the next model to N clients falls
//              mostly here, since a round starts when its *first* client has the model.
//   cycle      first StartRound seen of round k -> the same of round k+1 (rounds 1..R-1), and
//              cycle_overhead = cycle - the union of all training intervals within it: the
//              share of steady-state wall time in which no client trains. It counts `between`
//              and the tail, and leaves out what overlaps the next round's training.
// The timing Parallel reports at least 2 threads so that kernels call it (a 1-thread Parallel
// makes them run inline, unseen); with --threads-per-client 1 it runs the chunks one after the
// other on the calling thread, which splits the work differently but does the same arithmetic.
//
// Bytes: model_bytes = 4 x n_params; per round the server sends each client a StartRound (the
// global weights) and a RoundResult, and receives one Contribution (the update); the sizes are
// those of the codec's encoding of these messages for this model, plus the WebSocket frame
// headers (client frames are masked). TCP/IP headers and keep-alive pings are not counted.
//
// Output: one line per round, then one summary line of key=value figures (medians over rounds):
//   clients=N rounds=R ... round_ms_median=... training_ms_median=... overhead_ms_median=...
//   overhead_fraction=... (median over rounds of overhead / round) ... cycle_overhead_fraction=...
//   (median over rounds 1..R-1 of cycle_overhead / cycle) ... bytes_per_round=...
// Exits 1 when a client or the server fails, a round is missing, or the timeout passes.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "client/session.hpp"
#include "core/base/parallel.hpp"
#include "core/base/rng.hpp"
#include "core/data/dataset.hpp"
#include "core/data/partition.hpp"
#include "core/json_util.hpp"
#include "core/task.hpp"
#include "proto/codec.hpp"
#include "proto/messages.hpp"
#include "runtime/files.hpp"
#include "runtime/thread_pool.hpp"
#include "server/app.hpp"

#ifndef DISCO_SOURCE_DIR
#define DISCO_SOURCE_DIR "."
#endif

namespace {

using namespace disco;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

struct Interval {
  Clock::time_point begin, end;
};

// A Parallel that records the first start and last end of the calls made through it since the
// last take(). Calls come from the session's training worker; take() from the session's run()
// thread once that worker has been joined (the session joins it before it sends the
// contribution), so the mutex is never contended; it only keeps the hand-over obviously safe.
class TimedParallel final : public Parallel {
 public:
  explicit TimedParallel(int n_threads)
      : pool_(n_threads > 1 ? std::make_unique<runtime::ThreadPool>(n_threads) : nullptr) {}
  TimedParallel(const TimedParallel&) = delete;
  TimedParallel& operator=(const TimedParallel&) = delete;

  int n_threads() const override { return pool_ ? pool_->n_threads() : 2; }
  void run(std::size_t n_tasks, const std::function<void(std::size_t)>& fn) override {
    const Clock::time_point begin = Clock::now();
    if (pool_) {
      pool_->run(n_tasks, fn);
    } else {
      for (std::size_t i = 0; i < n_tasks; ++i) fn(i);
    }
    const Clock::time_point end = Clock::now();
    std::lock_guard<std::mutex> lock(mu_);
    if (!span_) span_ = Interval{begin, end};
    span_->end = end;
  }
  // The span of the calls since the last take(), if any.
  std::optional<Interval> take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::exchange(span_, std::nullopt);
  }

 private:
  std::unique_ptr<runtime::ThreadPool> pool_;
  std::mutex mu_;
  std::optional<Interval> span_;
};

// What one client saw, in round order (k-th entry = k-th round). Written by the session's
// status callback on its run() thread; read by main after that thread has been joined.
struct ClientLog {
  std::vector<Clock::time_point> started;  // Training status of a new round
  std::vector<Interval> trained;           // kernel span, taken when the contribution is counted
  std::vector<Clock::time_point> results;  // RoundResult counted
  client::SessionPhase phase = client::SessionPhase::Connecting;
  uint64_t n_contributions = 0, n_rounds_completed = 0;
  uint32_t n_reconnects = 0;
  bool untrained_contribution = false;  // a contribution with no kernel call (should not happen)
};

void observe(ClientLog& log, TimedParallel& parallel, const client::SessionStatus& s) {
  const Clock::time_point now = Clock::now();
  if (s.phase == client::SessionPhase::Training && log.phase != client::SessionPhase::Training) {
    log.started.push_back(now);
  }
  if (s.n_contributions > log.n_contributions) {
    std::optional<Interval> span = parallel.take();
    if (!span) {
      log.untrained_contribution = true;
      span = Interval{now, now};
    }
    log.trained.push_back(*span);
  }
  if (s.n_rounds_completed > log.n_rounds_completed) log.results.push_back(now);
  log.phase = s.phase;
  log.n_contributions = s.n_contributions;
  log.n_rounds_completed = s.n_rounds_completed;
  log.n_reconnects = s.n_reconnects;
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Total length of the union of `intervals` clipped to `window`.
Clock::duration union_length(std::vector<Interval> intervals, Interval window) {
  for (Interval& i : intervals) {
    i.begin = std::clamp(i.begin, window.begin, window.end);
    i.end = std::clamp(i.end, window.begin, window.end);
  }
  std::sort(intervals.begin(), intervals.end(),
            [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
  Clock::duration total{0};
  std::optional<Interval> run;
  for (const Interval& i : intervals) {
    if (run && i.begin <= run->end) {
      run->end = std::max(run->end, i.end);
      continue;
    }
    if (run) total += run->end - run->begin;
    run = i;
  }
  if (run) total += run->end - run->begin;
  return total;
}

// Bytes of one WebSocket binary frame carrying `payload` bytes (RFC 6455 header; clients mask).
std::size_t ws_frame_bytes(std::size_t payload, bool masked) {
  const std::size_t length_bytes = payload < 126 ? 0 : payload < 65536 ? 2 : 8;
  return 2 + length_bytes + (masked ? 4 : 0) + payload;
}

struct Options {
  int64_t n_clients = 3;
  int64_t n_rounds = 5;
  int64_t samples_per_client = 0;  // 0 = 60000 / n_clients (the shard size)
  int threads_per_client = 1;
  std::string data_dir = runtime::kFashionMnistDir;
  std::string task_file = std::string(DISCO_SOURCE_DIR) + "/tasks/fashion-mnist.json";
  std::string state_root = "/tmp";
  uint64_t seed = 1;
  int64_t timeout_s = 600;
  bool server_log = false;
};

int usage() {
  std::fprintf(stderr,
               "usage: round_overhead [--clients N] [--rounds R] [--samples-per-client S]\n"
               "                      [--threads-per-client T] [--data DIR] [--task FILE]\n"
               "                      [--state-root DIR] [--seed S] [--timeout-s SECONDS]\n"
               "                      [--server-log]\n");
  return 2;
}

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (name == "--server-log") {
      o.server_log = true;
      continue;
    }
    if (i + 1 >= argc) return std::nullopt;
    const char* value = argv[++i];
    char* end = nullptr;
    const long long number = std::strtoll(value, &end, 10);
    const bool is_number = end != value && *end == '\0';
    if (name == "--data") {
      o.data_dir = value;
    } else if (name == "--task") {
      o.task_file = value;
    } else if (name == "--state-root") {
      o.state_root = value;
    } else if (!is_number) {
      return std::nullopt;
    } else if (name == "--clients") {
      o.n_clients = number;
    } else if (name == "--rounds") {
      o.n_rounds = number;
    } else if (name == "--samples-per-client") {
      o.samples_per_client = number;
    } else if (name == "--threads-per-client") {
      o.threads_per_client = static_cast<int>(number);
    } else if (name == "--seed") {
      o.seed = static_cast<uint64_t>(number);
    } else if (name == "--timeout-s") {
      o.timeout_s = number;
    } else {
      return std::nullopt;
    }
  }
  if (o.n_clients < 1 || o.n_rounds < 1 || o.samples_per_client < 0 || o.threads_per_client < 1 ||
      o.timeout_s < 1) {
    return std::nullopt;
  }
  return o;
}

// The benchmark's task: the file's document with epochs = n_rounds, one epoch per round and
// min_participants = n_clients. Returns the document text and the parsed task.
Result<std::pair<std::string, core::Task>> make_task(const Options& o) {
  DISCO_ASSIGN_OR_RETURN(text, runtime::read_text_file(o.task_file));
  DISCO_ASSIGN_OR_RETURN(doc, core::parse_json(text, o.task_file));
  doc["training"]["epochs"] = o.n_rounds;
  doc["training"]["round_duration"] = 1;
  doc["federation"]["scheme"] = "federated";
  doc["federation"]["min_participants"] = o.n_clients;
  DISCO_ASSIGN_OR_RETURN(task, core::parse_task(doc));
  return std::pair<std::string, core::Task>{doc.dump(2), std::move(task)};
}

// One Dataset per client: an iid partition of `data`, each part cut to `samples_per_client`.
Result<std::vector<core::Dataset>> make_shards(const core::Dataset& data, const Options& o) {
  Rng rng(o.seed);
  DISCO_ASSIGN_OR_RETURN(parts,
                         core::partition_indices(data, o.n_clients, core::PartitionSpec{}, rng));
  std::vector<core::Dataset> shards;
  for (std::vector<int64_t>& part : parts) {
    if (o.samples_per_client > 0 && static_cast<int64_t>(part.size()) > o.samples_per_client) {
      part.resize(static_cast<std::size_t>(o.samples_per_client));
    }
    shards.push_back(core::subset(data, part));
  }
  return shards;
}

// Message sizes on the wire for this model, one round, one client.
struct RoundBytes {
  std::size_t start_round = 0, contribution = 0, round_result = 0;
  std::size_t per_client() const { return start_round + contribution + round_result; }
};

RoundBytes round_bytes(const proto::Weights& model, int64_t n_samples, uint32_t n_clients) {
  const proto::TrainMetrics metrics{0.5, 0.5};
  auto weights = [&] { return proto::Weights(model.fingerprint, model.values); };
  RoundBytes b;
  b.start_round = ws_frame_bytes(proto::encode(proto::StartRound{1, weights(), 0}).size(), false);
  b.contribution = ws_frame_bytes(
      proto::encode(proto::Contribution{1, static_cast<uint64_t>(n_samples), weights(), metrics})
          .size(),
      true);
  b.round_result =
      ws_frame_bytes(proto::encode(proto::RoundResult{1, n_clients, metrics}).size(), false);
  return b;
}

struct RoundFigures {
  double round_ms = 0, training_ms = 0, overhead_ms = 0, head_ms = 0, tail_ms = 0;
  Clock::time_point start, end;
};

// Figures of round k from every client's log; nullopt when some client lacks the round.
std::optional<RoundFigures> round_figures(const std::vector<ClientLog>& logs, std::size_t k) {
  std::optional<Clock::time_point> start, end, first_train, last_train;
  std::vector<Interval> trained;
  for (const ClientLog& log : logs) {
    if (log.started.size() <= k || log.trained.size() <= k || log.results.size() <= k) {
      return std::nullopt;
    }
    const Interval t = log.trained[k];
    const Clock::time_point seen = std::min(log.started[k], t.begin);
    start = start ? std::min(*start, seen) : seen;
    end = end ? std::max(*end, log.results[k]) : log.results[k];
    first_train = first_train ? std::min(*first_train, t.begin) : t.begin;
    last_train = last_train ? std::max(*last_train, t.end) : t.end;
    trained.push_back(t);
  }
  RoundFigures f;
  f.round_ms = ms(*end - *start);
  f.training_ms = ms(union_length(std::move(trained), Interval{*start, *end}));
  f.overhead_ms = f.round_ms - f.training_ms;
  f.head_ms = ms(*first_train - *start);
  f.tail_ms = ms(*end - std::min(*last_train, *end));
  f.start = *start;
  f.end = *end;
  return f;
}

int run(const Options& o) {
  auto made = make_task(o);
  if (!made) {
    std::fprintf(stderr, "round_overhead: %s\n", made.error().message.c_str());
    return 1;
  }
  const std::string task_text = std::move(made->first);
  const core::Task task = std::move(made->second);

  // The clients' data, loaded before the server starts so it does not count anywhere.
  const Clock::time_point load_start = Clock::now();
  std::vector<core::Dataset> shards;
  {
    auto data = runtime::load_mnist_dir(o.data_dir, runtime::MnistSplit::Train, task.data.labels);
    if (!data) {
      std::fprintf(stderr, "round_overhead: %s\n", data.error().message.c_str());
      return 1;
    }
    auto made_shards = make_shards(*data, o);
    if (!made_shards) {
      std::fprintf(stderr, "round_overhead: %s\n", made_shards.error().message.c_str());
      return 1;
    }
    shards = std::move(made_shards).value();
  }
  const int64_t samples_per_client = shards.front().size();
  std::fprintf(stderr, "round_overhead: %lld clients x %lld samples loaded in %.0f ms\n",
               static_cast<long long>(o.n_clients), static_cast<long long>(samples_per_client),
               ms(Clock::now() - load_start));

  // The server, on an ephemeral port, with a fresh state directory and this one task.
  std::string dir_template = o.state_root + "/disco-round-overhead-XXXXXX";
  if (mkdtemp(dir_template.data()) == nullptr) {
    std::perror(("round_overhead: mkdtemp " + dir_template).c_str());
    return 1;
  }
  const fs::path dir = dir_template;
  std::error_code ec;
  fs::create_directories(dir / "tasks", ec);
  auto cleanup = [&] { fs::remove_all(dir, ec); };
  if (auto written = runtime::write_file_atomic(dir / "tasks" / (task.id + ".json"), task_text);
      !written) {
    std::fprintf(stderr, "round_overhead: %s\n", written.error().message.c_str());
    cleanup();
    return 1;
  }
  server::ServeOptions serve;
  serve.host = "127.0.0.1";
  serve.port = 0;
  serve.data_dir = dir / "state";
  serve.tasks_dir = dir / "tasks";
  serve.log = o.server_log;
  auto created = server::App::create(serve);
  if (!created) {
    std::fprintf(stderr, "round_overhead: server: %s\n", created.error().message.c_str());
    cleanup();
    return 1;
  }
  std::unique_ptr<server::App> app = std::move(created).value();
  std::thread server_thread([&] { app->run(); });
  const std::string url =
      "ws://127.0.0.1:" + std::to_string(app->port()) + "/ws/" + std::string(task.id);

  // The clients: one session, one timing Parallel and one log each.
  const auto n = static_cast<std::size_t>(o.n_clients);
  std::vector<std::unique_ptr<TimedParallel>> parallels;
  std::vector<ClientLog> logs(n);
  std::vector<std::unique_ptr<client::FederatedSession>> sessions;
  for (std::size_t i = 0; i < n; ++i) {
    parallels.push_back(std::make_unique<TimedParallel>(o.threads_per_client));
    client::SessionConfig config;
    config.url = url;
    config.max_reconnects = 0;  // a reconnect would spoil the round boundaries: fail instead
    config.on_status = [&log = logs[i], &parallel = *parallels[i]](const client::SessionStatus& s) {
      observe(log, parallel, s);
    };
    sessions.push_back(std::make_unique<client::FederatedSession>(task, shards[i], *parallels[i],
                                                                  std::move(config)));
  }
  std::vector<std::optional<Result<client::SessionResult>>> results(n);
  std::mutex mu;
  std::condition_variable cv;
  std::size_t n_done = 0;
  std::vector<std::thread> threads;
  const Clock::time_point run_start = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      Result<client::SessionResult> result = sessions[i]->run();
      std::lock_guard<std::mutex> lock(mu);
      results[i] = std::move(result);
      ++n_done;
      cv.notify_all();
    });
  }
  bool timed_out = false;
  {
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(o.timeout_s), [&] { return n_done == n; })) {
      timed_out = true;
      for (auto& session : sessions) session->cancel();
    }
  }
  for (std::thread& t : threads) t.join();
  const double run_ms = ms(Clock::now() - run_start);
  app->stop();
  server_thread.join();
  app.reset();
  cleanup();

  int status = 0;
  if (timed_out) {
    std::fprintf(stderr, "round_overhead: timed out after %lld s\n",
                 static_cast<long long>(o.timeout_s));
    status = 1;
  }
  const proto::Weights* final_model = nullptr;
  for (std::size_t i = 0; i < n; ++i) {
    if (!*results[i]) {
      std::fprintf(stderr, "round_overhead: client %zu: %s\n", i,
                   results[i]->error().message.c_str());
      status = 1;
    } else if (final_model == nullptr) {
      final_model = &(*results[i])->weights;
    }
    if (logs[i].n_reconnects > 0 || logs[i].untrained_contribution) {
      std::fprintf(stderr, "round_overhead: client %zu reconnected or skipped training\n", i);
      status = 1;
    }
  }
  if (status != 0) return status;

  std::vector<RoundFigures> rounds;
  for (std::size_t k = 0; k < static_cast<std::size_t>(o.n_rounds); ++k) {
    std::optional<RoundFigures> f = round_figures(logs, k);
    if (!f) {
      std::fprintf(stderr, "round_overhead: round %zu was not seen by every client\n", k + 1);
      return 1;
    }
    rounds.push_back(*f);
  }
  // Every training interval of the run, for the cycle figures.
  std::vector<Interval> all_trained;
  for (const ClientLog& log : logs) {
    all_trained.insert(all_trained.end(), log.trained.begin(), log.trained.end());
  }
  std::vector<double> round_ms, training_ms, overhead_ms, head_ms, tail_ms, fraction;
  std::vector<double> between_ms, cycle_ms, cycle_overhead_ms, cycle_fraction;
  for (std::size_t k = 0; k < rounds.size(); ++k) {
    const RoundFigures& f = rounds[k];
    std::string cycle = " between_ms=- cycle_ms=- cycle_overhead_ms=-";
    if (k + 1 < rounds.size()) {
      const Interval window{f.start, rounds[k + 1].start};
      between_ms.push_back(ms(rounds[k + 1].start - f.end));
      cycle_ms.push_back(ms(window.end - window.begin));
      cycle_overhead_ms.push_back(cycle_ms.back() - ms(union_length(all_trained, window)));
      cycle_fraction.push_back(cycle_overhead_ms.back() / cycle_ms.back());
      char buf[128];
      std::snprintf(buf, sizeof buf, " between_ms=%.1f cycle_ms=%.1f cycle_overhead_ms=%.1f",
                    between_ms.back(), cycle_ms.back(), cycle_overhead_ms.back());
      cycle = buf;
    }
    std::printf(
        "round=%zu round_ms=%.1f training_ms=%.1f overhead_ms=%.1f head_ms=%.1f tail_ms=%.1f "
        "overhead_fraction=%.4f%s\n",
        k + 1, f.round_ms, f.training_ms, f.overhead_ms, f.head_ms, f.tail_ms,
        f.overhead_ms / f.round_ms, cycle.c_str());
    round_ms.push_back(f.round_ms);
    training_ms.push_back(f.training_ms);
    overhead_ms.push_back(f.overhead_ms);
    head_ms.push_back(f.head_ms);
    tail_ms.push_back(f.tail_ms);
    fraction.push_back(f.overhead_ms / f.round_ms);
  }
  const RoundBytes bytes =
      round_bytes(*final_model, samples_per_client, static_cast<uint32_t>(o.n_clients));
  std::printf(
      "clients=%lld rounds=%lld samples_per_client=%lld threads_per_client=%d "
      "round_ms_median=%.1f training_ms_median=%.1f overhead_ms_median=%.1f head_ms_median=%.1f "
      "tail_ms_median=%.1f overhead_fraction=%.4f between_ms_median=%.1f cycle_ms_median=%.1f "
      "cycle_overhead_ms_median=%.1f cycle_overhead_fraction=%.4f n_params=%zu model_bytes=%zu "
      "start_round_bytes=%zu contribution_bytes=%zu round_result_bytes=%zu bytes_per_round=%zu "
      "run_ms=%.0f\n",
      static_cast<long long>(o.n_clients), static_cast<long long>(o.n_rounds),
      static_cast<long long>(samples_per_client), o.threads_per_client, median(round_ms),
      median(training_ms), median(overhead_ms), median(head_ms), median(tail_ms), median(fraction),
      median(between_ms), median(cycle_ms), median(cycle_overhead_ms), median(cycle_fraction),
      final_model->values.size(), 4 * final_model->values.size(), bytes.start_round,
      bytes.contribution, bytes.round_result, n * bytes.per_client(), run_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::optional<Options> options = parse_options(argc, argv);
  if (!options) return usage();
  return run(*options);
}
