// SPDX-License-Identifier: Apache-2.0
// Tests of the tabular conversion: standardisation fitted on training data and re-applied,
// one-hot categories, imputation, the error messages for bad cells, labels, the JSON round
// trip, and the built-in penguins CSV end to end.
#include "core/data/tabular.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace disco::core {
namespace {

constexpr const char* kTrain =
    "age,city,score,label\n"
    "10,Bern,1,yes\n"
    "20,Geneva,2,no\n"
    "30,Bern,3,yes\n"
    "NA,?,4,no\n";

CsvTable table(std::string_view text) {
  auto t = parse_csv(text, "t.csv");
  DISCO_CHECK(t.has_value(), "test CSV must parse");
  return std::move(t).value();
}

TabularConfig config() {
  TabularConfig c;
  c.input_columns = {"age", "city"};
  c.categorical_columns = {"city"};
  c.output_columns = {"label"};
  return c;
}

TEST(Tabular, FitsMeanStdCategoriesAndMode) {
  auto t = fit_tabular(table(kTrain), config(), "t.csv");
  ASSERT_TRUE(t.has_value()) << t.error().to_string();
  ASSERT_EQ(t->features.size(), 2u);
  EXPECT_DOUBLE_EQ(t->features[0].mean, 20.0);
  EXPECT_DOUBLE_EQ(t->features[0].std, std::sqrt(200.0 / 3.0));
  EXPECT_EQ(t->features[1].categories, (std::vector<std::string>{"Bern", "Geneva"}));
  EXPECT_EQ(t->features[1].mode, "Bern");
  EXPECT_EQ(t->config.labels, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(t->n_features(), 3);
  EXPECT_EQ(t->feature_names(), (std::vector<std::string>{"age", "city=Bern", "city=Geneva"}));
}

TEST(Tabular, StandardisesOneHotsAndImputes) {
  auto t = fit_tabular(table(kTrain), config(), "t.csv");
  ASSERT_TRUE(t.has_value());
  auto d = apply_tabular(table(kTrain), *t, "t.csv");
  ASSERT_TRUE(d.has_value()) << d.error().to_string();
  ASSERT_EQ(d->x.shape(), Shape({4, 3}));
  const float s = static_cast<float>(std::sqrt(200.0 / 3.0));
  EXPECT_FLOAT_EQ(d->x[0], -10.0f / s);
  EXPECT_FLOAT_EQ(d->x[3], 0.0f);
  EXPECT_FLOAT_EQ(d->x[6], 10.0f / s);
  // Row 1 is Geneva; row 3 has city "?" and takes the mode, Bern, and age NA takes the mean.
  EXPECT_EQ(d->x[4], 0.0f);
  EXPECT_EQ(d->x[5], 1.0f);
  EXPECT_EQ(d->x[9], 0.0f);
  EXPECT_EQ(d->x[10], 1.0f);
  EXPECT_EQ(d->x[11], 0.0f);
  EXPECT_EQ(d->y.shape(), Shape({4}));
  EXPECT_EQ(d->y[0], 1.0f);
  EXPECT_EQ(d->y[1], 0.0f);
  EXPECT_EQ(d->n_classes, 2);
}

TEST(Tabular, AppliesTrainingStatisticsToTestData) {
  auto t = fit_tabular(table(kTrain), config(), "t.csv");
  ASSERT_TRUE(t.has_value());
  auto x = apply_tabular_inputs(table("city,age\nGeneva,20\n"), *t, "p.csv");
  ASSERT_TRUE(x.has_value()) << x.error().to_string();
  EXPECT_EQ(x->shape(), Shape({1, 3}));
  EXPECT_FLOAT_EQ((*x)[0], 0.0f);
  EXPECT_EQ((*x)[2], 1.0f);
}

TEST(Tabular, LeavesValuesRawWithoutStandardisation) {
  TabularConfig c = config();
  c.standardize = false;
  auto t = fit_tabular(table(kTrain), c, "t.csv");
  ASSERT_TRUE(t.has_value());
  auto d = apply_tabular(table(kTrain), *t, "t.csv");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->x[0], 10.0f);
  EXPECT_EQ(d->x[9], 20.0f);  // imputed mean
}

TEST(Tabular, ReportsNonNumberWithLineAndColumn) {
  auto t = fit_tabular(
      table("Age,label\n1,a\n\n2,b\nabc,a\n"),
      [] {
        TabularConfig c;
        c.input_columns = {"Age"};
        c.output_columns = {"label"};
        return c;
      }(),
      "data/x.csv");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().code, Errc::Corruption);
  EXPECT_EQ(t.error().message, "data/x.csv:5: column 'Age': 'abc' is not a number");
}

