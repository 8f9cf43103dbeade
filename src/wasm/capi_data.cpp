// SPDX-License-Identifier: Apache-2.0
// The C ABI's data entry points for files as the browser gets them (capi.h, "Data as the user
// picked it") and per-sample classification. Thin adapters over core/data: decoding, CSV parsing,
// the tabular transform and text sampling all live there; this file only routes names and labels
// and builds the (inputs-only) datasets for prediction.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/data/csv.hpp"
#include "core/data/dataset.hpp"
#include "core/data/image.hpp"
#include "core/data/tabular.hpp"
#include "core/data/text.hpp"
#include "core/json_util.hpp"
#include "core/model/safetensors.hpp"
#include "wasm/capi.h"
#include "wasm/capi_internal.hpp"

using disco::Errc;
using disco::core::Json;
using disco::wasm::buffer_of;
using disco::wasm::bytes_of;
using disco::wasm::check_idle;
using disco::wasm::dataset_for;
using disco::wasm::dump;
using disco::wasm::fail;
using disco::wasm::text_of;
using disco::wasm::u8_span;

struct disco_image_builder {
  const disco_task* task = nullptr;  // borrowed; must remain live while the builder is
  int mode = DISCO_LABELS_REQUIRED;
  disco::core::ImageSpec spec;
  std::vector<std::string> labels;  // the task's
  // REQUIRED: core's builder does decoding, label checks and stacking.
  std::optional<disco::core::ImageDatasetBuilder> labelled;
  // NONE / OPTIONAL: decoded pixels back to back, and each image's class (-1: none).
  std::vector<float> pixels;
  std::vector<int64_t> classes;
};

namespace {

std::string name_of(const char* name) { return name && *name ? name : "data"; }

bool valid_mode(int labels) {
  return labels == DISCO_LABELS_NONE || labels == DISCO_LABELS_REQUIRED ||
         labels == DISCO_LABELS_OPTIONAL;
}

// "name: unknown label 'x' (labels: a, b)", worded as core's ImageDatasetBuilder does.
int unknown_label(std::string_view name, std::string_view label,
                  const std::vector<std::string>& labels) {
  std::string known;
  for (std::size_t i = 0; i < labels.size() && i < 20; ++i) known += (i ? ", " : "") + labels[i];
  return fail(Errc::InvalidArgument, std::string(name) + ": unknown label '" + std::string(label) +
                                         "' (labels: " + known + ")");
}

// Class names of the byte tokens of text tasks: printable ASCII as itself, "\n", "0x1f", "<pad>".
std::vector<std::string> token_names() {
  std::vector<std::string> names;
  for (int t = 0; t < disco::core::kTextVocabSize; ++t) {
    if (t == disco::core::kPadToken) {
      names.emplace_back("<pad>");
    } else if (t == '\n') {
      names.emplace_back("\\n");
    } else if (t == '\t') {
      names.emplace_back("\\t");
    } else if (t >= 0x20 && t < 0x7f) {
      names.emplace_back(1, static_cast<char>(t));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "0x%02x", t);
      names.emplace_back(buf);
    }
  }
  return names;
}

// An inputs-only dataset: x as given, y zeros (n,), no classes.
disco_dataset* inputs_dataset(const disco::core::Task& task, disco::core::Tensor x,
                              std::vector<std::string> classes, std::string_view source) {
  disco::core::Dataset data;
  const int64_t n = x.rank() > 0 ? x.dim(0) : 0;
  data.x = std::move(x);
  data.y = disco::core::Tensor::zeros({n});
  disco_dataset* d = dataset_for(task.make_model(), std::move(data), std::nullopt, source);
  if (d) {
    d->labelled = false;
    d->classes = std::move(classes);
  }
  return d;
}

// Replaces "column 'task'" by "column 'csv' (task column 'task')" for every renamed column, so
// core's messages name the column the user knows.
std::string with_csv_names(std::string message,
                           const std::vector<std::pair<std::string, std::string>>& renamed) {
  for (const auto& [task_col, csv_col] : renamed) {
    const std::string from = "column '" + task_col + "'";
    const std::string to = "column '" + csv_col + "' (task column '" + task_col + "')";
    for (std::size_t at = message.find(from); at != std::string::npos;
         at = message.find(from, at + to.size())) {
      message.replace(at, from.size(), to);
    }
  }
  return message;
}

