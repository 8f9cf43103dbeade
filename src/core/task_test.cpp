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
  t = builtin("fashion-mnist");
  t["model"]["layers"][0]["filters"] = "eight";
  EXPECT_NE(error_of(t).find("model.layers[0].filters: must be an integer"), std::string::npos);
}

TEST(Task, ReportsTheSourceOfInvalidJson) {
  Result<Task> t = parse_task_text("{\"id\": ", "mytask.json");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, Errc::Corruption);
  EXPECT_EQ(t.error().message, "mytask.json: invalid JSON");
}

}  // namespace
}  // namespace disco::core
