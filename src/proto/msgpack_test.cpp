// SPDX-License-Identifier: Apache-2.0
#include "proto/msgpack.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace disco::proto {
namespace {

uint8_t first_byte(const MsgpackWriter& w) { return static_cast<uint8_t>(w.bytes().at(0)); }

std::vector<std::byte> raw(std::initializer_list<int> values) {
  std::vector<std::byte> out;
  for (int v : values) out.push_back(static_cast<std::byte>(v));
  return out;
}

TEST(Msgpack, RoundTripsUnsignedIntsAtEveryWidthBoundary) {
  struct Case {
    uint64_t value;
    std::size_t n_bytes;
  };
  const Case cases[] = {{0, 1},
                        {127, 1},
                        {128, 2},
                        {255, 2},
                        {256, 3},
                        {65535, 3},
                        {65536, 5},
                        {0xffffffffull, 5},
                        {0x100000000ull, 9},
                        {std::numeric_limits<uint64_t>::max(), 9}};
  for (const Case& c : cases) {
    MsgpackWriter w;
    w.write_uint(c.value);
    EXPECT_EQ(w.bytes().size(), c.n_bytes) << c.value;
    MsgpackReader r(w.bytes());
    auto v = r.read_uint();
    ASSERT_TRUE(v.has_value()) << v.error().to_string();
    EXPECT_EQ(*v, c.value);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(Msgpack, RoundTripsSignedIntsAtEveryWidthBoundary) {
  struct Case {
    int64_t value;
    std::size_t n_bytes;
  };
  const Case cases[] = {{-1, 1},
                        {-32, 1},
                        {-33, 2},
                        {-128, 2},
                        {-129, 3},
                        {-32768, 3},
                        {-32769, 5},
                        {std::numeric_limits<int32_t>::min(), 5},
                        {int64_t{std::numeric_limits<int32_t>::min()} - 1, 9},
                        {std::numeric_limits<int64_t>::min(), 9},
                        {0, 1},
                        {127, 1},
                        {std::numeric_limits<int64_t>::max(), 9}};
  for (const Case& c : cases) {
    MsgpackWriter w;
    w.write_int(c.value);
    EXPECT_EQ(w.bytes().size(), c.n_bytes) << c.value;
    MsgpackReader r(w.bytes());
    auto v = r.read_int();
    ASSERT_TRUE(v.has_value()) << v.error().to_string();
    EXPECT_EQ(*v, c.value);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(Msgpack, ReadsSignedEncodingsOfNonNegativeValuesAsUnsigned) {
  // int8 0x05 and int64 0 are valid encodings of non-negative values.
  auto a = raw({0xd0, 0x05});
  auto b = raw({0xd3, 0, 0, 0, 0, 0, 0, 0, 0});
  EXPECT_EQ(*MsgpackReader(a).read_uint(), 5u);
  EXPECT_EQ(*MsgpackReader(b).read_uint(), 0u);
}

TEST(Msgpack, RejectsIntegersOutsideTheRequestedRange) {
  MsgpackWriter neg;
  neg.write_int(-5);
  auto r1 = MsgpackReader(neg.bytes()).read_uint();
  ASSERT_FALSE(r1.has_value());
  EXPECT_EQ(r1.error().code, Errc::Corruption);

  MsgpackWriter big;
  big.write_uint(std::numeric_limits<uint64_t>::max());
  auto r2 = MsgpackReader(big.bytes()).read_int();
  ASSERT_FALSE(r2.has_value());
  EXPECT_EQ(r2.error().code, Errc::Corruption);
}

TEST(Msgpack, RoundTripsStringsAtFormatBoundaries) {
  struct Case {
    std::size_t length;
    uint8_t marker;
    std::size_t header_bytes;
  };
  const Case cases[] = {{0, 0xa0, 1},   {31, 0xbf, 1},    {32, 0xd9, 2},   {255, 0xd9, 2},
                        {256, 0xda, 3}, {65535, 0xda, 3}, {65536, 0xdb, 5}};
  for (const Case& c : cases) {
    std::string s(c.length, 'x');
    if (!s.empty()) s.back() = 'y';
    MsgpackWriter w;
    w.write_str(s);
    EXPECT_EQ(first_byte(w), c.marker) << c.length;
    EXPECT_EQ(w.bytes().size(), c.header_bytes + c.length);
    MsgpackReader r(w.bytes());
    auto v = r.read_str();
    ASSERT_TRUE(v.has_value()) << v.error().to_string();
    EXPECT_EQ(*v, s);
    EXPECT_TRUE(r.at_end());
  }
}

TEST(Msgpack, RoundTripsBinAtFormatBoundaries) {
  struct Case {
    std::size_t length;
    uint8_t marker;
  };
  const Case cases[] = {{0, 0xc4}, {255, 0xc4}, {256, 0xc5}, {65535, 0xc5}, {65536, 0xc6}};
  for (const Case& c : cases) {
    std::vector<std::byte> data(c.length);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::byte>(i * 7);
    MsgpackWriter w;
    w.write_bin(data);
    EXPECT_EQ(first_byte(w), c.marker) << c.length;
    MsgpackReader r(w.bytes());
    auto v = r.read_bin();
    ASSERT_TRUE(v.has_value()) << v.error().to_string();
    EXPECT_TRUE(std::equal(v->begin(), v->end(), data.begin(), data.end()));
    EXPECT_TRUE(r.at_end());
  }
}

TEST(Msgpack, RoundTripsNilBoolAndFloats) {
  MsgpackWriter w;
  w.write_nil();
  w.write_bool(true);
  w.write_bool(false);
  w.write_float64(0.1);
  w.write_float32(1.5f);
  w.write_float64(-std::numeric_limits<double>::infinity());
  w.write_float64(std::numeric_limits<double>::quiet_NaN());
  MsgpackReader r(w.bytes());
  EXPECT_TRUE(r.read_nil().has_value());
  EXPECT_EQ(*r.read_bool(), true);
  EXPECT_EQ(*r.read_bool(), false);
  EXPECT_EQ(*r.read_float(), 0.1);
  EXPECT_EQ(*r.read_float(), 1.5);
  EXPECT_EQ(*r.read_float(), -std::numeric_limits<double>::infinity());
  EXPECT_TRUE(std::isnan(*r.read_float()));
  EXPECT_TRUE(r.at_end());
}

TEST(Msgpack, RoundTripsContainerHeadersAtFormatBoundaries) {
  struct Case {
    uint32_t count;
    uint8_t array_marker;
    uint8_t map_marker;
  };
  const Case cases[] = {{0, 0x90, 0x80},
                        {15, 0x9f, 0x8f},
                        {16, 0xdc, 0xde},
                        {65535, 0xdc, 0xde},
                        {65536, 0xdd, 0xdf}};
  for (const Case& c : cases) {
    MsgpackWriter a;
    a.write_array_header(c.count);
    EXPECT_EQ(first_byte(a), c.array_marker);
    for (uint32_t i = 0; i < c.count; ++i) a.write_nil();
    MsgpackReader ra(a.bytes());
    EXPECT_EQ(*ra.read_array_header(), c.count);

    MsgpackWriter m;
    m.write_map_header(c.count);
    EXPECT_EQ(first_byte(m), c.map_marker);
    for (uint32_t i = 0; i < 2 * c.count; ++i) m.write_nil();
    MsgpackReader rm(m.bytes());
    EXPECT_EQ(*rm.read_map_header(), c.count);
  }
}

TEST(Msgpack, RejectsLengthsBeyondTheInputBeforeAllocating) {
  // str32 / bin32 / array32 / map32 announcing ~4 GiB with three bytes behind them.
  for (int marker : {0xdb, 0xc6, 0xdd, 0xdf}) {
    auto bytes = raw({marker, 0xff, 0xff, 0xff, 0xff, 1, 2, 3});
    MsgpackReader r(bytes);
    auto skipped = r.skip();
    ASSERT_FALSE(skipped.has_value()) << marker;
    EXPECT_EQ(skipped.error().code, Errc::Corruption);
    EXPECT_NE(skipped.error().message.find("at byte 1"), std::string::npos)
        << skipped.error().message;
  }
  // A fixarray of 15 with 2 bytes left.
  auto small = raw({0x9f, 0xc0, 0xc0});
  EXPECT_FALSE(MsgpackReader(small).read_array_header().has_value());
}

TEST(Msgpack, RejectsEveryTruncatedPrefix) {
  MsgpackWriter w;
  w.write_array_header(6);
  w.write_uint(0x123456789ull);
  w.write_int(-40000);
  w.write_float64(2.5);
  w.write_str(std::string(300, 'a'));
  w.write_bin(std::vector<std::byte>(70000));
  w.write_map_header(1);
  w.write_str("k");
  w.write_float32(1.0f);
  const auto& bytes = w.bytes();
  ASSERT_TRUE(MsgpackReader(bytes).skip().has_value());
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    MsgpackReader r(std::span<const std::byte>(bytes.data(), n));
    auto skipped = r.skip();
    ASSERT_FALSE(skipped.has_value()) << "prefix " << n;
    EXPECT_EQ(skipped.error().code, Errc::Corruption);
  }
}

TEST(Msgpack, ReportsWrongTypeWithItsOffset) {
  MsgpackWriter w;
  w.write_nil();
  w.write_uint(7);
  MsgpackReader r(w.bytes());
  ASSERT_TRUE(r.read_nil().has_value());
  auto s = r.read_str();
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, Errc::Corruption);
  EXPECT_EQ(s.error().message, "msgpack: expected str at byte 1");
}

TEST(Msgpack, LimitsNestingDepth) {
  auto nested = [](int depth) {
    MsgpackWriter w;
    for (int i = 0; i < depth; ++i) w.write_array_header(1);
    w.write_nil();
    return w.take();
  };
  auto ok = nested(kMsgpackMaxDepth);
  EXPECT_TRUE(MsgpackReader(ok).skip().has_value());
  auto deep = nested(kMsgpackMaxDepth + 1);
  auto r = MsgpackReader(deep).skip();
  ASSERT_FALSE(r.has_value());
  EXPECT_NE(r.error().message.find("nesting too deep"), std::string::npos);
  // Far deeper than the stack could take if the limit were missing.
  auto very_deep = nested(100000);
  EXPECT_FALSE(MsgpackReader(very_deep).skip().has_value());
}

TEST(Msgpack, RejectsExtTypesAndReservedByte) {
  auto ext = raw({0xd4, 0x01, 0x00});
  auto reserved = raw({0xc1});
  EXPECT_FALSE(MsgpackReader(ext).skip().has_value());
  auto r = MsgpackReader(reserved).peek_type();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Corruption);
}

}  // namespace
}  // namespace disco::proto
