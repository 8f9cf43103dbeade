// SPDX-License-Identifier: Apache-2.0
// Layer: one step of a sequential model, built from autograd primitives (no backward rules of its
// own). A layer is configured from its JSON spec (layers.cpp: make_layer), validated against its
// input sample shape by build(), declares its parameters (their storage belongs to the Model's
// one contiguous weight block) and adds its computation to a Graph in forward().
// Layers are not thread-safe; a Model owns its layers.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/autograd/graph.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/json_util.hpp"
#include "core/nn/activation.hpp"
#include "core/nn/init.hpp"

namespace disco::core {

struct ParamSpec {
  std::string name;  // "kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"
  Shape shape;
  Init init = Init::Zeros;
  bool trainable = true;
};

// What a layer's forward() gets besides its input.
struct ForwardContext {
  Graph& graph;
  bool training = false;
  Rng* rng = nullptr;              // dropout masks; required when training
  std::vector<Var> params;         // this layer's parameters, in params() order
  std::vector<float*> param_data;  // their storage in the weight block (BatchNorm statistics)
};

class Layer {
 public:
  virtual ~Layer() = default;
  // The spec "type" string, e.g. "conv2d".
  virtual const char* type() const = 0;
  // Checks the layer against its input sample shape (no batch dimension) and returns the output
  // sample shape. Errors: InvalidArgument naming `path` (e.g. "model.layers[3]").
  virtual Result<Shape> build(const Shape& input, const std::string& path) = 0;
  virtual std::vector<ParamSpec> params() const { return {}; }
  // The computation before the activation; x is (batch, ...input sample shape).
  virtual Var forward_linear(ForwardContext& ctx, Var x) = 0;
  // The spec with every default filled in (canonical form, used for fingerprints).
  virtual Json to_json() const = 0;

  // forward_linear followed by the layer's activation, unless skip_activation (the model fuses a
  // final softmax/sigmoid into the loss).
  Var forward(ForwardContext& ctx, Var x, bool skip_activation = false);
  Activation activation() const { return activation_; }

 protected:
  Activation activation_ = Activation::Linear;
  float leaky_alpha_ = 0.3f;
};

// Builds a layer from its spec object; `path` names it in errors.
// Errors: InvalidArgument for an unknown type, a missing/ill-typed/out-of-range field or an
// unknown field.
Result<std::unique_ptr<Layer>> make_layer(const Json& spec, const std::string& path);

}  // namespace disco::core