// Renames the table's header so task column names find the mapped CSV columns. A CSV column that
// carries a task column's name but is not mapped to it is renamed out of the way.
// A mapping to a column the file lacks is ignored for the task columns in `optional` (the output
// columns of data whose labels are not required). Errors: InvalidArgument for a mapping that is
// not an object of strings or maps two task columns to one CSV column; NotFound for another CSV
// column the file lacks.
disco::Result<std::vector<std::pair<std::string, std::string>>> apply_mapping(
    disco::core::CsvTable& table, std::string_view columns_json, std::string_view source,
    const std::vector<std::string>& optional) {
  std::vector<std::pair<std::string, std::string>> renamed;
  auto doc = disco::core::parse_json(columns_json, "columns");
  if (!doc) return doc.error();
  if (!doc->is_object()) {
    return disco::make_error(Errc::InvalidArgument,
                             "columns: must map task column names to CSV column names");
  }
  std::map<std::size_t, std::string> target;  // CSV column index -> task column name
  for (const auto& [task_col, value] : doc->items()) {
    if (!value.is_string()) {
      return disco::make_error(Errc::InvalidArgument,
                               "columns." + task_col + ": must be a CSV column name");
    }
    const std::string csv_col = value.get<std::string>();
    if (!table.column(csv_col) &&
        std::find(optional.begin(), optional.end(), task_col) != optional.end()) {
      continue;
    }
    auto index = table.require_column(csv_col, source);
    if (!index) return index.error();
    if (auto it = target.find(*index); it != target.end() && it->second != task_col) {
      return disco::make_error(Errc::InvalidArgument, "columns: '" + it->second + "' and '" +
                                                          task_col + "' both map to CSV column '" +
                                                          csv_col + "'");
    }
    target[*index] = task_col;
    if (task_col != csv_col) renamed.emplace_back(task_col, csv_col);
  }
  std::vector<std::string> header = table.header;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (auto it = target.find(i); it != target.end()) {
      header[i] = it->second;
    } else if (doc->contains(header[i])) {
      header[i] = header[i] + " (unmapped)";
    }
  }
  table.header = std::move(header);
  return renamed;
}

}  // namespace

// ---- Images
// --------------------------------------------------------------------------------------

disco_image_builder* disco_image_builder_create(const disco_task* task, int labels) {
  const disco::core::Task& t = task->task;
  if (t.data.type != disco::core::DataType::Image) {
    fail(Errc::InvalidArgument, "task '" + t.id + "' is not an image task");
    return nullptr;
  }
  if (!valid_mode(labels)) {
    fail(Errc::InvalidArgument, "labels: not a DISCO_LABELS_* value: " + std::to_string(labels));
    return nullptr;
  }
  auto* b = new disco_image_builder;
  b->task = task;
  b->mode = labels;
  b->spec = {t.data.image.height, t.data.image.width, t.data.image.channels};
  b->labels = t.data.labels;
  if (labels == DISCO_LABELS_REQUIRED) b->labelled.emplace(b->spec, b->labels);
  return b;
}

void disco_image_builder_free(disco_image_builder* builder) { delete builder; }

int disco_image_builder_add(disco_image_builder* builder, const char* name, const uint8_t* bytes,
                            size_t size, const char* label) {
  const std::string source = name_of(name);
  if (builder->mode == DISCO_LABELS_REQUIRED) {
    if (!label) return fail(Errc::InvalidArgument, source + ": no label");
    auto added = builder->labelled->add(bytes_of(bytes, size), label, source);
    return added ? DISCO_OK : fail(added.error());
  }
  int64_t cls = -1;
  if (builder->mode == DISCO_LABELS_OPTIONAL && label) {
    auto it = std::find(builder->labels.begin(), builder->labels.end(), label);
    if (it == builder->labels.end()) return unknown_label(source, label, builder->labels);
    cls = it - builder->labels.begin();
  }
  auto image = disco::core::decode_image(bytes_of(bytes, size), builder->spec, source);
  if (!image) return fail(image.error());
  builder->pixels.insert(builder->pixels.end(), image->data(), image->data() + image->numel());
  builder->classes.push_back(cls);
  return DISCO_OK;
}

uint32_t disco_image_builder_size(const disco_image_builder* builder) {
  return disco::wasm::to_u32(builder->labelled ? builder->labelled->size()
                                               : static_cast<int64_t>(builder->classes.size()));
}

