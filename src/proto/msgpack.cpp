// SPDX-License-Identifier: Apache-2.0
// MessagePack writer and bounds-checked reader (see msgpack.hpp for the contract).
#include "proto/msgpack.hpp"

#include <cstring>
#include <limits>
#include <string>

namespace disco::proto {
namespace {

// First bytes of the formats used here (MessagePack spec, "Formats").
constexpr uint8_t kNil = 0xc0, kFalse = 0xc2, kTrue = 0xc3;
constexpr uint8_t kBin8 = 0xc4, kBin16 = 0xc5, kBin32 = 0xc6;
constexpr uint8_t kExt8 = 0xc7, kExt16 = 0xc8, kExt32 = 0xc9;
constexpr uint8_t kFloat32 = 0xca, kFloat64 = 0xcb;
constexpr uint8_t kUint8 = 0xcc, kUint16 = 0xcd, kUint32 = 0xce, kUint64 = 0xcf;
constexpr uint8_t kInt8 = 0xd0, kInt16 = 0xd1, kInt32 = 0xd2, kInt64 = 0xd3;
constexpr uint8_t kFixExt1 = 0xd4, kFixExt16 = 0xd8;
constexpr uint8_t kStr8 = 0xd9, kStr16 = 0xda, kStr32 = 0xdb;
constexpr uint8_t kArray16 = 0xdc, kArray32 = 0xdd, kMap16 = 0xde, kMap32 = 0xdf;

bool is_fixint(uint8_t b) { return b <= 0x7f || b >= 0xe0; }
bool is_fixmap(uint8_t b) { return b >= 0x80 && b <= 0x8f; }
bool is_fixarray(uint8_t b) { return b >= 0x90 && b <= 0x9f; }
bool is_fixstr(uint8_t b) { return b >= 0xa0 && b <= 0xbf; }

// An integer as read from the wire: its magnitude plus a sign, so both uint64 and int64
// ranges are representable.
struct WireInt {
  bool negative = false;
  uint64_t bits = 0;  // the value itself when !negative; the two's complement int64 otherwise
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Writer

void MsgpackWriter::put_be(uint64_t value, int n_bytes) {
  for (int i = n_bytes - 1; i >= 0; --i) put_u8(static_cast<uint8_t>(value >> (8 * i)));
}

void MsgpackWriter::write_nil() { put_u8(kNil); }

void MsgpackWriter::write_bool(bool value) { put_u8(value ? kTrue : kFalse); }

void MsgpackWriter::write_uint(uint64_t value) {
  if (value <= 0x7f) {
    put_u8(static_cast<uint8_t>(value));
  } else if (value <= 0xff) {
    put_u8(kUint8);
    put_be(value, 1);
  } else if (value <= 0xffff) {
    put_u8(kUint16);
    put_be(value, 2);
  } else if (value <= 0xffffffffull) {
    put_u8(kUint32);
    put_be(value, 4);
  } else {
    put_u8(kUint64);
    put_be(value, 8);
  }
}

void MsgpackWriter::write_int(int64_t value) {
  if (value >= 0) return write_uint(static_cast<uint64_t>(value));
  const auto bits = static_cast<uint64_t>(value);
  if (value >= -32) {
    put_u8(static_cast<uint8_t>(bits));
  } else if (value >= std::numeric_limits<int8_t>::min()) {
    put_u8(kInt8);
    put_be(bits, 1);
  } else if (value >= std::numeric_limits<int16_t>::min()) {
    put_u8(kInt16);
    put_be(bits, 2);
  } else if (value >= std::numeric_limits<int32_t>::min()) {
    put_u8(kInt32);
    put_be(bits, 4);
  } else {
    put_u8(kInt64);
    put_be(bits, 8);
  }
}

void MsgpackWriter::write_float32(float value) {
  uint32_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  put_u8(kFloat32);
  put_be(bits, 4);
}

void MsgpackWriter::write_float64(double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  put_u8(kFloat64);
  put_be(bits, 8);
}

void MsgpackWriter::write_str(std::string_view value) {
  const std::size_t n = value.size();
  DISCO_CHECK(n <= 0xffffffffull, "msgpack str longer than 4 GiB");
  if (n <= 31) {
    put_u8(static_cast<uint8_t>(0xa0 | n));
  } else if (n <= 0xff) {
    put_u8(kStr8);
    put_be(n, 1);
  } else if (n <= 0xffff) {
    put_u8(kStr16);
    put_be(n, 2);
  } else {
    put_u8(kStr32);
    put_be(n, 4);
  }
  write_raw(std::as_bytes(std::span<const char>(value.data(), value.size())));
}

void MsgpackWriter::write_bin_header(uint32_t n_bytes) {
  if (n_bytes <= 0xff) {
    put_u8(kBin8);
    put_be(n_bytes, 1);
  } else if (n_bytes <= 0xffff) {
    put_u8(kBin16);
    put_be(n_bytes, 2);
  } else {
    put_u8(kBin32);
    put_be(n_bytes, 4);
  }
}

void MsgpackWriter::write_bin(std::span<const std::byte> value) {
  DISCO_CHECK(value.size() <= 0xffffffffull, "msgpack bin longer than 4 GiB");
  write_bin_header(static_cast<uint32_t>(value.size()));
  write_raw(value);
}

void MsgpackWriter::write_raw(std::span<const std::byte> raw) {
  bytes_.insert(bytes_.end(), raw.begin(), raw.end());
}

void MsgpackWriter::write_array_header(uint32_t n_elements) {
  if (n_elements <= 15) {
    put_u8(static_cast<uint8_t>(0x90 | n_elements));
  } else if (n_elements <= 0xffff) {
    put_u8(kArray16);
    put_be(n_elements, 2);
  } else {
    put_u8(kArray32);
    put_be(n_elements, 4);
  }
}

void MsgpackWriter::write_map_header(uint32_t n_pairs) {
  if (n_pairs <= 15) {
    put_u8(static_cast<uint8_t>(0x80 | n_pairs));
  } else if (n_pairs <= 0xffff) {
    put_u8(kMap16);
    put_be(n_pairs, 2);
  } else {
    put_u8(kMap32);
    put_be(n_pairs, 4);
  }
}

// ---------------------------------------------------------------------------------------------
// Reader

disco::Error MsgpackReader::corruption(std::string_view what, std::size_t at) const {
  return make_error(Errc::Corruption,
                    "msgpack: " + std::string(what) + " at byte " + std::to_string(at));
}

Result<uint8_t> MsgpackReader::read_u8(std::string_view what) {
  if (pos_ >= bytes_.size()) return corruption(std::string(what) + ": truncated", pos_);
  return static_cast<uint8_t>(bytes_[pos_++]);
}

Result<uint64_t> MsgpackReader::read_be(int n_bytes, std::string_view what) {
  if (remaining() < static_cast<std::size_t>(n_bytes)) {
    return corruption(std::string(what) + ": truncated", pos_);
  }
  uint64_t value = 0;
  for (int i = 0; i < n_bytes; ++i) value = (value << 8) | static_cast<uint8_t>(bytes_[pos_++]);
  return value;
}

Result<std::span<const std::byte>> MsgpackReader::take(std::size_t n, std::string_view what) {
  if (remaining() < n) return corruption(std::string(what) + ": truncated", pos_);
  auto view = bytes_.subspan(pos_, n);
  pos_ += n;
  return view;
}

Result<uint32_t> MsgpackReader::read_length(int n_bytes, uint64_t unit_bytes,
                                            std::string_view what) {
  const std::size_t at = pos_;
  DISCO_ASSIGN_OR_RETURN(length, read_be(n_bytes, what));
  // length < 2^32 and unit_bytes <= 2, so the product cannot overflow.
  if (length * unit_bytes > remaining()) {
    return corruption(
        std::string(what) + " length " + std::to_string(length) + " exceeds the bytes left", at);
  }
  return static_cast<uint32_t>(length);
}

Result<MsgpackType> MsgpackReader::peek_type() const {
  if (at_end()) return corruption("truncated: value expected", pos_);
  const auto b = static_cast<uint8_t>(bytes_[pos_]);
  if (is_fixint(b)) return MsgpackType::Int;
  if (is_fixmap(b)) return MsgpackType::Map;
  if (is_fixarray(b)) return MsgpackType::Array;
  if (is_fixstr(b)) return MsgpackType::Str;
  switch (b) {
    case kNil:
      return MsgpackType::Nil;
    case kFalse:
    case kTrue:
      return MsgpackType::Bool;
    case kBin8:
    case kBin16:
    case kBin32:
      return MsgpackType::Bin;
    case kFloat32:
    case kFloat64:
      return MsgpackType::Float;
    case kUint8:
    case kUint16:
    case kUint32:
    case kUint64:
    case kInt8:
    case kInt16:
    case kInt32:
    case kInt64:
      return MsgpackType::Int;
    case kStr8:
    case kStr16:
    case kStr32:
      return MsgpackType::Str;
    case kArray16:
    case kArray32:
      return MsgpackType::Array;
    case kMap16:
    case kMap32:
      return MsgpackType::Map;
    case kExt8:
    case kExt16:
    case kExt32:
      return MsgpackType::Ext;
    default:
      break;
  }
  if (b >= kFixExt1 && b <= kFixExt16) return MsgpackType::Ext;
  return corruption("reserved byte 0xc1", pos_);
}

Result<void> MsgpackReader::read_nil() {
  const std::size_t at = pos_;
  DISCO_ASSIGN_OR_RETURN(b, read_u8("nil"));
  if (b != kNil) return corruption("expected nil", at);
  return {};
}

Result<bool> MsgpackReader::read_bool() {
  const std::size_t at = pos_;
  DISCO_ASSIGN_OR_RETURN(b, read_u8("bool"));
  if (b == kTrue) return true;
  if (b == kFalse) return false;
  return corruption("expected bool", at);
}

namespace {

// Decodes any integer format starting with marker `b`; the payload is read through `be`.
template <typename ReadBe>
Result<WireInt> decode_int(uint8_t b, ReadBe&& be, const disco::Error& not_int) {
  if (b <= 0x7f) return WireInt{false, b};
  if (b >= 0xe0) return WireInt{true, static_cast<uint64_t>(static_cast<int64_t>(b) - 256)};
  auto sign_extend = [](uint64_t raw, int n_bytes) {
    const int shift = 64 - 8 * n_bytes;
    return static_cast<uint64_t>(static_cast<int64_t>(raw << shift) >> shift);
  };
  int n = 0;
  bool is_signed = false;
  switch (b) {
    case kUint8:
      n = 1;
      break;
    case kUint16:
      n = 2;
      break;
    case kUint32:
      n = 4;
      break;
    case kUint64:
      n = 8;
      break;
    case kInt8:
      n = 1, is_signed = true;
      break;
    case kInt16:
      n = 2, is_signed = true;
      break;
    case kInt32:
      n = 4, is_signed = true;
      break;
    case kInt64:
      n = 8, is_signed = true;
      break;
    default:
      return not_int;
  }
  DISCO_ASSIGN_OR_RETURN(raw, be(n));
  if (!is_signed) return WireInt{false, raw};
  const uint64_t bits = sign_extend(raw, n);
  return WireInt{static_cast<int64_t>(bits) < 0, bits};
}

}  // namespace

Result<uint64_t> MsgpackReader::read_uint() {
  const std::size_t at = pos_;
  DISCO_ASSIGN_OR_RETURN(b, read_u8("uint"));
  DISCO_ASSIGN_OR_RETURN(v, decode_int(
                                b, [this](int n) { return read_be(n, "uint"); },
                                corruption("expected unsigned integer", at)));
  if (v.negative) return corruption("negative integer where unsigned expected", at);
  return v.bits;
}

Result<int64_t> MsgpackReader::read_int() {
  const std::size_t at = pos_;
  DISCO_ASSIGN_OR_RETURN(b, read_u8("int"));
  DISCO_ASSIGN_OR_RETURN(
      v, decode_int(
             b, [this](int n) { return read_be(n, "int"); }, corruption("expected integer", at)));
  if (!v.negative && v.bits > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return corruption("integer overflows int64", at);
  }
  return static_cast<int64_t>(v.bits);
}

Result<double> MsgpackReader::read_float() {
  const std::size_t at = pos_;
  DISCO_ASSIGN_OR_RETURN(b, read_u8("float"));
  if (b == kFloat32) {
    DISCO_ASSIGN_OR_RETURN(raw, read_be(4, "float32"));
    const auto bits = static_cast<uint32_t>(raw);
    float f = 0;
    std::memcpy(&f, &bits, sizeof f);
    return static_cast<double>(f);
  }
  if (b == kFloat64) {
    DISCO_ASSIGN_OR_RETURN(bits, read_be(8, "float64"));
    double d = 0;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  return corruption("expected float", at);
}

Result<std::string_view> MsgpackReader::read_str() {
  const std::size_t at = pos_;
  DISCO_ASSIGN_OR_RETURN(b, read_u8("str"));
  uint32_t n = 0;
  if (is_fixstr(b)) {
    n = b & 0x1fu;
  } else if (b == kStr8 || b == kStr16 || b == kStr32) {
    const int width = b == kStr8 ? 1 : b == kStr16 ? 2 : 4;
    DISCO_ASSIGN_OR_RETURN(len, read_length(width, 1, "str"));
    n = len;
  } else {
    return corruption("expected str", at);
  }
  DISCO_ASSIGN_OR_RETURN(view, take(n, "str"));
  return std::string_view(reinterpret_cast<const char*>(view.data()), view.size());
}

Result<std::span<const std::byte>> MsgpackReader::read_bin() {
  const std::size_t at = pos_;
  DISCO_ASSIGN_OR_RETURN(b, read_u8("bin"));
  if (b != kBin8 && b != kBin16 && b != kBin32) return corruption("expected bin", at);
  const int width = b == kBin8 ? 1 : b == kBin16 ? 2 : 4;
  DISCO_ASSIGN_OR_RETURN(n, read_length(width, 1, "bin"));
  return take(n, "bin");
}

Result<uint32_t> MsgpackReader::read_array_header() {
  const std::size_t at = pos_;
  DISCO_ASSIGN_OR_RETURN(b, read_u8("array"));
  if (is_fixarray(b)) {
    const uint32_t n = b & 0x0fu;
    if (n > remaining()) return corruption("array length exceeds the bytes left", at);
    return n;
  }
  if (b == kArray16) return read_length(2, 1, "array");
  if (b == kArray32) return read_length(4, 1, "array");
  return corruption("expected array", at);
}

Result<uint32_t> MsgpackReader::read_map_header() {
  const std::size_t at = pos_;
  DISCO_ASSIGN_OR_RETURN(b, read_u8("map"));
  if (is_fixmap(b)) {
    const uint32_t n = b & 0x0fu;
    if (2ull * n > remaining()) return corruption("map length exceeds the bytes left", at);
    return n;
  }
  if (b == kMap16) return read_length(2, 2, "map");
  if (b == kMap32) return read_length(4, 2, "map");
  return corruption("expected map", at);
}

Result<void> MsgpackReader::skip() { return skip_at_depth(0); }

Result<void> MsgpackReader::skip_at_depth(int depth) {
  DISCO_ASSIGN_OR_RETURN(type, peek_type());
  switch (type) {
    case MsgpackType::Nil:
      return read_nil();
    case MsgpackType::Bool:
      DISCO_TRY(read_bool());
      return {};
    case MsgpackType::Int: {
      // read_int would reject uint64 values above INT64_MAX; read_uint rejects negatives.
      const auto b = static_cast<uint8_t>(bytes_[pos_]);
      if (b >= 0xe0 || (b >= kInt8 && b <= kInt64)) {
        DISCO_TRY(read_int());
      } else {
        DISCO_TRY(read_uint());
      }
      return {};
    }
    case MsgpackType::Float:
      DISCO_TRY(read_float());
      return {};
    case MsgpackType::Str:
      DISCO_TRY(read_str());
      return {};
    case MsgpackType::Bin:
      DISCO_TRY(read_bin());
      return {};
    case MsgpackType::Ext:
      return corruption("ext types are not supported", pos_);
    case MsgpackType::Array:
    case MsgpackType::Map: {
      if (depth >= kMsgpackMaxDepth) return corruption("nesting too deep", pos_);
      uint64_t n_values = 0;
      if (type == MsgpackType::Array) {
        DISCO_ASSIGN_OR_RETURN(n, read_array_header());
        n_values = n;
      } else {
        DISCO_ASSIGN_OR_RETURN(n, read_map_header());
        n_values = 2ull * n;
      }
      for (uint64_t i = 0; i < n_values; ++i) DISCO_TRY(skip_at_depth(depth + 1));
      return {};
    }
  }
  return corruption("unknown type", pos_);
}

}  // namespace disco::proto
