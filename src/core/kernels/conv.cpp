// SPDX-License-Identifier: Apache-2.0
// Conv2D on NHWC/HWIO as register-tile products without an im2col matrix. In NHWC the kw * c_in
// inputs under one kernel row are contiguous, so for one output row the forward pass is a sum over
// the kh kernel rows of (out_w x kw*c_in) * (kw*c_in x c_out) products whose A rows are strided
// views of x; the tile kernel sums those segments in registers. The weight gradient is the same
// view read column-major (one segment per output row). The input gradient multiplies each output
// row of dy by W^T one kernel row at a time and adds the products straight into dx (col2im fused
// into the tile store). Padding
// ("same") is handled with zero-padded scratch copies of the input (or of dx) in padded
// coordinates.
#include "core/kernels/conv.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

#include "core/kernels/tile_kernel.hpp"

namespace disco::core {
namespace {

// Row-major tiles keep one pointer per row in general registers; beyond ~10 rows they spill, and
// on the MNIST conv2 forward pass 2 x 10 rows measured ~15% faster than 1 x 20.
constexpr int64_t kRowMajorRows = 10;

int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }
int64_t div_up(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Geometry of the input once zero padding is applied on all four sides.
struct Padded {
  int64_t top, left, h, w;  // h, w: padded sizes
  bool any;
};

Padded padded_geom(const ConvGeom& g) {
  int64_t bottom = std::max<int64_t>(0, (g.out_h - 1) * g.stride_h + g.kh - g.h - g.pad_top);
  int64_t right = std::max<int64_t>(0, (g.out_w - 1) * g.stride_w + g.kw - g.w - g.pad_left);
  return {g.pad_top, g.pad_left, g.h + g.pad_top + bottom, g.w + g.pad_left + right,
          g.pad_top > 0 || g.pad_left > 0 || bottom > 0 || right > 0};
}

// Copies padded rows [r0, r1) of sample b into dst ((r1 - r0) x p.w x c_in), zeros outside x.
void copy_padded_rows(const ConvGeom& g, const Padded& p, const float* x, int64_t b, int64_t r0,
                      int64_t r1, float* dst) {
  const int64_t row = p.w * g.c_in;
  std::fill(dst, dst + (r1 - r0) * row, 0.0f);
  for (int64_t r = r0; r < r1; ++r) {
    int64_t ih = r - p.top;
    if (ih < 0 || ih >= g.h) continue;
    const float* src = x + (b * g.h + ih) * g.w * g.c_in;
    std::copy(src, src + g.w * g.c_in, dst + (r - r0) * row + p.left * g.c_in);
  }
}

// Tile shape for an n-column problem: kernels, vectors per panel, rows per tile.
struct Shape {
  const TileKernels* ks;
  int64_t width, nr;
  int mr;
};

Shape tile_shape(int64_t n) {
  const TileKernels& ks = tile_kernels_for(n);
  const int nv = static_cast<int>(std::min<int64_t>(ks.max_nv, div_up(n, ks.width)));
  return {&ks, ks.width, nv * ks.width, ks.max_mr[nv - 1]};
}

TileFn tile_fn(const Shape& s, bool col, int64_t n, int64_t m) {
  return s.ks->get(col, static_cast<int>(div_up(n, s.width)), static_cast<int>(m));
}

}  // namespace

bool ConvGeom::set_padding(std::string_view padding) {
  if (h <= 0 || w <= 0 || kh <= 0 || kw <= 0 || stride_h <= 0 || stride_w <= 0) return false;
  if (padding == "same") {
    out_h = div_up(h, stride_h);
    out_w = div_up(w, stride_w);
    pad_top = std::max<int64_t>(0, (out_h - 1) * stride_h + kh - h) / 2;
    pad_left = std::max<int64_t>(0, (out_w - 1) * stride_w + kw - w) / 2;
  } else if (padding == "valid") {
    out_h = h >= kh ? (h - kh) / stride_h + 1 : 0;
    out_w = w >= kw ? (w - kw) / stride_w + 1 : 0;
    pad_top = pad_left = 0;
  } else {
    return false;
  }
  return out_h > 0 && out_w > 0;
}

void conv2d_forward(const ConvGeom& g, const float* x, const float* wt, float* y,
                    Parallel& parallel) {
  if (g.out_numel() == 0) return;
  const Shape s = tile_shape(g.c_out);
  const int64_t k_row = g.kw * g.c_in;  // K of one kernel row
  const int64_t k_all = g.kh * k_row;
  std::vector<float> w_pad;
  const float* wb = wt;
  int64_t ldb = g.c_out;
  if (g.c_out % s.width != 0) {
    ldb = round_up(g.c_out, s.width);
    w_pad.assign(static_cast<std::size_t>(k_all * ldb), 0.0f);
    for (int64_t r = 0; r < k_all; ++r)
      std::copy(wt + r * g.c_out, wt + (r + 1) * g.c_out, w_pad.data() + r * ldb);
    wb = w_pad.data();
  }
  const Padded p = padded_geom(g);
  const int64_t row = p.w * g.c_in;  // floats per (padded) input row
  std::vector<int64_t> a_off(static_cast<std::size_t>(g.kh)), b_off(a_off.size());
  for (int64_t i = 0; i < g.kh; ++i) {
    a_off[static_cast<std::size_t>(i)] = i * row;
    b_off[static_cast<std::size_t>(i)] = i * k_row * ldb;
  }
  const int64_t n_wtiles = div_up(g.out_w, std::min<int64_t>(s.mr, kRowMajorRows));
  const int64_t wtile = div_up(g.out_w, n_wtiles);

  for_chunks(parallel, g.n * g.out_h, [&](int64_t r0, int64_t r1) {
    std::vector<float> slab;
    for (int64_t r = r0; r < r1;) {
      const int64_t b = r / g.out_h, lo = r % g.out_h;
      const int64_t hi = std::min(g.out_h, lo + (r1 - r));
      r += hi - lo;
      // base: padded row lo * stride_h of sample b.
      const float* base = x + (b * g.h + lo * g.stride_h) * row;
      if (p.any) {
        const int64_t pr0 = lo * g.stride_h, pr1 = (hi - 1) * g.stride_h + g.kh;
        slab.resize(static_cast<std::size_t>((pr1 - pr0) * row));
        copy_padded_rows(g, p, x, b, pr0, pr1, slab.data());
        base = slab.data();
      }
      GemmTile t;
      t.rs_a = g.stride_w * g.c_in;
      t.cs_a = 1;
      t.ldb = ldb;
      t.a_off = a_off.data();
      t.b_off = b_off.data();
      t.n_seg = g.kh;
      t.k = k_row;
      t.ldc = g.c_out;
      for (int64_t oh = lo; oh < hi; ++oh) {
        const float* a_row = base + (oh - lo) * g.stride_h * row;
        float* y_row = y + (b * g.out_h + oh) * g.out_w * g.c_out;
        for (int64_t j0 = 0; j0 < g.c_out; j0 += s.nr) {
          t.n = static_cast<int>(std::min(s.nr, g.c_out - j0));
          t.b = wb + j0;
          for (int64_t ow = 0; ow < g.out_w; ow += wtile) {
            t.m = static_cast<int>(std::min(wtile, g.out_w - ow));
            t.a = a_row + ow * t.rs_a;
            t.c = y_row + ow * g.c_out + j0;
            tile_fn(s, false, t.n, t.m)(t);
          }
        }
      }
    }
  });
}

void conv2d_backward_input(const ConvGeom& g, const float* dy, const float* wt, float* dx,
                           Parallel& parallel) {
  if (g.out_numel() == 0) return;
  const int64_t k_row = g.kw * g.c_in;  // patch-gradient columns under one kernel row
  const int64_t k_all = g.kh * k_row;
  const Shape s = tile_shape(k_row);
  // bt: (c_out x ldb), bt[co][r] = wt[r][co]; the slack lets the last tile read whole vectors.
  const int64_t ldb = k_all + s.nr;
  std::vector<float> bt(static_cast<std::size_t>(g.c_out * ldb), 0.0f);
  for (int64_t r = 0; r < k_all; ++r)
    for (int64_t co = 0; co < g.c_out; ++co)
      bt[static_cast<std::size_t>(co * ldb + r)] = wt[r * g.c_out + co];
  const Padded p = padded_geom(g);
  const int64_t row = p.w * g.c_in;
  const int64_t sample = g.h * g.w * g.c_in;
  const int64_t n_wtiles = div_up(g.out_w, s.mr);
  const int64_t wtile = div_up(g.out_w, n_wtiles);

  // The patch gradient of output (oh, ow) under kernel row i is kw * c_in contiguous floats of
  // dx, starting at input column ow * stride_w, so a tile's C rows are dx views with
  // ldc = stride_w * c_in that overlap when stride_w < kw; the tile kernel adds them in row order.
  // Tasks own whole samples, so no two tasks touch the same dx element.
  for_chunks(parallel, g.n, [&](int64_t b0, int64_t b1) {
    std::vector<float> dx_pad;
    if (p.any) dx_pad.resize(static_cast<std::size_t>(p.h * row));
    GemmTile t;
    t.rs_a = g.c_out;
    t.cs_a = 1;
    t.ldb = ldb;
    t.k = g.c_out;
    t.ldc = g.stride_w * g.c_in;
    t.beta = 1.0f;
    for (int64_t b = b0; b < b1; ++b) {
      float* base = dx + b * sample;
      if (p.any) {
        std::fill(dx_pad.begin(), dx_pad.end(), 0.0f);
        base = dx_pad.data();
      }
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        const float* dy_row = dy + (b * g.out_h + oh) * g.out_w * g.c_out;
        for (int64_t i = 0; i < g.kh; ++i) {
          float* dx_row = base + (oh * g.stride_h + i) * row;
          for (int64_t j0 = 0; j0 < k_row; j0 += s.nr) {
            t.n = static_cast<int>(std::min(s.nr, k_row - j0));
            t.b = bt.data() + i * k_row + j0;
            for (int64_t ow = 0; ow < g.out_w; ow += wtile) {
              t.m = static_cast<int>(std::min(wtile, g.out_w - ow));
              t.a = dy_row + ow * g.c_out;
              t.c = dx_row + ow * t.ldc + j0;
              tile_fn(s, false, t.n, t.m)(t);
            }
          }
        }
      }
      if (p.any)
        for (int64_t ih = 0; ih < g.h; ++ih) {
          const float* src = dx_pad.data() + (ih + p.top) * row + p.left * g.c_in;
          float* dst = dx + b * sample + ih * g.w * g.c_in;
          for (int64_t e = 0; e < g.w * g.c_in; ++e) dst[e] += src[e];
        }
    }
  });
}

