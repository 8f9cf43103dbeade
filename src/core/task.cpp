// SPDX-License-Identifier: Apache-2.0
#include "core/task.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace disco::core {
namespace {

Result<int64_t> positive(const Json& obj, std::string_view key, std::string_view path,
                         std::optional<int64_t> fallback) {
  Result<int64_t> v = fallback ? get_int_or(obj, key, path, *fallback) : get_int(obj, key, path);
  if (!v) return v.error();
  if (*v <= 0)
    return field_error(path, key, "must be a positive integer, got " + std::to_string(*v));
  return *v;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Result<void> parse_federation(const Json& doc, Task& task) {
  const Json fed = doc.contains("federation") ? doc["federation"] : Json::object();
  if (!fed.is_object()) return field_error("", "federation", "must be an object");
  const std::string path = "federation";
  DISCO_TRY(reject_unknown_fields(
      fed, path,
      {"scheme", "min_participants", "fraction", "round_timeout_s", "aggregation", "buffer_size",
       "staleness", "server_optimizer", "proximal_mu", "summation"}));
  FederationSettings f;
  DISCO_ASSIGN_OR_RETURN(scheme, get_string_or(fed, "scheme", path, "local"));
  if (scheme != "local" && scheme != "federated" && scheme != "decentralized")
    return field_error(
        path, "scheme",
        "must be \"local\", \"federated\" or \"decentralized\", got \"" + scheme + "\"");
  f.scheme = scheme;
  DISCO_ASSIGN_OR_RETURN(min_p, positive(fed, "min_participants", path, 1));
  f.min_participants = min_p;
  DISCO_ASSIGN_OR_RETURN(fraction, get_number_or(fed, "fraction", path, 1.0));
  if (!(fraction > 0.0 && fraction <= 1.0))
    return field_error(path, "fraction", "must be in (0, 1], got " + number_text(fraction));
  f.fraction = fraction;
  DISCO_ASSIGN_OR_RETURN(timeout, get_number_or(fed, "round_timeout_s", path, 0.0));
  if (!(timeout >= 0.0) || !std::isfinite(timeout))
    return field_error(path, "round_timeout_s",
                       "must be a finite number >= 0, got " + number_text(timeout));
  f.round_timeout_s = timeout;
  DISCO_ASSIGN_OR_RETURN(aggregation, get_string_or(fed, "aggregation", path, "sync"));
  if (aggregation != "sync" && aggregation != "async")
    return field_error(path, "aggregation",
                       "must be \"sync\" or \"async\", got \"" + aggregation + "\"");
  f.aggregation = aggregation;
  DISCO_ASSIGN_OR_RETURN(buffer, get_int_or(fed, "buffer_size", path, 0));
  if (buffer < 0)
    return field_error(path, "buffer_size", "must be >= 0, got " + std::to_string(buffer));
  f.buffer_size = buffer;
  if (fed.contains("staleness")) {
    DISCO_ASSIGN_OR_RETURN(st, parse_staleness_policy(fed["staleness"], path + ".staleness"));
    f.staleness = st;
  }
  if (fed.contains("server_optimizer")) {
    DISCO_ASSIGN_OR_RETURN(
        opt, parse_server_optimizer(fed["server_optimizer"], path + ".server_optimizer"));
    f.server_optimizer = opt;
  }
  DISCO_ASSIGN_OR_RETURN(mu, get_number_or(fed, "proximal_mu", path, 0.0));
  if (!(mu >= 0.0) || !std::isfinite(mu))
    return field_error(path, "proximal_mu", "must be a finite number >= 0, got " + number_text(mu));
  f.proximal_mu = mu;
  DISCO_ASSIGN_OR_RETURN(summation, get_string_or(fed, "summation", path, "float64"));
  if (summation != "float64" && summation != "fixed_point")
    return field_error(path, "summation",
                       "must be \"float64\" or \"fixed_point\", got \"" + summation + "\"");
  f.summation = summation;
  task.federation = std::move(f);
  return {};
}

Result<void> parse_data(const Json& doc, Task& task) {
  const std::string path = "data";
  if (!doc.contains("data") || !doc["data"].is_object())
    return make_error(Errc::InvalidArgument, "data: is required and must be an object");
  const Json& d = doc["data"];
  DISCO_TRY(reject_unknown_fields(d, path, {"type", "labels", "image", "tabular", "text"}));
  DISCO_ASSIGN_OR_RETURN(type, get_string(d, "type", path));
  DISCO_ASSIGN_OR_RETURN(labels, get_string_list(d, "labels", path, false));
  task.data.labels = labels;
  if (type == "image") {
    task.data.type = DataType::Image;
    if (!d.contains("image") || !d["image"].is_object())
      return field_error(path, "image", "is required for image tasks ({height, width, channels})");
    const Json& im = d["image"];
    DISCO_TRY(reject_unknown_fields(im, "data.image", {"height", "width", "channels"}));
    DISCO_ASSIGN_OR_RETURN(h, positive(im, "height", "data.image", std::nullopt));
    DISCO_ASSIGN_OR_RETURN(w, positive(im, "width", "data.image", std::nullopt));
    DISCO_ASSIGN_OR_RETURN(c, positive(im, "channels", "data.image", 3));
    if (c != 1 && c != 3) return field_error("data.image", "channels", "must be 1 or 3");
    task.data.image = {h, w, c};
    if (labels.size() < 2) return field_error(path, "labels", "image tasks need at least 2 labels");
  } else if (type == "tabular") {
    task.data.type = DataType::Tabular;
    if (!d.contains("tabular") || !d["tabular"].is_object())
      return field_error(path, "tabular", "is required for tabular tasks");
    const Json& t = d["tabular"];
    const std::string tp = "data.tabular";
    DISCO_TRY(reject_unknown_fields(t, tp,
                                    {"input_columns", "categorical_columns", "output_columns",
                                     "standardize", "missing_values", "categories"}));
    TabularConfig& cfg = task.data.tabular;
    DISCO_ASSIGN_OR_RETURN(in, get_string_list(t, "input_columns", tp, true));
    DISCO_ASSIGN_OR_RETURN(cat, get_string_list(t, "categorical_columns", tp, false));
    DISCO_ASSIGN_OR_RETURN(out, get_string_list(t, "output_columns", tp, true));
    DISCO_ASSIGN_OR_RETURN(standardize, get_bool_or(t, "standardize", tp, true));
    DISCO_ASSIGN_OR_RETURN(missing, get_string_or(t, "missing_values", tp, "impute"));
    if (in.empty()) return field_error(tp, "input_columns", "must name at least one column");
    if (out.empty()) return field_error(tp, "output_columns", "must name at least one column");
    if (missing != "impute" && missing != "reject")
      return field_error(tp, "missing_values", "must be \"impute\" or \"reject\"");
    for (const std::string& c : cat)
      if (std::find(in.begin(), in.end(), c) == in.end())
        return field_error(tp, "categorical_columns", "'" + c + "' is not an input column");
    if (t.contains("categories")) {
      const Json& declared = t["categories"];
      const std::string cp = tp + ".categories";
      if (!declared.is_object())
        return field_error(tp, "categories",
                           "must be an object mapping categorical columns to their values");
      for (const auto& [column, values] : declared.items()) {
        if (std::find(cat.begin(), cat.end(), column) == cat.end())
          return field_error(cp, column, "is not a categorical column");
        DISCO_ASSIGN_OR_RETURN(list, get_string_list(declared, column, cp, true));
        if (list.empty()) return field_error(cp, column, "must list at least one category");
        cfg.categories[column] = list;
      }
    }
    cfg.input_columns = in;
    cfg.categorical_columns = cat;
    cfg.output_columns = out;
    cfg.standardize = standardize;
    cfg.missing = missing == "impute" ? MissingValues::Impute : MissingValues::Reject;
    cfg.classification = !labels.empty();
    cfg.labels = labels;
    if (cfg.classification && out.size() != 1)
      return field_error(tp, "output_columns",
                         "classification tasks need exactly one output column");
  } else if (type == "text") {
    task.data.type = DataType::Text;
    const Json text = d.contains("text") ? d["text"] : Json::object();
    DISCO_ASSIGN_OR_RETURN(len, positive(text, "sequence_length", "data.text", 64));
    task.data.sequence_length = len;
  } else {
    return field_error(path, "type",
                       "must be \"image\", \"tabular\" or \"text\", got \"" + type + "\"");
  }
  return {};
}

Result<void> check_model_fits(const Task& task, const Model& model) {
  const Shape& in = model.input_shape();
  if (task.data.type == DataType::Image) {
    const ImageFormat& im = task.data.image;
    if (in != Shape{im.height, im.width, im.channels})
      return make_error(Errc::InvalidArgument,
                        "model.input_shape: " + in.to_string() + " does not match data.image (" +
                            std::to_string(im.height) + ", " + std::to_string(im.width) + ", " +
                            std::to_string(im.channels) + ")");
  }
  if (!task.data.labels.empty()) {
    int64_t k = model.output_shape().numel();
    auto n = static_cast<int64_t>(task.data.labels.size());
    bool binary_unit = k == 1 && n == 2 && model.loss() == Loss::BinaryCrossEntropy;
    if (k != n && !binary_unit)
      return make_error(Errc::InvalidArgument,
                        "model.layers: the model outputs " + std::to_string(k) +
                            " values but data.labels has " + std::to_string(n) + " classes");
  }
  return {};
}

}  // namespace

const char* data_type_name(DataType t) {
  switch (t) {
    case DataType::Image:
      return "image";
    case DataType::Tabular:
      return "tabular";
    case DataType::Text:
      return "text";
  }
  return "?";
}

Model Task::make_model() const {
  Result<Model> m = Model::from_spec(model_spec);
  DISCO_CHECK(m.has_value(), "task model spec was validated by parse_task");
  return std::move(m).value();
}

int64_t Task::n_rounds() const {
  const int64_t d = training.round_duration;
  DISCO_CHECK(d > 0, "Task::n_rounds: round_duration was validated by parse_task");
  return (training.epochs + d - 1) / d;
}

Result<Task> parse_task(const Json& doc) {
  if (!doc.is_object()) return make_error(Errc::InvalidArgument, "task: must be a JSON object");
  DISCO_TRY(reject_unknown_fields(
      doc, "",
      {"id", "title", "summary", "description", "data", "model", "training", "federation"}));
  Task task;
  task.raw = doc;
  DISCO_ASSIGN_OR_RETURN(id, get_string(doc, "id", ""));
  if (id.empty() || id.size() > 64) return field_error("", "id", "must be 1 to 64 characters");
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
      return field_error("", "id",
                         "may contain only letters, digits, '-' and '_', got '" + id + "'");
  task.id = id;
  DISCO_ASSIGN_OR_RETURN(title, get_string_or(doc, "title", "", id));
  DISCO_ASSIGN_OR_RETURN(summary, get_string_or(doc, "summary", "", ""));
  DISCO_ASSIGN_OR_RETURN(description, get_string_or(doc, "description", "", ""));
  task.title = title;
  task.summary = summary;
  task.description = description;
  DISCO_TRY(parse_data(doc, task));

  if (!doc.contains("model")) return field_error("", "model", "is required");
  DISCO_ASSIGN_OR_RETURN(model, Model::from_spec(doc["model"], "model"));
  DISCO_TRY(check_model_fits(task, model));
  task.model_spec = doc["model"];

  const Json training = doc.contains("training") ? doc["training"] : Json::object();
  if (!training.is_object()) return field_error("", "training", "must be an object");
  DISCO_TRY(reject_unknown_fields(
      training, "training",
      {"epochs", "batch_size", "validation_split", "seed", "round_duration"}));
  DISCO_ASSIGN_OR_RETURN(epochs, positive(training, "epochs", "training", 1));
  DISCO_ASSIGN_OR_RETURN(batch, positive(training, "batch_size", "training", 32));
  DISCO_ASSIGN_OR_RETURN(rounds, positive(training, "round_duration", "training", 1));
  DISCO_ASSIGN_OR_RETURN(split, get_number_or(training, "validation_split", "training", 0.0));
  DISCO_ASSIGN_OR_RETURN(seed, get_int_or(training, "seed", "training", 0));
  if (!(split >= 0.0 && split < 1.0))
    return field_error("training", "validation_split", "must be in [0, 1)");
  if (seed < 0) return field_error("training", "seed", "must be >= 0");
  if (epochs % rounds != 0)
    return field_error("training", "epochs",
                       "must be a multiple of round_duration (" + std::to_string(rounds) + ")");
  task.training = {epochs, batch, split, static_cast<uint64_t>(seed), rounds};

  DISCO_TRY(parse_federation(doc, task));
  return task;
}

Result<Task> parse_task_text(std::string_view text, std::string_view source) {
  DISCO_ASSIGN_OR_RETURN(doc, parse_json(text, source));
  Result<Task> task = parse_task(doc);
  if (!task)
    return make_error(task.error().code, std::string(source) + ": " + task.error().message);
  return task;
}

}  // namespace disco::core
