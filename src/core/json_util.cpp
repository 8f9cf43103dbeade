// SPDX-License-Identifier: Apache-2.0
#include "core/json_util.hpp"

#include <algorithm>

namespace disco::core {
namespace {

bool absent(const Json& obj, std::string_view key) {
  auto it = obj.find(std::string(key));
  return it == obj.end() || it->is_null();
}

}  // namespace

Result<Json> parse_json(std::string_view text, std::string_view source) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return make_error(Errc::Corruption, std::string(source) + ": invalid JSON");
  return j;
}

std::string field_path(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

Error field_error(std::string_view path, std::string_view key, const std::string& why) {
  return make_error(Errc::InvalidArgument, field_path(path, key) + ": " + why);
}

Result<std::string> get_string(const Json& obj, std::string_view key, std::string_view path) {
  if (absent(obj, key)) return field_error(path, key, "is required");
  const Json& v = obj[std::string(key)];
  if (!v.is_string()) return field_error(path, key, "must be a string, got " + v.dump());
  return v.get<std::string>();
}

Result<int64_t> get_int(const Json& obj, std::string_view key, std::string_view path) {
  if (absent(obj, key)) return field_error(path, key, "is required");
  const Json& v = obj[std::string(key)];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
  }
  return field_error(path, key, "must be an integer, got " + v.dump());
}

Result<double> get_number(const Json& obj, std::string_view key, std::string_view path) {
  if (absent(obj, key)) return field_error(path, key, "is required");
  const Json& v = obj[std::string(key)];
  if (!v.is_number()) return field_error(path, key, "must be a number, got " + v.dump());
  return v.get<double>();
}

Result<bool> get_bool(const Json& obj, std::string_view key, std::string_view path) {
  if (absent(obj, key)) return field_error(path, key, "is required");
  const Json& v = obj[std::string(key)];
  if (!v.is_boolean()) return field_error(path, key, "must be true or false, got " + v.dump());
  return v.get<bool>();
}

Result<std::string> get_string_or(const Json& obj, std::string_view key, std::string_view path,
                                  std::string fallback) {
  if (absent(obj, key)) return fallback;
  return get_string(obj, key, path);
}

Result<int64_t> get_int_or(const Json& obj, std::string_view key, std::string_view path,
                           int64_t fallback) {
  if (absent(obj, key)) return fallback;
  return get_int(obj, key, path);
}

Result<double> get_number_or(const Json& obj, std::string_view key, std::string_view path,
                             double fallback) {
  if (absent(obj, key)) return fallback;
  return get_number(obj, key, path);
}

Result<bool> get_bool_or(const Json& obj, std::string_view key, std::string_view path,
                         bool fallback) {
  if (absent(obj, key)) return fallback;
  return get_bool(obj, key, path);
}

Result<std::vector<std::string>> get_string_list(const Json& obj, std::string_view key,
                                                 std::string_view path, bool required) {
  if (absent(obj, key)) {
    if (required) return field_error(path, key, "is required");
    return std::vector<std::string>{};
  }
  const Json& v = obj[std::string(key)];
  if (!v.is_array()) return field_error(path, key, "must be a list of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string())
      return field_error(path, std::string(key) + "[" + std::to_string(i) + "]",
                         "must be a string, got " + v[i].dump());
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

Result<std::vector<int64_t>> get_int_or_list(const Json& obj, std::string_view key,
                                             std::string_view path, std::size_t n,
                                             std::optional<int64_t> fallback) {
  if (absent(obj, key)) {
    if (!fallback) return field_error(path, key, "is required");
    return std::vector<int64_t>(n, *fallback);
  }
  const Json& v = obj[std::string(key)];
  if (v.is_number_integer()) return std::vector<int64_t>(n, v.get<int64_t>());
  if (v.is_array() && v.size() == n &&
      std::all_of(v.begin(), v.end(), [](const Json& e) { return e.is_number_integer(); })) {
    std::vector<int64_t> out;
    for (const Json& e : v) out.push_back(e.get<int64_t>());
    return out;
  }
  return field_error(
      path, key,
      "must be an integer or a list of " + std::to_string(n) + " integers, got " + v.dump());
}

Result<void> reject_unknown_fields(const Json& obj, std::string_view path,
                                   std::initializer_list<std::string_view> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
      return field_error(path, it.key(), "unknown field");
  }
  return {};
}

}  // namespace disco::core
