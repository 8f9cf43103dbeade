// SPDX-License-Identifier: Apache-2.0
// LocalRound: a client's local work for one federated round, the same code for the native
// client, the simulator and the browser. It loads the round's global weights into the trainer's
// model, trains `epochs` epochs on the client's data (with the FedProx term when mu > 0) and
// returns the delta local - global that becomes the Contribution.
//
// A round depends only on its inputs, never on earlier rounds:
//   - the optimizer state (Adam moments, momentum, step count) is reset at the start of every
//     round. The global weights jump between rounds by the aggregate of everyone's updates, so
//     moments accumulated along this client's last local trajectory describe a point that no
//     longer exists; FedAvg/FedProx (McMahan et al. 2017, Li et al. 2020) and Flower's examples
//     likewise start each round's local optimizer fresh. The server-side optimizer
//     (core/aggregate/server_optimizer.hpp) is where cross-round momentum belongs.
//   - with options.seed set, the trainer's Rng (shuffles, dropout masks) is reseeded with it,
//     so the round is a pure function of (global, data, options). Without a seed the trainer's
//     Rng stream simply continues.
// Both together mean one Model + Trainer can serve many simulated clients in turn (each round
// reloads the global weights), with results bit-identical to one Trainer per client.
//
// Two forms: train_local_round() does it all; LocalRound::begin / step / finish lets a driver
// show progress between batches. Not thread-safe (the trainer is not).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/base/result.hpp"
#include "core/data/dataset.hpp"
#include "core/train/trainer.hpp"

namespace disco::core {

struct LocalRoundOptions {
  int64_t epochs = 1;       // local epochs over the client's data, > 0
  int64_t batch_size = 32;  // > 0
  float proximal_mu = 0;    // FedProx mu, finite and >= 0; 0 = plain FedAvg
  std::optional<uint64_t> seed =
      std::nullopt;  // reseeds the trainer's Rng at begin (see the file comment)
};

struct LocalRoundResult {
  std::vector<float> delta;  // local - global, n_weights floats (the whole block, as sent)
  uint64_t n_samples = 0;    // data.size(): the FedAvg weight of this contribution
  double loss = 0;           // sample-weighted mean training loss over all local epochs
  double accuracy = 0;       // likewise (classification; 0 otherwise)
};

// Checks the inputs of a round. Errors: InvalidArgument when global.size() != n_weights of the
// trainer's model, data is empty, epochs or batch_size <= 0, proximal_mu is negative or not
// finite, or data does not fit the model (check_compatible's message).
Result<void> check_local_round(const Trainer& trainer, std::span<const float> global,
                               const Dataset& data, const LocalRoundOptions& options);

// Loads `global` into the trainer's model, trains options.epochs epochs on `data` (with the
// proximal term when mu > 0) and returns the delta. The model is left holding the local weights
// and the trainer without a proximal term. `global` and `data` are only used during the call.
// Errors: those of check_local_round (then the model is untouched).
Result<LocalRoundResult> train_local_round(Trainer& trainer, std::span<const float> global,
                                           const Dataset& data, const LocalRoundOptions& options);

// The step-wise form of train_local_round, for drivers that report progress:
//   DISCO_ASSIGN_OR_RETURN(round, LocalRound::begin(trainer, global, data, options));
//   while (auto stats = round.step()) show(round.batches_done(), round.n_batches());
//   LocalRoundResult result = round.finish();
// Borrowed: `trainer` and `data` must stay alive and unmodified until finish() (or until the
// LocalRound is destroyed); `global` is copied. Only one LocalRound per trainer at a time.
// Destroying an unfinished LocalRound leaves the model with partly trained weights and the
// proximal term still set (call trainer.clear_proximal() if the trainer is reused otherwise).
class LocalRound {
 public:
  // Validates (check_local_round's errors), loads `global`, resets the optimizer, reseeds the
  // Rng if asked and sets the proximal term.
  static Result<LocalRound> begin(Trainer& trainer, std::span<const float> global,
                                  const Dataset& data, const LocalRoundOptions& options);

  LocalRound(LocalRound&&) = default;
  LocalRound& operator=(LocalRound&&) = default;
  LocalRound(const LocalRound&) = delete;
  LocalRound& operator=(const LocalRound&) = delete;

  // One optimisation step (one batch); nullopt once all epochs are done.
  std::optional<BatchStats> step();
  // True right after the last batch's step() (finish() may be called then).
  bool done() const { return epoch_ > n_epochs_; }
  // The 1-based epoch in progress (n_epochs once done).
  int64_t epoch() const { return epoch_ < n_epochs_ ? epoch_ : n_epochs_; }
  int64_t n_epochs() const { return n_epochs_; }
  int64_t n_batches() const { return n_epochs_ * batches_per_epoch_; }  // over all epochs
  int64_t batches_done() const { return batches_done_; }
  // Running statistics of the batches trained so far.
  const BatchStats& stats() const { return stats_; }
  // One log per finished epoch (training loss and accuracy of that epoch alone; no validation).
  const std::vector<EpochLog>& epoch_logs() const { return epoch_logs_; }

  // The result. Precondition (abort): done(). Clears the trainer's proximal term.
  LocalRoundResult finish();

 private:
  LocalRound(Trainer& trainer, const Dataset& data, std::vector<float> global, int64_t n_epochs,
             int64_t batch_size);

  Trainer* trainer_;     // borrowed; see the class comment
  const Dataset* data_;  // borrowed; see the class comment
  std::vector<float> global_;
  int64_t n_epochs_ = 0;
  int64_t batch_size_ = 0;
  int64_t batches_per_epoch_ = 0;
  int64_t epoch_ = 1;  // n_epochs_ + 1 once done
  int64_t batches_done_ = 0;
  BatchStats stats_;
  std::vector<EpochLog> epoch_logs_;
  bool in_epoch_ = false;
  bool finished_ = false;
};

}  // namespace disco::core
