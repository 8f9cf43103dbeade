// SPDX-License-Identifier: Apache-2.0
// Trainer: runs optimisation steps, epochs, evaluation and prediction for one Model.
// It owns the autograd Graph (whose buffers are recycled between batches), the optimizer and the
// Rng that draws shuffles and dropout masks. It never calls back into its driver: an epoch is
// begin_epoch(), then train_next() until it returns nullopt (the driver shows progress between
// calls), then end_epoch(). Logs are returned as values.
// Borrowed: the Model and the Parallel must outlive the Trainer; a Dataset passed to
// begin_epoch() must live until end_epoch(). Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "core/autograd/graph.hpp"
#include "core/base/parallel.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/data/dataset.hpp"
#include "core/model/model.hpp"
#include "core/optim/optimizer.hpp"

namespace disco::core {

struct BatchStats {
  double loss_sum = 0.0;  // sum over samples of the per-sample loss
  int64_t n_correct = 0;  // classification only
  int64_t n = 0;
  double loss() const { return n ? loss_sum / static_cast<double>(n) : 0.0; }
  double accuracy() const {
    return n ? static_cast<double>(n_correct) / static_cast<double>(n) : 0.0;
  }
  void add(const BatchStats& o) {
    loss_sum += o.loss_sum;
    n_correct += o.n_correct;
    n += o.n;
  }
};

struct Evaluation {
  double loss = 0.0;
  double accuracy = 0.0;  // classification only
  int64_t n = 0;
  int64_t n_classes = 0;           // 0 for regression
  std::vector<int64_t> confusion;  // n_classes x n_classes, row = true class, column = predicted
  std::vector<double> precision;   // per class (0 when nothing was predicted as that class)
  std::vector<double> recall;      // per class (0 when the class has no samples)
};

struct EpochLog {
  int epoch = 0;  // 1-based
  double loss = 0.0;
  double accuracy = 0.0;
  int64_t n_samples = 0;
  std::optional<Evaluation> validation;
};

// Checks that `data` can be fed to `model`: the sample shape equals the model's input shape, and
// for classification every label is an output class of the model (or 0/1 for a single sigmoid
// unit). Errors: InvalidArgument describing the mismatch, naming `source`.
Result<void> check_compatible(const Model& model, const Dataset& data, std::string_view source);

class Trainer {
 public:
  // Builds the optimizer from the model's spec. Errors: InvalidArgument from parse_optimizer.
  static Result<std::unique_ptr<Trainer>> create(Model& model, Parallel& parallel, uint64_t seed);

  // One optimisation step on a batch: x (b, ...input shape), y as in Dataset (class indices or
  // targets). Returns the batch's loss and accuracy (measured during the forward pass). With a
  // proximal term set, its gradient is added after backward and before the optimizer step.
  BatchStats train_batch(const Tensor& x, const Tensor& y);

  // FedProx (core/aggregate/fedprox.hpp): from now on every train_batch adds the gradient of
  // (mu / 2) * ||w - global_weights||^2. The weights are copied, so the span is only read during
  // the call. mu == 0 is the same as clear_proximal(). Preconditions (caller bugs, abort):
  // global_weights.size() == model().n_weights(); mu finite and >= 0. The term stays until
  // clear_proximal() or the next set_proximal(); the reported loss never includes it.
  void set_proximal(std::span<const float> global_weights, float mu);
  void clear_proximal();
  float proximal_mu() const { return proximal_mu_; }

  // Epoch driving. begin_epoch shuffles `train` with the trainer's Rng.
  void begin_epoch(const Dataset& train, int64_t batch_size);
  std::optional<BatchStats> train_next();
  int64_t epoch_batches() const;   // batches in the current epoch
  int64_t epoch_position() const;  // batches done so far in it
  // Closes the epoch, evaluating on `validation` when given and non-empty.
  EpochLog end_epoch(const Dataset* validation, int64_t batch_size);
  // begin_epoch + train_next until done + end_epoch.
  EpochLog train_epoch(const Dataset& train, const Dataset* validation, int64_t batch_size);

  // Loss, accuracy, confusion matrix, per-class precision/recall (inference mode).
  Evaluation evaluate(const Dataset& data, int64_t batch_size);
  // Model outputs (n, ...output shape) in inference mode: probabilities when the model ends with
  // softmax/sigmoid.
  Tensor predict(const Tensor& x, int64_t batch_size);
  // Per sample of x (classification models): the predicted class and its probability. Outputs
  // of a linear final layer are logits (softmax, or the logistic function for one unit); a single
  // unit predicts class 1 when its probability exceeds 0.5, as evaluate() counts it. Models with
  // per-position outputs (n, T, k) are classified at their last position.
  struct Classification {
    std::vector<int64_t> predicted;
    std::vector<double> confidence;
  };
  Classification classify(const Tensor& x, int64_t batch_size);

  Model& model() { return *model_; }
  const Model& model() const { return *model_; }
  Optimizer& optimizer() { return *optimizer_; }
  Rng& rng() { return rng_; }
  int epochs_done() const { return epochs_done_; }

 private:
  Trainer(Model& model, Parallel& parallel, uint64_t seed, std::unique_ptr<Optimizer> opt);
  Var targets(const Tensor& y, const Tensor& output);
  BatchStats score(const Tensor& output, const Tensor& y, float mean_loss) const;

  Model* model_;
  Rng rng_;
  std::unique_ptr<Optimizer> optimizer_;
  Graph graph_;
  Tensor target_buffer_;
  std::unique_ptr<Batches> batches_;
  BatchStats epoch_stats_;
  int epochs_done_ = 0;
  // The proximal anchor (n_weights floats) while proximal_mu_ > 0; empty otherwise.
  std::vector<float> proximal_global_;
  float proximal_mu_ = 0.0f;
};

}  // namespace disco::core
