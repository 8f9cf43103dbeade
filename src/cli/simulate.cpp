// SPDX-License-Identifier: Apache-2.0
#include "cli/simulate.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>

#include "cli/data_source.hpp"
#include "cli/federated.hpp"
#include "cli/simulate_server.hpp"
#include "client/session.hpp"
#include "core/base/overloaded.hpp"
#include "core/data/partition.hpp"
#include "core/json_util.hpp"
#include "core/model/safetensors.hpp"
#include "net/http_client.hpp"
#include "proto/federated_server.hpp"
#include "runtime/files.hpp"
#include "runtime/thread_pool.hpp"

namespace disco::cli {
namespace {

using core::Json;
using proto::Time;

}  // namespace

// --- LocalParticipant ---------------------------------------------------------------------

LocalParticipant::LocalParticipant(proto::ClientConfig config, core::Dataset shard,
                                   core::LocalRoundOptions options, uint64_t seed)
    : machine_(std::move(config)), shard_(std::move(shard)), options_(options), seed_(seed) {}

uint64_t LocalParticipant::round_seed(uint64_t seed, uint64_t round) {
  // Distinct rounds get unrelated streams; the multiplier is the 64-bit golden ratio.
  return seed ^ (round * 0x9E3779B97F4A7C15ull);
}

void LocalParticipant::on_connected(Time now) {
  machine_.on_connected(now);
  drain();
}

void LocalParticipant::on_message(std::span<const std::byte> bytes, Time now) {
  machine_.on_message(bytes, now);
  drain();
}

void LocalParticipant::on_timeout(Time now) {
  machine_.on_timeout(now);
  drain();
}

void LocalParticipant::drain() {
  while (std::optional<proto::FederatedClient::Action> action = machine_.next_action()) {
    std::visit(
        Overloaded{
            [&](proto::FederatedClient::Send& s) { sends_.push_back(std::move(s.bytes)); },
            [&](proto::FederatedClient::TrainLocal& t) { pending_ = std::move(t); },
            [&](proto::FederatedClient::Close&) { closing_ = true; },
            [&](proto::FederatedClient::Finished& f) { final_ = std::move(f.weights.values); },
            [](auto&) {}},
        *action);
  }
}

std::vector<std::vector<std::byte>> LocalParticipant::take_sends() {
  std::vector<std::vector<std::byte>> out(std::make_move_iterator(sends_.begin()),
                                          std::make_move_iterator(sends_.end()));
  sends_.clear();
  return out;
}

std::optional<uint64_t> LocalParticipant::round_to_train() const {
  const proto::ClientStatus& s = machine_.status();
  if (!pending_ || s.phase != proto::ClientPhase::Training || s.round != pending_->round)
    return std::nullopt;
  return pending_->round;
}

int64_t LocalParticipant::round_batches() const {
  return options_.epochs * ((shard_.size() + options_.batch_size - 1) / options_.batch_size);
}

Result<core::LocalRoundResult> LocalParticipant::train(core::Trainer& trainer, Time now,
                                                       ProgressBar* progress) {
  const std::optional<uint64_t> round = round_to_train();
  DISCO_CHECK(round.has_value(), "LocalParticipant::train without a round to train");
  proto::FederatedClient::TrainLocal work = std::move(*pending_);
  pending_.reset();
  core::LocalRoundOptions options = options_;
  options.seed = round_seed(seed_, *round);
  DISCO_ASSIGN_OR_RETURN(local,
                         core::LocalRound::begin(trainer, work.weights.values, shard_, options));
  if (progress)
    progress->start(local.n_batches(),
                    "round " + std::to_string(*round) + " " + machine_.status().client_id);
  while (std::optional<core::BatchStats> s = local.step()) {
    if (!progress) continue;
    char text[64];
    std::snprintf(text, sizeof text, "loss %.4f", local.stats().loss());
    progress->update(local.batches_done(), text);
  }
  if (progress) progress->finish();
  core::LocalRoundResult result = local.finish();
  proto::TrainMetrics metrics;
  metrics.loss = result.loss;
  if (shard_.is_classification()) metrics.accuracy = result.accuracy;
  // The delta is only needed by the machine; the caller gets the statistics.
  machine_.on_trained(*round, std::move(result.delta), result.n_samples, metrics, now);
  result.delta.clear();
  ++n_rounds_trained_;
  drain();
  return result;
}

void print_round(const RoundLog& log, uint64_t n_rounds) {
  std::printf("round %llu/%llu  participants %u", static_cast<unsigned long long>(log.round),
              static_cast<unsigned long long>(n_rounds), log.n_participants);
  if (log.train.loss) std::printf("  train_loss %.4f", *log.train.loss);
  if (log.test) {
    std::printf("  test_loss %.4f", log.test->loss);
    if (log.test->n_classes > 0) std::printf("  test_acc %.4f", log.test->accuracy);
  }
  std::printf("\n");
  std::fflush(stdout);
}

namespace {

// --- The event loop -----------------------------------------------------------------------

// Moves bytes between one FederatedServer and N LocalParticipants in virtual time. Events run
// in (time, sequence) order; every hop takes kHopMs, so each direction of each link is FIFO.
// Client i's connection is NodeId i + 1. One Trainer trains every client in turn (see
// LocalParticipant); a second one evaluates the global model after every aggregation.
class Simulation {
 public:
  static constexpr int64_t kHopMs = 1;
  static constexpr uint64_t kMaxEvents = uint64_t{1} << 26;
  // Every client is always online, so a round is only abandoned when its deadline passes before
  // all N contributed, and the same will happen again: stop instead of retraining for ever.
  static constexpr uint64_t kMaxRestarts = 3;

