// SPDX-License-Identifier: Apache-2.0
// Tabular conversion: a CsvTable plus a column configuration → a Dataset of feature rows.
// Fitting and applying are separate so training, validation, test and predict data all go
// through the same transform: fit_tabular() learns, from the training table only, each numeric
// column's mean and standard deviation and each categorical column's categories and mode; then
// apply_tabular() turns any table into features with those values. The fitted transform
// round-trips through JSON so it can be saved next to a model.
// Feature layout: input columns in config order; a numeric column gives one feature, a
// categorical one a one-hot block with one feature per fitted category (sorted).
// Missing values are cells equal (after trimming) to one of missing_markers ("", "NA", "?"):
// with MissingValues::Impute a numeric cell takes the fitted mean (0 after standardisation)
// and a categorical cell the fitted mode; with MissingValues::Reject they are errors. Labels and
// regression targets are never imputed.
// Categories unseen at fit time: UnknownCategories::Reject makes them an error,
// UnknownCategories::Zeros encodes them as an all-zeros block.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.hpp"
#include "core/data/csv.hpp"
#include "core/data/dataset.hpp"
#include "core/tensor.hpp"

namespace disco::core {

enum class MissingValues { Impute, Reject };
enum class UnknownCategories { Reject, Zeros };

struct TabularConfig {
  std::vector<std::string> input_columns;        // feature columns, in feature order
  std::vector<std::string> categorical_columns;  // those inputs to one-hot encode; others numeric
  std::vector<std::string> output_columns;       // classification: exactly one (the label)
  bool classification = true;
  // Class names in index order. Empty: the distinct labels of the fit table, sorted
  // (numerically when they are all numbers, else bytewise).
  std::vector<std::string> labels;
  MissingValues missing = MissingValues::Impute;
  bool standardize = true;  // z-score numeric inputs with the fitted mean / std
  UnknownCategories unknown_categories = UnknownCategories::Reject;
  std::vector<std::string> missing_markers = {"", "NA", "?"};
  // Declared categories of some categorical columns (the task's data.tabular.categories): such a
  // column gets exactly these one-hot features, in sorted order, whatever the fit table holds,
  // so participants of a federated task agree on the model's input layout even when one of
  // them lacks a category. Its mode is the most frequent declared category of the table (the
  // first declared one when the table has none).
  std::map<std::string, std::vector<std::string>> categories;
};

// One input column after fitting.
struct TabularFeature {
  std::string name;
  bool categorical = false;
  double mean = 0.0;  // numeric: mean of the fit table's values (the imputation value)
  double std = 1.0;   // numeric: population std of those values; 1 if constant
  std::vector<std::string> categories;  // categorical: sorted fitted categories (one-hot order)
  std::string mode;                     // categorical: most frequent category (ties: smallest)
};

// A fitted transform: the config (with `labels` filled in for classification) and one
// TabularFeature per input column, in order. Plain value; cheap to copy.
struct TabularTransform {
  TabularConfig config;
  std::vector<TabularFeature> features;

  // Width of x: numeric columns count 1, categorical ones their number of categories.
  int64_t n_features() const;
  // One name per feature: "bill_length_mm", "island=Biscoe", ...
  std::vector<std::string> feature_names() const;
};

// Fits the transform on a training table. `source` names the table in errors.
// Errors: InvalidArgument for a bad config (no input or output column, a classification task
// without exactly one output, a categorical column that is not an input, a column used twice,
// an empty table, a numeric column with no value at all); NotFound for a configured column that
// is absent from the table; Corruption "path:17: column 'Age': 'abc' is not a number" and
// "path:17: column 'Age': missing value" (Reject policy, or any missing label/target);
// InvalidArgument "path:17: column 'species': unknown label 'x'" when config.labels is given.
Result<TabularTransform> fit_tabular(const CsvTable& table, const TabularConfig& config,
                                     std::string_view source);

// Applies a fitted transform: x is (n, n_features()); y is (n,) class indices with n_classes ==
// labels.size() and label_names == labels, or (n, n_outputs) targets for regression.
// Errors: as fit_tabular for data, plus InvalidArgument "path:17: column 'island': unknown
// category 'x'" under UnknownCategories::Reject.
Result<Dataset> apply_tabular(const CsvTable& table, const TabularTransform& transform,
                              std::string_view source);

// Inputs only, for data without the output columns (prediction): x (n, n_features()).
// Errors: as apply_tabular, without those about outputs.
Result<Tensor> apply_tabular_inputs(const CsvTable& table, const TabularTransform& transform,
                                    std::string_view source);

// JSON form of a transform ({"format": "disco-tabular-1", ...}, see docs/data-formats.md).
// Numbers are written so they read back bit-exactly.
std::string tabular_transform_to_json(const TabularTransform& transform);

// Reads tabular_transform_to_json's output back.
// Errors: Corruption naming `source` and the offending key when the text is not valid JSON or a
// field is missing or has the wrong type; InvalidArgument for an unknown format version.
Result<TabularTransform> tabular_transform_from_json(std::string_view text,
                                                     std::string_view source);

}  // namespace disco::core
