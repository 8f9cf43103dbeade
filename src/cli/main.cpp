// SPDX-License-Identifier: Apache-2.0
// disco: the command-line entry point. Parses arguments with CLI11 and runs one subcommand; a
// returned Error becomes one line on stderr and exit code 1 (2 for usage errors).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "cli/commands.hpp"
#include "cli/federated.hpp"
#include "cli/serve.hpp"
#include "cli/simulate.hpp"

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
    disco::cli::FederatedOptions fed;
    t->add_option("--server", fed.server, "Join the task on this disco server (http://host:port)");
    t->add_option("--client-id", fed.client_id, "With --server: rejoin as this client id");
    t->add_option("--join-token", fed.join_token, "With --server: the task's join token");

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
    disco::cli::ServeOptions serve;
    auto* sv = app.add_subcommand("serve", "Run the federated server with the built-in tasks");
    sv->add_option("--host", serve.host, "Address to listen on")->capture_default_str();
    sv->add_option("--port", serve.port, "TCP port (0 = any free port)")->capture_default_str();
    sv->add_option("--data-dir", serve.data_dir, "Where tasks, rounds and models are kept")
        ->capture_default_str();
    sv->add_option("--tasks-dir", serve.tasks_dir, "Built-in task files (default: disco's)");
    sv->add_option("--web-dir", serve.web_dir, "Static web app to serve (default: disco's)");
    sv->add_option("--join-token", serve.join_tokens, "TASK=TOKEN: only holders may join TASK");
    sv->add_option("--max-message-mb", serve.max_message_mb, "Largest protocol message")
        ->capture_default_str();

    disco::cli::SimulateOptions sim;
    bool sim_no_progress = false;
    auto* sm = app.add_subcommand("simulate", "Simulate federated training among N clients");
    sm->add_option("--task", sim.task, "Task JSON file or built-in task id")->required();
    sm->add_option("--clients", sim.n_clients, "Number of simulated clients")->required();
    sm->add_option("--data", sim.data, "Training data to split (default: the task's data)");
    sm->add_option("--split", sim.split, "iid or dirichlet:ALPHA (label skew)")
        ->capture_default_str();
    sm->add_option("--seed", sim.seed, "Override the task's seed");
    sm->add_option("--rounds", sim.rounds, "Override the task's number of rounds");
    sm->add_option("--test-data", sim.test_data, "Test data (default: the data's test split)");
    sm->add_option("--limit", sim.limit, "Use at most this many training samples");
    sm->add_option("--limit-test", sim.limit_test, "Use at most this many test samples");
    sm->add_option("-o,--output", sim.output, "Final model (default <task>-simulated.safetensors)");
    sm->add_option("--threads", sim.threads, "Worker threads (0 = all cores)");
    sm->add_option("--report-json", sim.report_json, "Write a JSON summary here");
    sm->add_flag("--no-progress", sim_no_progress, "Do not draw a progress bar");
    sm->add_option("--server", sim.server, "Run the clients against this server (http://...)");
    sm->add_option("--join-token", sim.join_token, "With --server: the task's join token");

    CLI11_PARSE(app, argc, argv);
    sim.progress = !sim_no_progress;
    train.progress = !no_progress;
    if (app.got_subcommand("train")) {
      return report(fed.server.empty() ? disco::cli::run_train(train)
                                       : disco::cli::run_federated_train(train, fed));
    }
    if (app.got_subcommand("evaluate")) return report(disco::cli::run_evaluate(eval));
    if (app.got_subcommand("predict")) return report(disco::cli::run_predict(pred));
    if (app.got_subcommand("tasks")) return report(disco::cli::run_tasks());
    if (app.got_subcommand("serve")) return report(disco::cli::run_serve(serve));
    if (app.got_subcommand("simulate")) return report(disco::cli::run_simulate(sim));
    return 2;
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "disco: internal error: %s\n", ex.what());
    return 1;
  }
}