TEST(Tabular, RejectsMissingValuesWhenAskedTo) {
  TabularConfig c = config();
  c.missing = MissingValues::Reject;
  auto t = fit_tabular(table(kTrain), c, "t.csv");
  ASSERT_FALSE(t.has_value());
  EXPECT_EQ(t.error().message, "t.csv:5: column 'age': missing value");
}

TEST(Tabular, RejectsUnknownLabelFromGivenList) {
  TabularConfig c = config();
  c.labels = {"yes", "no"};
  auto ok = fit_tabular(table(kTrain), c, "t.csv");
  ASSERT_TRUE(ok.has_value());
  auto d = apply_tabular(table("age,city,label\n1,Bern,maybe\n"), *ok, "v.csv");
  ASSERT_FALSE(d.has_value());
  EXPECT_EQ(d.error().code, Errc::InvalidArgument);
  EXPECT_EQ(d.error().message, "v.csv:2: column 'label': unknown label 'maybe' (labels: yes, no)");
}

TEST(Tabular, UnknownCategoryIsAnErrorOrAllZeros) {
  auto t = fit_tabular(table(kTrain), config(), "t.csv");
  ASSERT_TRUE(t.has_value());
  const CsvTable test = table("age,city\n20,Zurich\n");
  auto rejected = apply_tabular_inputs(test, *t, "p.csv");
  ASSERT_FALSE(rejected.has_value());
  EXPECT_EQ(rejected.error().message, "p.csv:2: column 'city': unknown category 'Zurich'");
  TabularTransform zeros = *t;
  zeros.config.unknown_categories = UnknownCategories::Zeros;
  auto x = apply_tabular_inputs(test, zeros, "p.csv");
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ((*x)[1], 0.0f);
  EXPECT_EQ((*x)[2], 0.0f);
}

// Declared categories fix the one-hot layout: a participant whose data lacks one (or has only
// one) still encodes into the task's input width, in the same order.
TEST(Tabular, DeclaredCategoriesFixTheLayout) {
  TabularConfig c = config();
  c.categories["city"] = {"Zurich", "Bern", "Geneva", "Bern"};
  auto t =
      fit_tabular(table("age,city,label\n10,Geneva,yes\n20,Geneva,no\n30,NA,no\n"), c, "t.csv");
  ASSERT_TRUE(t.has_value()) << t.error().to_string();
  EXPECT_EQ(t->features[1].categories, (std::vector<std::string>{"Bern", "Geneva", "Zurich"}));
  EXPECT_EQ(t->features[1].mode, "Geneva");  // the most frequent declared one in this table
  EXPECT_EQ(t->n_features(), 4);
  auto d = apply_tabular(table("age,city,label\n10,Zurich,yes\n20,NA,no\n"), *t, "u.csv");
  ASSERT_TRUE(d.has_value()) << d.error().to_string();
  EXPECT_EQ(d->x[1], 0.0f);
  EXPECT_EQ(d->x[3], 1.0f);  // Zurich: the third one-hot feature, though the fit table had none
  EXPECT_EQ(d->x[6], 1.0f);  // missing: the mode, Geneva
  // A value outside the declared list is an unknown category, already when fitting.
  auto bad = fit_tabular(table("age,city,label\n10,Basel,yes\n"), c, "v.csv");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "v.csv:2: column 'city': unknown category 'Basel'");
  // Only categorical columns may declare categories.
  TabularConfig wrong = config();
  wrong.categories["age"] = {"1"};
  auto refused = fit_tabular(table(kTrain), wrong, "t.csv");
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("'age', which is not a categorical column"),
            std::string::npos);
}

TEST(Tabular, RejectsBadConfigAndMissingColumns) {
  TabularConfig c = config();
  c.output_columns = {"label", "score"};
  EXPECT_EQ(fit_tabular(table(kTrain), c, "t.csv").error().code, Errc::InvalidArgument);
  c = config();
  c.categorical_columns = {"score"};
  EXPECT_EQ(fit_tabular(table(kTrain), c, "t.csv").error().code, Errc::InvalidArgument);
  c = config();
  c.input_columns.push_back("height");
  auto missing = fit_tabular(table(kTrain), c, "t.csv");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::NotFound);
  EXPECT_EQ(missing.error().message,
            "t.csv: no column 'height' (columns: age, city, score, label)");
}

