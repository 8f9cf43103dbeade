// SPDX-License-Identifier: Apache-2.0
// A terminal progress bar on stderr: redrawn in place on a TTY (at most ~10 times a second),
// silent otherwise, so logs and pipes only get the per-epoch summary lines.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace disco::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled);
  // Starts a bar for `total` steps with a label such as "epoch 2/5".
  void start(int64_t total, std::string label);
  // Shows `done` of total steps plus a free-form status ("loss 0.412 acc 0.853").
  void update(int64_t done, const std::string& status);
  // Erases the bar so the next line prints cleanly.
  void finish();

 private:
  bool enabled_;
  int64_t total_ = 0;
  std::string label_;
  std::chrono::steady_clock::time_point started_, last_draw_;
};

// "12.3s", "4m05s"
std::string format_duration(double seconds);

}  // namespace disco::cli
