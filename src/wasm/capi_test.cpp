// SPDX-License-Identifier: Apache-2.0
// The C ABI (capi.h) through its own functions only, except that the server's messages are
// encoded with proto/codec.hpp: error paths, handle round trips, a small train, a local round
// and a federated client session up to the Contribution. Runs natively and under node.
#include "wasm/capi.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "proto/codec.hpp"
#include "proto/messages.hpp"

namespace {

constexpr const char* kTaskJson = R"({
  "id": "tiny", "title": "tiny",
  "data": {"type": "tabular", "labels": ["a", "b"],
           "tabular": {"input_columns": ["x1", "x2"], "output_columns": ["y"]}},
  "model": {"input_shape": [2],
            "layers": [{"type": "dense", "units": 4, "activation": "relu"},
                       {"type": "dense", "units": 2, "activation": "softmax"}],
            "loss": "sparse_categorical_crossentropy",
            "optimizer": {"type": "adam", "learning_rate": 0.05}},
  "training": {"epochs": 3, "batch_size": 4, "seed": 3},
  "federation": {"scheme": "federated", "min_participants": 1}
})";

std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

std::string text(disco_buffer* b) {
  std::string s(reinterpret_cast<const char*>(disco_buffer_data(b)), disco_buffer_size(b));
  disco_buffer_free(b);
  return s;
}

// n rows "x1,x2,y": class b iff x1 + x2 > 0 (a fixed pseudo-random pattern).
std::string tiny_csv(int n) {
  std::string csv = "x1,x2,y\n";
  for (int i = 0; i < n; ++i) {
    double a = std::sin(i * 1.7) * 2, b = std::cos(i * 2.3) * 2;
    csv += std::to_string(a) + "," + std::to_string(b) + "," + (a + b > 0 ? "b" : "a") + "\n";
  }
  return csv;
}

disco_task* parse(const std::string& json) {
  std::vector<uint8_t> b = bytes(json);
  return disco_task_parse(b.data(), b.size());
}

disco_dataset* csv_dataset(const disco_task* task, const std::string& csv,
                           const std::string& transform = "") {
  std::vector<uint8_t> b = bytes(csv), t = bytes(transform);
  return disco_dataset_from_csv(task, b.data(), b.size(), transform.empty() ? nullptr : t.data(),
                                t.size());
}

std::vector<float> weights_of(const disco_model* model) {
  std::vector<float> w(disco_model_n_weights(model));
  EXPECT_EQ(disco_model_get_weights(model, w.data(), w.size()), DISCO_OK);
  return w;
}

TEST(Capi, VersionAndThreads) {
  EXPECT_STREQ(disco_version(), "0.1.0");
  EXPECT_GE(disco_max_threads(), 1u);
}

TEST(Capi, TaskErrorsNameTheField) {
  EXPECT_EQ(parse("{not json"), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_CORRUPTION);
  std::string bad = kTaskJson;
  bad.replace(bad.find("\"batch_size\": 4"), 15, "\"batch_size\": 0");
  EXPECT_EQ(parse(bad), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_INVALID_ARGUMENT);
  EXPECT_NE(std::string(disco_last_error()).find("training.batch_size"), std::string::npos)
      << disco_last_error();
  EXPECT_EQ(disco_task_parse(nullptr, 0), nullptr);

  disco_task* task = parse(kTaskJson);
  ASSERT_NE(task, nullptr) << disco_last_error();
  std::string info = text(disco_task_info_json(task));
  EXPECT_NE(info.find("\"id\":\"tiny\""), std::string::npos) << info;
  EXPECT_NE(info.find("\"data_type\":\"tabular\""), std::string::npos) << info;
  disco_task_free(task);
  disco_task_free(nullptr);
}

TEST(Capi, ModelRoundTripsThroughSafetensors) {
  disco_task* task = parse(kTaskJson);
  disco_model* a = disco_model_create(task, 5);
  disco_model* same = disco_model_create(task, 5);
  EXPECT_EQ(std::strlen(disco_model_fingerprint(a)), 16u);
  EXPECT_EQ(disco_model_n_weights(a), 2u * 4 + 4 + 4 * 2 + 2);
  EXPECT_EQ(weights_of(a), weights_of(same));

  std::vector<float> w(disco_model_n_weights(a) - 1);
  EXPECT_EQ(disco_model_set_weights(a, w.data(), w.size()), DISCO_INVALID_ARGUMENT);
  EXPECT_EQ(disco_model_get_weights(a, w.data(), w.size()), DISCO_INVALID_ARGUMENT);
  EXPECT_NE(std::string(disco_last_error()).find("expected"), std::string::npos);

  std::vector<uint8_t> bad_meta = bytes(R"({"k": 1})");
  EXPECT_EQ(disco_model_save(a, bad_meta.data(), bad_meta.size()), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_INVALID_ARGUMENT);
  std::vector<uint8_t> meta = bytes(R"({"note": "hello"})");
  disco_buffer* file = disco_model_save(a, meta.data(), meta.size());
  ASSERT_NE(file, nullptr);
  disco_model* b = disco_model_load(disco_buffer_data(file), disco_buffer_size(file));
  ASSERT_NE(b, nullptr) << disco_last_error();
  EXPECT_STREQ(disco_model_fingerprint(a), disco_model_fingerprint(b));
  EXPECT_EQ(weights_of(a), weights_of(b));

  disco_model* c = disco_model_create(task, 6);
  EXPECT_NE(weights_of(a), weights_of(c));
  EXPECT_EQ(disco_model_load_weights(c, disco_buffer_data(file), disco_buffer_size(file)),
            DISCO_OK);
  EXPECT_EQ(weights_of(a), weights_of(c));
  EXPECT_EQ(disco_model_weights(c)[0], weights_of(a)[0]);

  const uint8_t junk[5] = {1, 2, 3, 4, 5};
  EXPECT_EQ(disco_model_load(junk, sizeof junk), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_CORRUPTION);
  EXPECT_NE(disco_model_load_weights(c, junk, sizeof junk), DISCO_OK);
  disco_task* other_task = parse(std::string(kTaskJson).replace(
      std::string(kTaskJson).find("\"units\": 4"), 10, "\"units\": 5"));
  ASSERT_NE(other_task, nullptr) << disco_last_error();
  disco_model* other = disco_model_create(other_task, 1);
  disco_buffer* other_file = disco_model_save(other, nullptr, 0);
  EXPECT_EQ(
      disco_model_load_weights(c, disco_buffer_data(other_file), disco_buffer_size(other_file)),
      DISCO_INVALID_ARGUMENT);
  EXPECT_EQ(weights_of(a), weights_of(c));  // unchanged by the failed loads
  disco_buffer_free(other_file);
  disco_model_free(other);
  disco_task_free(other_task);
  disco_buffer_free(file);
  for (disco_model* m : {a, same, b, c}) disco_model_free(m);
  disco_task_free(task);
}

