// SPDX-License-Identifier: Apache-2.0
// Partitioning one Dataset among N simulated clients, the way FL papers build federated
// benchmarks from a centralised data set:
//   "iid"            a seeded shuffle cut into N near-equal parts (sizes differ by at most 1);
//   "dirichlet:A"    label skew (Hsu et al. 2019, "Measuring the Effects of Non-Identical Data
//                    Distribution"): for every class, proportions p ~ Dirichlet(A, ..., A) over
//                    the N clients, and that class's samples (in a seeded shuffle) are cut by p.
//                    Small A (0.1) gives each client few classes; large A (100) approaches iid.
// Every client must end up with at least one sample. A Dirichlet draw that leaves a client empty
// is redrawn (up to kMaxDirichletDraws times, continuing the same Rng); if every draw does, the
// empty clients each take one sample from the currently largest client (deterministic).
// All randomness comes from the Rng passed in, so a seed gives the same split natively and in
// WASM (up to libm's last-ulp differences in log/pow, which Dirichlet sampling uses). Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/data/dataset.hpp"

namespace disco::core {

enum class PartitionScheme { Iid, Dirichlet };

struct PartitionSpec {
  PartitionScheme scheme = PartitionScheme::Iid;
  double alpha = 0;  // Dirichlet concentration, finite and > 0 (Dirichlet only)
};

inline constexpr int kMaxDirichletDraws = 100;

// Parses "iid" or "dirichlet:ALPHA" (ALPHA a positive finite decimal, e.g. "dirichlet:0.5").
// Errors: InvalidArgument with a message that quotes the text and shows the accepted forms.
Result<PartitionSpec> parse_partition_spec(std::string_view text);

// "iid" or "dirichlet:0.5" (alpha with up to 6 significant digits); parses back to `spec`.
std::string partition_spec_name(const PartitionSpec& spec);

// Row indices of `data` for each of n_clients clients: disjoint, together every row once, each
// non-empty. Iid parts come out in shuffled order; Dirichlet parts grouped by class.
// Errors: InvalidArgument when n_clients < 1, when data has fewer rows than clients, when the
// spec's alpha is not finite and > 0, or for Dirichlet on data that is not single-label
// classification (y of shape (n,) with n_classes > 0).
Result<std::vector<std::vector<int64_t>>> partition_indices(const Dataset& data, int64_t n_clients,
                                                            const PartitionSpec& spec, Rng& rng);

// partition_indices, materialised: one Dataset per client (rows copied). Same errors.
Result<std::vector<Dataset>> partition(const Dataset& data, int64_t n_clients,
                                       const PartitionSpec& spec, Rng& rng);

// A Gamma(shape, 1) variate (Marsaglia & Tsang 2000; for shape < 1 the boost
// Gamma(shape + 1) * U^(1/shape)). Precondition (abort): shape finite and > 0. May underflow to
// 0 for very small shapes; sample_dirichlet works in log space to avoid that.
double sample_gamma(Rng& rng, double shape);

// A point of the (k-1)-simplex drawn from the symmetric Dirichlet(alpha, ..., alpha): k
// non-negative values summing to 1. Preconditions (abort): k >= 1, alpha finite and > 0.
std::vector<double> sample_dirichlet(Rng& rng, double alpha, int64_t k);

}  // namespace disco::core
