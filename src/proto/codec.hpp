// SPDX-License-Identifier: Apache-2.0
// The codec: the one place where bytes become a Message and back (STYLE 2.7). Drivers move the
// bytes; machines call decode() on what arrives and encode() on what they send. Everything a
// peer sends is untrusted: decode() bounds the message size before parsing, checks every length
// before allocating, and returns an error value for any input, never aborting.
//
// Wire format (docs/protocol.md, "Wire format", is the full description):
//   message  = msgpack array [version: uint, type: uint, body: map]
//   body     = map from short string keys to values; unknown keys are skipped
//   weights  = map {"fingerprint": str(16 hex), "n_params": uint, "data": bin(4 * n_params)}
//              with data the float32 values, little-endian, in parameter order
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.hpp"
#include "proto/messages.hpp"

namespace disco::proto {

// What decode() accepts. The defaults suit a server; a browser client may lower them.
struct DecodeLimits {
  // Messages longer than this are refused before any parsing.
  std::size_t max_message_bytes = std::size_t{256} << 20;  // 256 MiB
  // Largest n_params accepted in a Weights payload (floats).
  uint64_t max_params = uint64_t{64} << 20;  // 64 Mi floats = 256 MiB
  // Longest string field (ids, tokens, error messages), in bytes.
  std::size_t max_string_bytes = 64 << 10;  // 64 KiB
  // Refuse weights holding NaN or +-Inf.
  bool require_finite_weights = true;
};

// Serialises `message`, with kProtocolVersion in its envelope. Never fails (an invalid
// fingerprint or more than 2^30 - 1 weights are caller bugs: DISCO_CHECK aborts). The result
// is owned by the caller. Encoding a Weights payload copies its floats with one memcpy on
// little-endian hosts.
std::vector<std::byte> encode(const Message& message);

// Parses one message. `bytes` is borrowed for the call only; the result owns all its data.
// Errors:
//   Errc::Corruption        not well-formed msgpack of the expected shape: truncated, a value
//                           of the wrong msgpack type, a length beyond the input, trailing
//                           bytes, nesting deeper than kMsgpackMaxDepth. The message names the
//                           byte offset.
//   Errc::ProtocolViolation well-formed but not a valid message: larger than
//                           limits.max_message_bytes, another protocol version, an unknown
//                           type, a missing or repeated field, a string over max_string_bytes,
//                           a bad fingerprint, a weights payload whose data length is not
//                           4 * n_params or whose n_params exceeds max_params, non-finite
//                           weights (when required), an integer out of its field's range.
Result<Message> decode(std::span<const std::byte> bytes, const DecodeLimits& limits = {});

// The protocol version an envelope announces, read without decoding the rest: the first element
// of a leading msgpack array, if the bytes start with a non-empty array whose first element is an
// unsigned integer; nullopt otherwise. Lets a machine whose decode() failed tell a peer speaking
// another version (ErrorMessage{VersionMismatch}) from one sending bad bytes. Never fails.
std::optional<uint64_t> envelope_version(std::span<const std::byte> bytes);

// One encoded message that several outputs share: a broadcast of StartRound to 1,000 clients
// holds the model's bytes once, not 1,000 times. Immutable; cheap to copy (a reference count).
// Reads as a byte span; converting to a vector copies the bytes (tests and simulators).
class SharedBytes {
 public:
  SharedBytes() : p_(std::make_shared<const std::vector<std::byte>>()) {}
  explicit SharedBytes(std::vector<std::byte> bytes)
      : p_(std::make_shared<const std::vector<std::byte>>(std::move(bytes))) {}

  const std::byte* data() const { return p_->data(); }
  std::size_t size() const { return p_->size(); }
  bool empty() const { return p_->empty(); }
  auto begin() const { return p_->begin(); }
  auto end() const { return p_->end(); }
  std::span<const std::byte> span() const { return {p_->data(), p_->size()}; }
  operator std::span<const std::byte>() const { return span(); }  // NOLINT: implicit by design
  operator std::vector<std::byte>() const { return *p_; }         // NOLINT: a copy
  // For drivers that keep the bytes alive until written (net::HttpServer::send_shared).
  const std::shared_ptr<const std::vector<std::byte>>& shared() const { return p_; }

 private:
  std::shared_ptr<const std::vector<std::byte>> p_;
};

// True iff `s` is a model fingerprint: exactly 16 lowercase hex digits.
bool is_valid_fingerprint(std::string_view s);

}  // namespace disco::proto
