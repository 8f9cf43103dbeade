// SPDX-License-Identifier: Apache-2.0
// The C ABI of capi.h: thin adapters from handles, pointers and lengths to core and proto.
// No protocol or ML logic lives here; every decision is delegated (STYLE 2.7, "Browser").
#include "wasm/capi.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/base/parallel.hpp"
#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/data/csv.hpp"
#include "core/data/dataset.hpp"
#include "core/data/idx.hpp"
#include "core/data/tabular.hpp"
#include "core/json_util.hpp"
#include "core/model/safetensors.hpp"
#include "core/task.hpp"
#include "core/train/local_round.hpp"
#include "core/train/trainer.hpp"
#include "proto/codec.hpp"
#include "proto/federated_client.hpp"
#include "runtime/thread_pool.hpp"
#include "wasm/capi_internal.hpp"

namespace {

using disco::Errc;
using disco::Error;
using disco::core::Json;

// The build's pthread pool size (CMakeLists.txt: -sPTHREAD_POOL_SIZE=2): a ThreadPool of
// n_threads starts n_threads - 1 pthreads, and more live threads than the pool holds hang.
#if defined(__EMSCRIPTEN__) && !defined(__EMSCRIPTEN_PTHREADS__)
constexpr uint32_t kMaxThreads = 1;
#elif defined(__EMSCRIPTEN__)
constexpr uint32_t kMaxThreads = 3;
#else
constexpr uint32_t kMaxThreads = 256;
#endif

struct LastError {
  int code = DISCO_OK;
  std::string message;
};
thread_local LastError last_error;

int code_of(Errc errc) {
  switch (errc) {
    case Errc::InvalidArgument:
      return DISCO_INVALID_ARGUMENT;
    case Errc::NotFound:
      return DISCO_NOT_FOUND;
    case Errc::Corruption:
      return DISCO_CORRUPTION;
    case Errc::ProtocolViolation:
      return DISCO_PROTOCOL_VIOLATION;
    case Errc::Unavailable:
      return DISCO_UNAVAILABLE;
    case Errc::Cancelled:
      return DISCO_CANCELLED;
    case Errc::Internal:
      return DISCO_INTERNAL;
  }
  return DISCO_INTERNAL;
}

Json evaluation_json(const disco::core::Evaluation& ev) {
  Json confusion = Json::array();
  for (int64_t r = 0; r < ev.n_classes; ++r) {
    Json row = Json::array();
    for (int64_t c = 0; c < ev.n_classes; ++c) {
      row.push_back(ev.confusion[static_cast<std::size_t>(r * ev.n_classes + c)]);
    }
    confusion.push_back(std::move(row));
  }
  return Json{{"loss", ev.loss},           {"accuracy", ev.accuracy}, {"n", ev.n},
              {"n_classes", ev.n_classes}, {"confusion", confusion},  {"precision", ev.precision},
              {"recall", ev.recall}};
}

}  // namespace

namespace disco::wasm {

int fail(const Error& error) {
  last_error.code = code_of(error.code);
  last_error.message = error.message;
  return last_error.code;
}
int fail(Errc errc, std::string message) { return fail(Error{errc, std::move(message)}); }

std::string dump(const core::Json& j) {
  return j.dump(-1, ' ', false, core::Json::error_handler_t::replace);
}

disco_buffer* buffer_of(std::string_view text) {
  auto* b = new disco_buffer;
  b->bytes.assign(text.begin(), text.end());
  return b;
}

// Epoch / round exclusivity: one activity per trainer at a time.
int check_idle(const disco_trainer* t) {
  if (t->in_epoch) return fail(Errc::InvalidArgument, "the trainer is in an epoch");
  if (t->in_round) return fail(Errc::InvalidArgument, "the trainer is in a local round");
  return DISCO_OK;
}

int check_data(const disco_trainer* t, const disco_dataset* data, uint32_t batch_size) {
  if (batch_size == 0) return fail(Errc::InvalidArgument, "batch_size: must be positive");
  if (!data || data->data.size() == 0) return fail(Errc::InvalidArgument, "data: empty");
  if (!data->labelled) {
    return fail(Errc::InvalidArgument, "data: has no labels (inputs for prediction only)");
  }
  auto fits = core::check_compatible(t->trainer->model(), data->data, "data");
  return fits ? DISCO_OK : fail(fits.error());
}

disco_dataset* dataset_for(const core::Model& model, core::Dataset data,
                           std::optional<core::TabularTransform> transform,
                           std::string_view source) {
  if (auto fits = core::check_compatible(model, data, source); !fits) {
    fail(fits.error());
    return nullptr;
  }
  auto* d = new disco_dataset;
  d->data = std::move(data);
  d->transform = std::move(transform);
  d->classes = d->data.label_names;
  return d;
}

}  // namespace disco::wasm

