// SPDX-License-Identifier: Apache-2.0
#include "cli/federated.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include "cli/data_source.hpp"
#include "cli/progress.hpp"
#include "client/session.hpp"
#include "core/model/safetensors.hpp"
#include "core/train/trainer.hpp"
#include "net/http_client.hpp"
#include "runtime/files.hpp"
#include "runtime/thread_pool.hpp"

namespace disco::cli {
namespace {

using Clock = std::chrono::steady_clock;
using client::SessionPhase;
using client::SessionStatus;
using core::Json;

std::string fixed(double v, int digits = 4) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string metrics_text(const proto::TrainMetrics& m) {
  std::string out;
  if (m.loss) out += "loss " + fixed(*m.loss);
  if (m.accuracy) out += std::string(out.empty() ? "" : "  ") + "acc " + fixed(*m.accuracy);
  return out;
}

std::string round_text(const SessionStatus& s) {
  return "round " + std::to_string(s.round) + "/" + std::to_string(s.n_rounds);
}

// One line describing the session, without the progress bar.
std::string describe(const SessionStatus& s, const std::string& url) {
  std::string line;
  switch (s.phase) {
    case SessionPhase::Connecting:
      return "connecting to " + url;
    case SessionPhase::Reconnecting:
      line = "connection lost";
      if (s.last_error) line += " (" + s.last_error->message + ")";
      return line + "; reconnecting";
    case SessionPhase::Waiting:
      if (s.n_connected > 0 && s.n_connected < s.n_required) {
        line = "waiting for participants " + std::to_string(s.n_connected) + "/" +
               std::to_string(s.n_required);
      } else if (s.n_rounds > 0 && s.round >= s.n_rounds) {
        line = "waiting for the final model";
      } else {
        line =
            "waiting for round " + std::to_string(s.round + 1) + "/" + std::to_string(s.n_rounds);
      }
      break;
    case SessionPhase::Training: {
      line = round_text(s) + "  training";
      if (s.n_epochs > 0) {
        line += " epoch " + std::to_string(std::min(s.epoch, s.n_epochs)) + "/" +
                std::to_string(s.n_epochs);
      }
      if (s.n_batches > 0) {
        line += "  " + std::to_string(100 * s.batches_done / s.n_batches) + "%";
      }
      if (s.local_metrics) line += "  " + metrics_text(*s.local_metrics);
      break;
    }
    case SessionPhase::AwaitingResult:
      line = round_text(s) + "  contribution sent, waiting for the others";
      break;
    case SessionPhase::Finished:
      return "finished";
    case SessionPhase::Failed:
      return "failed";
  }
  if (s.last_round_metrics && s.n_rounds_completed > 0) {
    line += "  | last round " + metrics_text(*s.last_round_metrics);
  }
  return line;
}

// Shows the session's status on stderr: one line redrawn in place on a TTY (at most ~10 times a
// second, at once on a phase change), or, in logs, one line per phase or round change. Each
// completed round also gets a permanent line on stdout.
class StatusView {
 public:
  StatusView(bool enabled, std::string url)
      : tty_(enabled && isatty(STDERR_FILENO)), url_(std::move(url)) {}

