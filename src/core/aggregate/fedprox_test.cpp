// SPDX-License-Identifier: Apache-2.0
#include "core/aggregate/fedprox.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace disco::core {
namespace {

TEST(FedProx, AddsMuTimesDistanceFromGlobal) {
  std::vector<float> grads = {1.0f, -1.0f, 0.0f};
  const std::vector<float> weights = {2.0f, 0.0f, 5.0f};
  const std::vector<float> global = {1.0f, 4.0f, 5.0f};
  add_proximal_gradient(grads, weights, global, 0.5f);
  EXPECT_FLOAT_EQ(grads[0], 1.5f);   // 1 + 0.5 * (2 - 1)
  EXPECT_FLOAT_EQ(grads[1], -3.0f);  // -1 + 0.5 * (0 - 4)
  EXPECT_FLOAT_EQ(grads[2], 0.0f);
}

TEST(FedProx, ZeroMuLeavesGradientsUnchanged) {
  std::vector<float> grads = {1.0f, 2.0f};
  add_proximal_gradient(grads, std::vector<float>{9.0f, 9.0f}, std::vector<float>{0.0f, 0.0f},
                        0.0f);
  EXPECT_EQ(grads, (std::vector<float>{1.0f, 2.0f}));
}

TEST(FedProx, PullsGradientDescentTowardTheGlobalModel) {
  // With a zero loss gradient, SGD on the proximal term alone shrinks w - w_global by (1 - lr mu).
  std::vector<float> w = {3.0f};
  const std::vector<float> global = {1.0f};
  for (int step = 0; step < 2; ++step) {
    std::vector<float> g = {0.0f};
    add_proximal_gradient(g, w, global, 1.0f);
    w[0] -= 0.5f * g[0];
  }
  EXPECT_FLOAT_EQ(w[0], 1.5f);  // distance 2 -> 1 -> 0.5
}

}  // namespace
}  // namespace disco::core
