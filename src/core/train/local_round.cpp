// SPDX-License-Identifier: Apache-2.0
#include "core/train/local_round.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace disco::core {

Result<void> check_local_round(const Trainer& trainer, std::span<const float> global,
                               const Dataset& data, const LocalRoundOptions& options) {
  const Model& model = trainer.model();
  if (global.size() != static_cast<std::size_t>(model.n_weights()))
    return make_error(Errc::InvalidArgument,
                      "local round: the global weights have " + std::to_string(global.size()) +
                          " values but the model has " + std::to_string(model.n_weights()));
  if (data.size() == 0)
    return make_error(Errc::InvalidArgument, "local round: the client's data set is empty");
  if (options.epochs <= 0 || options.batch_size <= 0)
    return make_error(Errc::InvalidArgument,
                      "local round: epochs (" + std::to_string(options.epochs) +
                          ") and batch_size (" + std::to_string(options.batch_size) +
                          ") must be positive");
  if (!std::isfinite(options.proximal_mu) || options.proximal_mu < 0.0f)
    return make_error(Errc::InvalidArgument,
                      "local round: proximal_mu must be finite and >= 0, got " +
                          std::to_string(options.proximal_mu));
  return check_compatible(model, data, "local round data");
}

Result<LocalRound> LocalRound::begin(Trainer& trainer, std::span<const float> global,
                                     const Dataset& data, const LocalRoundOptions& options) {
  DISCO_TRY(check_local_round(trainer, global, data, options));
  std::span<float> weights = trainer.model().weights();
  std::copy(global.begin(), global.end(), weights.begin());
  trainer.optimizer().reset();
  if (options.seed) trainer.rng() = Rng(*options.seed);
  trainer.set_proximal(global, options.proximal_mu);
  return LocalRound(trainer, data, std::vector<float>(global.begin(), global.end()), options.epochs,
                    options.batch_size);
}

LocalRound::LocalRound(Trainer& trainer, const Dataset& data, std::vector<float> global,
                       int64_t n_epochs, int64_t batch_size)
    : trainer_(&trainer),
      data_(&data),
      global_(std::move(global)),
      n_epochs_(n_epochs),
      batch_size_(batch_size),
      batches_per_epoch_((data.size() + batch_size - 1) / batch_size) {}

std::optional<BatchStats> LocalRound::step() {
  while (!done()) {
    if (!in_epoch_) {
      trainer_->begin_epoch(*data_, batch_size_);
      in_epoch_ = true;
    }
    std::optional<BatchStats> s = trainer_->train_next();
    if (s) {
      stats_.add(*s);
      ++batches_done_;
    }
    // Closing the epoch right after its last batch makes done() true as soon as it is.
    if (!s || batches_done_ == epoch_ * batches_per_epoch_) {
      epoch_logs_.push_back(trainer_->end_epoch(nullptr, batch_size_));
      in_epoch_ = false;
      ++epoch_;
    }
    if (s) return s;
  }
  return std::nullopt;
}

LocalRoundResult LocalRound::finish() {
  DISCO_CHECK(done() && !finished_, "LocalRound::finish() before the last step or twice");
  finished_ = true;
  trainer_->clear_proximal();
  LocalRoundResult result;
  std::span<const float> local = trainer_->model().weights();
  result.delta.resize(global_.size());
  for (std::size_t i = 0; i < global_.size(); ++i) result.delta[i] = local[i] - global_[i];
  result.n_samples = static_cast<uint64_t>(data_->size());
  result.loss = stats_.loss();
  result.accuracy = stats_.accuracy();
  return result;
}

Result<LocalRoundResult> train_local_round(Trainer& trainer, std::span<const float> global,
                                           const Dataset& data, const LocalRoundOptions& options) {
  DISCO_ASSIGN_OR_RETURN(round, LocalRound::begin(trainer, global, data, options));
  while (round.step()) {
  }
  return round.finish();
}

}  // namespace disco::core
