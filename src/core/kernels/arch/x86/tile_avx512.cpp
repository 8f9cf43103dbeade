// SPDX-License-Identifier: Apache-2.0
// AVX-512 tile kernels (compiled with -mavx512f -mavx512vl -mfma; called only after a runtime
// CPU check). 32 vector registers allow up to 24 one-vector accumulator rows; the narrow table
// uses 8-lane ymm registers for problems of at most 8 columns (e.g. 8 output channels).
#include "core/kernels/tile_kernel.inc"

namespace disco::core {

const TileKernels& tile_kernels_avx512() {
  static constexpr TileKernels kKernels = make_tile_kernels<16, 24, 12, 8>("avx512");
  return kKernels;
}

const TileKernels& tile_kernels_avx512_narrow() {
  static constexpr TileKernels kKernels = make_tile_kernels<8, 24, 12, 8>("avx512");
  return kKernels;
}

}  // namespace disco::core
