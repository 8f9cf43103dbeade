// SPDX-License-Identifier: Apache-2.0
// Boost.Beast implementation of net::HttpServer. The structure follows Beast's
// advanced_server example: a listener, one HttpSession per TCP connection reading requests in a
// loop, and a WsSession taking over the socket after an upgrade, with a write queue so at most
// one async_write is in flight.
#include "net/http_server.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cctype>
#include <csignal>
#include <deque>
#include <optional>
#include <unordered_map>

namespace disco::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

using SharedBytes = std::shared_ptr<const std::vector<std::byte>>;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// Lets a server with many clients open as many sockets as the hard limit allows.
void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return v;
  }
  return "";
}

class WsSession;

struct HttpServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::optional<asio::signal_set> signals;
  HttpServerOptions options;
  HttpServerCallbacks callbacks;
  ConnId next_conn = 1;
  std::unordered_map<ConnId, std::shared_ptr<WsSession>> ws;
  std::size_t n_http = 0;
  bool dead = false;  // set in ~HttpServer: no more callbacks into the application

  void accept();
};

namespace {

void add_common_headers(http::response<http::string_body>& res) {
  res.set(http::field::server, "disco");
  // Cross-origin isolation: SharedArrayBuffer (WASM threads) needs both in the browser.
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set("Cross-Origin-Embedder-Policy", "require-corp");
  res.set("Cross-Origin-Resource-Policy", "same-origin");
}

// A closing HTTP/1.1 error response: {"error": "<message>"}, the message JSON-escaped (control
// characters dropped), with the common headers.
std::shared_ptr<http::response<http::string_body>> error_response(int status,
                                                                  const std::string& message) {
  std::string escaped;
  for (char c : message) {
    if (c == '"' || c == '\\') escaped += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) escaped += c;
  }
  auto res =
      std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
  add_common_headers(*res);
  res->set(http::field::content_type, "application/json");
  res->body() = "{\"error\": \"" + escaped + "\"}\n";
  res->keep_alive(false);
  res->prepare_payload();
  return res;
}

}  // namespace

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(HttpServer::Impl& server, ConnId id, tcp::socket socket)
      : server_(server), id_(id), ws_(std::move(socket)) {}

  void accept(http::request<http::string_body> req) {
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = std::chrono::seconds(30);
    timeout.idle_timeout = server_.options.idle_timeout;
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "disco"); }));
    ws_.read_message_max(server_.options.max_message_bytes);
    ws_.binary(true);
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->finish();
      self->accepted_ = true;
      self->read();
      // Messages queued (or a close requested) during the handshake go out now.
      if (!self->queue_.empty()) {
        self->write();
      } else if (self->closing_) {
        self->close_now();
      }
    });
  }

  // Answers the upgrade request with an HTTP error instead (the application refused it).
  void reject(int status, const std::string& message) {
    finished_ = true;  // never reported: the application refused the connection
    auto res = error_response(status, message);
    http::async_write(beast::get_lowest_layer(ws_), *res,
                      [self = shared_from_this(), res](beast::error_code, std::size_t) {
                        beast::error_code ignored;
                        auto& socket = beast::get_lowest_layer(self->ws_).socket();
                        socket.shutdown(tcp::socket::shutdown_both, ignored);
                        socket.close(ignored);
                      });
  }

  void send(SharedBytes bytes) {
    if (closing_ || finished_) return;
    queued_bytes_ += bytes->size();
    queue_.push_back(std::move(bytes));
    if (queued_bytes_ > server_.options.max_queued_bytes) {
      // A peer that does not read: drop it rather than buffer without bound.
      abort();
      return;
    }
    if (accepted_ && !writing_) write();
  }

  void close(std::string reason) {
    if (closing_ || finished_) return;
    closing_ = true;
    if (reason.size() > 120) reason.resize(120);  // a close frame's reason is at most 123 bytes
    reason_ = std::move(reason);
    if (accepted_ && !writing_) close_now();
  }

  // Closes the socket at once; pending operations fail and finish() runs.
  void abort() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
    beast::get_lowest_layer(ws_).socket().close(ignored);
    finish();
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return self->finish();
      if (!self->finished_ && !self->server_.dead) {
        auto data = self->buffer_.cdata();
        self->server_.callbacks.ws_message(
            self->id_,
            std::span<const std::byte>(static_cast<const std::byte*>(data.data()), data.size()));
      }
      self->buffer_.consume(self->buffer_.size());
      // An idle connection holds no message-sized buffer: with 1,000 clients, keeping each
      // one's last update would cost 1,000 model sizes.
      if (self->buffer_.capacity() > 4096) self->buffer_.shrink_to_fit();
      if (!self->finished_) self->read();
    });
  }

  void write() {
    writing_ = true;
    const auto& front = *queue_.front();
    ws_.async_write(asio::buffer(front.data(), front.size()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      // finish() may have dropped the queue while this write was in flight.
                      if (self->finished_) {
                        self->writing_ = false;
                        return;
                      }
                      self->queued_bytes_ -= self->queue_.front()->size();
                      self->queue_.pop_front();
                      if (ec) return self->finish();
                      if (!self->queue_.empty()) return self->write();
                      self->writing_ = false;
                      if (self->closing_) self->close_now();
                    });
  }

  void close_now() {
    ws_.async_close(websocket::close_reason(websocket::close_code::normal, reason_),
                    [self = shared_from_this()](beast::error_code) { self->abort(); });
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    queue_.clear();
    queued_bytes_ = 0;
    if (server_.dead) return;
    auto keep = shared_from_this();
    server_.ws.erase(id_);
    server_.callbacks.ws_closed(id_);
  }

  HttpServer::Impl& server_;
  ConnId id_;
  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<SharedBytes> queue_;
  std::size_t queued_bytes_ = 0;
  bool accepted_ = false, writing_ = false, closing_ = false, finished_ = false;
  std::string reason_;
};

