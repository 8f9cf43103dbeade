// SPDX-License-Identifier: Apache-2.0
// Portable 4-lane tile kernels: SSE2 natively (the fallback when the CPU has no AVX2) and WASM
// SIMD128 under em++ -msimd128. Neither has FMA, so this is plain multiply-add.
#include "core/kernels/tile_kernel.inc"

namespace disco::core {

const TileKernels& tile_kernels_generic() {
#if defined(__wasm_simd128__)
  static constexpr TileKernels kKernels = make_tile_kernels<4, 12, 6, 4>("wasm-simd128");
#else
  static constexpr TileKernels kKernels = make_tile_kernels<4, 12, 6, 4>("generic");
#endif
  return kKernels;
}

}  // namespace disco::core
