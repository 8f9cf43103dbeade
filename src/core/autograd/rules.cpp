// SPDX-License-Identifier: Apache-2.0
// Forward and backward rules of every primitive, one pair per op, forward next to backward.
// Rule 1: a forward rule only writes node.value / node.saved*; a backward rule only reads
// node.grad and accumulates (+=) into g.grad_slot(input) for inputs that require a gradient.
// Rule 2: shapes were validated by the layer that built the graph; mismatches here are bugs.
#include "core/autograd/rules.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include "core/kernels/gemm.hpp"

namespace disco::core {
namespace {

constexpr std::size_t kElementwiseChunk = 1 << 14;

Node& in(Graph& g, const Node& n, int i) {
  return g.mutable_node(n.inputs[static_cast<std::size_t>(i)]);
}
bool wants_grad(Graph& g, const Node& n, int i) { return in(g, n, i).requires_grad; }
Tensor& grad_of(Graph& g, const Node& n, int i) {
  return g.grad_slot(n.inputs[static_cast<std::size_t>(i)]);
}

// Applies fn(begin, end) over [0, n) in parallel chunks (elementwise ops).
template <typename Fn>
void each(Graph& g, int64_t n, Fn fn) {
  parallel_for(
      g.parallel(), static_cast<std::size_t>(n), kElementwiseChunk,
      [&](std::size_t b, std::size_t e) { fn(static_cast<int64_t>(b), static_cast<int64_t>(e)); });
}

void no_backward(Graph&, Node&) {}
void no_forward(Graph&, Node&) {}

// ---- MatMul: y (b, n) = x (b, k) @ w (k, n)
void matmul_forward(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  const Tensor& w = in(g, n, 1).value;
  DISCO_CHECK(x.rank() == 2 && w.rank() == 2 && x.dim(1) == w.dim(0), "matmul shapes");
  int64_t b = x.dim(0), k = x.dim(1), m = w.dim(1);
  n.value = g.alloc({b, m});
  gemm(false, false, b, m, k, 1.0f, x.data(), k, w.data(), m, 0.0f, n.value.data(), m,
       g.parallel());
}
void matmul_backward(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  const Tensor& w = in(g, n, 1).value;
  int64_t b = x.dim(0), k = x.dim(1), m = w.dim(1);
  if (wants_grad(g, n, 0))
    gemm(false, true, b, k, m, 1.0f, n.grad.data(), m, w.data(), m, 1.0f, grad_of(g, n, 0).data(),
         k, g.parallel());
  if (wants_grad(g, n, 1))
    gemm(true, false, k, m, b, 1.0f, x.data(), k, n.grad.data(), m, 1.0f, grad_of(g, n, 1).data(),
         m, g.parallel());
}

// ---- AddBias: y (..., c) = x + b (c,)
void add_bias_forward(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  const Tensor& b = in(g, n, 1).value;
  int64_t c = b.numel();
  DISCO_CHECK(x.dim(-1) == c, "add_bias shapes");
  n.value = g.alloc(x.shape());
  int64_t rows = x.numel() / c;
  const float* xp = x.data();
  const float* bp = b.data();
  float* yp = n.value.data();
  parallel_for(g.parallel(), static_cast<std::size_t>(rows), kElementwiseChunk / c + 1,
               [&](std::size_t r0, std::size_t r1) {
                 for (auto r = static_cast<int64_t>(r0); r < static_cast<int64_t>(r1); ++r)
                   for (int64_t j = 0; j < c; ++j) yp[r * c + j] = xp[r * c + j] + bp[j];
               });
}
void add_bias_backward(Graph& g, Node& n) {
  int64_t c = in(g, n, 1).value.numel();
  int64_t rows = n.grad.numel() / c;
  const float* dy = n.grad.data();
  if (wants_grad(g, n, 1)) {
    float* db = grad_of(g, n, 1).data();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < c; ++j) db[j] += dy[r * c + j];
  }
  // dx = dy: hand the gradient buffer itself to x (this node's gradient is not read again).
  if (wants_grad(g, n, 0)) g.pass_grad(n.inputs[0], std::move(n.grad));
}

// ---- Conv2D / DepthwiseConv2D / pools: geometry in attrs, batch from the input.
ConvGeom geom_for(const Node& n, const Tensor& x) {
  ConvGeom geom = n.attrs.geom;
  geom.n = x.dim(0);
  DISCO_CHECK(x.rank() == 4 && x.dim(1) == geom.h && x.dim(2) == geom.w && x.dim(3) == geom.c_in,
              "conv/pool input shape does not match its geometry");
  return geom;
}
Shape out_shape(const ConvGeom& geom) { return {geom.n, geom.out_h, geom.out_w, geom.c_out}; }

void conv2d_fwd(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  ConvGeom geom = geom_for(n, x);
  n.value = g.alloc(out_shape(geom));
  conv2d_forward(geom, x.data(), in(g, n, 1).value.data(), n.value.data(), g.parallel());
}
void conv2d_bwd(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  ConvGeom geom = geom_for(n, x);
  if (wants_grad(g, n, 0))
    conv2d_backward_input(geom, n.grad.data(), in(g, n, 1).value.data(), grad_of(g, n, 0).data(),
                          g.parallel());
  if (wants_grad(g, n, 1))
    conv2d_backward_weight(geom, x.data(), n.grad.data(), grad_of(g, n, 1).data(), g.parallel());
}

void depthwise_fwd(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  ConvGeom geom = geom_for(n, x);
  n.value = g.alloc(out_shape(geom));
  depthwise_conv2d_forward(geom, x.data(), in(g, n, 1).value.data(), n.value.data(), g.parallel());
}
void depthwise_bwd(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  ConvGeom geom = geom_for(n, x);
  if (wants_grad(g, n, 0))
    depthwise_conv2d_backward_input(geom, n.grad.data(), in(g, n, 1).value.data(),
                                    grad_of(g, n, 0).data(), g.parallel());
  if (wants_grad(g, n, 1))
    depthwise_conv2d_backward_weight(geom, x.data(), n.grad.data(), grad_of(g, n, 1).data(),
                                     g.parallel());
}

void max_pool_fwd(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  ConvGeom geom = geom_for(n, x);
  n.value = g.alloc(out_shape(geom));
  n.indices.resize(static_cast<std::size_t>(n.value.numel()));
  max_pool2d_forward(geom, x.data(), n.value.data(), n.indices.data(), g.parallel());
}
void max_pool_bwd(Graph& g, Node& n) {
  if (!wants_grad(g, n, 0)) return;
  ConvGeom geom = geom_for(n, in(g, n, 0).value);
  max_pool2d_backward(geom, n.grad.data(), n.indices.data(), grad_of(g, n, 0).data(), g.parallel());
}

void avg_pool_fwd(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  ConvGeom geom = geom_for(n, x);
  n.value = g.alloc(out_shape(geom));
  avg_pool2d_forward(geom, x.data(), n.value.data(), g.parallel());
}
void avg_pool_bwd(Graph& g, Node& n) {
  if (!wants_grad(g, n, 0)) return;
  ConvGeom geom = geom_for(n, in(g, n, 0).value);
  avg_pool2d_backward(geom, n.grad.data(), grad_of(g, n, 0).data(), g.parallel());
}

// ---- Reshape: a borrowed view of the input's storage.
void reshape_fwd(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  DISCO_CHECK(x.numel() == n.attrs.shape.numel(), "reshape changes the element count");
  n.value = x.view(n.attrs.shape);
}
void reshape_bwd(Graph& g, Node& n) {
  if (wants_grad(g, n, 0)) g.pass_grad(n.inputs[0], std::move(n.grad));
}

// ---- Unary elementwise ops: y = f(x), dx += d(x, y, dy) = dy * f'(x, y).
template <typename F>
void unary_forward(Graph& g, Node& n, F f) {
  const Tensor& x = in(g, n, 0).value;
  n.value = g.alloc(x.shape());
  const float* xp = x.data();
  float* yp = n.value.data();
  each(g, x.numel(), [&](int64_t b, int64_t e) {
    const float* __restrict src = xp;
    float* __restrict dst = yp;
    for (int64_t i = b; i < e; ++i) dst[i] = f(src[i]);
  });
}
template <typename D>
void unary_backward(Graph& g, Node& n, D d) {
  if (!wants_grad(g, n, 0)) return;
  const float* xp = in(g, n, 0).value.data();
  const float* yp = n.value.data();
  const float* dy = n.grad.data();
  bool fresh = false;
  float* dx = g.grad_for_write(n.inputs[0], &fresh).data();
  // Restrict-qualified locals and branch-free derivatives let the compiler vectorise these loops.
  each(g, n.grad.numel(), [&](int64_t b, int64_t e) {
    const float* __restrict x = xp;
    const float* __restrict y = yp;
    const float* __restrict gy = dy;
    float* __restrict gx = dx;
    // Every operand is loaded unconditionally so selects in d() vectorise.
    if (fresh) {
      for (int64_t i = b; i < e; ++i) {
        float xv = x[i], yv = y[i], gv = gy[i];
        gx[i] = d(xv, yv, gv);
      }
    } else {
      for (int64_t i = b; i < e; ++i) {
        float xv = x[i], yv = y[i], gv = gy[i];
        gx[i] += d(xv, yv, gv);
      }
    }
  });
}

float sigmoid_of(float x) {
  // Stable for large |x|: never exponentiates a large positive number.
  if (x >= 0) return 1.0f / (1.0f + std::exp(-x));
  float e = std::exp(x);
  return e / (1.0f + e);
}

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

void relu_fwd(Graph& g, Node& n) {
  unary_forward(g, n, [](float x) { return std::max(x, 0.0f); });
}
void relu_bwd(Graph& g, Node& n) {
  unary_backward(g, n, [](float, float y, float dy) { return y > 0.0f ? dy : 0.0f; });
}
void leaky_relu_fwd(Graph& g, Node& n) {
  float a = n.attrs.alpha;
  unary_forward(g, n, [a](float x) { return x > 0.0f ? x : a * x; });
}
void leaky_relu_bwd(Graph& g, Node& n) {
  float a = n.attrs.alpha;
  unary_backward(g, n, [a](float x, float, float dy) { return x > 0.0f ? dy : a * dy; });
}
void sigmoid_fwd(Graph& g, Node& n) { unary_forward(g, n, sigmoid_of); }
void sigmoid_bwd(Graph& g, Node& n) {
  unary_backward(g, n, [](float, float y, float dy) { return dy * y * (1.0f - y); });
}
void tanh_fwd(Graph& g, Node& n) {
  unary_forward(g, n, [](float x) { return std::tanh(x); });
}
void tanh_bwd(Graph& g, Node& n) {
  unary_backward(g, n, [](float, float y, float dy) { return dy * (1.0f - y * y); });
}
void gelu_fwd(Graph& g, Node& n) {
  unary_forward(g, n, [](float x) { return 0.5f * x * (1.0f + std::erf(x * kInvSqrt2)); });
}
void gelu_bwd(Graph& g, Node& n) {
  unary_backward(g, n, [](float x, float, float dy) {
    return dy *
           (0.5f * (1.0f + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(-0.5f * x * x));
  });
}

// ---- Softmax over the last axis.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t c) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * c;
    float* yr = y + r * c;
    float mx = xr[0];
    for (int64_t j = 1; j < c; ++j) mx = std::max(mx, xr[j]);
    float sum = 0.0f;
    for (int64_t j = 0; j < c; ++j) sum += (yr[j] = std::exp(xr[j] - mx));
    float inv = 1.0f / sum;
    for (int64_t j = 0; j < c; ++j) yr[j] *= inv;
  }
}
void softmax_fwd(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  n.value = g.alloc(x.shape());
  int64_t c = x.dim(-1);
  softmax_rows(x.data(), n.value.data(), x.numel() / c, c);
}
void softmax_bwd(Graph& g, Node& n) {
  if (!wants_grad(g, n, 0)) return;
  int64_t c = n.value.dim(-1);
  int64_t rows = n.value.numel() / c;
  const float* y = n.value.data();
  const float* dy = n.grad.data();
  float* dx = grad_of(g, n, 0).data();
  for (int64_t r = 0; r < rows; ++r) {
    float dot = 0.0f;
    for (int64_t j = 0; j < c; ++j) dot += dy[r * c + j] * y[r * c + j];
    for (int64_t j = 0; j < c; ++j) dx[r * c + j] += y[r * c + j] * (dy[r * c + j] - dot);
  }
}

