// SPDX-License-Identifier: Apache-2.0
// Reference conv/pool loops: one output (or gradient) element at a time, double accumulators,
// no blocking. Readability over speed; these are the oracle for conv_test.cpp.
#include "core/kernels/conv_reference.hpp"

#include <limits>
#include <vector>

namespace disco::core {
namespace {

// Input row/column read by output position o and kernel tap k, or -1 when it falls in padding.
int64_t in_pos(int64_t o, int64_t k, int64_t stride, int64_t pad, int64_t size) {
  int64_t i = o * stride - pad + k;
  return (i >= 0 && i < size) ? i : -1;
}

}  // namespace

void conv2d_forward_reference(const ConvGeom& g, const float* x, const float* wt, float* y) {
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t co = 0; co < g.c_out; ++co) {
          double acc = 0;
          for (int64_t i = 0; i < g.kh; ++i) {
            int64_t ih = in_pos(oh, i, g.stride_h, g.pad_top, g.h);
            if (ih < 0) continue;
            for (int64_t j = 0; j < g.kw; ++j) {
              int64_t iw = in_pos(ow, j, g.stride_w, g.pad_left, g.w);
              if (iw < 0) continue;
              const float* xp = x + ((b * g.h + ih) * g.w + iw) * g.c_in;
              const float* wp = wt + (i * g.kw + j) * g.c_in * g.c_out + co;
              for (int64_t ci = 0; ci < g.c_in; ++ci)
                acc += static_cast<double>(xp[ci]) * wp[ci * g.c_out];
            }
          }
          y[((b * g.out_h + oh) * g.out_w + ow) * g.c_out + co] = static_cast<float>(acc);
        }
}

void conv2d_backward_input_reference(const ConvGeom& g, const float* dy, const float* wt,
                                     float* dx) {
  std::vector<double> acc(static_cast<std::size_t>(g.in_numel()), 0.0);
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t i = 0; i < g.kh; ++i) {
          int64_t ih = in_pos(oh, i, g.stride_h, g.pad_top, g.h);
          if (ih < 0) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            int64_t iw = in_pos(ow, j, g.stride_w, g.pad_left, g.w);
            if (iw < 0) continue;
            const float* dyp = dy + ((b * g.out_h + oh) * g.out_w + ow) * g.c_out;
            double* ap = acc.data() + ((b * g.h + ih) * g.w + iw) * g.c_in;
            for (int64_t ci = 0; ci < g.c_in; ++ci) {
              const float* wp = wt + ((i * g.kw + j) * g.c_in + ci) * g.c_out;
              for (int64_t co = 0; co < g.c_out; ++co)
                ap[ci] += static_cast<double>(dyp[co]) * wp[co];
            }
          }
        }
  for (int64_t e = 0; e < g.in_numel(); ++e) dx[e] += static_cast<float>(acc[std::size_t(e)]);
}

void conv2d_backward_weight_reference(const ConvGeom& g, const float* x, const float* dy,
                                      float* dwt) {
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j)
      for (int64_t ci = 0; ci < g.c_in; ++ci)
        for (int64_t co = 0; co < g.c_out; ++co) {
          double acc = 0;
          for (int64_t b = 0; b < g.n; ++b)
            for (int64_t oh = 0; oh < g.out_h; ++oh) {
              int64_t ih = in_pos(oh, i, g.stride_h, g.pad_top, g.h);
              if (ih < 0) continue;
              for (int64_t ow = 0; ow < g.out_w; ++ow) {
                int64_t iw = in_pos(ow, j, g.stride_w, g.pad_left, g.w);
                if (iw < 0) continue;
                acc += static_cast<double>(x[((b * g.h + ih) * g.w + iw) * g.c_in + ci]) *
                       dy[((b * g.out_h + oh) * g.out_w + ow) * g.c_out + co];
              }
            }
          dwt[((i * g.kw + j) * g.c_in + ci) * g.c_out + co] += static_cast<float>(acc);
        }
}

void depthwise_conv2d_forward_reference(const ConvGeom& g, const float* x, const float* wt,
                                        float* y) {
  int64_t mult = g.c_out / g.c_in;
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t co = 0; co < g.c_out; ++co) {
          int64_t ci = co / mult;
          double acc = 0;
          for (int64_t i = 0; i < g.kh; ++i) {
            int64_t ih = in_pos(oh, i, g.stride_h, g.pad_top, g.h);
            if (ih < 0) continue;
            for (int64_t j = 0; j < g.kw; ++j) {
              int64_t iw = in_pos(ow, j, g.stride_w, g.pad_left, g.w);
              if (iw < 0) continue;
              acc += static_cast<double>(x[((b * g.h + ih) * g.w + iw) * g.c_in + ci]) *
                     wt[(i * g.kw + j) * g.c_out + co];
            }
          }
          y[((b * g.out_h + oh) * g.out_w + ow) * g.c_out + co] = static_cast<float>(acc);
        }
}

