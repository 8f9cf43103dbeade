// SPDX-License-Identifier: Apache-2.0
// Time for the protocol machines (STYLE 2.7): a point on the host's clock, in milliseconds since
// an origin the host picks (process start, the simulator's 0). Machines never read a clock; the
// host passes `now` into every input and arms one timer at the machine's deadline(). Only
// differences and comparisons carry meaning, so the origin never matters.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>

namespace disco::proto {

using Duration = std::chrono::milliseconds;

struct Time {
  Duration since_origin{0};

  static constexpr Time from_ms(int64_t ms) { return Time{Duration(ms)}; }
  constexpr int64_t ms() const { return since_origin.count(); }

  // Spelled out: em++ 3.1.6's libc++ has no operator<=> for durations.
  friend constexpr std::strong_ordering operator<=>(Time a, Time b) { return a.ms() <=> b.ms(); }
  friend constexpr bool operator==(Time a, Time b) { return a.ms() == b.ms(); }
  friend constexpr Time operator+(Time t, Duration d) { return Time{t.since_origin + d}; }
  friend constexpr Duration operator-(Time a, Time b) { return a.since_origin - b.since_origin; }
};

}  // namespace disco::proto
