// SPDX-License-Identifier: Apache-2.0
#include "core/tensor.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace disco::core {

Shape::Shape(std::initializer_list<int64_t> dims) {
  DISCO_CHECK(dims.size() <= kMaxRank, "Shape rank too large");
  for (int64_t d : dims) dims_[static_cast<std::size_t>(rank_++)] = d;
}

Shape Shape::from(std::span<const int64_t> dims) {
  DISCO_CHECK(dims.size() <= kMaxRank, "Shape rank too large");
  Shape s;
  for (int64_t d : dims) s.push_back(d);
  return s;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < rank_; ++i) n *= dims_[static_cast<std::size_t>(i)];
  return n;
}

void Shape::push_back(int64_t d) {
  DISCO_CHECK(rank_ < kMaxRank, "Shape rank too large");
  dims_[static_cast<std::size_t>(rank_++)] = d;
}

Shape Shape::with_batch(int64_t n) const {
  DISCO_CHECK(rank_ > 0, "with_batch on a scalar shape");
  Shape s = *this;
  s.dims_[0] = n;
  return s;
}

Shape Shape::drop_first() const {
  DISCO_CHECK(rank_ > 0, "drop_first on a scalar shape");
  Shape s;
  for (int i = 1; i < rank_; ++i) s.push_back(dims_[static_cast<std::size_t>(i)]);
  return s;
}

bool Shape::operator==(const Shape& o) const {
  if (rank_ != o.rank_) return false;
  for (int i = 0; i < rank_; ++i)
    if (dims_[static_cast<std::size_t>(i)] != o.dims_[static_cast<std::size_t>(i)]) return false;
  return true;
}

std::string Shape::to_string() const {
  std::string s = "(";
  for (int i = 0; i < rank_; ++i) {
    if (i) s += ", ";
    s += std::to_string(dims_[static_cast<std::size_t>(i)]);
  }
  if (rank_ == 1) s += ",";
  return s + ")";
}

float* alloc_floats(std::size_t n) {
  if (n == 0) n = 1;
  // Round up so SIMD kernels may read a full vector past the end of small tensors.
  std::size_t bytes = ((n * sizeof(float) + 63) / 64) * 64;
  return static_cast<float*>(::operator new (bytes, std::align_val_t{64}));
}

void free_floats(float* p) {
  if (p) ::operator delete (p, std::align_val_t{64});
}

Tensor::~Tensor() { release(); }

Tensor::Tensor(Tensor&& o) noexcept
    : shape_(o.shape_), data_(o.data_), numel_(o.numel_), owned_(o.owned_) {
  o.data_ = nullptr;
  o.numel_ = 0;
  o.owned_ = false;
  o.shape_ = Shape();
}

Tensor& Tensor::operator=(Tensor&& o) noexcept {
  if (this != &o) {
    release();
    shape_ = o.shape_;
    data_ = o.data_;
    numel_ = o.numel_;
    owned_ = o.owned_;
    o.data_ = nullptr;
    o.numel_ = 0;
    o.owned_ = false;
    o.shape_ = Shape();
  }
  return *this;
}

void Tensor::release() {
  if (owned_) free_floats(data_);
  data_ = nullptr;
  owned_ = false;
}

Tensor Tensor::empty(const Shape& shape) {
  Tensor t;
  t.shape_ = shape;
  t.numel_ = shape.numel();
  DISCO_CHECK(t.numel_ >= 0, "negative dimension");
  t.data_ = alloc_floats(static_cast<std::size_t>(t.numel_));
  t.owned_ = true;
  return t;
}

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill(value);
  return t;
}

Tensor Tensor::from(const Shape& shape, std::span<const float> values) {
  DISCO_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "Tensor::from size mismatch");
  Tensor t = empty(shape);
  if (!values.empty()) std::memcpy(t.data_, values.data(), values.size() * sizeof(float));
  return t;
}

Tensor Tensor::borrow(float* data, const Shape& shape) {
  Tensor t;
  t.shape_ = shape;
  t.numel_ = shape.numel();
  t.data_ = data;
  t.owned_ = false;
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_);
  if (numel_) std::memcpy(t.data_, data_, static_cast<std::size_t>(numel_) * sizeof(float));
  return t;
}

Tensor Tensor::reshaped(const Shape& shape) && {
  DISCO_CHECK(shape.numel() == numel_, "reshape changes the number of elements");
  Tensor t = std::move(*this);
  t.shape_ = shape;
  return t;
}

Tensor Tensor::view(const Shape& shape) const {
  DISCO_CHECK(shape.numel() == numel_, "view changes the number of elements");
  return borrow(const_cast<float*>(data_), shape);
}

void Tensor::fill(float value) { std::fill(data_, data_ + numel_, value); }

void Tensor::copy_from(const Tensor& other) {
  DISCO_CHECK(other.numel_ == numel_, "copy_from size mismatch");
  if (numel_) std::memcpy(data_, other.data_, static_cast<std::size_t>(numel_) * sizeof(float));
}

}  // namespace disco::core