namespace {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(HttpServer::Impl& server, tcp::socket socket)
      : server_(server), stream_(std::move(socket)) {
    ++server_.n_http;
  }
  ~HttpSession() { --server_.n_http; }

  void read() {
    parser_.emplace();
    parser_->body_limit(server_.options.max_body_bytes);
    parser_->header_limit(64 * 1024);
    stream_.expires_after(server_.options.idle_timeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (server_.dead) return;
    if (ec == http::error::body_limit) {
      return respond_error(
          413, "request body over " + std::to_string(server_.options.max_body_bytes) + " bytes");
    }
    if (ec == http::error::end_of_stream) return shutdown();
    if (ec) {
      if (ec != beast::error::timeout && ec != asio::error::operation_aborted &&
          ec != asio::error::connection_reset && ec != asio::error::eof) {
        // A malformed request: answer 400 when the socket still works.
        return respond_error(400, "malformed HTTP request: " + ec.message());
      }
      return shutdown();
    }
    http::request<http::string_body> req = parser_->release();
    if (websocket::is_upgrade(req)) return upgrade(std::move(req));

    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.path = request.target.substr(0, request.target.find('?'));
    request.body = std::move(req.body());
    for (const auto& field : req) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    HttpResponse response = server_.callbacks.http(request);
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), req.version());
    add_common_headers(*res);
    res->set(http::field::content_type, response.content_type);
    for (const auto& [k, v] : response.headers) res->set(k, v);
    res->keep_alive(req.keep_alive());
    if (req.method() != http::verb::head) res->body() = std::move(response.body);
    res->prepare_payload();
    write(res, !req.keep_alive());
  }

  void upgrade(http::request<http::string_body> req) {
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    const ConnId id = server_.next_conn++;
    // Registered before ws_open, so the application may send() from inside it (the messages
    // wait for the handshake).
    auto session =
        std::make_shared<WsSession>(server_, id, beast::get_lowest_layer(stream_).release_socket());
    server_.ws.emplace(id, session);
    if (!server_.callbacks.ws_open(id, path)) {
      server_.ws.erase(id);
      return session->reject(404, "no WebSocket endpoint at " + path);
    }
    session->accept(std::move(req));
  }

  void respond_error(int status, const std::string& message) {
    write(error_response(status, message), true);
  }

  void write(std::shared_ptr<http::response<http::string_body>> res, bool close) {
    stream_.expires_after(server_.options.idle_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, close](beast::error_code ec, std::size_t) {
                        if (ec || close) return self->shutdown();
                        self->read();
                      });
  }

  void shutdown() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  HttpServer::Impl& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

}  // namespace

