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

#include "core/aggregate/server_optimizer.hpp"
#include "core/aggregate/staleness.hpp"
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

// How the nodes of a task aggregate (docs/formats.md, docs/protocol.md).
struct FederationSettings {
  std::string scheme = "local";  // local | federated | decentralized
  int64_t min_participants = 1;  // > 0
  // sync: a round closes once this fraction (0, 1] of the round's participants contributed (and
  // at least min_participants did).
  double fraction = 1.0;
  // sync: seconds after StartRound before the round closes with what it has (or fails with too
  // few contributions); 0 = no deadline. >= 0, finite.
  double round_timeout_s = 0;
  std::string aggregation = "sync";  // sync | async (FedBuff)
  int64_t buffer_size = 0;           // async: aggregate every K contributions; 0 = min_participants
  StalenessPolicy staleness;         // async; JSON "staleness"
  ServerOptimizerConfig server_optimizer;  // JSON "server_optimizer"
  double proximal_mu = 0;                  // client-side FedProx term, >= 0
  // How the server sums weighted updates: "float64" (fast; deterministic per arrival order) or
  // "fixed_point" (exact integer sums on a 2^-32 grid: the same global model whatever order the
  // updates arrive in, at about a fifth of the speed; MeanAggregator).
  std::string summation = "float64";
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
  // Number of aggregations: ceil(training.epochs / training.round_duration); each round trains
  // round_duration local epochs. >= 1 for a parsed task.
  int64_t n_rounds() const;
};

const char* data_type_name(DataType t);

// Errors: InvalidArgument naming the field; Corruption for text that is not JSON.
Result<Task> parse_task(const Json& doc);
Result<Task> parse_task_text(std::string_view text, std::string_view source);

}  // namespace disco::core
