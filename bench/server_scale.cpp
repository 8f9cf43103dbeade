// SPDX-License-Identifier: Apache-2.0
// Load generator for bench/server_scale.sh: N federated clients on one thread (Asio), each a real
// proto::FederatedClient machine over its own WebSocket connection to a running `disco serve`.
// Local training is replaced by an instant constant update, so the rounds measure the server
// alone: broadcasting the global model, receiving and aggregating N updates, answering.
//
//   server_scale --task FILE --url ws://127.0.0.1:PORT/ws/ID --clients N [--rounds R]
//
// Prints one line per round and a summary of key=value figures:
//   round_ms_median        StartRound (first client) to RoundResult (last client)
//   update_bytes_per_round N x 4 x n_params
//   aggregation_gbps       update bytes of a round / round time (GB/s, 1e9 bytes)
#include <algorithm>
#include <utility>
// Standard headers first: Boost 1.74 Asio uses std::exchange without including <utility>.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "core/json_util.hpp"
#include "core/task.hpp"
#include "proto/federated_client.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace disco;

struct Stats {
  Clock::time_point origin = Clock::now();
  std::map<uint64_t, Clock::time_point> first_start, last_result;
  std::size_t n_finished = 0, n_failed = 0, n_connected = 0;
  std::string first_error;
};