using disco::wasm::buffer_of;
using disco::wasm::bytes_of;
using disco::wasm::check_data;
using disco::wasm::check_idle;
using disco::wasm::dataset_for;
using disco::wasm::dump;
using disco::wasm::fail;
using disco::wasm::text_of;
using disco::wasm::to_u32;
using disco::wasm::u8_span;

// ---- Handle types
// --------------------------------------------------------------------------------

struct disco_round {
  disco_trainer* owner;  // borrowed; must remain live while the round is
  std::optional<disco::core::LocalRound> round;
  std::optional<disco::core::LocalRoundResult> result;
};

struct disco_client {
  std::unique_ptr<disco::proto::FederatedClient> machine;
  int kind = DISCO_ACTION_NONE;
  std::vector<uint8_t> bytes;  // Send bytes or Close reason
  uint64_t round = 0;
  std::vector<float> weights;  // TrainLocal / Finished weights
};

namespace {

// Host milliseconds to a machine Time; non-finite values count as 0 (the origin).
disco::proto::Time time_of(double now_ms) {
  if (!std::isfinite(now_ms) || std::fabs(now_ms) > 1e15) now_ms = 0;
  return disco::proto::Time::from_ms(static_cast<int64_t>(std::floor(now_ms)));
}

}  // namespace

// Definitions: capi.h declares every function extern "C", which these inherit.

// ---- Errors and version
// --------------------------------------------------------------------------

int disco_last_error_code(void) { return last_error.code; }
const char* disco_last_error(void) { return last_error.message.c_str(); }
const char* disco_version(void) { return "0.1.0"; }
uint32_t disco_max_threads(void) { return kMaxThreads; }

// ---- Buffers
// -------------------------------------------------------------------------------------

const uint8_t* disco_buffer_data(const disco_buffer* buffer) { return buffer->bytes.data(); }
size_t disco_buffer_size(const disco_buffer* buffer) { return buffer->bytes.size(); }
void disco_buffer_free(disco_buffer* buffer) { delete buffer; }

// ---- Task
// ----------------------------------------------------------------------------------------

disco_task* disco_task_parse(const uint8_t* json, size_t size) {
  auto task = disco::core::parse_task_text(text_of(json, size), "task");
  if (!task) {
    fail(task.error());
    return nullptr;
  }
  return new disco_task{std::move(task).value()};
}

void disco_task_free(disco_task* task) { delete task; }

disco_buffer* disco_task_info_json(const disco_task* task) {
  const disco::core::Task& t = task->task;
  Json info = {
      {"id", t.id},
      {"title", t.title},
      {"summary", t.summary},
      {"description", t.description},
      {"data_type", disco::core::data_type_name(t.data.type)},
      {"labels", t.data.labels},
      {"n_rounds", t.n_rounds()},
      {"training",
       {{"epochs", t.training.epochs},
        {"batch_size", t.training.batch_size},
        {"validation_split", t.training.validation_split},
        {"seed", t.training.seed},
        {"round_duration", t.training.round_duration}}},
      {"federation",
       {{"scheme", t.federation.scheme},
        {"min_participants", t.federation.min_participants},
        {"proximal_mu", t.federation.proximal_mu}}},
      {"raw", t.raw},
  };
  return buffer_of(dump(info));
}

// ---- Model
// ---------------------------------------------------------------------------------------

disco_model* disco_model_create(const disco_task* task, uint32_t seed) {
  auto* m = new disco_model{task->task.make_model()};
  disco::Rng rng(seed);
  m->model.init_weights(rng);
  return m;
}

