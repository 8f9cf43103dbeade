#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End-to-end test of the disco CLI: train, evaluate and predict on the built-in tabular task and a
# small Fashion-MNIST run, plus the error paths a user meets (bad task field, missing data file,
# malformed CSV row). Usage: cli_test.sh <path to disco>
set -euo pipefail
disco=$1
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
trap 'echo "FAIL: line $LINENO: $BASH_COMMAND" >&2' ERR
fail() { echo "FAIL: $*" >&2; exit 1; }

# Tabular: train, evaluate, predict.
"$disco" train --task penguins --no-progress -o "$dir/p.safetensors" --report-json "$dir/p.json" >"$dir/train.out"
grep -q "^epoch 30/30" "$dir/train.out" || fail "penguins training did not run 30 epochs"
"$disco" evaluate --task penguins --model "$dir/p.safetensors" --report-json "$dir/e.json" >"$dir/eval.out"
acc=$(sed -n 's/^accuracy *//p' "$dir/eval.out")
awk -v a="$acc" 'BEGIN { exit !(a >= 0.95) }' || fail "penguins accuracy $acc < 0.95"
grep -q "confusion matrix" "$dir/eval.out" || fail "no confusion matrix"
"$disco" predict --task penguins --model "$dir/p.safetensors" -o "$dir/pred.csv" 2>/dev/null
[ "$(head -1 "$dir/pred.csv")" = "index,predicted,true,p_Adelie,p_Chinstrap,p_Gentoo" ] || fail "predict header"
[ "$(wc -l <"$dir/pred.csv")" -eq 345 ] || fail "predict row count"

# Prediction on unlabelled rows (no species column): the true column stays empty.
head -6 "$(dirname "$0")/../../tasks/data/penguins.csv" >"$dir/head.csv"
cut -d, -f2- "$dir/head.csv" >"$dir/unlabelled.csv"
"$disco" predict --task penguins --model "$dir/p.safetensors" --data "$dir/unlabelled.csv" -o "$dir/u.csv" 2>/dev/null
[ "$(wc -l <"$dir/u.csv")" -eq 6 ] || fail "unlabelled predict row count"
case "$(sed -n 2p "$dir/u.csv")" in 0,Adelie,,*) ;; *) fail "unlabelled predict row: $(sed -n 2p "$dir/u.csv")" ;; esac

# Fashion-MNIST (when Debian's package is installed): a short run must learn something.
if [ -d /usr/share/datasets/fashion-mnist ]; then
  "$disco" train --task fashion-mnist --limit 3000 --epochs 1 --no-progress -o "$dir/f.safetensors" >"$dir/f.out"
  "$disco" evaluate --task fashion-mnist --model "$dir/f.safetensors" --limit 2000 >"$dir/fe.out"
  acc=$(sed -n 's/^accuracy *//p' "$dir/fe.out")
  awk -v a="$acc" 'BEGIN { exit !(a >= 0.55) }' || fail "fashion-mnist accuracy $acc < 0.55 after 3000 samples"
  # A flat folder of unlabelled PNGs (a white square and a black one, written with zlib).
  mkdir "$dir/imgs"
  python3 - "$dir/imgs" <<'PY'
import struct, sys, zlib
def png(path, value):
    raw = b"".join(b"\x00" + bytes([value]) * 28 for _ in range(28))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 28, 28, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png(sys.argv[1] + "/a.png", 255)
png(sys.argv[1] + "/b.png", 0)
PY
  "$disco" predict --task fashion-mnist --model "$dir/f.safetensors" --data "$dir/imgs" -o "$dir/imgs.csv" 2>/dev/null
  [ "$(wc -l <"$dir/imgs.csv")" -eq 3 ] || fail "image folder predict rows: $(cat "$dir/imgs.csv")"
fi

# Errors name what was wrong.
sed 's/"batch_size": 16/"batch_size": -4/' "$(dirname "$0")/../../tasks/penguins.json" >"$dir/bad.json"
if "$disco" train --task "$dir/bad.json" 2>"$dir/err"; then fail "bad task accepted"; fi
grep -q "bad.json: training.batch_size: must be a positive integer, got -4" "$dir/err" || fail "bad task message: $(cat "$dir/err")"
if "$disco" train --task penguins --data "$dir/missing.csv" 2>"$dir/err"; then fail "missing data accepted"; fi
grep -q "missing.csv" "$dir/err" || fail "missing file message: $(cat "$dir/err")"
{ head -3 "$(dirname "$0")/../../tasks/data/penguins.csv"; echo "Adelie,Dream,abc,18,190,3500,male,2008"; } >"$dir/bad.csv"
if "$disco" train --task penguins --data "$dir/bad.csv" 2>"$dir/err"; then fail "bad csv accepted"; fi
grep -q "bad.csv:4" "$dir/err" || fail "bad csv message lacks path:line: $(cat "$dir/err")"
if "$disco" evaluate --task fashion-mnist --model "$dir/p.safetensors" 2>"$dir/err"; then fail "wrong model accepted"; fi
grep -q "does not match task 'fashion-mnist'" "$dir/err" || fail "wrong model message: $(cat "$dir/err")"
echo "1 passed, 0 failed"