// ---- Binary elementwise ops on equal shapes.
void add_fwd(Graph& g, Node& n) {
  const Tensor& a = in(g, n, 0).value;
  const Tensor& b = in(g, n, 1).value;
  DISCO_CHECK(a.shape() == b.shape(), "add shapes");
  n.value = g.alloc(a.shape());
  const float *ap = a.data(), *bp = b.data();
  float* yp = n.value.data();
  each(g, a.numel(), [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) yp[i] = ap[i] + bp[i];
  });
}
void add_bwd(Graph& g, Node& n) {
  const float* dy = n.grad.data();
  if (wants_grad(g, n, 1)) {
    float* dx = grad_of(g, n, 1).data();
    each(g, n.grad.numel(), [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) dx[i] += dy[i];
    });
  }
  if (wants_grad(g, n, 0)) g.pass_grad(n.inputs[0], std::move(n.grad));
}
void mul_fwd(Graph& g, Node& n) {
  const Tensor& a = in(g, n, 0).value;
  const Tensor& b = in(g, n, 1).value;
  DISCO_CHECK(a.shape() == b.shape(), "mul shapes");
  n.value = g.alloc(a.shape());
  const float *ap = a.data(), *bp = b.data();
  float* yp = n.value.data();
  each(g, a.numel(), [&](int64_t s, int64_t e) {
    for (int64_t i = s; i < e; ++i) yp[i] = ap[i] * bp[i];
  });
}
void mul_bwd(Graph& g, Node& n) {
  const float* dy = n.grad.data();
  for (int k = 0; k < 2; ++k) {
    if (!wants_grad(g, n, k)) continue;
    const float* other = in(g, n, 1 - k).value.data();
    float* dx = grad_of(g, n, k).data();
    each(g, n.grad.numel(), [&](int64_t s, int64_t e) {
      for (int64_t i = s; i < e; ++i) dx[i] += dy[i] * other[i];
    });
  }
}

