// SPDX-License-Identifier: Apache-2.0
// Portable 4-lane tile kernels: SSE2 natively (the fallback when the CPU has no AVX2) and WASM
// SIMD128 under em++ -msimd128. Neither has FMA, so this is plain multiply-add. In wasm the
// widest tile is 6 rows x 2 vectors (12 accumulators + 2 B vectors + 1 broadcast = 15 registers):
// V8 on x64 has 15 SIMD registers to give, and a 4 x 3 tile (16) spills. Measured with
// build/wasm-release/bench/kernels_bench.js, 1 thread: MNIST conv2 forward 28.1 -> 34.8 GFLOP/s.
#include "core/kernels/tile_kernel.inc"

namespace disco::core {

const TileKernels& tile_kernels_generic() {
#if defined(__wasm_simd128__)
  static constexpr TileKernels kKernels = make_tile_kernels<4, 12, 6, 0>("wasm-simd128");
#else
  static constexpr TileKernels kKernels = make_tile_kernels<4, 12, 6, 4>("generic");
#endif
  return kKernels;
}

}  // namespace disco::core