void depthwise_conv2d_backward_input_reference(const ConvGeom& g, const float* dy, const float* wt,
                                               float* dx) {
  int64_t mult = g.c_out / g.c_in;
  std::vector<double> acc(static_cast<std::size_t>(g.in_numel()), 0.0);
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t i = 0; i < g.kh; ++i) {
          int64_t ih = in_pos(oh, i, g.stride_h, g.pad_top, g.h);
          if (ih < 0) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            int64_t iw = in_pos(ow, j, g.stride_w, g.pad_left, g.w);
            if (iw < 0) continue;
            for (int64_t co = 0; co < g.c_out; ++co)
              acc[std::size_t(((b * g.h + ih) * g.w + iw) * g.c_in + co / mult)] +=
                  static_cast<double>(dy[((b * g.out_h + oh) * g.out_w + ow) * g.c_out + co]) *
                  wt[(i * g.kw + j) * g.c_out + co];
          }
        }
  for (int64_t e = 0; e < g.in_numel(); ++e) dx[e] += static_cast<float>(acc[std::size_t(e)]);
}

void depthwise_conv2d_backward_weight_reference(const ConvGeom& g, const float* x, const float* dy,
                                                float* dwt) {
  int64_t mult = g.c_out / g.c_in;
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j)
      for (int64_t co = 0; co < g.c_out; ++co) {
        double acc = 0;
        for (int64_t b = 0; b < g.n; ++b)
          for (int64_t oh = 0; oh < g.out_h; ++oh) {
            int64_t ih = in_pos(oh, i, g.stride_h, g.pad_top, g.h);
            if (ih < 0) continue;
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
              int64_t iw = in_pos(ow, j, g.stride_w, g.pad_left, g.w);
              if (iw < 0) continue;
              acc += static_cast<double>(x[((b * g.h + ih) * g.w + iw) * g.c_in + co / mult]) *
                     dy[((b * g.out_h + oh) * g.out_w + ow) * g.c_out + co];
            }
          }
        dwt[(i * g.kw + j) * g.c_out + co] += static_cast<float>(acc);
      }
}

void max_pool2d_forward_reference(const ConvGeom& g, const float* x, float* y, int32_t* argmax) {
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t c = 0; c < g.c_in; ++c) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t best_idx = -1;
          for (int64_t i = 0; i < g.kh; ++i) {
            int64_t ih = in_pos(oh, i, g.stride_h, g.pad_top, g.h);
            if (ih < 0) continue;
            for (int64_t j = 0; j < g.kw; ++j) {
              int64_t iw = in_pos(ow, j, g.stride_w, g.pad_left, g.w);
              if (iw < 0) continue;
              int64_t idx = ((b * g.h + ih) * g.w + iw) * g.c_in + c;
              if (best_idx < 0 || x[idx] > best) {
                best = x[idx];
                best_idx = idx;
              }
            }
          }
          int64_t o = ((b * g.out_h + oh) * g.out_w + ow) * g.c_in + c;
          y[o] = best;
          argmax[o] = static_cast<int32_t>(best_idx);
        }
}

void avg_pool2d_forward_reference(const ConvGeom& g, const float* x, float* y) {
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow)
        for (int64_t c = 0; c < g.c_in; ++c) {
          double acc = 0;
          int64_t count = 0;
          for (int64_t i = 0; i < g.kh; ++i) {
            int64_t ih = in_pos(oh, i, g.stride_h, g.pad_top, g.h);
            if (ih < 0) continue;
            for (int64_t j = 0; j < g.kw; ++j) {
              int64_t iw = in_pos(ow, j, g.stride_w, g.pad_left, g.w);
              if (iw < 0) continue;
              acc += x[((b * g.h + ih) * g.w + iw) * g.c_in + c];
              ++count;
            }
          }
          y[((b * g.out_h + oh) * g.out_w + ow) * g.c_in + c] =
              count > 0 ? static_cast<float>(acc / static_cast<double>(count)) : 0.0f;
        }
}

void avg_pool2d_backward_reference(const ConvGeom& g, const float* dy, float* dx) {
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oh = 0; oh < g.out_h; ++oh)
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        int64_t count = 0;
        for (int64_t i = 0; i < g.kh; ++i)
          for (int64_t j = 0; j < g.kw; ++j)
            if (in_pos(oh, i, g.stride_h, g.pad_top, g.h) >= 0 &&
                in_pos(ow, j, g.stride_w, g.pad_left, g.w) >= 0)
              ++count;
        if (count == 0) continue;
        float inv = 1.0f / static_cast<float>(count);
        for (int64_t i = 0; i < g.kh; ++i) {
          int64_t ih = in_pos(oh, i, g.stride_h, g.pad_top, g.h);
          if (ih < 0) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            int64_t iw = in_pos(ow, j, g.stride_w, g.pad_left, g.w);
            if (iw < 0) continue;
            for (int64_t c = 0; c < g.c_in; ++c)
              dx[((b * g.h + ih) * g.w + iw) * g.c_in + c] +=
                  dy[((b * g.out_h + oh) * g.out_w + ow) * g.c_in + c] * inv;
          }
        }
      }
}

}  // namespace disco::core
