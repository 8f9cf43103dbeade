// SPDX-License-Identifier: Apache-2.0
#include "cli/commands.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cli/data_source.hpp"
#include "cli/progress.hpp"
#include "core/model/safetensors.hpp"
#include "core/train/trainer.hpp"
#include "runtime/files.hpp"
#include "runtime/thread_pool.hpp"

namespace disco::cli {
namespace {

using Clock = std::chrono::steady_clock;
using core::Json;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

Result<void> write_report(const std::string& path, const Json& report) {
  if (path.empty()) return {};
  return runtime::write_file_atomic(path, report.dump(2) + "\n");
}

Json evaluation_json(const core::Evaluation& ev, const std::vector<std::string>& labels) {
  Json j = {{"loss", ev.loss}, {"n", ev.n}};
  if (ev.n_classes > 0) {
    j["accuracy"] = ev.accuracy;
    j["labels"] = labels;
    j["confusion"] = ev.confusion;
    j["precision"] = ev.precision;
    j["recall"] = ev.recall;
  }
  return j;
}

std::string label_of(const std::vector<std::string>& labels, int64_t k) {
  if (k >= 0 && k < static_cast<int64_t>(labels.size())) return labels[static_cast<std::size_t>(k)];
  return std::to_string(k);
}

void print_evaluation(const core::Evaluation& ev, const std::vector<std::string>& labels) {
  std::printf("samples   %lld\nloss      %.4f\n", static_cast<long long>(ev.n), ev.loss);
  if (ev.n_classes == 0) return;
  std::printf("accuracy  %.4f\n\nconfusion matrix (rows: true class, columns: predicted)\n",
              ev.accuracy);
  auto c = static_cast<std::size_t>(ev.n_classes);
  std::printf("%14s", "");
  for (std::size_t k = 0; k < c; ++k) std::printf(" %6zu", k);
  std::printf("\n");
  for (std::size_t r = 0; r < c; ++r) {
    std::printf("%2zu %-11.11s", r, label_of(labels, static_cast<int64_t>(r)).c_str());
    for (std::size_t k = 0; k < c; ++k)
      std::printf(" %6lld", static_cast<long long>(ev.confusion[r * c + k]));
    std::printf("\n");
  }
  std::printf("\n%-14s %9s %9s\n", "class", "precision", "recall");
  for (std::size_t k = 0; k < c; ++k)
    std::printf("%-14.14s %9.4f %9.4f\n", label_of(labels, static_cast<int64_t>(k)).c_str(),
                ev.precision[k], ev.recall[k]);
}

// A trained model file and what it needs to read data the way it was trained.
struct LoadedModel {
  core::Model model;
  std::optional<core::TabularTransform> tabular;
};

Result<LoadedModel> load_model(const std::string& path, const core::Task& task) {
  DISCO_ASSIGN_OR_RETURN(bytes, runtime::read_file(path));
  std::span<const uint8_t> raw(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  DISCO_ASSIGN_OR_RETURN(model, core::model_from_safetensors(raw, path));
  if (model.fingerprint() != task.make_model().fingerprint())
    return make_error(Errc::InvalidArgument,
                      path + ": this model's architecture does not match task '" + task.id + "'");
  DISCO_ASSIGN_OR_RETURN(meta, core::safetensors_metadata(raw, path));
  LoadedModel out{std::move(model), std::nullopt};
  if (auto it = meta.find("tabular_transform"); it != meta.end()) {
    DISCO_ASSIGN_OR_RETURN(t, core::tabular_transform_from_json(it->second, path));
    out.tabular = t;
  }
  return out;
}

}  // namespace

Result<void> run_train(const TrainOptions& o) {
  DISCO_ASSIGN_OR_RETURN(task, load_task(o.task));
  core::TrainingSettings s = task.training;
  if (o.epochs) s.epochs = *o.epochs;
  if (o.batch_size) s.batch_size = *o.batch_size;
  if (o.seed) s.seed = static_cast<uint64_t>(*o.seed);
  if (o.validation_split) s.validation_split = *o.validation_split;
  if (s.epochs <= 0 || s.batch_size <= 0)
    return make_error(Errc::InvalidArgument, "--epochs and --batch-size must be positive");

  auto t_load = Clock::now();
  DISCO_ASSIGN_OR_RETURN(loaded, load_data(task, o.data, Split::Train, std::nullopt));
  core::Dataset all = limited(std::move(loaded.data), o.limit, s.seed);
  Rng split_rng(s.seed);
  DISCO_ASSIGN_OR_RETURN(parts,
                         core::split_validation(all, s.validation_split, split_rng,
                                                all.is_classification() && all.y.rank() == 1));
  std::fprintf(stderr, "task %s: %lld training and %lld validation samples from %s (%s)\n",
               task.id.c_str(), static_cast<long long>(parts.train.size()),
               static_cast<long long>(parts.validation.size()), loaded.source.c_str(),
               format_duration(seconds_since(t_load)).c_str());

  core::Model model = task.make_model();
  DISCO_TRY(core::check_compatible(model, all, loaded.source));
  Rng init_rng(s.seed);
  model.init_weights(init_rng);
  runtime::ThreadPool pool(o.threads);
  DISCO_ASSIGN_OR_RETURN(trainer, core::Trainer::create(model, pool, s.seed + 1));
  std::fprintf(stderr, "model %s: %lld parameters, %s, %d threads\n", model.fingerprint().c_str(),
               static_cast<long long>(model.n_weights()), core::loss_name(model.loss()),
               pool.n_threads());

  Json report = {{"task", task.id}, {"threads", pool.n_threads()}, {"epochs", Json::array()}};
  ProgressBar bar(o.progress);
  double train_seconds = 0;
  int64_t trained_samples = 0;
  for (int64_t e = 1; e <= s.epochs; ++e) {
    auto t0 = Clock::now();
    trainer->begin_epoch(parts.train, s.batch_size);
    bar.start(trainer->epoch_batches(),
              "epoch " + std::to_string(e) + "/" + std::to_string(s.epochs));
    core::BatchStats running;
    while (auto b = trainer->train_next()) {
      running.add(*b);
      char status[64];
      std::snprintf(status, sizeof status, "loss %.4f acc %.4f", running.loss(),
                    running.accuracy());
      bar.update(trainer->epoch_position(), status);
    }
    double secs = seconds_since(t0);
    bar.finish();
    core::EpochLog log = trainer->end_epoch(&parts.validation, s.batch_size);
    train_seconds += secs;
    trained_samples += log.n_samples;
    double rate = static_cast<double>(log.n_samples) / secs;
    std::printf("epoch %lld/%lld  loss %.4f  acc %.4f", static_cast<long long>(e),
                static_cast<long long>(s.epochs), log.loss, log.accuracy);
    Json ej = {{"epoch", e},
               {"loss", log.loss},
               {"accuracy", log.accuracy},
               {"seconds", secs},
               {"samples_per_s", rate}};
    if (log.validation) {
      std::printf("  val_loss %.4f  val_acc %.4f", log.validation->loss, log.validation->accuracy);
      ej["val_loss"] = log.validation->loss;
      ej["val_accuracy"] = log.validation->accuracy;
    }
    std::printf("  %s  %.0f samples/s\n", format_duration(secs).c_str(), rate);
    std::fflush(stdout);
    report["epochs"].push_back(ej);
  }

  std::string out = o.output.empty() ? task.id + ".safetensors" : o.output;
  std::map<std::string, std::string> meta = {{"task", task.id}};
  if (loaded.tabular) meta["tabular_transform"] = core::tabular_transform_to_json(*loaded.tabular);
  std::vector<uint8_t> bytes = core::save_safetensors(model, meta);
  DISCO_TRY(runtime::write_file_atomic(out, as_bytes(bytes)));
  std::printf("saved %s\n", out.c_str());
  report["model"] = out;
  report["train_seconds"] = train_seconds;
  report["samples_per_s"] = static_cast<double>(trained_samples) / train_seconds;
  return write_report(o.report_json, report);
}

namespace {

// What evaluate and predict share: the task, the trained model, the data read the way the
// model was trained, and a trainer over them.
struct InferenceSession {
  core::Task task;
  LoadedModel model;
  core::Dataset data;
  bool labelled = true;
  std::unique_ptr<runtime::ThreadPool> pool;
  std::unique_ptr<core::Trainer> trainer;
};

// unlabelled_ok: accept data without labels (prediction).
Result<std::unique_ptr<InferenceSession>> open_session(const std::string& task_arg,
                                                       const std::string& model_path,
                                                       const std::string& data_arg,
                                                       std::optional<int64_t> limit, int threads,
                                                       bool unlabelled_ok) {
  DISCO_ASSIGN_OR_RETURN(task, load_task(task_arg));
  DISCO_ASSIGN_OR_RETURN(model, load_model(model_path, task));
  Result<LoadedData> read = unlabelled_ok ? load_inputs(task, data_arg, model.tabular)
                                          : load_data(task, data_arg, Split::Test, model.tabular);
  if (!read) return read.error();
  LoadedData loaded = std::move(read).value();
  auto s = std::make_unique<InferenceSession>(
      InferenceSession{std::move(task),
                       std::move(model),
                       {},
                       loaded.labelled,
                       std::make_unique<runtime::ThreadPool>(threads),
                       {}});
  s->data = limited(std::move(loaded.data), limit, s->task.training.seed);
  // Unlabelled data has n_classes 0, so only its sample shape is checked.
  DISCO_TRY(core::check_compatible(s->model.model, s->data, loaded.source));
  DISCO_ASSIGN_OR_RETURN(trainer, core::Trainer::create(s->model.model, *s->pool, 0));
  s->trainer = std::move(trainer);
  return s;
}

}  // namespace

Result<void> run_evaluate(const EvaluateOptions& o) {
  DISCO_ASSIGN_OR_RETURN(session, open_session(o.task, o.model, o.data, o.limit, o.threads, false));
  const core::Task& task = session->task;
  auto& trainer = session->trainer;
  const core::Dataset& data = session->data;
  core::Evaluation ev = trainer->evaluate(data, std::max<int64_t>(task.training.batch_size, 256));
  print_evaluation(ev, task.data.labels);
  Json report = evaluation_json(ev, task.data.labels);
  report["task"] = task.id;
  report["model"] = o.model;
  return write_report(o.report_json, report);
}

Result<void> run_predict(const PredictOptions& o) {
  DISCO_ASSIGN_OR_RETURN(session, open_session(o.task, o.model, o.data, o.limit, o.threads, true));
  const core::Task& task = session->task;
  auto& trainer = session->trainer;
  const core::Dataset& data = session->data;
  core::Tensor out = trainer->predict(data.x, 256);
  int64_t n = out.dim(0), k = out.numel() / std::max<int64_t>(n, 1);
  const std::vector<std::string>& labels = task.data.labels;
  std::string csv = "index";
  bool classify = !labels.empty();
  if (classify) csv += ",predicted,true";
  for (int64_t j = 0; j < k; ++j)
    csv += classify && k == static_cast<int64_t>(labels.size())
               ? ",p_" + labels[static_cast<std::size_t>(j)]
               : ",output_" + std::to_string(j);
  csv += "\n";
  char num[32];
  for (int64_t i = 0; i < n; ++i) {
    const float* row = out.data() + i * k;
    csv += std::to_string(i);
    if (classify) {
      int64_t pred = k == 1 ? (row[0] > 0.5f ? 1 : 0) : std::max_element(row, row + k) - row;
      csv += "," + label_of(labels, pred);
      csv += "," + (session->labelled && data.y.rank() == 1
                        ? label_of(labels, static_cast<int64_t>(data.y[i]))
                        : "");
    }
    for (int64_t j = 0; j < k; ++j) {
      std::snprintf(num, sizeof num, ",%.6g", static_cast<double>(row[j]));
      csv += num;
    }
    csv += "\n";
  }
  if (o.output.empty() || o.output == "-") {
    std::fwrite(csv.data(), 1, csv.size(), stdout);
    return {};
  }
  DISCO_TRY(runtime::write_file_atomic(o.output, csv));
  std::fprintf(stderr, "wrote %lld predictions to %s\n", static_cast<long long>(n),
               o.output.c_str());
  return {};
}

Result<void> run_tasks() {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(DISCO_TASKS_DIR, ec))
    if (entry.path().extension() == ".json") files.push_back(entry.path().string());
  std::sort(files.begin(), files.end());
  for (const std::string& f : files) {
    DISCO_ASSIGN_OR_RETURN(text, runtime::read_text_file(f));
    DISCO_ASSIGN_OR_RETURN(task, core::parse_task_text(text, f));
    std::printf("%-16s %-8s %s\n", task.id.c_str(), core::data_type_name(task.data.type),
                task.title.c_str());
  }
  return {};
}

}  // namespace disco::cli
