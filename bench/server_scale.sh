#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Server scale: N concurrent federated clients (bench/server_scale.cpp, instant local training)
# against a real `disco serve` process on loopback, with a tiny model. Reports the server's peak
# RSS against the target (3 x model size + 64 KiB per client) and the aggregation throughput.
#   bench/server_scale.sh [--clients N] [--rounds R] [--params-hidden H]
# Environment: DISCO_BIN (default build/native-release/src/cli/disco), SCALE_BIN (default
# build/native-release/bench/server_scale).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
disco=${DISCO_BIN:-$root/build/native-release/src/cli/disco}
gen=${SCALE_BIN:-$root/build/native-release/bench/server_scale}
clients=1000
rounds=5
hidden=128
while [ $# -gt 0 ]; do
  case $1 in
    --clients) clients=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --params-hidden) hidden=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
dir=$(mktemp -d)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$dir"' EXIT

mkdir "$dir/tasks"
python3 - "$dir/tasks/scale.json" "$clients" "$rounds" "$hidden" <<'PY'
import json, sys
path, clients, rounds, hidden = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cols = ["x%d" % i for i in range(64)]
json.dump({
  "id": "scale", "title": "server scale benchmark",
  "data": {"type": "tabular", "labels": [str(i) for i in range(10)],
           "tabular": {"input_columns": cols, "output_columns": ["y"]}},
  "model": {"input_shape": [64],
            "layers": [{"type": "dense", "units": hidden, "activation": "relu"},
                       {"type": "dense", "units": 10, "activation": "softmax"}],
            "loss": "sparse_categorical_crossentropy", "optimizer": {"type": "sgd", "learning_rate": 0.1}},
  "training": {"epochs": rounds, "batch_size": 32},
  "federation": {"scheme": "federated", "min_participants": clients}
}, open(path, "w"))
PY

"$disco" serve --port 0 --data-dir "$dir/state" --tasks-dir "$dir/tasks" 2>"$dir/server.log" &
server_pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$dir/server.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$dir/server.log"; exit 1; }
idle_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server_pid/status")

"$gen" --task "$dir/tasks/scale.json" --url "ws://127.0.0.1:$port/ws/scale" --clients "$clients" \
  | tee "$dir/gen.out"
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
model_bytes=$(sed -n 's/.* model_bytes=\([0-9]*\).*/\1/p' "$dir/gen.out" | tail -1)
awk -v idle="$idle_kb" -v peak="$peak_kb" -v m="$model_bytes" -v n="$clients" 'BEGIN {
  target = (3 * m + 65536 * n) / 1024
  printf "server_rss_idle_kib=%d server_rss_peak_kib=%d target_kib=%d peak_over_target=%.2f\n",
         idle, peak, target, peak / target
  printf "server_rss_per_client_kib=%.1f (peak minus idle, over clients)\n", (peak - idle) / n
}'
