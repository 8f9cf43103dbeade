// SPDX-License-Identifier: Apache-2.0
// Optimizers over a Model's weight block: step() updates the trainable parameters from the
// gradient block (non-trainable ones, like BatchNorm statistics, are never touched).
// Spec (the model's "optimizer" field):
//   {"type": "sgd", "learning_rate": 0.01, "momentum": 0.0, "nesterov": false}
//   {"type": "adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
//   {"type": "adamw", ... as adam ..., "weight_decay": 0.004}   (decoupled decay)
//   {"type": "rmsprop", "learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7}
// Every type also takes "clipnorm": rescale the gradient so its global L2 norm is at most this.
// Optimizer state is sized to the model at construction; not thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/base/result.hpp"
#include "core/json_util.hpp"
#include "core/model/model.hpp"

namespace disco::core {

struct OptimizerConfig {
  std::string type = "adam";
  float learning_rate = 1e-3f;
  float momentum = 0.0f;                 // sgd, rmsprop
  bool nesterov = false;                 // sgd
  float beta_1 = 0.9f, beta_2 = 0.999f;  // adam, adamw
  float epsilon = 1e-7f;                 // adam, adamw, rmsprop
  float rho = 0.9f;                      // rmsprop
  float weight_decay = 0.0f;             // adamw (decoupled), others: none
  float clipnorm = 0.0f;                 // 0 = no clipping
};

// Errors: InvalidArgument naming the field (e.g. "model.optimizer.learning_rate: must be > 0").
Result<OptimizerConfig> parse_optimizer(const Json& spec, const std::string& path);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // One update of model.weights() from model.grads(). Does not zero the gradients.
  void step(Model& model);
  // Resets moment estimates and the step counter (e.g. after receiving new global weights).
  virtual void reset() = 0;
  const OptimizerConfig& config() const { return config_; }
  void set_learning_rate(float lr) { config_.learning_rate = lr; }
  int64_t n_steps() const { return t_; }

 protected:
  explicit Optimizer(OptimizerConfig config) : config_(std::move(config)) {}
  // Updates w (a trainable parameter) from g; `offset` locates it in state buffers.
  virtual void update(std::span<float> w, std::span<const float> g, int64_t offset) = 0;

  OptimizerConfig config_;
  int64_t t_ = 0;
};

// Builds the optimizer for `model` (state sized to its weight block).
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config, const Model& model);

// Global L2 norm of the trainable gradients.
double grad_global_norm(const Model& model);

}  // namespace disco::core
