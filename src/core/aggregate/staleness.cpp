// SPDX-License-Identifier: Apache-2.0
#include "core/aggregate/staleness.hpp"

#include <cmath>
#include <cstdio>

namespace disco::core {
namespace {

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Result<double> non_negative(const Json& spec, const char* key, const std::string& path,
                            double fallback) {
  DISCO_ASSIGN_OR_RETURN(v, get_number_or(spec, key, path, fallback));
  if (!(v >= 0.0) || !std::isfinite(v))
    return field_error(path, key, "must be >= 0, got " + number_text(v));
  return v;
}

Result<int64_t> non_negative_int(const Json& spec, const char* key, const std::string& path,
                                 int64_t fallback) {
  DISCO_ASSIGN_OR_RETURN(v, get_int_or(spec, key, path, fallback));
  if (v < 0) return field_error(path, key, "must be >= 0, got " + std::to_string(v));
  return v;
}

}  // namespace

double staleness_weight(int64_t staleness, const StalenessPolicy& policy) {
  DISCO_CHECK(staleness >= 0, "staleness_weight: staleness must be >= 0");
  const auto s = static_cast<double>(staleness);
  switch (policy.kind) {
    case StalenessPolicyKind::Constant:
      return 1.0;
    case StalenessPolicyKind::Polynomial:
      return std::pow(1.0 + s, -policy.exponent);
    case StalenessPolicyKind::Hinge:
      if (staleness <= policy.hinge_start) return 1.0;
      return 1.0 / (policy.hinge_slope * (s - static_cast<double>(policy.hinge_start)) + 1.0);
  }
  return 1.0;
}

bool within_staleness_bound(int64_t staleness, const StalenessPolicy& policy) {
  if (staleness < 0) return false;
  return !policy.max_staleness || staleness <= *policy.max_staleness;
}

Result<StalenessPolicy> parse_staleness_policy(const Json& spec, const std::string& path) {
  if (!spec.is_object()) return make_error(Errc::InvalidArgument, path + ": must be an object");
  DISCO_TRY(reject_unknown_fields(
      spec, path, {"policy", "exponent", "hinge_slope", "hinge_start", "max_staleness"}));
  StalenessPolicy p;
  DISCO_ASSIGN_OR_RETURN(kind, get_string_or(spec, "policy", path, "polynomial"));
  if (kind == "constant") {
    p.kind = StalenessPolicyKind::Constant;
  } else if (kind == "polynomial") {
    p.kind = StalenessPolicyKind::Polynomial;
  } else if (kind == "hinge") {
    p.kind = StalenessPolicyKind::Hinge;
  } else {
    return field_error(
        path, "policy",
        "unknown staleness policy '" + kind + "' (expected constant, polynomial or hinge)");
  }
  DISCO_ASSIGN_OR_RETURN(exponent, non_negative(spec, "exponent", path, p.exponent));
  DISCO_ASSIGN_OR_RETURN(slope, non_negative(spec, "hinge_slope", path, p.hinge_slope));
  DISCO_ASSIGN_OR_RETURN(start, non_negative_int(spec, "hinge_start", path, p.hinge_start));
  p.exponent = exponent;
  p.hinge_slope = slope;
  p.hinge_start = start;
  auto it = spec.find("max_staleness");
  if (it != spec.end() && !it->is_null()) {
    DISCO_ASSIGN_OR_RETURN(max, non_negative_int(spec, "max_staleness", path, 0));
    p.max_staleness = max;
  }
  return p;
}

}  // namespace disco::core
