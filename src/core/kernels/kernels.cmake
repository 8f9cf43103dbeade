# SPDX-License-Identifier: Apache-2.0
# Included from src/core/CMakeLists.txt: adds the compute kernels to disco_core. Portable sources
# sit in this folder; ISA-specific tile kernels in arch/<target>/ get their -m flags here and are
# only called after a runtime CPU check (tile_dispatch.cpp), so the library still runs on any
# x86-64. No -march=native and no -ffast-math: only FMA contraction is enabled on kernel files.
file(GLOB DISCO_KERNEL_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
list(FILTER DISCO_KERNEL_SOURCES EXCLUDE REGEX "_test\\.cpp$")
target_sources(disco_core PRIVATE ${DISCO_KERNEL_SOURCES})
set_source_files_properties(${DISCO_KERNEL_SOURCES} PROPERTIES COMPILE_OPTIONS "-ffp-contract=fast")

if(EMSCRIPTEN)
  # tile_generic.cpp is the SIMD128 path (the build already passes -msimd128).
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set(_kdir ${CMAKE_CURRENT_LIST_DIR}/arch/x86)
  target_sources(disco_core PRIVATE ${_kdir}/tile_avx512.cpp ${_kdir}/tile_avx2.cpp)
  set_source_files_properties(${_kdir}/tile_avx512.cpp PROPERTIES COMPILE_OPTIONS
                              "-mavx512f;-mavx512vl;-mavx2;-mfma;-ffp-contract=fast")
  set_source_files_properties(${_kdir}/tile_avx2.cpp PROPERTIES COMPILE_OPTIONS
                              "-mavx2;-mfma;-ffp-contract=fast")
  set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/tile_dispatch.cpp PROPERTIES
                              COMPILE_DEFINITIONS DISCO_KERNELS_X86=1)
endif()