disco_model* disco_model_load(const uint8_t* safetensors, size_t size) {
  auto model = disco::core::model_from_safetensors(u8_span(safetensors, size), "model");
  if (!model) {
    fail(model.error());
    return nullptr;
  }
  return new disco_model{std::move(model).value()};
}

void disco_model_free(disco_model* model) { delete model; }

int disco_model_load_weights(disco_model* model, const uint8_t* safetensors, size_t size) {
  // Into a copy first: load_safetensors may stop half way, and a failed load must not leave the
  // model with mixed weights.
  disco::core::Model staged = model->model.clone();
  auto loaded = disco::core::load_safetensors(staged, u8_span(safetensors, size), "model");
  if (!loaded) return fail(loaded.error());
  std::span<const float> w = staged.weights();
  std::copy(w.begin(), w.end(), model->model.weights().begin());
  return DISCO_OK;
}

disco_buffer* disco_model_save(const disco_model* model, const uint8_t* metadata_json,
                               size_t size) {
  std::map<std::string, std::string> extra;
  if (metadata_json && size > 0) {
    auto doc = disco::core::parse_json(text_of(metadata_json, size), "metadata");
    if (!doc || !doc->is_object()) {
      fail(Errc::InvalidArgument, "metadata: must be a JSON object of strings");
      return nullptr;
    }
    for (const auto& [key, value] : doc->items()) {
      if (!value.is_string()) {
        fail(Errc::InvalidArgument, "metadata." + key + ": must be a string");
        return nullptr;
      }
      extra[key] = value.get<std::string>();
    }
  }
  auto* b = new disco_buffer;
  b->bytes = disco::core::save_safetensors(model->model, extra);
  return b;
}

const char* disco_model_fingerprint(const disco_model* model) {
  return model->model.fingerprint().c_str();
}

size_t disco_model_n_weights(const disco_model* model) {
  return static_cast<size_t>(model->model.n_weights());
}

float* disco_model_weights(disco_model* model) { return model->model.weights().data(); }

int disco_model_get_weights(const disco_model* model, float* out, size_t n) {
  std::span<const float> w = model->model.weights();
  if (n != w.size() || (n > 0 && !out)) {
    return fail(Errc::InvalidArgument, "weights: expected " + std::to_string(w.size()) +
                                           " floats, got " + std::to_string(n));
  }
  if (n > 0) std::memcpy(out, w.data(), n * sizeof(float));
  return DISCO_OK;
}

int disco_model_set_weights(disco_model* model, const float* weights, size_t n) {
  std::span<float> w = model->model.weights();
  if (n != w.size() || (n > 0 && !weights)) {
    return fail(Errc::InvalidArgument, "weights: expected " + std::to_string(w.size()) +
                                           " floats, got " + std::to_string(n));
  }
  if (n > 0) std::memcpy(w.data(), weights, n * sizeof(float));
  return DISCO_OK;
}

// ---- Dataset
// -------------------------------------------------------------------------------------

disco_dataset* disco_dataset_from_idx(const disco_task* task, const uint8_t* images,
                                      size_t images_size, const uint8_t* labels,
                                      size_t labels_size) {
  const disco::core::Task& t = task->task;
  if (t.data.type != disco::core::DataType::Image) {
    fail(Errc::InvalidArgument, "task '" + t.id + "' is not an image task");
    return nullptr;
  }
  auto data =
      disco::core::parse_idx_dataset(bytes_of(images, images_size), "images",
                                     bytes_of(labels, labels_size), "labels", t.data.labels);
  if (!data) {
    fail(data.error());
    return nullptr;
  }
  return dataset_for(t.make_model(), std::move(data).value(), std::nullopt, "images");
}

disco_dataset* disco_dataset_from_csv(const disco_task* task, const uint8_t* csv, size_t csv_size,
                                      const uint8_t* transform_json, size_t transform_size) {
  // A labelled table under the task's own column names.
  return disco_dataset_from_table(task, "csv", csv, csv_size, nullptr, 0, transform_json,
                                  transform_size, DISCO_LABELS_REQUIRED);
}

