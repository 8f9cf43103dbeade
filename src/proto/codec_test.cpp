// SPDX-License-Identifier: Apache-2.0
#include "proto/codec.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "core/base/rng.hpp"
#include "proto/msgpack.hpp"

namespace disco::proto {
namespace {

constexpr const char* kFp = "0123456789abcdef";

Weights sample_weights(std::size_t n, float scale) {
  std::vector<float> values(n);
  for (std::size_t i = 0; i < n; ++i) values[i] = scale * (static_cast<float>(i) - 2.5f);
  return Weights(kFp, std::move(values));
}

// At least one message of every type, with optional fields both present and absent.
std::vector<Message> sample_messages() {
  std::vector<Message> out;
  out.emplace_back(ClientHello{"mnist", "", kFp, std::nullopt});
  out.emplace_back(ClientHello{"titanic", "c-42", kFp, std::string("s3cret")});
  out.emplace_back(ServerWelcome{"c-42", 7, kFp, 1234567, 3, 100});
  out.emplace_back(WaitingForParticipants{1, 3});
  out.emplace_back(StartRound{8, sample_weights(10, 0.25f), 30000});
  out.emplace_back(StartRound{0, Weights(kFp, {}), 0});
  out.emplace_back(Contribution{8, 600, sample_weights(10, -1.0f), TrainMetrics{0.5, 0.875}});
  out.emplace_back(Contribution{9, 0, sample_weights(3, 1e-3f), TrainMetrics{}});
  out.emplace_back(RoundResult{8, 3, TrainMetrics{1.25, std::nullopt}});
  out.emplace_back(TrainingFinished{100, sample_weights(70, 3.0f)});
  out.emplace_back(ErrorMessage{ErrorCode::ModelMismatch, "fingerprint differs"});
  out.emplace_back(Ping{0xfedcba9876543210ull});
  out.emplace_back(Pong{1});
  return out;
}

std::vector<std::byte> build(const std::function<void(MsgpackWriter&)>& body, uint64_t type,
                             uint64_t version = kProtocolVersion) {
  MsgpackWriter w;
  w.write_array_header(3);
  w.write_uint(version);
  w.write_uint(type);
  body(w);
  return w.take();
}

void weights_map(MsgpackWriter& w, std::string_view fp, uint64_t n_params,
                 const std::vector<float>& values) {
  w.write_map_header(3);
  w.write_str("fingerprint");
  w.write_str(fp);
  w.write_str("n_params");
  w.write_uint(n_params);
  w.write_str("data");
  w.write_bin(std::as_bytes(std::span<const float>(values)));
}

// A TrainingFinished body with the given weights fields.
std::vector<std::byte> finished_with(std::string_view fp, uint64_t n_params,
                                     const std::vector<float>& values) {
  return build(
      [&](MsgpackWriter& w) {
        w.write_map_header(2);
        w.write_str("round");
        w.write_uint(1);
        w.write_str("weights");
        weights_map(w, fp, n_params, values);
      },
      static_cast<uint64_t>(MessageType::TrainingFinished));
}

void expect_error(const Result<Message>& r, Errc code, std::string_view needle = "") {
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, code) << r.error().to_string();
  EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().to_string();
}

TEST(Codec, RoundTripsEveryMessageType) {
  std::set<MessageType> types;
  for (const Message& m : sample_messages()) {
    types.insert(message_type(m));
    auto bytes = encode(m);
    auto decoded = decode(bytes);
    ASSERT_TRUE(decoded.has_value())
        << message_type_name(message_type(m)) << ": " << decoded.error().to_string();
    EXPECT_TRUE(*decoded == m) << message_type_name(message_type(m));
    EXPECT_EQ(encode(*decoded), bytes);
  }
  EXPECT_EQ(types.size(), std::variant_size_v<Message>);
}

TEST(Codec, WritesVersionAndTypeFirst) {
  auto bytes = encode(Ping{5});
  ASSERT_GE(bytes.size(), 3u);
  EXPECT_EQ(static_cast<int>(bytes[0]), 0x93);  // array of 3
  EXPECT_EQ(static_cast<int>(bytes[1]), 1);     // kProtocolVersion
  EXPECT_EQ(static_cast<int>(bytes[2]), 9);     // MessageType::Ping
}

TEST(Codec, EnvelopeVersionTellsAnotherVersionFromGarbage) {
  std::vector<std::byte> bytes = encode(Ping{7});
  EXPECT_EQ(envelope_version(bytes), std::optional<uint64_t>(kProtocolVersion));
  bytes[1] = std::byte{0x02};  // positive fixint 2 where the version sits
  Result<Message> decoded = decode(bytes);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, Errc::ProtocolViolation);
  EXPECT_EQ(envelope_version(bytes), std::optional<uint64_t>(2));
  EXPECT_EQ(envelope_version(std::vector<std::byte>{}), std::nullopt);
  EXPECT_EQ(envelope_version(std::vector<std::byte>{std::byte{0x90}}), std::nullopt);
  EXPECT_EQ(envelope_version(std::vector<std::byte>{std::byte{0x93}, std::byte{0xa1}}),
            std::nullopt);
}

