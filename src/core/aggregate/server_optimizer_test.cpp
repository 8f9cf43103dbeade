// SPDX-License-Identifier: Apache-2.0
#include "core/aggregate/server_optimizer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace disco::core {
namespace {

constexpr const char* kPath = "federation.server_optimizer";

ServerOptimizerConfig parse(const char* text) {
  Result<ServerOptimizerConfig> c = parse_server_optimizer(Json::parse(text), kPath);
  DISCO_CHECK(c.has_value(), "test config must parse");
  return *c;
}

std::string parse_error(const char* text) {
  Result<ServerOptimizerConfig> c = parse_server_optimizer(Json::parse(text), kPath);
  if (c.has_value()) return "(parsed)";
  EXPECT_EQ(c.error().code, Errc::InvalidArgument);
  return c.error().message;
}

// One adaptive step from m = 0, v = tau^2 (the paper's Algorithm 2), in double.
double adam_step(double lr, double delta, double b1, double b2, double tau) {
  const double m = (1 - b1) * delta;
  const double v = b2 * tau * tau + (1 - b2) * delta * delta;
  return lr * m / (std::sqrt(v) + tau);
}

TEST(ServerOptimizer, FedAvgAddsScaledMeanDelta) {
  auto opt = make_server_optimizer(parse(R"({"type": "fedavg", "lr": 0.5})"), 3);
  std::vector<float> global = {1.0f, 2.0f, 3.0f};
  opt->apply(global, std::vector<float>{0.2f, -0.4f, 0.0f});
  EXPECT_FLOAT_EQ(global[0], 1.1f);
  EXPECT_FLOAT_EQ(global[1], 1.8f);
  EXPECT_FLOAT_EQ(global[2], 3.0f);
  EXPECT_EQ(opt->n_steps(), 1);
}

TEST(ServerOptimizer, DefaultIsPlainFedAvgWithUnitLearningRate) {
  ServerOptimizerConfig c = parse("{}");
  EXPECT_EQ(c.type, ServerOptimizerType::FedAvg);
  EXPECT_EQ(c.lr, 1.0);
  auto opt = make_server_optimizer(c, 2);
  std::vector<float> global = {1.0f, -1.0f};
  opt->apply(global, std::vector<float>{0.25f, 0.5f});
  EXPECT_EQ(global, (std::vector<float>{1.25f, -0.5f}));
}

TEST(ServerOptimizer, FedAvgMAccumulatesServerMomentum) {
  auto opt = make_server_optimizer(parse(R"({"type": "fedavgm", "momentum": 0.5})"), 1);
  std::vector<float> global = {0.0f};
  const std::vector<float> delta = {1.0f};
  opt->apply(global, delta);  // v = 1, x = 1
  EXPECT_FLOAT_EQ(global[0], 1.0f);
  opt->apply(global, delta);  // v = 1.5, x = 2.5
  EXPECT_FLOAT_EQ(global[0], 2.5f);
  opt->apply(global, delta);  // v = 1.75, x = 4.25
  EXPECT_FLOAT_EQ(global[0], 4.25f);
  opt->reset();
  opt->apply(global, delta);
  EXPECT_FLOAT_EQ(global[0], 5.25f);
}

TEST(ServerOptimizer, FedAdamFirstStepMatchesPaperFormula) {
  ServerOptimizerConfig c = parse(R"({"type": "fedadam", "lr": 0.01})");
  EXPECT_EQ(c.beta_1, 0.9);
  EXPECT_EQ(c.beta_2, 0.99);
  EXPECT_EQ(c.tau, 1e-3);
  auto opt = make_server_optimizer(c, 3);
  const std::vector<double> delta = {0.5, -2.0, 0.0};
  std::vector<float> global = {1.0f, 1.0f, 1.0f};
  opt->apply(global, std::vector<float>{0.5f, -2.0f, 0.0f});
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_NEAR(global[i], 1.0 + adam_step(0.01, delta[i], 0.9, 0.99, 1e-3), 2e-7) << i;
  // Without bias correction the first step is about lr * 0.1 d / (0.1 |d|) = lr.
  EXPECT_NEAR(global[0], 1.0 + 0.01, 5e-4);
  EXPECT_EQ(global[2], 1.0f);
}

TEST(ServerOptimizer, FedAdamSecondStepUsesBothMoments) {
  auto opt = make_server_optimizer(parse(R"({"type": "fedadam", "lr": 0.1, "tau": 0.01})"), 1);
  std::vector<float> global = {0.0f};
  opt->apply(global, std::vector<float>{1.0f});
  opt->apply(global, std::vector<float>{-0.5f});
  double m = 0.1 * 1.0, v = 0.99 * 1e-4 + 0.01 * 1.0;
  double x = 0.1 * m / (std::sqrt(v) + 0.01);
  m = 0.9 * m + 0.1 * -0.5;
  v = 0.99 * v + 0.01 * 0.25;
  x += 0.1 * m / (std::sqrt(v) + 0.01);
  EXPECT_NEAR(global[0], x, 1e-6);
}

TEST(ServerOptimizer, FedAdamBiasCorrectionMakesFirstStepLr) {
  auto opt = make_server_optimizer(
      parse(R"({"type": "fedadam", "lr": 0.01, "bias_correction": true})"), 1);
  std::vector<float> global = {0.0f};
  opt->apply(global, std::vector<float>{0.5f});
  // m_hat = d, v_hat = (0.99 tau^2 + 0.01 d^2) / 0.01
  const double v_hat = (0.99 * 1e-6 + 0.01 * 0.25) / 0.01;
  EXPECT_NEAR(global[0], 0.01 * 0.5 / (std::sqrt(v_hat) + 1e-3), 1e-8);
}

TEST(ServerOptimizer, FedYogiFirstStepMatchesPaperFormula) {
  auto opt = make_server_optimizer(parse(R"({"type": "fedyogi", "lr": 0.01})"), 2);
  // d^2 > tau^2: v grows like Adam's; d^2 < tau^2: v = tau^2 - 0.01 d^2 (shrinks).
  const double tau = 1e-3, d0 = 0.5, d1 = 1e-4;
  std::vector<float> global = {0.0f, 0.0f};
  opt->apply(global, std::vector<float>{static_cast<float>(d0), static_cast<float>(d1)});
  const double v0 = tau * tau + 0.01 * d0 * d0;
  const double v1 =
      tau * tau - 0.01 * static_cast<double>(static_cast<float>(d1)) * static_cast<float>(d1);
  EXPECT_NEAR(global[0], 0.01 * 0.1 * d0 / (std::sqrt(v0) + tau), 1e-7);
  EXPECT_NEAR(global[1], 0.01 * 0.1 * static_cast<float>(d1) / (std::sqrt(v1) + tau), 1e-9);
}

TEST(ServerOptimizer, FedAdagradAccumulatesSquares) {
  auto opt = make_server_optimizer(parse(R"({"type": "fedadagrad", "lr": 1, "tau": 0.5})"), 1);
  std::vector<float> global = {0.0f};
  opt->apply(global, std::vector<float>{2.0f});
  // m = 0.2, v = 0.25 + 4
  EXPECT_NEAR(global[0], 0.2 / (std::sqrt(4.25) + 0.5), 1e-6);
}

TEST(ServerOptimizer, ResetRestoresInitialState) {
  auto opt = make_server_optimizer(parse(R"({"type": "fedyogi"})"), 1);
  std::vector<float> a = {0.0f}, b = {0.0f};
  opt->apply(a, std::vector<float>{0.3f});
  opt->reset();
  EXPECT_EQ(opt->n_steps(), 0);
  opt->apply(b, std::vector<float>{0.3f});
  EXPECT_EQ(a, b);
}

TEST(ServerOptimizer, ParseErrorsNameTheField) {
  EXPECT_EQ(parse_error(R"({"lr": 0})"), "federation.server_optimizer.lr: must be > 0, got 0");
  EXPECT_EQ(parse_error(R"({"type": "fedadam", "lr": -1})"),
            "federation.server_optimizer.lr: must be > 0, got -1");
  EXPECT_EQ(parse_error(R"({"type": "fedadam", "beta_1": 1})"),
            "federation.server_optimizer.beta_1: must be in [0, 1), got 1");
  EXPECT_EQ(parse_error(R"({"type": "fedyogi", "tau": 0})"),
            "federation.server_optimizer.tau: must be > 0, got 0");
  EXPECT_EQ(parse_error(R"({"type": "fedadam", "momentum": 0.9})"),
            "federation.server_optimizer.momentum: is not used by fedadam");
  EXPECT_EQ(parse_error(R"({"type": "fedavg", "tau": 0.1})"),
            "federation.server_optimizer.tau: is not used by fedavg");
  EXPECT_EQ(parse_error(R"({"type": "sgd"})"),
            "federation.server_optimizer.type: unknown server optimizer 'sgd' (expected fedavg, "
            "fedavgm, fedadagrad, fedadam or fedyogi)");
  EXPECT_NE(parse_error(R"({"lr": "fast"})").find("federation.server_optimizer.lr: must be a"),
            std::string::npos);
  EXPECT_NE(
      parse_error(R"({"learning_rate": 0.1})").find("federation.server_optimizer.learning_rate"),
      std::string::npos);
  EXPECT_EQ(parse_error("[]"), "federation.server_optimizer: must be an object");
}

TEST(ServerOptimizer, AdaptiveDefaultsToSmallLearningRate) {
  EXPECT_EQ(parse(R"({"type": "fedadam"})").lr, 0.01);
  EXPECT_EQ(parse(R"({"type": "fedavgm"})").lr, 1.0);
  EXPECT_EQ(parse(R"({"type": "fedavgm"})").momentum, 0.9);
  EXPECT_STREQ(server_optimizer_name(parse(R"({"type": "fedyogi"})").type), "fedyogi");
}

}  // namespace
}  // namespace disco::core
