// SPDX-License-Identifier: Apache-2.0
// ServerOptimizer: how the server turns one round's aggregated update into new global weights
// (Reddi et al. 2021, "Adaptive Federated Optimization", Algorithm 2; Hsu et al. 2019 for
// FedAvgM). The aggregated update Δ (mean_delta, from MeanAggregator) is used as a pseudo-
// gradient pointing uphill in weight space, so every rule ADDS to the global weights:
//   fedavg      x += lr * Δ                                    (lr 1 = plain FedAvg)
//   fedavgm     v = momentum * v + Δ;  x += lr * v
//   fedadagrad  m = β1 m + (1-β1) Δ;  v = v + Δ²;                              x += lr m/(√v+τ)
//   fedadam     m = β1 m + (1-β1) Δ;  v = β2 v + (1-β2) Δ²;                    x += lr m/(√v+τ)
//   fedyogi     m = β1 m + (1-β1) Δ;  v = v - (1-β2) Δ² sign(v - Δ²);          x += lr m/(√v+τ)
// m starts at 0 and v at τ² (the paper's v_{-1} >= τ²); no bias correction unless
// `bias_correction` (then m/(1-β1^t) and v/(1-β2^t) at step t = 1, 2, ..., as in Adam).
// Every rule runs over the whole weight block, non-trainable entries (BatchNorm statistics)
// included: averaging those is what FedAvg does, and adaptive rules treat them like any weight.
//
// JSON (e.g. the task's "federation.server_optimizer"; every field optional):
//   {"type": "fedavg" | "fedavgm" | "fedadagrad" | "fedadam" | "fedyogi",   default "fedavg"
//    "lr": > 0        default 1 for fedavg/fedavgm, 0.01 for the adaptive rules
//    "momentum": [0, 1)   fedavgm only, default 0.9
//    "beta_1", "beta_2": [0, 1)  adaptive only, default 0.9 and 0.99 (beta_2 unused by fedadagrad)
//    "tau": > 0           adaptive only, default 1e-3
//    "bias_correction": bool  fedadam/fedyogi only, default false}
// State (moment buffers, float32, n_weights each) lives in the optimizer object; not
// thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "core/base/result.hpp"
#include "core/json_util.hpp"

namespace disco::core {

enum class ServerOptimizerType { FedAvg, FedAvgM, FedAdagrad, FedAdam, FedYogi };

// "fedavg", "fedavgm", "fedadagrad", "fedadam", "fedyogi".
const char* server_optimizer_name(ServerOptimizerType type);

struct ServerOptimizerConfig {
  ServerOptimizerType type = ServerOptimizerType::FedAvg;
  double lr = 1.0;
  double momentum = 0.9;         // fedavgm
  double beta_1 = 0.9;           // adaptive rules
  double beta_2 = 0.99;          // fedadam, fedyogi
  double tau = 1e-3;             // adaptive rules: adaptivity, and sqrt of v's initial value
  bool bias_correction = false;  // fedadam, fedyogi
};

// Reads the JSON above. `path` names the object in errors, e.g. "federation.server_optimizer"
// gives "federation.server_optimizer.lr: must be > 0, got 0".
// Errors: InvalidArgument naming the field (wrong type, out of range, unknown field, a field the
// chosen type does not use, unknown type).
Result<ServerOptimizerConfig> parse_server_optimizer(const Json& spec, const std::string& path);

class ServerOptimizer {
 public:
  virtual ~ServerOptimizer() = default;
  ServerOptimizer(const ServerOptimizer&) = delete;
  ServerOptimizer& operator=(const ServerOptimizer&) = delete;

  // One server step: updates `global` in place from this round's aggregated update. Both spans
  // must have n_weights() entries (a mismatch is a caller bug and aborts); mean_delta is only
  // read during the call.
  virtual void apply(std::span<float> global, std::span<const float> mean_delta) = 0;
  // Zeroes momentum (m) and resets v to τ² and the step count, e.g. when a task restarts.
  virtual void reset() = 0;

  const ServerOptimizerConfig& config() const { return config_; }
  std::size_t n_weights() const { return n_weights_; }
  int64_t n_steps() const { return n_steps_; }

 protected:
  ServerOptimizer(const ServerOptimizerConfig& config, std::size_t n_weights)
      : config_(config), n_weights_(n_weights) {}

  ServerOptimizerConfig config_;
  std::size_t n_weights_;
  int64_t n_steps_ = 0;
};

// Builds the optimizer for a model of `n_weights` floats, its state zeroed (v at τ²).
// The config must be valid (as parse_server_optimizer returns); an invalid one aborts.
std::unique_ptr<ServerOptimizer> make_server_optimizer(const ServerOptimizerConfig& config,
                                                       std::size_t n_weights);

}  // namespace disco::core
