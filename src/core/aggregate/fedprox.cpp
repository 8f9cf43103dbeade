// SPDX-License-Identifier: Apache-2.0
#include "core/aggregate/fedprox.hpp"

#include <cmath>

#include "core/base/check.hpp"

namespace disco::core {

void add_proximal_gradient(std::span<float> grads, std::span<const float> weights,
                           std::span<const float> global_weights, float mu) {
  DISCO_CHECK(grads.size() == weights.size() && weights.size() == global_weights.size(),
              "add_proximal_gradient: spans must have equal length");
  DISCO_CHECK(std::isfinite(mu) && mu >= 0.0f, "add_proximal_gradient: mu must be >= 0");
  if (mu == 0.0f) return;
  for (std::size_t i = 0; i < grads.size(); ++i) grads[i] += mu * (weights[i] - global_weights[i]);
}

}  // namespace disco::core
