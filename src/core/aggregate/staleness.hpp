// SPDX-License-Identifier: Apache-2.0
// Staleness weighting for buffered asynchronous aggregation (FedBuff, Nguyen et al. 2022, with the
// weighting functions of FedAsync, Xie et al. 2019). A contribution's staleness s is the number of
// global model versions published between the version the client trained from and the version
// being aggregated into (s = 0: fresh). The server multiplies the contribution's weight (its
// sample count) by staleness_weight(s, policy) before MeanAggregator::add_contribution:
//   constant     1
//   polynomial   (1 + s)^-exponent                       default exponent 0.5
//   hinge        1 if s <= hinge_start, else 1 / (hinge_slope * (s - hinge_start) + 1)
//                                                        default slope 10, start 4 (FedAsync)
// Bounded staleness: with max_staleness set, contributions with s > max_staleness are refused by
// the caller (within_staleness_bound says so) and never reach the aggregator.
//
// JSON (e.g. the task's "federation.staleness"; every field optional):
//   {"policy": "constant" | "polynomial" | "hinge",   default "polynomial"
//    "exponent": >= 0,  "hinge_slope": >= 0,  "hinge_start": integer >= 0,
//    "max_staleness": integer >= 0 (absent: unbounded)}
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/base/result.hpp"
#include "core/json_util.hpp"

namespace disco::core {

enum class StalenessPolicyKind { Constant, Polynomial, Hinge };

struct StalenessPolicy {
  StalenessPolicyKind kind = StalenessPolicyKind::Polynomial;
  double exponent = 0.5;                 // polynomial: a in (1 + s)^-a
  double hinge_slope = 10.0;             // hinge: a in 1 / (a (s - b) + 1)
  int64_t hinge_start = 4;               // hinge: b, the staleness up to which weight stays 1
  std::optional<int64_t> max_staleness;  // nullopt: any staleness is accepted
};

// The factor in (0, 1] for a contribution of staleness s. Precondition: s >= 0 (a contribution
// from the future is a protocol violation the caller detects first; s < 0 aborts). Parameters
// are as parse_staleness_policy accepts them.
double staleness_weight(int64_t staleness, const StalenessPolicy& policy);

// Whether the caller may aggregate a contribution of this staleness: false when s < 0 or
// s > policy.max_staleness.
bool within_staleness_bound(int64_t staleness, const StalenessPolicy& policy);

// Reads the JSON above. Errors: InvalidArgument naming the field, e.g.
// "federation.staleness.exponent: must be >= 0, got -1".
Result<StalenessPolicy> parse_staleness_policy(const Json& spec, const std::string& path);

}  // namespace disco::core
