#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Browser training throughput: disco's wasm build in headless Chromium against native disco,
# PyTorch and TF.js, on the fashion-mnist task's CNN, in one run. Prints figures and ratios; it
# never asserts a speed.
#
#   bench/browser_throughput.sh [--smoke] [--samples N] [--reps N] [--warmup-epochs N]
#                               [--threads-all N] [--tfjs-seconds S] [--tfjs-backends webgl,cpu]
#                               [--paths wasm,native,pytorch,tfjs] [--port P] [--verbose]
#
# Default: 8192 samples per epoch, 1 warm-up + 5 timed epochs per path, TF.js time-bounded to
# 10 s per backend. --smoke: 256 samples, 1 timed epoch, 1 s of TF.js (under a minute; CI).
# The exit status is non-zero only when a path breaks (a build is missing, the page or a worker
# fails, a process exits non-zero, no TF.js backend trains), never because of speed.
#
# Environment: DISCO_BIN (default build/native-release/src/cli/disco), DISCO_WASM_BUILD_DIR
# (default build/wasm-release; its src/wasm/disco.mjs, disco.wasm, disco.worker.js are used),
# PYTHON (default /usr/bin/python3, with Debian's python3-torch), CHROMIUM (default
# /usr/bin/chromium: apt-get install chromium), FASHION_MNIST_DIR (default
# /usr/share/datasets/fashion-mnist, Debian's dataset-fashion-mnist), NODE (default node).
# The page is served by a `disco serve` started here on 127.0.0.1 (port 18300-18399, or --port)
# and stopped at exit. See bench/README.md.
set -euo pipefail

die() {
  echo "browser_throughput: error: $*" >&2
  exit 1
}
log() { echo "browser_throughput: $*" >&2; }
usage() { sed -n '3,22p' "$0" | sed 's/^# \{0,1\}//'; }

root="$(cd "$(dirname "$0")/.." && pwd)"
disco="${DISCO_BIN:-$root/build/native-release/src/cli/disco}"
wasm_build="${DISCO_WASM_BUILD_DIR:-$root/build/wasm-release}"
python="${PYTHON:-/usr/bin/python3}"
chromium="${CHROMIUM:-/usr/bin/chromium}"
data_dir="${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"
node="${NODE:-node}"

samples=8192
reps=5
warmup=1
threads_all=0
tfjs_seconds=10
tfjs_backends=webgl,cpu
paths=wasm,native,pytorch,tfjs
port=""
verbose=()
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
while (($#)); do
  case "$1" in
    --smoke)
      samples=256 reps=1 warmup=1 tfjs_seconds=1
      shift
      ;;
    --samples | --reps | --warmup-epochs | --threads-all | --tfjs-seconds | --port)
      (($# >= 2)) || die "$1 needs a value"
      is_uint "$2" || die "$1 expects a non-negative integer, got '$2'"
      case "$1" in
        --samples) samples="$2" ;;
        --reps) reps="$2" ;;
        --warmup-epochs) warmup="$2" ;;
        --threads-all) threads_all="$2" ;;
        --tfjs-seconds) tfjs_seconds="$2" ;;
        --port) port="$2" ;;
      esac
      shift 2
      ;;
    --tfjs-backends | --paths)
      (($# >= 2)) || die "$1 needs a value"
      if [[ "$1" == --paths ]]; then paths="$2"; else tfjs_backends="$2"; fi
      shift 2
      ;;
    --verbose)
      verbose=(--verbose)
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
((samples >= 64)) || die "--samples must be >= 64 (one batch)"
((reps >= 1)) || die "--reps must be >= 1"

# ---- prerequisites (read-only use of the builds)
wasm_dir="$wasm_build/src/wasm"
[[ -x "$disco" ]] || die "no disco executable at $disco (build build/native-release or set DISCO_BIN)"
for f in disco.mjs disco.wasm disco.worker.js; do
  [[ -f "$wasm_dir/$f" ]] || die "missing $wasm_dir/$f (build the wasm-release preset or set DISCO_WASM_BUILD_DIR)"
done
[[ -x "$chromium" ]] || die "no Chromium at $chromium (apt-get install chromium, or set CHROMIUM)"
command -v "$node" >/dev/null || die "node not found (apt-get install nodejs)"
for m in playwright-core typescript @tensorflow/tfjs; do
  [[ -d "$root/web/node_modules/$m" ]] || die "missing web/node_modules/$m (cd web && npm ci)"
done
tfjs_bundle="$root/web/node_modules/@tensorflow/tfjs/dist/tf.min.js"
[[ -f "$tfjs_bundle" ]] || die "missing $tfjs_bundle"
"$python" -c 'import torch, numpy' 2>/dev/null ||
  die "$python cannot import torch and numpy (apt-get install python3-torch python3-numpy)"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte; do
  [[ -f "$data_dir/$f.gz" || -f "$data_dir/$f" ]] || die "missing $data_dir/$f(.gz) (apt-get install dataset-fashion-mnist)"
done

# ---- temporary web and data directories, and the server
tmp="$(mktemp -d "${TMPDIR:-/tmp}/disco-browser-bench.XXXXXX")"
web="$tmp/web"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$web" "$tmp/data" "$tmp/work"
cp "$wasm_dir/disco.mjs" "$wasm_dir/disco.wasm" "$wasm_dir/disco.worker.js" "$web/"
cp "$root/bench/browser/index.html" "$root/bench/browser/page.mjs" "$root/bench/browser/disco_worker.mjs" \
  "$root/bench/browser/tfjs_worker.js" "$tfjs_bundle" "$web/"
cp "$root/tasks/fashion-mnist.json" "$web/"

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_server() {
  local p="$1"
  "$disco" serve --host 127.0.0.1 --port "$p" --data-dir "$tmp/data" --web-dir "$web" \
    >"$tmp/serve.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 100); do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid" 2>/dev/null || true
      server_pid=""
      return 1
    fi
    grep -q "listening on" "$tmp/serve.log" && return 0
    sleep 0.1
  done
  return 1
}
if [[ -n "$port" ]]; then
  start_server "$port" || { cat "$tmp/serve.log" >&2; die "disco serve could not start on port $port"; }
else
  started=0
  for _ in $(seq 1 20); do
    p=$((18300 + RANDOM % 100))
    port_busy "$p" && continue
    if start_server "$p"; then
      port="$p" started=1
      break
    fi
  done
  ((started)) || { cat "$tmp/serve.log" >&2; die "disco serve could not start on a port in 18300-18399"; }
fi
log "disco serve on http://127.0.0.1:$port (pid $server_pid); load average $(cut -d' ' -f1-3 /proc/loadavg)"

"$node" "$root/bench/browser/driver.mjs" --root "$root" --web-dir "$web" --url "http://127.0.0.1:$port/index.html" \
  --tmp "$tmp/work" --disco-bin "$disco" --python "$python" --chromium "$chromium" --data-dir "$data_dir" \
  --samples "$samples" --reps "$reps" --warmup-epochs "$warmup" --threads-all "$threads_all" \
  --tfjs-seconds "$tfjs_seconds" --tfjs-backends "$tfjs_backends" --paths "$paths" "${verbose[@]}"
