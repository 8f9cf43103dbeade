// SPDX-License-Identifier: Apache-2.0
#include "cli/serve.hpp"

#include <cstdio>
#include <filesystem>

#include "server/app.hpp"

namespace disco::cli {

Result<void> run_serve(const ServeOptions& o) {
  server::ServeOptions s;
  s.host = o.host;
  s.port = o.port;
  s.data_dir = o.data_dir;
  s.tasks_dir = o.tasks_dir.empty() ? std::filesystem::path(DISCO_TASKS_DIR)
                                    : std::filesystem::path(o.tasks_dir);
  if (!o.web_dir.empty()) {
    if (!std::filesystem::is_directory(o.web_dir))
      return make_error(Errc::NotFound, "--web-dir: no directory " + o.web_dir);
    s.web_dir = o.web_dir;
  } else if (std::filesystem::is_regular_file(std::filesystem::path(DISCO_WEB_DIR) /
                                              "index.html")) {
    s.web_dir = DISCO_WEB_DIR;
  }
  for (const auto& spec : o.join_tokens) {
    const auto eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      return make_error(Errc::InvalidArgument,
                        "--join-token: expected TASK=TOKEN, got '" + spec + "'");
    s.join_tokens[spec.substr(0, eq)] = spec.substr(eq + 1);
  }
  if (o.max_message_mb <= 0 || o.max_message_mb > 4096)
    return make_error(Errc::InvalidArgument, "--max-message-mb must be in 1..4096");
  s.max_message_bytes = static_cast<std::size_t>(o.max_message_mb) << 20;
  s.handle_signals = true;
  DISCO_ASSIGN_OR_RETURN(app, server::App::create(s));
  std::fprintf(stderr, "listening on http://%s:%u (Ctrl-C stops)\n", o.host.c_str(), app->port());
  app->run();
  std::fprintf(stderr, "server stopped\n");
  return {};
}

}  // namespace disco::cli
