// SPDX-License-Identifier: Apache-2.0
// Result<T>: a value or an Error, the only way expected failures travel in core and proto.
// Mirrors std::expected's names (has_value, value, error, operator*, operator->) so a later move
// to C++23 can make it an alias. Bugs are not Results: they hit DISCO_CHECK (check.hpp).
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "core/base/check.hpp"

namespace disco {

// Kinds of expected failure. Keep this list short; the message carries the detail.
enum class Errc {
  InvalidArgument,    // a caller- or user-supplied value is wrong (bad spec field, bad flag)
  NotFound,           // a named thing (file, task, column) does not exist
  Corruption,         // bytes or a file are malformed
  ProtocolViolation,  // a peer broke the protocol
  Unavailable,        // a resource is temporarily unreachable
  Cancelled,          // the operation was stopped on request
  Internal,           // an unexpected failure of the environment (I/O error)
};

const char* errc_name(Errc code);

struct Error {
  Errc code = Errc::Internal;
  std::string message;

  // "InvalidArgument: <message>"
  std::string to_string() const { return std::string(errc_name(code)) + ": " + message; }
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    DISCO_CHECK(has_value(), "Result::value() on an error");
    return std::get<0>(v_);
  }
  const T& value() const& {
    DISCO_CHECK(has_value(), "Result::value() on an error");
    return std::get<0>(v_);
  }
  T&& value() && {
    DISCO_CHECK(has_value(), "Result::value() on an error");
    return std::get<0>(std::move(v_));
  }
  const Error& error() const {
    DISCO_CHECK(!has_value(), "Result::error() on a value");
    return std::get<1>(v_);
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  void value() const { DISCO_CHECK(ok_, "Result<void>::value() on an error"); }
  const Error& error() const {
    DISCO_CHECK(!ok_, "Result::error() on a value");
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

// Propagates an error from an expression returning Result<...>.
#define DISCO_TRY(expr)                                       \
  do {                                                        \
    auto disco_try_result_ = (expr);                          \
    if (!disco_try_result_) return disco_try_result_.error(); \
  } while (0)

// Declares `var` from a Result-returning expression, or returns its error.
#define DISCO_ASSIGN_OR_RETURN(var, expr)           \
  auto var##_result_ = (expr);                      \
  if (!var##_result_) return var##_result_.error(); \
  auto var = std::move(var##_result_).value()

}  // namespace disco