disco_dataset* disco_image_builder_finish(disco_image_builder* builder) {
  const disco::core::Task& t = builder->task->task;
  if (disco_image_builder_size(builder) == 0) {
    fail(Errc::InvalidArgument, "no images");
    return nullptr;
  }
  if (builder->labelled) {
    return dataset_for(t.make_model(), builder->labelled->finish(), std::nullopt, "images");
  }
  const auto n = static_cast<int64_t>(builder->classes.size());
  const disco::core::ImageSpec& s = builder->spec;
  disco::core::Tensor x =
      disco::core::Tensor::from({n, s.height, s.width, s.channels}, builder->pixels);
  builder->pixels = {};
  const bool all_labelled = builder->mode == DISCO_LABELS_OPTIONAL &&
                            std::all_of(builder->classes.begin(), builder->classes.end(),
                                        [](int64_t c) { return c >= 0; });
  if (!all_labelled) {
    builder->classes.clear();
    return inputs_dataset(t, std::move(x), builder->labels, "images");
  }
  disco::core::Dataset data;
  data.x = std::move(x);
  data.y = disco::core::Tensor::empty({n});
  for (int64_t i = 0; i < n; ++i) {
    data.y[i] = static_cast<float>(builder->classes[static_cast<std::size_t>(i)]);
  }
  data.n_classes = static_cast<int64_t>(builder->labels.size());
  data.label_names = builder->labels;
  builder->classes.clear();
  return dataset_for(t.make_model(), std::move(data), std::nullopt, "images");
}

// ---- Tables and text
// -----------------------------------------------------------------------------

disco_dataset* disco_dataset_from_table(const disco_task* task, const char* name,
                                        const uint8_t* csv, size_t csv_size,
                                        const uint8_t* columns_json, size_t columns_size,
                                        const uint8_t* transform_json, size_t transform_size,
                                        int labels) {
  const disco::core::Task& t = task->task;
  const std::string source = name_of(name);
  if (t.data.type != disco::core::DataType::Tabular) {
    fail(Errc::InvalidArgument, "task '" + t.id + "' is not a tabular task");
    return nullptr;
  }
  if (!valid_mode(labels)) {
    fail(Errc::InvalidArgument, "labels: not a DISCO_LABELS_* value: " + std::to_string(labels));
    return nullptr;
  }
  auto table = disco::core::parse_csv(text_of(csv, csv_size), source);
  if (!table) {
    fail(table.error());
    return nullptr;
  }
  std::vector<std::pair<std::string, std::string>> renamed;
  if (columns_json && columns_size > 0) {
    const std::vector<std::string> optional = labels == DISCO_LABELS_REQUIRED
                                                  ? std::vector<std::string>{}
                                                  : t.data.tabular.output_columns;
    auto mapped = apply_mapping(*table, text_of(columns_json, columns_size), source, optional);
    if (!mapped) {
      fail(mapped.error());
      return nullptr;
    }
    renamed = std::move(mapped).value();
  }
  auto failed = [&](const disco::Error& e) -> disco_dataset* {
    fail(e.code, with_csv_names(e.message, renamed));
    return nullptr;
  };
  std::optional<disco::core::TabularTransform> transform;
  if (transform_json) {
    auto parsed = disco::core::tabular_transform_from_json(text_of(transform_json, transform_size),
                                                           "transform");
    if (!parsed) return failed(parsed.error());
    transform = std::move(parsed).value();
  }
  bool has_outputs = true;
  for (const std::string& c : t.data.tabular.output_columns) {
    has_outputs = has_outputs && table->column(c).has_value();
  }
  const bool labelled =
      labels == DISCO_LABELS_REQUIRED || (labels == DISCO_LABELS_OPTIONAL && has_outputs);
  if (!labelled) {
    if (!transform) {
      fail(Errc::InvalidArgument,
           source +
               ": data without labels needs the training data's transform (connect "
               "training data or load a trained model first)");
      return nullptr;
    }
    auto x = disco::core::apply_tabular_inputs(*table, *transform, source);
    if (!x) return failed(x.error());
    disco_dataset* d = inputs_dataset(t, std::move(x).value(), transform->config.labels, source);
    if (d) d->transform = std::move(transform);
    return d;
  }
  if (!transform) {
    auto fitted = disco::core::fit_tabular(*table, t.data.tabular, source);
    if (!fitted) return failed(fitted.error());
    transform = std::move(fitted).value();
  }
  auto data = disco::core::apply_tabular(*table, *transform, source);
  if (!data) return failed(data.error());
  return dataset_for(t.make_model(), std::move(data).value(), std::move(transform), source);
}

