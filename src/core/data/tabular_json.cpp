// SPDX-License-Identifier: Apache-2.0
// JSON form of a fitted TabularTransform (declared in tabular.hpp). Core is built without
// exceptions (JSON_NOEXCEPTION turns nlohmann's throws into aborts), so input is parsed with
// allow_exceptions = false and every field's type is checked before get<>().
#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/data/parse_util.hpp"
#include "core/data/tabular.hpp"

namespace disco::core {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "disco-tabular-1";

// Typed field access that records the first problem instead of throwing.
class JsonFields {
 public:
  explicit JsonFields(std::string_view source) : source_(source) {}

  bool ok() const { return error_.empty(); }
  Error error() const { return make_error(Errc::Corruption, at_line(source_, 0, error_)); }

  const json* field(const json& obj, const char* key, json::value_t type, const char* type_name) {
    if (!ok()) return nullptr;
    const auto it = obj.find(key);
    const bool number_ok =
        type == json::value_t::number_float && it != obj.end() && it->is_number();
    if (it == obj.end() || (it->type() != type && !number_ok)) {
      error_ = std::string("field '") + key + "' missing or not " + type_name;
      return nullptr;
    }
    return &*it;
  }
  void text(const json& obj, const char* key, std::string& out) {
    if (const json* j = field(obj, key, json::value_t::string, "a string"))
      out = j->get<std::string>();
  }
  void flag(const json& obj, const char* key, bool& out) {
    if (const json* j = field(obj, key, json::value_t::boolean, "a boolean")) out = j->get<bool>();
  }
  void number(const json& obj, const char* key, double& out) {
    if (const json* j = field(obj, key, json::value_t::number_float, "a number"))
      out = j->get<double>();
  }
  void strings(const json& obj, const char* key, std::vector<std::string>& out) {
    const json* j = field(obj, key, json::value_t::array, "an array of strings");
    if (!j) return;
    out.clear();
    for (const json& s : *j) {
      if (!s.is_string()) {
        error_ = std::string("field '") + key + "' must hold only strings";
        return;
      }
      out.push_back(s.get<std::string>());
    }
  }
  void fail(std::string message) {
    if (ok()) error_ = std::move(message);
  }

 private:
  std::string_view source_;
  std::string error_;
};

}  // namespace

std::string tabular_transform_to_json(const TabularTransform& t) {
  const TabularConfig& c = t.config;
  json features = json::array();
  for (const TabularFeature& f : t.features) {
    json j = {{"name", f.name}, {"kind", f.categorical ? "categorical" : "numeric"}};
    if (f.categorical) {
      j["categories"] = f.categories;
      j["mode"] = f.mode;
    } else {
      j["mean"] = f.mean;
      j["std"] = f.std;
    }
    features.push_back(std::move(j));
  }
  json root = {
      {"format", kFormat},
      {"classification", c.classification},
      {"output_columns", c.output_columns},
      {"labels", c.labels},
      {"missing", c.missing == MissingValues::Impute ? "impute" : "reject"},
      {"missing_markers", c.missing_markers},
      {"standardize", c.standardize},
      {"unknown_categories", c.unknown_categories == UnknownCategories::Zeros ? "zeros" : "reject"},
      {"features", std::move(features)},
  };
  // Invalid UTF-8 in a category must not abort the dump: replace it.
  return root.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<TabularTransform> tabular_transform_from_json(std::string_view text,
                                                     std::string_view source) {
  const json root = json::parse(text.begin(), text.end(), nullptr, false);
  if (root.is_discarded() || !root.is_object())
    return line_error(Errc::Corruption, source, 0, "not a JSON object");
  JsonFields in(source);
  std::string format;
  in.text(root, "format", format);
  if (in.ok() && format != kFormat)
    return line_error(Errc::InvalidArgument, source, 0,
                      "unsupported tabular transform format " + in_quotes(format));
  TabularTransform t;
  TabularConfig& c = t.config;
  std::string missing;
  std::string unknown;
  in.flag(root, "classification", c.classification);
  in.strings(root, "output_columns", c.output_columns);
  in.strings(root, "labels", c.labels);
  in.text(root, "missing", missing);
  in.strings(root, "missing_markers", c.missing_markers);
  in.flag(root, "standardize", c.standardize);
  in.text(root, "unknown_categories", unknown);
  if (in.ok() && missing != "impute" && missing != "reject")
    in.fail("field 'missing' must be impute or reject");
  if (in.ok() && unknown != "zeros" && unknown != "reject")
    in.fail("field 'unknown_categories' must be zeros or reject");
  c.missing = missing == "reject" ? MissingValues::Reject : MissingValues::Impute;
  c.unknown_categories = unknown == "zeros" ? UnknownCategories::Zeros : UnknownCategories::Reject;
  const json* features = in.field(root, "features", json::value_t::array, "an array");
  if (features) {
    for (const json& j : *features) {
      if (!j.is_object()) {
        in.fail("field 'features' must hold objects");
        break;
      }
      TabularFeature f;
      std::string kind;
      in.text(j, "name", f.name);
      in.text(j, "kind", kind);
      if (!in.ok()) break;
      if (kind == "categorical") {
        f.categorical = true;
        in.strings(j, "categories", f.categories);
        in.text(j, "mode", f.mode);
        if (in.ok() && !std::is_sorted(f.categories.begin(), f.categories.end()))
          in.fail("categories of '" + f.name + "' are not sorted");
        c.categorical_columns.push_back(f.name);
      } else if (kind == "numeric") {
        in.number(j, "mean", f.mean);
        in.number(j, "std", f.std);
        if (in.ok() && !(f.std > 0.0)) in.fail("std of '" + f.name + "' must be positive");
      } else {
        in.fail("feature kind must be numeric or categorical, got " + in_quotes(kind));
      }
      c.input_columns.push_back(f.name);
      t.features.push_back(std::move(f));
    }
  }
  if (!in.ok()) return in.error();
  if (c.input_columns.empty() || c.output_columns.empty() ||
      (c.classification && (c.output_columns.size() != 1 || c.labels.empty())))
    return line_error(Errc::Corruption, source, 0, "incomplete tabular transform");
  return t;
}

}  // namespace disco::core