  // Borrowed: everything must outlive the Simulation.
  Simulation(proto::ServerConfig config, std::vector<std::unique_ptr<LocalParticipant>>& clients,
             core::Trainer& trainer, core::Trainer& evaluator, const core::Dataset* test,
             int64_t eval_batch, bool progress)
      : server_(std::move(config)),
        clients_(clients),
        links_(clients.size()),
        trainer_(trainer),
        evaluator_(evaluator),
        test_(test),
        eval_batch_(eval_batch),
        bar_(progress) {}

  // Runs until the server finishes; returns the final global weights.
  Result<std::vector<float>> run() {
    for (std::size_t c = 0; c < clients_.size(); ++c)
      schedule(0, Event{Kind::Connect, c, 0, {}, {}});
    while (!finished_) {
      if (queue_.empty() || n_events_ >= kMaxEvents) return stalled();
      auto node = queue_.extract(queue_.begin());
      now_ = Time::from_ms(node.key().first);
      ++n_events_;
      DISCO_TRY(dispatch(node.mapped()));
      if (server_.status().n_round_restarts > kMaxRestarts) return restarting();
    }
    return std::move(*finished_);
  }

  const std::vector<RoundLog>& rounds() const { return rounds_; }
  Time now() const { return now_; }

 private:
  enum class Kind {
    Connect,        // client opens its connection
    ToServer,       // bytes from client
    ToClient,       // bytes for client
    ServerSeesEnd,  // client closed its side
    ClientSeesEnd,  // server closed its side
    Trained,        // client finished local round `round`
    ServerTimeout,
    ClientTimeout,
  };
  struct Event {
    Kind kind = Kind::Connect;
    std::size_t client = 0;
    uint64_t round = 0;  // Trained
    std::vector<std::byte> bytes;
    Time at{};  // timeouts: the deadline they were armed for
  };
  // The two directions of one client's connection.
  struct Link {
    bool to_server_open = false, to_client_open = false;
    std::optional<uint64_t> scheduled_round;  // a Trained event is pending for this round
    std::optional<Time> timer;
  };

  static proto::NodeId node_of(std::size_t client) { return client + 1; }

