// SPDX-License-Identifier: Apache-2.0
// The CLI subcommands as functions of their parsed options, so tests can call them directly.
// Each returns an Error (printed by main as one line) instead of exiting.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/base/result.hpp"

namespace disco::cli {

struct TrainOptions {
  std::string task;
  std::string data;
  std::string output;       // model file; default "<task id>.safetensors"
  std::string report_json;  // optional machine-readable summary
  std::optional<int64_t> epochs, batch_size, seed, limit;
  std::optional<double> validation_split;
  int threads = 0;  // 0 = all cores
  bool progress = true;
};

struct EvaluateOptions {
  std::string task;
  std::string model;
  std::string data;
  std::string report_json;
  std::optional<int64_t> limit;
  int threads = 0;
};

struct PredictOptions {
  std::string task;
  std::string model;
  std::string data;
  std::string output;  // CSV; "-" or empty = stdout
  std::optional<int64_t> limit;
  int threads = 0;
};

Result<void> run_train(const TrainOptions& options);
Result<void> run_evaluate(const EvaluateOptions& options);
Result<void> run_predict(const PredictOptions& options);
// Lists the built-in tasks (id, data type, title).
Result<void> run_tasks();

}  // namespace disco::cli