TEST(Codec, WritesWeightsAsLittleEndianFloat32) {
  auto bytes = encode(TrainingFinished{1, Weights(kFp, {1.0f, -2.0f})});
  const std::vector<std::byte> expected = {std::byte{0x00}, std::byte{0x00}, std::byte{0x80},
                                           std::byte{0x3f}, std::byte{0x00}, std::byte{0x00},
                                           std::byte{0x00}, std::byte{0xc0}};
  ASSERT_GE(bytes.size(), expected.size());
  EXPECT_TRUE(std::equal(expected.begin(), expected.end(), bytes.end() - 8));
}

TEST(Codec, RejectsEveryTruncatedPrefix) {
  for (const Message& m : sample_messages()) {
    auto bytes = encode(m);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
      auto r = decode(std::span<const std::byte>(bytes.data(), n));
      ASSERT_FALSE(r.has_value()) << message_type_name(message_type(m)) << " prefix " << n;
      EXPECT_EQ(r.error().code, Errc::Corruption) << r.error().to_string();
    }
  }
}

TEST(Codec, RejectsTrailingBytes) {
  auto bytes = encode(Ping{5});
  bytes.push_back(std::byte{0xc0});
  expect_error(decode(bytes), Errc::Corruption, "trailing");
}

TEST(Codec, RejectsOtherProtocolVersions) {
  auto ping_body = [](MsgpackWriter& w) {
    w.write_map_header(1);
    w.write_str("nonce");
    w.write_uint(1);
  };
  expect_error(decode(build(ping_body, 9, 2)), Errc::ProtocolViolation, "version 2");
  expect_error(decode(build(ping_body, 9, 0)), Errc::ProtocolViolation, "version 0");
  // A future version is refused even if its envelope has another shape.
  MsgpackWriter w;
  w.write_array_header(1);
  w.write_uint(2);
  expect_error(decode(w.bytes()), Errc::ProtocolViolation, "version 2");
}

TEST(Codec, RejectsUnknownMessageTypes) {
  auto empty = [](MsgpackWriter& w) { w.write_map_header(0); };
  expect_error(decode(build(empty, 0)), Errc::ProtocolViolation, "unknown message type 0");
  expect_error(decode(build(empty, 11)), Errc::ProtocolViolation, "unknown message type 11");
  expect_error(decode(build(empty, 1ull << 40)), Errc::ProtocolViolation, "unknown message type");
}

TEST(Codec, RejectsOversizedMessagesBeforeParsing) {
  DecodeLimits limits;
  limits.max_message_bytes = 64;
  auto big = encode(StartRound{1, sample_weights(100, 1.0f), 0});
  expect_error(decode(big, limits), Errc::ProtocolViolation, "exceeds the limit");
  // Garbage of the same size gets the size error, not a parse error: nothing was parsed.
  std::vector<std::byte> garbage(65, std::byte{0xc1});
  expect_error(decode(garbage, limits), Errc::ProtocolViolation, "exceeds the limit");
  EXPECT_TRUE(decode(encode(Ping{1}), limits).has_value());
}

