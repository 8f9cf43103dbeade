// SPDX-License-Identifier: Apache-2.0
// server::App: the disco server (`disco serve`). It hosts tasks (the built-in ones from a tasks
// directory plus those created over HTTP), runs one proto::FederatedServer machine per
// federated task, and keeps tasks, rounds, participants and the latest global model durable in a
// Store so a restarted server resumes at the last completed round.
//
// HTTP API (docs/server.md has the full reference):
//   GET  /api/health                 {"status": "ok", ...}
//   GET  /api/tasks                  [task, ...]  the task documents as created
//   POST /api/tasks                  create a task from the JSON body: 201, or 400 naming the
//                                    bad field, 409 when the id exists. Header X-Join-Token
//                                    (optional) restricts who may join it.
//   GET  /api/tasks/ID               the task document, or 404
//   GET  /api/tasks/ID/status        phase, round, participants and per-round metrics
//   GET  /api/tasks/ID/model         the latest global model (safetensors with the spec)
//   WS   /ws/ID                      the federated protocol (docs/protocol.md), binary frames
//   GET  anything else               static files of the web app, when a web directory is set
// Every machine input happens on the HttpServer's one thread; App has no locks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/base/result.hpp"

namespace disco::server {

struct ServeOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = ephemeral (App::port() tells which)
  std::filesystem::path data_dir = "disco-data";
  std::filesystem::path tasks_dir;  // built-in tasks (*.json); empty = none
  std::filesystem::path web_dir;    // static web app; empty = none
  std::size_t max_message_bytes = std::size_t{256} << 20;
  // Per-task join tokens for the built-in tasks, by task id.
  std::map<std::string, std::string> join_tokens;
  bool handle_signals = false;  // SIGINT / SIGTERM stop run()
  bool log = true;              // one line per event on stderr
};

class App {
 public:
  // Opens the store, loads the tasks (resuming each at its last completed round) and listens.
  // Errors: a bad task file (named, with the field), a store failure, or the port in use.
  static Result<std::unique_ptr<App>> create(ServeOptions options);
  ~App();
  App(const App&) = delete;
  App& operator=(const App&) = delete;

  uint16_t port() const;
  // Serves until stop() (or a signal, with handle_signals).
  void run();
  // Thread-safe.
  void stop();

  struct Impl;

 private:
  explicit App(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace disco::server
