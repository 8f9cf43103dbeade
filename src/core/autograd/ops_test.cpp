// SPDX-License-Identifier: Apache-2.0
// The op registry test: one entry per primitive. Each entry's forward is compared with a naive
// reference written here, and its backward with central finite differences of
// L = sum(output * R) for a fixed random R. Adding an op means adding one entry below; the
// coverage test fails until every Op has one.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "core/autograd/graph.hpp"
#include "core/base/rng.hpp"
#include "runtime/thread_pool.hpp"

namespace disco::core {
namespace {

using Inputs = std::vector<Tensor>;
using Vars = std::vector<Var>;

struct OpCase {
  std::string name;
  Op op;
  std::vector<Shape> shapes;
  std::vector<bool> differentiable;  // inputs whose gradient is checked
  std::function<Var(Graph&, const Vars&)> build;
  std::function<std::vector<float>(const Inputs&)> reference;
  // Optional: overwrite random inputs (labels, kinks to avoid).
  std::function<void(Inputs&, Rng&)> prepare;
};

// ---- naive references
ConvGeom geom(int64_t h, int64_t w, int64_t ci, int64_t k, int64_t co, int64_t stride,
              const char* padding) {
  ConvGeom g;
  g.h = h;
  g.w = w;
  g.c_in = ci;
  g.kh = g.kw = k;
  g.c_out = co;
  g.stride_h = g.stride_w = stride;
  EXPECT_TRUE(g.set_padding(padding));
  return g;
}

// Calls fn(n, oy, ox, iy, ix) for every in-bounds window tap.
template <typename Fn>
void for_taps(const ConvGeom& g, int64_t n, Fn fn) {
  for (int64_t b = 0; b < n; ++b)
    for (int64_t oy = 0; oy < g.out_h; ++oy)
      for (int64_t ox = 0; ox < g.out_w; ++ox)
        for (int64_t ky = 0; ky < g.kh; ++ky)
          for (int64_t kx = 0; kx < g.kw; ++kx) {
            int64_t iy = oy * g.stride_h - g.pad_top + ky;
            int64_t ix = ox * g.stride_w - g.pad_left + kx;
            if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
            fn(b, oy, ox, iy, ix, ky, kx);
          }
}

std::vector<float> ref_conv(const ConvGeom& g, const Tensor& x, const Tensor& w, bool depthwise) {
  int64_t n = x.dim(0);
  std::vector<double> y(static_cast<std::size_t>(n * g.out_h * g.out_w * g.c_out), 0.0);
  int64_t mult = g.c_out / g.c_in;
  for_taps(g, n,
           [&](int64_t b, int64_t oy, int64_t ox, int64_t iy, int64_t ix, int64_t ky, int64_t kx) {
             int64_t ybase = ((b * g.out_h + oy) * g.out_w + ox) * g.c_out;
             int64_t xbase = ((b * g.h + iy) * g.w + ix) * g.c_in;
             for (int64_t ci = 0; ci < g.c_in; ++ci) {
               if (depthwise) {
                 for (int64_t m = 0; m < mult; ++m)
                   y[static_cast<std::size_t>(ybase + ci * mult + m)] +=
                       double(x[xbase + ci]) * w[((ky * g.kw + kx) * g.c_in + ci) * mult + m];
               } else {
                 for (int64_t co = 0; co < g.c_out; ++co)
                   y[static_cast<std::size_t>(ybase + co)] +=
                       double(x[xbase + ci]) * w[((ky * g.kw + kx) * g.c_in + ci) * g.c_out + co];
               }
             }
           });
  return std::vector<float>(y.begin(), y.end());
}

std::vector<float> ref_pool(const ConvGeom& g, const Tensor& x, bool max) {
  int64_t n = x.dim(0);
  std::size_t m = static_cast<std::size_t>(n * g.out_h * g.out_w * g.c_in);
  std::vector<double> acc(m, max ? -1e30 : 0.0);
  std::vector<int> count(m, 0);
  for_taps(g, n, [&](int64_t b, int64_t oy, int64_t ox, int64_t iy, int64_t ix, int64_t, int64_t) {
    for (int64_t c = 0; c < g.c_in; ++c) {
      auto o = static_cast<std::size_t>(((b * g.out_h + oy) * g.out_w + ox) * g.c_in + c);
      float v = x[((b * g.h + iy) * g.w + ix) * g.c_in + c];
      acc[o] = max ? std::max(acc[o], double(v)) : acc[o] + v;
      count[o]++;
    }
  });
  std::vector<float> y(m);
  for (std::size_t i = 0; i < m; ++i) y[i] = static_cast<float>(max ? acc[i] : acc[i] / count[i]);
  return y;
}

std::vector<float> map1(const Tensor& x, const std::function<double(double)>& f) {
  std::vector<float> y(static_cast<std::size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) y[static_cast<std::size_t>(i)] = float(f(x[i]));
  return y;
}

std::vector<float> ref_softmax(const Tensor& x) {
  int64_t c = x.dim(-1);
  std::vector<float> y(static_cast<std::size_t>(x.numel()));
  for (int64_t r = 0; r < x.numel() / c; ++r) {
    double mx = -1e30, s = 0;
    for (int64_t j = 0; j < c; ++j) mx = std::max(mx, double(x[r * c + j]));
    for (int64_t j = 0; j < c; ++j) s += std::exp(x[r * c + j] - mx);
    for (int64_t j = 0; j < c; ++j)
      y[static_cast<std::size_t>(r * c + j)] = float(std::exp(x[r * c + j] - mx) / s);
  }
  return y;
}

std::vector<float> ref_batch_norm(const Inputs& in, bool training) {
  const Tensor& x = in[0];
  int64_t c = x.dim(-1), rows = x.numel() / c;
  std::vector<float> y(static_cast<std::size_t>(x.numel()));
  for (int64_t j = 0; j < c; ++j) {
    double mean = 0, var = 0;
    if (training) {
      for (int64_t r = 0; r < rows; ++r) mean += x[r * c + j];
      mean /= double(rows);
      for (int64_t r = 0; r < rows; ++r) var += (x[r * c + j] - mean) * (x[r * c + j] - mean);
      var /= double(rows);
    } else {
      mean = in[3][j];
      var = in[4][j];
    }
    for (int64_t r = 0; r < rows; ++r)
      y[static_cast<std::size_t>(r * c + j)] =
          float(in[1][j] * (x[r * c + j] - mean) / std::sqrt(var + 1e-3) + in[2][j]);
  }
  return y;
}

void sparse_labels(Inputs& in, Rng& rng) {
  int64_t c = in[0].dim(1);
  for (int64_t i = 0; i < in[1].numel(); ++i)
    in[1][i] = float(rng.uniform_int(static_cast<uint32_t>(c)));
}

// Moves values away from 0 so finite differences do not straddle ReLU-like kinks.
void away_from_zero(Inputs& in, Rng&) {
  for (int64_t i = 0; i < in[0].numel(); ++i)
    if (std::fabs(in[0][i]) < 0.05f) in[0][i] += in[0][i] < 0 ? -0.1f : 0.1f;
}

// Distinct, well-separated values so max pooling has a unique, stable winner.
void distinct_values(Inputs& in, Rng& rng) {
  int64_t n = in[0].numel();
  std::vector<int64_t> perm(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) perm[static_cast<std::size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(perm[static_cast<std::size_t>(i)],
              perm[rng.uniform_int(static_cast<uint32_t>(i + 1))]);
  for (int64_t i = 0; i < n; ++i) in[0][i] = 0.1f * float(perm[static_cast<std::size_t>(i)]) / 3;
}

std::vector<OpCase> make_cases() {
  std::vector<OpCase> c;
  c.push_back({"matmul",
               Op::MatMul,
               {{3, 5}, {5, 4}},
               {true, true},
               [](Graph& g, const Vars& v) { return g.matmul(v[0], v[1]); },
               [](const Inputs& in) {
                 std::vector<float> y(12, 0.0f);
                 for (int i = 0; i < 3; ++i)
                   for (int j = 0; j < 4; ++j)
                     for (int k = 0; k < 5; ++k)
                       y[static_cast<std::size_t>(i * 4 + j)] +=
                           in[0][i * 5 + k] * in[1][k * 4 + j];
                 return y;
               },
               nullptr});
  c.push_back({"add_bias",
               Op::AddBias,
               {{2, 3, 4}, {4}},
               {true, true},
               [](Graph& g, const Vars& v) { return g.add_bias(v[0], v[1]); },
               [](const Inputs& in) {
                 std::vector<float> y(24);
                 for (int i = 0; i < 24; ++i)
                   y[static_cast<std::size_t>(i)] = in[0][i] + in[1][i % 4];
                 return y;
               },
               nullptr});
  for (auto [stride, pad] : {std::pair<int, const char*>{1, "valid"}, {2, "same"}}) {
    ConvGeom gm = geom(7, 6, 3, 3, 4, stride, pad);
    c.push_back({std::string("conv2d_") + pad,
                 Op::Conv2D,
                 {{2, 7, 6, 3}, {3, 3, 3, 4}},
                 {true, true},
                 [gm](Graph& g, const Vars& v) { return g.conv2d(v[0], v[1], gm); },
                 [gm](const Inputs& in) { return ref_conv(gm, in[0], in[1], false); },
                 nullptr});
  }
  {
    ConvGeom gm = geom(6, 5, 3, 3, 6, 1, "same");
    c.push_back({"depthwise_conv2d",
                 Op::DepthwiseConv2D,
                 {{2, 6, 5, 3}, {3, 3, 3, 2}},
                 {true, true},
                 [gm](Graph& g, const Vars& v) { return g.depthwise_conv2d(v[0], v[1], gm); },
                 [gm](const Inputs& in) { return ref_conv(gm, in[0], in[1], true); },
                 nullptr});
  }
  for (auto [k, stride, pad] : {std::tuple<int, int, const char*>{2, 2, "valid"}, {3, 2, "same"}}) {
    ConvGeom gm = geom(7, 6, 3, k, 3, stride, pad);
    c.push_back({std::string("max_pool2d_") + pad,
                 Op::MaxPool2D,
                 {{2, 7, 6, 3}},
                 {true},
                 [gm](Graph& g, const Vars& v) { return g.max_pool2d(v[0], gm); },
                 [gm](const Inputs& in) { return ref_pool(gm, in[0], true); },
                 distinct_values});
    c.push_back({std::string("avg_pool2d_") + pad,
                 Op::AvgPool2D,
                 {{2, 7, 6, 3}},
                 {true},
                 [gm](Graph& g, const Vars& v) { return g.avg_pool2d(v[0], gm); },
                 [gm](const Inputs& in) { return ref_pool(gm, in[0], false); },
                 nullptr});
  }
  c.push_back({"reshape",
               Op::Reshape,
               {{2, 3, 4}},
               {true},
               [](Graph& g, const Vars& v) {
                 return g.reshape(v[0], {6, 4});
               },
               [](const Inputs& in) { return map1(in[0], [](double x) { return x; }); },
               nullptr});
  auto unary = [&](const char* name, Op op, std::function<Var(Graph&, Var)> f,
                   std::function<double(double)> ref, bool kink) {
    c.push_back({name,
                 op,
                 {{3, 7}},
                 {true},
                 [f](Graph& g, const Vars& v) { return f(g, v[0]); },
                 [ref](const Inputs& in) { return map1(in[0], ref); },
                 kink ? std::function<void(Inputs&, Rng&)>(away_from_zero) : nullptr});
  };
  unary(
      "relu", Op::Relu, [](Graph& g, Var x) { return g.relu(x); },
      [](double x) { return x > 0 ? x : 0; }, true);
  unary(
      "leaky_relu", Op::LeakyRelu, [](Graph& g, Var x) { return g.leaky_relu(x, 0.2f); },
      [](double x) { return x > 0 ? x : 0.2 * x; }, true);
  unary(
      "sigmoid", Op::Sigmoid, [](Graph& g, Var x) { return g.sigmoid(x); },
      [](double x) { return 1 / (1 + std::exp(-x)); }, false);
  unary(
      "tanh", Op::Tanh, [](Graph& g, Var x) { return g.tanh(x); },
      [](double x) { return std::tanh(x); }, false);
  unary(
      "gelu", Op::Gelu, [](Graph& g, Var x) { return g.gelu(x); },
      [](double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }, false);
  c.push_back({"softmax",
               Op::Softmax,
               {{4, 5}},
               {true},
               [](Graph& g, const Vars& v) { return g.softmax(v[0]); },
               [](const Inputs& in) { return ref_softmax(in[0]); },
               nullptr});
  c.push_back({"add",
               Op::Add,
               {{3, 4}, {3, 4}},
               {true, true},
               [](Graph& g, const Vars& v) { return g.add(v[0], v[1]); },
               [](const Inputs& in) {
                 std::vector<float> y(12);
                 for (int i = 0; i < 12; ++i) y[static_cast<std::size_t>(i)] = in[0][i] + in[1][i];
                 return y;
               },
               nullptr});
  c.push_back({"mul",
               Op::Mul,
               {{3, 4}, {3, 4}},
               {true, true},
               [](Graph& g, const Vars& v) { return g.mul(v[0], v[1]); },
               [](const Inputs& in) {
                 std::vector<float> y(12);
                 for (int i = 0; i < 12; ++i) y[static_cast<std::size_t>(i)] = in[0][i] * in[1][i];
                 return y;
               },
               nullptr});
  for (bool training : {true, false}) {
    auto positive_var = [](Inputs& in, Rng&) {
      for (int64_t i = 0; i < in[4].numel(); ++i) in[4][i] = 0.5f + std::fabs(in[4][i]);
    };
    c.push_back({training ? "batch_norm_training" : "batch_norm_inference",
                 Op::BatchNorm,
                 {{4, 2, 3}, {3}, {3}, {3}, {3}},
                 {true, true, true, false, false},
                 [training](Graph& g, const Vars& v) {
                   return g.batch_norm(v[0], v[1], v[2], v[3], v[4], 1e-3f, training);
                 },
                 [training](const Inputs& in) { return ref_batch_norm(in, training); },
                 positive_var});
  }
  c.push_back({"softmax_cross_entropy_sparse",
               Op::SoftmaxCrossEntropy,
               {{4, 5}, {4}},
               {true, false},
               [](Graph& g, const Vars& v) { return g.softmax_cross_entropy(v[0], v[1]); },
               [](const Inputs& in) {
                 std::vector<float> p = ref_softmax(in[0]);
                 double l = 0;
                 for (int r = 0; r < 4; ++r)
                   l -= std::log(p[static_cast<std::size_t>(r * 5 + int(in[1][r]))]);
                 return std::vector<float>{float(l / 4)};
               },
               sparse_labels});
  c.push_back({"softmax_cross_entropy_dense",
               Op::SoftmaxCrossEntropy,
               {{4, 5}, {4, 5}},
               {true, false},
               [](Graph& g, const Vars& v) { return g.softmax_cross_entropy(v[0], v[1]); },
               [](const Inputs& in) {
                 std::vector<float> p = ref_softmax(in[0]);
                 double l = 0;
                 for (int i = 0; i < 20; ++i)
                   l -= in[1][i] * std::log(p[static_cast<std::size_t>(i)]);
                 return std::vector<float>{float(l / 4)};
               },
               [](Inputs& in, Rng&) {
                 for (int i = 0; i < 20; ++i) in[1][i] = std::fabs(in[1][i]);
               }});
  c.push_back({"sigmoid_cross_entropy",
               Op::SigmoidCrossEntropy,
               {{4, 2}, {4, 2}},
               {true, false},
               [](Graph& g, const Vars& v) { return g.sigmoid_cross_entropy(v[0], v[1]); },
               [](const Inputs& in) {
                 double l = 0;
                 for (int i = 0; i < 8; ++i) {
                   double p = 1 / (1 + std::exp(-double(in[0][i])));
                   l -= in[1][i] * std::log(p) + (1 - in[1][i]) * std::log(1 - p);
                 }
                 return std::vector<float>{float(l / 8)};
               },
               [](Inputs& in, Rng& rng) {
                 for (int i = 0; i < 8; ++i) in[1][i] = float(rng.uniform_int(2));
               }});
  c.push_back({"mean_squared_error",
               Op::MeanSquaredError,
               {{4, 3}, {4, 3}},
               {true, true},
               [](Graph& g, const Vars& v) { return g.mean_squared_error(v[0], v[1]); },
               [](const Inputs& in) {
                 double l = 0;
                 for (int i = 0; i < 12; ++i) l += (in[0][i] - in[1][i]) * (in[0][i] - in[1][i]);
                 return std::vector<float>{float(l / 12)};
               },
               nullptr});
  return c;
}

class OpRegistry : public ::testing::TestWithParam<OpCase> {
 protected:
  Inputs make_inputs(Rng& rng) {
    Inputs in;
    for (const Shape& s : GetParam().shapes) {
      Tensor t = Tensor::empty(s);
      for (int64_t i = 0; i < t.numel(); ++i) t[i] = rng.uniform(-1.0f, 1.0f);
      in.push_back(std::move(t));
    }
    if (GetParam().prepare) GetParam().prepare(in, rng);
    return in;
  }

  // Builds the op over parameter leaves (so gradients land in `grads`) and returns the output.
  Var build(Graph& g, Inputs& in, Inputs& grads) {
    Vars vars;
    for (std::size_t i = 0; i < in.size(); ++i) {
      if (GetParam().differentiable[i]) {
        vars.push_back(g.param(in[i].view(in[i].shape()), grads[i].view(in[i].shape())));
      } else {
        vars.push_back(g.input(in[i].view(in[i].shape())));
      }
    }
    return GetParam().build(g, vars);
  }

  runtime::ThreadPool pool_{2};
};

TEST_P(OpRegistry, ForwardMatchesNaiveReference) {
  Rng rng(11);
  Inputs in = make_inputs(rng);
  Inputs grads;
  for (const Tensor& t : in) grads.push_back(Tensor::zeros(t.shape()));
  Graph g(pool_);
  Var y = build(g, in, grads);
  std::vector<float> want = GetParam().reference(in);
  const Tensor& got = g.value(y);
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size()));
  for (int64_t i = 0; i < got.numel(); ++i)
    EXPECT_NEAR(got[i], want[static_cast<std::size_t>(i)],
                1e-4 + 1e-4 * std::fabs(want[static_cast<std::size_t>(i)]))
        << GetParam().name << " element " << i;
}

TEST_P(OpRegistry, BackwardMatchesFiniteDifferences) {
  Rng rng(12);
  Inputs in = make_inputs(rng);
  Inputs grads;
  for (const Tensor& t : in) grads.push_back(Tensor::zeros(t.shape()));
  Graph g(pool_);
  Var y = build(g, in, grads);
  Tensor r = Tensor::empty(g.value(y).shape());
  for (int64_t i = 0; i < r.numel(); ++i) r[i] = rng.uniform(-1.0f, 1.0f);
  g.backward(y, r);

  auto loss = [&]() {
    Graph g2(pool_);
    Inputs scratch;
    for (const Tensor& t : in) scratch.push_back(Tensor::zeros(t.shape()));
    Var y2 = build(g2, in, scratch);
    double l = 0;
    for (int64_t i = 0; i < r.numel(); ++i) l += double(g2.value(y2)[i]) * r[i];
    return l;
  };
  const float eps = 1e-2f;
  for (std::size_t k = 0; k < in.size(); ++k) {
    if (!GetParam().differentiable[k]) continue;
    for (int64_t i = 0; i < in[k].numel(); ++i) {
      float orig = in[k][i];
      in[k][i] = orig + eps;
      double lp = loss();
      in[k][i] = orig - eps;
      double lm = loss();
      in[k][i] = orig;
      double numeric = (lp - lm) / (2 * eps);
      EXPECT_NEAR(grads[k][i], numeric, 5e-3 + 2e-2 * std::fabs(numeric))
          << GetParam().name << " input " << k << " element " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpRegistry, ::testing::ValuesIn(make_cases()),
                         [](const ::testing::TestParamInfo<OpCase>& info) {
                           return info.param.name;
                         });

TEST(OpRegistryCoverage, EveryOpHasAnEntry) {
  std::set<Op> covered;
  for (const OpCase& c : make_cases()) covered.insert(c.op);
  for (int i = 1; i < static_cast<int>(Op::kCount); ++i)
    EXPECT_TRUE(covered.count(static_cast<Op>(i)))
        << "no registry entry for " << op_name(static_cast<Op>(i));
}

TEST(Graph, SkipsGradientsOfInputsThatDoNotNeedThem) {
  runtime::ThreadPool pool(1);
  Graph g(pool);
  Tensor w = Tensor::full({2, 2}, 0.5f), dw = Tensor::zeros({2, 2});
  Var x = g.input(Tensor::full({1, 2}, 1.0f));
  Var y = g.matmul(x, g.param(w.view({2, 2}), dw.view({2, 2})));
  g.backward(y, Tensor::full({1, 2}, 1.0f));
  EXPECT_FALSE(g.node(x).has_grad);
  EXPECT_FLOAT_EQ(dw[0], 1.0f);
}

TEST(Graph, RecyclesBuffersAcrossPasses) {
  runtime::ThreadPool pool(1);
  Graph g(pool);
  std::set<const float*> seen;
  for (int pass = 0; pass < 3; ++pass) {
    Var x = g.input(Tensor::full({4, 8}, 1.0f));
    Var y = g.relu(x);
    if (pass == 0) {
      seen = {g.value(x).data(), g.value(y).data()};
    } else {
      EXPECT_TRUE(seen.count(g.value(y).data())) << "pass " << pass << " allocated anew";
    }
    g.clear();
  }
}

}  // namespace
}  // namespace disco::core