// ---- BatchNorm over all axes but the last. saved = x-hat; saved2 = [mean | 1/std | var] (3c).
void batch_norm_fwd(Graph& g, Node& n) {
  const Tensor& x = in(g, n, 0).value;
  const float* gamma = in(g, n, 1).value.data();
  const float* beta = in(g, n, 2).value.data();
  const float* mmean = in(g, n, 3).value.data();
  const float* mvar = in(g, n, 4).value.data();
  int64_t c = x.dim(-1);
  int64_t rows = x.numel() / c;
  n.value = g.alloc(x.shape());
  n.saved = g.alloc(x.shape());
  n.saved2 = g.alloc({3 * c});
  float* mean = n.saved2.data();
  float* inv_std = mean + c;
  float* var = mean + 2 * c;
  const float* xp = x.data();
  if (n.attrs.training) {
    std::fill(mean, mean + 3 * c, 0.0f);
    // Two passes in double for accuracy; rows are summed in order (deterministic).
    std::vector<double> s(static_cast<std::size_t>(c), 0.0), s2(static_cast<std::size_t>(c), 0.0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < c; ++j) s[static_cast<std::size_t>(j)] += xp[r * c + j];
    for (int64_t j = 0; j < c; ++j)
      mean[j] = static_cast<float>(s[static_cast<std::size_t>(j)] / rows);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < c; ++j) {
        double d = xp[r * c + j] - mean[j];
        s2[static_cast<std::size_t>(j)] += d * d;
      }
    for (int64_t j = 0; j < c; ++j)
      var[j] = static_cast<float>(s2[static_cast<std::size_t>(j)] / rows);
  } else {
    for (int64_t j = 0; j < c; ++j) {
      mean[j] = mmean[j];
      var[j] = mvar[j];
    }
  }
  for (int64_t j = 0; j < c; ++j) inv_std[j] = 1.0f / std::sqrt(var[j] + n.attrs.epsilon);
  float* xh = n.saved.data();
  float* yp = n.value.data();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < c; ++j) {
      int64_t i = r * c + j;
      xh[i] = (xp[i] - mean[j]) * inv_std[j];
      yp[i] = gamma[j] * xh[i] + beta[j];
    }
}
void batch_norm_bwd(Graph& g, Node& n) {
  int64_t c = n.value.dim(-1);
  int64_t rows = n.value.numel() / c;
  const float* dy = n.grad.data();
  const float* xh = n.saved.data();
  const float* inv_std = n.saved2.data() + c;
  const float* gamma = in(g, n, 1).value.data();
  std::vector<double> sum_dy(static_cast<std::size_t>(c), 0.0),
      sum_dy_xh(static_cast<std::size_t>(c), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < c; ++j) {
      sum_dy[static_cast<std::size_t>(j)] += dy[r * c + j];
      sum_dy_xh[static_cast<std::size_t>(j)] += dy[r * c + j] * xh[r * c + j];
    }
  if (wants_grad(g, n, 1)) {
    float* dg = grad_of(g, n, 1).data();
    for (int64_t j = 0; j < c; ++j)
      dg[j] += static_cast<float>(sum_dy_xh[static_cast<std::size_t>(j)]);
  }
  if (wants_grad(g, n, 2)) {
    float* db = grad_of(g, n, 2).data();
    for (int64_t j = 0; j < c; ++j)
      db[j] += static_cast<float>(sum_dy[static_cast<std::size_t>(j)]);
  }
  if (!wants_grad(g, n, 0)) return;
  float* dx = grad_of(g, n, 0).data();
  if (n.attrs.training) {
    auto inv_rows = 1.0 / static_cast<double>(rows);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < c; ++j) {
        int64_t i = r * c + j;
        auto sj = static_cast<std::size_t>(j);
        double v = dy[i] - sum_dy[sj] * inv_rows - xh[i] * sum_dy_xh[sj] * inv_rows;
        dx[i] += static_cast<float>(gamma[j] * inv_std[j] * v);
      }
  } else {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < c; ++j) dx[r * c + j] += dy[r * c + j] * gamma[j] * inv_std[j];
  }
}