TEST(Capi, DatasetErrors) {
  disco_task* task = parse(kTaskJson);
  EXPECT_EQ(csv_dataset(task, "x1,x2,y\n1,2\n"), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_CORRUPTION);
  EXPECT_NE(std::string(disco_last_error()).find("csv:2"), std::string::npos) << disco_last_error();
  EXPECT_EQ(csv_dataset(task, "x1,z,y\n1,2,a\n"), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_NOT_FOUND);
  EXPECT_EQ(csv_dataset(task, tiny_csv(8), "{}"), nullptr);
  // (The error code is sticky; the message names this call's failure.)
  EXPECT_NE(std::string(disco_last_error()).find("transform"), std::string::npos)
      << disco_last_error();
  const uint8_t idx[4] = {0, 0, 8, 3};
  EXPECT_EQ(disco_dataset_from_idx(task, idx, 4, idx, 4), nullptr);
  EXPECT_NE(std::string(disco_last_error()).find("not an image task"), std::string::npos);

  disco_model* model = disco_model_create(task, 1);
  const float x[4] = {0, 1, 2, 3}, y[2] = {0, 1}, bad_y[2] = {0, 2};
  EXPECT_EQ(disco_dataset_from_floats(model, 2, x, 3, y, 2, 2), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_INVALID_ARGUMENT);
  EXPECT_NE(std::string(disco_last_error()).find("x: expected"), std::string::npos)
      << disco_last_error();
  EXPECT_EQ(disco_dataset_from_floats(model, 2, x, 4, bad_y, 2, 2), nullptr);
  EXPECT_NE(std::string(disco_last_error()).find("y[1]"), std::string::npos);
  disco_dataset* floats = disco_dataset_from_floats(model, 2, x, 4, y, 2, 2);
  ASSERT_NE(floats, nullptr) << disco_last_error();
  EXPECT_EQ(disco_dataset_size(floats), 2u);
  EXPECT_EQ(disco_dataset_transform_json(floats), nullptr);
  EXPECT_EQ(disco_dataset_split(floats, 1.5, 0), nullptr);

  disco_dataset* train = csv_dataset(task, tiny_csv(40));
  ASSERT_NE(train, nullptr) << disco_last_error();
  disco_dataset* validation = disco_dataset_split(train, 0.25, 9);
  ASSERT_NE(validation, nullptr);
  EXPECT_EQ(disco_dataset_size(train), 30u);
  EXPECT_EQ(disco_dataset_size(validation), 10u);
  std::string transform = text(disco_dataset_transform_json(train));
  disco_dataset* test = csv_dataset(task, tiny_csv(12), transform);
  ASSERT_NE(test, nullptr) << disco_last_error();
  EXPECT_EQ(disco_dataset_size(test), 12u);
  for (disco_dataset* d : {floats, train, validation, test}) disco_dataset_free(d);
  disco_model_free(model);
  disco_task_free(task);
}

// Trains `epochs` epochs step by step and returns the last epoch's log.
std::string train(disco_trainer* trainer, disco_dataset* data, disco_dataset* validation,
                  int epochs) {
  std::string log;
  for (int e = 0; e < epochs; ++e) {
    EXPECT_EQ(disco_trainer_begin_epoch(trainer, data, 4), DISCO_OK) << disco_last_error();
    uint32_t steps = 0;
    while (disco_trainer_step(trainer) == 1) {
      ++steps;
      EXPECT_EQ(disco_trainer_batches_done(trainer), steps);
    }
    EXPECT_EQ(steps, disco_trainer_n_batches(trainer));
    log = text(disco_trainer_end_epoch(trainer, validation));
  }
  return log;
}

