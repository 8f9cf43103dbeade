// SPDX-License-Identifier: Apache-2.0
// Depthwise Conv2D over NHWC with (kh, kw, c_in, mult) weights. Each output channel reads one
// input channel, so there is no reduction over channels to hand to a GEMM; the loops instead run
// innermost over the contiguous channel axis, which vectorises. Forward tasks own output rows,
// input-gradient tasks own dx rows (gather form), weight-gradient tasks own (tap, channel block)
// pairs and sum over every position in a fixed order.
#include <algorithm>
#include <cstddef>

#include "core/kernels/conv.hpp"

namespace disco::core {
namespace {

// acc[ci * mult + m] += x[ci] * w[ci * mult + m] for every input channel ci.
inline void madd_channels(const float* x, const float* w, float* acc, int64_t c_in, int64_t mult) {
  if (mult == 1) {
    for (int64_t ci = 0; ci < c_in; ++ci) acc[ci] += x[ci] * w[ci];
    return;
  }
  for (int64_t ci = 0; ci < c_in; ++ci)
    for (int64_t m = 0; m < mult; ++m) acc[ci * mult + m] += x[ci] * w[ci * mult + m];
}

}  // namespace

void depthwise_conv2d_forward(const ConvGeom& g, const float* x, const float* wt, float* y,
                              Parallel& parallel) {
  const int64_t mult = g.c_out / g.c_in;
  for_chunks(parallel, g.n * g.out_h, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.out_h, oh = r % g.out_h;
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        float* yp = y + (r * g.out_w + ow) * g.c_out;
        std::fill(yp, yp + g.c_out, 0.0f);
        for (int64_t i = 0; i < g.kh; ++i) {
          const int64_t ih = oh * g.stride_h - g.pad_top + i;
          if (ih < 0 || ih >= g.h) continue;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t iw = ow * g.stride_w - g.pad_left + j;
            if (iw < 0 || iw >= g.w) continue;
            madd_channels(x + ((b * g.h + ih) * g.w + iw) * g.c_in, wt + (i * g.kw + j) * g.c_out,
                          yp, g.c_in, mult);
          }
        }
      }
    }
  });
}

void depthwise_conv2d_backward_input(const ConvGeom& g, const float* dy, const float* wt, float* dx,
                                     Parallel& parallel) {
  const int64_t mult = g.c_out / g.c_in;
  for_chunks(parallel, g.n * g.h, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.h, ih = r % g.h;
      for (int64_t i = 0; i < g.kh; ++i) {
        const int64_t t = ih + g.pad_top - i;
        if (t < 0 || t % g.stride_h != 0 || t / g.stride_h >= g.out_h) continue;
        const int64_t oh = t / g.stride_h;
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const float* dyp = dy + ((b * g.out_h + oh) * g.out_w + ow) * g.c_out;
          for (int64_t j = 0; j < g.kw; ++j) {
            const int64_t iw = ow * g.stride_w - g.pad_left + j;
            if (iw < 0 || iw >= g.w) continue;
            float* dxp = dx + (r * g.w + iw) * g.c_in;
            const float* wp = wt + (i * g.kw + j) * g.c_out;
            if (mult == 1) {
              for (int64_t ci = 0; ci < g.c_in; ++ci) dxp[ci] += dyp[ci] * wp[ci];
            } else {
              for (int64_t ci = 0; ci < g.c_in; ++ci) {
                float s = 0.0f;
                for (int64_t m = 0; m < mult; ++m) s += dyp[ci * mult + m] * wp[ci * mult + m];
                dxp[ci] += s;
              }
            }
          }
        }
      }
    }
  });
}

void depthwise_conv2d_backward_weight(const ConvGeom& g, const float* x, const float* dy,
                                      float* dwt, Parallel& parallel) {
  const int64_t mult = g.c_out / g.c_in;
  constexpr int64_t kChannelBlock = 64;  // input channels per task
  const int64_t n_cblocks = (g.c_in + kChannelBlock - 1) / kChannelBlock;
  for_chunks(parallel, g.kh * g.kw * n_cblocks, [&](int64_t u0, int64_t u1) {
    float acc[kChannelBlock * 8];
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t tap = u / n_cblocks, i = tap / g.kw, j = tap % g.kw;
      const int64_t c0 = u % n_cblocks * kChannelBlock;
      const int64_t nc = std::min(kChannelBlock, g.c_in - c0);
      // Channel blocks of (nc * mult) outputs, split further when mult is large.
      for (int64_t m0 = 0; m0 < mult; m0 += 8) {
        const int64_t nm = std::min<int64_t>(8, mult - m0);
        std::fill(acc, acc + nc * nm, 0.0f);
        for (int64_t b = 0; b < g.n; ++b)
          for (int64_t oh = 0; oh < g.out_h; ++oh) {
            const int64_t ih = oh * g.stride_h - g.pad_top + i;
            if (ih < 0 || ih >= g.h) continue;
            for (int64_t ow = 0; ow < g.out_w; ++ow) {
              const int64_t iw = ow * g.stride_w - g.pad_left + j;
              if (iw < 0 || iw >= g.w) continue;
              const float* xp = x + ((b * g.h + ih) * g.w + iw) * g.c_in + c0;
              const float* dyp = dy + ((b * g.out_h + oh) * g.out_w + ow) * g.c_out + c0 * mult;
              if (mult == 1) {
                for (int64_t ci = 0; ci < nc; ++ci) acc[ci] += xp[ci] * dyp[ci];
              } else {
                for (int64_t ci = 0; ci < nc; ++ci)
                  for (int64_t m = 0; m < nm; ++m)
                    acc[ci * nm + m] += xp[ci] * dyp[ci * mult + m0 + m];
              }
            }
          }
        float* dwp = dwt + tap * g.c_out + c0 * mult;
        for (int64_t ci = 0; ci < nc; ++ci)
          for (int64_t m = 0; m < nm; ++m) dwp[ci * mult + m0 + m] += acc[ci * nm + m];
      }
    }
  });
}

}  // namespace disco::core
