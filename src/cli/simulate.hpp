// SPDX-License-Identifier: Apache-2.0
// `disco simulate`: federated training of a task among N simulated clients in one process. The
// training data is split among the clients (core/data/partition.hpp); the real FederatedServer
// machine and N real FederatedClient machines exchange encoded messages through a deterministic
// event loop with a virtual clock (no sockets, no threads besides the kernel pool), and every
// client trains its shard with core::LocalRound exactly as the native client does. After each
// aggregation the global model is evaluated on a test set and one line is printed.
//
// Determinism: the same task, data, options and seed give the same lines, report and final
// weights on every run (and thread count: the kernels are deterministic). Virtual time: every
// message takes 1 ms; a local round takes 1 ms per batch, so under round timeouts, fraction or
// async aggregation the clients with more data are the stragglers.
//
// The simulation differs from a deployment in one setting: the server's min_participants is set
// to N, so round 1 waits for every client instead of opening as soon as the task's quorum
// joined (the later ones would otherwise sit out round 1). With it, a sync task's fraction has no
// effect (a round needs max(min_participants, ceil(fraction * N)) contributions); round
// timeouts, async aggregation, staleness, the server optimizer and FedProx apply as configured.
//
// With --server URL the same clients (same shards, same per-client seeds) instead each run a
// client::FederatedSession against the real server at URL, which hosts the task and aggregates:
// one thread per session in this process, real WebSockets and wall-clock time. The task comes
// from the server (GET /api/tasks/<id>) unless --task is a local file; the server's copy sets
// the rounds, the quorum and the initial model (task.training.seed; --seed changes only the
// split and the clients' seeds). Every session's trainer shares one thread pool of --threads
// threads, taking turns per parallel region, so N clients never use more cores than that. Each
// round's global model reaches the clients with the next StartRound (or TrainingFinished); the
// first session to receive it evaluates it on the test set and prints the round line, with the
// participants and train loss from the server's GET /api/tasks/<id>/status (no progress bar).
// The result equals the in-process simulation's when the seeds agree (no --seed, or --seed = the
// task's), every round has all N clients (min_participants = N, no round timeout hit) and the
// server's sums do not depend on arrival order (docs/server.md, "Simulating against a server").
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cli/progress.hpp"
#include "core/base/result.hpp"
#include "core/data/dataset.hpp"
#include "core/train/local_round.hpp"
#include "core/train/trainer.hpp"
#include "proto/federated_client.hpp"
#include "proto/time.hpp"

namespace disco::cli {

// One federated client without a transport: its data shard, its FederatedClient machine and the
// local training the machine asks for. A driver connects it to a server by any means (the
// simulator's event loop, a WebSocket): it passes connection events and received bytes in,
// sends what take_sends() returns, closes the connection when closing() says so, and when
// round_to_train() is set calls train(), at once or after a (virtual) delay.
//
// Training borrows a Trainer per call, so many participants may share one Model + Trainer:
// every round loads the global weights, resets the optimizer and reseeds the Rng from (seed,
// round) (core/train/local_round.hpp), which makes the result identical to a private Trainer.
// Not thread-safe; the driver serialises calls.
class LocalParticipant {
 public:
  // `config` must pass proto::validate (else abort). options.seed is ignored: each round's seed
  // is derived from `seed` and the round number.
  LocalParticipant(proto::ClientConfig config, core::Dataset shard, core::LocalRoundOptions options,
                   uint64_t seed);
  LocalParticipant(const LocalParticipant&) = delete;
  LocalParticipant& operator=(const LocalParticipant&) = delete;

  // The seed of round `round`'s local training for a client seeded with `seed`; any other
  // driver of the same client (client::SessionConfig::round_seed) must use it too.
  static uint64_t round_seed(uint64_t seed, uint64_t round);