TEST(Capi, TrainsEvaluatesAndPredicts) {
  disco_task* task = parse(kTaskJson);
  disco_model* model = disco_model_create(task, 3);
  disco_dataset* data = csv_dataset(task, tiny_csv(64));
  ASSERT_NE(data, nullptr) << disco_last_error();
  disco_dataset* validation = disco_dataset_split(data, 0.25, 3);

  EXPECT_EQ(disco_trainer_create(model, 0, 1), nullptr);
  EXPECT_EQ(disco_trainer_create(model, disco_max_threads() + 1, 1), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_INVALID_ARGUMENT);
  EXPECT_NE(
      std::string(disco_last_error()).find(", got " + std::to_string(disco_max_threads() + 1)),
      std::string::npos)
      << disco_last_error();
  disco_trainer* trainer = disco_trainer_create(model, 1, 4);
  ASSERT_NE(trainer, nullptr) << disco_last_error();
  EXPECT_EQ(disco_trainer_step(trainer), -1);
  EXPECT_EQ(disco_trainer_end_epoch(trainer, nullptr), nullptr);
  EXPECT_EQ(disco_trainer_begin_epoch(trainer, data, 0), DISCO_INVALID_ARGUMENT);

  std::string before = text(disco_trainer_evaluate(trainer, validation, 8));
  ASSERT_EQ(disco_trainer_begin_epoch(trainer, data, 4), DISCO_OK);
  EXPECT_EQ(disco_trainer_begin_epoch(trainer, data, 4), DISCO_INVALID_ARGUMENT);  // busy
  EXPECT_EQ(disco_trainer_evaluate(trainer, validation, 8), nullptr);
  EXPECT_EQ(disco_trainer_step(trainer), 1);
  EXPECT_GT(disco_trainer_loss(trainer), 0.0);
  disco_buffer_free(disco_trainer_end_epoch(trainer, nullptr));  // ends early

  std::string log = train(trainer, data, validation, 15);
  EXPECT_NE(log.find("\"validation\":{"), std::string::npos) << log;
  std::string after = text(disco_trainer_evaluate(trainer, validation, 8));
  EXPECT_NE(after.find("\"confusion\":[["), std::string::npos) << after;
  auto accuracy = [](const std::string& json) {
    return std::stod(json.substr(json.find("\"accuracy\":") + 11));
  };
  EXPECT_GE(accuracy(after), 0.8) << before << " -> " << after;

  const float x[4] = {2, 2, -2, -2};
  EXPECT_EQ(disco_trainer_predict(trainer, x, 3, 8), nullptr);
  disco_buffer* out = disco_trainer_predict(trainer, x, 4, 8);
  ASSERT_NE(out, nullptr);
  ASSERT_EQ(disco_buffer_size(out), 4 * sizeof(float));
  float p[4];
  std::memcpy(p, disco_buffer_data(out), sizeof p);
  EXPECT_NEAR(p[0] + p[1], 1.0f, 1e-5f);
  disco_buffer_free(out);

  disco_trainer_free(trainer);
  disco_dataset_free(validation);
  disco_dataset_free(data);
  disco_model_free(model);
  disco_task_free(task);
}

TEST(Capi, TwoThreadsTrainLikeOne) {
  if (disco_max_threads() < 2) GTEST_SKIP() << "no threads in this build";
  disco_task* task = parse(kTaskJson);
  disco_dataset* data = csv_dataset(task, tiny_csv(64));
  std::vector<std::vector<float>> results;
  for (uint32_t n_threads : {1u, 2u}) {
    disco_model* model = disco_model_create(task, 3);
    disco_trainer* trainer = disco_trainer_create(model, n_threads, 4);
    ASSERT_NE(trainer, nullptr) << disco_last_error();
    train(trainer, data, nullptr, 3);
    results.push_back(weights_of(model));
    disco_trainer_free(trainer);
    disco_model_free(model);
  }
  ASSERT_EQ(results[0].size(), results[1].size());
  for (size_t i = 0; i < results[0].size(); ++i) EXPECT_NEAR(results[0][i], results[1][i], 1e-5);
  disco_dataset_free(data);
  disco_task_free(task);
}