TEST(Codec, RejectsBinLengthNotMatchingParamCount) {
  expect_error(decode(finished_with(kFp, 3, {1.0f, 2.0f})), Errc::ProtocolViolation,
               "expected 4 * n_params");
  expect_error(decode(finished_with(kFp, 1, {1.0f, 2.0f})), Errc::ProtocolViolation,
               "expected 4 * n_params");
  // A bin whose length is not a multiple of 4.
  auto odd = build(
      [](MsgpackWriter& w) {
        w.write_map_header(2);
        w.write_str("round");
        w.write_uint(1);
        w.write_str("weights");
        w.write_map_header(3);
        w.write_str("fingerprint");
        w.write_str(kFp);
        w.write_str("n_params");
        w.write_uint(1);
        w.write_str("data");
        w.write_bin(std::vector<std::byte>(5));
      },
      static_cast<uint64_t>(MessageType::TrainingFinished));
  expect_error(decode(odd), Errc::ProtocolViolation, "expected 4 * n_params");
  EXPECT_TRUE(decode(finished_with(kFp, 2, {1.0f, 2.0f})).has_value());
}

TEST(Codec, RejectsParamCountOverLimit) {
  DecodeLimits limits;
  limits.max_params = 2;
  expect_error(decode(finished_with(kFp, 3, {1, 2, 3}), limits), Errc::ProtocolViolation,
               "exceeds the limit");
  EXPECT_TRUE(decode(finished_with(kFp, 2, {1, 2}), limits).has_value());
  // A huge count with a small bin must fail without allocating, even with no limit.
  limits.max_params = std::numeric_limits<uint64_t>::max();
  expect_error(decode(finished_with(kFp, std::numeric_limits<uint64_t>::max() / 2, {1, 2}), limits),
               Errc::ProtocolViolation, "expected 4 * n_params");
}

TEST(Codec, RejectsNonFiniteWeightsWhenRequired) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (float bad : {nan, inf, -inf}) {
    auto bytes = finished_with(kFp, 3, {1.0f, bad, 2.0f});
    expect_error(decode(bytes), Errc::ProtocolViolation, "non-finite value at index 1");
    DecodeLimits lax;
    lax.require_finite_weights = false;
    auto r = decode(bytes, lax);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    const auto& values = std::get<TrainingFinished>(*r).weights.values;
    ASSERT_EQ(values.size(), 3u);
    EXPECT_FALSE(std::isfinite(values[1]));
  }
}

TEST(Codec, RejectsMalformedFingerprints) {
  for (const char* fp :
       {"", "0123456789ABCDEF", "0123456789abcde", "0123456789abcdef0", "0123456789abcdeg"}) {
    expect_error(decode(finished_with(fp, 1, {1.0f})), Errc::ProtocolViolation, "fingerprint");
  }
}

TEST(Codec, RejectsMissingAndRepeatedFields) {
  auto missing = build(
      [](MsgpackWriter& w) {
        w.write_map_header(1);
        w.write_str("n_connected");
        w.write_uint(1);
      },
      static_cast<uint64_t>(MessageType::WaitingForParticipants));
  expect_error(decode(missing), Errc::ProtocolViolation, "missing field 'n_required'");
  auto repeated = build(
      [](MsgpackWriter& w) {
        w.write_map_header(2);
        w.write_str("nonce");
        w.write_uint(1);
        w.write_str("nonce");
        w.write_uint(2);
      },
      static_cast<uint64_t>(MessageType::Pong));
  expect_error(decode(repeated), Errc::ProtocolViolation, "repeated field 'nonce'");
}

TEST(Codec, RejectsFieldsOfTheWrongTypeOrRange) {
  auto wrong_type = build(
      [](MsgpackWriter& w) {
        w.write_map_header(1);
        w.write_str("nonce");
        w.write_str("1");
      },
      static_cast<uint64_t>(MessageType::Ping));
  expect_error(decode(wrong_type), Errc::Corruption, "expected unsigned integer");
  auto too_wide = build(
      [](MsgpackWriter& w) {
        w.write_map_header(2);
        w.write_str("n_connected");
        w.write_uint(1ull << 32);
        w.write_str("n_required");
        w.write_uint(1);
      },
      static_cast<uint64_t>(MessageType::WaitingForParticipants));
  expect_error(decode(too_wide), Errc::ProtocolViolation, "exceeds 32 bits");
}

