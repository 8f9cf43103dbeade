// SPDX-License-Identifier: Apache-2.0
// The one Beast translation unit of disco_net_client: WsClient (ws_client.hpp) and http_get
// (http_client.hpp). Both run a private io_context on the caller's thread until the awaited
// completion handler has run or the deadline passed; on a deadline the socket is closed and the
// aborted handlers are drained before returning, so no handler outlives its call's state.
// Only the error_code overloads of Asio and Beast are used: nothing throws out of here.
#include "net/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdlib>
#include <deque>
#include <utility>

#include "net/http_client.hpp"

namespace disco::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;

// Runs `ioc` on this thread until done() or `deadline`. Returns done(). Stops early when the
// context has no work left (nothing could make done() true).
template <typename Done>
bool run_until(asio::io_context& ioc, Done done, Clock::time_point deadline) {
  while (!done()) {
    if (ioc.stopped()) ioc.restart();
    if (ioc.run_one_until(deadline) == 0 && (Clock::now() >= deadline || ioc.stopped())) {
      return done();
    }
  }
  return true;
}

// How long aborted operations get to report back after their socket was closed.
constexpr std::chrono::milliseconds kDrainTime{2000};

std::string truncated(std::string s, std::size_t n) {
  if (s.size() > n) s = s.substr(0, n) + "...";
  return s;
}

}  // namespace

Result<Url> parse_url(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::InvalidArgument, "bad URL '" + std::string(url) + "': " + why);
  };
  Url out;
  std::size_t sep = url.find("://");
  if (sep == std::string_view::npos) return bad("expected ws://host:port/... or http://...");
  out.scheme = std::string(url.substr(0, sep));
  if (out.scheme == "wss" || out.scheme == "https") return bad("TLS is not supported yet");
  if (out.scheme != "ws" && out.scheme != "http") return bad("scheme must be ws or http");
  std::string_view rest = url.substr(sep + 3);
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::size_t colon = authority.rfind(':');
  std::string_view host = authority.substr(0, colon);
  if (host.empty()) return bad("no host");
  if (host.find_first_of("[]@ ") != std::string_view::npos) return bad("unsupported host");
  out.host = std::string(host);
  out.port = 80;
  if (colon != std::string_view::npos) {
    std::string port(authority.substr(colon + 1));
    char* end = nullptr;
    long p = port.empty() ? 0 : std::strtol(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p <= 0 || p > 65535) return bad("bad port '" + port + "'");
    out.port = static_cast<uint16_t>(p);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// WsClient

struct WsClient::Impl {
  asio::io_context ioc;
  tcp::resolver resolver{ioc};
  websocket::stream<beast::tcp_stream> ws{ioc};
  WsOptions options;
  std::string peer;  // host:port/path

  beast::flat_buffer read_buffer;
  bool read_pending = false;
  std::deque<std::vector<std::byte>> inbox;
  std::optional<Error> broken;  // first failure; every later call reports it
  bool woken = false;
  bool closed = false;

  Error fail(const std::string& what, const error_code& ec) {
    if (!broken) {
      if (ec == websocket::error::closed) {
        websocket::close_reason r = ws.reason();
        std::string text = "connection to " + peer + " closed by the server (code " +
                           std::to_string(static_cast<unsigned>(r.code));
        if (!r.reason.empty()) text += ", " + std::string(r.reason.data(), r.reason.size());
        broken = make_error(Errc::Unavailable, text + ")");
      } else {
        broken = make_error(Errc::Unavailable, what + " " + peer + ": " + ec.message());
      }
    }
    return *broken;
  }

  void start_read() {
    read_pending = true;
    ws.async_read(read_buffer, [this](const error_code& ec, std::size_t) {
      read_pending = false;
      if (ec) {
        fail("connection lost to", ec);
        return;
      }
      auto data = read_buffer.cdata();
      const auto* p = static_cast<const std::byte*>(data.data());
      inbox.emplace_back(p, p + data.size());
      read_buffer.consume(read_buffer.size());
      start_read();
    });
  }

  // Closes the socket (aborting whatever is pending) and lets the aborted handlers run.
  void abort_socket() {
    error_code ignored;
    resolver.cancel();
    beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws).socket().close(ignored);
    run_until(
        ioc, [this] { return !read_pending; }, Clock::now() + kDrainTime);
  }
};

WsClient::WsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

WsClient::~WsClient() {
  if (impl_ && !impl_->closed) {
    impl_->closed = true;
    impl_->abort_socket();
  }
}

const std::string& WsClient::peer() const { return impl_->peer; }