// ---- Losses: scalar means. Labels/targets never receive gradients.
// SoftmaxCrossEntropy: saved = softmax(logits). Labels are (b,) class indices or (b, c).
void softmax_ce_fwd(Graph& g, Node& n) {
  const Tensor& z = in(g, n, 0).value;
  const Tensor& t = in(g, n, 1).value;
  DISCO_CHECK(z.rank() == 2, "softmax_cross_entropy logits must be (batch, classes)");
  int64_t b = z.dim(0), c = z.dim(1);
  bool sparse = t.rank() == 1;
  DISCO_CHECK(t.dim(0) == b && (sparse || t.dim(1) == c), "softmax_cross_entropy label shape");
  n.saved = g.alloc(z.shape());
  softmax_rows(z.data(), n.saved.data(), b, c);
  double total = 0.0;
  for (int64_t r = 0; r < b; ++r) {
    const float* zr = z.data() + r * c;
    float mx = *std::max_element(zr, zr + c);
    double lse = 0.0;
    for (int64_t j = 0; j < c; ++j) lse += std::exp(static_cast<double>(zr[j] - mx));
    lse = std::log(lse) + mx;
    if (sparse) {
      auto label = static_cast<int64_t>(t[r]);
      DISCO_CHECK(label >= 0 && label < c, "class index out of range");
      total += lse - zr[label];
    } else {
      for (int64_t j = 0; j < c; ++j) total += t[r * c + j] * (lse - zr[j]);
    }
  }
  n.value = g.alloc({});
  n.value[0] = static_cast<float>(total / static_cast<double>(b));
}
void softmax_ce_bwd(Graph& g, Node& n) {
  if (!wants_grad(g, n, 0)) return;
  const Tensor& t = in(g, n, 1).value;
  const Tensor& p = n.saved;
  int64_t b = p.dim(0), c = p.dim(1);
  float scale = n.grad[0] / static_cast<float>(b);
  float* dz = grad_of(g, n, 0).data();
  bool sparse = t.rank() == 1;
  // d/dz of sum_j t_j (lse - z_j) is p * sum(t) - t (sum(t) is 1 for proper distributions).
  for (int64_t r = 0; r < b; ++r) {
    float sum_t = 1.0f;
    if (!sparse) {
      sum_t = 0.0f;
      for (int64_t j = 0; j < c; ++j) sum_t += t[r * c + j];
    }
    for (int64_t j = 0; j < c; ++j) {
      float target = sparse ? (static_cast<int64_t>(t[r]) == j ? 1.0f : 0.0f) : t[r * c + j];
      dz[r * c + j] += scale * (p[r * c + j] * sum_t - target);
    }
  }
}

