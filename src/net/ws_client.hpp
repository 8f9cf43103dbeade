// SPDX-License-Identifier: Apache-2.0
// WsClient: one client WebSocket connection (ws://host:port/path) with a blocking,
// timeout-bounded interface over Beast, for drivers that run a protocol machine in a plain loop
// (src/client/session.hpp). Every call runs the connection's private io_context on the calling
// thread until the call's work is done or its timeout passes, so no thread is started here.
// Binary frames only; one frame is one protocol message, moved as bytes and never parsed.
//
// One read stays outstanding between receive() calls, so a timeout never cancels a read (Beast
// leaves a websocket stream unusable after an aborted read); the next receive() continues it.
// WebSocket-level keep-alive pings are on: a silent peer is detected after `idle_timeout`.
//
// Errors are values (no exception leaves this file): InvalidArgument for a bad URL, Unavailable
// for anything the network did (refused, reset, closed, handshake declined, timed out).
// Beast stays out of this header: the implementation is behind a pointer.
//
// Thread-safety: one thread uses a WsClient at a time, except wake(), which any thread may call
// at any time while the object is alive.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"

namespace disco::net {

// The parts of a ws:// or http:// URL. https and wss are refused (no TLS yet).
struct Url {
  std::string scheme;  // "ws" or "http"
  std::string host;    // name or IPv4 address; IPv6 literals are not supported
  uint16_t port = 0;   // 80 when the URL has none
  std::string target;  // path and query, starting with '/' ("/" when the URL has none)
};

// Parses "ws://host[:port][/path]" or "http://host[:port][/path]".
// Errors: InvalidArgument naming the URL (other scheme, empty host, bad port).
Result<Url> parse_url(std::string_view url);

struct WsOptions {
  // TCP connect + WebSocket handshake, together.
  std::chrono::milliseconds connect_timeout{10'000};
  // Writing one message (the read side is bounded by receive()'s timeout).
  std::chrono::milliseconds send_timeout{60'000};
  // No frame at all (keep-alive pings included) for this long: the connection is broken.
  // Beast pings the peer after half of it. 0 = never.
  std::chrono::milliseconds idle_timeout{30'000};
  // Larger incoming messages close the connection.
  std::size_t max_message_bytes = std::size_t{300} << 20;
};

class WsClient {
 public:
  // Connects and completes the WebSocket handshake for `url` (ws:// only).
  // Errors: InvalidArgument (bad URL); Unavailable "cannot connect to host:port: <reason>"
  // (resolution, refused, timeout) or "handshake with host:port/path failed: HTTP <status>".
  static Result<std::unique_ptr<WsClient>> connect(std::string_view url,
                                                   const WsOptions& options = {});

  ~WsClient();  // closes the socket without a close handshake if close() was not called
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // Sends `bytes` as one binary message; returns when written. Incoming messages that arrive
  // meanwhile are kept for receive(). Errors: Unavailable (broken connection, timeout).
  Result<void> send(std::span<const std::byte> bytes);

  // The next message, waiting at most `timeout`. nullopt when the timeout passed or wake() was
  // called (a wake() made while not waiting ends the next wait at once). Errors: Unavailable
  // "connection closed by the server (code, reason)" or the transport's reason; after an error
  // every call fails the same way.
  Result<std::optional<std::vector<std::byte>>> receive(std::chrono::milliseconds timeout);

  // Makes a current or the next receive() return nullopt. Thread-safe.
  void wake();

  // Sends a close frame and waits up to `timeout` for the peer's, then closes the socket.
  // Never fails (a broken connection is simply dropped). Idempotent.
  void close(std::string_view reason = "",
             std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

  // "host:port/path", for messages.
  const std::string& peer() const;

 private:
  struct Impl;
  explicit WsClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace disco::net
