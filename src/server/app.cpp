// SPDX-License-Identifier: Apache-2.0
#include "server/app.hpp"

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/base/overloaded.hpp"
#include "core/json_util.hpp"
#include "core/model/safetensors.hpp"
#include "core/task.hpp"
#include "net/http_server.hpp"
#include "proto/federated_server.hpp"
#include "runtime/files.hpp"
#include "server/store.hpp"

namespace disco::server {
namespace {

using Clock = std::chrono::steady_clock;
using core::Json;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

net::HttpResponse json_response(int status, const Json& body) {
  net::HttpResponse res;
  res.status = status;
  res.body = body.dump(2) + "\n";
  return res;
}

net::HttpResponse error_response(int status, const std::string& message) {
  return json_response(status, Json{{"error", message}});
}

// The task field a validation message is about: core's messages read "<field path>: <why>"
// ("training.batch_size: must be ...", "model.layers[2].units: ..."), after the source prefix
// this server adds. Empty when the message does not start with a field path.
std::string field_of(std::string_view message, std::string_view source) {
  if (message.substr(0, source.size()) == source && message.substr(source.size(), 2) == ": ")
    message.remove_prefix(source.size() + 2);
  const auto colon = message.find(": ");
  if (colon == 0 || colon == std::string_view::npos) return {};
  const std::string_view path = message.substr(0, colon);
  for (char c : path) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '[' || c == ']';
    if (!ok) return {};
  }
  return std::string(path);
}

int http_status(const Error& e) {
  switch (e.code) {
    case Errc::InvalidArgument:
    case Errc::Corruption:
      return 400;
    case Errc::NotFound:
      return 404;
    case Errc::Unavailable:
      return 503;
    default:
      return 500;
  }
}

std::string content_type_for(const std::filesystem::path& path) {
  static const std::pair<const char*, const char*> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".wasm", "application/wasm"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".ico", "image/x-icon"},
      {".map", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
      {".csv", "text/csv; charset=utf-8"},
      {".safetensors", "application/octet-stream"},
  };
  const std::string ext = path.extension().string();
  for (const auto& [e, type] : kTypes)
    if (ext == e) return type;
  return "application/octet-stream";
}

std::string bytes_to_string(std::span<const std::byte> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

// One hosted task: its document, model and (for federated tasks) its protocol machine.
struct TaskHost {
  explicit TaskHost(core::Model m) : model(std::move(m)) {}
  core::Task task;
  bool builtin = false;
  core::Model model;  // holds the latest global weights when serialised
  std::unique_ptr<proto::FederatedServer> machine;  // federated tasks only
  std::unique_ptr<net::HttpServer::Timer> timer;
  // Set when the task had finished before this server started (no machine then).
  std::optional<uint64_t> finished_rounds;
};

struct App::Impl {
  ServeOptions options;
  std::unique_ptr<Store> store;
  std::unique_ptr<net::HttpServer> http;
  std::map<std::string, std::unique_ptr<TaskHost>> tasks;
  std::map<net::ConnId, TaskHost*> connections;
  Clock::time_point origin = Clock::now();

  proto::Time now() const {
    return proto::Time::from_ms(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - origin).count());
  }

  void log(const char* format, ...) __attribute__((format(printf, 2, 3)));

  Result<void> load_tasks();
  Result<void> host(core::Task task, bool builtin, std::optional<std::string> join_token);

  net::HttpResponse handle(const net::HttpRequest& req);
  net::HttpResponse create_task(const net::HttpRequest& req);
  net::HttpResponse task_status(const TaskHost& host);
  net::HttpResponse model_file(TaskHost& host);
  net::HttpResponse static_file(const net::HttpRequest& req);

  bool ws_open(net::ConnId conn, const std::string& path);
  void ws_message(net::ConnId conn, std::span<const std::byte> bytes);
  void ws_closed(net::ConnId conn);
  void drain(TaskHost& host);
  void arm_timer(TaskHost& host);
  void on_round_closed(TaskHost& host, uint64_t round, uint32_t n_contributions,
                       const proto::TrainMetrics& metrics,
                       const std::vector<std::string>& contributors);
  std::vector<std::byte> checkpoint_bytes(TaskHost& host, uint64_t round);
};

