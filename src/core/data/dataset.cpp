// SPDX-License-Identifier: Apache-2.0
#include "core/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

namespace disco::core {
namespace {

// Copies rows `indices` of `src` (n, ...) into `dst` (>= indices.size(), ...), row by row.
void gather_rows(const Tensor& src, std::span<const int64_t> indices, float* dst) {
  const int64_t n = src.rank() > 0 ? src.dim(0) : 0;
  const int64_t row = n > 0 ? src.numel() / n : 0;
  const auto row_bytes = static_cast<std::size_t>(row) * sizeof(float);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const int64_t r = indices[i];
    DISCO_CHECK(r >= 0 && r < n, "row index out of range");
    if (row_bytes)
      std::memcpy(dst + static_cast<int64_t>(i) * row, src.data() + r * row, row_bytes);
  }
}

Tensor gather(const Tensor& src, std::span<const int64_t> indices) {
  if (src.rank() == 0) return Tensor();
  Tensor out = Tensor::empty(src.shape().with_batch(static_cast<int64_t>(indices.size())));
  gather_rows(src, indices, out.data());
  return out;
}

int64_t rounded_share(double fraction, int64_t count) {
  return static_cast<int64_t>(std::floor(fraction * static_cast<double>(count) + 0.5));
}

}  // namespace

Dataset Dataset::clone() const {
  Dataset d;
  d.x = x.rank() > 0 ? x.clone() : Tensor();
  d.y = y.rank() > 0 ? y.clone() : Tensor();
  d.n_classes = n_classes;
  d.label_names = label_names;
  return d;
}

std::vector<int64_t> permutation(int64_t n, Rng& rng) {
  DISCO_CHECK(n >= 0 && n <= int64_t{0xFFFFFFFF}, "permutation size out of range");
  std::vector<int64_t> p(static_cast<std::size_t>(n));
  for (int64_t i = 0; i < n; ++i) p[static_cast<std::size_t>(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<std::size_t>(rng.uniform_int(static_cast<uint32_t>(i + 1)));
    std::swap(p[static_cast<std::size_t>(i)], p[j]);
  }
  return p;
}

Dataset subset(const Dataset& data, std::span<const int64_t> indices) {
  DISCO_CHECK(data.y.rank() == 0 || data.y.dim(0) == data.size(), "Dataset x/y row mismatch");
  Dataset d;
  d.x = gather(data.x, indices);
  d.y = gather(data.y, indices);
  d.n_classes = data.n_classes;
  d.label_names = data.label_names;
  return d;
}

Dataset shuffled(const Dataset& data, Rng& rng) {
  const std::vector<int64_t> p = permutation(data.size(), rng);
  return subset(data, p);
}

Result<TrainValidation> split_validation(const Dataset& data, double fraction, Rng& rng,
                                         bool stratify) {
  if (!(fraction >= 0.0 && fraction < 1.0))
    return make_error(Errc::InvalidArgument,
                      "validation fraction must be in [0, 1), got " + std::to_string(fraction));
  const int64_t n = data.size();
  if (stratify && !(data.is_classification() && data.y.rank() == 1))
    return make_error(Errc::InvalidArgument,
                      "stratified split needs single-label classification data");
  const std::vector<int64_t> order = permutation(n, rng);
  std::vector<int64_t> train;
  std::vector<int64_t> validation;
  train.reserve(order.size());
  if (!stratify) {
    const int64_t n_val = rounded_share(fraction, n);
    validation.assign(order.begin(), order.begin() + n_val);
    train.assign(order.begin() + n_val, order.end());
  } else {
    std::vector<int64_t> quota = class_counts(data);
    for (int64_t& q : quota) q = rounded_share(fraction, q);
    for (int64_t r : order) {
      const auto c = static_cast<int64_t>(data.y[r]);
      if (c >= 0 && c < static_cast<int64_t>(quota.size()) &&
          quota[static_cast<std::size_t>(c)] > 0) {
        --quota[static_cast<std::size_t>(c)];
        validation.push_back(r);
      } else {
        train.push_back(r);
      }
    }
  }
  return TrainValidation{subset(data, train), subset(data, validation)};
}

std::vector<int64_t> class_counts(const Dataset& data) {
  if (!data.is_classification() || data.y.rank() != 1) return {};
  std::vector<int64_t> counts(static_cast<std::size_t>(data.n_classes), 0);
  for (int64_t i = 0; i < data.y.numel(); ++i) {
    const float v = data.y[i];
    if (v >= 0.0f && v < static_cast<float>(data.n_classes)) ++counts[static_cast<std::size_t>(v)];
  }
  return counts;
}

Batches::Batches(const Dataset& data, int64_t batch_size, std::vector<int64_t> order)
    : data_(data), batch_size_(batch_size) {
  DISCO_CHECK(batch_size > 0, "batch size must be positive");
  if (data.x.rank() > 0) x_buffer_ = Tensor::empty(data.x.shape().with_batch(batch_size));
  if (data.y.rank() > 0) y_buffer_ = Tensor::empty(data.y.shape().with_batch(batch_size));
  set_order(std::move(order));
}

void Batches::set_order(std::vector<int64_t> order) {
  if (order.empty()) {
    order.resize(static_cast<std::size_t>(data_.size()));
    for (int64_t i = 0; i < data_.size(); ++i) order[static_cast<std::size_t>(i)] = i;
  }
  for (int64_t r : order) DISCO_CHECK(r >= 0 && r < data_.size(), "batch order index out of range");
  order_ = std::move(order);
  position_ = 0;
  batch_index_ = 0;
}

void Batches::reset(std::vector<int64_t> order) { set_order(std::move(order)); }

std::optional<Batch> Batches::next() {
  if (position_ >= n_rows()) return std::nullopt;
  const int64_t b = std::min(batch_size_, n_rows() - position_);
  const std::span<const int64_t> rows(order_.data() + position_, static_cast<std::size_t>(b));
  Batch batch;
  batch.size = b;
  batch.index = batch_index_++;
  if (x_buffer_.rank() > 0) {
    gather_rows(data_.x, rows, x_buffer_.data());
    batch.x = Tensor::borrow(x_buffer_.data(), x_buffer_.shape().with_batch(b));
  }
  if (y_buffer_.rank() > 0) {
    gather_rows(data_.y, rows, y_buffer_.data());
    batch.y = Tensor::borrow(y_buffer_.data(), y_buffer_.shape().with_batch(b));
  }
  position_ += b;
  return batch;
}

}  // namespace disco::core