Result<std::unique_ptr<WsClient>> WsClient::connect(std::string_view url,
                                                    const WsOptions& options) {
  DISCO_ASSIGN_OR_RETURN(parsed, parse_url(url));
  if (parsed.scheme != "ws") {
    return make_error(Errc::InvalidArgument,
                      "bad URL '" + std::string(url) + "': a WebSocket URL starts with ws://");
  }
  auto impl = std::make_unique<Impl>();
  Impl& s = *impl;
  s.options = options;
  const std::string host_port = parsed.host + ":" + std::to_string(parsed.port);
  s.peer = host_port + parsed.target;
  const Clock::time_point deadline = Clock::now() + options.connect_timeout;
  auto cannot = [&](const std::string& why) {
    return make_error(Errc::Unavailable, "cannot connect to " + host_port + ": " + why);
  };

  // Resolve.
  bool done = false;
  error_code ec;
  tcp::resolver::results_type endpoints;
  s.resolver.async_resolve(parsed.host, std::to_string(parsed.port),
                           [&](const error_code& e, tcp::resolver::results_type r) {
                             done = true;
                             ec = e;
                             endpoints = std::move(r);
                           });
  if (!run_until(
          s.ioc, [&] { return done; }, deadline)) {
    s.resolver.cancel();
    run_until(
        s.ioc, [&] { return done; }, Clock::now() + kDrainTime);
    return cannot("timed out resolving the host");
  }
  if (ec) return cannot(ec.message());

  // TCP connect (the tcp_stream's own timer bounds it).
  done = false;
  beast::get_lowest_layer(s.ws).expires_at(deadline);
  beast::get_lowest_layer(s.ws).async_connect(endpoints,
                                              [&](const error_code& e, const tcp::endpoint&) {
                                                done = true;
                                                ec = e;
                                              });
  if (!run_until(
          s.ioc, [&] { return done; }, deadline + kDrainTime)) {
    return cannot("timed out");
  }
  if (ec == beast::error::timeout) return cannot("timed out");
  if (ec) return cannot(ec.message());
  beast::get_lowest_layer(s.ws).expires_never();
  // No Nagle: the tail of a contribution must not wait for the server's delayed ACK (it cost
  // ~40 ms per round on loopback, bench/round_overhead).
  error_code ignored;
  beast::get_lowest_layer(s.ws).socket().set_option(tcp::no_delay(true), ignored);

  // WebSocket handshake.
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout =
      std::max<Clock::duration>(deadline - Clock::now(), std::chrono::milliseconds(1));
  timeouts.idle_timeout = options.idle_timeout.count() > 0 ? Clock::duration(options.idle_timeout)
                                                           : websocket::stream_base::none();
  timeouts.keep_alive_pings = options.idle_timeout.count() > 0;
  s.ws.set_option(timeouts);
  s.ws.set_option(websocket::stream_base::decorator(
      [](websocket::request_type& req) { req.set(http::field::user_agent, "disco"); }));
  s.ws.read_message_max(options.max_message_bytes);
  s.ws.binary(true);
  websocket::response_type response;
  done = false;
  s.ws.async_handshake(response, host_port, parsed.target, [&](const error_code& e) {
    done = true;
    ec = e;
  });
  if (!run_until(
          s.ioc, [&] { return done; }, deadline + kDrainTime)) {
    s.abort_socket();
    return cannot("timed out during the WebSocket handshake");
  }
  if (ec) {
    std::string why = "handshake with " + s.peer + " failed: ";
    if (response.result_int() != 0 && response.result() != http::status::switching_protocols) {
      why += "HTTP " + std::to_string(response.result_int());
      if (!response.body().empty()) why += " " + truncated(response.body(), 200);
    } else {
      why += ec == beast::error::timeout ? std::string("timed out") : ec.message();
    }
    s.abort_socket();
    return make_error(Errc::Unavailable, why);
  }
  s.start_read();
  return std::unique_ptr<WsClient>(new WsClient(std::move(impl)));
}

Result<void> WsClient::send(std::span<const std::byte> bytes) {
  Impl& s = *impl_;
  if (s.broken) return *s.broken;
  if (s.closed) return make_error(Errc::Unavailable, "connection to " + s.peer + " was closed");
  bool done = false;
  error_code ec;
  s.ws.async_write(asio::buffer(bytes.data(), bytes.size()), [&](const error_code& e, std::size_t) {
    done = true;
    ec = e;
  });
  if (!run_until(
          s.ioc, [&] { return done; }, Clock::now() + s.options.send_timeout)) {
    Error err = s.fail("timed out sending to", make_error_code(beast::error::timeout));
    s.abort_socket();
    run_until(
        s.ioc, [&] { return done; }, Clock::now() + kDrainTime);
    return err;
  }
  if (ec) return s.fail("connection lost to", ec);
  return {};
}