TEST(Capi, LocalRoundReturnsTheDelta) {
  disco_task* task = parse(kTaskJson);
  disco_model* model = disco_model_create(task, 3);
  disco_dataset* data = csv_dataset(task, tiny_csv(20));
  disco_trainer* trainer = disco_trainer_create(model, 1, 4);
  std::vector<float> global = weights_of(model);

  EXPECT_EQ(disco_round_begin(trainer, data, global.data(), global.size() - 1, 1, 4, 0, 0, 0),
            nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_INVALID_ARGUMENT);
  EXPECT_EQ(disco_round_begin(trainer, data, global.data(), global.size(), 0, 4, 0, 0, 0), nullptr);
  EXPECT_EQ(disco_round_begin(trainer, data, global.data(), global.size(), 1, 4, -1, 0, 0),
            nullptr);

  disco_round* round =
      disco_round_begin(trainer, data, global.data(), global.size(), 2, 4, 0.01f, 1, 11);
  ASSERT_NE(round, nullptr) << disco_last_error();
  EXPECT_EQ(disco_trainer_begin_epoch(trainer, data, 4), DISCO_INVALID_ARGUMENT);  // busy
  EXPECT_EQ(disco_round_n_batches(round), 10u);
  EXPECT_EQ(disco_round_delta(round), nullptr);
  uint32_t steps = 0;
  EXPECT_EQ(disco_round_epochs_done(round), 0u);
  EXPECT_TRUE(std::isnan(disco_round_epoch_loss(round, 1)));
  while (disco_round_step(round) == 1) {
    ++steps;
    EXPECT_EQ(disco_round_epochs_done(round), steps / 5);  // 5 batches per epoch
  }
  EXPECT_EQ(steps, 10u);
  EXPECT_EQ(disco_round_step(round), 0);
  ASSERT_EQ(disco_round_epochs_done(round), 2u);
  EXPECT_GT(disco_round_epoch_loss(round, 2), 0.0);
  EXPECT_GE(disco_round_epoch_accuracy(round, 1), 0.0);
  EXPECT_LE(disco_round_epoch_accuracy(round, 1), 1.0);
  // The round's loss is the mean of its two equal-sized epochs'.
  EXPECT_NEAR(disco_round_loss(round),
              (disco_round_epoch_loss(round, 1) + disco_round_epoch_loss(round, 2)) / 2, 1e-9);
  EXPECT_TRUE(std::isnan(disco_round_epoch_loss(round, 3)));
  EXPECT_TRUE(std::isnan(disco_round_epoch_loss(round, 0)));
  ASSERT_EQ(disco_round_delta_size(round), global.size());
  EXPECT_EQ(disco_round_n_samples(round), 20u);
  EXPECT_GT(disco_round_loss(round), 0.0);
  std::vector<float> local = weights_of(model);
  for (size_t i = 0; i < global.size(); ++i) {
    EXPECT_NEAR(local[i], global[i] + disco_round_delta(round)[i], 1e-6);
  }
  disco_round_free(round);
  EXPECT_EQ(disco_trainer_begin_epoch(trainer, data, 4), DISCO_OK);  // idle again
  disco_buffer_free(disco_trainer_end_epoch(trainer, nullptr));
  disco_trainer_free(trainer);
  disco_dataset_free(data);
  disco_model_free(model);
  disco_task_free(task);
}

std::vector<uint8_t> encoded(const disco::proto::Message& message) {
  std::vector<std::byte> b = disco::proto::encode(message);
  std::vector<uint8_t> out(b.size());
  std::memcpy(out.data(), b.data(), b.size());
  return out;
}

disco::proto::Message sent(disco_client* client) {
  EXPECT_EQ(disco_client_next_action(client), DISCO_ACTION_SEND);
  auto message =
      disco::proto::decode({reinterpret_cast<const std::byte*>(disco_client_action_bytes(client)),
                            disco_client_action_size(client)});
  EXPECT_TRUE(message.has_value());
  return message ? std::move(message).value() : disco::proto::Message{};
}

TEST(Capi, ClientRejectsBadConfig) {
  EXPECT_EQ(disco_client_create("tiny", "xyz", nullptr, nullptr, 0, 0), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_INVALID_ARGUMENT);
  EXPECT_EQ(disco_client_create("", "0123456789abcdef", nullptr, nullptr, 0, 0), nullptr);
  EXPECT_EQ(disco_client_create("tiny", "0123456789abcdef", nullptr, nullptr, -1, 0), nullptr);
  EXPECT_EQ(disco_client_create("tiny", "0123456789abcdef", nullptr, nullptr, 0, -5), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_INVALID_ARGUMENT);
}

TEST(Capi, ClientFailsOnGarbage) {
  disco_client* client = disco_client_create("tiny", "0123456789abcdef", nullptr, nullptr, 1000, 0);
  ASSERT_NE(client, nullptr) << disco_last_error();
  EXPECT_TRUE(std::isnan(disco_client_deadline(client)));
  disco_client_on_connected(client, 100);
  EXPECT_EQ(disco_client_deadline(client), 1100);
  EXPECT_TRUE(std::holds_alternative<disco::proto::ClientHello>(sent(client)));
  EXPECT_EQ(disco_client_next_action(client), DISCO_ACTION_NONE);
  const uint8_t junk[3] = {0xc1, 0, 0};
  disco_client_on_message(client, junk, sizeof junk, 200);
  int kind;
  while ((kind = disco_client_next_action(client)) == DISCO_ACTION_SEND) {
  }
  EXPECT_EQ(kind, DISCO_ACTION_CLOSE);
  std::string status = text(disco_client_status_json(client));
  EXPECT_NE(status.find("\"phase\":\"Failed\""), std::string::npos) << status;
  EXPECT_NE(status.find("\"last_error\":{"), std::string::npos) << status;
  disco_client_free(client);
}

