// SPDX-License-Identifier: Apache-2.0
// HttpServer on loopback, driven by the project's own client (WsClient, http_get) and by raw
// sockets for what a well-behaved client never sends.
#include "net/http_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "net/http_client.hpp"
#include "net/ws_client.hpp"

namespace disco::net {
namespace {

using namespace std::chrono_literals;

std::span<const std::byte> as_bytes(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

std::string as_string(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A server on an ephemeral port, run on its own thread: HTTP echoes "METHOD PATH BODY",
// WebSocket /echo echoes messages; the message "bye" makes the server close the connection.
class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.port = 0;
    options.max_body_bytes = 1024;
    options.max_message_bytes = 4096;
    HttpServerCallbacks cb;
    cb.http = [](const HttpRequest& req) {
      HttpResponse res;
      res.content_type = "text/plain";
      res.body = req.method + " " + req.path + " " + req.body;
      return res;
    };
    cb.ws_open = [this](ConnId, const std::string& path) {
      if (path != "/echo") return false;
      ++opened;
      return true;
    };
    cb.ws_message = [this](ConnId conn, std::span<const std::byte> bytes) {
      const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      if (text == "bye") return server->close(conn, "bye");
      if (text == "flood") {  // more than the socket buffers hold: writes stay in flight
        for (int i = 0; i < 16; ++i) server->send(conn, std::vector<std::byte>(1 << 20));
        return;
      }
      server->send(conn, std::vector<std::byte>(bytes.begin(), bytes.end()));
    };
    cb.ws_closed = [this](ConnId) { ++closed; };
    auto created = HttpServer::create(options, cb);
    ASSERT_TRUE(created) << created.error().message;
    server = std::move(*created);
    port = server->port();
    thread = std::thread([this] { server->run(); });
  }
  void TearDown() override {
    if (server) server->stop();
    if (thread.joinable()) thread.join();
  }
  std::string http_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
  std::string ws_url(const std::string& path) const {
    return "ws://127.0.0.1:" + std::to_string(port) + path;
  }
  // Sends raw bytes on a fresh TCP connection and returns everything read until EOF.
  std::string raw_exchange(const std::string& request) const {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return "";
    }
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, n);
    ::close(fd);
    return out;
  }

  std::unique_ptr<HttpServer> server;
  uint16_t port = 0;
  std::thread thread;
  std::atomic<int> opened{0}, closed{0};
};

TEST_F(ServerFixture, AnswersHttpRequests) {
  auto res = http_get(http_url("/a/b?q=1"), 5s);
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->content_type, "text/plain");
  EXPECT_EQ(res->body, "GET /a/b ");
}

TEST_F(ServerFixture, SetsCrossOriginIsolationHeaders) {
  const std::string out = raw_exchange("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("Cross-Origin-Opener-Policy: same-origin"), std::string::npos) << out;
  EXPECT_NE(out.find("Cross-Origin-Embedder-Policy: require-corp"), std::string::npos) << out;
}

TEST_F(ServerFixture, RefusesOversizedBodiesWith413) {
  const std::string body(2000, 'x');
  const std::string out =
      raw_exchange("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + body);
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
}

TEST_F(ServerFixture, AnswersMalformedRequestsWith400AndKeepsServing) {
  const std::string out = raw_exchange("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
  auto res = http_get(http_url("/still"), 5s);
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 200);
}

TEST_F(ServerFixture, EchoesWebSocketMessagesAndReportsTheClose) {
  auto ws = WsClient::connect(ws_url("/echo"));
  ASSERT_TRUE(ws) << ws.error().message;
  ASSERT_TRUE((*ws)->send(as_bytes("hello")));
  auto got = (*ws)->receive(5s);
  ASSERT_TRUE(got && *got) << (got ? "timeout" : got.error().message);
  EXPECT_EQ(as_string(**got), "hello");
  ASSERT_TRUE((*ws)->send(as_bytes("bye")));
  auto end = (*ws)->receive(5s);
  EXPECT_FALSE(end) << "expected the server to close";
  for (int i = 0; i < 500 && closed.load() == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(opened.load(), 1);
  EXPECT_EQ(closed.load(), 1);
}

TEST_F(ServerFixture, RefusesUnknownWebSocketPaths) {
  auto ws = WsClient::connect(ws_url("/nowhere"));
  ASSERT_FALSE(ws);
  EXPECT_NE(ws.error().message.find("404"), std::string::npos) << ws.error().message;
}

TEST_F(ServerFixture, ClosesOnlyTheConnectionThatSentAnOversizedMessage) {
  auto good = WsClient::connect(ws_url("/echo"));
  auto bad = WsClient::connect(ws_url("/echo"));
  ASSERT_TRUE(good && bad);
  ASSERT_TRUE((*bad)->send(as_bytes(std::string(8000, 'x'))));
  auto r = (*bad)->receive(5s);
  EXPECT_FALSE(r) << "the oversized sender must be disconnected";
  ASSERT_TRUE((*good)->send(as_bytes("still here")));
  auto got = (*good)->receive(5s);
  ASSERT_TRUE(got && *got);
  EXPECT_EQ(as_string(**got), "still here");
}

// A client that vanishes while the server is writing to it must cost only its connection.
TEST_F(ServerFixture, SurvivesClientsThatDisconnectDuringWrites) {
  constexpr int kClients = 20;  // the race (read error before write error) is not every time
  for (int i = 0; i < kClients; ++i) {
    auto ws = WsClient::connect(ws_url("/echo"));
    ASSERT_TRUE(ws) << ws.error().message;
    ASSERT_TRUE((*ws)->send(as_bytes("flood")));
    auto first = (*ws)->receive(5s);  // the writes are under way
    ASSERT_TRUE(first && *first);
    ws->reset();  // abrupt: no close handshake
  }
  for (int i = 0; i < 500 && closed.load() < kClients; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(closed.load(), kClients);
  auto res = http_get(http_url("/alive"), 5s);
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 200);
}

TEST_F(ServerFixture, TimersFireOnTheServerThread) {
  std::atomic<bool> fired{false};
  std::unique_ptr<HttpServer::Timer> timer;
  server->post([&] {
    timer = server->make_timer();
    timer->arm(std::chrono::steady_clock::now() + 20ms, [&] { fired = true; });
  });
  for (int i = 0; i < 500 && !fired; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(fired.load());
  // A cancelled timer does not fire.
  std::atomic<bool> cancelled_fired{false};
  server->post([&] {
    timer->arm(std::chrono::steady_clock::now() + 20ms, [&] { cancelled_fired = true; });
    timer->cancel();
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(cancelled_fired.load());
  server->post([&] { timer.reset(); });
  std::this_thread::sleep_for(20ms);
}

TEST(HttpServer, ReportsAPortInUse) {
  HttpServerOptions options;
  options.port = 0;
  auto first = HttpServer::create(options, {});
  ASSERT_TRUE(first);
  options.port = (*first)->port();
  auto second = HttpServer::create(options, {});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find(std::to_string(options.port)), std::string::npos);
}

}  // namespace
}  // namespace disco::net
