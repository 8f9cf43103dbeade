// SPDX-License-Identifier: Apache-2.0
// Dataset: a whole in-memory data set as two row-aligned tensors, plus the pure operations the
// trainer needs on it (seeded shuffle, validation split, subsets, batching, class counts). Every
// parser in src/core/data produces one. Randomness comes only from the Rng passed in, so a
// shuffle or split is the same natively and in WASM for the same seed. Rows are copied, never
// shared: a subset owns its tensors.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/base/result.hpp"
#include "core/base/rng.hpp"
#include "core/tensor.hpp"

namespace disco::core {

// Invariants: x.dim(0) == y.dim(0) == size().
// - classification (n_classes > 0): y holds class indices stored as floats in [0, n_classes):
//   y is (n,) for one label per sample, or (n, T) for per-position targets (text);
//   label_names has n_classes entries (may be empty for text, whose classes are token ids).
// - regression / multi-output (n_classes == 0): y is (n, n_outputs).
// x is (n, ...sample shape): images (n, h, w, c) in [0, 1]; tabular (n, n_features);
// text (n, T) token ids as floats.
// Move-only like Tensor; copy with clone().
struct Dataset {
  Tensor x;
  Tensor y;
  int64_t n_classes = 0;
  std::vector<std::string> label_names;

  int64_t size() const { return x.rank() > 0 ? x.dim(0) : 0; }
  bool is_classification() const { return n_classes > 0; }
  // Shape of one sample of x / of y (the shape without the first dimension).
  Shape sample_shape() const { return x.shape().drop_first(); }
  Shape target_shape() const { return y.shape().drop_first(); }
  Dataset clone() const;
};

// A uniformly random permutation of 0..n-1 (Fisher-Yates driven by rng.uniform_int), identical
// on every platform for the same Rng state. Requires 0 <= n < 2^32.
std::vector<int64_t> permutation(int64_t n, Rng& rng);

// A new Dataset holding the rows `indices` of `data`, in that order (repeats allowed).
// Every index must be in [0, data.size()) (DISCO_CHECK: a bad index is a bug).
Dataset subset(const Dataset& data, std::span<const int64_t> indices);

// `data` with its rows permuted by permutation(data.size(), rng).
Dataset shuffled(const Dataset& data, Rng& rng);

struct TrainValidation {
  Dataset train;
  Dataset validation;
};

// Splits off round(fraction * n) rows as validation, chosen by one permutation drawn from rng;
// both parts come out in that shuffled order. With `stratify` (classification with y of shape
// (n,) only) each class contributes round(fraction * count) rows, so class proportions are kept.
// fraction 0 gives an empty validation set (size 0, same sample shape).
// Errors: InvalidArgument if fraction is not in [0, 1), or if stratify is asked for a dataset
// that is not single-label classification.
Result<TrainValidation> split_validation(const Dataset& data, double fraction, Rng& rng,
                                         bool stratify = false);

// Number of samples per class (size n_classes) for single-label classification data; counts
// of out-of-range labels are dropped. Empty for regression.
std::vector<int64_t> class_counts(const Dataset& data);

// One batch: views into a Batches object's reused buffers. x is (b, ...sample shape) and y
// (b, ...target shape) with b <= batch_size (the last batch may be smaller). The views are
// valid until the next call to next() or reset(), or until the Batches object dies.
struct Batch {
  Tensor x;
  Tensor y;
  int64_t size = 0;
  int64_t index = 0;  // 0-based batch number within the pass
};

// Iterates over a Dataset in contiguous batches, copying the selected rows into two buffers
// allocated once. Borrows `data`, which must stay alive and unmodified while this object is
// used. Not thread-safe.
//   Batches batches(train, 64, permutation(train.size(), rng));
//   while (auto b = batches.next()) step(b->x, b->y);
class Batches {
 public:
  // order: the row order of one pass (e.g. a permutation); empty means 0..n-1. Every entry must
  // be a valid row index (DISCO_CHECK). batch_size must be > 0 (DISCO_CHECK).
  Batches(const Dataset& data, int64_t batch_size, std::vector<int64_t> order = {});
  Batches(const Batches&) = delete;
  Batches& operator=(const Batches&) = delete;

  // The next batch, or nullopt when the pass is over.
  std::optional<Batch> next();
  // Starts a new pass, optionally with a new order (same rules as the constructor).
  void reset(std::vector<int64_t> order = {});

  int64_t n_batches() const { return (n_rows() + batch_size_ - 1) / batch_size_; }
  int64_t n_rows() const { return static_cast<int64_t>(order_.size()); }
  int64_t batch_size() const { return batch_size_; }

 private:
  void set_order(std::vector<int64_t> order);

  const Dataset& data_;  // borrowed; see the class comment
  int64_t batch_size_;
  std::vector<int64_t> order_;
  int64_t position_ = 0;
  int64_t batch_index_ = 0;
  Tensor x_buffer_;  // (batch_size, ...sample shape)
  Tensor y_buffer_;  // (batch_size, ...target shape)
};

}  // namespace disco::core
