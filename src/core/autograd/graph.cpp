// SPDX-License-Identifier: Apache-2.0
// Graph bookkeeping: node creation, the buffer pool and the reverse walk. The math of every op is
// in rules.cpp.
#include "core/autograd/graph.hpp"

#include <utility>

#include "core/autograd/rules.hpp"

namespace disco::core {

const Node& Graph::node(Var v) const {
  DISCO_CHECK(v.id >= 0 && v.id < static_cast<int32_t>(nodes_.size()), "Var from another pass");
  return nodes_[static_cast<std::size_t>(v.id)];
}

Var Graph::input(Tensor value) {
  Node n;
  n.op = Op::Leaf;
  n.value = std::move(value);
  nodes_.push_back(std::move(n));
  return Var{static_cast<int32_t>(nodes_.size() - 1)};
}

Var Graph::param(Tensor value_view, Tensor grad_view) {
  DISCO_CHECK(value_view.shape() == grad_view.shape(), "param value and grad shapes differ");
  Node n;
  n.op = Op::Leaf;
  n.value = std::move(value_view);
  n.grad = std::move(grad_view);
  n.requires_grad = true;
  n.has_grad = true;
  nodes_.push_back(std::move(n));
  return Var{static_cast<int32_t>(nodes_.size() - 1)};
}

Var Graph::apply(Op op, std::initializer_list<Var> inputs, const OpAttrs& attrs) {
  Node n;
  n.op = op;
  n.attrs = attrs;
  for (Var v : inputs) {
    DISCO_CHECK(v.id >= 0 && v.id < static_cast<int32_t>(nodes_.size()), "invalid input Var");
    n.inputs[static_cast<std::size_t>(n.n_inputs++)] = v.id;
    n.requires_grad |= nodes_[static_cast<std::size_t>(v.id)].requires_grad;
  }
  nodes_.push_back(std::move(n));
  auto id = static_cast<int32_t>(nodes_.size() - 1);
  op_rule(op).forward(*this, nodes_.back());
  return Var{id};
}

Var Graph::matmul(Var x, Var w) { return apply(Op::MatMul, {x, w}, {}); }
Var Graph::add_bias(Var x, Var b) { return apply(Op::AddBias, {x, b}, {}); }

Var Graph::conv2d(Var x, Var w, const ConvGeom& geom) {
  OpAttrs a;
  a.geom = geom;
  return apply(Op::Conv2D, {x, w}, a);
}

Var Graph::depthwise_conv2d(Var x, Var w, const ConvGeom& geom) {
  OpAttrs a;
  a.geom = geom;
  return apply(Op::DepthwiseConv2D, {x, w}, a);
}

Var Graph::max_pool2d(Var x, const ConvGeom& geom) {
  OpAttrs a;
  a.geom = geom;
  return apply(Op::MaxPool2D, {x}, a);
}

Var Graph::avg_pool2d(Var x, const ConvGeom& geom) {
  OpAttrs a;
  a.geom = geom;
  return apply(Op::AvgPool2D, {x}, a);
}

Var Graph::reshape(Var x, const Shape& shape) {
  OpAttrs a;
  a.shape = shape;
  return apply(Op::Reshape, {x}, a);
}

Var Graph::relu(Var x) { return apply(Op::Relu, {x}, {}); }

Var Graph::leaky_relu(Var x, float alpha) {
  OpAttrs a;
  a.alpha = alpha;
  return apply(Op::LeakyRelu, {x}, a);
}

Var Graph::sigmoid(Var x) { return apply(Op::Sigmoid, {x}, {}); }
Var Graph::tanh(Var x) { return apply(Op::Tanh, {x}, {}); }
Var Graph::gelu(Var x) { return apply(Op::Gelu, {x}, {}); }
Var Graph::softmax(Var x) { return apply(Op::Softmax, {x}, {}); }
Var Graph::add(Var a, Var b) { return apply(Op::Add, {a, b}, {}); }
Var Graph::mul(Var a, Var b) { return apply(Op::Mul, {a, b}, {}); }

Var Graph::batch_norm(Var x, Var gamma, Var beta, Var moving_mean, Var moving_var, float epsilon,
                      bool training) {
  OpAttrs a;
  a.epsilon = epsilon;
  a.training = training;
  return apply(Op::BatchNorm, {x, gamma, beta, moving_mean, moving_var}, a);
}

Var Graph::softmax_cross_entropy(Var logits, Var labels) {
  return apply(Op::SoftmaxCrossEntropy, {logits, labels}, {});
}

Var Graph::sigmoid_cross_entropy(Var logits, Var targets) {
  return apply(Op::SigmoidCrossEntropy, {logits, targets}, {});
}

Var Graph::mean_squared_error(Var pred, Var target) {
  return apply(Op::MeanSquaredError, {pred, target}, {});
}

Tensor Graph::alloc(const Shape& shape) {
  int64_t numel = shape.numel();
  for (std::size_t i = 0; i < pool_.size(); ++i) {
    if (pool_[i].numel() == numel) {
      Tensor t = std::move(pool_[i]);
      pool_[i] = std::move(pool_.back());
      pool_.pop_back();
      return std::move(t).reshaped(shape);
    }
  }
  return Tensor::empty(shape);
}

Tensor Graph::alloc_zeros(const Shape& shape) {
  Tensor t = alloc(shape);
  t.fill(0.0f);
  return t;
}

Tensor& Graph::grad_slot(int32_t id) {
  Node& n = nodes_[static_cast<std::size_t>(id)];
  if (!n.has_grad) {
    n.grad = alloc_zeros(n.value.shape());
    n.has_grad = true;
  }
  return n.grad;
}

Tensor& Graph::grad_for_write(int32_t id, bool* fresh) {
  Node& n = nodes_[static_cast<std::size_t>(id)];
  *fresh = !n.has_grad;
  if (!n.has_grad) {
    n.grad = alloc(n.value.shape());
    n.has_grad = true;
  }
  return n.grad;
}

void Graph::pass_grad(int32_t id, Tensor&& g) {
  Node& n = nodes_[static_cast<std::size_t>(id)];
  DISCO_CHECK(g.numel() == n.value.numel(), "pass_grad size mismatch");
  if (!n.has_grad && g.owns()) {
    n.grad = std::move(g).reshaped(n.value.shape());
    n.has_grad = true;
    return;
  }
  Tensor& dst = grad_slot(id);
  float* d = dst.data();
  const float* s = g.data();
  for (int64_t i = 0; i < g.numel(); ++i) d[i] += s[i];
}

void Graph::backward(Var root) {
  DISCO_CHECK(node(root).value.numel() == 1, "backward() needs a scalar root");
  Tensor one = Tensor::full(node(root).value.shape(), 1.0f);
  backward(root, one);
}

void Graph::backward(Var root, const Tensor& seed) {
  Node& r = nodes_[static_cast<std::size_t>(root.id)];
  DISCO_CHECK(seed.numel() == r.value.numel(), "backward seed shape");
  if (!r.requires_grad) return;
  grad_slot(root.id).copy_from(seed);
  for (int32_t id = root.id; id >= 0; --id) {
    Node& n = nodes_[static_cast<std::size_t>(id)];
    if (n.op == Op::Leaf || !n.requires_grad || !n.has_grad) continue;
    op_rule(n.op).backward(*this, n);
  }
}

void Graph::recycle(Tensor t) {
  if (t.owns() && t.numel() > 0) pool_.push_back(std::move(t));
}

void Graph::clear() {
  for (Node& n : nodes_) {
    recycle(std::move(n.value));
    recycle(std::move(n.grad));
    recycle(std::move(n.saved));
    recycle(std::move(n.saved2));
  }
  nodes_.clear();
}

}  // namespace disco::core