  void schedule(int64_t delay_ms, Event event) {
    queue_.emplace(std::make_pair(now_.ms() + delay_ms, next_seq_++), std::move(event));
  }

  Result<void> dispatch(Event& e) {
    LocalParticipant& client = *clients_[e.client];
    Link& link = links_[e.client];
    switch (e.kind) {
      case Kind::Connect:
        link.to_server_open = link.to_client_open = true;
        server_.on_connect(node_of(e.client), now_);
        after_server_input();
        client.on_connected(now_);
        after_client_input(e.client);
        break;
      case Kind::ToServer:
        server_.on_message(node_of(e.client), e.bytes, now_);
        after_server_input();
        break;
      case Kind::ToClient:
        if (!link.to_client_open) break;
        client.on_message(e.bytes, now_);
        after_client_input(e.client);
        break;
      case Kind::ServerSeesEnd:
        server_.on_disconnect(node_of(e.client), now_);
        after_server_input();
        break;
      case Kind::ClientSeesEnd:
        // The machine needs no input for this: it closed itself or was told by the server.
        link.to_client_open = false;
        break;
      case Kind::Trained:
        if (link.scheduled_round == e.round) link.scheduled_round.reset();
        if (client.round_to_train() != e.round) break;  // superseded or left out meanwhile
        {
          Result<core::LocalRoundResult> r = client.train(trainer_, now_, &bar_);
          if (!r)
            return make_error(r.error().code, "client " + client.status().client_id + ", round " +
                                                  std::to_string(e.round) + ": " +
                                                  r.error().message);
        }
        after_client_input(e.client);
        break;
      case Kind::ServerTimeout:
        if (server_timer_ != e.at) break;
        server_timer_.reset();
        server_.on_timeout(now_);
        after_server_input();
        break;
      case Kind::ClientTimeout:
        if (link.timer != e.at) break;
        link.timer.reset();
        client.on_timeout(now_);
        after_client_input(e.client);
        break;
    }
    return {};
  }

  void after_server_input() {
    while (std::optional<proto::FederatedServer::Action> action = server_.next_action()) {
      std::visit(
          Overloaded{[&](proto::FederatedServer::Send& s) {
                       const std::size_t c = s.to - 1;
                       if (links_[c].to_client_open)
                         schedule(kHopMs, Event{Kind::ToClient, c, 0, std::move(s.bytes), {}});
                     },
                     [&](proto::FederatedServer::Close& close) {
                       schedule(kHopMs, Event{Kind::ClientSeesEnd, close.to - 1, 0, {}, {}});
                     },
                     [&](proto::FederatedServer::RoundClosed& r) { on_round_closed(r); },
                     [&](proto::FederatedServer::Finished& f) { finished_ = std::move(f.weights); },
                     [](auto&) {}},
          *action);
    }
    const std::optional<Time> deadline = server_.deadline();
    if (deadline && deadline != server_timer_) {
      server_timer_ = std::max(*deadline, now_);
      schedule(server_timer_->ms() - now_.ms(),
               Event{Kind::ServerTimeout, 0, 0, {}, *server_timer_});
    }
    if (!deadline) server_timer_.reset();
  }

  void after_client_input(std::size_t c) {
    LocalParticipant& client = *clients_[c];
    Link& link = links_[c];
    for (std::vector<std::byte>& bytes : client.take_sends())
      if (link.to_server_open) schedule(kHopMs, Event{Kind::ToServer, c, 0, std::move(bytes), {}});
    if (client.closing() && link.to_server_open) {
      link.to_server_open = false;
      schedule(kHopMs, Event{Kind::ServerSeesEnd, c, 0, {}, {}});
    }
    const std::optional<uint64_t> round = client.round_to_train();
    if (round && link.scheduled_round != round) {
      link.scheduled_round = round;
      schedule(std::max<int64_t>(client.round_batches(), 1),
               Event{Kind::Trained, c, *round, {}, {}});
    }
    const std::optional<Time> deadline = client.deadline();
    if (deadline && deadline != link.timer) {
      link.timer = std::max(*deadline, now_);
      schedule(link.timer->ms() - now_.ms(), Event{Kind::ClientTimeout, c, 0, {}, *link.timer});
    }
    if (!deadline) link.timer.reset();
  }

