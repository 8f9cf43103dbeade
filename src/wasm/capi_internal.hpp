// SPDX-License-Identifier: Apache-2.0
// What the C ABI's translation units (capi.cpp, capi_data.cpp) share: the handle structs behind
// capi.h's opaque types and the error helpers. Internal to src/wasm; never included by callers
// of the ABI. Handles are not thread-safe (capi.h); the last error is per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/parallel.hpp"
#include "core/base/result.hpp"
#include "core/data/dataset.hpp"
#include "core/data/tabular.hpp"
#include "core/json_util.hpp"
#include "core/model/model.hpp"
#include "core/task.hpp"
#include "core/train/trainer.hpp"
#include "wasm/capi.h"

struct disco_buffer {
  std::vector<uint8_t> bytes;
};

struct disco_task {
  disco::core::Task task;
};

struct disco_model {
  disco::core::Model model;
};

// Invariant: labelled == false means data.y holds zeros (n,) and data.n_classes == 0: inputs for
// prediction only, refused by training and evaluation.
struct disco_dataset {
  disco::core::Dataset data;
  std::optional<disco::core::TabularTransform> transform;  // CSV datasets
  bool labelled = true;
  // Names of the model's output classes, for per-sample results (disco_trainer_classify): the
  // task's labels, or the byte tokens of a text task; empty when unknown (raw floats).
  std::vector<std::string> classes;
};

struct disco_trainer {
  std::unique_ptr<disco::Parallel> pool;  // SerialParallel or runtime::ThreadPool
  std::unique_ptr<disco::core::Trainer> trainer;
  // The epoch in progress (begin_epoch .. end_epoch).
  bool in_epoch = false;
  int64_t batch_size = 0;
  disco::core::BatchStats epoch_stats;
  bool in_round = false;  // a disco_round borrows the trainer
};

namespace disco::wasm {

// Records `error` as this thread's last error and returns its DISCO_* code.
int fail(const Error& error);
int fail(Errc errc, std::string message);

inline std::span<const std::byte> bytes_of(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const std::byte*>(data), data ? size : 0};
}
inline std::span<const uint8_t> u8_span(const uint8_t* data, size_t size) {
  return {data, data ? size : 0};
}
inline std::string_view text_of(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), data ? size : 0};
}
inline uint32_t to_u32(int64_t v) { return static_cast<uint32_t>(v < 0 ? 0 : v); }

std::string dump(const core::Json& j);
disco_buffer* buffer_of(std::string_view text);

// DISCO_OK when the trainer has neither an open epoch nor a live round, else the error's code.
int check_idle(const disco_trainer* t);
// DISCO_OK when `data` is labelled, non-empty and fits the trainer's model, with batch_size > 0.
int check_data(const disco_trainer* t, const disco_dataset* data, uint32_t batch_size);

// Wraps a dataset after checking that it fits `model`; NULL (last error set) when it does not.
disco_dataset* dataset_for(const core::Model& model, core::Dataset data,
                           std::optional<core::TabularTransform> transform,
                           std::string_view source);

}  // namespace disco::wasm