TEST(Capi, ClientSessionUpToTheContribution) {
  disco_task* task = parse(kTaskJson);
  disco_model* model = disco_model_create(task, 3);
  disco_dataset* data = csv_dataset(task, tiny_csv(20));
  disco_trainer* trainer = disco_trainer_create(model, 1, 4);
  const std::string fingerprint = disco_model_fingerprint(model);
  disco_client* client = disco_client_create("tiny", fingerprint.c_str(), nullptr, nullptr, 0, 0);
  ASSERT_NE(client, nullptr) << disco_last_error();

  disco_client_on_connected(client, 0);
  auto hello = sent(client);
  ASSERT_TRUE(std::holds_alternative<disco::proto::ClientHello>(hello));
  EXPECT_EQ(std::get<disco::proto::ClientHello>(hello).model_fingerprint, fingerprint);

  const size_t n = disco_model_n_weights(model);
  disco::proto::ServerWelcome welcome{"c1", 0, fingerprint, n, 1, 1};
  std::vector<uint8_t> b = encoded(welcome);
  disco_client_on_message(client, b.data(), b.size(), 10);
  EXPECT_EQ(disco_client_next_action(client), DISCO_ACTION_NONE);

  disco::proto::StartRound start;
  start.round = 1;
  start.weights = disco::proto::Weights(fingerprint, weights_of(model));
  b = encoded(disco::proto::Message(std::move(start)));
  disco_client_on_message(client, b.data(), b.size(), 20);
  ASSERT_EQ(disco_client_next_action(client), DISCO_ACTION_TRAIN_LOCAL);
  EXPECT_EQ(disco_client_action_round(client), 1u);
  ASSERT_EQ(disco_client_action_n_weights(client), n);
  std::vector<float> global(disco_client_action_weights(client),
                            disco_client_action_weights(client) + n);

  disco_round* round = disco_round_begin(trainer, data, global.data(), n, 1, 4, 0, 1, 1);
  ASSERT_NE(round, nullptr) << disco_last_error();
  while (disco_round_step(round) == 1) {
  }
  disco_client_on_trained(client, 1, disco_round_delta(round), disco_round_delta_size(round),
                          disco_round_n_samples(round), disco_round_loss(round), NAN, 30);
  auto contribution = sent(client);
  ASSERT_TRUE(std::holds_alternative<disco::proto::Contribution>(contribution));
  const auto& c = std::get<disco::proto::Contribution>(contribution);
  EXPECT_EQ(c.round, 1u);
  EXPECT_EQ(c.n_samples, 20u);
  EXPECT_TRUE(c.metrics.loss.has_value());
  EXPECT_FALSE(c.metrics.accuracy.has_value());
  EXPECT_EQ(c.update.values.size(), n);
  std::string status = text(disco_client_status_json(client));
  EXPECT_NE(status.find("\"client_id\":\"c1\""), std::string::npos) << status;
  EXPECT_NE(status.find("\"round\":1"), std::string::npos) << status;
  EXPECT_NE(status.find("\"last_round_participants\":0"), std::string::npos) << status;

  disco::proto::RoundResult result;
  result.round = 1;
  result.n_participants = 3;
  b = encoded(disco::proto::Message(std::move(result)));
  disco_client_on_message(client, b.data(), b.size(), 40);
  EXPECT_EQ(disco_client_next_action(client), DISCO_ACTION_NONE);
  status = text(disco_client_status_json(client));
  EXPECT_NE(status.find("\"last_round_participants\":3"), std::string::npos) << status;
  EXPECT_NE(status.find("\"n_rounds_completed\":1"), std::string::npos) << status;

  disco_round_free(round);
  disco_client_free(client);
  disco_trainer_free(trainer);
  disco_dataset_free(data);
  disco_model_free(model);
  disco_task_free(task);
}

// ---- Data as the browser gets it ----------------------------------------------------------------

constexpr const char* kImageTaskJson = R"({
  "id": "pics", "title": "pics",
  "data": {"type": "image", "image": {"height": 4, "width": 4, "channels": 1},
           "labels": ["dark", "light"]},
  "model": {"input_shape": [4, 4, 1],
            "layers": [{"type": "flatten"}, {"type": "dense", "units": 2, "activation": "softmax"}],
            "loss": "sparse_categorical_crossentropy",
            "optimizer": {"type": "adam", "learning_rate": 0.1}},
  "training": {"epochs": 1, "batch_size": 2, "seed": 1},
  "federation": {"scheme": "federated", "min_participants": 1}
})";

// A w x h 24-bit BMP filled with grey level `v`.
std::vector<uint8_t> bmp(int w, int h, uint8_t v) {
  const int row = (w * 3 + 3) / 4 * 4;
  const int size = 54 + row * h;
  std::vector<uint8_t> b(static_cast<size_t>(size), 0);
  auto put32 = [&](int at, uint32_t x) {
    for (int i = 0; i < 4; ++i) b[static_cast<size_t>(at + i)] = static_cast<uint8_t>(x >> (8 * i));
  };
  b[0] = 'B';
  b[1] = 'M';
  put32(2, static_cast<uint32_t>(size));
  put32(10, 54);
  put32(14, 40);
  put32(18, static_cast<uint32_t>(w));
  put32(22, static_cast<uint32_t>(h));
  b[26] = 1;
  b[28] = 24;
  put32(34, static_cast<uint32_t>(row * h));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w * 3; ++x) b[static_cast<size_t>(54 + y * row + x)] = v;
  return b;
}

int add_image(disco_image_builder* b, const char* name, const std::vector<uint8_t>& bytes,
              const char* label) {
  return disco_image_builder_add(b, name, bytes.data(), bytes.size(), label);
}

