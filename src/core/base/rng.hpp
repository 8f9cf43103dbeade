// SPDX-License-Identifier: Apache-2.0
// Rng: the one source of randomness in core. A PCG32 (XSH-RR) generator seeded from a 64-bit
// seed via SplitMix64. Integer outputs are bit-identical natively and in WASM; float outputs use
// only exactly-rounded float operations except normal(), whose log/sin/cos may differ in the
// last ulp between libm implementations. Not thread-safe; give each thread its own Rng
// (split()).
#pragma once

#include <cstdint>

namespace disco {

class Rng {
 public:
  explicit Rng(uint64_t seed);

  // Uniform 32-bit integer.
  uint32_t next_u32() {
    uint64_t old = state_;
    state_ = old * 6364136223846793005ull + inc_;
    auto xorshifted = static_cast<uint32_t>(((old >> 18u) ^ old) >> 27u);
    auto rot = static_cast<uint32_t>(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
  }
  // Uniform 64-bit integer (two draws).
  uint64_t next_u64();
  // Uniform integer in [0, n); n > 0. Unbiased (Lemire's method with rejection).
  uint32_t uniform_int(uint32_t n);
  // Uniform float in [0, 1) with 24 bits of randomness.
  float uniform() { return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f); }
  // Uniform float in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal (Box-Muller; caches the second value).
  float normal();
  // Normal truncated to [-2, 2] standard deviations, rescaled by stddev (Keras truncated_normal).
  float truncated_normal(float stddev);
  // A new generator whose stream is independent of this one; advances this one.
  Rng split();

 private:
  uint64_t state_;
  uint64_t inc_;
  float cached_normal_ = 0.0f;
  bool has_cached_normal_ = false;
};

}  // namespace disco
