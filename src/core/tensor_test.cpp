// SPDX-License-Identifier: Apache-2.0
#include "core/tensor.hpp"

#include <gtest/gtest.h>

#include <cstdint>

namespace disco::core {
namespace {

TEST(Shape, ReportsNumelAndFormats) {
  Shape s{2, 3, 4};
  EXPECT_EQ(s.rank(), 3);
  EXPECT_EQ(s.numel(), 24);
  EXPECT_EQ(s.dim(-1), 4);
  EXPECT_EQ(s.to_string(), "(2, 3, 4)");
  EXPECT_EQ(Shape{5}.to_string(), "(5,)");
  EXPECT_EQ(s.with_batch(7), (Shape{7, 3, 4}));
  EXPECT_EQ(s.drop_first(), (Shape{3, 4}));
}

TEST(Tensor, OwnsAlignedStorageAndClonesExplicitly) {
  Tensor t = Tensor::full({3, 5}, 2.0f);
  EXPECT_TRUE(t.owns());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
  Tensor c = t.clone();
  c[0] = 9.0f;
  EXPECT_EQ(t[0], 2.0f);
  Tensor moved = std::move(t);
  EXPECT_EQ(moved[14], 2.0f);
  EXPECT_EQ(t.numel(), 0);
}

TEST(Tensor, BorrowAndViewShareStorage) {
  float buf[6] = {1, 2, 3, 4, 5, 6};
  Tensor b = Tensor::borrow(buf, {2, 3});
  EXPECT_FALSE(b.owns());
  Tensor v = b.view({3, 2});
  v[5] = 60.0f;
  EXPECT_EQ(buf[5], 60.0f);
  Tensor r = Tensor::from({6}, buf).reshaped({2, 3});
  EXPECT_EQ(r.shape(), (Shape{2, 3}));
  EXPECT_EQ(r[5], 60.0f);
}

}  // namespace
}  // namespace disco::core