TEST(CapiData, ImageBuilderNamesTheFileInErrors) {
  disco_task* task = parse(kImageTaskJson);
  ASSERT_NE(task, nullptr) << disco_last_error();
  EXPECT_EQ(disco_image_builder_create(task, 7), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_INVALID_ARGUMENT);
  disco_task* tabular = parse(kTaskJson);
  EXPECT_EQ(disco_image_builder_create(tabular, DISCO_LABELS_REQUIRED), nullptr);
  EXPECT_NE(std::string(disco_last_error()).find("not an image task"), std::string::npos);

  disco_image_builder* b = disco_image_builder_create(task, DISCO_LABELS_REQUIRED);
  ASSERT_NE(b, nullptr) << disco_last_error();
  EXPECT_EQ(disco_image_builder_finish(b), nullptr);
  EXPECT_NE(std::string(disco_last_error()).find("no images"), std::string::npos);
  const std::vector<uint8_t> junk = {1, 2, 3, 4};
  EXPECT_EQ(add_image(b, "light/img_12.png", junk, "light"), DISCO_CORRUPTION);
  EXPECT_NE(std::string(disco_last_error()).find("light/img_12.png: cannot decode image"),
            std::string::npos)
      << disco_last_error();
  EXPECT_EQ(add_image(b, "x/a.bmp", bmp(4, 4, 10), "grey"), DISCO_INVALID_ARGUMENT);
  EXPECT_NE(
      std::string(disco_last_error()).find("x/a.bmp: unknown label 'grey' (labels: dark, light)"),
      std::string::npos)
      << disco_last_error();
  EXPECT_EQ(add_image(b, "a.bmp", bmp(4, 4, 10), nullptr), DISCO_INVALID_ARGUMENT);
  EXPECT_NE(std::string(disco_last_error()).find("a.bmp: no label"), std::string::npos);
  EXPECT_EQ(disco_image_builder_size(b), 0u);  // failed adds change nothing

  for (int i = 0; i < 6; ++i) {
    const bool light = i % 2 == 1;
    ASSERT_EQ(add_image(b, "img.bmp", bmp(8, 8, light ? 240 : 15), light ? "light" : "dark"),
              DISCO_OK)
        << disco_last_error();
  }
  EXPECT_EQ(disco_image_builder_size(b), 6u);
  disco_dataset* data = disco_image_builder_finish(b);
  ASSERT_NE(data, nullptr) << disco_last_error();
  EXPECT_EQ(disco_image_builder_size(b), 0u);
  disco_image_builder_free(b);
  EXPECT_EQ(disco_dataset_size(data), 6u);
  EXPECT_EQ(disco_dataset_labelled(data), 1);
  std::string info = text(disco_dataset_info_json(data));
  EXPECT_NE(info.find("\"per_class\":[3,3]"), std::string::npos) << info;
  EXPECT_NE(info.find("\"classes\":[\"dark\",\"light\"]"), std::string::npos) << info;

  // Trains, then classifies each sample with its true label.
  disco_model* model = disco_model_create(task, 1);
  disco_trainer* trainer = disco_trainer_create(model, 1, 2);
  for (int e = 0; e < 20; ++e) {
    ASSERT_EQ(disco_trainer_begin_epoch(trainer, data, 2), DISCO_OK);
    while (disco_trainer_step(trainer) == 1) {
    }
    disco_buffer_free(disco_trainer_end_epoch(trainer, nullptr));
  }
  std::string result = text(disco_trainer_classify(trainer, data, 4));
  EXPECT_NE(result.find("\"predicted\":[0,1,0,1,0,1]"), std::string::npos) << result;
  EXPECT_NE(result.find("\"label\":[0,1,0,1,0,1]"), std::string::npos) << result;
  EXPECT_NE(result.find("\"classes\":[\"dark\",\"light\"]"), std::string::npos) << result;
  EXPECT_EQ(disco_trainer_classify(trainer, data, 0), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_INVALID_ARGUMENT);
  EXPECT_NE(std::string(disco_last_error()).find("classify: empty data or batch_size 0"),
            std::string::npos)
      << disco_last_error();

  // Unlabelled inputs: prediction only.
  disco_image_builder* p = disco_image_builder_create(task, DISCO_LABELS_NONE);
  ASSERT_EQ(add_image(p, "a.bmp", bmp(4, 4, 250), "anything"), DISCO_OK);
  ASSERT_EQ(add_image(p, "b.bmp", bmp(4, 4, 5), nullptr), DISCO_OK);
  EXPECT_EQ(add_image(p, "c.png", junk, nullptr), DISCO_CORRUPTION);
  disco_dataset* inputs = disco_image_builder_finish(p);
  ASSERT_NE(inputs, nullptr) << disco_last_error();
  disco_image_builder_free(p);
  EXPECT_EQ(disco_dataset_labelled(inputs), 0);
  EXPECT_EQ(disco_trainer_begin_epoch(trainer, inputs, 2), DISCO_INVALID_ARGUMENT);
  EXPECT_NE(std::string(disco_last_error()).find("no labels"), std::string::npos);
  EXPECT_EQ(disco_trainer_evaluate(trainer, inputs, 2), nullptr);
  result = text(disco_trainer_classify(trainer, inputs, 4));
  EXPECT_NE(result.find("\"predicted\":[1,0]"), std::string::npos) << result;
  EXPECT_NE(result.find("\"label\":null"), std::string::npos) << result;

  // Optional labels: labelled when every image has one; unknown labels are still errors.
  disco_image_builder* o = disco_image_builder_create(task, DISCO_LABELS_OPTIONAL);
  EXPECT_EQ(add_image(o, "a.bmp", bmp(4, 4, 250), "nope"), DISCO_INVALID_ARGUMENT);
  ASSERT_EQ(add_image(o, "a.bmp", bmp(4, 4, 250), "light"), DISCO_OK);
  disco_dataset* known = disco_image_builder_finish(o);
  ASSERT_NE(known, nullptr) << disco_last_error();
  EXPECT_EQ(disco_dataset_labelled(known), 1);
  ASSERT_EQ(add_image(o, "a.bmp", bmp(4, 4, 250), "light"), DISCO_OK);
  ASSERT_EQ(add_image(o, "b.bmp", bmp(4, 4, 250), nullptr), DISCO_OK);
  disco_dataset* partly = disco_image_builder_finish(o);
  ASSERT_NE(partly, nullptr) << disco_last_error();
  EXPECT_EQ(disco_dataset_labelled(partly), 0);
  disco_image_builder_free(o);

  for (disco_dataset* d : {data, inputs, known, partly}) disco_dataset_free(d);
  disco_trainer_free(trainer);
  disco_model_free(model);
  disco_task_free(tabular);
  disco_task_free(task);
}

