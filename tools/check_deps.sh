#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Enforces the module boundaries of STYLE.md 2.3: core, proto and sim do no I/O, start no threads,
# read no clocks and never throw; core includes nothing from the modules above it.
set -uo pipefail
cd "$(dirname "$0")/.."
fail=0
hit() { echo "check_deps: $1"; fail=1; }

pure_dirs=(src/core)
[ -d src/proto ] && pure_dirs+=(src/proto)
[ -d src/sim ] && pure_dirs+=(src/sim)  # the simulator owns a virtual clock, never a real one
pattern='steady_clock::now|system_clock|std::thread|\bthrow\b|std::cout|fopen|std::ifstream|std::ofstream|<emscripten|<boost/'
while IFS= read -r line; do hit "forbidden in core/proto: $line"; done < <(
  grep -rnE "$pattern" "${pure_dirs[@]}" --include='*.cpp' --include='*.hpp' | grep -v '_test\.cpp:')
while IFS= read -r line; do hit "core includes an upper module: $line"; done < <(
  grep -rnE '#include "(proto|sim|net|wasm|server|cli|runtime)/' src/core --include='*.cpp' --include='*.hpp' | grep -v '_test\.cpp:')
while IFS= read -r line; do hit "base includes beyond the standard library: $line"; done < <(
  grep -rnE '#include "' src/core/base --include='*.cpp' --include='*.hpp' | grep -v '"core/base/')
exit $fail
