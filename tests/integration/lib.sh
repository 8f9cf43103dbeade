# SPDX-License-Identifier: Apache-2.0
# Shared by the integration scripts that run a real `disco serve`: sourced right after
# `set -euo pipefail` and `disco=$1`. Provides $here, a temporary $dir removed on exit (with
# the server and any background job), fail (prints the logs in $dir), start_server,
# stop_server and federated_task.
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
dir=$(mktemp -d)
server_pid=
stop_server() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}
cleanup() {
  stop_server
  jobs -p | xargs -r kill 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR
fail() {
  echo "FAIL: $*" >&2
  for f in "$dir"/*.log "$dir"/*.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -25 "$f" >&2; }; done
  exit 1
}

# start_server LOG STATE_DIR [serve options...]: starts `disco serve` on $port (a free port
# when $port is empty) with the tasks of $dir/tasks, waits for its "listening" line and sets
# server_pid, port and url.
start_server() {
  local log=$1 state=$2 p=
  shift 2
  "$disco" serve --port "${port:-0}" --data-dir "$state" --tasks-dir "$dir/tasks" "$@" 2>"$log" &
  server_pid=$!
  for _ in $(seq 100); do
    p=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    [ -n "$p" ] && break
    kill -0 "$server_pid" 2>/dev/null || fail "the server ($log) exited"
    sleep 0.1
  done
  [ -n "$p" ] || fail "the server ($log) did not start"
  port=$p
  url=http://127.0.0.1:$port
}

# federated_task SRC OUT ID MIN_PARTICIPANTS TRAINING_JSON: writes a copy of task file SRC as
# OUT with id ID, the training fields of TRAINING_JSON, and federation {federated, MIN}.
federated_task() {
  python3 - "$@" <<'PY'
import json, sys
src, out, task_id, min_p, training = sys.argv[1:6]
t = json.load(open(src))
t["id"] = task_id
t["training"].update(json.loads(training))
t["federation"] = {"scheme": "federated", "min_participants": int(min_p)}
json.dump(t, open(out, "w"), indent=1)
PY
}
