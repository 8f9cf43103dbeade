// SPDX-License-Identifier: Apache-2.0
// Tensor: a dense, contiguous, row-major float32 array with a shape of rank 0..6.
// A Tensor either owns its storage (64-byte aligned, move-only; copy only through clone()) or
// borrows it (Tensor::borrow), in which case the memory must outlive the Tensor. Layers hold
// borrowed tensors into the model's one contiguous parameter block. Not thread-safe; concurrent
// reads are fine.
// Layout conventions: images are NHWC, conv kernels HWIO (kh, kw, c_in, c_out), dense kernels
// (in, out), as in Keras and TF.js, so their weights import without transposes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include "core/base/check.hpp"

namespace disco::core {

class Shape {
 public:
  static constexpr int kMaxRank = 6;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  static Shape from(std::span<const int64_t> dims);

  int rank() const { return rank_; }
  int64_t operator[](int i) const {
    DISCO_DCHECK(i >= 0 && i < rank_, "Shape index out of range");
    return dims_[static_cast<std::size_t>(i)];
  }
  int64_t& operator[](int i) {
    DISCO_DCHECK(i >= 0 && i < rank_, "Shape index out of range");
    return dims_[static_cast<std::size_t>(i)];
  }
  // Negative i counts from the back (-1 is the last dimension).
  int64_t dim(int i) const { return (*this)[i < 0 ? rank_ + i : i]; }
  int64_t numel() const;
  std::span<const int64_t> dims() const { return {dims_.data(), static_cast<std::size_t>(rank_)}; }
  void push_back(int64_t d);
  // Shape with the first dimension replaced.
  Shape with_batch(int64_t n) const;
  // Shape without the first dimension.
  Shape drop_first() const;
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }
  // "(2, 3, 4)"
  std::string to_string() const;

 private:
  std::array<int64_t, kMaxRank> dims_{};
  int rank_ = 0;
};

class Tensor {
 public:
  Tensor() = default;
  ~Tensor();
  Tensor(Tensor&& o) noexcept;
  Tensor& operator=(Tensor&& o) noexcept;
  Tensor(const Tensor&) = delete;
  Tensor& operator=(const Tensor&) = delete;

  // Uninitialised storage.
  static Tensor empty(const Shape& shape);
  static Tensor zeros(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor from(const Shape& shape, std::span<const float> values);
  // A non-owning tensor over `data` (numel(shape) floats), which must outlive it.
  static Tensor borrow(float* data, const Shape& shape);

  Tensor clone() const;
  // Same storage, new shape with equal numel. Owning tensors keep ownership (this is consumed).
  Tensor reshaped(const Shape& shape) &&;
  // A borrowed view of this tensor's storage with another shape of equal numel.
  Tensor view(const Shape& shape) const;

  const Shape& shape() const { return shape_; }
  int rank() const { return shape_.rank(); }
  int64_t dim(int i) const { return shape_.dim(i); }
  int64_t numel() const { return numel_; }
  bool owns() const { return owned_; }
  bool defined() const { return data_ != nullptr || numel_ == 0; }

  float* data() { return data_; }
  const float* data() const { return data_; }
  std::span<float> span() { return {data_, static_cast<std::size_t>(numel_)}; }
  std::span<const float> span() const { return {data_, static_cast<std::size_t>(numel_)}; }
  float& operator[](int64_t i) {
    DISCO_DCHECK(i >= 0 && i < numel_, "Tensor index out of range");
    return data_[i];
  }
  float operator[](int64_t i) const {
    DISCO_DCHECK(i >= 0 && i < numel_, "Tensor index out of range");
    return data_[i];
  }

  void fill(float value);
  void copy_from(const Tensor& other);

 private:
  void release();

  Shape shape_;
  float* data_ = nullptr;
  int64_t numel_ = 0;
  bool owned_ = false;
};

// Aligned float storage used by Tensor and by weight blocks. Memory is 64-byte aligned.
float* alloc_floats(std::size_t n);
void free_floats(float* p);

}  // namespace disco::core