disco_dataset* disco_dataset_from_text(const disco_task* task, const char* name,
                                       const uint8_t* text, size_t size, int labels) {
  const disco::core::Task& t = task->task;
  const std::string source = name_of(name);
  if (t.data.type != disco::core::DataType::Text) {
    fail(Errc::InvalidArgument, "task '" + t.id + "' is not a text task");
    return nullptr;
  }
  if (!valid_mode(labels)) {
    fail(Errc::InvalidArgument, "labels: not a DISCO_LABELS_* value: " + std::to_string(labels));
    return nullptr;
  }
  const int64_t seq = t.data.sequence_length;
  if (labels == DISCO_LABELS_REQUIRED) {
    disco::core::TextConfig config;
    config.sequence_length = seq;
    auto data = disco::core::make_text_dataset(text_of(text, size), config, source);
    if (!data) {
      fail(data.error());
      return nullptr;
    }
    disco_dataset* d = dataset_for(t.make_model(), std::move(data).value(), std::nullopt, source);
    if (d) d->classes = token_names();
    return d;
  }
  std::vector<float> x;
  for (std::string_view line : disco::core::split_lines(text_of(text, size))) {
    if (line.empty()) continue;
    if (line.size() > static_cast<std::size_t>(seq)) line = line.substr(line.size() - seq);
    const std::vector<int32_t> ids = disco::core::encode_bytes(line);
    x.insert(x.end(), static_cast<std::size_t>(seq) - ids.size(),
             static_cast<float>(disco::core::kPadToken));
    for (int32_t id : ids) x.push_back(static_cast<float>(id));
  }
  if (x.empty()) {
    fail(Errc::InvalidArgument, source + ": no text");
    return nullptr;
  }
  const auto n = static_cast<int64_t>(x.size()) / seq;
  return inputs_dataset(t, disco::core::Tensor::from({n, seq}, x), token_names(), source);
}

int disco_dataset_labelled(const disco_dataset* dataset) { return dataset->labelled ? 1 : 0; }

disco_buffer* disco_dataset_info_json(const disco_dataset* dataset) {
  const disco::core::Dataset& d = dataset->data;
  Json per_class = Json::array();
  if (dataset->labelled && d.is_classification() && d.y.rank() == 1) {
    per_class = disco::core::class_counts(d);
  }
  Json info = {{"n", d.size()},
               {"labelled", dataset->labelled},
               {"n_classes", d.n_classes},
               {"classes", dataset->classes},
               {"per_class", per_class}};
  return buffer_of(dump(info));
}

disco_buffer* disco_safetensors_metadata_json(const uint8_t* safetensors, size_t size) {
  auto meta = disco::core::safetensors_metadata(u8_span(safetensors, size), "model");
  if (!meta) {
    fail(meta.error());
    return nullptr;
  }
  Json j = Json::object();
  for (const auto& [key, value] : *meta) j[key] = value;
  return buffer_of(dump(j));
}

// ---- Per-sample classification
// -------------------------------------------------------------------

disco_buffer* disco_trainer_classify(disco_trainer* trainer, const disco_dataset* data,
                                     uint32_t batch_size) {
  if (check_idle(trainer) != DISCO_OK) return nullptr;
  if (batch_size == 0 || !data || data->data.size() == 0) {
    fail(Errc::InvalidArgument, "classify: empty data or batch_size 0");
    return nullptr;
  }
  disco::core::Trainer& tr = *trainer->trainer;
  const disco::core::Model& m = tr.model();
  if (auto fits = disco::core::check_compatible(m, data->data, "data"); !fits) {
    fail(fits.error());
    return nullptr;
  }
  const disco::core::Loss loss = m.loss();
  if (loss == disco::core::Loss::MeanSquaredError) {
    fail(Errc::InvalidArgument, "classify: the model is a regression model (no classes)");
    return nullptr;
  }
  const disco::core::Trainer::Classification c = tr.classify(data->data.x, batch_size);
  const auto n = static_cast<int64_t>(c.predicted.size());
  // The class count: the model's outputs per sample (per position for (T, k) outputs); one
  // sigmoid unit has two classes.
  const disco::core::Shape& out_shape = m.output_shape();
  const int64_t k = out_shape.rank() >= 2 ? out_shape.dims().back() : out_shape.numel();
  Json label = nullptr;
  if (data->labelled) {
    label = Json::array();
    const disco::core::Tensor& y = data->data.y;
    const int64_t width = y.rank() == 1 ? 1 : y.numel() / n;
    for (int64_t i = 0; i < n; ++i) label.push_back(static_cast<int64_t>(y[i * width + width - 1]));
  }
  std::vector<std::string> classes = data->classes;
  if (classes.empty()) {
    for (int64_t j = 0; j < std::max<int64_t>(k, 2); ++j) classes.push_back(std::to_string(j));
  }
  Json result = {{"classes", classes},
                 {"predicted", c.predicted},
                 {"confidence", c.confidence},
                 {"label", std::move(label)}};
  return buffer_of(dump(result));
}
