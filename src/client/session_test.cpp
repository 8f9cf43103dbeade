// SPDX-License-Identifier: Apache-2.0
// FederatedSession and the client network layer against a small in-test Beast server on
// 127.0.0.1 (ephemeral port) that drives a real proto::FederatedServer: sessions run in threads
// and must finish with the server's final weights. Every wait is bounded: a session that has not
// returned after kSessionBudget is cancelled and the test fails instead of hanging.
#include "client/session.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cmath>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/base/rng.hpp"
#include "core/task.hpp"
#include "net/http_client.hpp"
#include "net/ws_client.hpp"
#include "proto/codec.hpp"
#include "proto/federated_server.hpp"
#include "runtime/thread_pool.hpp"

namespace disco::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

constexpr auto kSessionBudget = 60s;

constexpr const char* kTaskJson = R"({
  "id": "tiny", "title": "tiny",
  "data": {"type": "tabular", "labels": ["a", "b"],
           "tabular": {"input_columns": ["x1", "x2"], "output_columns": ["y"]}},
  "model": {"input_shape": [2],
            "layers": [{"type": "dense", "units": 2, "activation": "softmax"}],
            "loss": "sparse_categorical_crossentropy",
            "optimizer": {"type": "sgd", "learning_rate": 0.1}},
  "training": {"epochs": 3, "batch_size": 4, "round_duration": 1, "seed": 3},
  "federation": {"scheme": "federated", "min_participants": 2}
})";

core::Task tiny_task() {
  Result<core::Task> task = core::parse_task_text(kTaskJson, "tiny");
  DISCO_CHECK(task.has_value(), "the test task must parse");
  return std::move(task).value();
}

// n points; class 1 iff x1 + x2 > 0, shifted by `offset` so clients' data differ.
core::Dataset tiny_data(int64_t n, float offset) {
  Rng rng(static_cast<uint64_t>(n) * 7 + static_cast<uint64_t>(offset * 100));
  std::vector<float> x, y;
  for (int64_t i = 0; i < n; ++i) {
    float a = rng.uniform() * 2 - 1 + offset, b = rng.uniform() * 2 - 1;
    x.push_back(a);
    x.push_back(b);
    y.push_back(a + b > 0 ? 1.0f : 0.0f);
  }
  core::Dataset d;
  d.x = core::Tensor::from({n, 2}, x);
  d.y = core::Tensor::from({n}, y);
  d.n_classes = 2;
  d.label_names = {"a", "b"};
  return d;
}

// --- the in-test server ---------------------------------------------------------------------

// HTTP (GET /api/health, GET /api/tasks/<id>) and WebSocket (/ws/<anything>) on one port, run by
// one thread; the FederatedServer machine is only touched on that thread. The test thread reads
// results through the mutex-guarded accessors.
class TestServer {
 public:
  struct Options {
    bool drop_first_contribution = false;  // abruptly close the first contributor's socket
  };

