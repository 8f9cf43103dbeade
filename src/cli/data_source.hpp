// SPDX-License-Identifier: Apache-2.0
// Resolving the CLI's --task and --data arguments: a task is a JSON file or the id of a built-in
// task (tasks/<id>.json); data is whatever the task's data type accepts (docs/formats.md):
//   image:   a directory of MNIST IDX files, a directory with one subfolder per label, or a
//            "filename,label" CSV whose images sit beside it;
//   tabular: a CSV file;   text: a text file.
// Without --data, built-in tasks use their default data (Fashion-MNIST from Debian's package,
// tasks/data/penguins.csv).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/result.hpp"
#include "core/data/dataset.hpp"
#include "core/data/tabular.hpp"
#include "core/task.hpp"

namespace disco::cli {

// Loads a task from a file path or a built-in id. Errors name the file and the field.
Result<core::Task> load_task(const std::string& task_arg);

enum class Split { Train, Test };

struct LoadedData {
  core::Dataset data;
  bool labelled = true;  // false: y holds no targets (prediction inputs only)
  std::optional<core::TabularTransform> tabular;  // fitted (train) or given (test)
  std::string source;                             // what was loaded, for messages
};

// Loads labelled data for `task`. For tabular tasks, `transform` (from the trained model) is
// applied when given; otherwise one is fitted on this data. `split` picks the IDX split.
Result<LoadedData> load_data(const core::Task& task, const std::string& data_arg, Split split,
                             const std::optional<core::TabularTransform>& transform);

// Like load_data, but also accepts data without labels, for prediction: a tabular CSV without
// the output columns (needs `transform`), or a flat directory of images. Labelled data loads
// as in load_data.
Result<LoadedData> load_inputs(const core::Task& task, const std::string& data_arg,
                               const std::optional<core::TabularTransform>& transform);

// The first `limit` rows of a seeded permutation (all rows when no limit): `train --limit`,
// `evaluate --limit` and `simulate --limit` pick the same rows for the same seed.
core::Dataset limited(core::Dataset data, std::optional<int64_t> limit, uint64_t seed);

// A byte vector (e.g. save_safetensors' output) as the bytes write_file_atomic takes.
std::span<const std::byte> as_bytes(const std::vector<uint8_t>& v);

// The default data path of a built-in task, or "" when it has none.
std::string default_data(const core::Task& task);

}  // namespace disco::cli