disco_dataset* disco_dataset_from_floats(const disco_model* model, uint32_t n_samples,
                                         const float* x, size_t x_count, const float* y,
                                         size_t y_count, uint32_t n_classes) {
  const disco::core::Model& m = model->model;
  const auto n = static_cast<size_t>(n_samples);
  const auto per_sample = static_cast<size_t>(m.input_shape().numel());
  if (n == 0 || x_count != n * per_sample || !x) {
    fail(Errc::InvalidArgument, "x: expected n_samples * " + std::to_string(per_sample) +
                                    " floats for " + std::to_string(n) + " samples, got " +
                                    std::to_string(x_count));
    return nullptr;
  }
  if (!y || y_count == 0 || y_count % n != 0 || (n_classes > 0 && y_count != n)) {
    fail(Errc::InvalidArgument,
         "y: expected " + std::string(n_classes > 0 ? "one label" : "k targets") +
             " per sample for " + std::to_string(n) + " samples, got " + std::to_string(y_count));
    return nullptr;
  }
  disco::core::Dataset data;
  disco::core::Shape x_shape;
  x_shape.push_back(static_cast<int64_t>(n));
  for (int64_t d : m.input_shape().dims()) x_shape.push_back(d);
  data.x = disco::core::Tensor::from(x_shape, {x, x_count});
  if (n_classes > 0) {
    for (size_t i = 0; i < n; ++i) {
      if (!(y[i] >= 0 && y[i] < static_cast<float>(n_classes)) || y[i] != std::floor(y[i])) {
        fail(Errc::InvalidArgument,
             "y[" + std::to_string(i) + "]: not a class index below " + std::to_string(n_classes));
        return nullptr;
      }
    }
    data.y = disco::core::Tensor::from({static_cast<int64_t>(n)}, {y, y_count});
    data.n_classes = n_classes;
    for (uint32_t c = 0; c < n_classes; ++c) data.label_names.push_back(std::to_string(c));
  } else {
    data.y = disco::core::Tensor::from({static_cast<int64_t>(n), static_cast<int64_t>(y_count / n)},
                                       {y, y_count});
  }
  return dataset_for(m, std::move(data), std::nullopt, "floats");
}

void disco_dataset_free(disco_dataset* dataset) { delete dataset; }

uint32_t disco_dataset_size(const disco_dataset* dataset) { return to_u32(dataset->data.size()); }

disco_buffer* disco_dataset_transform_json(const disco_dataset* dataset) {
  if (!dataset->transform) {
    fail(Errc::InvalidArgument, "the dataset has no tabular transform (not built from CSV)");
    return nullptr;
  }
  return buffer_of(disco::core::tabular_transform_to_json(*dataset->transform));
}

disco_dataset* disco_dataset_split(disco_dataset* dataset, double fraction, uint32_t seed) {
  disco::core::Dataset& d = dataset->data;
  disco::Rng rng(seed);
  auto parts =
      disco::core::split_validation(d, fraction, rng, d.is_classification() && d.y.rank() == 1);
  if (!parts) {
    fail(parts.error());
    return nullptr;
  }
  d = std::move(parts->train);
  auto* validation = new disco_dataset;
  validation->data = std::move(parts->validation);
  validation->transform = dataset->transform;
  validation->labelled = dataset->labelled;
  validation->classes = dataset->classes;
  return validation;
}

// ---- Trainer
// -------------------------------------------------------------------------------------

disco_trainer* disco_trainer_create(disco_model* model, uint32_t n_threads, uint32_t seed) {
  if (n_threads == 0 || n_threads > kMaxThreads) {
    fail(Errc::InvalidArgument, "n_threads: must be in [1, " + std::to_string(kMaxThreads) +
                                    "], got " + std::to_string(n_threads));
    return nullptr;
  }
  auto t = std::make_unique<disco_trainer>();
  if (n_threads == 1) {
    t->pool = std::make_unique<disco::SerialParallel>();
  } else {
    t->pool = std::make_unique<disco::runtime::ThreadPool>(static_cast<int>(n_threads));
  }
  auto trainer = disco::core::Trainer::create(model->model, *t->pool, seed);
  if (!trainer) {
    fail(trainer.error());
    return nullptr;
  }
  t->trainer = std::move(trainer).value();
  return t.release();
}

void disco_trainer_free(disco_trainer* trainer) { delete trainer; }