  void on_round_closed(const proto::FederatedServer::RoundClosed& r) {
    RoundLog log;
    log.round = r.round;
    log.n_participants = r.n_contributions;
    log.train = r.metrics;
    log.contributors = r.contributors;
    if (test_ != nullptr && test_->size() > 0) {
      const std::vector<float>& global = server_.global_weights();
      std::copy(global.begin(), global.end(), evaluator_.model().weights().begin());
      log.test = evaluator_.evaluate(*test_, eval_batch_);
    }
    print_round(log, server_.config().n_rounds);
    rounds_.push_back(std::move(log));
  }

  Error stalled() const {
    const proto::ServerStatus& s = server_.status();
    std::string why = queue_.empty() ? "no event left" : "event limit reached";
    std::string msg = "simulation stopped before the last round (" + why + "): server " +
                      proto::server_phase_name(s.phase) + " in round " + std::to_string(s.round) +
                      " with " + std::to_string(s.n_joined) + " clients joined";
    if (s.last_error) msg += "; last server error: " + s.last_error->to_string();
    for (const auto& c : clients_)
      if (c->status().last_error)
        msg += "; client " + c->status().client_id + ": " + c->status().last_error->to_string();
    return make_error(Errc::Internal, msg);
  }

  Error restarting() const {
    int64_t slowest = 0;
    for (const auto& c : clients_) slowest = std::max(slowest, c->round_batches());
    return make_error(
        Errc::InvalidArgument,
        std::to_string(server_.status().n_round_restarts) +
            " rounds were abandoned at their deadline (now in round " +
            std::to_string(server_.status().round) + "): the task's round_timeout_s (" +
            std::to_string(server_.config().round_timeout.count()) +
            " ms) is shorter than the slowest client's local round (" + std::to_string(slowest) +
            " virtual ms, at 1 ms per batch); raise it or use more clients");
  }