  explicit TestServer(const core::Task& task) : TestServer(task, Options{}) {}
  TestServer(const core::Task& task, Options options)
      : options_(options), machine_(make_config(task)) {
    error_code ec;
    acceptor_.open(tcp::v4(), ec);
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), ec);
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    DISCO_CHECK(!ec, "test server: cannot listen");
    port_ = acceptor_.local_endpoint(ec).port();
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  ~TestServer() {
    ioc_.stop();
    thread_.join();
  }

  uint16_t port() const { return port_; }
  std::string ws_url(const std::string& task_id) const {
    return "ws://127.0.0.1:" + std::to_string(port_) + "/ws/" + task_id;
  }
  std::string http_url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::optional<std::vector<float>> final_weights() {
    std::lock_guard<std::mutex> lock(mu_);
    return final_;
  }
  int n_dropped() {
    std::lock_guard<std::mutex> lock(mu_);
    return n_dropped_;
  }

 private:
  static proto::ServerConfig make_config(const core::Task& task) {
    core::Model model = task.make_model();
    Rng rng(11);
    model.init_weights(rng);
    proto::ServerConfig config;
    config.task_id = task.id;
    config.model_fingerprint = model.fingerprint();
    config.initial_weights.assign(model.weights().begin(), model.weights().end());
    config.n_rounds = static_cast<uint64_t>(task.n_rounds());
    config.min_participants = static_cast<uint32_t>(task.federation.min_participants);
    return config;
  }

  struct Conn : std::enable_shared_from_this<Conn> {
    explicit Conn(tcp::socket socket) : stream(std::move(socket)) {}
    beast::tcp_stream stream;
    std::optional<websocket::stream<beast::tcp_stream>> ws;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;
    std::deque<std::vector<std::byte>> queue;
    bool writing = false;
    bool close_after_flush = false;
    bool gone = false;
    proto::NodeId id = 0;
  };

  void accept() {
    acceptor_.async_accept([this](const error_code& ec, tcp::socket socket) {
      if (ec) return;
      auto conn = std::make_shared<Conn>(std::move(socket));
      http::async_read(conn->stream, conn->buffer, conn->request,
                       [this, conn](const error_code& e, std::size_t) {
                         if (!e) on_request(conn);
                       });
      accept();
    });
  }

  proto::Time now() const {
    return proto::Time::from_ms(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::steady_clock::now() - origin_)
                                    .count());
  }

  void on_request(const std::shared_ptr<Conn>& conn) {
    const std::string target(conn->request.target());
    if (websocket::is_upgrade(conn->request) && target.rfind("/ws/", 0) == 0) {
      conn->ws.emplace(std::move(conn->stream));
      conn->ws->binary(true);
      conn->ws->read_message_max(64 << 20);
      conn->ws->async_accept(conn->request, [this, conn](const error_code& e) {
        if (e) return;
        conn->id = next_id_++;
        conns_[conn->id] = conn;
        machine_.on_connect(conn->id, now());
        pump();
        read(conn);
      });
      return;
    }
    auto& res = conn->response;
    res.version(11);
    res.set(http::field::content_type, "application/json");
    res.keep_alive(false);
    if (target == "/api/health") {
      res.result(http::status::ok);
      res.body() = R"({"status":"ok"})";
    } else if (target == "/api/tasks/tiny") {
      res.result(http::status::ok);
      res.body() = kTaskJson;
    } else {
      res.result(http::status::not_found);
      res.body() = R"({"error":"not found"})";
    }
    res.prepare_payload();
    http::async_write(conn->stream, res, [conn](const error_code&, std::size_t) {
      error_code ignored;
      conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    });
  }

  void read(const std::shared_ptr<Conn>& conn) {
    conn->ws->async_read(conn->buffer, [this, conn](const error_code& ec, std::size_t) {
      if (ec) {
        lost(conn);
        return;
      }
      auto data = conn->buffer.cdata();
      std::vector<std::byte> bytes(static_cast<const std::byte*>(data.data()),
                                   static_cast<const std::byte*>(data.data()) + data.size());
      conn->buffer.consume(conn->buffer.size());
      if (options_.drop_first_contribution && !dropped_once_) {
        Result<proto::Message> message = proto::decode(bytes);
        if (message && std::holds_alternative<proto::Contribution>(*message)) {
          dropped_once_ = true;
          {
            std::lock_guard<std::mutex> lock(mu_);
            ++n_dropped_;
          }
          error_code ignored;
          beast::get_lowest_layer(*conn->ws).socket().close(ignored);
          lost(conn);
          return;
        }
      }
      machine_.on_message(conn->id, bytes, now());
      pump();
      if (!conn->gone) read(conn);
    });
  }

  void lost(const std::shared_ptr<Conn>& conn) {
    if (conn->gone) return;
    conn->gone = true;
    conns_.erase(conn->id);
    machine_.on_disconnect(conn->id, now());
    pump();
  }

  void pump() {
    while (auto action = machine_.next_action()) {
      if (auto* send = std::get_if<proto::FederatedServer::Send>(&*action)) {
        auto it = conns_.find(send->to);
        if (it == conns_.end()) continue;
        it->second->queue.push_back(std::move(send->bytes));
        write(it->second);
      } else if (auto* close = std::get_if<proto::FederatedServer::Close>(&*action)) {
        auto it = conns_.find(close->to);
        if (it == conns_.end()) continue;
        std::shared_ptr<Conn> conn = it->second;
        conn->close_after_flush = true;
        conns_.erase(it);
        conn->gone = true;  // the machine has forgotten it
        write(conn);
      } else if (auto* finished = std::get_if<proto::FederatedServer::Finished>(&*action)) {
        std::lock_guard<std::mutex> lock(mu_);
        final_ = finished->weights;
      }
    }
  }

  void write(const std::shared_ptr<Conn>& conn) {
    if (conn->writing) return;
    if (conn->queue.empty()) {
      if (conn->close_after_flush) {
        conn->close_after_flush = false;
        conn->ws->async_close(websocket::close_code::normal, [conn](const error_code&) {});
      }
      return;
    }
    conn->writing = true;
    const std::vector<std::byte>& front = conn->queue.front();
    conn->ws->async_write(asio::buffer(front.data(), front.size()),
                          [this, conn](const error_code& ec, std::size_t) {
                            conn->writing = false;
                            conn->queue.pop_front();
                            if (ec) {
                              conn->queue.clear();
                              return;
                            }
                            write(conn);
                          });
  }

  Options options_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  uint16_t port_ = 0;
  std::thread thread_;
  proto::FederatedServer machine_;
  std::map<proto::NodeId, std::shared_ptr<Conn>> conns_;
  proto::NodeId next_id_ = 1;
  bool dropped_once_ = false;
  std::chrono::steady_clock::time_point origin_ = std::chrono::steady_clock::now();
  std::mutex mu_;
  std::optional<std::vector<float>> final_;
  int n_dropped_ = 0;
};

