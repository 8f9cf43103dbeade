#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every benchmark at a tiny size so CI notices when one breaks. Figures printed here are not
# meaningful; see README.md "Benchmarks" for the real runs.
set -euo pipefail
cd "$(dirname "$0")/.."
for b in build/native-release/bench/*_bench; do
  [ -x "$b" ] || continue
  echo "-- $b"
  "$b" --benchmark_min_time=0.01 >/dev/null
done