  // Inputs, forwarded to the machine; its actions are collected for the accessors below.
  void on_connected(proto::Time now);
  void on_message(std::span<const std::byte> bytes, proto::Time now);
  void on_timeout(proto::Time now);
  std::optional<proto::Time> deadline() const { return machine_.deadline(); }

  // Encoded messages for the server, oldest first, since the last call.
  std::vector<std::vector<std::byte>> take_sends();
  // The machine closed the session (after the sends before it): the driver closes the transport.
  bool closing() const { return closing_; }
  // The round the machine asked to train and that is still current (not superseded by a newer
  // StartRound, nor closed without this client), or nullopt.
  std::optional<uint64_t> round_to_train() const;
  // Batches of one local round on this shard (epochs * ceil(shard size / batch size)).
  int64_t round_batches() const;
  // Trains round_to_train() (precondition, abort) on `trainer`, whose model must have this
  // task's architecture, and reports the result to the machine. `progress`, if not null, is
  // updated between batches. Errors: those of core::LocalRound::begin (a malformed global model
  // from the server, data not fitting the model); the machine is then left waiting.
  Result<core::LocalRoundResult> train(core::Trainer& trainer, proto::Time now,
                                       ProgressBar* progress);

  const proto::ClientStatus& status() const { return machine_.status(); }
  // The final global model, once TrainingFinished arrived.
  const std::optional<std::vector<float>>& final_weights() const { return final_; }
  const core::Dataset& shard() const { return shard_; }
  uint64_t n_rounds_trained() const { return n_rounds_trained_; }

 private:
  void drain();

  proto::FederatedClient machine_;
  core::Dataset shard_;
  core::LocalRoundOptions options_;
  uint64_t seed_;
  std::deque<std::vector<std::byte>> sends_;
  std::optional<proto::FederatedClient::TrainLocal> pending_;  // the last TrainLocal
  std::optional<std::vector<float>> final_;
  bool closing_ = false;
  uint64_t n_rounds_trained_ = 0;
};

struct SimulateOptions {
  std::string task;
  std::string data;       // default: the built-in task's data
  std::string test_data;  // default: see run_simulate
  std::string split = "iid";
  std::string output;       // final model; default "<task id>-simulated.safetensors"
  std::string report_json;  // optional machine-readable summary
  int64_t n_clients = 0;
  std::optional<int64_t> seed, rounds, limit, limit_test;
  int threads = 0;  // 0 = all cores
  bool progress = true;
  std::string server;      // "http://host:port": run the clients against this server
  std::string join_token;  // with server: the task's join token; "" = none
};

// Runs the simulation and prints one line per aggregation to stdout:
//   round 1/2  participants 3  train_loss 0.8123  test_loss 0.6012  test_acc 0.7834
// (test_acc only for classification; no test fields without a test set). Setup and timing go
// to stderr. The test set is --test-data when given; else the IDX test split (t10k) when --data
// is an MNIST-style directory (Fashion-MNIST by default); else the task's validation_split held
// out of the training data the way `disco train` does (so both train on the same rows); none
// when that is 0. --limit picks training rows and --limit-test test rows exactly as `disco
// train --limit` and `disco evaluate --limit` do.
// With options.server, see the header comment; the lines are the same, printed as the rounds
// close on the server.
// Errors: InvalidArgument for a bad option (clients < 1, --rounds < 1, a bad --split string)
// or data that cannot be split (fewer samples than clients, dirichlet on non-classification
// data); InvalidArgument when rounds keep being abandoned because the task's round_timeout_s
// is shorter than the slowest client's virtual round; load_task/load_data errors; Internal if
// the machines stop before the last round (a bug: the message names the server phase and the
// last protocol error). With a server: InvalidArgument for --rounds, for a task that is not
// federated or needs more participants than --clients, or one already finished on the server;
// those of server_urls, fetch_task and client::FederatedSession::run (the first failing
// client's, which cancels the others); Unavailable when the server's status cannot be read.
Result<void> run_simulate(const SimulateOptions& options);

}  // namespace disco::cli
