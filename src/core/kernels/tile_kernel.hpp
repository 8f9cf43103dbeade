// SPDX-License-Identifier: Apache-2.0
// The register-tile micro-kernel that gemm() and the convolutions are built on, and the runtime
// choice of its ISA. Internal to src/core/kernels. One call computes an (m x n) block of
//   C = alpha * sum_s A_s * B_s + beta * C     (beta == 0: C is not read)
// where the K sum runs over n_seg "segments" of k steps each, in order, in registers. Segments
// let a convolution sum over kernel rows (or over every output row, for weight gradients)
// without ever materialising an im2col matrix. Each C element is summed in a fixed order that
// depends only on the segment list and k, never on which thread or tile shape ran it, which is
// what makes the callers' results independent of the thread count.
#pragma once

#include <cstdint>

namespace disco {
class Parallel;  // core/base/parallel.hpp; not included so that the ISA files see no std templates
}

namespace disco::core {

// A tile problem. Element (row r, step p) of A in segment s is
//   a[a_off[s] + r * rs_a + p * cs_a]
// and element (p, col j) of B is b[b_off[s] + p * ldb + j]. a_off/b_off may be null for a single
// segment at offset 0 (then n_seg must be 1). B rows must be readable for the whole padded tile
// width (nv * width floats from the tile's first column), even past column n: callers pad B.
// C rows (c + r * ldc, n floats each) may overlap (ldc < n): rows are read and written in order,
// so with beta == 1 overlapping rows accumulate exactly as sequential += would.
struct GemmTile {
  const float* a = nullptr;
  int64_t rs_a = 0, cs_a = 1;
  const float* b = nullptr;
  int64_t ldb = 0;
  const int64_t* a_off = nullptr;
  const int64_t* b_off = nullptr;
  int64_t n_seg = 1;
  int64_t k = 0;
  float* c = nullptr;
  int64_t ldc = 0;
  float alpha = 1.0f, beta = 0.0f;
  int m = 0, n = 0;  // valid rows (<= mr of the function) and columns (<= nv * width)
};

using TileFn = void (*)(const GemmTile&);

// The tile functions of one ISA and vector width. row_major[nv-1][mr-1] requires cs_a == 1 (A
// rows contiguous along k); col_major[nv-1][mr-1] requires rs_a == 1 (the rows of one k step are
// contiguous). Entries exist for 1 <= nv <= max_nv and 1 <= mr <= max_mr[nv-1].
struct TileKernels {
  static constexpr int kMaxNv = 3;
  static constexpr int kMaxMr = 24;
  const char* name = "";
  int width = 0;  // floats per vector
  int max_nv = 0;
  int max_mr[kMaxNv] = {};
  // A tight multiply-add loop on this ISA's registers (benchmarks use it as the machine peak):
  // performs exactly peak_flops_per_iter() * n_iters floating-point operations and returns a
  // value that depends on all of them.
  float (*peak_loop)(int64_t n_iters, float seed) = nullptr;
  TileFn row_major[kMaxNv][kMaxMr] = {};
  TileFn col_major[kMaxNv][kMaxMr] = {};

  static constexpr int kPeakAccumulators = 16;
  int64_t peak_flops_per_iter() const { return 2 * kPeakAccumulators * width; }

  TileFn get(bool col, int nv, int mr) const {
    return col ? col_major[nv - 1][mr - 1] : row_major[nv - 1][mr - 1];
  }
};

// The widest kernel set this CPU supports (chosen once, thread-safe), and a narrower set for
// problems whose n fits in fewer lanes (on AVX-512 this is the 8-lane AVX-512VL set).
const TileKernels& tile_kernels_wide();
const TileKernels& tile_kernels_narrow();
// Picks the set for an n-column problem: narrow if n fits in its width, else wide.
const TileKernels& tile_kernels_for(int64_t n);

// Per-ISA sets; only those compiled for this target exist (see kernels.cmake).
const TileKernels& tile_kernels_avx512();
const TileKernels& tile_kernels_avx512_narrow();
const TileKernels& tile_kernels_avx2();
const TileKernels& tile_kernels_generic();

// gemm() (gemm.hpp, same contract) forced onto one kernel set, so tests can check every ISA the
// CPU supports and benchmarks can compare them.
void gemm_with(const TileKernels& kernels, bool trans_a, bool trans_b, int64_t m, int64_t n,
               int64_t k, float alpha, const float* a, int64_t lda, const float* b, int64_t ldb,
               float beta, float* c, int64_t ldc, Parallel& parallel);

}  // namespace disco::core