void HttpServer::Impl::accept() {
  acceptor.async_accept(asio::make_strand(io), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || dead) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<HttpSession>(*this, std::move(socket))->read();
    }
    accept();
  });
}

class TimerImpl final : public HttpServer::Timer {
 public:
  explicit TimerImpl(asio::io_context& io) : timer_(io), state_(std::make_shared<State>()) {}
  ~TimerImpl() override { state_->alive = false; }

  void arm(SteadyTime at, std::function<void()> fn) override {
    const uint64_t generation = ++state_->generation;
    state_->fn = std::move(fn);
    timer_.expires_at(at);
    timer_.async_wait([state = state_, generation](beast::error_code ec) {
      if (ec || !state->alive || state->generation != generation) return;
      auto fn = std::move(state->fn);
      state->fn = nullptr;
      if (fn) fn();
    });
  }
  void cancel() override {
    ++state_->generation;
    state_->fn = nullptr;
    timer_.cancel();
  }

 private:
  struct State {
    bool alive = true;
    uint64_t generation = 0;
    std::function<void()> fn;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

Result<std::unique_ptr<HttpServer>> HttpServer::create(HttpServerOptions options,
                                                       HttpServerCallbacks callbacks) {
  raise_fd_limit();
  auto impl = std::make_unique<Impl>();
  const std::string where = options.host + ":" + std::to_string(options.port);
  beast::error_code ec;
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec) return make_error(Errc::InvalidArgument, "bad listen address '" + options.host + "'");
  const tcp::endpoint endpoint(address, options.port);
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::Unavailable, "cannot listen on " + where + ": " + ec.message());
  impl->options = std::move(options);
  impl->callbacks = std::move(callbacks);
  if (impl->options.handle_signals) {
    impl->signals.emplace(impl->io, SIGINT, SIGTERM);
    impl->signals->async_wait([io = &impl->io](beast::error_code, int) { io->stop(); });
  }
  impl->accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  impl_->dead = true;
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto& [id, session] : impl_->ws) session->abort();
  impl_->ws.clear();
}

uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpServer::run() { impl_->io.run(); }

void HttpServer::stop() { impl_->io.stop(); }

void HttpServer::post(std::function<void()> fn) { asio::post(impl_->io, std::move(fn)); }

void HttpServer::send(ConnId conn, std::vector<std::byte> message) {
  send_shared(conn, std::make_shared<const std::vector<std::byte>>(std::move(message)));
}

void HttpServer::send_shared(ConnId conn, SharedBytes message) {
  auto it = impl_->ws.find(conn);
  if (it != impl_->ws.end()) it->second->send(std::move(message));
}

void HttpServer::close(ConnId conn, std::string reason) {
  auto it = impl_->ws.find(conn);
  if (it != impl_->ws.end()) it->second->close(std::move(reason));
}

std::size_t HttpServer::n_connections() const { return impl_->ws.size() + impl_->n_http; }

std::unique_ptr<HttpServer::Timer> HttpServer::make_timer() {
  return std::make_unique<TimerImpl>(impl_->io);
}

}  // namespace disco::net