int disco_trainer_begin_epoch(disco_trainer* trainer, const disco_dataset* data,
                              uint32_t batch_size) {
  if (int rc = check_idle(trainer); rc != DISCO_OK) return rc;
  if (int rc = check_data(trainer, data, batch_size); rc != DISCO_OK) return rc;
  trainer->in_epoch = true;
  trainer->batch_size = batch_size;
  trainer->epoch_stats = {};
  trainer->trainer->begin_epoch(data->data, batch_size);
  return DISCO_OK;
}

int disco_trainer_step(disco_trainer* trainer) {
  if (!trainer->in_epoch) {
    fail(Errc::InvalidArgument, "no epoch in progress (call disco_trainer_begin_epoch)");
    return -1;
  }
  std::optional<disco::core::BatchStats> stats = trainer->trainer->train_next();
  if (!stats) return 0;
  trainer->epoch_stats.add(*stats);
  return 1;
}

uint32_t disco_trainer_batches_done(const disco_trainer* trainer) {
  return to_u32(trainer->trainer->epoch_position());
}
uint32_t disco_trainer_n_batches(const disco_trainer* trainer) {
  return to_u32(trainer->trainer->epoch_batches());
}
double disco_trainer_loss(const disco_trainer* trainer) { return trainer->epoch_stats.loss(); }
double disco_trainer_accuracy(const disco_trainer* trainer) {
  return trainer->epoch_stats.accuracy();
}

disco_buffer* disco_trainer_end_epoch(disco_trainer* trainer, const disco_dataset* validation) {
  if (!trainer->in_epoch) {
    fail(Errc::InvalidArgument, "no epoch in progress (call disco_trainer_begin_epoch)");
    return nullptr;
  }
  if (validation && validation->data.size() > 0) {
    if (!validation->labelled) {
      fail(Errc::InvalidArgument, "validation: has no labels (inputs for prediction only)");
      return nullptr;
    }
    auto fits =
        disco::core::check_compatible(trainer->trainer->model(), validation->data, "validation");
    if (!fits) {
      fail(fits.error());
      return nullptr;
    }
  }
  disco::core::EpochLog log =
      trainer->trainer->end_epoch(validation ? &validation->data : nullptr, trainer->batch_size);
  trainer->in_epoch = false;
  Json j = {{"epoch", log.epoch},
            {"loss", log.loss},
            {"accuracy", log.accuracy},
            {"n_samples", log.n_samples},
            {"validation", log.validation ? evaluation_json(*log.validation) : Json(nullptr)}};
  return buffer_of(dump(j));
}

disco_buffer* disco_trainer_evaluate(disco_trainer* trainer, const disco_dataset* data,
                                     uint32_t batch_size) {
  if (check_idle(trainer) != DISCO_OK || check_data(trainer, data, batch_size) != DISCO_OK) {
    return nullptr;
  }
  return buffer_of(dump(evaluation_json(trainer->trainer->evaluate(data->data, batch_size))));
}

disco_buffer* disco_trainer_predict(disco_trainer* trainer, const float* x, size_t x_count,
                                    uint32_t batch_size) {
  if (check_idle(trainer) != DISCO_OK) return nullptr;
  const disco::core::Model& m = trainer->trainer->model();
  const auto per_sample = static_cast<size_t>(m.input_shape().numel());
  if (batch_size == 0 || !x || x_count == 0 || x_count % per_sample != 0) {
    fail(Errc::InvalidArgument, "predict: x must hold a positive multiple of " +
                                    std::to_string(per_sample) +
                                    " floats and batch_size be positive");
    return nullptr;
  }
  disco::core::Shape shape;
  shape.push_back(static_cast<int64_t>(x_count / per_sample));
  for (int64_t d : m.input_shape().dims()) shape.push_back(d);
  disco::core::Tensor out =
      trainer->trainer->predict(disco::core::Tensor::from(shape, {x, x_count}), batch_size);
  auto* b = new disco_buffer;
  const auto* p = reinterpret_cast<const uint8_t*>(out.data());
  b->bytes.assign(p, p + out.numel() * static_cast<int64_t>(sizeof(float)));
  return b;
}

// ---- Local round
// ---------------------------------------------------------------------------------

