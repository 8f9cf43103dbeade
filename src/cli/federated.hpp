// SPDX-License-Identifier: Apache-2.0
// `disco train --server URL`: joins a federated task on a disco server with local data
// (client::FederatedSession), shows a status line while the rounds run, and writes the final
// global model. The task comes from the server (GET /api/tasks/<id>) unless --task names a local
// file; the session's WebSocket is ws://HOST:PORT/ws/<task id> on the same server.
#pragma once

#include <string>

#include "cli/commands.hpp"
#include "core/base/result.hpp"
#include "core/task.hpp"

namespace disco::cli {

struct FederatedOptions {
  std::string server;      // "http://host:port", "ws://host:port" or "host:port"
  std::string client_id;   // rejoin as this client; "" = the server assigns one
  std::string join_token;  // for tasks that require one; "" = none
};

// The server's HTTP base ("http://host:port") and WebSocket base ("ws://host:port") from what
// the user typed. Errors: InvalidArgument for anything but http/ws host[:port] (a path is
// refused; https/wss too, as TLS is not supported yet).
struct ServerUrls {
  std::string http;
  std::string ws;
};
Result<ServerUrls> server_urls(const std::string& server);

// Fetches the task `id` from the server. Errors: NotFound (HTTP 404), Unavailable (network,
// other statuses), InvalidArgument/Corruption (the document does not parse as a task).
Result<core::Task> fetch_task(const ServerUrls& urls, const std::string& id);

// Runs federated training as described at the top. From `train` it uses task, data, output,
// batch_size (local), seed (local shuffles), validation_split (held out locally and evaluated
// at the end), limit, threads, progress and report_json; --epochs is refused (the server's task
// sets the rounds).
// Errors: those of fetch_task, load_data and FederatedSession::run, plus writing the model.
Result<void> run_federated_train(const TrainOptions& train, const FederatedOptions& options);

}  // namespace disco::cli
