// SPDX-License-Identifier: Apache-2.0
// Naive single-threaded reference versions of the conv.hpp kernels, written as the textbook loop
// nests with double accumulation. They define the semantics the fast kernels are tested against
// and are far too slow for training. Same argument contracts as the conv.hpp functions.
#pragma once

#include <cstdint>

#include "core/kernels/conv.hpp"

namespace disco::core {

void conv2d_forward_reference(const ConvGeom& g, const float* x, const float* wt, float* y);
void conv2d_backward_input_reference(const ConvGeom& g, const float* dy, const float* wt,
                                     float* dx);
void conv2d_backward_weight_reference(const ConvGeom& g, const float* x, const float* dy,
                                      float* dwt);
void depthwise_conv2d_forward_reference(const ConvGeom& g, const float* x, const float* wt,
                                        float* y);
void depthwise_conv2d_backward_input_reference(const ConvGeom& g, const float* dy, const float* wt,
                                               float* dx);
void depthwise_conv2d_backward_weight_reference(const ConvGeom& g, const float* x, const float* dy,
                                                float* dwt);
void max_pool2d_forward_reference(const ConvGeom& g, const float* x, float* y, int32_t* argmax);
void avg_pool2d_forward_reference(const ConvGeom& g, const float* x, float* y);
void avg_pool2d_backward_reference(const ConvGeom& g, const float* dy, float* dx);

}  // namespace disco::core