TEST(Tabular, SortsNumericLabelsNumerically) {
  TabularConfig c;
  c.input_columns = {"x"};
  c.output_columns = {"y"};
  auto t = fit_tabular(table("x,y\n1,10\n2,2\n3,1\n"), c, "t.csv");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->config.labels, (std::vector<std::string>{"1", "2", "10"}));
}

TEST(Tabular, BuildsRegressionTargets) {
  TabularConfig c;
  c.input_columns = {"age"};
  c.output_columns = {"score", "age2"};
  c.classification = false;
  auto t = fit_tabular(table("age,score,age2\n1,0.5,2\n3,1.5,6\n"), c, "r.csv");
  ASSERT_TRUE(t.has_value()) << t.error().to_string();
  auto d = apply_tabular(table("age,score,age2\n1,0.5,2\n3,1.5,6\n"), *t, "r.csv");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->n_classes, 0);
  EXPECT_EQ(d->y.shape(), Shape({2, 2}));
  EXPECT_EQ(d->y[2], 1.5f);
  EXPECT_EQ(d->y[3], 6.0f);
}

TEST(TabularJson, RoundTripsExactly) {
  auto t = fit_tabular(table(kTrain), config(), "t.csv");
  ASSERT_TRUE(t.has_value());
  const std::string json = tabular_transform_to_json(*t);
  auto back = tabular_transform_from_json(json, "prep.json");
  ASSERT_TRUE(back.has_value()) << back.error().to_string();
  EXPECT_EQ(back->features.size(), 2u);
  EXPECT_EQ(back->features[0].std, t->features[0].std);  // bit-exact
  EXPECT_EQ(back->features[1].categories, t->features[1].categories);
  EXPECT_EQ(back->config.labels, t->config.labels);
  EXPECT_EQ(back->config.input_columns, t->config.input_columns);
  EXPECT_EQ(back->config.categorical_columns, t->config.categorical_columns);
  EXPECT_EQ(tabular_transform_to_json(*back), json);
}

TEST(TabularJson, RejectsMalformedDocuments) {
  EXPECT_EQ(tabular_transform_from_json("{", "p.json").error().code, Errc::Corruption);
  EXPECT_EQ(tabular_transform_from_json("[]", "p.json").error().message,
            "p.json: not a JSON object");
  EXPECT_EQ(tabular_transform_from_json(R"({"format": "other"})", "p.json").error().code,
            Errc::InvalidArgument);
  auto t = fit_tabular(table(kTrain), config(), "t.csv");
  ASSERT_TRUE(t.has_value());
  std::string json = tabular_transform_to_json(*t);
  const std::size_t at = json.find("\"mean\"");
  ASSERT_NE(at, std::string::npos);
  json.replace(at, 6, "\"meen\"");
  auto bad = tabular_transform_from_json(json, "p.json");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message, "p.json: field 'mean' missing or not a number");
}

TEST(Tabular, LoadsTheBuiltInPenguinsData) {
  std::ifstream in(std::string(DISCO_SOURCE_DIR) + "/tasks/data/penguins.csv", std::ios::binary);
  ASSERT_TRUE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  auto csv = parse_csv(text.str(), "penguins.csv");
  ASSERT_TRUE(csv.has_value()) << csv.error().to_string();
  ASSERT_EQ(csv->rows.size(), 344u);
  TabularConfig c;
  c.input_columns = {
      "island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex"};
  c.categorical_columns = {"island", "sex"};
  c.output_columns = {"species"};
  auto t = fit_tabular(*csv, c, "penguins.csv");
  ASSERT_TRUE(t.has_value()) << t.error().to_string();
  auto d = apply_tabular(*csv, *t, "penguins.csv");
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->x.shape(), Shape({344, 9}));
  EXPECT_EQ(d->label_names, (std::vector<std::string>{"Adelie", "Chinstrap", "Gentoo"}));
  EXPECT_EQ(class_counts(*d), (std::vector<int64_t>{152, 68, 124}));
  for (float v : d->x.span()) ASSERT_TRUE(std::isfinite(v));
}

}  // namespace
}  // namespace disco::core
