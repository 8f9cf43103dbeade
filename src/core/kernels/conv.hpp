// SPDX-License-Identifier: Apache-2.0
// 2-D convolution and pooling kernels over NHWC tensors (the layouts of tensor.hpp).
// Geometry follows Keras/TF: padding "valid" (none) or "same" (out = ceil(in / stride), the
// extra padding going to the bottom/right). All functions take raw pointers to contiguous
// buffers sized by the geometry, never allocate outputs themselves (scratch only), and split
// work over `parallel`. Results do not depend on the number of threads. Backward functions
// accumulate (+=) into gradient outputs, so callers zero them first when needed.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/base/parallel.hpp"

namespace disco::core {

struct ConvGeom {
  int64_t n = 1;           // batch
  int64_t h = 0, w = 0;    // input height, width
  int64_t c_in = 0;        // input channels
  int64_t kh = 1, kw = 1;  // kernel (or pool window) height, width
  int64_t c_out = 0;       // output channels (depthwise: c_in * depth_multiplier)
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0;  // bottom/right padding is implied by out_h/out_w
  int64_t out_h = 0, out_w = 0;

  // Fills out_h/out_w/pad_* from "valid" or "same". Returns false if the output would be empty.
  bool set_padding(std::string_view padding);
  int64_t in_numel() const { return n * h * w * c_in; }
  int64_t out_numel() const { return n * out_h * out_w * c_out; }
};

// Conv2D. x: (n, h, w, c_in); wt: (kh, kw, c_in, c_out); y: (n, out_h, out_w, c_out).
void conv2d_forward(const ConvGeom& g, const float* x, const float* wt, float* y,
                    Parallel& parallel);
// dx += conv2d^T(dy, wt). dx: like x.
void conv2d_backward_input(const ConvGeom& g, const float* dy, const float* wt, float* dx,
                           Parallel& parallel);
// dwt += sum over batch and positions of x-patch (x) dy. dwt: like wt.
void conv2d_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dwt,
                            Parallel& parallel);

// Depthwise conv, depth_multiplier = c_out / c_in. wt: (kh, kw, c_in, mult); output channel
// ci * mult + m reads input channel ci.
void depthwise_conv2d_forward(const ConvGeom& g, const float* x, const float* wt, float* y,
                              Parallel& parallel);
void depthwise_conv2d_backward_input(const ConvGeom& g, const float* dy, const float* wt, float* dx,
                                     Parallel& parallel);
void depthwise_conv2d_backward_weight(const ConvGeom& g, const float* x, const float* dy,
                                      float* dwt, Parallel& parallel);

// Max pooling (c_out == c_in). argmax receives, per output element, the flat index into x of the
// chosen input (padding never wins). y: (n, out_h, out_w, c).
void max_pool2d_forward(const ConvGeom& g, const float* x, float* y, int32_t* argmax,
                        Parallel& parallel);
// dx[argmax[i]] += dy[i].
void max_pool2d_backward(const ConvGeom& g, const float* dy, const int32_t* argmax, float* dx,
                         Parallel& parallel);
// Average pooling; padded positions are excluded from the count (TF semantics).
void avg_pool2d_forward(const ConvGeom& g, const float* x, float* y, Parallel& parallel);
void avg_pool2d_backward(const ConvGeom& g, const float* dy, float* dx, Parallel& parallel);

}  // namespace disco::core
