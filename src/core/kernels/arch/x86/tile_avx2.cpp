// SPDX-License-Identifier: Apache-2.0
// AVX2+FMA tile kernels (compiled with -mavx2 -mfma; called only after a runtime CPU check).
// 16 vector registers bound the tile at 12 accumulators (12x8, 6x16, 4x24).
#include "core/kernels/tile_kernel.inc"

namespace disco::core {

const TileKernels& tile_kernels_avx2() {
  static constexpr TileKernels kKernels = make_tile_kernels<8, 12, 6, 4>("avx2");
  return kKernels;
}

}  // namespace disco::core