TEST(Codec, SkipsUnknownFieldsAndAcceptsAnyOrder) {
  auto bytes = build(
      [](MsgpackWriter& w) {
        w.write_map_header(3);
        w.write_str("n_required");
        w.write_uint(4);
        w.write_str("added_in_a_later_revision");
        w.write_array_header(2);
        w.write_map_header(0);
        w.write_bin(std::vector<std::byte>(3));
        w.write_str("n_connected");
        w.write_uint(2);
      },
      static_cast<uint64_t>(MessageType::WaitingForParticipants));
  auto r = decode(bytes);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_TRUE(*r == Message(WaitingForParticipants{2, 4}));
}

TEST(Codec, AcceptsNilForOptionalFields) {
  auto bytes = build(
      [](MsgpackWriter& w) {
        w.write_map_header(4);
        w.write_str("round");
        w.write_uint(2);
        w.write_str("n_participants");
        w.write_uint(5);
        w.write_str("loss");
        w.write_nil();
        w.write_str("accuracy");
        w.write_float32(0.5f);
      },
      static_cast<uint64_t>(MessageType::RoundResult));
  auto r = decode(bytes);
  ASSERT_TRUE(r.has_value()) << r.error().to_string();
  EXPECT_TRUE(*r == Message(RoundResult{2, 5, TrainMetrics{std::nullopt, 0.5}}));
}

TEST(Codec, RejectsStringsOverTheLimit) {
  DecodeLimits limits;
  limits.max_string_bytes = 8;
  auto bytes = encode(ErrorMessage{ErrorCode::Internal, "nine byte"});
  expect_error(decode(bytes, limits), Errc::ProtocolViolation, "string of 9 bytes");
  EXPECT_TRUE(decode(encode(ErrorMessage{ErrorCode::Internal, "8 bytes!"}), limits).has_value());
}

TEST(Codec, KeepsErrorCodesItDoesNotKnow) {
  auto bytes = encode(ErrorMessage{static_cast<ErrorCode>(77), "from the future"});
  auto r = decode(bytes);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(static_cast<uint32_t>(std::get<ErrorMessage>(*r).code), 77u);
}

// Mutates random bytes of valid messages: decode must return a value or an error, never crash,
// abort or over-allocate (ASan/UBSan builds check the rest).
TEST(Codec, SurvivesRandomMutations) {
  std::vector<std::vector<std::byte>> seeds;
  for (const Message& m : sample_messages()) seeds.push_back(encode(m));
  Rng rng(20240611);
  DecodeLimits limits;
  limits.max_params = 1 << 20;
  int n_ok = 0;
  int n_errors = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::vector<std::byte> bytes = seeds[rng.uniform_int(static_cast<uint32_t>(seeds.size()))];
    const uint32_t n_mutations = 1 + rng.uniform_int(4);
    for (uint32_t k = 0; k < n_mutations; ++k) {
      const uint32_t at = rng.uniform_int(static_cast<uint32_t>(bytes.size()));
      switch (rng.uniform_int(4)) {
        case 0:
          bytes[at] = static_cast<std::byte>(rng.next_u32());
          break;
        case 1:
          bytes[at] ^= static_cast<std::byte>(1u << rng.uniform_int(8));
          break;
        case 2:
          bytes[at] = std::byte{0xff};
          break;  // maximal lengths and counts
        default:
          bytes.resize(std::max<std::size_t>(1, at));
          break;
      }
    }
    auto r = decode(bytes, limits);
    if (r.has_value()) {
      ++n_ok;
      // Whatever decoded must encode again.
      EXPECT_FALSE(encode(*r).empty());
    } else {
      ++n_errors;
      EXPECT_FALSE(r.error().message.empty());
    }
  }
  EXPECT_EQ(n_ok + n_errors, 20000);
  EXPECT_GT(n_errors, 0);
}

}  // namespace
}  // namespace disco::proto
