// SPDX-License-Identifier: Apache-2.0
// Single-precision matrix multiply, the kernel under Dense and Conv2D.
// Row-major: C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, where op(X) is X or X^T.
// A is (M x K) with row stride lda when !trans_a, else stored (K x M) with stride lda; likewise B.
// When beta == 0, C is written without being read (it may hold NaN). Work is split over
// `parallel`; results do not depend on the number of threads (each C element is owned by one
// task, summed in a fixed order). Thread-safe for distinct C.
#pragma once

#include <cstdint>

#include "core/base/parallel.hpp"

namespace disco::core {

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
          int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc,
          Parallel& parallel);

// Triple-loop reference with double accumulation, for tests and benchmarks.
void gemm_reference(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                    const float* a, int64_t lda, const float* b, int64_t ldb, float beta, float* c,
                    int64_t ldc);

// Which SIMD path gemm() uses on this machine: "avx512", "avx2", "wasm-simd128" or "generic".
const char* gemm_isa();

}  // namespace disco::core
