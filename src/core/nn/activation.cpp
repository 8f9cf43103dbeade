// SPDX-License-Identifier: Apache-2.0
#include "core/nn/activation.hpp"

#include <array>
#include <utility>

namespace disco::core {
namespace {

constexpr std::array<std::pair<Activation, const char*>, 7> kNames = {{
    {Activation::Linear, "linear"},
    {Activation::Relu, "relu"},
    {Activation::LeakyRelu, "leaky_relu"},
    {Activation::Sigmoid, "sigmoid"},
    {Activation::Tanh, "tanh"},
    {Activation::Softmax, "softmax"},
    {Activation::Gelu, "gelu"},
}};

}  // namespace

Result<Activation> parse_activation(std::string_view name, const std::string& field) {
  for (const auto& [a, n] : kNames)
    if (name == n) return a;
  if (name == "none") return Activation::Linear;
  return make_error(Errc::InvalidArgument,
                    field + ": unknown activation '" + std::string(name) +
                        "' (expected linear, relu, leaky_relu, sigmoid, tanh, softmax or gelu)");
}

const char* activation_name(Activation a) {
  for (const auto& [act, n] : kNames)
    if (act == a) return n;
  return "linear";
}

Var apply_activation(Graph& g, Activation a, Var x, float alpha) {
  switch (a) {
    case Activation::Linear:
      return x;
    case Activation::Relu:
      return g.relu(x);
    case Activation::LeakyRelu:
      return g.leaky_relu(x, alpha);
    case Activation::Sigmoid:
      return g.sigmoid(x);
    case Activation::Tanh:
      return g.tanh(x);
    case Activation::Softmax:
      return g.softmax(x);
    case Activation::Gelu:
      return g.gelu(x);
  }
  return x;
}

}  // namespace disco::core
