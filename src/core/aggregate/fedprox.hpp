// SPDX-License-Identifier: Apache-2.0
// FedProx (Li et al. 2020, "Federated Optimization in Heterogeneous Networks") on the client: the
// local objective gains a proximal term (mu / 2) * ||w - w_global||^2 that keeps local training
// near the global model it started from. Its gradient, mu * (w - w_global), is added to the
// loss gradient here, over the whole weight block, by the trainer AFTER backward() and BEFORE
// the optimizer step (Optimizer::step ignores non-trainable entries, so their proximal gradient
// is harmless). With mu = 0 this is plain FedAvg local training. Pure; thread-safe for distinct
// grads.
#pragma once

#include <span>

namespace disco::core {

// grads[i] += mu * (weights[i] - global_weights[i]) for every i.
// Preconditions (caller bugs, abort): the three spans have equal length; mu is finite and >= 0.
// global_weights is the copy the client received at the start of the round; it must stay
// unchanged (and live) for the whole local training.
void add_proximal_gradient(std::span<float> grads, std::span<const float> weights,
                           std::span<const float> global_weights, float mu);

}  // namespace disco::core
