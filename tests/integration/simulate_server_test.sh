#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end on loopback: `disco simulate --server` runs 3 clients (FederatedSessions, one thread
# each) against a real `disco serve` hosting a federated copy of the penguins task. Checks the
# per-round lines and the server's record of the rounds, that two runs against two fresh servers
# give the same lines and byte-identical models, that the in-process simulation of the same task
# file gives the same lines and model too (also on Fashion-MNIST when Debian's copy is
# installed), and the errors a user meets (--rounds, too few clients, a finished task).
# Usage: simulate_server_test.sh <path to disco>
set -euo pipefail
disco=$1
source "$(dirname "$0")/lib.sh"
line='^round [0-9]+/[0-9]+  participants 3  train_loss [0-9.]+  test_loss [0-9.]+  test_acc [0-9.]+$'

# Penguins with 3 participants and 10 rounds of 1 local epoch.
mkdir "$dir/tasks"
federated_task "$here/../../tasks/penguins.json" "$dir/tasks/pen3.json" pen3 3 \
  '{"epochs": 10, "round_duration": 1}'
data=$here/../../tasks/data/penguins.csv

# Starts a fresh server on a free port (state in $dir/$1, log in $dir/$1.log); sets $url.
start_fresh_server() {
  port=
  start_server "$dir/$1.log" "$dir/$1"
}

for run in a b; do
  start_fresh_server "state-$run"
  if [ "$run" = a ]; then
    # Errors, before any client joins.
    rc=0
    "$disco" simulate --server "$url" --task pen3 --clients 2 --data "$data" >/dev/null \
      2>"$dir/few.err" || rc=$?
    [ "$rc" -eq 1 ] || fail "2 clients for a 3-participant task: exit code $rc"
    grep -q "task pen3 needs 3 participants; use --clients 3 or more" "$dir/few.err" ||
      fail "too few clients message"
    rc=0
    "$disco" simulate --server "$url" --task pen3 --clients 3 --rounds 2 --data "$data" \
      >/dev/null 2>"$dir/rounds.err" || rc=$?
    [ "$rc" -eq 1 ] || fail "--rounds with --server: exit code $rc"
    grep -q "the server's task sets the rounds" "$dir/rounds.err" || fail "--rounds message"
  fi
  "$disco" simulate --server "$url" --task pen3 --clients 3 --data "$data" --split iid \
    --no-progress -o "$dir/$run.safetensors" --report-json "$dir/$run.json" \
    >"$dir/$run.out" 2>"$dir/$run.err" || fail "simulate --server run $run failed"
  [ "$(grep -cE "$line" "$dir/$run.out")" -eq 10 ] || fail "run $run: expected 10 round lines"
  grep -q "^round 10/10  participants 3  " "$dir/$run.out" || fail "run $run: no final round line"
  python3 - "$url" <<'PY' || fail "run $run: server status"
import json, sys, urllib.request
st = json.load(urllib.request.urlopen(sys.argv[1] + "/api/tasks/pen3/status"))
assert st["phase"] == "Finished" and st["rounds_completed"] == 10, st
assert [r["contributions"] for r in st["rounds"]] == [3] * 10, st["rounds"]
assert len(st["participants"]) == 3, st["participants"]
PY
  if [ "$run" = b ]; then
    rc=0
    "$disco" simulate --server "$url" --task pen3 --clients 3 --data "$data" >/dev/null \
      2>"$dir/done.err" || rc=$?
    [ "$rc" -eq 1 ] || fail "a finished task: exit code $rc"
    grep -q "task pen3 has already finished" "$dir/done.err" || fail "finished task message"
  fi
  stop_server
done
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
ge "$(jq -r .final.test_accuracy "$dir/a.json")" 0.9 || fail "learned too little"
diff <(grep '^round' "$dir/a.out") <(grep '^round' "$dir/b.out") || fail "round lines differ between servers"
cmp -s "$dir/a.safetensors" "$dir/b.safetensors" || fail "final models differ between servers"

# The in-process simulation of the same task file: same split, seeds, initial model and rounds.
"$disco" simulate --task "$dir/tasks/pen3.json" --clients 3 --data "$data" --split iid \
  --no-progress -o "$dir/local.safetensors" --report-json "$dir/local.json" \
  >"$dir/local.out" 2>"$dir/local.err" || fail "in-process simulate failed"
diff <(grep '^round' "$dir/a.out") <(grep '^round' "$dir/local.out") ||
  fail "round lines differ between --server and in-process"
cmp -s "$dir/a.safetensors" "$dir/local.safetensors" || fail "final models differ: --server vs in-process"
[ "$(jq -r .weights_fnv1a "$dir/a.json")" = "$(jq -r .weights_fnv1a "$dir/local.json")" ] ||
  fail "weight hashes differ"
echo "penguins, 3 clients x 10 rounds: test_acc $(jq -r .final.test_accuracy "$dir/a.json") on two servers and in process"

if [ -d /usr/share/datasets/fashion-mnist ]; then
  # A larger model (55k weights) for the same comparison: the server sums the 3 contributions in
  # float64 in arrival order, which may in principle change a last bit (docs/server.md).
  federated_task "$here/../../tasks/fashion-mnist.json" "$dir/tasks/fm3.json" fm3 3 \
    '{"epochs": 2, "round_duration": 1}'
  fm=(--clients 3 --data /usr/share/datasets/fashion-mnist --limit 3000 --limit-test 1000 --no-progress)
  start_fresh_server state-fm
  "$disco" simulate --server "$url" --task fm3 "${fm[@]}" -o "$dir/fm-server.safetensors" \
    >"$dir/fm-server.out" 2>"$dir/fm-server.err" || fail "fashion-mnist: simulate --server failed"
  stop_server
  "$disco" simulate --task "$dir/tasks/fm3.json" "${fm[@]}" -o "$dir/fm-local.safetensors" \
    >"$dir/fm-local.out" 2>"$dir/fm-local.err" || fail "fashion-mnist: in-process simulate failed"
  [ "$(grep -cE "$line" "$dir/fm-server.out")" -eq 2 ] || fail "fashion-mnist: expected 2 round lines"
  diff <(grep '^round' "$dir/fm-server.out") <(grep '^round' "$dir/fm-local.out") ||
    fail "fashion-mnist: round lines differ between --server and in-process"
  cmp -s "$dir/fm-server.safetensors" "$dir/fm-local.safetensors" ||
    fail "fashion-mnist: final models differ between --server and in-process"
  echo "fashion-mnist, 3 clients x 2 rounds: $(sed -n 's/^round 2\/2 .*  test_acc/test_acc/p' "$dir/fm-server.out") with --server and in process"
fi
echo "PASS"