void conv2d_backward_weight(const ConvGeom& g, const float* x, const float* dy, float* dwt,
                            Parallel& parallel) {
  if (g.out_numel() == 0) return;
  const Shape s = tile_shape(g.c_out);
  const int64_t k_row = g.kw * g.c_in;
  const int64_t n_pos = g.n * g.out_h * g.out_w;
  std::vector<float> dy_pad;
  const float* dyb = dy;
  int64_t ldb = g.c_out;
  if (g.c_out % s.width != 0) {
    ldb = round_up(g.c_out, s.width);
    dy_pad.assign(static_cast<std::size_t>(n_pos * ldb), 0.0f);
    for (int64_t q = 0; q < n_pos; ++q)
      std::copy(dy + q * g.c_out, dy + (q + 1) * g.c_out, dy_pad.data() + q * ldb);
    dyb = dy_pad.data();
  }
  const Padded p = padded_geom(g);
  const int64_t row = p.w * g.c_in;
  std::vector<float> x_pad;
  const float* xb = x;
  if (p.any) {
    x_pad.resize(static_cast<std::size_t>(g.n * p.h * row));
    for_chunks(parallel, g.n, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b)
        copy_padded_rows(g, p, x, b, 0, p.h, x_pad.data() + b * p.h * row);
    });
    xb = x_pad.data();
  }
  // One segment per output row; the kernel row i is added to the tile's A base.
  const int64_t n_seg = g.n * g.out_h;
  std::vector<int64_t> a_off(static_cast<std::size_t>(n_seg)), b_off(a_off.size());
  for (int64_t b = 0; b < g.n; ++b)
    for (int64_t oh = 0; oh < g.out_h; ++oh) {
      const auto sidx = static_cast<std::size_t>(b * g.out_h + oh);
      a_off[sidx] = (b * p.h + oh * g.stride_h) * row;
      b_off[sidx] = (b * g.out_h + oh) * g.out_w * ldb;
    }
  // Segments are consumed in chunks that keep their x rows cache-resident across tiles; each
  // chunk adds into dwt (beta = 1), in the same order for every thread count.
  const int64_t seg_floats = g.kh * row + g.out_w * ldb;
  const int64_t seg_chunk = std::max<int64_t>(1, (int64_t{1} << 16) / seg_floats);

  const int64_t n_mtiles = div_up(k_row, s.mr);
  const int64_t mtile = div_up(k_row, n_mtiles);
  const int64_t n_panels = div_up(g.c_out, s.nr);
  const int64_t n_tiles = g.kh * n_mtiles * n_panels;
  for_chunks(parallel, n_tiles, [&](int64_t u0, int64_t u1) {
    for (int64_t s0 = 0; s0 < n_seg; s0 += seg_chunk) {
      GemmTile t;
      t.rs_a = 1;
      t.cs_a = g.stride_w * g.c_in;
      t.ldb = ldb;
      t.a_off = a_off.data() + s0;
      t.b_off = b_off.data() + s0;
      t.n_seg = std::min(seg_chunk, n_seg - s0);
      t.k = g.out_w;
      t.ldc = g.c_out;
      t.beta = 1.0f;
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t i = u / (n_mtiles * n_panels);
        const int64_t m0 = (u / n_panels) % n_mtiles * mtile;
        const int64_t j0 = u % n_panels * s.nr;
        t.m = static_cast<int>(std::min(mtile, k_row - m0));
        t.n = static_cast<int>(std::min(s.nr, g.c_out - j0));
        t.a = xb + i * row + m0;
        t.b = dyb + j0;
        t.c = dwt + (i * k_row + m0) * g.c_out + j0;
        tile_fn(s, true, t.n, t.m)(t);
      }
    }
  });
}

}  // namespace disco::core
