// SPDX-License-Identifier: Apache-2.0
// Max and average pooling over NHWC. Inner loops run over the contiguous channel axis so they
// vectorise; tasks own whole output rows (forward) or whole samples (max backward, whose argmax
// targets stay inside the sample) or whole dx rows (average backward), so no two tasks write the
// same element and the summation order is fixed.
#include <algorithm>
#include <cstddef>
#include <limits>

#include "core/kernels/conv.hpp"

namespace disco::core {
namespace {

// Valid kernel-tap range [lo, hi) for output position o along one axis.
struct Taps {
  int64_t lo, hi, start;  // start: input index of tap 0 (may be negative)
};

Taps taps(int64_t o, int64_t stride, int64_t pad, int64_t k, int64_t size) {
  const int64_t start = o * stride - pad;
  return {std::max<int64_t>(0, -start), std::min(k, size - start), start};
}

}  // namespace

void max_pool2d_forward(const ConvGeom& g, const float* x, float* y, int32_t* argmax,
                        Parallel& parallel) {
  const int64_t c = g.c_in;
  for_chunks(parallel, g.n * g.out_h, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.out_h, oh = r % g.out_h;
      const Taps th = taps(oh, g.stride_h, g.pad_top, g.kh, g.h);
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Taps tw = taps(ow, g.stride_w, g.pad_left, g.kw, g.w);
        // Restrict-qualified, with every operand loaded before the selects, so the channel
        // loops vectorise.
        float* __restrict yp = y + (r * g.out_w + ow) * c;
        int32_t* __restrict ap = argmax + (r * g.out_w + ow) * c;
        bool first = true;
        for (int64_t i = th.lo; i < th.hi; ++i)
          for (int64_t j = tw.lo; j < tw.hi; ++j) {
            const int64_t base = ((b * g.h + th.start + i) * g.w + tw.start + j) * c;
            const float* __restrict xp = x + base;
            const auto base32 = static_cast<int32_t>(base);
            if (first) {
              for (int64_t ch = 0; ch < c; ++ch) {
                yp[ch] = xp[ch];
                ap[ch] = base32 + static_cast<int32_t>(ch);
              }
              first = false;
              continue;
            }
            for (int64_t ch = 0; ch < c; ++ch) {
              const float v = xp[ch], cur = yp[ch];
              const int32_t a = ap[ch], cand = base32 + static_cast<int32_t>(ch);
              // Branch-free select (mask arithmetic), which GCC vectorises; ties keep the first.
              const int32_t mask = -static_cast<int32_t>(v > cur);
              yp[ch] = std::max(cur, v);
              ap[ch] = a ^ ((a ^ cand) & mask);
            }
          }
        if (first)  // window entirely in padding: cannot happen for valid/same geometry
          for (int64_t ch = 0; ch < c; ++ch) {
            yp[ch] = -std::numeric_limits<float>::infinity();
            ap[ch] = -1;
          }
      }
    }
  });
}

void max_pool2d_backward(const ConvGeom& g, const float* dy, const int32_t* argmax, float* dx,
                         Parallel& parallel) {
  const int64_t per = g.out_h * g.out_w * g.c_in;
  for_chunks(parallel, g.n, [&](int64_t b0, int64_t b1) {
    for (int64_t i = b0 * per; i < b1 * per; ++i)
      if (argmax[i] >= 0) dx[argmax[i]] += dy[i];
  });
}

void avg_pool2d_forward(const ConvGeom& g, const float* x, float* y, Parallel& parallel) {
  const int64_t c = g.c_in;
  for_chunks(parallel, g.n * g.out_h, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.out_h, oh = r % g.out_h;
      const Taps th = taps(oh, g.stride_h, g.pad_top, g.kh, g.h);
      for (int64_t ow = 0; ow < g.out_w; ++ow) {
        const Taps tw = taps(ow, g.stride_w, g.pad_left, g.kw, g.w);
        float* yp = y + (r * g.out_w + ow) * c;
        std::fill(yp, yp + c, 0.0f);
        for (int64_t i = th.lo; i < th.hi; ++i)
          for (int64_t j = tw.lo; j < tw.hi; ++j) {
            const float* xp = x + ((b * g.h + th.start + i) * g.w + tw.start + j) * c;
            for (int64_t ch = 0; ch < c; ++ch) yp[ch] += xp[ch];
          }
        const int64_t count =
            std::max<int64_t>(0, th.hi - th.lo) * std::max<int64_t>(0, tw.hi - tw.lo);
        const float inv = count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;
        for (int64_t ch = 0; ch < c; ++ch) yp[ch] *= inv;
      }
    }
  });
}

void avg_pool2d_backward(const ConvGeom& g, const float* dy, float* dx, Parallel& parallel) {
  const int64_t c = g.c_in;
  // Gather form: a task owns dx rows (b, ih) and visits the output rows whose windows cover them.
  for_chunks(parallel, g.n * g.h, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / g.h, ih = r % g.h;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const Taps th = taps(oh, g.stride_h, g.pad_top, g.kh, g.h);
        const int64_t i = ih - th.start;
        if (i < th.lo || i >= th.hi) continue;
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          const Taps tw = taps(ow, g.stride_w, g.pad_left, g.kw, g.w);
          const int64_t count = (th.hi - th.lo) * std::max<int64_t>(0, tw.hi - tw.lo);
          if (count <= 0) continue;
          const float inv = 1.0f / static_cast<float>(count);
          const float* dyp = dy + ((b * g.out_h + oh) * g.out_w + ow) * c;
          for (int64_t j = tw.lo; j < tw.hi; ++j) {
            float* dxp = dx + ((b * g.h + ih) * g.w + tw.start + j) * c;
            for (int64_t ch = 0; ch < c; ++ch) dxp[ch] += dyp[ch] * inv;
          }
        }
      }
    }
  });
}

}  // namespace disco::core
