// SPDX-License-Identifier: Apache-2.0
#include "core/optim/optimizer.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace disco::core {
namespace {

Model tiny(const char* optimizer) {
  Json spec = {{"input_shape", {2}},
               {"layers", {{{"type", "dense"}, {"units", 1}}}},
               {"loss", "mean_squared_error"},
               {"optimizer", Json::parse(optimizer)}};
  Result<Model> m = Model::from_spec(spec);
  DISCO_CHECK(m.has_value(), "tiny spec");
  return std::move(m).value();
}

std::unique_ptr<Optimizer> make(const Model& m) {
  Result<OptimizerConfig> c = parse_optimizer(m.optimizer_spec(), "model.optimizer");
  DISCO_CHECK(c.has_value(), "optimizer spec");
  return make_optimizer(*c, m);
}

void set_grads(Model& m, std::initializer_list<float> g) {
  std::copy(g.begin(), g.end(), m.grads().begin());
}

TEST(Optimizer, SgdStepsAgainstTheGradient) {
  Model m = tiny(R"({"type": "sgd", "learning_rate": 0.5})");
  auto opt = make(m);
  set_grads(m, {1.0f, -2.0f, 4.0f});
  opt->step(m);
  EXPECT_FLOAT_EQ(m.weights()[0], -0.5f);
  EXPECT_FLOAT_EQ(m.weights()[1], 1.0f);
  EXPECT_FLOAT_EQ(m.weights()[2], -2.0f);
}

TEST(Optimizer, SgdMomentumAccumulatesVelocity) {
  Model m = tiny(R"({"type": "sgd", "learning_rate": 1.0, "momentum": 0.5})");
  auto opt = make(m);
  set_grads(m, {1.0f, 0.0f, 0.0f});
  opt->step(m);
  opt->step(m);
  EXPECT_FLOAT_EQ(m.weights()[0], -1.0f - 1.5f);
}

TEST(Optimizer, AdamFirstStepMovesEachWeightByTheLearningRate) {
  Model m = tiny(R"({"type": "adam", "learning_rate": 0.01})");
  auto opt = make(m);
  set_grads(m, {3.0f, -0.001f, 0.0f});
  opt->step(m);
  EXPECT_NEAR(m.weights()[0], -0.01f, 1e-6);
  EXPECT_NEAR(m.weights()[1], 0.01f, 1e-4);
  EXPECT_EQ(m.weights()[2], 0.0f);
}

TEST(Optimizer, AdamWDecaysWeightsWithoutGradient) {
  Model m = tiny(R"({"type": "adamw", "learning_rate": 0.1, "weight_decay": 0.5})");
  m.weights()[0] = 2.0f;
  auto opt = make(m);
  set_grads(m, {0.0f, 0.0f, 0.0f});
  opt->step(m);
  EXPECT_FLOAT_EQ(m.weights()[0], 2.0f - 0.1f * 0.5f * 2.0f);
}

TEST(Optimizer, RmsPropNormalisesByRunningSquare) {
  Model m = tiny(R"({"type": "rmsprop", "learning_rate": 0.01, "rho": 0.9})");
  auto opt = make(m);
  set_grads(m, {2.0f, 0.0f, 0.0f});
  opt->step(m);
  // ms = 0.1 * 4 = 0.4; step = 0.01 * 2 / sqrt(0.4)
  EXPECT_NEAR(m.weights()[0], -0.01f * 2.0f / std::sqrt(0.4f), 1e-6);
}

TEST(Optimizer, ClipnormBoundsTheGlobalGradientNorm) {
  Model m = tiny(R"({"type": "sgd", "learning_rate": 1.0, "clipnorm": 1.0})");
  auto opt = make(m);
  set_grads(m, {3.0f, 4.0f, 0.0f});
  EXPECT_NEAR(grad_global_norm(m), 5.0, 1e-9);
  opt->step(m);
  EXPECT_NEAR(m.weights()[0], -0.6f, 1e-6);
  EXPECT_NEAR(m.weights()[1], -0.8f, 1e-6);
}

TEST(Optimizer, RejectsBadConfigsNamingTheField) {
  auto err = [](const char* text) {
    Result<OptimizerConfig> c = parse_optimizer(Json::parse(text), "model.optimizer");
    return c ? std::string() : c.error().message;
  };
  EXPECT_EQ(err(R"({"type": "adam", "learning_rate": -1})"),
            "model.optimizer.learning_rate: must be > 0, got -1.000000");
  EXPECT_NE(err(R"({"type": "lion"})").find("model.optimizer.type: unknown optimizer 'lion'"),
            std::string::npos);
  EXPECT_NE(err(R"({"type": "adam", "beta_1": 1.5})").find("model.optimizer.beta_1"),
            std::string::npos);
  EXPECT_NE(err(R"({"type": "sgd", "weight_decay": 0.1})").find("only supported by adamw"),
            std::string::npos);
}

}  // namespace
}  // namespace disco::core
