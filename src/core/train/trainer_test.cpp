// SPDX-License-Identifier: Apache-2.0
#include "core/train/trainer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "runtime/thread_pool.hpp"

namespace disco::core {
namespace {

// Two Gaussian blobs per class in 2-D, three classes: linearly separable enough for ~100%.
Dataset blobs(int64_t n, uint64_t seed) {
  Rng rng(seed);
  Dataset d;
  d.x = Tensor::empty({n, 2});
  d.y = Tensor::empty({n});
  d.n_classes = 3;
  d.label_names = {"a", "b", "c"};
  const float centers[3][2] = {{-2, 0}, {2, 0}, {0, 3}};
  for (int64_t i = 0; i < n; ++i) {
    auto c = static_cast<int64_t>(rng.uniform_int(3));
    d.x[2 * i] = centers[c][0] + 0.5f * rng.normal();
    d.x[2 * i + 1] = centers[c][1] + 0.5f * rng.normal();
    d.y[i] = static_cast<float>(c);
  }
  return d;
}

Model mlp(const std::string& optimizer, const std::string& extra_layer = "") {
  std::string spec = R"({"input_shape": [2], "layers": [)" + extra_layer +
                     R"({"type": "dense", "units": 16, "activation": "tanh"},
      {"type": "dense", "units": 3, "activation": "softmax"}],
    "loss": "sparse_categorical_crossentropy", "optimizer": )" +
                     optimizer + "}";
  Result<Model> m = Model::from_spec(Json::parse(spec));
  DISCO_CHECK(m.has_value(), "mlp spec");
  Model model = std::move(m).value();
  Rng rng(1);
  model.init_weights(rng);
  return model;
}

class TrainerTest : public ::testing::TestWithParam<std::string> {
 protected:
  runtime::ThreadPool pool_{2};
};

TEST_P(TrainerTest, LearnsSeparableBlobs) {
  Model model = mlp(GetParam());
  auto trainer = Trainer::create(model, pool_, 42);
  ASSERT_TRUE(trainer.has_value());
  Dataset train = blobs(600, 1), test = blobs(300, 2);
  Evaluation before = (*trainer)->evaluate(test, 64);
  EpochLog log;
  for (int e = 0; e < 15; ++e) log = (*trainer)->train_epoch(train, &test, 32);
  EXPECT_EQ(log.epoch, 15);
  EXPECT_EQ(log.n_samples, 600);
  ASSERT_TRUE(log.validation.has_value());
  EXPECT_LT(log.validation->loss, before.loss * 0.5);
  EXPECT_GT(log.validation->accuracy, 0.97) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(
    Optimizers, TrainerTest,
    ::testing::Values(R"({"type": "sgd", "learning_rate": 0.1, "momentum": 0.9})",
                      R"({"type": "adam", "learning_rate": 0.01})",
                      R"({"type": "adamw", "learning_rate": 0.01})",
                      R"({"type": "rmsprop", "learning_rate": 0.01})"));

TEST(Trainer, SameSeedGivesBitIdenticalWeightsAcrossThreadCounts) {
  Dataset train = blobs(200, 3);
  std::vector<float> first;
  for (int threads : {1, 2}) {
    runtime::ThreadPool pool(threads);
    Model model = mlp(R"({"type": "adam"})", R"({"type": "dropout", "rate": 0.2},)");
    auto trainer = Trainer::create(model, pool, 9);
    (*trainer)->train_epoch(train, nullptr, 16);
    std::vector<float> w(model.weights().begin(), model.weights().end());
    if (first.empty()) {
      first = w;
    } else {
      EXPECT_EQ(w, first);
    }
  }
}

TEST(Trainer, EvaluationReportsConfusionPrecisionAndRecall) {
  runtime::ThreadPool pool(1);
  // A linear model that always predicts class 2 (bias only).
  Result<Model> m = Model::from_spec(Json::parse(R"({"input_shape": [2], "layers": [
      {"type": "dense", "units": 3, "activation": "softmax"}], "loss": "categorical_crossentropy"})"));
  Model model = std::move(m).value();
  model.weights()[6 + 2] = 5.0f;  // bias of class 2
  auto trainer = Trainer::create(model, pool, 0);
  Dataset d;
  d.x = Tensor::zeros({4, 2});
  d.y = Tensor::from({4}, std::vector<float>{0, 1, 2, 2});
  d.n_classes = 3;
  Evaluation ev = (*trainer)->evaluate(d, 3);
  EXPECT_EQ(ev.n, 4);
  EXPECT_DOUBLE_EQ(ev.accuracy, 0.5);
  EXPECT_EQ(ev.confusion, (std::vector<int64_t>{0, 0, 1, 0, 0, 1, 0, 0, 2}));
  EXPECT_DOUBLE_EQ(ev.precision[2], 0.5);
  EXPECT_DOUBLE_EQ(ev.recall[2], 1.0);
  EXPECT_DOUBLE_EQ(ev.recall[0], 0.0);
  Tensor p = (*trainer)->predict(d.x, 3);
  EXPECT_EQ(p.shape(), (Shape{4, 3}));
  EXPECT_NEAR(p[0] + p[1] + p[2], 1.0f, 1e-6);
}

TEST(Trainer, BatchNormUpdatesMovingStatisticsOnlyWhileTraining) {
  runtime::ThreadPool pool(1);
  Model model = mlp(R"({"type": "sgd"})", R"({"type": "batch_normalization", "momentum": 0.5},)");
  auto trainer = Trainer::create(model, pool, 0);
  Dataset d;
  d.x = Tensor::from({2, 2}, std::vector<float>{1, 10, 3, 10});
  d.y = Tensor::from({2}, std::vector<float>{0, 1});
  d.n_classes = 3;
  // moving_mean is parameter 2 of layer 0, at offset 4 (gamma 2, beta 2).
  (*trainer)->train_batch(d.x, d.y);
  EXPECT_FLOAT_EQ(model.weights()[4], 0.5f * 2.0f);
  EXPECT_FLOAT_EQ(model.weights()[5], 0.5f * 10.0f);
  (*trainer)->evaluate(d, 2);
  EXPECT_FLOAT_EQ(model.weights()[4], 1.0f);
}

