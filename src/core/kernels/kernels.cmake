# SPDX-License-Identifier: Apache-2.0
# Included from src/core/CMakeLists.txt: adds the compute kernels to disco_core.
file(GLOB DISCO_KERNEL_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.cpp)
list(FILTER DISCO_KERNEL_SOURCES EXCLUDE REGEX "_test\\.cpp$")
target_sources(disco_core PRIVATE ${DISCO_KERNEL_SOURCES})