  proto::FederatedServer server_;
  std::vector<std::unique_ptr<LocalParticipant>>& clients_;
  std::vector<Link> links_;
  core::Trainer& trainer_;
  core::Trainer& evaluator_;
  const core::Dataset* test_;
  int64_t eval_batch_;
  ProgressBar bar_;
  std::map<std::pair<int64_t, uint64_t>, Event> queue_;  // by (virtual ms, sequence)
  uint64_t next_seq_ = 0, n_events_ = 0;
  Time now_ = Time::from_ms(0);
  std::optional<Time> server_timer_;
  std::optional<std::vector<float>> finished_;
  std::vector<RoundLog> rounds_;
};

// --- Setup --------------------------------------------------------------------------------

using Clock = std::chrono::steady_clock;

bool has_idx_test_split(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  return fs::is_directory(dir, ec) && (fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte", ec) ||
                                       fs::exists(fs::path(dir) / "t10k-images-idx3-ubyte.gz", ec));
}

struct SimulationData {
  core::Dataset train;
  std::optional<core::Dataset> test;
  std::string train_source, test_source;
  std::optional<core::TabularTransform> tabular;
};

Result<SimulationData> load_simulation_data(const core::Task& task, const SimulateOptions& o,
                                            uint64_t seed) {
  SimulationData out;
  DISCO_ASSIGN_OR_RETURN(loaded, load_data(task, o.data, Split::Train, std::nullopt));
  out.train_source = loaded.source;
  out.tabular = loaded.tabular;
  core::Dataset all = limited(std::move(loaded.data), o.limit, seed);
  const std::string data_arg = o.data.empty() ? default_data(task) : o.data;
  if (!o.test_data.empty() ||
      (task.data.type == core::DataType::Image && has_idx_test_split(data_arg))) {
    const std::string& test_arg = o.test_data.empty() ? data_arg : o.test_data;
    DISCO_ASSIGN_OR_RETURN(test, load_data(task, test_arg, Split::Test, loaded.tabular));
    out.test = std::move(test.data);
    out.test_source = test.source + (o.test_data.empty() ? " (test split)" : "");
    out.train = std::move(all);
  } else if (task.training.validation_split > 0) {
    Rng split_rng(seed);
    DISCO_ASSIGN_OR_RETURN(parts,
                           core::split_validation(all, task.training.validation_split, split_rng,
                                                  all.is_classification() && all.y.rank() == 1));
    out.train = std::move(parts.train);
    out.test = std::move(parts.validation);
    char held[64];
    std::snprintf(held, sizeof held, " (%.0f%% held out)", 100 * task.training.validation_split);
    out.test_source = loaded.source + held;
  } else {
    out.train = std::move(all);
  }
  // evaluate --limit draws with the task's own seed, so the same test rows can be compared.
  if (out.test) out.test = limited(std::move(*out.test), o.limit_test, task.training.seed);
  return out;
}

Json round_json(const RoundLog& log) {
  Json j = {{"round", log.round}, {"participants", log.n_participants}};
  if (!log.contributors.empty()) j["contributors"] = log.contributors;  // not known from a server
  if (log.train.loss) j["train_loss"] = *log.train.loss;
  if (log.train.accuracy) j["train_accuracy"] = *log.train.accuracy;
  if (log.test) {
    j["test_loss"] = log.test->loss;
    if (log.test->n_classes > 0) j["test_accuracy"] = log.test->accuracy;
  }
  return j;
}

}  // namespace

Result<void> run_simulate(const SimulateOptions& o) {
  if (o.n_clients < 1)
    return make_error(Errc::InvalidArgument,
                      "--clients must be at least 1, got " + std::to_string(o.n_clients));
  if (o.rounds && *o.rounds < 1)
    return make_error(Errc::InvalidArgument,
                      "--rounds must be at least 1, got " + std::to_string(*o.rounds));
  const bool on_server = !o.server.empty();
  if (on_server && o.rounds)
    return make_error(Errc::InvalidArgument,
                      "--rounds cannot be used with --server: the server's task sets the rounds");
  Result<core::PartitionSpec> spec = core::parse_partition_spec(o.split);
  if (!spec) return make_error(Errc::InvalidArgument, "--split: " + spec.error().message);

  ServerUrls urls;
  if (on_server) {
    DISCO_ASSIGN_OR_RETURN(parsed, server_urls(o.server));
    urls = std::move(parsed);
  }
  std::error_code ec;
  Result<core::Task> loaded_task = !on_server || std::filesystem::is_regular_file(o.task, ec)
                                       ? load_task(o.task)
                                       : fetch_task(urls, o.task);
  if (!loaded_task) return loaded_task.error();
  core::Task task = std::move(loaded_task).value();
  if (task.federation.scheme != "federated") {
    if (on_server)
      return make_error(Errc::InvalidArgument, "task " + task.id + ": federation.scheme is \"" +
                                                   task.federation.scheme +
                                                   "\"; --server needs a federated task");
    std::fprintf(stderr, "task %s: federation.scheme is \"%s\"; simulating it as \"federated\"\n",
                 task.id.c_str(), task.federation.scheme.c_str());
    task.federation.scheme = "federated";
  }
  const uint64_t seed = o.seed ? static_cast<uint64_t>(*o.seed) : task.training.seed;
  const auto t_start = Clock::now();

  DISCO_ASSIGN_OR_RETURN(data, load_simulation_data(task, o, seed));
  core::Model model = task.make_model();
  DISCO_TRY(core::check_compatible(model, data.train, data.train_source));
  if (data.test) DISCO_TRY(core::check_compatible(model, *data.test, data.test_source));
  Rng partition_rng(seed ^ 0x5b117ULL);
  DISCO_ASSIGN_OR_RETURN(shards, core::partition(data.train, o.n_clients, *spec, partition_rng));
  const int64_t n_train = data.train.size();
  data.train = core::Dataset{};  // the shards hold copies

  Rng init_rng(on_server ? task.training.seed : seed);  // as `disco train` and the server do
  model.init_weights(init_rng);
  std::vector<float> initial(model.weights().begin(), model.weights().end());
  DISCO_ASSIGN_OR_RETURN(config, proto::server_config_for_task(task, model.fingerprint(), initial));
  if (o.rounds) config.n_rounds = static_cast<uint64_t>(*o.rounds);
  const auto n_clients = static_cast<uint32_t>(o.n_clients);
  if (on_server && config.min_participants > n_clients)
    return make_error(Errc::InvalidArgument,
                      "task " + task.id + " needs " + std::to_string(config.min_participants) +
                          " participants; use --clients " +
                          std::to_string(config.min_participants) + " or more");
  if (on_server && config.min_participants < n_clients)
    std::fprintf(stderr,
                 "task %s: min_participants is %u, so rounds may start before all %u clients "
                 "joined; the result then depends on timing\n",
                 task.id.c_str(), config.min_participants, n_clients);
  // Every simulated client is online from the start; see the header comment.
  if (!on_server) config.min_participants = n_clients;
  DISCO_TRY(proto::validate(config));

  runtime::ThreadPool pool(o.threads);
  SharedParallel shared(pool);  // the sessions' trainers and the evaluator run on many threads
  Parallel& parallel = on_server ? static_cast<Parallel&>(shared) : pool;
  core::Model eval_model = model.clone();
  DISCO_ASSIGN_OR_RETURN(evaluator, core::Trainer::create(eval_model, parallel, 0));

  core::LocalRoundOptions round_options;
  round_options.epochs = task.training.round_duration;
  round_options.batch_size = task.training.batch_size;
  round_options.proximal_mu = static_cast<float>(task.federation.proximal_mu);
  Rng client_seed_rng(seed ^ 0xc11e47ULL);
  std::vector<uint64_t> client_seeds;
  Json client_samples = Json::array(), client_classes = Json::array();
  for (const core::Dataset& shard : shards) {
    client_seeds.push_back(client_seed_rng.next_u64());
    client_samples.push_back(shard.size());
    if (shard.is_classification() && shard.y.rank() == 1)
      client_classes.push_back(core::class_counts(shard));
  }

  std::fprintf(stderr, "task %s: %lld training samples from %s, split %s among %lld clients\n",
               task.id.c_str(), static_cast<long long>(n_train), data.train_source.c_str(),
               core::partition_spec_name(*spec).c_str(), static_cast<long long>(o.n_clients));
  if (data.test)
    std::fprintf(stderr, "test set: %lld samples from %s\n",
                 static_cast<long long>(data.test->size()), data.test_source.c_str());
  else
    std::fprintf(stderr, "no test set (give --test-data or a validation_split in the task)\n");
  std::fprintf(
      stderr,
      "model %s: %lld parameters; %llu rounds of %lld local epochs, batch %lld, %s "
      "aggregation, server optimizer %s, proximal_mu %g; %d threads%s%s\n",
      model.fingerprint().c_str(), static_cast<long long>(model.n_weights()),
      static_cast<unsigned long long>(config.n_rounds),
      static_cast<long long>(round_options.epochs),
      static_cast<long long>(round_options.batch_size), proto::aggregation_name(config.aggregation),
      core::server_optimizer_name(config.server_optimizer.type),
      static_cast<double>(round_options.proximal_mu), pool.n_threads(),
      on_server ? " shared by the clients of server " : "", on_server ? urls.http.c_str() : "");

  const int64_t eval_batch = std::max<int64_t>(task.training.batch_size, 256);
  const core::Dataset* test = data.test ? &*data.test : nullptr;
  std::vector<float> final_weights;
  std::vector<RoundLog> rounds;
  if (on_server) {
    DISCO_ASSIGN_OR_RETURN(run, run_on_server(urls, o, task, shards, client_seeds, parallel,
                                              *evaluator, test, eval_batch, config.n_rounds));
    final_weights = std::move(run.final_weights);
    rounds = std::move(run.rounds);
    if (final_weights.size() != static_cast<std::size_t>(model.n_weights()))
      return make_error(Errc::ProtocolViolation, "the final model does not fit the task");
    std::fprintf(
        stderr, "trained %zu rounds on %s in %s\n", rounds.size(), urls.http.c_str(),
        format_duration(std::chrono::duration<double>(Clock::now() - t_start).count()).c_str());
  } else {
    DISCO_ASSIGN_OR_RETURN(trainer, core::Trainer::create(model, pool, seed + 1));
    proto::ClientConfig client_config;
    client_config.task_id = task.id;
    client_config.model_fingerprint = model.fingerprint();
    std::vector<std::unique_ptr<LocalParticipant>> clients;
    for (std::size_t i = 0; i < shards.size(); ++i)
      clients.push_back(std::make_unique<LocalParticipant>(client_config, std::move(shards[i]),
                                                           round_options, client_seeds[i]));
    Simulation sim(config, clients, *trainer, *evaluator, test, eval_batch, o.progress);
    DISCO_ASSIGN_OR_RETURN(sim_weights, sim.run());
    final_weights = std::move(sim_weights);
    rounds = sim.rounds();
    std::fprintf(
        stderr, "simulated %zu rounds (%lld virtual ms) in %s\n", rounds.size(),
        static_cast<long long>(sim.now().ms()),
        format_duration(std::chrono::duration<double>(Clock::now() - t_start).count()).c_str());
  }

  std::copy(final_weights.begin(), final_weights.end(), model.weights().begin());
  const std::string out = o.output.empty() ? task.id + "-simulated.safetensors" : o.output;
  std::map<std::string, std::string> meta = {{"task", task.id}};
  if (data.tabular) meta["tabular_transform"] = core::tabular_transform_to_json(*data.tabular);
  DISCO_TRY(runtime::write_file_atomic(out, as_bytes(core::save_safetensors(model, meta))));
  std::printf("saved %s\n", out.c_str());
  if (o.report_json.empty()) return {};

  const std::string_view weight_bytes(reinterpret_cast<const char*>(final_weights.data()),
                                      final_weights.size() * sizeof(float));
  Json report = {{"task", task.id},
                 {"clients", o.n_clients},
                 {"split", core::partition_spec_name(*spec)},
                 {"seed", seed},
                 {"n_rounds", config.n_rounds},
                 {"local_epochs", round_options.epochs},
                 {"batch_size", round_options.batch_size},
                 {"aggregation", proto::aggregation_name(config.aggregation)},
                 {"server_optimizer", core::server_optimizer_name(config.server_optimizer.type)},
                 {"proximal_mu", round_options.proximal_mu},
                 {"min_participants", config.min_participants},
                 {"train_samples", n_train},
                 {"client_samples", client_samples},
                 {"test_samples", data.test ? data.test->size() : 0},
                 {"rounds", Json::array()},
                 {"weights_fnv1a", core::fnv1a_hex(weight_bytes)},
                 {"model", out}};
  if (on_server) report["server"] = urls.http;
  if (!client_classes.empty()) report["client_class_counts"] = client_classes;
  for (const RoundLog& log : rounds) report["rounds"].push_back(round_json(log));
  if (!rounds.empty() && rounds.back().test) {
    const core::Evaluation& last = *rounds.back().test;
    report["final"] = {{"test_loss", last.loss}};
    if (last.n_classes > 0) report["final"]["test_accuracy"] = last.accuracy;
  }
  return runtime::write_file_atomic(o.report_json, report.dump(2) + "\n");
}

}  // namespace disco::cli