  void show(const SessionStatus& s) {
    if (s.n_rounds_completed > rounds_printed_ && s.last_round_metrics) {
      rounds_printed_ = s.n_rounds_completed;
      clear();
      std::printf("round %llu/%llu  global %s\n", static_cast<unsigned long long>(s.round),
                  static_cast<unsigned long long>(s.n_rounds),
                  metrics_text(*s.last_round_metrics).c_str());
      std::fflush(stdout);
    }
    const bool changed = !shown_ || s.phase != last_phase_ || s.round != last_round_ ||
                         s.n_connected != last_connected_;
    last_phase_ = s.phase;
    last_round_ = s.round;
    last_connected_ = s.n_connected;
    shown_ = true;
    if (s.phase == SessionPhase::Finished || s.phase == SessionPhase::Failed) {
      clear();
      return;
    }
    std::string line = describe(s, url_);
    if (!s.client_id.empty()) line = "[" + s.client_id + "] " + line;
    if (!tty_) {
      if (changed && s.phase != SessionPhase::Training) std::fprintf(stderr, "%s\n", line.c_str());
      if (changed && s.phase == SessionPhase::Training) {
        std::fprintf(stderr, "[%s] %s  training\n", s.client_id.c_str(), round_text(s).c_str());
      }
      return;
    }
    auto now = Clock::now();
    if (!changed && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    if (line.size() > 160) line.resize(160);
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
    std::fflush(stderr);
    drawn_ = true;
  }

  void clear() {
    if (!drawn_) return;
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }

 private:
  bool tty_;
  std::string url_;
  bool shown_ = false, drawn_ = false;
  SessionPhase last_phase_ = SessionPhase::Connecting;
  uint64_t last_round_ = 0, rounds_printed_ = 0;
  uint32_t last_connected_ = 0;
  Clock::time_point last_draw_;
};

}  // namespace

Result<ServerUrls> server_urls(const std::string& server) {
  std::string s = server;
  while (!s.empty() && s.back() == '/') s.pop_back();
  std::string rest = s;
  if (std::size_t sep = s.find("://"); sep != std::string::npos) {
    std::string scheme = s.substr(0, sep);
    if (scheme != "http" && scheme != "ws") {
      return make_error(
          Errc::InvalidArgument,
          "--server '" + server + "': expected http://host:port or ws://host:port" +
              (scheme == "https" || scheme == "wss" ? " (TLS is not supported yet)" : ""));
    }
    rest = s.substr(sep + 3);
  }
  if (rest.empty() || rest.find('/') != std::string::npos) {
    return make_error(Errc::InvalidArgument,
                      "--server '" + server + "': expected host:port (no path)");
  }
  ServerUrls urls{"http://" + rest, "ws://" + rest};
  DISCO_TRY(net::parse_url(urls.http));
  return urls;
}

Result<core::Task> fetch_task(const ServerUrls& urls, const std::string& id) {
  const std::string url = urls.http + "/api/tasks/" + id;
  DISCO_ASSIGN_OR_RETURN(response, net::http_get(url, std::chrono::seconds(30)));
  if (response.status == 404) {
    return make_error(Errc::NotFound, "the server " + urls.http + " has no task '" + id + "'");
  }
  if (response.status != 200) {
    std::string body = response.body.substr(0, 200);
    return make_error(Errc::Unavailable,
                      "GET " + url + ": HTTP " + std::to_string(response.status) + " " + body);
  }
  return core::parse_task_text(response.body, url);
}

Result<void> run_federated_train(const TrainOptions& o, const FederatedOptions& f) {
  if (o.epochs) {
    return make_error(Errc::InvalidArgument,
                      "--epochs cannot be used with --server: the task sets the rounds");
  }
  DISCO_ASSIGN_OR_RETURN(urls, server_urls(f.server));
  std::error_code ec;
  Result<core::Task> loaded_task =
      std::filesystem::is_regular_file(o.task, ec) ? load_task(o.task) : fetch_task(urls, o.task);
  if (!loaded_task) return loaded_task.error();
  core::Task task = std::move(loaded_task).value();
  if (o.batch_size) task.training.batch_size = *o.batch_size;
  if (o.seed) task.training.seed = static_cast<uint64_t>(*o.seed);
  if (o.validation_split) task.training.validation_split = *o.validation_split;
  if (task.training.batch_size <= 0) {
    return make_error(Errc::InvalidArgument, "--batch-size must be positive");
  }

  auto t_load = Clock::now();
  DISCO_ASSIGN_OR_RETURN(loaded, load_data(task, o.data, Split::Train, std::nullopt));
  const core::TrainingSettings& s = task.training;
  core::Dataset all = limited(std::move(loaded.data), o.limit, s.seed);
  Rng split_rng(s.seed);
  DISCO_ASSIGN_OR_RETURN(parts,
                         core::split_validation(all, s.validation_split, split_rng,
                                                all.is_classification() && all.y.rank() == 1));
  std::fprintf(
      stderr, "task %s: %lld training and %lld validation samples from %s (%s)\n", task.id.c_str(),
      static_cast<long long>(parts.train.size()), static_cast<long long>(parts.validation.size()),
      loaded.source.c_str(),
      format_duration(std::chrono::duration<double>(Clock::now() - t_load).count()).c_str());

  runtime::ThreadPool pool(o.threads);
  const std::string ws_url = urls.ws + "/ws/" + task.id;
  StatusView view(o.progress, ws_url);
  client::SessionConfig config;
  config.url = ws_url;
  if (!f.client_id.empty()) config.client_id = f.client_id;
  if (!f.join_token.empty()) config.join_token = f.join_token;
  config.on_status = [&view](const SessionStatus& status) { view.show(status); };
  client::FederatedSession session(task, parts.train, pool, std::move(config));
  auto t_train = Clock::now();
  Result<client::SessionResult> result = session.run();
  view.clear();
  if (!result) return result.error();
  const double seconds = std::chrono::duration<double>(Clock::now() - t_train).count();

  core::Model model = task.make_model();
  std::copy(result->weights.values.begin(), result->weights.values.end(), model.weights().begin());
  std::string out = o.output.empty() ? task.id + ".safetensors" : o.output;
  std::map<std::string, std::string> meta = {{"task", task.id}};
  if (loaded.tabular) meta["tabular_transform"] = core::tabular_transform_to_json(*loaded.tabular);
  std::vector<uint8_t> bytes = core::save_safetensors(model, meta);
  DISCO_TRY(runtime::write_file_atomic(out, as_bytes(bytes)));

  const SessionStatus& st = result->status;
  std::printf("federated training finished: %llu rounds as client %s, %llu contributions, %s\n",
              static_cast<unsigned long long>(result->round), st.client_id.c_str(),
              static_cast<unsigned long long>(st.n_contributions),
              format_duration(seconds).c_str());
  if (st.n_reconnects > 0) std::printf("reconnected %u times\n", st.n_reconnects);
  if (st.last_round_metrics) {
    std::printf("last round (all clients): %s\n", metrics_text(*st.last_round_metrics).c_str());
  }
  Json report = {{"task", task.id},
                 {"server", urls.http},
                 {"client_id", st.client_id},
                 {"rounds", result->round},
                 {"contributions", st.n_contributions},
                 {"reconnects", st.n_reconnects},
                 {"seconds", seconds},
                 {"model", out}};
  if (parts.validation.size() > 0) {
    DISCO_ASSIGN_OR_RETURN(trainer, core::Trainer::create(model, pool, 0));
    core::Evaluation ev = trainer->evaluate(parts.validation, std::max<int64_t>(s.batch_size, 256));
    std::printf("final model on local validation data: loss %.4f", ev.loss);
    if (ev.n_classes > 0) std::printf("  acc %.4f", ev.accuracy);
    std::printf("\n");
    report["validation"] = {{"loss", ev.loss}, {"accuracy", ev.accuracy}, {"n", ev.n}};
  }
  std::printf("saved %s\n", out.c_str());
  if (o.report_json.empty()) return {};
  return runtime::write_file_atomic(o.report_json, report.dump(2) + "\n");
}

}  // namespace disco::cli
