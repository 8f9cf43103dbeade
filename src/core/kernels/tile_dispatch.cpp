// SPDX-License-Identifier: Apache-2.0
// Chooses the tile kernels once per process from the CPU's features. The x86 tables exist only
// when kernels.cmake compiled them (DISCO_KERNELS_X86); otherwise the portable table is used.
#include "core/kernels/tile_kernel.hpp"

namespace disco::core {
namespace {

struct Choice {
  const TileKernels* wide;
  const TileKernels* narrow;
};

Choice choose() {
#if defined(DISCO_KERNELS_X86)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl"))
    return {&tile_kernels_avx512(), &tile_kernels_avx512_narrow()};
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return {&tile_kernels_avx2(), &tile_kernels_avx2()};
#endif
  return {&tile_kernels_generic(), &tile_kernels_generic()};
}

const Choice& choice() {
  static const Choice kChoice = choose();
  return kChoice;
}

}  // namespace

const TileKernels& tile_kernels_wide() { return *choice().wide; }
const TileKernels& tile_kernels_narrow() { return *choice().narrow; }
const TileKernels& tile_kernels_for(int64_t n) {
  const TileKernels& narrow = tile_kernels_narrow();
  return n <= narrow.width ? narrow : tile_kernels_wide();
}

}  // namespace disco::core
