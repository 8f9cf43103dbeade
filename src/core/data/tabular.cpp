// SPDX-License-Identifier: Apache-2.0
#include "core/data/tabular.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/data/parse_util.hpp"

namespace disco::core {
namespace {

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool is_missing(std::string_view cell, const TabularConfig& config) {
  return contains(config.missing_markers, trim(cell));
}

Error cell_error(Errc code, std::string_view source, const CsvRow& row, std::string_view column,
                 std::string_view what) {
  return line_error(code, source, row.line,
                    "column " + in_quotes(column) + ": " + std::string(what));
}

Result<std::vector<std::size_t>> find_columns(const CsvTable& table,
                                              const std::vector<std::string>& names,
                                              std::string_view source) {
  std::vector<std::size_t> indices;
  for (const std::string& name : names) {
    DISCO_ASSIGN_OR_RETURN(i, table.require_column(name, source));
    indices.push_back(i);
  }
  return indices;
}

Result<void> check_config(const TabularConfig& c) {
  if (c.input_columns.empty()) return make_error(Errc::InvalidArgument, "no input columns");
  if (c.output_columns.empty()) return make_error(Errc::InvalidArgument, "no output column");
  if (c.classification && c.output_columns.size() != 1)
    return make_error(Errc::InvalidArgument,
                      "a classification task needs exactly one output column");
  std::vector<std::string> all = c.input_columns;
  all.insert(all.end(), c.output_columns.begin(), c.output_columns.end());
  for (std::size_t i = 0; i < all.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (all[i] == all[j])
        return make_error(Errc::InvalidArgument, "column " + in_quotes(all[i]) + " is used twice");
  for (const std::string& name : c.categorical_columns)
    if (!contains(c.input_columns, name))
      return make_error(Errc::InvalidArgument,
                        "categorical column " + in_quotes(name) + " is not an input column");
  for (const auto& [name, categories] : c.categories)
    if (!contains(c.categorical_columns, name))
      return make_error(Errc::InvalidArgument, "declared categories for " + in_quotes(name) +
                                                   ", which is not a categorical column");
  return {};
}

// Sorted numerically when every label is a number ("2" < "10"), else bytewise.
void sort_labels(std::vector<std::string>& labels) {
  const bool numeric = std::all_of(labels.begin(), labels.end(), [](const std::string& s) {
    return parse_number(s).has_value();
  });
  if (numeric)
    std::sort(labels.begin(), labels.end(), [](const std::string& a, const std::string& b) {
      return *parse_number(a) < *parse_number(b);
    });
  else
    std::sort(labels.begin(), labels.end());
}

Result<TabularFeature> fit_numeric(const CsvTable& table, std::size_t col, const std::string& name,
                                   const TabularConfig& config, std::string_view source) {
  double sum = 0.0;
  int64_t count = 0;
  std::vector<double> values;
  values.reserve(table.rows.size());
  for (const CsvRow& row : table.rows) {
    const std::string& cell = row.cells[col];
    if (is_missing(cell, config)) {
      if (config.missing == MissingValues::Reject)
        return cell_error(Errc::Corruption, source, row, name, "missing value");
      continue;
    }
    const std::optional<double> v = parse_number(cell);
    if (!v)
      return cell_error(Errc::Corruption, source, row, name, in_quotes(cell) + " is not a number");
    values.push_back(*v);
    sum += *v;
    ++count;
  }
  if (count == 0)
    return line_error(Errc::InvalidArgument, source, 0,
                      "column " + in_quotes(name) + " has no values");
  TabularFeature f;
  f.name = name;
  f.mean = sum / static_cast<double>(count);
  double sq = 0.0;
  for (double v : values) sq += (v - f.mean) * (v - f.mean);
  const double std = std::sqrt(sq / static_cast<double>(count));
  f.std = std > 0.0 ? std : 1.0;
  return f;
}

Result<TabularFeature> fit_categorical(const CsvTable& table, std::size_t col,
                                       const std::string& name, const TabularConfig& config,
                                       std::string_view source) {
  std::map<std::string, int64_t> counts;
  for (const CsvRow& row : table.rows) {
    const std::string& cell = row.cells[col];
    if (is_missing(cell, config)) {
      if (config.missing == MissingValues::Reject)
        return cell_error(Errc::Corruption, source, row, name, "missing value");
      continue;
    }
    ++counts[std::string(trim(cell))];
  }
  TabularFeature f;
  f.name = name;
  f.categorical = true;
  if (const auto declared = config.categories.find(name); declared != config.categories.end()) {
    // The declared layout; values outside it are unknown categories (apply_tabular decides).
    f.categories = declared->second;
    std::sort(f.categories.begin(), f.categories.end());
    f.categories.erase(std::unique(f.categories.begin(), f.categories.end()), f.categories.end());
    if (f.categories.empty())
      return line_error(Errc::InvalidArgument, source, 0,
                        "column " + in_quotes(name) + " has no declared categories");
  } else {
    if (counts.empty())
      return line_error(Errc::InvalidArgument, source, 0,
                        "column " + in_quotes(name) + " has no values");
    for (const auto& entry : counts) f.categories.push_back(entry.first);
  }
  // The mode: the most frequent category of the table (ties: the smallest, as categories are
  // sorted); the first category when the table holds none of them (declared categories only).
  f.mode = f.categories.front();
  int64_t best = 0;
  for (const std::string& category : f.categories) {
    const auto it = counts.find(category);
    if (it != counts.end() && it->second > best) {
      best = it->second;
      f.mode = category;
    }
  }
  return f;
}

// Writes one row's features into out[0 .. n_features).
Result<void> encode_row(const CsvRow& row, std::span<const std::size_t> cols,
                        const TabularTransform& t, std::string_view source, float* out) {
  const TabularConfig& config = t.config;
  for (std::size_t k = 0; k < t.features.size(); ++k) {
    const TabularFeature& f = t.features[k];
    const std::string& cell = row.cells[cols[k]];
    const bool missing = is_missing(cell, config);
    if (missing && config.missing == MissingValues::Reject)
      return cell_error(Errc::Corruption, source, row, f.name, "missing value");
    if (!f.categorical) {
      double v = f.mean;
      if (!missing) {
        const std::optional<double> parsed = parse_number(cell);
        if (!parsed)
          return cell_error(Errc::Corruption, source, row, f.name,
                            in_quotes(cell) + " is not a number");
        v = *parsed;
      }
      *out++ = static_cast<float>(config.standardize ? (v - f.mean) / f.std : v);
      continue;
    }
    const std::string_view value = missing ? std::string_view(f.mode) : trim(cell);
    const auto it = std::lower_bound(f.categories.begin(), f.categories.end(), value);
    const bool known = it != f.categories.end() && *it == value;
    if (!known && config.unknown_categories == UnknownCategories::Reject)
      return cell_error(Errc::InvalidArgument, source, row, f.name,
                        "unknown category " + in_quotes(value));
    for (std::size_t c = 0; c < f.categories.size(); ++c) out[c] = 0.0f;
    if (known) out[it - f.categories.begin()] = 1.0f;
    out += f.categories.size();
  }
  return {};
}

Result<float> encode_label(const CsvRow& row, std::size_t col, const TabularTransform& t,
                           std::string_view source) {
  const std::string& name = t.config.output_columns[0];
  const std::string& cell = row.cells[col];
  if (is_missing(cell, t.config))
    return cell_error(Errc::Corruption, source, row, name, "missing label");
  const std::string_view value = trim(cell);
  const auto& labels = t.config.labels;
  const auto it = std::find(labels.begin(), labels.end(), value);
  if (it == labels.end()) {
    std::string known;
    for (std::size_t i = 0; i < labels.size() && i < 20; ++i) known += (i ? ", " : "") + labels[i];
    return cell_error(Errc::InvalidArgument, source, row, name,
                      "unknown label " + in_quotes(value) + " (labels: " + known + ")");
  }
  return static_cast<float>(it - labels.begin());
}

}  // namespace

int64_t TabularTransform::n_features() const {
  int64_t n = 0;
  for (const TabularFeature& f : features)
    n += f.categorical ? static_cast<int64_t>(f.categories.size()) : 1;
  return n;
}

std::vector<std::string> TabularTransform::feature_names() const {
  std::vector<std::string> names;
  for (const TabularFeature& f : features) {
    if (!f.categorical) names.push_back(f.name);
    for (const std::string& c : f.categories) names.push_back(f.name + "=" + c);
  }
  return names;
}

Result<TabularTransform> fit_tabular(const CsvTable& table, const TabularConfig& config,
                                     std::string_view source) {
  if (auto ok = check_config(config); !ok)
    return line_error(Errc::InvalidArgument, source, 0, ok.error().message);
  if (table.rows.empty()) return line_error(Errc::InvalidArgument, source, 0, "no data rows");
  DISCO_ASSIGN_OR_RETURN(input_cols, find_columns(table, config.input_columns, source));
  DISCO_ASSIGN_OR_RETURN(output_cols, find_columns(table, config.output_columns, source));
  TabularTransform t;
  t.config = config;
  for (std::size_t k = 0; k < input_cols.size(); ++k) {
    const std::string& name = config.input_columns[k];
    Result<TabularFeature> f = contains(config.categorical_columns, name)
                                   ? fit_categorical(table, input_cols[k], name, config, source)
                                   : fit_numeric(table, input_cols[k], name, config, source);
    if (!f) return f.error();
    t.features.push_back(std::move(f).value());
  }
  if (config.classification && config.labels.empty()) {
    std::vector<std::string> labels;
    for (const CsvRow& row : table.rows) {
      const std::string& cell = row.cells[output_cols[0]];
      if (is_missing(cell, config))
        return cell_error(Errc::Corruption, source, row, config.output_columns[0], "missing label");
      if (!contains(labels, trim(cell))) labels.emplace_back(trim(cell));
    }
    sort_labels(labels);
    t.config.labels = std::move(labels);
  }
  // Validates labels and targets now so a bad training table fails at fit time.
  DISCO_TRY(apply_tabular(table, t, source));
  return t;
}

Result<Tensor> apply_tabular_inputs(const CsvTable& table, const TabularTransform& transform,
                                    std::string_view source) {
  DISCO_ASSIGN_OR_RETURN(cols, find_columns(table, transform.config.input_columns, source));
  const int64_t n = static_cast<int64_t>(table.rows.size());
  const int64_t width = transform.n_features();
  Tensor x = Tensor::empty({n, width});
  for (int64_t i = 0; i < n; ++i)
    DISCO_TRY(encode_row(table.rows[static_cast<std::size_t>(i)], cols, transform, source,
                         x.data() + i * width));
  return x;
}

Result<Dataset> apply_tabular(const CsvTable& table, const TabularTransform& transform,
                              std::string_view source) {
  const TabularConfig& config = transform.config;
  DISCO_ASSIGN_OR_RETURN(x, apply_tabular_inputs(table, transform, source));
  DISCO_ASSIGN_OR_RETURN(out_cols, find_columns(table, config.output_columns, source));
  const auto n = static_cast<int64_t>(table.rows.size());
  Dataset d;
  if (config.classification) {
    d.y = Tensor::empty({n});
    for (int64_t i = 0; i < n; ++i) {
      DISCO_ASSIGN_OR_RETURN(label, encode_label(table.rows[static_cast<std::size_t>(i)],
                                                 out_cols[0], transform, source));
      d.y[i] = label;
    }
    d.n_classes = static_cast<int64_t>(config.labels.size());
    d.label_names = config.labels;
  } else {
    const auto n_out = static_cast<int64_t>(out_cols.size());
    d.y = Tensor::empty({n, n_out});
    for (int64_t i = 0; i < n; ++i) {
      const CsvRow& row = table.rows[static_cast<std::size_t>(i)];
      for (int64_t k = 0; k < n_out; ++k) {
        const std::string& name = config.output_columns[static_cast<std::size_t>(k)];
        const std::string& cell = row.cells[out_cols[static_cast<std::size_t>(k)]];
        if (is_missing(cell, config))
          return cell_error(Errc::Corruption, source, row, name, "missing target value");
        const std::optional<double> v = parse_number(cell);
        if (!v)
          return cell_error(Errc::Corruption, source, row, name,
                            in_quotes(cell) + " is not a number");
        d.y[i * n_out + k] = static_cast<float>(*v);
      }
    }
  }
  d.x = std::move(x);
  return d;
}

}  // namespace disco::core
