// SPDX-License-Identifier: Apache-2.0
// Task: what a group of nodes trains together: display text, the data format, the model spec and
// the training and federation settings. A task is a JSON document (docs/formats.md); parse_task
// validates all of it, including that the model builds and fits the data format, and names the
// offending field in errors ("training.batch_size: must be a positive integer, got 0").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"
#include "core/data/tabular.hpp"
#include "core/json_util.hpp"
#include "core/model/model.hpp"

namespace disco::core {

enum class DataType { Image, Tabular, Text };

struct ImageFormat {
  int64_t height = 0, width = 0, channels = 0;
};

struct DataFormat {
  DataType type = DataType::Image;
  std::vector<std::string> labels;  // class names (index = class id); empty for regression
  ImageFormat image;                // image tasks
  TabularConfig tabular;            // tabular tasks
  int64_t sequence_length = 0;      // text tasks
};

struct TrainingSettings {
  int64_t epochs = 1;
  int64_t batch_size = 32;
  double validation_split = 0.0;
  uint64_t seed = 0;
  int64_t round_duration = 1;  // epochs between two aggregations (federated, decentralized)
};

struct FederationSettings {
  std::string scheme = "local";  // local | federated | decentralized
  int64_t min_participants = 1;
};

struct Task {
  std::string id;
  std::string title;
  std::string summary;
  std::string description;
  DataFormat data;
  Json model_spec;
  TrainingSettings training;
  FederationSettings federation;
  Json raw;  // the document as given (for serving it back)

  // A fresh model from model_spec (weights zero; the spec was validated by parse_task).
  Model make_model() const;
};

const char* data_type_name(DataType t);

// Errors: InvalidArgument naming the field; Corruption for text that is not JSON.
Result<Task> parse_task(const Json& doc);
Result<Task> parse_task_text(std::string_view text, std::string_view source);

}  // namespace disco::core