// --- helpers --------------------------------------------------------------------------------

SessionConfig session_config(const std::string& url) {
  SessionConfig config;
  config.url = url;
  config.ws.connect_timeout = 5s;
  config.ws.idle_timeout = 10s;
  config.hello_timeout = 5s;
  config.backoff = 20ms;
  config.max_reconnects = 5;
  return config;
}

// Runs session.run() on a thread; cancels it (and fails the test) past kSessionBudget.
std::future<Result<SessionResult>> start(FederatedSession& session) {
  return std::async(std::launch::async, [&session] { return session.run(); });
}
Result<SessionResult> finish(FederatedSession& session, std::future<Result<SessionResult>>& f) {
  if (f.wait_for(kSessionBudget) != std::future_status::ready) {
    ADD_FAILURE() << "session did not finish within the budget; cancelling";
    session.cancel();
  }
  return f.get();
}

// A free port: bound, then released, so connecting to it is refused.
uint16_t closed_port() {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc);
  error_code ec;
  acceptor.open(tcp::v4(), ec);
  acceptor.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), ec);
  uint16_t port = acceptor.local_endpoint(ec).port();
  acceptor.close(ec);
  return port;
}

// --- tests ----------------------------------------------------------------------------------

TEST(WsClient, ParsesAndRejectsUrls) {
  Result<net::Url> ok = net::parse_url("ws://example.org:8080/ws/tiny?x=1");
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->scheme, "ws");
  EXPECT_EQ(ok->host, "example.org");
  EXPECT_EQ(ok->port, 8080);
  EXPECT_EQ(ok->target, "/ws/tiny?x=1");
  Result<net::Url> bare = net::parse_url("http://localhost");
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->port, 80);
  EXPECT_EQ(bare->target, "/");
  for (const char* bad : {"localhost:8080", "ftp://x/", "ws://:80/", "ws://h:0/", "ws://h:99999/",
                          "ws://h:8x/", "wss://h/"}) {
    Result<net::Url> r = net::parse_url(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().code, Errc::InvalidArgument) << bad;
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
  auto http_as_ws = net::WsClient::connect("http://127.0.0.1:1/");
  ASSERT_FALSE(http_as_ws.has_value());
  EXPECT_EQ(http_as_ws.error().code, Errc::InvalidArgument);
}

TEST(WsClient, ConnectionRefusedIsUnavailable) {
  const uint16_t port = closed_port();
  auto r = net::WsClient::connect("ws://127.0.0.1:" + std::to_string(port) + "/ws/tiny");
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Unavailable);
  EXPECT_NE(r.error().message.find("cannot connect to 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("refused"), std::string::npos) << r.error().message;
}

TEST(WsClient, HandshakeFailureNamesTheHttpStatus) {
  core::Task task = tiny_task();
  TestServer server(task);
  auto r = net::WsClient::connect(server.http_url("/nowhere").replace(0, 4, "ws"));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Unavailable);
  EXPECT_NE(r.error().message.find("HTTP 404"), std::string::npos) << r.error().message;
}

