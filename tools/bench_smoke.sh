#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every benchmark at a tiny size so CI notices when one breaks: the native Google Benchmark
# executables and the WebAssembly kernels benchmark under node. Figures printed here are not
# meaningful; bench/README.md describes the real runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=/usr/share/nodejs
for b in build/native-release/bench/*_bench; do
  [ -x "$b" ] || continue
  echo "-- $b"
  "$b" --benchmark_min_time=0.01 >/dev/null
done
# Round overhead (bench/round_overhead.cpp): 2 clients, 2 tiny rounds against the real server.
b=build/native-release/bench/round_overhead
if [ -x "$b" ] && [ -d /usr/share/datasets/fashion-mnist ]; then
  echo "-- $b"
  "$b" --clients 2 --rounds 2 --samples-per-client 128 --timeout-s 60 >/dev/null
fi
# Server scale (bench/server_scale.sh): 20 clients, 2 rounds against a real `disco serve`.
if [ -x build/native-release/bench/server_scale ]; then
  echo "-- bench/server_scale.sh"
  bench/server_scale.sh --clients 20 --rounds 2 >/dev/null
fi
for b in build/wasm-release/bench/*_bench.js; do
  [ -f "$b" ] || continue
  echo "-- $b"
  node --no-experimental-fetch "$b" 0.01 >/dev/null
done
# Browser training throughput (bench/browser_throughput.sh): every path (disco wasm in Chromium,
# native disco, PyTorch, TF.js) at a tiny size; fails only when a path breaks.
if [ -f build/wasm-release/src/wasm/disco.mjs ] && [ -x /usr/bin/chromium ]; then
  echo "-- bench/browser_throughput.sh --smoke"
  bench/browser_throughput.sh --smoke >/dev/null
fi
