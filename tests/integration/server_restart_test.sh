#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Durability: a server training a federated task is killed with SIGKILL after a few rounds and
# restarted on the same data directory. It must resume at its last committed round (not round 1),
# the two clients must reconnect by themselves and finish, and every round must be recorded
# exactly once. A third client joins mid-training and must finish with the same final model.
# Usage: server_restart_test.sh <path to disco>
set -euo pipefail
disco=$1
source "$(dirname "$0")/lib.sh"
[ -d /usr/share/datasets/fashion-mnist ] || { echo "SKIP: no fashion-mnist"; exit 0; }

"$here/make_shards.py" "$dir/data" 3 3000 500 3
mkdir "$dir/tasks"
federated_task "$here/../../tasks/fashion-mnist.json" "$dir/tasks/fmr.json" fmr 2 \
  '{"epochs": 12, "round_duration": 1, "validation_split": 0, "batch_size": 32}'

rounds_completed() {
  python3 -c "import json,urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:$port/api/tasks/fmr/status'))['rounds_completed'])" 2>/dev/null || echo -1
}

start_server "$dir/server1.log" "$dir/state"
pids=()
for k in 0 1; do
  "$disco" train --server "$url" --task fmr --data "$dir/data/shard-$k" --no-progress \
    -o "$dir/fed-$k.safetensors" >"$dir/client-$k.log" 2>&1 &
  pids+=($!)
done

# Kill the server hard once 3 rounds are committed.
for _ in $(seq 600); do
  [ "$(rounds_completed)" -ge 3 ] && break
  sleep 0.1
done
done_before=$(rounds_completed)
[ "$done_before" -ge 3 ] || fail "3 rounds did not complete within 60 s"
[ "$done_before" -lt 12 ] || fail "training finished before the kill (make rounds longer)"
kill -9 "$server_pid"
wait "$server_pid" 2>/dev/null || true
server_pid=
sleep 1

start_server "$dir/server2.log" "$dir/state"
grep -q "task fmr: resuming after round" "$dir/server2.log" || fail "the restarted server did not resume"
resumed=$(sed -n 's/.*task fmr: resuming after round \([0-9]*\) .*/\1/p' "$dir/server2.log")
[ "$resumed" -ge 3 ] || fail "resumed after round $resumed, expected >= 3"

# A third client joins the resumed training.
"$disco" train --server "$url" --task fmr --data "$dir/data/shard-2" --no-progress \
  -o "$dir/fed-2.safetensors" >"$dir/client-2.log" 2>&1 &
pids+=($!)

for k in 0 1 2; do wait "${pids[$k]}" || fail "client $k failed"; done
cmp -s "$dir/fed-0.safetensors" "$dir/fed-1.safetensors" || fail "clients 0 and 1 ended with different models"
cmp -s "$dir/fed-0.safetensors" "$dir/fed-2.safetensors" || fail "the late client ended with another model"

python3 - "$url" "$resumed" <<'PY'
import json, sys, urllib.request
st = json.load(urllib.request.urlopen(sys.argv[1] + "/api/tasks/fmr/status"))
rounds = [r["round"] for r in st["rounds"]]
assert st["phase"] == "Finished", st["phase"]
assert rounds == list(range(1, 13)), "rounds recorded: %r" % rounds
print("resumed after round %s; rounds 1..12 recorded once each" % sys.argv[2])
PY
# The downloaded global model is the clients' final model.
python3 -c "import urllib.request; open('$dir/served.safetensors','wb').write(urllib.request.urlopen('$url/api/tasks/fmr/model').read())"
"$disco" evaluate --task "$dir/tasks/fmr.json" --model "$dir/served.safetensors" --data "$dir/data/all" >"$dir/served-eval.log"
"$disco" evaluate --task "$dir/tasks/fmr.json" --model "$dir/fed-0.safetensors" --data "$dir/data/all" >"$dir/fed-eval.log"
[ "$(grep '^accuracy' "$dir/served-eval.log")" = "$(grep '^accuracy' "$dir/fed-eval.log")" ] ||
  fail "served model differs from the clients' final model"
echo "PASS"
