// SPDX-License-Identifier: Apache-2.0
// Graph: a reverse-mode autograd tape over a small set of primitive ops.
//
// A Graph records one forward pass as a list of nodes in execution order; backward() walks it in
// reverse and applies each op's backward rule. Forward and backward rules of every primitive live
// together in one table (rules.cpp); layers (nn/) are composed from these primitives and need no
// rule of their own. Leaves are either inputs (constants, no gradient) or parameters, whose value
// and gradient are borrowed views into the model's contiguous weight and gradient blocks, so a
// backward pass accumulates straight into the gradient block.
//
// Buffers are recycled: clear() keeps every node's storage in a pool keyed by size, so training
// loops that rebuild the same graph every batch stop allocating after the first batch.
//
// Not thread-safe. Kernels inside one op run on the Parallel passed at construction, which must
// outlive the Graph, as must every borrowed parameter view.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/base/parallel.hpp"
#include "core/kernels/conv.hpp"
#include "core/tensor.hpp"

namespace disco::core {

// The primitives. Adding one means: an enumerator here, one entry in rules.cpp (name, forward,
// backward), a builder method on Graph and an entry in the op registry test.
enum class Op : uint8_t {
  Leaf,
  MatMul,           // x (b, k) @ w (k, n) -> (b, n)
  AddBias,          // x (..., c) + b (c,)
  Conv2D,           // x (n, h, w, ci) * w (kh, kw, ci, co) -> (n, oh, ow, co)
  DepthwiseConv2D,  // x (n, h, w, ci) * w (kh, kw, ci, m) -> (n, oh, ow, ci * m)
  MaxPool2D,        // x (n, h, w, c) -> (n, oh, ow, c)
  AvgPool2D,        // x (n, h, w, c) -> (n, oh, ow, c)
  Reshape,          // same elements, new shape
  Relu,
  LeakyRelu,  // alpha in attrs.alpha
  Sigmoid,
  Tanh,
  Gelu,                 // exact: 0.5 x (1 + erf(x / sqrt 2))
  Softmax,              // over the last axis
  Add,                  // a + b, same shape
  Mul,                  // a * b, same shape
  BatchNorm,            // x (..., c), gamma (c), beta (c), moving mean (c), moving var (c)
  SoftmaxCrossEntropy,  // logits (b, c), labels (b,) indices or (b, c) probabilities -> scalar mean
  SigmoidCrossEntropy,  // logits (b, k), targets (b, k) in [0, 1] -> scalar mean
  MeanSquaredError,     // pred (b, k), target (b, k) -> scalar mean over all elements
  kCount,
};

const char* op_name(Op op);

// A handle to a node of one Graph; invalid after clear().
struct Var {
  int32_t id = -1;
  bool valid() const { return id >= 0; }
};

// Per-node settings; which fields matter depends on the op.
struct OpAttrs {
  ConvGeom geom;          // conv and pool ops (n is taken from the input at forward time)
  Shape shape;            // Reshape: the target shape
  float alpha = 0.0f;     // LeakyRelu slope
  float epsilon = 1e-3f;  // BatchNorm
  bool training = true;   // BatchNorm: batch statistics (true) or moving statistics (false)
};

struct Node {
  Op op = Op::Leaf;
  std::array<int32_t, 5> inputs{-1, -1, -1, -1, -1};
  int n_inputs = 0;
  OpAttrs attrs;
  Tensor value;
  Tensor grad;    // empty until the first gradient arrives (params: borrowed, always set)
  Tensor saved;   // op-specific state kept for backward (probabilities, x-hat, ...)
  Tensor saved2;  // second op-specific state (BatchNorm: mean and 1/std per channel)
  std::vector<int32_t> indices;  // MaxPool2D argmax
  bool requires_grad = false;
  bool has_grad = false;  // grad holds a value (params count as having one)
};

class Graph {
 public:
  // `parallel` must outlive the Graph.
  explicit Graph(Parallel& parallel) : parallel_(&parallel) {}
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  // Leaves. input() takes ownership of `value` or borrows it (Tensor::borrow), no gradient.
  Var input(Tensor value);
  // A trainable leaf: value and grad are borrowed views of equal shape; backward accumulates
  // into grad. Both must outlive the Graph's current pass (until clear()).
  Var param(Tensor value_view, Tensor grad_view);

  Var matmul(Var x, Var w);
  Var add_bias(Var x, Var b);
  // geom: kernel, strides and padding must be set (set_padding), h/w/c_in matching x.
  Var conv2d(Var x, Var w, const ConvGeom& geom);
  Var depthwise_conv2d(Var x, Var w, const ConvGeom& geom);
  Var max_pool2d(Var x, const ConvGeom& geom);
  Var avg_pool2d(Var x, const ConvGeom& geom);
  Var reshape(Var x, const Shape& shape);
  Var relu(Var x);
  Var leaky_relu(Var x, float alpha);
  Var sigmoid(Var x);
  Var tanh(Var x);
  Var gelu(Var x);
  Var softmax(Var x);
  Var add(Var a, Var b);
  Var mul(Var a, Var b);
  Var batch_norm(Var x, Var gamma, Var beta, Var moving_mean, Var moving_var, float epsilon,
                 bool training);
  Var softmax_cross_entropy(Var logits, Var labels);
  Var sigmoid_cross_entropy(Var logits, Var targets);
  Var mean_squared_error(Var pred, Var target);

  const Tensor& value(Var v) const { return node(v).value; }
  // The gradient of v after backward(); empty Tensor if none reached it.
  const Tensor& grad(Var v) const { return node(v).grad; }
  const Node& node(Var v) const;
  int n_nodes() const { return static_cast<int>(nodes_.size()); }

  // Seeds d(root)/d(root) = 1 (root must be a scalar) and accumulates gradients into every node
  // that requires them, parameters included.
  void backward(Var root);
  // Seeds d(L)/d(root) = seed (same shape as root's value) and accumulates as backward().
  void backward(Var root, const Tensor& seed);
  // Drops all nodes (recycling their owned buffers); Vars become invalid.
  void clear();

  // For rules.cpp: buffers from the pool, node access and the gradient slot of an input.
  Tensor alloc(const Shape& shape);
  Tensor alloc_zeros(const Shape& shape);
  Node& mutable_node(int32_t id) { return nodes_[static_cast<std::size_t>(id)]; }
  // The gradient tensor of node `id`, zero-filled on first use.
  Tensor& grad_slot(int32_t id);
  // The gradient tensor of node `id` for a rule that overwrites it: when no gradient has reached
  // the node yet, *fresh is set and the tensor is uninitialised, so the rule must assign every
  // element; otherwise the rule accumulates as usual. Saves a zero fill per op.
  Tensor& grad_for_write(int32_t id, bool* fresh);
  // Gives node `id` the gradient `g` (same number of elements): moved in without a copy when
  // none has arrived yet, accumulated otherwise. For identity-gradient ops (add_bias, add,
  // reshape).
  void pass_grad(int32_t id, Tensor&& g);
  Parallel& parallel() { return *parallel_; }

 private:
  Var apply(Op op, std::initializer_list<Var> inputs, const OpAttrs& attrs);
  void recycle(Tensor t);

  Parallel* parallel_;
  std::vector<Node> nodes_;
  std::vector<Tensor> pool_;
};

}  // namespace disco::core
