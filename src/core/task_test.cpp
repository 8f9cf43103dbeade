// SPDX-License-Identifier: Apache-2.0
#include "core/task.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace disco::core {
namespace {

std::string read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

Json builtin(const char* id) {
  return Json::parse(read(std::string(DISCO_SOURCE_DIR) + "/tasks/" + id + ".json"));
}

std::string error_of(const Json& doc) {
  Result<Task> t = parse_task(doc);
  return t ? "" : t.error().message;
}

TEST(Task, ParsesTheBuiltInTasks) {
  Result<Task> fm = parse_task(builtin("fashion-mnist"));
  ASSERT_TRUE(fm.has_value()) << fm.error().message;
  EXPECT_EQ(fm->data.type, DataType::Image);
  EXPECT_EQ(fm->data.labels.size(), 10u);
  EXPECT_EQ(fm->training.batch_size, 64);
  EXPECT_EQ(fm->make_model().n_weights(), 54986);
  Result<Task> p = parse_task(builtin("penguins"));
  ASSERT_TRUE(p.has_value()) << p.error().message;
  EXPECT_EQ(p->data.tabular.categorical_columns, (std::vector<std::string>{"island", "sex"}));
  EXPECT_EQ(p->data.tabular.categories.at("island"),
            (std::vector<std::string>{"Biscoe", "Dream", "Torgersen"}));
  EXPECT_EQ(p->data.tabular.categories.at("sex"), (std::vector<std::string>{"female", "male"}));
}

TEST(Task, RejectsBadFieldsByName) {
  Json t = builtin("fashion-mnist");
  t["training"]["batch_size"] = 0;
  EXPECT_EQ(error_of(t), "training.batch_size: must be a positive integer, got 0");
  t = builtin("fashion-mnist");
  t["id"] = "has space";
  EXPECT_NE(error_of(t).find("id: may contain only"), std::string::npos);
  t = builtin("fashion-mnist");
  t["data"]["image"]["channels"] = 3;
  EXPECT_NE(error_of(t).find("model.input_shape: (28, 28, 1) does not match data.image"),
            std::string::npos);
  t = builtin("fashion-mnist");
  t["data"]["labels"].erase(9);
  EXPECT_NE(error_of(t).find("outputs 10 values but data.labels has 9"), std::string::npos);
  t = builtin("fashion-mnist");
  t["training"]["validation_split"] = 1.0;
  EXPECT_EQ(error_of(t), "training.validation_split: must be in [0, 1)");
  t = builtin("fashion-mnist");
  t["federation"]["scheme"] = "p2p";
  EXPECT_NE(error_of(t).find("federation.scheme"), std::string::npos);
  t = builtin("penguins");
  t["data"]["tabular"]["categorical_columns"] = {"color"};
  EXPECT_EQ(error_of(t), "data.tabular.categorical_columns: 'color' is not an input column");
  t = builtin("penguins");
  t["data"]["tabular"]["categories"]["year"] = {"2007"};
  EXPECT_EQ(error_of(t), "data.tabular.categories.year: is not a categorical column");
  t = builtin("penguins");
  t["data"]["tabular"]["categories"]["sex"] = Json::array();
  EXPECT_EQ(error_of(t), "data.tabular.categories.sex: must list at least one category");
  t = builtin("fashion-mnist");
  t["model"]["layers"][0]["filters"] = "eight";
  EXPECT_NE(error_of(t).find("model.layers[0].filters: must be an integer"), std::string::npos);
}

TEST(Task, ParsesFederationSettings) {
  Json t = builtin("penguins");
  t["training"]["epochs"] = 6;
  t["training"]["round_duration"] = 2;
  t["federation"] = Json::parse(R"({"scheme": "federated", "min_participants": 3,
      "fraction": 0.5, "round_timeout_s": 30, "aggregation": "async", "buffer_size": 4,
      "staleness": {"policy": "hinge", "max_staleness": 3},
      "server_optimizer": {"type": "fedadam", "lr": 0.1}, "proximal_mu": 0.01,
      "summation": "fixed_point"})");
  Result<Task> r = parse_task(t);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const FederationSettings& f = r->federation;
  EXPECT_EQ(f.scheme, "federated");
  EXPECT_EQ(f.min_participants, 3);
  EXPECT_DOUBLE_EQ(f.fraction, 0.5);
  EXPECT_DOUBLE_EQ(f.round_timeout_s, 30.0);
  EXPECT_EQ(f.aggregation, "async");
  EXPECT_EQ(f.buffer_size, 4);
  EXPECT_EQ(f.staleness.kind, StalenessPolicyKind::Hinge);
  EXPECT_EQ(f.staleness.max_staleness, std::optional<int64_t>(3));
  EXPECT_EQ(f.server_optimizer.type, ServerOptimizerType::FedAdam);
  EXPECT_DOUBLE_EQ(f.server_optimizer.lr, 0.1);
  EXPECT_DOUBLE_EQ(f.proximal_mu, 0.01);
  EXPECT_EQ(f.summation, "fixed_point");
  EXPECT_EQ(r->n_rounds(), 3);
}

