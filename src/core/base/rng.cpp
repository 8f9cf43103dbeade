// SPDX-License-Identifier: Apache-2.0
#include "core/base/rng.hpp"

#include <cmath>

namespace disco {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Rng::Rng(uint64_t seed) {
  uint64_t s = seed;
  state_ = splitmix64(s);
  inc_ = splitmix64(s) | 1u;
  next_u32();
}

uint64_t Rng::next_u64() {
  uint64_t hi = next_u32();
  return (hi << 32) | next_u32();
}

uint32_t Rng::uniform_int(uint32_t n) {
  uint64_t m = static_cast<uint64_t>(next_u32()) * n;
  auto low = static_cast<uint32_t>(m);
  if (low < n) {
    uint32_t threshold = (0u - n) % n;
    while (low < threshold) {
      m = static_cast<uint64_t>(next_u32()) * n;
      low = static_cast<uint32_t>(m);
    }
  }
  return static_cast<uint32_t>(m >> 32);
}

float Rng::normal() {
  if (has_cached_normal_) {
    has_cached_normal_ = false;
    return cached_normal_;
  }
  // u1 in (0, 1] so log() is finite.
  double u1 = (static_cast<double>(next_u32() >> 8) + 1.0) * (1.0 / 16777216.0);
  double u2 = static_cast<double>(next_u32() >> 8) * (1.0 / 16777216.0);
  double r = std::sqrt(-2.0 * std::log(u1));
  double theta = 2.0 * 3.14159265358979323846 * u2;
  cached_normal_ = static_cast<float>(r * std::sin(theta));
  has_cached_normal_ = true;
  return static_cast<float>(r * std::cos(theta));
}

float Rng::truncated_normal(float stddev) {
  for (;;) {
    float z = normal();
    if (z >= -2.0f && z <= 2.0f) return z * stddev;
  }
}

Rng Rng::split() { return Rng(next_u64()); }

}  // namespace disco
