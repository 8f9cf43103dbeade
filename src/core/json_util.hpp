// SPDX-License-Identifier: Apache-2.0
// Field readers for validating JSON documents (model specs, tasks) without exceptions. Each
// reader takes the object, the key and the path of the object (e.g. "model.layers[2]") and
// returns the value or an InvalidArgument error naming the full field path and the reason,
// e.g. "model.layers[2].filters: must be a positive integer, got -3".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"

namespace disco::core {

using Json = nlohmann::json;

// Parses text; Corruption error "<source>: invalid JSON" on failure.
Result<Json> parse_json(std::string_view text, std::string_view source);

std::string field_path(std::string_view path, std::string_view key);
Error field_error(std::string_view path, std::string_view key, const std::string& why);

// Required readers: error when missing or of the wrong type.
Result<std::string> get_string(const Json& obj, std::string_view key, std::string_view path);
Result<int64_t> get_int(const Json& obj, std::string_view key, std::string_view path);
Result<double> get_number(const Json& obj, std::string_view key, std::string_view path);
Result<bool> get_bool(const Json& obj, std::string_view key, std::string_view path);
// Optional readers: the fallback when the key is absent (or null), an error when present but wrong.
Result<std::string> get_string_or(const Json& obj, std::string_view key, std::string_view path,
                                  std::string fallback);
Result<int64_t> get_int_or(const Json& obj, std::string_view key, std::string_view path,
                           int64_t fallback);
Result<double> get_number_or(const Json& obj, std::string_view key, std::string_view path,
                             double fallback);
Result<bool> get_bool_or(const Json& obj, std::string_view key, std::string_view path,
                         bool fallback);
// A list of strings; absent -> empty list when `required` is false.
Result<std::vector<std::string>> get_string_list(const Json& obj, std::string_view key,
                                                 std::string_view path, bool required);
// An int or a list of `n` ints (Keras's kernel_size: 3 or [3, 3]); absent -> fallback.
Result<std::vector<int64_t>> get_int_or_list(const Json& obj, std::string_view key,
                                             std::string_view path, std::size_t n,
                                             std::optional<int64_t> fallback);
// Fails with "<path>.<key>: unknown field" for any key not in `allowed`.
Result<void> reject_unknown_fields(const Json& obj, std::string_view path,
                                   std::initializer_list<std::string_view> allowed);

}  // namespace disco::core
