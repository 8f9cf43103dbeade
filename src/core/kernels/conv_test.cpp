// SPDX-License-Identifier: Apache-2.0
// Conv2D, depthwise and pooling kernels against the naive loops of conv_reference.hpp over random
// geometries (odd sizes, strides 1 and 2, "valid" and "same", 1-3 threads), the MNIST CNN's exact
// layer shapes, Keras padding arithmetic, and bitwise determinism across thread counts.
#include "core/kernels/conv.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/base/rng.hpp"
#include "core/kernels/conv_reference.hpp"
#include "runtime/thread_pool.hpp"

namespace disco::core {
namespace {

std::vector<float> random_vec(Rng& rng, int64_t n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (auto& e : v) e = rng.uniform(-1.0f, 1.0f);
  return v;
}

// A random geometry; depthwise geometries get c_out = c_in * multiplier.
ConvGeom random_geom(Rng& rng, bool depthwise, bool pool) {
  for (;;) {
    ConvGeom g;
    g.n = 1 + rng.uniform_int(3);
    g.h = 1 + rng.uniform_int(11);
    g.w = 1 + rng.uniform_int(11);
    g.c_in = 1 + rng.uniform_int(pool ? 20 : 9);
    g.kh = 1 + rng.uniform_int(5);
    g.kw = 1 + rng.uniform_int(5);
    const int64_t c_outs[] = {1, 3, 8, 16, 17, 24, 40};
    g.c_out = pool ? g.c_in
                   : (depthwise ? g.c_in * (1 + rng.uniform_int(3)) : c_outs[rng.uniform_int(7)]);
    g.stride_h = 1 + rng.uniform_int(2);
    g.stride_w = 1 + rng.uniform_int(2);
    if (g.set_padding(rng.uniform_int(2) == 0 ? "valid" : "same")) return g;
  }
}

void expect_all_near(const std::vector<float>& got, const std::vector<float>& want, float tol,
                     const ConvGeom& g, const char* what) {
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i)
    ASSERT_NEAR(got[i], want[i], tol)
        << what << " at " << i << " n=" << g.n << " h=" << g.h << " w=" << g.w << " c_in=" << g.c_in
        << " k=" << g.kh << "x" << g.kw << " c_out=" << g.c_out << " stride=" << g.stride_h << ","
        << g.stride_w << " pad=" << g.pad_top << "," << g.pad_left << " out=" << g.out_h << "x"
        << g.out_w;
}

float tol_for(const ConvGeom& g) {
  return 1e-5f * static_cast<float>(g.kh * g.kw * std::max(g.c_in, g.c_out)) + 1e-5f;
}

// Runs the three Conv2D kernels on g and compares them with the references.
void check_conv(const ConvGeom& g, Rng& rng, Parallel& pool) {
  const int64_t w_numel = g.kh * g.kw * g.c_in * g.c_out;
  const auto x = random_vec(rng, g.in_numel());
  const auto wt = random_vec(rng, w_numel);
  const auto dy = random_vec(rng, g.out_numel());
  const float tol = tol_for(g) * static_cast<float>(g.n * g.out_h * g.out_w) / 8.0f + 1e-4f;

  std::vector<float> y(static_cast<std::size_t>(g.out_numel()), -7.0f), y_ref(y.size());
  conv2d_forward(g, x.data(), wt.data(), y.data(), pool);
  conv2d_forward_reference(g, x.data(), wt.data(), y_ref.data());
  expect_all_near(y, y_ref, tol_for(g), g, "forward");

  auto dx = random_vec(rng, g.in_numel());
  auto dx_ref = dx;
  conv2d_backward_input(g, dy.data(), wt.data(), dx.data(), pool);
  conv2d_backward_input_reference(g, dy.data(), wt.data(), dx_ref.data());
  expect_all_near(dx, dx_ref, tol_for(g), g, "backward_input");

  auto dw = random_vec(rng, w_numel);
  auto dw_ref = dw;
  conv2d_backward_weight(g, x.data(), dy.data(), dw.data(), pool);
  conv2d_backward_weight_reference(g, x.data(), dy.data(), dw_ref.data());
  expect_all_near(dw, dw_ref, tol, g, "backward_weight");
}

TEST(ConvGeom, SetPaddingFollowsKeras) {
  ConvGeom g;
  g.h = 28;
  g.w = 28;
  g.kh = g.kw = 5;
  ASSERT_TRUE(g.set_padding("valid"));
  EXPECT_EQ(g.out_h, 24);
  EXPECT_EQ(g.pad_top, 0);
  ASSERT_TRUE(g.set_padding("same"));
  EXPECT_EQ(g.out_h, 28);
  EXPECT_EQ(g.pad_top, 2);
  // Odd total padding: the extra row goes to the bottom/right.
  g.h = g.w = 6;
  g.kh = g.kw = 3;
  g.stride_h = g.stride_w = 2;
  ASSERT_TRUE(g.set_padding("same"));
  EXPECT_EQ(g.out_h, 3);
  EXPECT_EQ(g.pad_top, 0);  // total (3-1)*2+3-6 = 1
  g.h = g.w = 7;
  ASSERT_TRUE(g.set_padding("same"));
  EXPECT_EQ(g.out_w, 4);
  EXPECT_EQ(g.pad_left, 1);  // total 2
  ASSERT_TRUE(g.set_padding("valid"));
  EXPECT_EQ(g.out_h, 3);
  // Stride larger than kernel: "same" needs no padding at all.
  g.h = 8;
  g.kh = 1;
  ASSERT_TRUE(g.set_padding("same"));
  EXPECT_EQ(g.out_h, 4);
  EXPECT_EQ(g.pad_top, 0);
}

TEST(ConvGeom, SetPaddingRejectsEmptyOutputAndUnknownNames) {
  ConvGeom g;
  g.h = g.w = 3;
  g.kh = g.kw = 5;
  EXPECT_FALSE(g.set_padding("valid"));
  EXPECT_TRUE(g.set_padding("same"));
  EXPECT_FALSE(g.set_padding("full"));
}

TEST(Conv2d, MatchesReferenceOnRandomGeometries) {
  Rng rng(1);
  for (int threads : {1, 2, 3}) {
    runtime::ThreadPool pool(threads);
    for (int trial = 0; trial < 40; ++trial) check_conv(random_geom(rng, false, false), rng, pool);
  }
}

TEST(Conv2d, MatchesReferenceOnMnistShapes) {
  Rng rng(2);
  runtime::ThreadPool pool(2);
  ConvGeom conv1{.n = 2, .h = 28, .w = 28, .c_in = 1, .kh = 5, .kw = 5, .c_out = 8};
  ConvGeom conv2{.n = 2, .h = 24, .w = 24, .c_in = 8, .kh = 5, .kw = 5, .c_out = 16};
  for (ConvGeom g : {conv1, conv2}) {
    ASSERT_TRUE(g.set_padding("valid"));
    check_conv(g, rng, pool);
    ASSERT_TRUE(g.set_padding("same"));
    check_conv(g, rng, pool);
  }
}

TEST(Conv2d, IsDeterministicAcrossThreadCounts) {
  Rng rng(3);
  ConvGeom g{.n = 5, .h = 24, .w = 24, .c_in = 8, .kh = 5, .kw = 5, .c_out = 16};
  ASSERT_TRUE(g.set_padding("same"));
  const auto x = random_vec(rng, g.in_numel());
  const auto wt = random_vec(rng, g.kh * g.kw * g.c_in * g.c_out);
  const auto dy = random_vec(rng, g.out_numel());
  std::vector<float> y1, dx1, dw1;
  for (int threads : {1, 2, 3}) {
    runtime::ThreadPool pool(threads);
    std::vector<float> y(static_cast<std::size_t>(g.out_numel()));
    std::vector<float> dx(static_cast<std::size_t>(g.in_numel()), 0.0f), dw(wt.size(), 0.0f);
    conv2d_forward(g, x.data(), wt.data(), y.data(), pool);
    conv2d_backward_input(g, dy.data(), wt.data(), dx.data(), pool);
    conv2d_backward_weight(g, x.data(), dy.data(), dw.data(), pool);
    if (threads == 1) {
      y1 = y;
      dx1 = dx;
      dw1 = dw;
      continue;
    }
    EXPECT_EQ(y, y1) << threads;
    EXPECT_EQ(dx, dx1) << threads;
    EXPECT_EQ(dw, dw1) << threads;
  }
}

TEST(DepthwiseConv2d, MatchesReferenceOnRandomGeometries) {
  Rng rng(4);
  for (int threads : {1, 2, 3}) {
    runtime::ThreadPool pool(threads);
    for (int trial = 0; trial < 30; ++trial) {
      const ConvGeom g = random_geom(rng, true, false);
      const int64_t w_numel = g.kh * g.kw * g.c_out;
      const auto x = random_vec(rng, g.in_numel());
      const auto wt = random_vec(rng, w_numel);
      const auto dy = random_vec(rng, g.out_numel());
      std::vector<float> y(static_cast<std::size_t>(g.out_numel())), y_ref(y.size());
      depthwise_conv2d_forward(g, x.data(), wt.data(), y.data(), pool);
      depthwise_conv2d_forward_reference(g, x.data(), wt.data(), y_ref.data());
      expect_all_near(y, y_ref, 1e-4f, g, "depthwise forward");
      auto dx = random_vec(rng, g.in_numel());
      auto dx_ref = dx;
      depthwise_conv2d_backward_input(g, dy.data(), wt.data(), dx.data(), pool);
      depthwise_conv2d_backward_input_reference(g, dy.data(), wt.data(), dx_ref.data());
      expect_all_near(dx, dx_ref, 1e-4f, g, "depthwise backward_input");
      auto dw = random_vec(rng, w_numel);
      auto dw_ref = dw;
      depthwise_conv2d_backward_weight(g, x.data(), dy.data(), dw.data(), pool);
      depthwise_conv2d_backward_weight_reference(g, x.data(), dy.data(), dw_ref.data());
      expect_all_near(dw, dw_ref, 1e-4f * static_cast<float>(g.n * g.out_h * g.out_w), g,
                      "depthwise backward_weight");
    }
  }
}

TEST(MaxPool2d, MatchesReferenceAndRoutesGradientsToArgmax) {
  Rng rng(5);
  for (int threads : {1, 2, 3}) {
    runtime::ThreadPool pool(threads);
    for (int trial = 0; trial < 30; ++trial) {
      const ConvGeom g = random_geom(rng, false, true);
      const auto x = random_vec(rng, g.in_numel());
      std::vector<float> y(static_cast<std::size_t>(g.out_numel())), y_ref(y.size());
      std::vector<int32_t> am(y.size()), am_ref(y.size());
      max_pool2d_forward(g, x.data(), y.data(), am.data(), pool);
      max_pool2d_forward_reference(g, x.data(), y_ref.data(), am_ref.data());
      ASSERT_EQ(y, y_ref);
      ASSERT_EQ(am, am_ref);
      const auto dy = random_vec(rng, g.out_numel());
      auto dx = random_vec(rng, g.in_numel());
      auto dx_ref = dx;
      max_pool2d_backward(g, dy.data(), am.data(), dx.data(), pool);
      for (std::size_t i = 0; i < dy.size(); ++i)
        dx_ref[static_cast<std::size_t>(am_ref[i])] += dy[i];
      expect_all_near(dx, dx_ref, 1e-5f, g, "max_pool backward");
    }
  }
}

TEST(AvgPool2d, MatchesReferenceExcludingPadding) {
  Rng rng(6);
  for (int threads : {1, 2, 3}) {
    runtime::ThreadPool pool(threads);
    for (int trial = 0; trial < 30; ++trial) {
      const ConvGeom g = random_geom(rng, false, true);
      const auto x = random_vec(rng, g.in_numel());
      std::vector<float> y(static_cast<std::size_t>(g.out_numel())), y_ref(y.size());
      avg_pool2d_forward(g, x.data(), y.data(), pool);
      avg_pool2d_forward_reference(g, x.data(), y_ref.data());
      expect_all_near(y, y_ref, 1e-5f, g, "avg_pool forward");
      const auto dy = random_vec(rng, g.out_numel());
      auto dx = random_vec(rng, g.in_numel());
      auto dx_ref = dx;
      avg_pool2d_backward(g, dy.data(), dx.data(), pool);
      avg_pool2d_backward_reference(g, dy.data(), dx_ref.data());
      expect_all_near(dx, dx_ref, 1e-5f, g, "avg_pool backward");
    }
  }
}

}  // namespace
}  // namespace disco::core