TEST(WsClient, ReceiveTimesOutAndWakeEndsAWait) {
  core::Task task = tiny_task();
  TestServer server(task);
  auto connected = net::WsClient::connect(server.ws_url("tiny"));
  ASSERT_TRUE(connected.has_value()) << connected.error().to_string();
  net::WsClient& ws = **connected;
  auto quiet = ws.receive(30ms);
  ASSERT_TRUE(quiet.has_value()) << quiet.error().to_string();
  EXPECT_FALSE(quiet->has_value());

  auto t0 = std::chrono::steady_clock::now();
  std::thread waker([&ws] {
    std::this_thread::sleep_for(20ms);
    ws.wake();
  });
  auto woken = ws.receive(20s);
  waker.join();
  ASSERT_TRUE(woken.has_value());
  EXPECT_FALSE(woken->has_value());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);

  // A message gets an answer: an undecodable one draws ErrorMessage + close from the server.
  std::vector<std::byte> junk{std::byte{0x01}};
  ASSERT_TRUE(ws.send(junk).has_value());
  auto reply = ws.receive(10s);
  ASSERT_TRUE(reply.has_value()) << reply.error().to_string();
  ASSERT_TRUE(reply->has_value());
  Result<proto::Message> decoded = proto::decode(**reply);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_TRUE(std::holds_alternative<proto::ErrorMessage>(*decoded));
  auto closed = ws.receive(10s);
  ASSERT_FALSE(closed.has_value());
  EXPECT_EQ(closed.error().code, Errc::Unavailable);
  EXPECT_NE(closed.error().message.find("closed by the server"), std::string::npos)
      << closed.error().message;
  ws.close();
}

TEST(HttpGet, FetchesTheTaskAndReportsNotFound) {
  core::Task task = tiny_task();
  TestServer server(task);
  Result<net::HttpGetResponse> ok = net::http_get(server.http_url("/api/tasks/tiny"), 10s);
  ASSERT_TRUE(ok.has_value()) << ok.error().to_string();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->content_type, "application/json");
  Result<core::Task> parsed = core::parse_task_text(ok->body, "server");
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(parsed->id, "tiny");

  Result<net::HttpGetResponse> missing = net::http_get(server.http_url("/api/tasks/nope"), 10s);
  ASSERT_TRUE(missing.has_value()) << missing.error().to_string();
  EXPECT_EQ(missing->status, 404);

  Result<net::HttpGetResponse> refused =
      net::http_get("http://127.0.0.1:" + std::to_string(closed_port()) + "/api/health", 10s);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, Errc::Unavailable);
}

TEST(FederatedSession, TwoClientsFinishWithTheServersWeights) {
  core::Task task = tiny_task();
  TestServer server(task);
  core::Dataset data_a = tiny_data(24, 0.0f), data_b = tiny_data(16, 0.3f);
  runtime::ThreadPool pool_a(1), pool_b(1);
  std::vector<SessionStatus> seen;
  SessionConfig config_a = session_config(server.ws_url("tiny"));
  config_a.on_status = [&seen](const SessionStatus& s) { seen.push_back(s); };
  FederatedSession a(task, data_a, pool_a, config_a);
  FederatedSession b(task, data_b, pool_b, session_config(server.ws_url("tiny")));
  auto fa = start(a);
  auto fb = start(b);
  Result<SessionResult> ra = finish(a, fa);
  Result<SessionResult> rb = finish(b, fb);
  ASSERT_TRUE(ra.has_value()) << ra.error().to_string();
  ASSERT_TRUE(rb.has_value()) << rb.error().to_string();

  std::optional<std::vector<float>> final = server.final_weights();
  ASSERT_TRUE(final.has_value());
  EXPECT_EQ(ra->weights.values, *final);
  EXPECT_EQ(rb->weights.values, *final);
  EXPECT_EQ(ra->round, 3u);
  EXPECT_EQ(ra->status.n_rounds, 3u);
  EXPECT_EQ(ra->status.n_contributions, 3u);
  EXPECT_EQ(rb->status.n_contributions, 3u);
  EXPECT_EQ(ra->status.n_rounds_completed, 3u);
  EXPECT_EQ(ra->status.phase, SessionPhase::Finished);
  EXPECT_NE(ra->status.client_id, rb->status.client_id);
  ASSERT_TRUE(ra->status.last_round_metrics.has_value());
  EXPECT_TRUE(ra->status.last_round_metrics->loss.has_value());

  // The status stream went through the phases in order and ended Finished.
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.front().phase, SessionPhase::Connecting);
  EXPECT_EQ(seen.back().phase, SessionPhase::Finished);
  bool trained = false, waited = false;
  for (const SessionStatus& s : seen) {
    trained = trained || s.phase == SessionPhase::Training;
    waited = waited || s.phase == SessionPhase::Waiting;
  }
  EXPECT_TRUE(trained);
  EXPECT_TRUE(waited);
}

