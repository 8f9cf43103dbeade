// SPDX-License-Identifier: Apache-2.0
// Checks a small CNN (conv2d, depthwise_conv2d, max_pool2d, flatten, dense, fused softmax
// cross-entropy, Adam) against values computed by PyTorch: tests/fixtures/torch_golden.json,
// written by tools/gen_fixtures.py. Weights are given in disco's layouts, so this also pins the
// layout conventions (NHWC, HWIO, flatten order) that TF.js/Keras model import relies on.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/model/model.hpp"
#include "core/train/trainer.hpp"
#include "runtime/thread_pool.hpp"

namespace disco::core {
namespace {

Json golden() {
  std::ifstream f(std::string(DISCO_SOURCE_DIR) + "/tests/fixtures/torch_golden.json");
  std::stringstream s;
  s << f.rdbuf();
  return Json::parse(s.str());
}

void expect_near(std::span<const float> got, const Json& want, double tol,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i].get<double>(), tol) << what << " element " << i;
}

class GoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_ = golden();
    Result<Model> m = Model::from_spec(g_["spec"]);
    ASSERT_TRUE(m.has_value()) << m.error().message;
    model_ = std::make_unique<Model>(std::move(m).value());
    ASSERT_EQ(model_->params().size(), g_["weights"].size());
    for (std::size_t p = 0; p < model_->params().size(); ++p) {
      const ParamInfo& info = model_->params()[p];
      const Json& w = g_["weights"][p];
      ASSERT_EQ(static_cast<int64_t>(w.size()), info.shape.numel()) << info.name;
      for (std::size_t i = 0; i < w.size(); ++i)
        model_->weights()[static_cast<std::size_t>(info.offset) + i] = w[i].get<float>();
    }
    std::vector<float> x = g_["x"].get<std::vector<float>>();
    x_ = Tensor::from({3, 8, 8, 2}, x);
    std::vector<float> y;
    for (const Json& l : g_["labels"]) y.push_back(l.get<float>());
    y_ = Tensor::from({3}, y);
  }

  Json g_;
  std::unique_ptr<Model> model_;
  Tensor x_, y_;
  runtime::ThreadPool pool_{2};
};

TEST_F(GoldenTest, ForwardLossAndGradientsMatchPyTorch) {
  Graph graph(pool_);
  Var in = graph.input(x_.view(x_.shape()));
  Var out = model_->forward(graph, in, /*training=*/true, nullptr, /*for_loss=*/true);
  Var loss = model_->loss_of(graph, out, graph.input(y_.view(y_.shape())));
  EXPECT_NEAR(graph.value(loss)[0], g_["loss"].get<double>(), 1e-5);
  model_->zero_grads();
  graph.backward(loss);
  for (std::size_t p = 0; p < model_->params().size(); ++p) {
    const ParamInfo& info = model_->params()[p];
    expect_near(model_->grads().subspan(static_cast<std::size_t>(info.offset),
                                        static_cast<std::size_t>(info.shape.numel())),
                g_["grads"][p], 2e-6, info.name + " gradient");
  }
  auto trainer = Trainer::create(*model_, pool_, 0);
  Tensor probs = (*trainer)->predict(x_, 3);
  expect_near(probs.span(), g_["probabilities"], 1e-6, "probabilities");
}

TEST_F(GoldenTest, TwoAdamStepsMatchPyTorch) {
  auto trainer = Trainer::create(*model_, pool_, 0);
  ASSERT_TRUE(trainer.has_value());
  (*trainer)->train_batch(x_, y_);
  (*trainer)->train_batch(x_, y_);
  for (std::size_t p = 0; p < model_->params().size(); ++p) {
    const ParamInfo& info = model_->params()[p];
    expect_near(model_->weights().subspan(static_cast<std::size_t>(info.offset),
                                          static_cast<std::size_t>(info.shape.numel())),
                g_["weights_after_two_adam_steps"][p], 1e-5, info.name + " after Adam");
  }
}

}  // namespace
}  // namespace disco::core