proto::Time now_ms(const Stats& stats) {
  return proto::Time::from_ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stats.origin).count());
}

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(asio::io_context& io, Stats& stats, proto::ClientConfig config, std::size_t n_params)
      : ws_(asio::make_strand(io)),
        stats_(stats),
        machine_(std::move(config)),
        n_params_(n_params) {}

  void start(const tcp::endpoint& endpoint, const std::string& host, const std::string& path) {
    host_ = host;
    path_ = path;
    beast::get_lowest_layer(ws_).async_connect(endpoint, [self = shared_from_this()](
                                                             beast::error_code ec) {
      if (ec) return self->fail("connect: " + ec.message());
      beast::get_lowest_layer(self->ws_).expires_never();
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().set_option(tcp::no_delay(true), ignored);
      self->ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
      self->ws_.read_message_max(std::size_t{1} << 30);
      self->ws_.binary(true);
      self->ws_.async_handshake(self->host_, self->path_, [self](beast::error_code ec2) {
        if (ec2) return self->fail("handshake: " + ec2.message());
        ++self->stats_.n_connected;
        self->machine_.on_connected(now_ms(self->stats_));
        self->drain();
        self->read();
      });
    });
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) {
        if (!self->done_) self->fail("read: " + ec.message());
        return;
      }
      auto data = self->buffer_.cdata();
      const auto* p = static_cast<const std::byte*>(data.data());
      const auto t = Clock::now();
      // Round bookkeeping from the phase change the message causes.
      const auto before = self->machine_.status();
      self->machine_.on_message(std::span<const std::byte>(p, data.size()), now_ms(self->stats_));
      self->buffer_.consume(self->buffer_.size());
      const auto& after = self->machine_.status();
      if (after.round > before.round) {
        auto [it, inserted] = self->stats_.first_start.emplace(after.round, t);
        if (!inserted) it->second = std::min(it->second, t);
      }
      if (after.n_rounds_completed > before.n_rounds_completed) {
        auto& last = self->stats_.last_result[after.n_rounds_completed];
        last = std::max(last, t);
      }
      self->drain();
      if (!self->done_) self->read();
    });
  }

  void drain() {
    while (auto action = machine_.next_action()) {
      if (auto* send = std::get_if<proto::FederatedClient::Send>(&*action)) {
        queue_.push_back(std::move(send->bytes));
        if (queue_.size() == 1) write();
      } else if (auto* train = std::get_if<proto::FederatedClient::TrainLocal>(&*action)) {
        // Instant "training": a constant update.
        std::vector<float> delta(n_params_, 1e-3f);
        machine_.on_trained(train->round, std::move(delta), 1, proto::TrainMetrics{0.5, 0.5},
                            now_ms(stats_));
      } else if (std::holds_alternative<proto::FederatedClient::Finished>(*action)) {
        done_ = true;
        ++stats_.n_finished;
      } else if (auto* close = std::get_if<proto::FederatedClient::Close>(&*action)) {
        if (!done_) fail("closed by the client machine: " + close->reason);
      }
    }
  }

  void write() {
    ws_.async_write(asio::buffer(queue_.front()),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      if (ec) return self->fail("write: " + ec.message());
                      self->queue_.pop_front();
                      if (!self->queue_.empty()) self->write();
                    });
  }

  void fail(const std::string& what) {
    if (done_) return;
    done_ = true;
    ++stats_.n_failed;
    if (stats_.first_error.empty()) {
      stats_.first_error = what;
      if (machine_.status().last_error)
        stats_.first_error += " (" + machine_.status().last_error->message + ")";
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer buffer_;
  std::deque<std::vector<std::byte>> queue_;
  Stats& stats_;
  proto::FederatedClient machine_;
  std::size_t n_params_;
  std::string host_, path_;
  bool done_ = false;
};

const char* arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == name) return argv[i + 1];
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string task_file = arg(argc, argv, "--task", "");
  const std::string url = arg(argc, argv, "--url", "");
  const std::size_t n_clients = std::strtoull(arg(argc, argv, "--clients", "10"), nullptr, 10);
  if (task_file.empty() || url.rfind("ws://", 0) != 0 || n_clients == 0) {
    std::fprintf(stderr,
                 "usage: server_scale --task FILE --url ws://HOST:PORT/ws/ID --clients N\n");
    return 2;
  }
  std::FILE* f = std::fopen(task_file.c_str(), "rb");
  if (!f) {
    std::fprintf(stderr, "server_scale: cannot open %s\n", task_file.c_str());
    return 1;
  }
  std::string text;
  char chunk[4096];
  for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, f)) > 0;) text.append(chunk, n);
  std::fclose(f);
  auto task = core::parse_task_text(text, task_file);
  if (!task) {
    std::fprintf(stderr, "server_scale: %s\n", task.error().message.c_str());
    return 1;
  }
  const core::Model model = task->make_model();
  const std::size_t n_params = static_cast<std::size_t>(model.n_weights());

  // ws://host:port/path
  const std::string rest = url.substr(5);
  const std::string hostport = rest.substr(0, rest.find('/'));
  const std::string path = rest.substr(hostport.size());
  const std::string host = hostport.substr(0, hostport.find(':'));
  const auto port = static_cast<uint16_t>(std::stoi(hostport.substr(host.size() + 1)));
  const tcp::endpoint endpoint(asio::ip::make_address(host), port);

  asio::io_context io(1);
  Stats stats;
  proto::ClientConfig config;
  config.task_id = task->id;
  config.model_fingerprint = model.fingerprint();
  std::vector<std::shared_ptr<Client>> clients;
  clients.reserve(n_clients);
  for (std::size_t i = 0; i < n_clients; ++i) {
    clients.push_back(std::make_shared<Client>(io, stats, config, n_params));
    clients.back()->start(endpoint, hostport, path);
  }
  asio::steady_timer limit(io, std::chrono::minutes(5));
  limit.async_wait([&](beast::error_code ec) {
    if (!ec) io.stop();
  });
  // Stop once every client finished or failed.
  std::function<void()> poll;
  asio::steady_timer poll_timer(io);
  poll = [&] {
    if (stats.n_finished + stats.n_failed >= n_clients) return io.stop();
    poll_timer.expires_after(std::chrono::milliseconds(50));
    poll_timer.async_wait([&](beast::error_code ec) {
      if (!ec) poll();
    });
  };
  poll();
  io.run();

  const double update_bytes = static_cast<double>(n_clients) * 4.0 * static_cast<double>(n_params);
  std::vector<double> round_ms;
  for (const auto& [round, start] : stats.first_start) {
    auto it = stats.last_result.find(round);
    if (it == stats.last_result.end()) continue;
    const double ms = std::chrono::duration<double, std::milli>(it->second - start).count();
    round_ms.push_back(ms);
    std::printf("round %llu: %.1f ms, %.3f GB/s of updates aggregated\n",
                static_cast<unsigned long long>(round), ms, update_bytes / (ms * 1e-3) / 1e9);
  }
  std::sort(round_ms.begin(), round_ms.end());
  const double median = round_ms.empty() ? 0 : round_ms[round_ms.size() / 2];
  std::printf(
      "clients=%zu connected=%zu finished=%zu failed=%zu n_params=%zu model_bytes=%zu "
      "update_bytes_per_round=%.0f round_ms_median=%.1f aggregation_gbps=%.3f\n",
      n_clients, stats.n_connected, stats.n_finished, stats.n_failed, n_params, 4 * n_params,
      update_bytes, median, median > 0 ? update_bytes / (median * 1e-3) / 1e9 : 0.0);
  if (!stats.first_error.empty()) std::printf("first_error=%s\n", stats.first_error.c_str());
  return stats.n_failed == 0 && stats.n_finished == n_clients ? 0 : 1;
}
