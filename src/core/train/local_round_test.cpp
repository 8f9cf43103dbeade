// SPDX-License-Identifier: Apache-2.0
#include "core/train/local_round.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "runtime/thread_pool.hpp"

namespace disco::core {
namespace {

// Three Gaussian blobs in 2-D, one per class.
Dataset blobs(int64_t n, uint64_t seed) {
  Rng rng(seed);
  Dataset d;
  d.x = Tensor::empty({n, 2});
  d.y = Tensor::empty({n});
  d.n_classes = 3;
  const float centers[3][2] = {{-2, 0}, {2, 0}, {0, 3}};
  for (int64_t i = 0; i < n; ++i) {
    auto c = static_cast<int64_t>(rng.uniform_int(3));
    d.x[2 * i] = centers[c][0] + 0.5f * rng.normal();
    d.x[2 * i + 1] = centers[c][1] + 0.5f * rng.normal();
    d.y[i] = static_cast<float>(c);
  }
  return d;
}

// Dropout makes the result depend on the Rng; Adam on the optimizer state.
Model mlp(const std::string& optimizer = R"({"type": "adam", "learning_rate": 0.01})") {
  std::string spec = R"({"input_shape": [2], "layers": [
      {"type": "dense", "units": 16, "activation": "tanh"},
      {"type": "dropout", "rate": 0.2},
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

std::vector<float> copy_of(std::span<const float> s) { return {s.begin(), s.end()}; }

double norm(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return std::sqrt(s);
}

class LocalRoundTest : public ::testing::Test {
 protected:
  runtime::ThreadPool pool_{1};
};

TEST_F(LocalRoundTest, DeltaIsLocalMinusGlobal) {
  Model model = mlp();
  auto trainer = Trainer::create(model, pool_, 3);
  ASSERT_TRUE(trainer.has_value());
  std::vector<float> global = copy_of(model.weights());
  for (float& w : global) w *= 0.5f;  // the round's global model differs from what the model holds
  Dataset data = blobs(100, 2);
  LocalRoundOptions options{.epochs = 2, .batch_size = 16};
  Result<LocalRoundResult> r = train_local_round(**trainer, global, data, options);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  ASSERT_EQ(r->delta.size(), global.size());
  EXPECT_EQ(r->n_samples, 100u);
  EXPECT_GT(r->loss, 0.0);
  EXPECT_GT(r->accuracy, 0.3);
  for (std::size_t i = 0; i < global.size(); ++i)
    EXPECT_NEAR(global[i] + r->delta[i], model.weights()[i], 1e-6f) << i;
  EXPECT_GT(norm(r->delta), 0.0);
  EXPECT_EQ((*trainer)->proximal_mu(), 0.0f);
}

TEST_F(LocalRoundTest, RejectsBadInputsWithoutTouchingTheModel) {
  Model model = mlp();
  auto trainer = Trainer::create(model, pool_, 3);
  std::vector<float> before = copy_of(model.weights());
  std::vector<float> global = before;
  Dataset data = blobs(10, 2);
  LocalRoundOptions ok;

  std::vector<float> short_global(global.begin(), global.end() - 1);
  Result<LocalRoundResult> r = train_local_round(**trainer, short_global, data, ok);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::InvalidArgument);
  EXPECT_NE(r.error().message.find("global weights"), std::string::npos) << r.error().message;

  Dataset empty = subset(data, std::vector<int64_t>{});
  r = train_local_round(**trainer, global, empty, ok);
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("empty"), std::string::npos) << r.error().message;

  r = train_local_round(**trainer, global, data, LocalRoundOptions{.epochs = 0});
  ASSERT_FALSE(r.has_value());
  r = train_local_round(**trainer, global, data, LocalRoundOptions{.proximal_mu = -1.0f});
  ASSERT_FALSE(r.has_value());

  Dataset bad_labels = data.clone();
  bad_labels.y[0] = 7.0f;
  r = train_local_round(**trainer, global, bad_labels, ok);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::InvalidArgument);
  EXPECT_EQ(copy_of(model.weights()), before);
}

// The simulator shares one trainer among clients: with a seed, a round must not depend on what
// the trainer did before (optimizer moments, Rng position).
TEST_F(LocalRoundTest, SeededRoundIgnoresTrainerHistory) {
  Dataset a = blobs(64, 4), b = blobs(48, 5);
  Model shared_model = mlp();
  std::vector<float> global = copy_of(shared_model.weights());
  auto shared = Trainer::create(shared_model, pool_, 11);
  LocalRoundOptions options{.epochs = 2, .batch_size = 8, .seed = 77};
  ASSERT_TRUE(train_local_round(**shared, global, a, LocalRoundOptions{.seed = 1}).has_value());
  Result<LocalRoundResult> after_history = train_local_round(**shared, global, b, options);

  Model fresh_model = mlp();
  auto fresh = Trainer::create(fresh_model, pool_, 999);
  Result<LocalRoundResult> alone = train_local_round(**fresh, global, b, options);
  ASSERT_TRUE(after_history.has_value() && alone.has_value());
  EXPECT_EQ(after_history->delta, alone->delta);
  EXPECT_EQ(after_history->loss, alone->loss);

  LocalRoundOptions other_seed = options;
  other_seed.seed = 78;
  Result<LocalRoundResult> different = train_local_round(**fresh, global, b, other_seed);
  EXPECT_NE(different->delta, alone->delta);
}

