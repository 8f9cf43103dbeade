// SPDX-License-Identifier: Apache-2.0
#include "core/nn/init.hpp"

#include <array>
#include <cmath>
#include <utility>

namespace disco::core {
namespace {

constexpr std::array<std::pair<Init, const char*>, 8> kNames = {{
    {Init::Zeros, "zeros"},
    {Init::Ones, "ones"},
    {Init::GlorotUniform, "glorot_uniform"},
    {Init::GlorotNormal, "glorot_normal"},
    {Init::HeUniform, "he_uniform"},
    {Init::HeNormal, "he_normal"},
    {Init::LecunUniform, "lecun_uniform"},
    {Init::LecunNormal, "lecun_normal"},
}};

// Keras's truncated normal has stddev .87962566 of the untruncated one; undo it.
constexpr float kTruncationCorrection = 0.87962566103423978f;

void fans(const Shape& s, double& fan_in, double& fan_out) {
  if (s.rank() < 2) {
    fan_in = fan_out = static_cast<double>(s.numel());
    return;
  }
  double receptive = 1;
  for (int i = 0; i + 2 < s.rank(); ++i) receptive *= static_cast<double>(s[i]);
  fan_in = receptive * static_cast<double>(s.dim(-2));
  fan_out = receptive * static_cast<double>(s.dim(-1));
}

}  // namespace

Result<Init> parse_init(std::string_view name, const std::string& field) {
  for (const auto& [init, n] : kNames)
    if (name == n) return init;
  return make_error(Errc::InvalidArgument, field + ": unknown initializer '" + std::string(name) +
                                               "' (expected zeros, ones, glorot_uniform, "
                                               "glorot_normal, he_uniform, he_normal, "
                                               "lecun_uniform or lecun_normal)");
}

const char* init_name(Init init) {
  for (const auto& [i, n] : kNames)
    if (i == init) return n;
  return "zeros";
}

void initialize(Init init, const Shape& shape, std::span<float> out, Rng& rng) {
  double fan_in = 1, fan_out = 1;
  fans(shape, fan_in, fan_out);
  auto uniform = [&](double limit) {
    for (float& v : out) v = rng.uniform(static_cast<float>(-limit), static_cast<float>(limit));
  };
  auto normal = [&](double stddev) {
    for (float& v : out)
      v = rng.truncated_normal(static_cast<float>(stddev) / kTruncationCorrection);
  };
  switch (init) {
    case Init::Zeros:
      for (float& v : out) v = 0.0f;
      break;
    case Init::Ones:
      for (float& v : out) v = 1.0f;
      break;
    case Init::GlorotUniform:
      uniform(std::sqrt(6.0 / (fan_in + fan_out)));
      break;
    case Init::GlorotNormal:
      normal(std::sqrt(2.0 / (fan_in + fan_out)));
      break;
    case Init::HeUniform:
      uniform(std::sqrt(6.0 / fan_in));
      break;
    case Init::HeNormal:
      normal(std::sqrt(2.0 / fan_in));
      break;
    case Init::LecunUniform:
      uniform(std::sqrt(3.0 / fan_in));
      break;
    case Init::LecunNormal:
      normal(std::sqrt(1.0 / fan_in));
      break;
  }
}

}  // namespace disco::core
