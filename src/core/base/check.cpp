// SPDX-License-Identifier: Apache-2.0
#include "core/base/check.hpp"

#include <cstdio>
#include <cstdlib>

#include "core/base/result.hpp"

namespace disco {
namespace detail {

void check_failed(const char* file, int line, const char* cond, const char* msg) {
  std::fprintf(stderr, "%s:%d: DISCO_CHECK(%s) failed: %s\n", file, line, cond, msg);
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::InvalidArgument:
      return "InvalidArgument";
    case Errc::NotFound:
      return "NotFound";
    case Errc::Corruption:
      return "Corruption";
    case Errc::ProtocolViolation:
      return "ProtocolViolation";
    case Errc::Unavailable:
      return "Unavailable";
    case Errc::Cancelled:
      return "Cancelled";
    case Errc::Internal:
      return "Internal";
  }
  return "Unknown";
}

}  // namespace disco