disco_round* disco_round_begin(disco_trainer* trainer, const disco_dataset* data,
                               const float* global, size_t n_global, uint32_t epochs,
                               uint32_t batch_size, float proximal_mu, int has_seed,
                               uint32_t seed) {
  if (check_idle(trainer) != DISCO_OK) return nullptr;
  if (!data || (n_global > 0 && !global)) {
    fail(Errc::InvalidArgument, "round: data and global weights are required");
    return nullptr;
  }
  if (!data->labelled) {
    fail(Errc::InvalidArgument, "round: the data has no labels (inputs for prediction only)");
    return nullptr;
  }
  disco::core::LocalRoundOptions options;
  options.epochs = epochs;
  options.batch_size = batch_size;
  options.proximal_mu = proximal_mu;
  if (has_seed) options.seed = seed;
  auto round =
      disco::core::LocalRound::begin(*trainer->trainer, {global, n_global}, data->data, options);
  if (!round) {
    fail(round.error());
    return nullptr;
  }
  trainer->in_round = true;
  return new disco_round{trainer, std::move(round).value(), std::nullopt};
}

int disco_round_step(disco_round* round) {
  if (round->result) return 0;
  if (round->round->step()) return 1;
  round->result = round->round->finish();
  return 0;
}

uint32_t disco_round_epoch(const disco_round* round) { return to_u32(round->round->epoch()); }
uint32_t disco_round_batches_done(const disco_round* round) {
  return to_u32(round->round->batches_done());
}
uint32_t disco_round_n_batches(const disco_round* round) {
  return to_u32(round->round->n_batches());
}
double disco_round_loss(const disco_round* round) {
  return round->result ? round->result->loss : round->round->stats().loss();
}
double disco_round_accuracy(const disco_round* round) {
  return round->result ? round->result->accuracy : round->round->stats().accuracy();
}
const float* disco_round_delta(const disco_round* round) {
  return round->result ? round->result->delta.data() : nullptr;
}
size_t disco_round_delta_size(const disco_round* round) {
  return round->result ? round->result->delta.size() : 0;
}
uint32_t disco_round_n_samples(const disco_round* round) {
  return round->result ? static_cast<uint32_t>(round->result->n_samples) : 0;
}
uint32_t disco_round_epochs_done(const disco_round* round) {
  return to_u32(static_cast<int64_t>(round->round->epoch_logs().size()));
}
double disco_round_epoch_loss(const disco_round* round, uint32_t epoch) {
  const auto& logs = round->round->epoch_logs();
  return epoch >= 1 && epoch <= logs.size() ? logs[epoch - 1].loss : std::nan("");
}
double disco_round_epoch_accuracy(const disco_round* round, uint32_t epoch) {
  const auto& logs = round->round->epoch_logs();
  return epoch >= 1 && epoch <= logs.size() ? logs[epoch - 1].accuracy : std::nan("");
}

void disco_round_free(disco_round* round) {
  if (!round) return;
  if (!round->result) round->owner->trainer->clear_proximal();
  round->owner->in_round = false;
  delete round;
}

// ---- Federated client
// ----------------------------------------------------------------------------

disco_client* disco_client_create(const char* task_id, const char* model_fingerprint,
                                  const char* client_id, const char* join_token,
                                  double hello_timeout_ms, double keepalive_ms) {
  disco::proto::ClientConfig config;
  config.task_id = task_id ? task_id : "";
  config.model_fingerprint = model_fingerprint ? model_fingerprint : "";
  if (client_id && *client_id) config.client_id = client_id;
  if (join_token && *join_token) config.join_token = join_token;
  if (!(hello_timeout_ms >= 0) || hello_timeout_ms > 1e12) {
    fail(Errc::InvalidArgument, "hello_timeout: must be >= 0 ms");
    return nullptr;
  }
  config.hello_timeout = disco::proto::Duration(static_cast<int64_t>(hello_timeout_ms));
  if (!(keepalive_ms >= 0) || keepalive_ms > 1e12) {
    fail(Errc::InvalidArgument, "keepalive: must be >= 0 ms");
    return nullptr;
  }
  config.keepalive = disco::proto::Duration(static_cast<int64_t>(keepalive_ms));
  if (auto valid = disco::proto::validate(config); !valid) {
    fail(valid.error());
    return nullptr;
  }
  auto* c = new disco_client;
  c->machine = std::make_unique<disco::proto::FederatedClient>(std::move(config));
  return c;
}

void disco_client_free(disco_client* client) { delete client; }