TEST(Trainer, SmallCnnLearnsToSeparateBrightFromDarkImages) {
  runtime::ThreadPool pool(2);
  Result<Model> m = Model::from_spec(Json::parse(R"({"input_shape": [8, 8, 1], "layers": [
      {"type": "conv2d", "filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"},
      {"type": "batch_normalization"},
      {"type": "depthwise_conv2d", "kernel_size": 3, "strides": 2, "padding": "same"},
      {"type": "average_pool2d", "pool_size": 2},
      {"type": "global_average_pool2d"},
      {"type": "dense", "units": 2, "activation": "softmax"}],
      "loss": "categorical_crossentropy", "optimizer": {"type": "adam", "learning_rate": 0.05}})"));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  Model model = std::move(m).value();
  Rng init(4);
  model.init_weights(init);
  Rng rng(5);
  Dataset d;
  d.x = Tensor::empty({128, 8, 8, 1});
  d.y = Tensor::empty({128});
  d.n_classes = 2;
  for (int64_t i = 0; i < 128; ++i) {
    float base = i % 2 ? 0.7f : 0.2f;
    for (int64_t j = 0; j < 64; ++j) d.x[i * 64 + j] = base + 0.2f * rng.uniform();
    d.y[i] = static_cast<float>(i % 2);
  }
  auto trainer = Trainer::create(model, pool, 6);
  for (int e = 0; e < 20; ++e) (*trainer)->train_epoch(d, nullptr, 16);
  EXPECT_GT((*trainer)->evaluate(d, 32).accuracy, 0.95);
}

}  // namespace
}  // namespace disco::core

namespace disco::core {
namespace {

TEST(CheckCompatible, RejectsWrongShapesAndUnknownClasses) {
  Result<Model> m = Model::from_spec(Json::parse(R"({"input_shape": [2], "layers": [
      {"type": "dense", "units": 3, "activation": "softmax"}]})"));
  ASSERT_TRUE(m.has_value());
  Dataset d;
  d.x = Tensor::zeros({2, 2});
  d.y = Tensor::from({2}, std::vector<float>{0, 2});
  d.n_classes = 3;
  EXPECT_TRUE(check_compatible(*m, d, "d.csv").has_value());
  d.y[1] = 3;
  d.n_classes = 4;
  Result<void> r = check_compatible(*m, d, "d.csv");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "d.csv: sample 1 has class 3 but the model has 3 classes");
  d.x = Tensor::zeros({2, 5});
  EXPECT_NE(check_compatible(*m, d, "d.csv").error().message.find("samples have shape (5,)"),
            std::string::npos);
}

// classify(): probabilities as evaluate() reads them. A single linear unit outputs a logit,
// classified through the logistic function (class 1 when p > 0.5, i.e. logit > 0), and a
// softmax model reports the winning class's probability.
TEST(Trainer, ClassifiesLogitsAndProbabilities) {
  runtime::ThreadPool pool(1);
  Result<Model> m = Model::from_spec(Json::parse(R"({"input_shape": [1], "layers": [
      {"type": "dense", "units": 1}], "loss": "binary_crossentropy",
      "optimizer": {"type": "sgd", "learning_rate": 0.1}})"));
  ASSERT_TRUE(m.has_value()) << m.error().message;
  Model logit = std::move(m).value();
  ASSERT_EQ(logit.n_weights(), 2);
  const float wb[2] = {2.0f, -1.0f};  // logit = 2x - 1
  std::copy(wb, wb + 2, logit.weights().begin());
  auto trainer = Trainer::create(logit, pool, 0);
  Tensor x = Tensor::empty({3, 1});
  x[0] = 0.3f;  // logit -0.4: class 0
  x[1] = 0.7f;  // logit 0.4: class 1 (a raw 0.5 cut on the logit would say 0)
  x[2] = 0.5f;  // logit 0: p = 0.5, not above: class 0
  Trainer::Classification c = (*trainer)->classify(x, 2);
  EXPECT_EQ(c.predicted, (std::vector<int64_t>{0, 1, 0}));
  EXPECT_NEAR(c.confidence[0], 1.0 - 1.0 / (1.0 + std::exp(0.4)), 1e-6);
  EXPECT_NEAR(c.confidence[1], 1.0 / (1.0 + std::exp(-0.4)), 1e-6);
  EXPECT_NEAR(c.confidence[2], 0.5, 1e-6);

  Model soft = mlp(R"({"type": "sgd", "learning_rate": 0.1})");
  auto soft_trainer = Trainer::create(soft, pool, 0);
  Dataset data = blobs(5, 3);
  Tensor p = (*soft_trainer)->predict(data.x, 4);
  Trainer::Classification sc = (*soft_trainer)->classify(data.x, 4);
  ASSERT_EQ(sc.predicted.size(), 5u);
  for (int64_t i = 0; i < 5; ++i) {
    const float* row = p.data() + 3 * i;
    const int64_t best = std::max_element(row, row + 3) - row;
    EXPECT_EQ(sc.predicted[static_cast<std::size_t>(i)], best);
    EXPECT_NEAR(sc.confidence[static_cast<std::size_t>(i)], row[best], 1e-6);
  }
}

}  // namespace
}  // namespace disco::core
