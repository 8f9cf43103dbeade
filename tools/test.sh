#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's test command: installs what is missing, builds natively and for WebAssembly, runs
# every test (native unit + integration, the core's unit tests under node), the dependency and
# format checks, and the benchmarks at smoke size. Ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
export NODE_PATH=/usr/share/nodejs
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== checks"
tools/check_deps.sh
tools/format.sh --check

echo "== native build and tests"
tools/build.sh native-release -DDISCO_WERROR=ON
ctest --preset native-release -j2 | tee -a "$log"

echo "== wasm build and tests"
tools/build.sh wasm-release -DDISCO_WERROR=ON
ctest --preset wasm-release | tee -a "$log"

echo "== web app: one-thread module, type check + build, unit tests (Vitest), end-to-end (Chromium)"
tools/build.sh wasm-single -DDISCO_WERROR=ON
tools/build_web.sh
(cd web && NO_COLOR=1 npx vitest run --reporter=dot) | tee -a "$log"
node web/e2e/app.mjs | tee -a "$log"
(cd web && node e2e/engine_smoke.mjs) | tee -a "$log"

echo "== benchmark smoke"
tools/bench_smoke.sh

# ctest: "100% tests passed, 0 tests failed out of N"; Vitest: "Tests  N passed (N)";
# the end-to-end run: "e2e: N passed"; the engine smoke run: "engine smoke: OK" (one). Any
# failure has stopped the script before this point.
total=$( {
  sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$log"
  sed -n 's/^ *Tests  *\([0-9]*\) passed.*/\1/p' "$log"
  sed -n 's/^e2e: \([0-9]*\) passed.*/\1/p' "$log"
  sed -n 's/^engine smoke: OK$/1/p' "$log"
} | awk '{ s += $1 } END { print s + 0 }')
echo "$total passed, 0 failed"