disco_dataset* table(const disco_task* task, const std::string& csv, const std::string& columns,
                     const std::string& transform, int labels) {
  std::vector<uint8_t> b = bytes(csv), c = bytes(columns), t = bytes(transform);
  return disco_dataset_from_table(task, "data.csv", b.data(), b.size(),
                                  columns.empty() ? nullptr : c.data(), c.size(),
                                  transform.empty() ? nullptr : t.data(), t.size(), labels);
}

TEST(CapiData, TableMapsColumnsAndNamesThemInErrors) {
  disco_task* task = parse(kTaskJson);
  const std::string mapping = R"({"x1": "first", "x2": "second", "y": "class"})";
  std::string csv = tiny_csv(12);
  csv.replace(0, csv.find('\n'), "second,first,class");
  disco_dataset* train = table(task, csv, mapping, "", DISCO_LABELS_REQUIRED);
  ASSERT_NE(train, nullptr) << disco_last_error();
  EXPECT_EQ(disco_dataset_size(train), 12u);
  const std::string transform = text(disco_dataset_transform_json(train));

  EXPECT_EQ(table(task, csv, R"({"x1": "nope"})", "", DISCO_LABELS_REQUIRED), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_NOT_FOUND);
  EXPECT_NE(std::string(disco_last_error()).find("data.csv: no column 'nope'"), std::string::npos)
      << disco_last_error();
  EXPECT_EQ(table(task, csv, R"({"x1": 3})", "", DISCO_LABELS_REQUIRED), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_INVALID_ARGUMENT);
  EXPECT_EQ(table(task, csv, R"({"x1": "first", "x2": "first"})", "", DISCO_LABELS_REQUIRED),
            nullptr);
  EXPECT_NE(std::string(disco_last_error()).find("both map to CSV column 'first'"),
            std::string::npos)
      << disco_last_error();
  EXPECT_EQ(table(task, "second,first,class\n1,2,a\n1,abc,b\n", mapping, "", DISCO_LABELS_REQUIRED),
            nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_CORRUPTION);
  EXPECT_NE(std::string(disco_last_error()).find("data.csv:3: column 'first' (task column 'x1')"),
            std::string::npos)
      << disco_last_error();
  EXPECT_EQ(table(task, "x1,x2,y\n1,2,zebra\n", "", transform, DISCO_LABELS_REQUIRED), nullptr);
  EXPECT_NE(std::string(disco_last_error()).find("data.csv:2"), std::string::npos)
      << disco_last_error();

  // Prediction inputs: no label column; the training transform is required.
  const std::string inputs_csv = "x1,x2\n1,1\n-1,-2\n0.5,0\n";
  EXPECT_EQ(table(task, inputs_csv, "", "", DISCO_LABELS_NONE), nullptr);
  EXPECT_NE(std::string(disco_last_error()).find("needs the training data's transform"),
            std::string::npos);
  EXPECT_EQ(table(task, inputs_csv, "", transform, DISCO_LABELS_REQUIRED), nullptr);
  const std::string renamed_inputs = "first,second\n1,1\n";
  EXPECT_EQ(table(task, renamed_inputs, mapping, transform, DISCO_LABELS_REQUIRED), nullptr);
  EXPECT_NE(std::string(disco_last_error()).find("no column 'class'"), std::string::npos)
      << disco_last_error();
  disco_dataset* mapped_inputs = table(task, renamed_inputs, mapping, transform, DISCO_LABELS_NONE);
  ASSERT_NE(mapped_inputs, nullptr) << disco_last_error();
  EXPECT_EQ(disco_dataset_size(mapped_inputs), 1u);
  disco_dataset_free(mapped_inputs);
  disco_dataset* inputs = table(task, inputs_csv, "", transform, DISCO_LABELS_OPTIONAL);
  ASSERT_NE(inputs, nullptr) << disco_last_error();
  EXPECT_EQ(disco_dataset_labelled(inputs), 0);
  EXPECT_EQ(disco_dataset_size(inputs), 3u);
  disco_dataset* known = table(task, "x1,x2,y\n1,1,b\n", "", transform, DISCO_LABELS_OPTIONAL);
  ASSERT_NE(known, nullptr) << disco_last_error();
  EXPECT_EQ(disco_dataset_labelled(known), 1);

  disco_model* model = disco_model_create(task, 1);
  disco_trainer* trainer = disco_trainer_create(model, 1, 2);
  std::string result = text(disco_trainer_classify(trainer, inputs, 8));
  EXPECT_NE(result.find("\"classes\":[\"a\",\"b\"]"), std::string::npos) << result;
  EXPECT_NE(result.find("\"label\":null"), std::string::npos) << result;
  result = text(disco_trainer_classify(trainer, known, 8));
  EXPECT_NE(result.find("\"label\":[1]"), std::string::npos) << result;

  disco_trainer_free(trainer);
  disco_model_free(model);
  for (disco_dataset* d : {train, inputs, known}) disco_dataset_free(d);
  disco_task_free(task);
}

