// SPDX-License-Identifier: Apache-2.0
#include "core/data/partition.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

namespace disco::core {
namespace {

constexpr std::string_view kForms = "expected \"iid\" or \"dirichlet:ALPHA\" (e.g. dirichlet:0.5)";

// Uniform in the open interval (0, 1), 53 bits, so log() is always finite.
double uniform_open(Rng& rng) {
  return (static_cast<double>(rng.next_u64() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

// log of a Gamma(shape, 1) variate. Marsaglia & Tsang, "A Simple Method for Generating Gamma
// Variables" (2000): for shape >= 1, d = shape - 1/3, c = 1 / sqrt(9 d); draw x ~ N(0, 1),
// v = (1 + c x)^3 and accept d v with the squeeze 1 - 0.0331 x^4 or the full log test. For
// shape < 1, Gamma(shape) = Gamma(shape + 1) * U^(1 / shape) (their section 6), kept in log
// space because U^(1 / shape) underflows for small shapes.
double log_gamma_variate(Rng& rng, double shape) {
  if (shape < 1.0) return log_gamma_variate(rng, shape + 1.0) + std::log(uniform_open(rng)) / shape;
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    const auto x = static_cast<double>(rng.normal());
    double v = 1.0 + c * x;
    if (v <= 0.0) continue;
    v = v * v * v;
    const double u = uniform_open(rng);
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2 || std::log(u) < 0.5 * x2 + d * (1.0 - v + std::log(v)))
      return std::log(d) + std::log(v);
  }
}

Result<void> check_common(const Dataset& data, int64_t n_clients, const PartitionSpec& spec) {
  if (n_clients < 1)
    return make_error(Errc::InvalidArgument,
                      "cannot split data among " + std::to_string(n_clients) + " clients");
  if (data.size() < n_clients)
    return make_error(Errc::InvalidArgument, "cannot split " + std::to_string(data.size()) +
                                                 " samples among " + std::to_string(n_clients) +
                                                 " clients: each needs at least one");
  if (spec.scheme == PartitionScheme::Dirichlet && !(std::isfinite(spec.alpha) && spec.alpha > 0))
    return make_error(Errc::InvalidArgument, "dirichlet alpha must be finite and > 0");
  return {};
}

std::vector<std::vector<int64_t>> split_iid(const Dataset& data, int64_t n_clients, Rng& rng) {
  const std::vector<int64_t> order = permutation(data.size(), rng);
  const int64_t base = data.size() / n_clients, extra = data.size() % n_clients;
  std::vector<std::vector<int64_t>> parts(static_cast<std::size_t>(n_clients));
  auto at = order.begin();
  for (int64_t c = 0; c < n_clients; ++c) {
    const int64_t size = base + (c < extra ? 1 : 0);
    parts[static_cast<std::size_t>(c)].assign(at, at + size);
    at += size;
  }
  return parts;
}

// One Dirichlet draw per class; cuts each class's shuffled rows at the cumulative proportions.
std::vector<std::vector<int64_t>> draw_dirichlet(const std::vector<std::vector<int64_t>>& by_class,
                                                 int64_t n_clients, double alpha, Rng& rng) {
  std::vector<std::vector<int64_t>> parts(static_cast<std::size_t>(n_clients));
  for (const std::vector<int64_t>& rows : by_class) {
    if (rows.empty()) continue;
    const auto count = static_cast<int64_t>(rows.size());
    const std::vector<int64_t> order = permutation(count, rng);
    const std::vector<double> p = sample_dirichlet(rng, alpha, n_clients);
    double cumulative = 0;
    int64_t start = 0;
    for (int64_t c = 0; c < n_clients; ++c) {
      cumulative += p[static_cast<std::size_t>(c)];
      int64_t end = c + 1 == n_clients
                        ? count
                        : static_cast<int64_t>(std::floor(cumulative * static_cast<double>(count)));
      end = std::clamp(end, start, count);
      for (int64_t i = start; i < end; ++i)
        parts[static_cast<std::size_t>(c)].push_back(rows[static_cast<std::size_t>(order[i])]);
      start = end;
    }
  }
  return parts;
}

bool all_non_empty(const std::vector<std::vector<int64_t>>& parts) {
  return std::none_of(parts.begin(), parts.end(), [](const auto& p) { return p.empty(); });
}

Result<std::vector<std::vector<int64_t>>> split_dirichlet(const Dataset& data, int64_t n_clients,
                                                          double alpha, Rng& rng) {
  if (!data.is_classification() || data.y.rank() != 1)
    return make_error(Errc::InvalidArgument,
                      "a dirichlet split needs single-label classification data (one class per "
                      "sample); use iid for this data");
  std::vector<std::vector<int64_t>> by_class(static_cast<std::size_t>(data.n_classes));
  for (int64_t i = 0; i < data.size(); ++i) {
    const auto label = static_cast<int64_t>(data.y[i]);
    if (label < 0 || label >= data.n_classes)
      return make_error(Errc::InvalidArgument, "sample " + std::to_string(i) + " has class " +
                                                   std::to_string(label) + " outside [0, " +
                                                   std::to_string(data.n_classes) + ")");
    by_class[static_cast<std::size_t>(label)].push_back(i);
  }
  std::vector<std::vector<int64_t>> parts;
  for (int draw = 0; draw < kMaxDirichletDraws; ++draw) {
    parts = draw_dirichlet(by_class, n_clients, alpha, rng);
    if (all_non_empty(parts)) return parts;
  }
  // Every client is owed one sample; with n >= n_clients the largest part always has two or
  // more while some part is empty.
  for (auto& part : parts) {
    if (!part.empty()) continue;
    auto largest = std::max_element(parts.begin(), parts.end(), [](const auto& a, const auto& b) {
      return a.size() < b.size();
    });
    DISCO_CHECK(largest->size() >= 2, "dirichlet repair: no part to take a sample from");
    part.push_back(largest->back());
    largest->pop_back();
  }
  return parts;
}

}  // namespace

Result<PartitionSpec> parse_partition_spec(std::string_view text) {
  const std::string quoted = "split '" + std::string(text) + "': ";
  if (text == "iid") return PartitionSpec{PartitionScheme::Iid, 0};
  constexpr std::string_view kPrefix = "dirichlet";
  if (text.substr(0, kPrefix.size()) != kPrefix)
    return make_error(Errc::InvalidArgument, quoted + std::string(kForms));
  std::string_view rest = text.substr(kPrefix.size());
  if (rest.empty() || rest == ":")
    return make_error(Errc::InvalidArgument,
                      quoted +
                          "missing ALPHA: write dirichlet:ALPHA with ALPHA > 0, e.g. "
                          "dirichlet:0.5");
  if (rest[0] != ':') return make_error(Errc::InvalidArgument, quoted + std::string(kForms));
  const std::string number(rest.substr(1));
  char* end = nullptr;
  const double alpha = std::strtod(number.c_str(), &end);
  const bool starts_ok = (number[0] >= '0' && number[0] <= '9') || number[0] == '.';
  if (!starts_ok || end != number.c_str() + number.size() || !std::isfinite(alpha))
    return make_error(Errc::InvalidArgument,
                      quoted + "ALPHA '" + number + "' is not a positive decimal number");
  if (!(alpha > 0))
    return make_error(Errc::InvalidArgument, quoted + "ALPHA must be > 0, got " + number);
  return PartitionSpec{PartitionScheme::Dirichlet, alpha};
}

std::string partition_spec_name(const PartitionSpec& spec) {
  if (spec.scheme == PartitionScheme::Iid) return "iid";
  char buf[48];
  std::snprintf(buf, sizeof buf, "dirichlet:%.6g", spec.alpha);
  return buf;
}

double sample_gamma(Rng& rng, double shape) {
  DISCO_CHECK(std::isfinite(shape) && shape > 0, "sample_gamma: shape must be finite and > 0");
  return std::exp(log_gamma_variate(rng, shape));
}

std::vector<double> sample_dirichlet(Rng& rng, double alpha, int64_t k) {
  DISCO_CHECK(k >= 1, "sample_dirichlet: k must be >= 1");
  DISCO_CHECK(std::isfinite(alpha) && alpha > 0, "sample_dirichlet: alpha must be finite and > 0");
  std::vector<double> p(static_cast<std::size_t>(k));
  for (double& x : p) x = log_gamma_variate(rng, alpha);
  // Normalising exp(log g_i - max) is the softmax of the logs: no underflow to 0 / 0.
  const double top = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (double& x : p) {
    x = std::exp(x - top);
    sum += x;
  }
  for (double& x : p) x /= sum;
  return p;
}

Result<std::vector<std::vector<int64_t>>> partition_indices(const Dataset& data, int64_t n_clients,
                                                            const PartitionSpec& spec, Rng& rng) {
  DISCO_TRY(check_common(data, n_clients, spec));
  if (spec.scheme == PartitionScheme::Iid) return split_iid(data, n_clients, rng);
  return split_dirichlet(data, n_clients, spec.alpha, rng);
}

Result<std::vector<Dataset>> partition(const Dataset& data, int64_t n_clients,
                                       const PartitionSpec& spec, Rng& rng) {
  DISCO_ASSIGN_OR_RETURN(parts, partition_indices(data, n_clients, spec, rng));
  std::vector<Dataset> out;
  out.reserve(parts.size());
  for (const std::vector<int64_t>& rows : parts) out.push_back(subset(data, rows));
  return out;
}

}  // namespace disco::core
