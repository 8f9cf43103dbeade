// SPDX-License-Identifier: Apache-2.0
// Model: a sequential network described by a JSON spec, with all of its parameters in one
// contiguous float32 block (weights) and a gradient block of the same layout.
//
// Spec (docs/formats.md has the full reference):
//   {"input_shape": [28, 28, 1],
//    "layers": [{"type": "conv2d", "filters": 8, "kernel_size": 5, "activation": "relu"}, ...],
//    "loss": "categorical_crossentropy",
//    "optimizer": {"type": "adam", "learning_rate": 0.001},
//    "metrics": ["accuracy"]}
// Parameters are laid out layer by layer in params() order; their names are
// "layers.<index>.<param>" (e.g. "layers.0.kernel"). Because the block is one span, saving,
// sending, averaging and masking weights are single-span operations.
//
// A final softmax (with categorical cross-entropy) or sigmoid (with binary cross-entropy) is
// fused into the loss while training, for numerical stability; predictions apply it.
// Move-only; not thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/autograd/graph.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/json_util.hpp"
#include "core/nn/layer.hpp"

namespace disco::core {

enum class Loss {
  CategoricalCrossEntropy,        // targets: class indices (b,) or probabilities (b, c)
  SparseCategoricalCrossEntropy,  // targets: class indices (b,)
  BinaryCrossEntropy,             // targets: (b, k) in [0, 1], or class indices when k == 1
  MeanSquaredError,               // targets: (b, k)
};

const char* loss_name(Loss loss);

struct ParamInfo {
  std::string name;  // "layers.<i>.<param>"
  Shape shape;
  int64_t offset = 0;  // into the weight block, in floats
  bool trainable = true;
  Init init = Init::Zeros;
  int layer = 0;
};

class Model {
 public:
  // Validates the spec and builds the model with zero weights (call init_weights()).
  // `path` prefixes field names in errors (e.g. "model" -> "model.layers[2].filters: ...").
  // Errors: InvalidArgument naming the offending field.
  static Result<Model> from_spec(const Json& spec, const std::string& path = "model");

  Model(Model&&) noexcept;
  Model& operator=(Model&&) noexcept;
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;
  ~Model();

  // A model with the same spec and a copy of the weights.
  Model clone() const;

  // Initializes every parameter with its initializer, drawing from rng in layout order.
  void init_weights(Rng& rng);

  const Shape& input_shape() const { return input_shape_; }  // one sample, no batch
  const Shape& output_shape() const { return output_shape_; }
  int64_t n_weights() const { return weights_.numel(); }
  std::span<float> weights() { return weights_.span(); }
  std::span<const float> weights() const { return weights_.span(); }
  std::span<float> grads() { return grads_.span(); }
  std::span<const float> grads() const { return grads_.span(); }
  void zero_grads() { grads_.fill(0.0f); }
  const std::vector<ParamInfo>& params() const { return params_; }
  int64_t n_trainable() const;

  Loss loss() const { return loss_; }
  const Json& optimizer_spec() const { return optimizer_; }
  const std::vector<std::string>& metrics() const { return metrics_; }
  // The spec with every default filled in; from_spec(canonical_spec()) builds the same model.
  Json canonical_spec() const;
  // 16 hex digits: FNV-1a 64 of the canonical architecture (input shape + layers), so two
  // models can exchange weights iff their fingerprints are equal.
  const std::string& fingerprint() const { return fingerprint_; }

  // Adds the forward pass over x (batch, ...input_shape) to g. Returns the model's output, or,
  // when `for_loss` and the final activation is fused into the loss, the pre-activation logits.
  // training: dropout active, BatchNorm uses and updates batch statistics; rng required then.
  Var forward(Graph& g, Var x, bool training, Rng* rng, bool for_loss = false);
  // Adds the loss of `output` (from forward(..., for_loss = true)) against targets.
  Var loss_of(Graph& g, Var output, Var targets) const;
  // Whether forward(for_loss = true) skips the final activation.
  bool fuses_final_activation() const { return fused_; }
  Activation final_activation() const;

 private:
  Model() = default;

  Shape input_shape_, output_shape_;
  std::vector<std::unique_ptr<Layer>> layers_;
  std::vector<std::vector<int>> layer_params_;  // layer -> indices into params_
  std::vector<ParamInfo> params_;
  Tensor weights_;  // (n_weights,)
  Tensor grads_;    // (n_weights,)
  Loss loss_ = Loss::CategoricalCrossEntropy;
  Json optimizer_;
  std::vector<std::string> metrics_;
  std::string fingerprint_;
  bool fused_ = false;
};

// FNV-1a 64-bit hash as 16 lowercase hex digits.
std::string fnv1a_hex(std::string_view bytes);

}  // namespace disco::core
