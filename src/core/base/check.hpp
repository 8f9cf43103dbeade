// SPDX-License-Identifier: Apache-2.0
// DISCO_CHECK for violated invariants (bugs): prints file:line and the message, then aborts, in
// every build. Never use it for input validation; inputs get a Result (result.hpp).
// DISCO_DCHECK compiles out when NDEBUG is set; use it in hot loops only.
#pragma once

namespace disco::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* cond, const char* msg);
}  // namespace disco::detail

#define DISCO_CHECK(cond, msg)                                                    \
  do {                                                                            \
    if (!(cond)) ::disco::detail::check_failed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)

#ifdef NDEBUG
#define DISCO_DCHECK(cond, msg) \
  do {                          \
  } while (0)
#else
#define DISCO_DCHECK(cond, msg) DISCO_CHECK(cond, msg)
#endif