Result<std::optional<std::vector<std::byte>>> WsClient::receive(std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  auto ready = [&] { return !s.inbox.empty() || s.broken.has_value() || s.woken; };
  // Handlers that are already queued (a message, a wake) count even with a zero timeout.
  if (!ready()) {
    if (s.ioc.stopped()) s.ioc.restart();
    s.ioc.poll();
  }
  if (!ready() && !s.closed) run_until(s.ioc, ready, Clock::now() + timeout);
  if (!s.inbox.empty()) {
    std::vector<std::byte> message = std::move(s.inbox.front());
    s.inbox.pop_front();
    return std::optional<std::vector<std::byte>>(std::move(message));
  }
  if (s.broken) return *s.broken;
  if (s.closed) return make_error(Errc::Unavailable, "connection to " + s.peer + " was closed");
  s.woken = false;
  return std::optional<std::vector<std::byte>>();
}

void WsClient::wake() {
  Impl* s = impl_.get();
  asio::post(s->ioc, [s] { s->woken = true; });
}

void WsClient::close(std::string_view reason, std::chrono::milliseconds timeout) {
  Impl& s = *impl_;
  if (s.closed) return;
  s.closed = true;
  if (!s.broken) {
    bool done = false;
    websocket::close_reason why(websocket::close_code::normal);
    why.reason = std::string(reason.substr(0, 120));  // a close frame holds at most 123 bytes
    s.ws.async_close(why, [&](const error_code&) { done = true; });
    run_until(
        s.ioc, [&] { return done && !s.read_pending; }, Clock::now() + timeout);
    if (!done) {
      s.abort_socket();
      run_until(
          s.ioc, [&] { return done; }, Clock::now() + kDrainTime);
      return;
    }
  }
  s.abort_socket();
}

// ---------------------------------------------------------------------------------------------
// http_get

Result<HttpGetResponse> http_get(std::string_view url, std::chrono::milliseconds timeout,
                                 std::size_t max_body_bytes) {
  DISCO_ASSIGN_OR_RETURN(parsed, parse_url(url));
  if (parsed.scheme != "http") {
    return make_error(Errc::InvalidArgument,
                      "bad URL '" + std::string(url) + "': an HTTP URL starts with http://");
  }
  const std::string what = "GET " + std::string(url);
  const Clock::time_point deadline = Clock::now() + timeout;
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  bool done = false;
  error_code ec;
  auto wait = [&]() {
    bool ok = run_until(
        ioc, [&] { return done; }, deadline);
    if (!ok) {
      resolver.cancel();
      error_code ignored;
      stream.socket().close(ignored);
      run_until(
          ioc, [&] { return done; }, Clock::now() + kDrainTime);
      ec = beast::error::timeout;
    }
    done = false;
  };
  auto failed = [&](const error_code& e) {
    std::string why = e == beast::error::timeout ? std::string("timed out") : e.message();
    return make_error(Errc::Unavailable, what + ": " + why);
  };

  tcp::resolver::results_type endpoints;
  resolver.async_resolve(parsed.host, std::to_string(parsed.port),
                         [&](const error_code& e, tcp::resolver::results_type r) {
                           done = true;
                           ec = e;
                           endpoints = std::move(r);
                         });
  wait();
  if (ec) return failed(ec);

  stream.expires_at(deadline);
  stream.async_connect(endpoints, [&](const error_code& e, const tcp::endpoint&) {
    done = true;
    ec = e;
  });
  wait();
  if (ec) return failed(ec);

  http::request<http::empty_body> req{http::verb::get, parsed.target, 11};
  req.set(http::field::host, parsed.host + ":" + std::to_string(parsed.port));
  req.set(http::field::user_agent, "disco");
  req.set(http::field::connection, "close");
  http::async_write(stream, req, [&](const error_code& e, std::size_t) {
    done = true;
    ec = e;
  });
  wait();
  if (ec) return failed(ec);

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body_bytes);
  parser.header_limit(64 * 1024);
  http::async_read(stream, buffer, parser, [&](const error_code& e, std::size_t) {
    done = true;
    ec = e;
  });
  wait();
  if (ec) return failed(ec);

  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  http::response<http::string_body> res = parser.release();
  HttpGetResponse out;
  out.status = static_cast<int>(res.result_int());
  if (auto it = res.find(http::field::content_type); it != res.end()) {
    out.content_type = std::string(it->value().data(), it->value().size());
  }
  out.body = std::move(res.body());
  return out;
}

}  // namespace disco::net
