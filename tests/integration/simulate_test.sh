#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end test of `disco simulate`: the per-round lines, the report and the saved model on the
# tabular task (iid and dirichlet splits), bit-identical reruns (also across thread counts), the
# errors a user meets (bad --split, more clients than samples), and federated vs centralized
# accuracy on the same rows: penguins with the task's settings, and, when Debian's Fashion-MNIST
# is installed, 3 iid clients x 5 rounds against `disco train` for 5 epochs on the same 6000
# samples, both scored on the same 2000 test images. Usage: simulate_test.sh <path to disco>
set -euo pipefail
disco=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR
fail() { echo "FAIL: $*" >&2; exit 1; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
line='^round [0-9]+/[0-9]+  participants [0-9]+  train_loss [0-9.]+  test_loss [0-9.]+  test_acc [0-9.]+$'

# Errors: exit code 1 and one clear line, before any data is read.
rc=0
"$disco" simulate --task penguins --clients 3 --split dirichlet:abc >"$dir/out" 2>"$dir/err" || rc=$?
[ "$rc" -eq 1 ] || fail "bad --split: exit code $rc, expected 1"
grep -qx "disco: error: --split: split 'dirichlet:abc': ALPHA 'abc' is not a positive decimal number" \
  "$dir/err" || fail "bad --split message: $(cat "$dir/err")"
rc=0
"$disco" simulate --task penguins --clients 3 --split noniid >/dev/null 2>"$dir/err" || rc=$?
[ "$rc" -eq 1 ] || fail "unknown --split: exit code $rc"
grep -q "expected \"iid\" or \"dirichlet:ALPHA\"" "$dir/err" || fail "unknown --split message: $(cat "$dir/err")"
rc=0
"$disco" simulate --task penguins --clients 500 >/dev/null 2>"$dir/err" || rc=$?
[ "$rc" -eq 1 ] || fail "500 clients: exit code $rc"
grep -q "cannot split 275 samples among 500 clients" "$dir/err" || fail "too many clients message: $(cat "$dir/err")"

# Tabular, 3 iid clients, the task's 30 rounds; the test set is the task's 20% held out, the same
# rows `disco train` validates on.
"$disco" simulate --task penguins --clients 3 --no-progress -o "$dir/p.safetensors" \
  --report-json "$dir/p.json" >"$dir/p.out" 2>"$dir/p.err"
[ "$(grep -cE "$line" "$dir/p.out")" -eq 30 ] || fail "penguins: expected 30 round lines: $(cat "$dir/p.out")"
grep -q "^round 30/30  participants 3  " "$dir/p.out" || fail "penguins: no final round line"
grep -q "test set: 69 samples" "$dir/p.err" || fail "penguins test set: $(cat "$dir/p.err")"
fed=$(jq -r .final.test_accuracy "$dir/p.json")
[ "$(jq '.client_samples | add' "$dir/p.json")" -eq 275 ] || fail "client samples do not add up"
[ "$(jq '.rounds | length' "$dir/p.json")" -eq 30 ] || fail "report rounds"
"$disco" train --task penguins --no-progress -o "$dir/c.safetensors" >"$dir/c.out" 2>/dev/null
central=$(sed -n 's/^epoch 30\/30 .* val_acc \([0-9.]*\) .*/\1/p' "$dir/c.out")
ge "$fed" 0.95 || fail "penguins federated accuracy $fed < 0.95"
ge "$fed" "$(awk -v c="$central" 'BEGIN { print c - 0.03 }')" ||
  fail "penguins federated $fed vs centralized $central"
echo "penguins: federated (3 clients, 30 rounds) $fed, centralized (30 epochs) $central"
# The model carries its tabular transform, so evaluate reads the CSV the same way.
"$disco" evaluate --task penguins --model "$dir/p.safetensors" >"$dir/e.out"
ge "$(sed -n 's/^accuracy *//p' "$dir/e.out")" 0.95 || fail "evaluate on the simulated model"

# Label skew: every client has data, the sizes add up, the class mixes differ.
"$disco" simulate --task penguins --clients 4 --split dirichlet:0.3 --rounds 5 --no-progress \
  -o "$dir/d.safetensors" --report-json "$dir/d.json" >"$dir/d.out" 2>/dev/null
[ "$(grep -cE "$line" "$dir/d.out")" -eq 5 ] || fail "dirichlet: expected 5 round lines"
[ "$(jq '[.client_samples[] | select(. > 0)] | length' "$dir/d.json")" -eq 4 ] || fail "an empty client"
[ "$(jq '.client_samples | add' "$dir/d.json")" -eq 275 ] || fail "dirichlet sizes"
[ "$(jq '.client_class_counts | unique | length' "$dir/d.json")" -eq 4 ] || fail "no label skew"
[ "$(jq -r .split "$dir/d.json")" = "dirichlet:0.3" ] || fail "split name"

if [ -d /usr/share/datasets/fashion-mnist ]; then
  # Two identical runs (the second on one thread): same lines, report and model bytes.
  for run in a b; do
    threads=2
    [ "$run" = b ] && threads=1
    "$disco" simulate --task fashion-mnist --clients 3 --limit 3000 --rounds 2 --limit-test 1000 \
      --threads "$threads" --no-progress -o "$dir/f$run.safetensors" --report-json "$dir/f$run.json" \
      >"$dir/f$run.out" 2>/dev/null
    [ "$(grep -cE "$line" "$dir/f$run.out")" -eq 2 ] || fail "fashion-mnist: round lines: $(cat "$dir/f$run.out")"
    grep -q "^round 2/2  participants 3  " "$dir/f$run.out" || fail "fashion-mnist: last round line"
  done
  diff <(grep '^round' "$dir/fa.out") <(grep '^round' "$dir/fb.out") || fail "round lines differ between runs"
  diff <(jq -S 'del(.model)' "$dir/fa.json") <(jq -S 'del(.model)' "$dir/fb.json") || fail "reports differ"
  cmp -s "$dir/fa.safetensors" "$dir/fb.safetensors" || fail "final models differ"
  ge "$(jq -r .final.test_accuracy "$dir/fa.json")" 0.55 || fail "fashion-mnist learned too little"

  # Federated vs centralized on the same 6000 training and 2000 test images, same epochs.
  "$disco" train --task fashion-mnist --limit 6000 --epochs 5 --validation-split 0 --no-progress \
    -o "$dir/fc.safetensors" >/dev/null 2>&1
  "$disco" evaluate --task fashion-mnist --model "$dir/fc.safetensors" --limit 2000 >"$dir/fc.out"
  central=$(sed -n 's/^accuracy *//p' "$dir/fc.out")
  "$disco" simulate --task fashion-mnist --clients 3 --limit 6000 --rounds 5 --limit-test 2000 \
    --no-progress -o "$dir/fs.safetensors" --report-json "$dir/fs.json" >/dev/null 2>&1
  fed=$(jq -r .final.test_accuracy "$dir/fs.json")
  echo "fashion-mnist: federated (3 iid clients, 5 rounds) $fed, centralized (5 epochs) $central"
  ge "$fed" "$(awk -v c="$central" 'BEGIN { print c - 0.08 }')" ||
    fail "fashion-mnist federated $fed is more than 8 points below centralized $central"
fi
echo "1 passed, 0 failed"