TEST_F(LocalRoundTest, StepwiseFormMatchesOneCall) {
  Dataset data = blobs(50, 6);
  Model m1 = mlp(), m2 = mlp();
  std::vector<float> global = copy_of(m1.weights());
  LocalRoundOptions options{.epochs = 3, .batch_size = 16, .seed = 5};
  auto t1 = Trainer::create(m1, pool_, 0);
  Result<LocalRoundResult> whole = train_local_round(**t1, global, data, options);

  auto t2 = Trainer::create(m2, pool_, 0);
  Result<LocalRound> round = LocalRound::begin(**t2, global, data, options);
  ASSERT_TRUE(round.has_value());
  EXPECT_EQ(round->n_batches(), 12);  // 3 epochs of ceil(50 / 16)
  int64_t steps = 0;
  while (auto s = round->step()) {
    ++steps;
    EXPECT_EQ(round->batches_done(), steps);
    EXPECT_GT(s->n, 0);
    // Each epoch's log appears right after its last batch.
    EXPECT_EQ(round->epoch_logs().size(), static_cast<std::size_t>(steps / 4));
  }
  EXPECT_EQ(steps, 12);
  ASSERT_EQ(round->epoch_logs().size(), 3u);
  double weighted = 0;
  for (std::size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(round->epoch_logs()[e].epoch, static_cast<int>(e + 1));
    EXPECT_GT(round->epoch_logs()[e].loss, 0.0);
    weighted += round->epoch_logs()[e].loss / 3;
  }
  // The round's loss is the sample-weighted mean of its epochs' (equal-sized epochs here).
  EXPECT_NEAR(round->stats().loss(), weighted, 1e-9);
  EXPECT_TRUE(round->done());
  EXPECT_EQ(round->stats().n, 150);
  LocalRoundResult parts = round->finish();
  EXPECT_EQ(parts.delta, whole->delta);
  EXPECT_EQ(parts.loss, whole->loss);
  EXPECT_EQ(parts.n_samples, 50u);
  EXPECT_EQ((*t2)->epochs_done(), 3);
}

TEST_F(LocalRoundTest, ProximalTermKeepsTheUpdateNearTheGlobalModel) {
  Dataset data = blobs(200, 7);
  double norms[2];
  int i = 0;
  for (float mu : {0.0f, 1.0f}) {
    Model model = mlp(R"({"type": "sgd", "learning_rate": 0.1})");
    std::vector<float> global = copy_of(model.weights());
    auto trainer = Trainer::create(model, pool_, 0);
    LocalRoundOptions options{.epochs = 5, .batch_size = 16, .proximal_mu = mu, .seed = 3};
    Result<LocalRoundResult> r = train_local_round(**trainer, global, data, options);
    ASSERT_TRUE(r.has_value());
    norms[i++] = norm(r->delta);
  }
  EXPECT_LT(norms[1], 0.8 * norms[0]) << norms[0] << " vs " << norms[1];
}

// With plain SGD (no momentum), the proximal term changes one step by exactly
// -lr * mu * (w - global).
TEST(Trainer, AddsProximalGradientBeforeTheOptimizerStep) {
  runtime::ThreadPool pool(1);
  Dataset data = blobs(8, 8);
  const float lr = 0.5f, mu = 0.25f;
  std::vector<float> after[2];
  std::vector<float> anchor;
  for (int with_prox = 0; with_prox < 2; ++with_prox) {
    Result<Model> m = Model::from_spec(Json::parse(R"({"input_shape": [2], "layers": [
        {"type": "dense", "units": 3, "activation": "softmax"}],
        "loss": "sparse_categorical_crossentropy",
        "optimizer": {"type": "sgd", "learning_rate": 0.5}})"));
    Model model = std::move(m).value();
    Rng rng(2);
    model.init_weights(rng);
    anchor = copy_of(model.weights());
    for (std::size_t k = 0; k < anchor.size(); ++k) anchor[k] += 0.1f * static_cast<float>(k + 1);
    auto trainer = Trainer::create(model, pool, 0);
    if (with_prox) (*trainer)->set_proximal(anchor, mu);
    (*trainer)->train_batch(data.x, data.y);
    after[with_prox] = copy_of(model.weights());
    (*trainer)->clear_proximal();
    EXPECT_EQ((*trainer)->proximal_mu(), 0.0f);
  }
  // w - anchor = -0.1 (k + 1) before the step, so the proximal step adds lr * mu * 0.1 (k + 1).
  for (std::size_t k = 0; k < anchor.size(); ++k)
    EXPECT_NEAR(after[1][k] - after[0][k], lr * mu * 0.1f * static_cast<float>(k + 1), 1e-5f) << k;
}

}  // namespace
}  // namespace disco::core
