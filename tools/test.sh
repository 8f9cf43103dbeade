#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's test command: installs what is missing, builds natively and for WebAssembly, runs
# every test (native unit + integration, the core's unit tests under node), the dependency and
# format checks, and the benchmarks at smoke size.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
export NODE_PATH=/usr/share/nodejs

echo "== checks"
tools/check_deps.sh
tools/format.sh --check

echo "== native build and tests"
tools/build.sh native-release -DDISCO_WERROR=ON
ctest --preset native-release -j2

echo "== wasm build and tests"
tools/build.sh wasm-release -DDISCO_WERROR=ON
ctest --preset wasm-release

echo "== benchmark smoke"
tools/bench_smoke.sh
echo "== all tests passed"