void disco_client_on_connected(disco_client* client, double now_ms) {
  client->machine->on_connected(time_of(now_ms));
}

void disco_client_on_message(disco_client* client, const uint8_t* bytes, size_t size,
                             double now_ms) {
  client->machine->on_message(bytes_of(bytes, size), time_of(now_ms));
}

void disco_client_on_trained(disco_client* client, uint32_t round, const float* delta, size_t n,
                             uint32_t n_samples, double loss, double accuracy, double now_ms) {
  disco::proto::TrainMetrics metrics;
  if (!std::isnan(loss)) metrics.loss = loss;
  if (!std::isnan(accuracy)) metrics.accuracy = accuracy;
  std::vector<float> values(delta, delta ? delta + n : delta);
  client->machine->on_trained(round, std::move(values), n_samples, metrics, time_of(now_ms));
}

void disco_client_on_timeout(disco_client* client, double now_ms) {
  client->machine->on_timeout(time_of(now_ms));
}

int disco_client_next_action(disco_client* client) {
  using Client = disco::proto::FederatedClient;
  client->kind = DISCO_ACTION_NONE;
  client->bytes.clear();
  client->round = 0;
  client->weights.clear();
  std::optional<Client::Action> action = client->machine->next_action();
  if (!action) return DISCO_ACTION_NONE;
  if (auto* send = std::get_if<Client::Send>(&*action)) {
    const auto* p = reinterpret_cast<const uint8_t*>(send->bytes.data());
    client->bytes.assign(p, p + send->bytes.size());
    client->kind = DISCO_ACTION_SEND;
  } else if (auto* train = std::get_if<Client::TrainLocal>(&*action)) {
    client->round = train->round;
    client->weights = std::move(train->weights.values);
    client->kind = DISCO_ACTION_TRAIN_LOCAL;
  } else if (auto* close = std::get_if<Client::Close>(&*action)) {
    client->bytes.assign(close->reason.begin(), close->reason.end());
    client->kind = DISCO_ACTION_CLOSE;
  } else if (auto* finished = std::get_if<Client::Finished>(&*action)) {
    client->round = finished->round;
    client->weights = std::move(finished->weights.values);
    client->kind = DISCO_ACTION_FINISHED;
  }
  return client->kind;
}

const uint8_t* disco_client_action_bytes(const disco_client* client) {
  return client->bytes.data();
}
size_t disco_client_action_size(const disco_client* client) { return client->bytes.size(); }
uint32_t disco_client_action_round(const disco_client* client) {
  return static_cast<uint32_t>(client->round);
}
const float* disco_client_action_weights(const disco_client* client) {
  return client->weights.data();
}
size_t disco_client_action_n_weights(const disco_client* client) { return client->weights.size(); }

double disco_client_deadline(const disco_client* client) {
  std::optional<disco::proto::Time> deadline = client->machine->deadline();
  return deadline ? static_cast<double>(deadline->ms()) : std::numeric_limits<double>::quiet_NaN();
}

disco_buffer* disco_client_status_json(const disco_client* client) {
  const disco::proto::ClientStatus& s = client->machine->status();
  Json metrics = nullptr;
  if (s.last_round_metrics) {
    metrics = {{"loss", s.last_round_metrics->loss ? Json(*s.last_round_metrics->loss) : Json()},
               {"accuracy",
                s.last_round_metrics->accuracy ? Json(*s.last_round_metrics->accuracy) : Json()}};
  }
  Json error = nullptr;
  if (s.last_error) {
    error = {{"code", disco::errc_name(s.last_error->code)},
             {"message", s.last_error->message},
             {"protocol_code", s.last_error_code
                                   ? Json(disco::proto::error_code_name(*s.last_error_code))
                                   : Json(nullptr)}};
  }
  Json j = {{"phase", disco::proto::client_phase_name(s.phase)},
            {"round", s.round},
            {"n_rounds_completed", s.n_rounds_completed},
            {"n_connected", s.n_connected},
            {"n_required", s.n_required},
            {"client_id", s.client_id},
            {"n_params", s.n_params},
            {"last_round_metrics", metrics},
            {"last_round_participants", s.last_round_participants},
            {"last_error", error}};
  return buffer_of(dump(j));
}
