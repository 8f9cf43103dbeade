#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Same seed, same weights: trains the penguins task for 2 epochs through the C ABI with 1 thread,
# natively (disco_capi_train) and in wasm (capi_train.cjs on disco_node.js), and requires the
# trained weights to agree within 1e-5 (max abs difference).
# Usage: same_seed_test.sh <native disco_capi_train> <disco_node.js> <source dir> <work dir>
# Exits 77 (ctest: skipped) when the native driver has not been built.
set -euo pipefail
native=$1 module=$2 src=$3 work=$4
if [ ! -x "$native" ]; then
  echo "SKIP: native driver $native not found (build the native-release preset first," \
       "or configure with -DDISCO_NATIVE_BUILD_DIR=<native build dir>)"
  exit 77
fi
mkdir -p "$work"
task=$src/tasks/penguins.json csv=$src/tasks/data/penguins.csv
epochs=2 batch=16 seed=7
"$native" "$task" "$csv" $epochs $batch $seed "$work/native.f32"
node --no-experimental-fetch "$src/tests/wasm/capi_train.cjs" "$module" "$task" "$csv" \
  $epochs $batch $seed "$work/wasm.f32"
node -e '
const fs = require("fs");
const read = (p) => { const b = fs.readFileSync(p); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); };
const a = read(process.argv[1]), b = read(process.argv[2]);
if (a.length !== b.length || a.length === 0) { console.log(`FAIL: ${a.length} vs ${b.length} weights`); process.exit(1); }
let max = 0;
for (let i = 0; i < a.length; ++i) max = Math.max(max, Math.abs(a[i] - b[i]));
const ok = Number.isFinite(max) && max <= 1e-5;
console.log(`${ok ? "PASS" : "FAIL"}: ${a.length} weights, max abs diff native vs wasm = ${max.toExponential(3)} (limit 1e-5)`);
process.exit(ok ? 0 : 1);
' "$work/native.f32" "$work/wasm.f32"
