// SPDX-License-Identifier: Apache-2.0
// Weight initializers with Keras names and semantics. fan_in/fan_out of a kernel are computed
// from its shape: dense (in, out) -> in, out; conv (kh, kw, in, out) -> kh*kw*in, kh*kw*out.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/tensor.hpp"

namespace disco::core {

enum class Init {
  Zeros,
  Ones,
  GlorotUniform,
  GlorotNormal,  // truncated normal, stddev sqrt(2 / (fan_in + fan_out)) / .87962566
  HeUniform,
  HeNormal,  // truncated normal, stddev sqrt(2 / fan_in) / .87962566
  LecunUniform,
  LecunNormal,
};

Result<Init> parse_init(std::string_view name, const std::string& field);
const char* init_name(Init init);
// Fills `out` (a parameter of `shape`) from rng.
void initialize(Init init, const Shape& shape, std::span<float> out, Rng& rng);

}  // namespace disco::core