TEST(CapiData, TextDatasets) {
  const std::string json = R"({
    "id": "chars", "title": "chars",
    "data": {"type": "text", "text": {"sequence_length": 4}},
    "model": {"input_shape": [4],
              "layers": [{"type": "dense", "units": 257, "activation": "softmax"}],
              "loss": "sparse_categorical_crossentropy",
              "optimizer": {"type": "adam", "learning_rate": 0.01}},
    "training": {"epochs": 1, "batch_size": 2, "seed": 1}
  })";
  disco_task* task = parse(json);
  ASSERT_NE(task, nullptr) << disco_last_error();
  const std::vector<uint8_t> empty = bytes("\n\n");
  EXPECT_EQ(
      disco_dataset_from_text(task, "notes.txt", empty.data(), empty.size(), DISCO_LABELS_REQUIRED),
      nullptr);
  EXPECT_NE(std::string(disco_last_error()).find("notes.txt: no text"), std::string::npos)
      << disco_last_error();
  EXPECT_EQ(
      disco_dataset_from_text(task, "notes.txt", empty.data(), empty.size(), DISCO_LABELS_NONE),
      nullptr);
  disco_task* tabular = parse(kTaskJson);
  EXPECT_EQ(disco_dataset_from_text(tabular, "n.txt", empty.data(), empty.size(), 1), nullptr);

  const std::vector<uint8_t> notes = bytes("hello world\nab\n\nxyz\n");
  disco_dataset* train =
      disco_dataset_from_text(task, "notes.txt", notes.data(), notes.size(), DISCO_LABELS_REQUIRED);
  ASSERT_NE(train, nullptr) << disco_last_error();
  EXPECT_EQ(disco_dataset_size(train), 3u);
  disco_dataset* inputs =
      disco_dataset_from_text(task, "notes.txt", notes.data(), notes.size(), DISCO_LABELS_NONE);
  ASSERT_NE(inputs, nullptr) << disco_last_error();
  EXPECT_EQ(disco_dataset_labelled(inputs), 0);
  EXPECT_EQ(disco_dataset_size(inputs), 3u);
  disco_model* model = disco_model_create(task, 1);
  disco_trainer* trainer = disco_trainer_create(model, 1, 2);
  std::string result = text(disco_trainer_classify(trainer, inputs, 8));
  EXPECT_NE(result.find("\"<pad>\""), std::string::npos);
  EXPECT_NE(result.find("\"\\\\n\""), std::string::npos) << result.substr(0, 200);

  disco_trainer_free(trainer);
  disco_model_free(model);
  disco_dataset_free(train);
  disco_dataset_free(inputs);
  disco_task_free(tabular);
  disco_task_free(task);
}

TEST(CapiData, SafetensorsMetadata) {
  disco_task* task = parse(kTaskJson);
  disco_model* model = disco_model_create(task, 1);
  std::vector<uint8_t> meta = bytes(R"({"tabular_transform": "{}", "task": "tiny"})");
  disco_buffer* file = disco_model_save(model, meta.data(), meta.size());
  std::string json =
      text(disco_safetensors_metadata_json(disco_buffer_data(file), disco_buffer_size(file)));
  EXPECT_NE(json.find("\"task\":\"tiny\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"tabular_transform\":\"{}\""), std::string::npos) << json;
  const uint8_t junk[3] = {1, 2, 3};
  EXPECT_EQ(disco_safetensors_metadata_json(junk, sizeof junk), nullptr);
  EXPECT_EQ(disco_last_error_code(), DISCO_CORRUPTION);
  disco_buffer_free(file);
  disco_model_free(model);
  disco_task_free(task);
}

TEST(CapiData, ClientStatusNamesTheServersRefusal) {
  disco_client* client = disco_client_create("tiny", "0123456789abcdef", nullptr, "bad", 0, 0);
  ASSERT_NE(client, nullptr) << disco_last_error();
  disco_client_on_connected(client, 0);
  while (disco_client_next_action(client) != DISCO_ACTION_NONE) {
  }
  std::vector<uint8_t> b = encoded(disco::proto::Message(
      disco::proto::ErrorMessage{disco::proto::ErrorCode::Unauthorized, "bad join token"}));
  disco_client_on_message(client, b.data(), b.size(), 5);
  while (disco_client_next_action(client) != DISCO_ACTION_NONE) {
  }
  std::string status = text(disco_client_status_json(client));
  EXPECT_NE(status.find("\"protocol_code\":\"Unauthorized\""), std::string::npos) << status;
  EXPECT_NE(status.find("bad join token"), std::string::npos) << status;
  disco_client_free(client);
}

}  // namespace
