// SPDX-License-Identifier: Apache-2.0
// `disco serve`: runs the federated server (server::App) until SIGINT / SIGTERM.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/result.hpp"

namespace disco::cli {

struct ServeOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string data_dir = "disco-data";
  std::string tasks_dir;                 // default: the built-in tasks
  std::string web_dir;                   // default: the built web app, when present
  std::vector<std::string> join_tokens;  // "TASK=TOKEN"
  int64_t max_message_mb = 256;
};

Result<void> run_serve(const ServeOptions& options);

}  // namespace disco::cli