void App::Impl::log(const char* format, ...) {
  if (!options.log) return;
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  std::fprintf(stderr, "%s ", stamp);
  va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputc('\n', stderr);
}

Result<void> App::Impl::host(core::Task task, bool builtin, std::optional<std::string> join_token) {
  auto h = std::make_unique<TaskHost>(task.make_model());
  h->builtin = builtin;
  Rng init_rng(task.training.seed);
  h->model.init_weights(init_rng);
  if (task.federation.scheme == "federated") {
    std::vector<float> weights(h->model.weights().begin(), h->model.weights().end());
    uint64_t completed = 0;
    std::vector<std::string> known_ids;
    DISCO_ASSIGN_OR_RETURN(resume, store->resume_point(task.id));
    if (resume) {
      const auto& bytes = resume->checkpoint;
      DISCO_TRY(core::load_safetensors(
          h->model,
          std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
          "checkpoint of task " + task.id));
      weights.assign(h->model.weights().begin(), h->model.weights().end());
      completed = resume->completed_rounds;
      known_ids = resume->known_client_ids;
    }
    if (completed >= static_cast<uint64_t>(task.n_rounds())) {
      // Training finished before the restart: the task serves its final model, nothing more.
      log("task %s: finished (%llu rounds)", task.id.c_str(),
          static_cast<unsigned long long>(completed));
      h->finished_rounds = completed;
      const std::string id = task.id;
      h->task = std::move(task);
      tasks[id] = std::move(h);
      return {};
    }
    DISCO_ASSIGN_OR_RETURN(
        config, proto::server_config_for_task(task, h->model.fingerprint(), std::move(weights)));
    config.completed_rounds = completed;
    config.known_client_ids = std::move(known_ids);
    config.join_token = std::move(join_token);
    config.max_message_bytes = options.max_message_bytes;
    DISCO_TRY(proto::validate(config));
    if (resume) {
      log("task %s: resuming after round %llu of %llu", task.id.c_str(),
          static_cast<unsigned long long>(completed),
          static_cast<unsigned long long>(config.n_rounds));
    }
    h->machine = std::make_unique<proto::FederatedServer>(std::move(config));
    h->timer = http ? http->make_timer() : nullptr;
  }
  const std::string id = task.id;
  h->task = std::move(task);
  tasks[id] = std::move(h);
  return {};
}