// SigmoidCrossEntropy: mean over elements of max(z,0) - z t + log(1 + exp(-|z|)).
void sigmoid_ce_fwd(Graph& g, Node& n) {
  const Tensor& z = in(g, n, 0).value;
  const Tensor& t = in(g, n, 1).value;
  DISCO_CHECK(z.numel() == t.numel(), "sigmoid_cross_entropy shapes");
  n.saved = g.alloc(z.shape());
  double total = 0.0;
  for (int64_t i = 0; i < z.numel(); ++i) {
    float zi = z[i];
    n.saved[i] = sigmoid_of(zi);
    total += std::max(zi, 0.0f) - zi * t[i] + std::log1p(std::exp(-std::fabs(zi)));
  }
  n.value = g.alloc({});
  n.value[0] = static_cast<float>(total / static_cast<double>(z.numel()));
}
void sigmoid_ce_bwd(Graph& g, Node& n) {
  if (!wants_grad(g, n, 0)) return;
  const Tensor& t = in(g, n, 1).value;
  float scale = n.grad[0] / static_cast<float>(t.numel());
  float* dz = grad_of(g, n, 0).data();
  for (int64_t i = 0; i < t.numel(); ++i) dz[i] += scale * (n.saved[i] - t[i]);
}

void mse_fwd(Graph& g, Node& n) {
  const Tensor& p = in(g, n, 0).value;
  const Tensor& t = in(g, n, 1).value;
  DISCO_CHECK(p.numel() == t.numel(), "mean_squared_error shapes");
  double total = 0.0;
  for (int64_t i = 0; i < p.numel(); ++i) {
    double d = p[i] - t[i];
    total += d * d;
  }
  n.value = g.alloc({});
  n.value[0] = static_cast<float>(total / static_cast<double>(p.numel()));
}
void mse_bwd(Graph& g, Node& n) {
  const Tensor& p = in(g, n, 0).value;
  const Tensor& t = in(g, n, 1).value;
  float scale = 2.0f * n.grad[0] / static_cast<float>(p.numel());
  if (wants_grad(g, n, 0)) {
    float* dp = grad_of(g, n, 0).data();
    for (int64_t i = 0; i < p.numel(); ++i) dp[i] += scale * (p[i] - t[i]);
  }
  if (wants_grad(g, n, 1)) {
    float* dt = grad_of(g, n, 1).data();
    for (int64_t i = 0; i < p.numel(); ++i) dt[i] -= scale * (p[i] - t[i]);
  }
}

