// SPDX-License-Identifier: Apache-2.0
// net::HttpServer: the server's I/O driver. One Asio io_context on one thread accepts TCP
// connections and speaks HTTP/1.1 and WebSocket (Boost.Beast) on them; everything the
// application sees arrives as a callback on that thread, so the application (src/server) needs
// no locks and the protocol machines it drives are called serially, as they require.
//
// Only this header's plain types cross into the application: Beast and Asio stay inside
// http_server.cpp (one slow-to-compile translation unit, STYLE 2.3 / DESIGN "build").
//
//   HTTP       every request goes to Callbacks::http, whose HttpResponse is sent back. Bodies over
//              max_body_bytes get 413 without reaching the application. Every response carries
//              the cross-origin isolation headers (COOP same-origin, COEP require-corp) the
//              threaded WebAssembly web app needs.
//   WebSocket  an upgrade request goes to Callbacks::ws_open(conn, path); returning false
//              answers 404. The application may already send() or close() inside ws_open:
//              those wait for the handshake to complete. After that each binary message arrives in
//              ws_message, and ws_closed is called exactly once when the connection is gone (either
//              side, any reason). Messages over max_message_bytes close the connection (1009).
//   Sending    send() queues one binary message; writes happen in order, one at a time.
//              Connections whose queue exceeds max_queued_bytes are closed (a slow reader
//              cannot make the server hold unbounded memory). close() flushes what is queued,
//              then closes.
//   Timers     Timer runs a function on the server thread at a steady-clock time point.
// Every method except stop() must be called on the server thread (inside a callback, or from a
// function given to post()). stop() may be called from any thread or a signal handler context
// via the handle_signals option.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.hpp"

namespace disco::net {

using ConnId = uint64_t;
using SteadyTime = std::chrono::steady_clock::time_point;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent, e.g. "/api/tasks?x=1"
  std::string path;    // target without the query
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // The value of header `name` (case-insensitive), or "".
  std::string header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0 = an ephemeral port (see HttpServer::port())
  std::size_t max_body_bytes = std::size_t{16} << 20;
  std::size_t max_message_bytes = std::size_t{256} << 20;
  std::size_t max_queued_bytes = std::size_t{1} << 30;
  // Idle HTTP connections and unanswered WebSocket pings time out after this long.
  std::chrono::seconds idle_timeout{60};
  bool handle_signals = false;  // SIGINT / SIGTERM call stop()
};

struct HttpServerCallbacks {
  std::function<HttpResponse(const HttpRequest&)> http;
  std::function<bool(ConnId, const std::string& path)> ws_open;
  std::function<void(ConnId, std::span<const std::byte>)> ws_message;
  std::function<void(ConnId)> ws_closed;
};

class HttpServer {
 public:
  // Binds and listens. Errors: Unavailable naming host:port (address in use, bad address).
  static Result<std::unique_ptr<HttpServer>> create(HttpServerOptions options,
                                                    HttpServerCallbacks callbacks);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // Runs the event loop on the calling thread until stop().
  void run();
  // Thread-safe: ends run() after closing the listener and every connection.
  void stop();
  // Thread-safe: runs `fn` on the server thread.
  void post(std::function<void()> fn);

  void send(ConnId conn, std::vector<std::byte> message);
  // Same bytes to many connections without copying them per connection.
  void send_shared(ConnId conn, std::shared_ptr<const std::vector<std::byte>> message);
  void close(ConnId conn, std::string reason);
  std::size_t n_connections() const;

  class Timer {
   public:
    virtual ~Timer() = default;
    // Replaces any pending expiry.
    virtual void arm(SteadyTime at, std::function<void()> fn) = 0;
    virtual void cancel() = 0;
  };
  std::unique_ptr<Timer> make_timer();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace disco::net
