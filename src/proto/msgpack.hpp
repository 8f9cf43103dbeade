// SPDX-License-Identifier: Apache-2.0
// A minimal MessagePack writer and reader, the only serialiser under the protocol codec
// (codec.hpp). Our own rather than msgpack-cxx because that one throws. The rule this file keeps:
// the reader trusts nothing. It never reads past its input, never allocates (it hands out views
// into the input), checks every length against the bytes left before anyone could allocate for
// it, limits nesting, and reports every failure as Errc::Corruption naming the byte offset.
//
// Supported: nil, bool, integers of every width (positive/negative fixint, uint8..64,
// int8..64), float32/float64, str (fixstr/str8/16/32), bin (bin8/16/32), array and map headers
// (fix/16/32). Not supported (rejected as Corruption by the reader): ext types, and the reserved
// byte 0xc1. The writer always picks the shortest encoding, as the spec recommends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.hpp"

namespace disco::proto {

// The family of a MessagePack value, from its first byte.
enum class MsgpackType { Nil, Bool, Int, Float, Str, Bin, Array, Map, Ext };

// Deepest array/map nesting the reader's skip() follows before returning Corruption.
inline constexpr int kMsgpackMaxDepth = 32;

// Appends MessagePack values to an owned byte buffer. Never fails; running out of memory is
// fatal. Not thread-safe. Headers only announce counts: the caller writes that many elements
// (maps: 2 * count values, key then value) afterwards.
class MsgpackWriter {
 public:
  MsgpackWriter() = default;
  // Reserves room for `n_bytes` more bytes (a hint; avoids regrowth for weight payloads).
  void reserve(std::size_t n_bytes) { bytes_.reserve(bytes_.size() + n_bytes); }

  void write_nil();
  void write_bool(bool value);
  void write_uint(uint64_t value);  // positive fixint, uint8, uint16, uint32 or uint64
  void write_int(int64_t value);    // write_uint when value >= 0, else neg. fixint/int8..int64
  void write_float32(float value);
  void write_float64(double value);
  void write_str(std::string_view value);            // fixstr, str8, str16 or str32
  void write_bin(std::span<const std::byte> value);  // bin8, bin16 or bin32
  // The header of a bin of `n_bytes` bytes; the caller appends exactly that many raw bytes
  // with write_raw. Lets a float buffer go in with one memcpy.
  void write_bin_header(uint32_t n_bytes);
  void write_raw(std::span<const std::byte> raw);
  void write_array_header(uint32_t n_elements);
  void write_map_header(uint32_t n_pairs);

  const std::vector<std::byte>& bytes() const { return bytes_; }
  // Moves the buffer out; the writer is empty afterwards.
  std::vector<std::byte> take() { return std::move(bytes_); }

 private:
  void put_u8(uint8_t b) { bytes_.push_back(static_cast<std::byte>(b)); }
  void put_be(uint64_t value, int n_bytes);  // big-endian, as MessagePack mandates

  std::vector<std::byte> bytes_;
};

// Reads MessagePack values one at a time from a borrowed buffer. `bytes` must remain live while
// the reader and any view it returned are used. Not thread-safe.
//
// Every read_* either consumes one whole value and returns it, or returns
// Errc::Corruption ("msgpack: <what> at byte <offset>") and leaves the position unspecified
// (callers give up on the message). Failures: truncated input, a value of another type, an
// integer that does not fit the requested type, nesting deeper than kMsgpackMaxDepth (skip).
class MsgpackReader {
 public:
  explicit MsgpackReader(std::span<const std::byte> bytes) : bytes_(bytes) {}

  // Type of the next value without consuming it; Corruption at end of input or on 0xc1.
  Result<MsgpackType> peek_type() const;
  Result<void> read_nil();
  Result<bool> read_bool();
  // Any integer encoding whose value fits; negative values are Corruption for read_uint.
  Result<uint64_t> read_uint();
  Result<int64_t> read_int();
  // float32 or float64 (widened); integers are not accepted.
  Result<double> read_float();
  // A view of the string's bytes inside the input; not checked for valid UTF-8.
  Result<std::string_view> read_str();
  // A view of the bin's bytes inside the input.
  Result<std::span<const std::byte>> read_bin();
  // Element count. Corruption if the input left is too short to hold that many elements (one
  // byte each at least), so a caller may reserve `count` slots safely.
  Result<uint32_t> read_array_header();
  // Pair count; like read_array_header with two bytes per pair.
  Result<uint32_t> read_map_header();
  // Consumes one value of any supported type, nested ones included.
  Result<void> skip();

  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return bytes_.size() - pos_; }
  bool at_end() const { return pos_ == bytes_.size(); }

  // Corruption("msgpack: <what> at byte <offset>"), for callers reporting on the current value.
  disco::Error corruption(std::string_view what, std::size_t at) const;

 private:
  Result<uint8_t> read_u8(std::string_view what);
  Result<uint64_t> read_be(int n_bytes, std::string_view what);
  // Reads the length that follows a str/bin/array/map marker (n_bytes wide) and checks that
  // `length * unit_bytes` bytes are left.
  Result<uint32_t> read_length(int n_bytes, uint64_t unit_bytes, std::string_view what);
  Result<std::span<const std::byte>> take(std::size_t n, std::string_view what);
  Result<void> skip_at_depth(int depth);

  std::span<const std::byte> bytes_;
  std::size_t pos_ = 0;
};

}  // namespace disco::proto
