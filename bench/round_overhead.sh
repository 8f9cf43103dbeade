#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Round overhead at 3 and 30 clients: runs bench/round_overhead.cpp (server::App and N
# FederatedSessions in one process, Fashion-MNIST CNN, iid shards of the 60,000 training images)
# once per client count and prints its per-round lines and summary lines.
#   bench/round_overhead.sh [--clients "3 30"] [any round_overhead option, e.g. --rounds 5]
# Environment: OVERHEAD_BIN (default build/native-release/bench/round_overhead; built with the
# native-release preset when missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${OVERHEAD_BIN:-$root/build/native-release/bench/round_overhead}
counts="3 30"
args=()
while [ $# -gt 0 ]; do
  case $1 in
    --clients) counts=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
if [ ! -x "$bin" ]; then
  (cd "$root" && cmake --preset native-release >/dev/null)
  cmake --build "$root/build/native-release" --target round_overhead -j2 >/dev/null
fi
for n in $counts; do
  echo "# round_overhead --clients $n ${args[*]:-}"
  "$bin" --clients "$n" "${args[@]}"
done