TEST(Task, DefaultsFederationSettings) {
  Json t = builtin("penguins");
  t.erase("federation");
  Result<Task> r = parse_task(t);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  const FederationSettings& f = r->federation;
  EXPECT_EQ(f.scheme, "local");
  EXPECT_EQ(f.min_participants, 1);
  EXPECT_DOUBLE_EQ(f.fraction, 1.0);
  EXPECT_DOUBLE_EQ(f.round_timeout_s, 0.0);
  EXPECT_EQ(f.aggregation, "sync");
  EXPECT_EQ(f.buffer_size, 0);
  EXPECT_EQ(f.server_optimizer.type, ServerOptimizerType::FedAvg);
  EXPECT_DOUBLE_EQ(f.proximal_mu, 0.0);
  EXPECT_EQ(f.summation, "float64");
  EXPECT_EQ(r->n_rounds(), r->training.epochs);
}

TEST(Task, RejectsBadFederationFieldsByName) {
  auto with = [](const char* key, Json value) {
    Json t = builtin("penguins");
    t["federation"][key] = std::move(value);
    return error_of(t);
  };
  EXPECT_EQ(with("fraction", 0), "federation.fraction: must be in (0, 1], got 0");
  EXPECT_EQ(with("fraction", 1.5), "federation.fraction: must be in (0, 1], got 1.5");
  EXPECT_EQ(with("round_timeout_s", -1),
            "federation.round_timeout_s: must be a finite number >= 0, got -1");
  EXPECT_EQ(with("aggregation", "fedbuff"),
            "federation.aggregation: must be \"sync\" or \"async\", got \"fedbuff\"");
  EXPECT_EQ(with("buffer_size", -2), "federation.buffer_size: must be >= 0, got -2");
  EXPECT_EQ(with("summation", "exact"),
            "federation.summation: must be \"float64\" or \"fixed_point\", got \"exact\"");
  EXPECT_EQ(with("proximal_mu", -0.5),
            "federation.proximal_mu: must be a finite number >= 0, got -0.5");
  EXPECT_EQ(with("min_participants", 0),
            "federation.min_participants: must be a positive integer, got 0");
  EXPECT_NE(
      with("staleness", Json::parse(R"({"exponent": -1})")).find("federation.staleness.exponent"),
      std::string::npos);
  EXPECT_NE(
      with("server_optimizer", Json::parse(R"({"lr": 0})")).find("federation.server_optimizer.lr"),
      std::string::npos);
  EXPECT_NE(with("rounds", 3).find("federation.rounds: unknown field"), std::string::npos);
}

TEST(Task, ReportsTheSourceOfInvalidJson) {
  Result<Task> t = parse_task_text("{\"id\": ", "mytask.json");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, Errc::Corruption);
  EXPECT_EQ(t.error().message, "mytask.json: invalid JSON");
}

}  // namespace
}  // namespace disco::core
