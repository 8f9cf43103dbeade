// SPDX-License-Identifier: Apache-2.0
// gemm(): blocks C into register tiles and runs the ISA-specific tile kernel on each. A is read in
// place (row-major tiles when A is stored M x K, column-major tiles when it is stored K x M), B is
// read in place when it is stored K x N with N a multiple of the vector width and otherwise
// packed once into a zero-padded K x N' copy. Tasks own disjoint blocks of C and K is blocked the
// same way for every thread count, so results never depend on `parallel`.
#include "core/kernels/gemm.hpp"

#include <algorithm>
#include <cstddef>
#include <vector>

#include "core/kernels/tile_kernel.hpp"

namespace disco::core {
namespace {

constexpr int64_t kKc = 256;      // K block: a B panel of kKc x 48 floats stays in L1/L2
constexpr int64_t kMcRows = 144;  // rows of A revisited per K block

void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

}  // namespace

void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t p = 0; p < k; ++p) {
        float av = trans_a ? a[p * lda + i] : a[i * lda + p];
        float bv = trans_b ? b[j * ldb + p] : b[p * ldb + j];
        acc += static_cast<double>(av) * bv;
      }
      float prev = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
      c[i * ldc + j] = alpha * static_cast<float>(acc) + prev;
    }
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
          Parallel& parallel) {
  gemm_with(tile_kernels_for(n), trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
            parallel);
}

void gemm_with(const TileKernels& ks, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
               float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
               float* c, int64_t ldc, Parallel& parallel) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c, ldc);
    return;
  }
  const int64_t width = ks.width;
  const int nv = static_cast<int>(std::min<int64_t>(ks.max_nv, (n + width - 1) / width));
  const int64_t nr = nv * width;
  const int mr = ks.max_mr[nv - 1];

  std::vector<float> packed;
  const float* bp = b;
  int64_t ldbp = ldb;
  if (trans_b || n % width != 0) {
    ldbp = (n + width - 1) / width * width;
    packed.assign(static_cast<std::size_t>(k * ldbp), 0.0f);
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j)
        packed[static_cast<std::size_t>(p * ldbp + j)] = trans_b ? b[j * ldb + p] : b[p * ldb + j];
    bp = packed.data();
  }
  const int64_t rs_a = trans_a ? 1 : lda;
  const int64_t cs_a = trans_a ? lda : 1;

  const int64_t mc = std::max<int64_t>(mr, kMcRows / mr * mr);
  const int64_t n_row_blocks = (m + mc - 1) / mc;
  const int64_t n_panels = (n + nr - 1) / nr;
  const int64_t want = 2 * static_cast<int64_t>(parallel.n_threads());
  const int64_t n_col_groups =
      n_row_blocks >= want ? 1 : std::min(n_panels, (want + n_row_blocks - 1) / n_row_blocks);
  const int64_t panels_per_group = (n_panels + n_col_groups - 1) / n_col_groups;

  auto run_unit = [&](std::size_t unit) {
    const int64_t rb = static_cast<int64_t>(unit) / n_col_groups;
    const int64_t cg = static_cast<int64_t>(unit) % n_col_groups;
    const int64_t i0 = rb * mc, i1 = std::min(m, i0 + mc);
    const int64_t pj0 = cg * panels_per_group, pj1 = std::min(n_panels, pj0 + panels_per_group);
    for (int64_t p0 = 0; p0 < k; p0 += kKc) {
      GemmTile t;
      t.rs_a = rs_a;
      t.cs_a = cs_a;
      t.ldb = ldbp;
      t.k = std::min(kKc, k - p0);
      t.ldc = ldc;
      t.alpha = alpha;
      t.beta = p0 == 0 ? beta : 1.0f;
      for (int64_t pj = pj0; pj < pj1; ++pj) {
        const int64_t j0 = pj * nr;
        t.n = static_cast<int>(std::min(nr, n - j0));
        const int tnv = static_cast<int>((t.n + width - 1) / width);
        t.b = bp + p0 * ldbp + j0;
        for (int64_t i = i0; i < i1; i += mr) {
          t.m = static_cast<int>(std::min<int64_t>(mr, i1 - i));
          t.a = a + i * rs_a + p0 * cs_a;
          t.c = c + i * ldc + j0;
          ks.get(trans_a, tnv, t.m)(t);
        }
      }
    }
  };
  const std::size_t n_units = static_cast<std::size_t>(n_row_blocks * n_col_groups);
  if (n_units == 1 || parallel.n_threads() == 1) {
    for (std::size_t u = 0; u < n_units; ++u) run_unit(u);
  } else {
    parallel.run(n_units, run_unit);
  }
}

const char* gemm_isa() { return tile_kernels_wide().name; }

}  // namespace disco::core