const std::array<OpRule, static_cast<std::size_t>(Op::kCount)> kRules = {{
    {"leaf", no_forward, no_backward},
    {"matmul", matmul_forward, matmul_backward},
    {"add_bias", add_bias_forward, add_bias_backward},
    {"conv2d", conv2d_fwd, conv2d_bwd},
    {"depthwise_conv2d", depthwise_fwd, depthwise_bwd},
    {"max_pool2d", max_pool_fwd, max_pool_bwd},
    {"avg_pool2d", avg_pool_fwd, avg_pool_bwd},
    {"reshape", reshape_fwd, reshape_bwd},
    {"relu", relu_fwd, relu_bwd},
    {"leaky_relu", leaky_relu_fwd, leaky_relu_bwd},
    {"sigmoid", sigmoid_fwd, sigmoid_bwd},
    {"tanh", tanh_fwd, tanh_bwd},
    {"gelu", gelu_fwd, gelu_bwd},
    {"softmax", softmax_fwd, softmax_bwd},
    {"add", add_fwd, add_bwd},
    {"mul", mul_fwd, mul_bwd},
    {"batch_norm", batch_norm_fwd, batch_norm_bwd},
    {"softmax_cross_entropy", softmax_ce_fwd, softmax_ce_bwd},
    {"sigmoid_cross_entropy", sigmoid_ce_fwd, sigmoid_ce_bwd},
    {"mean_squared_error", mse_fwd, mse_bwd},
}};

}  // namespace

const OpRule& op_rule(Op op) {
  auto i = static_cast<std::size_t>(op);
  DISCO_CHECK(i < kRules.size(), "unknown op");
  return kRules[i];
}

const char* op_name(Op op) { return op_rule(op).name; }

}  // namespace disco::core