TEST(FederatedSession, UnknownTaskIsAClearError) {
  core::Task task = tiny_task();
  TestServer server(task);
  core::Task other = tiny_task();
  other.id = "other";
  core::Dataset data = tiny_data(8, 0.0f);
  runtime::ThreadPool pool(1);
  FederatedSession session(other, data, pool, session_config(server.ws_url("other")));
  auto f = start(session);
  Result<SessionResult> r = finish(session, f);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Unavailable);
  EXPECT_NE(r.error().message.find("UnknownTask"), std::string::npos) << r.error().message;
  EXPECT_EQ(session.status().phase, SessionPhase::Failed);
}

TEST(FederatedSession, ConnectionRefusedIsAClearError) {
  core::Task task = tiny_task();
  core::Dataset data = tiny_data(8, 0.0f);
  runtime::ThreadPool pool(1);
  const uint16_t port = closed_port();
  FederatedSession session(
      task, data, pool,
      session_config("ws://127.0.0.1:" + std::to_string(port) + "/ws/" + task.id));
  auto f = start(session);
  Result<SessionResult> r = finish(session, f);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::Unavailable);
  EXPECT_NE(r.error().message.find("refused"), std::string::npos) << r.error().message;
}

TEST(FederatedSession, DataThatDoesNotFitTheModelIsRefusedBeforeConnecting) {
  core::Task task = tiny_task();
  core::Dataset data;
  data.x = core::Tensor::zeros({4, 3});
  data.y = core::Tensor::zeros({4});
  data.n_classes = 2;
  runtime::ThreadPool pool(1);
  FederatedSession session(task, data, pool, session_config("ws://127.0.0.1:1/ws/tiny"));
  Result<SessionResult> r = session.run();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Errc::InvalidArgument);
}

TEST(FederatedSession, ReconnectsAfterABrokenConnectionAndFinishes) {
  core::Task task = tiny_task();
  TestServer server(task, TestServer::Options{.drop_first_contribution = true});
  core::Dataset data_a = tiny_data(24, 0.0f), data_b = tiny_data(16, 0.3f);
  runtime::ThreadPool pool_a(1), pool_b(1);
  FederatedSession a(task, data_a, pool_a, session_config(server.ws_url("tiny")));
  FederatedSession b(task, data_b, pool_b, session_config(server.ws_url("tiny")));
  auto fa = start(a);
  auto fb = start(b);
  Result<SessionResult> ra = finish(a, fa);
  Result<SessionResult> rb = finish(b, fb);
  ASSERT_TRUE(ra.has_value()) << ra.error().to_string();
  ASSERT_TRUE(rb.has_value()) << rb.error().to_string();
  EXPECT_EQ(server.n_dropped(), 1);
  EXPECT_EQ(ra->status.n_reconnects + rb->status.n_reconnects, 1u);
  std::optional<std::vector<float>> final = server.final_weights();
  ASSERT_TRUE(final.has_value());
  EXPECT_EQ(ra->weights.values, *final);
  EXPECT_EQ(rb->weights.values, *final);
}

TEST(FederatedSession, GivesUpWhenTheServerStaysAway) {
  core::Task task = tiny_task();
  core::Dataset data_a = tiny_data(24, 0.0f), data_b = tiny_data(16, 0.3f);
  runtime::ThreadPool pool_a(1), pool_b(1);
  auto server = std::make_unique<TestServer>(task);
  std::promise<void> round_started;
  bool signalled = false;  // touched on a's run() thread only
  SessionConfig config_a = session_config(server->ws_url("tiny"));
  config_a.max_reconnects = 2;
  SessionConfig config_b = config_a;
  // Both clients joined and the first round started: take the server down for good.
  config_a.on_status = [&](const SessionStatus& s) {
    if (s.phase == SessionPhase::Training && !signalled) {
      signalled = true;
      round_started.set_value();
    }
  };
  FederatedSession a(task, data_a, pool_a, config_a);
  FederatedSession b(task, data_b, pool_b, config_b);
  auto fa = start(a);
  auto fb = start(b);
  EXPECT_EQ(round_started.get_future().wait_for(kSessionBudget), std::future_status::ready);
  server.reset();
  Result<SessionResult> ra = finish(a, fa);
  Result<SessionResult> rb = finish(b, fb);
  ASSERT_FALSE(ra.has_value());
  EXPECT_EQ(ra.error().code, Errc::Unavailable);
  EXPECT_NE(ra.error().message.find("gave up after 2 reconnect attempts"), std::string::npos)
      << ra.error().message;
  EXPECT_FALSE(rb.has_value());
}

}  // namespace
}  // namespace disco::client