Result<void> App::Impl::load_tasks() {
  // Built-in tasks: every *.json of the tasks directory, refreshed in the store on each start.
  if (!options.tasks_dir.empty()) {
    DISCO_ASSIGN_OR_RETURN(listing, runtime::list_dir(options.tasks_dir));
    std::vector<std::string> files = listing.files;
    std::sort(files.begin(), files.end());
    for (const auto& name : files) {
      if (std::filesystem::path(name).extension() != ".json") continue;
      const auto path = options.tasks_dir / name;
      DISCO_ASSIGN_OR_RETURN(text, runtime::read_text_file(path));
      DISCO_ASSIGN_OR_RETURN(task, core::parse_task_text(text, path.string()));
      TaskRecord record;
      record.id = task.id;
      record.json = task.raw.dump();
      record.builtin = true;
      record.created_ms = wall_ms();
      DISCO_ASSIGN_OR_RETURN(existing, store->task(record.id));
      if (existing) {
        record.created_ms = existing->created_ms;
        DISCO_TRY(store->replace_task(record));
      } else {
        DISCO_TRY(store->put_task(record));
      }
      std::optional<std::string> token;
      if (auto it = options.join_tokens.find(task.id); it != options.join_tokens.end())
        token = it->second;
      DISCO_TRY(host(std::move(task), true, token));
    }
  }
  for (const auto& [id, token] : options.join_tokens) {
    if (!tasks.count(id))
      return make_error(Errc::InvalidArgument, "--join-token names unknown task '" + id + "'");
  }
  // Tasks created over HTTP in earlier runs.
  DISCO_ASSIGN_OR_RETURN(records, store->tasks());
  for (auto& record : records) {
    if (record.builtin || tasks.count(record.id)) continue;
    DISCO_ASSIGN_OR_RETURN(task, core::parse_task_text(record.json, "stored task " + record.id));
    DISCO_TRY(host(std::move(task), false, record.join_token));
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// HTTP

net::HttpResponse App::Impl::handle(const net::HttpRequest& req) {
  const std::string& path = req.path;
  if (path.rfind("/api/", 0) != 0) return static_file(req);
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (path == "/api/health") {
    if (!get) return error_response(405, req.method + " not allowed on " + path);
    return json_response(
        200, Json{{"status", "ok"}, {"tasks", tasks.size()}, {"connections", connections.size()}});
  }
  if (path == "/api/tasks") {
    if (req.method == "POST") return create_task(req);
    if (!get) return error_response(405, req.method + " not allowed on " + path);
    Json list = Json::array();
    for (const auto& [id, h] : tasks) list.push_back(h->task.raw);
    return json_response(200, list);
  }
  const std::string prefix = "/api/tasks/";
  if (path.rfind(prefix, 0) == 0) {
    std::string rest = path.substr(prefix.size());
    std::string sub;
    if (auto slash = rest.find('/'); slash != std::string::npos) {
      sub = rest.substr(slash + 1);
      rest.resize(slash);
    }
    auto it = tasks.find(rest);
    if (it == tasks.end()) return error_response(404, "no task '" + rest + "'");
    if (!get) return error_response(405, req.method + " not allowed on " + path);
    if (sub.empty()) return json_response(200, it->second->task.raw);
    if (sub == "status") return task_status(*it->second);
    if (sub == "model") return model_file(*it->second);
  }
  return error_response(404, "no API endpoint " + req.method + " " + path);
}

net::HttpResponse App::Impl::create_task(const net::HttpRequest& req) {
  auto task = core::parse_task_text(req.body, "request body");
  if (!task) {
    Json body{{"error", task.error().message}};
    if (std::string field = field_of(task.error().message, "request body"); !field.empty())
      body["field"] = field;
    return json_response(400, body);
  }
  if (tasks.count(task->id)) return error_response(409, "task '" + task->id + "' already exists");
  std::optional<std::string> token;
  if (std::string t = req.header("X-Join-Token"); !t.empty()) token = t;
  TaskRecord record;
  record.id = task->id;
  record.json = task->raw.dump();
  record.join_token = token;
  record.created_ms = wall_ms();
  if (auto r = store->put_task(record); !r) return error_response(500, r.error().message);
  const Json doc = task->raw;
  const std::string id = task->id;
  if (auto r = host(std::move(*task), false, token); !r)
    return error_response(http_status(r.error()), r.error().message);
  log("task %s: created over HTTP%s", id.c_str(), token ? " (join token required)" : "");
  return json_response(201, doc);
}

net::HttpResponse App::Impl::task_status(const TaskHost& h) {
  Json status = {{"id", h.task.id}, {"scheme", h.task.federation.scheme}};
  if (h.machine) {
    const auto& s = h.machine->status();
    status["phase"] = proto::server_phase_name(s.phase);
    status["round"] = s.round;
    status["n_rounds"] = h.task.n_rounds();
    status["rounds_completed"] = s.n_rounds_completed;
    status["joined"] = s.n_joined;
    status["min_participants"] = h.task.federation.min_participants;
    status["round_participants"] = s.n_participants;
    status["round_contributions"] = s.n_contributions;
  } else if (h.finished_rounds) {
    status["phase"] = "Finished";
    status["round"] = *h.finished_rounds;
    status["n_rounds"] = h.task.n_rounds();
    status["rounds_completed"] = *h.finished_rounds;
    status["joined"] = 0;
    status["min_participants"] = h.task.federation.min_participants;
  }
  Json rounds = Json::array();
  if (auto records = store->rounds(h.task.id)) {
    for (const auto& r : *records) {
      Json row = {
          {"round", r.round}, {"contributions", r.n_contributions}, {"closed_ms", r.closed_ms}};
      if (r.loss) row["loss"] = *r.loss;
      if (r.accuracy) row["accuracy"] = *r.accuracy;
      rounds.push_back(std::move(row));
    }
  }
  status["rounds"] = std::move(rounds);
  Json participants = Json::array();
  if (auto records = store->participants(h.task.id)) {
    for (const auto& p : *records) {
      participants.push_back({{"client_id", p.client_id},
                              {"contributions", p.n_contributions},
                              {"last_seen_ms", p.last_seen_ms}});
    }
  }
  status["participants"] = std::move(participants);
  return json_response(200, status);
}

std::vector<std::byte> App::Impl::checkpoint_bytes(TaskHost& h, uint64_t round) {
  if (h.machine) {
    const auto& global = h.machine->global_weights();
    std::copy(global.begin(), global.end(), h.model.weights().begin());
  }
  const auto bytes =
      core::save_safetensors(h.model, {{"task", h.task.id}, {"round", std::to_string(round)}});
  std::vector<std::byte> out(bytes.size());
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

net::HttpResponse App::Impl::model_file(TaskHost& h) {
  const uint64_t round =
      h.machine ? h.machine->status().n_rounds_completed : h.finished_rounds.value_or(0);
  net::HttpResponse res;
  res.content_type = "application/octet-stream";
  res.body = bytes_to_string(checkpoint_bytes(h, round));
  res.headers.emplace_back("Content-Disposition",
                           "attachment; filename=\"" + h.task.id + ".safetensors\"");
  res.headers.emplace_back("X-Disco-Round", std::to_string(round));
  return res;
}

net::HttpResponse App::Impl::static_file(const net::HttpRequest& req) {
  if (options.web_dir.empty()) return error_response(404, "no such path " + req.path);
  if (req.method != "GET" && req.method != "HEAD")
    return error_response(405, req.method + " not allowed on " + req.path);
  // Refuse anything that could leave the web directory.
  std::filesystem::path rel = std::filesystem::path(req.path).relative_path().lexically_normal();
  for (const auto& part : rel)
    if (part == "..") return error_response(400, "bad path " + req.path);
  std::filesystem::path file = options.web_dir / rel;
  std::error_code ec;
  if (rel.empty() || std::filesystem::is_directory(file, ec)) file /= "index.html";
  if (!std::filesystem::is_regular_file(file, ec)) {
    // Client-side routes of the single-page app fall back to index.html.
    if (rel.has_extension()) return error_response(404, "no such file " + req.path);
    file = options.web_dir / "index.html";
  }
  auto bytes = runtime::read_file(file);
  if (!bytes) return error_response(404, "no such file " + req.path);
  net::HttpResponse res;
  res.content_type = content_type_for(file);
  res.body = bytes_to_string(*bytes);
  return res;
}

// ---------------------------------------------------------------------------------------------
// WebSocket: the federated protocol

bool App::Impl::ws_open(net::ConnId conn, const std::string& path) {
  const std::string prefix = "/ws/";
  if (path.rfind(prefix, 0) != 0) return false;
  auto it = tasks.find(path.substr(prefix.size()));
  if (it == tasks.end() || it->second->task.federation.scheme != "federated") return false;
  TaskHost& h = *it->second;
  if (!h.machine) {
    // Finished before this server started: say so, in the protocol, and close.
    const std::string message = "task " + h.task.id + " finished training after " +
                                std::to_string(h.finished_rounds.value_or(0)) +
                                " rounds; its model is at /api/tasks/" + h.task.id + "/model";
    http->send(conn, proto::encode(proto::ErrorMessage{proto::ErrorCode::Unavailable, message}));
    http->close(conn, "training finished");
    return true;
  }
  connections[conn] = &h;
  h.machine->on_connect(conn, now());
  drain(h);
  return true;
}

void App::Impl::ws_message(net::ConnId conn, std::span<const std::byte> bytes) {
  auto it = connections.find(conn);
  if (it == connections.end()) return;
  TaskHost& h = *it->second;
  h.machine->on_message(conn, bytes, now());
  drain(h);
}

void App::Impl::ws_closed(net::ConnId conn) {
  auto it = connections.find(conn);
  if (it == connections.end()) return;
  TaskHost& h = *it->second;
  connections.erase(it);
  h.machine->on_disconnect(conn, now());
  drain(h);
}

void App::Impl::drain(TaskHost& h) {
  const std::string& id = h.task.id;
  while (auto action = h.machine->next_action()) {
    std::visit(
        Overloaded{
            [&](proto::FederatedServer::Send& a) { http->send_shared(a.to, a.bytes.shared()); },
            [&](proto::FederatedServer::Close& a) {
              if (!a.reason.empty())
                log("task %s: closing %llu: %s", id.c_str(), static_cast<unsigned long long>(a.to),
                    a.reason.c_str());
              http->close(a.to, a.reason);
            },
            [&](proto::FederatedServer::Finished& a) {
              log("task %s: training finished after %llu rounds", id.c_str(),
                  static_cast<unsigned long long>(a.n_rounds));
            },
            [&](proto::FederatedServer::ClientJoined& a) {
              log("task %s: client %s joined (%u joined)", id.c_str(), a.client_id.c_str(),
                  h.machine->status().n_joined);
              if (auto r = store->record_participant(id, a.client_id, wall_ms()); !r)
                log("task %s: store: %s", id.c_str(), r.error().message.c_str());
            },
            [&](proto::FederatedServer::ClientLeft& a) {
              log("task %s: client %s left", id.c_str(), a.client_id.c_str());
            },
            [&](proto::FederatedServer::RoundClosed& a) {
              on_round_closed(h, a.round, a.n_contributions, a.metrics, a.contributors);
            },
            [&](auto&) {},
        },
        *action);
  }
  arm_timer(h);
}

void App::Impl::on_round_closed(TaskHost& h, uint64_t round, uint32_t n_contributions,
                                const proto::TrainMetrics& metrics,
                                const std::vector<std::string>& contributors) {
  RoundRecord record;
  record.task_id = h.task.id;
  record.round = round;
  record.n_contributions = n_contributions;
  record.loss = metrics.loss;
  record.accuracy = metrics.accuracy;
  record.closed_ms = wall_ms();
  record.contributors = contributors;
  const auto bytes = checkpoint_bytes(h, round);
  if (auto r = store->commit_round(record, bytes); !r) {
    // Training goes on; the resume point stays at the previous round.
    log("task %s: could not persist round %llu: %s", h.task.id.c_str(),
        static_cast<unsigned long long>(round), r.error().message.c_str());
  }
  log("task %s: round %llu/%lld closed with %u contributions, loss %.4f, accuracy %.4f",
      h.task.id.c_str(), static_cast<unsigned long long>(round),
      static_cast<long long>(h.task.n_rounds()), n_contributions, metrics.loss.value_or(0.0),
      metrics.accuracy.value_or(0.0));
}

void App::Impl::arm_timer(TaskHost& h) {
  if (!h.timer) return;
  const auto deadline = h.machine->deadline();
  if (!deadline) {
    h.timer->cancel();
    return;
  }
  TaskHost* hp = &h;
  h.timer->arm(origin + deadline->since_origin, [this, hp] {
    hp->machine->on_timeout(now());
    drain(*hp);
  });
}

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<App>> App::create(ServeOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  DISCO_ASSIGN_OR_RETURN(store, Store::open(impl->options.data_dir));
  impl->store = std::move(store);

  Impl* self = impl.get();
  net::HttpServerOptions http_options;
  http_options.host = impl->options.host;
  http_options.port = impl->options.port;
  http_options.max_message_bytes = impl->options.max_message_bytes;
  http_options.handle_signals = impl->options.handle_signals;
  net::HttpServerCallbacks callbacks;
  callbacks.http = [self](const net::HttpRequest& req) { return self->handle(req); };
  callbacks.ws_open = [self](net::ConnId c, const std::string& p) { return self->ws_open(c, p); };
  callbacks.ws_message = [self](net::ConnId c, std::span<const std::byte> b) {
    self->ws_message(c, b);
  };
  callbacks.ws_closed = [self](net::ConnId c) { self->ws_closed(c); };
  DISCO_ASSIGN_OR_RETURN(http, net::HttpServer::create(http_options, std::move(callbacks)));
  impl->http = std::move(http);
  DISCO_TRY(impl->load_tasks());
  impl->log("disco server on http://%s:%u (%zu tasks, data in %s)", impl->options.host.c_str(),
            impl->http->port(), impl->tasks.size(), impl->options.data_dir.string().c_str());
  return std::unique_ptr<App>(new App(std::move(impl)));
}

App::App(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
App::~App() {
  // Timers belong to the HTTP server's event loop: they go first, then the server (so no
  // callback reaches a half-destroyed App), then the tasks and the store.
  for (auto& [id, h] : impl_->tasks) h->timer.reset();
  impl_->http.reset();
}

uint16_t App::port() const { return impl_->http->port(); }
void App::run() { impl_->http->run(); }
void App::stop() { impl_->http->stop(); }

}  // namespace disco::server
