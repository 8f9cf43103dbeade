// SPDX-License-Identifier: Apache-2.0
// Activation functions a layer may apply to its output, by their Keras names.
#pragma once

#include <string>
#include <string_view>

#include "core/autograd/graph.hpp"
#include "core/base/result.hpp"

namespace disco::core {

enum class Activation { Linear, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, Gelu };

// "linear"/"relu"/"leaky_relu"/"sigmoid"/"tanh"/"softmax"/"gelu"; `field` names it in errors.
Result<Activation> parse_activation(std::string_view name, const std::string& field);
const char* activation_name(Activation a);
// Adds the activation to the graph (Linear returns x itself). alpha: LeakyRelu slope.
Var apply_activation(Graph& g, Activation a, Var x, float alpha);

}  // namespace disco::core
