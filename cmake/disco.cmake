# SPDX-License-Identifier: Apache-2.0
# Helpers shared by every module's CMakeLists.

# disco_test(<target> SOURCES <files...> LIBS <libs...>): one GoogleTest executable.
# Natively its tests are discovered into ctest; under Emscripten the executable is a single-file
# node program (-sENVIRONMENT=node -sSINGLE_FILE=1) run by ctest as one test.
function(disco_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  if(EMSCRIPTEN)
    target_link_options(${name} PRIVATE -sSINGLE_FILE=1 -sENVIRONMENT=node -sEXIT_RUNTIME=1
                        -sNODERAWFS=1 -sPROXY_TO_PTHREAD=1)
    add_test(NAME wasm.${name} COMMAND node --no-experimental-fetch $<TARGET_FILE:${name}>)
    set_tests_properties(wasm.${name} PROPERTIES ENVIRONMENT "NODE_PATH=/usr/share/nodejs")
  else()
    gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60)
  endif()
endfunction()
