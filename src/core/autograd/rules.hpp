// SPDX-License-Identifier: Apache-2.0
// The op table: for every primitive, its name, its forward rule (computes node.value from the
// input nodes' values, saving what backward needs) and its backward rule (reads node.grad and
// accumulates into the gradient slots of the inputs that require one). Internal to autograd.
#pragma once

#include "core/autograd/graph.hpp"

namespace disco::core {

struct OpRule {
  const char* name;
  void (*forward)(Graph& g, Node& node);
  void (*backward)(Graph& g, Node& node);
};

const OpRule& op_rule(Op op);

}  // namespace disco::core
