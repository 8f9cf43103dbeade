// SPDX-License-Identifier: Apache-2.0
// disco: the command-line entry point. Parses arguments with CLI11 and runs one subcommand; a
// returned Error becomes one line on stderr and exit code 1 (2 for usage errors).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.hpp"

namespace {

int report(const disco::Result<void>& r) {
  if (r) return 0;
  std::fprintf(stderr, "disco: error: %s\n", r.error().message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    CLI::App app{"disco: collaborative machine learning without sharing data"};
    app.require_subcommand(1);

    disco::cli::TrainOptions train;
    auto* t = app.add_subcommand("train", "Train a task's model on local data");
    t->add_option("--task", train.task, "Task JSON file or built-in task id")->required();
    t->add_option("--data", train.data, "Training data (default: the built-in task's data)");
    t->add_option("-o,--output", train.output, "Model file to write (default <task>.safetensors)");
    t->add_option("--epochs", train.epochs, "Override the task's epochs");
    t->add_option("--batch-size", train.batch_size, "Override the task's batch size");
    t->add_option("--seed", train.seed, "Override the task's seed");
    t->add_option("--validation-split", train.validation_split, "Override the validation fraction");
    t->add_option("--limit", train.limit, "Use at most this many samples");
    t->add_option("--threads", train.threads, "Worker threads (0 = all cores)");
    t->add_option("--report-json", train.report_json, "Write a JSON summary here");
    bool no_progress = false;
    t->add_flag("--no-progress", no_progress, "Do not draw a progress bar");

    disco::cli::EvaluateOptions eval;
    auto* e = app.add_subcommand("evaluate", "Report loss, accuracy and a confusion matrix");
    e->add_option("--task", eval.task, "Task JSON file or built-in task id")->required();
    e->add_option("--model", eval.model, "Trained model (.safetensors)")->required();
    e->add_option("--data", eval.data, "Labelled test data (default: the task's test data)");
    e->add_option("--limit", eval.limit, "Use at most this many samples");
    e->add_option("--threads", eval.threads, "Worker threads (0 = all cores)");
    e->add_option("--report-json", eval.report_json, "Write a JSON summary here");

    disco::cli::PredictOptions pred;
    auto* p = app.add_subcommand("predict", "Write predictions as CSV");
    p->add_option("--task", pred.task, "Task JSON file or built-in task id")->required();
    p->add_option("--model", pred.model, "Trained model (.safetensors)")->required();
    p->add_option("--data", pred.data, "Data to predict on (default: the task's test data)");
    p->add_option("-o,--output", pred.output, "CSV file to write (default: stdout)");
    p->add_option("--limit", pred.limit, "Use at most this many samples");
    p->add_option("--threads", pred.threads, "Worker threads (0 = all cores)");

    app.add_subcommand("tasks", "List the built-in tasks");

    CLI11_PARSE(app, argc, argv);
    train.progress = !no_progress;
    if (app.got_subcommand("train")) return report(disco::cli::run_train(train));
    if (app.got_subcommand("evaluate")) return report(disco::cli::run_evaluate(eval));
    if (app.got_subcommand("predict")) return report(disco::cli::run_predict(pred));
    if (app.got_subcommand("tasks")) return report(disco::cli::run_tasks());
    return 2;
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "disco: internal error: %s\n", ex.what());
    return 1;
  }
}
