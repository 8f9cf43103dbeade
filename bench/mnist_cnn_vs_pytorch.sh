#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Reference benchmark: disco vs PyTorch training the fashion-mnist task's CNN, in the same run.
#
#   bench/mnist_cnn_vs_pytorch.sh [--epochs N] [--threads T] [--limit N] [--seed S] [--rounds R]
#                                 [--pytorch-threads T] [--accuracy]
#
# Default (throughput): 1 epoch, 2 threads, the full 60,000-image training set.
# --accuracy: 5 epochs (unless --epochs is given) and a test-accuracy line before the last line.
# --rounds R: R alternating rounds (disco first in odd rounds, PyTorch first in even ones);
#             the throughput figures are the best round of each, the accuracies the mean.
# --pytorch-threads T: give PyTorch a different thread count than disco (diagnostic only).
#
# Both sides train on the same images (disco with --validation-split 0), batch 64, Adam 1e-3,
# and report training samples/s over the training loop only (no data loading, no evaluation);
# test accuracy is measured on the 10,000-image t10k split. See bench/README.md.
#
# The last line of stdout is always
#   disco_samples_per_s=N pytorch_samples_per_s=N ratio=R        (ratio = disco / pytorch)
# and with --accuracy the line before it is
#   disco_test_accuracy=A pytorch_test_accuracy=B                (percent)
# Progress goes to stderr. Environment: DISCO_BIN (use this disco executable instead of building
# build/native-release), PYTHON (default /usr/bin/python3, which must have Debian's python3-torch),
# FASHION_MNIST_DIR (default /usr/share/datasets/fashion-mnist).
set -euo pipefail

die() {
  echo "mnist_cnn_vs_pytorch: error: $*" >&2
  exit 1
}
log() { echo "mnist_cnn_vs_pytorch: $*" >&2; }

usage() {
  sed -n '3,13p' "$0" | sed 's/^# \{0,1\}//'
}

root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-/usr/bin/python3}"
data_dir="${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}"

epochs=""
threads=2
limit=""
seed=1
rounds=1
accuracy=0
pytorch_threads=""
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
while (($#)); do
  case "$1" in
    --epochs | --threads | --limit | --seed | --rounds | --pytorch-threads)
      (($# >= 2)) || die "$1 needs a value"
      is_uint "$2" || die "$1 expects a non-negative integer, got '$2'"
      case "$1" in
        --epochs) epochs="$2" ;;
        --threads) threads="$2" ;;
        --limit) limit="$2" ;;
        --seed) seed="$2" ;;
        --rounds) rounds="$2" ;;
        --pytorch-threads) pytorch_threads="$2" ;;
      esac
      shift 2
      ;;
    --accuracy)
      accuracy=1
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
if [[ -z "$epochs" ]]; then
  if ((accuracy)); then epochs=5; else epochs=1; fi
fi
((epochs >= 1)) || die "--epochs must be >= 1"
((threads >= 1)) || die "--threads must be >= 1"
pytorch_threads="${pytorch_threads:-$threads}"
((pytorch_threads >= 1)) || die "--pytorch-threads must be >= 1"
((rounds >= 1)) || die "--rounds must be >= 1"
if [[ -n "$limit" ]]; then ((limit >= 1)) || die "--limit must be >= 1"; fi

# ---- prerequisites
[[ -x "$python" ]] || die "$python not found (install Debian's python3)"
"$python" -c 'import torch, numpy' 2>/dev/null ||
  die "$python cannot import torch and numpy (apt-get install python3-torch python3-numpy)"
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  [[ -f "$data_dir/$f.gz" || -f "$data_dir/$f" ]] || die "missing $data_dir/$f(.gz)"
done
if [[ "$data_dir" != /usr/share/datasets/fashion-mnist ]]; then
  log "note: disco reads its built-in fashion-mnist location, $data_dir is used by PyTorch only"
fi

if [[ -n "${DISCO_BIN:-}" ]]; then
  disco="$DISCO_BIN"
  [[ -x "$disco" ]] || die "DISCO_BIN=$disco is not an executable"
else
  build_dir="$root/build/native-release"
  disco="$build_dir/src/cli/disco"
  log "building disco (cmake preset native-release, target disco) ..."
  if [[ ! -f "$build_dir/build.ninja" ]]; then
    (cd "$root" && cmake --preset native-release >/dev/null) ||
      die "cmake configure (preset native-release) failed"
  fi
  cmake --build "$build_dir" --target disco >/dev/null ||
    die "building disco failed (run: cmake --build $build_dir --target disco)"
  [[ -x "$disco" ]] || die "build finished but $disco is missing"
fi

tmp="$(mktemp -d "${TMPDIR:-/tmp}/disco-vs-pytorch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"  # disco writes nothing else, but keep any stray output out of the tree

limit_args=()
[[ -n "$limit" ]] && limit_args=(--limit "$limit")

show_log() {
  echo "---- last lines of $1:" >&2
  tail -n 20 "$1" >&2 || true
}

run_disco() {
  local r="$1"
  log "round $r: disco train (epochs $epochs, threads $threads${limit:+, limit $limit}) ..."
  if ! "$disco" train --task fashion-mnist --epochs "$epochs" --threads "$threads" --seed "$seed" \
    --validation-split 0 "${limit_args[@]}" --no-progress -o "$tmp/disco_$r.safetensors" \
    --report-json "$tmp/disco_train_$r.json" >"$tmp/disco_train_$r.log" 2>&1; then
    show_log "$tmp/disco_train_$r.log"
    die "disco train failed (round $r)"
  fi
  log "round $r: disco evaluate (10,000 test images) ..."
  if ! "$disco" evaluate --task fashion-mnist --model "$tmp/disco_$r.safetensors" \
    --threads "$threads" --report-json "$tmp/disco_eval_$r.json" >"$tmp/disco_eval_$r.log" 2>&1; then
    show_log "$tmp/disco_eval_$r.log"
    die "disco evaluate failed (round $r)"
  fi
}

run_pytorch() {
  local r="$1"
  log "round $r: pytorch train + test (epochs $epochs, threads $pytorch_threads${limit:+, limit $limit}) ..."
  if ! "$python" "$root/bench/pytorch_mnist_cnn.py" --epochs "$epochs" --threads "$pytorch_threads" \
    --seed "$seed" --data "$data_dir" "${limit_args[@]}" --verbose \
    >"$tmp/pytorch_$r.json" 2>"$tmp/pytorch_$r.log"; then
    show_log "$tmp/pytorch_$r.log"
    die "pytorch_mnist_cnn.py failed (round $r)"
  fi
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
for ((r = 1; r <= rounds; r++)); do
  if ((r % 2)); then
    run_disco "$r"
    run_pytorch "$r"
  else
    run_pytorch "$r"
    run_disco "$r"
  fi
done
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- report (all JSON parsing here; any missing or non-positive figure is an error)
report_py="$(cat <<'PY'
import json, os, platform, sys

tmp, rounds, epochs, threads, pt_threads, limit, accuracy, load_before, load_after = sys.argv[1:10]
rounds, epochs, accuracy = int(rounds), int(epochs), accuracy == "1"

def load(name):
    path = os.path.join(tmp, name)
    try:
        with open(path) as f:
            text = f.read().strip().splitlines()
        return json.loads(text[-1] if name.startswith("pytorch") else "\n".join(text))
    except Exception as e:
        sys.exit(f"mnist_cnn_vs_pytorch: error: cannot read {name}: {e}")

def positive(d, key, what):
    v = d.get(key)
    if not isinstance(v, (int, float)) or not v > 0:
        sys.exit(f"mnist_cnn_vs_pytorch: error: {what} has no positive {key!r} ({v!r})")
    return float(v)

rows = []
for r in range(1, rounds + 1):
    t, e, p = load(f"disco_train_{r}.json"), load(f"disco_eval_{r}.json"), load(f"pytorch_{r}.json")
    ep = t.get("epochs") or [{}]
    n_disco = round(positive(t, "samples_per_s", "disco report") * positive(t, "train_seconds", "disco report") / epochs)
    rows.append(dict(round=r, impl="disco", sps=positive(t, "samples_per_s", "disco report"),
                     secs=positive(t, "train_seconds", "disco report"), n=n_disco,
                     loss=ep[-1].get("loss", float("nan")), train_acc=ep[-1].get("accuracy", float("nan")),
                     test_acc=positive(e, "accuracy", "disco evaluate report"),
                     test_loss=e.get("loss", float("nan"))))
    pe = p.get("per_epoch") or [{}]
    rows.append(dict(round=r, impl="pytorch", sps=positive(p, "samples_per_s", "pytorch output"),
                     secs=positive(p, "train_seconds", "pytorch output"), n=int(p.get("train_samples", 0)),
                     loss=pe[-1].get("loss", float("nan")), train_acc=pe[-1].get("accuracy", float("nan")),
                     test_acc=positive(p, "test_accuracy", "pytorch output"),
                     test_loss=p.get("test_loss", float("nan"))))
    torch_version = p.get("torch_version", "?")

cpu = "?"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
n = rows[0]["n"]
print(f"Fashion-MNIST CNN training: disco vs PyTorch {torch_version}")
threads_text = f"{threads} thread(s)" if threads == pt_threads else f"{threads} disco / {pt_threads} PyTorch threads"
print(f"  {epochs} epoch(s), {threads_text}, {n} training images, batch 64, "
      f"test on 10000 images, {rounds} round(s)")
print(f"  host: {cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
      f"load average before {load_before}, after {load_after}")
print()
print(f"{'round':>5}  {'impl':<8} {'samples/s':>10} {'train s':>9} {'last-epoch loss':>15} "
      f"{'train acc':>9} {'test loss':>9} {'test acc':>8}")
for x in rows:
    print(f"{x['round']:>5}  {x['impl']:<8} {x['sps']:>10.1f} {x['secs']:>9.2f} {x['loss']:>15.4f} "
          f"{100 * x['train_acc']:>8.2f}% {x['test_loss']:>9.4f} {100 * x['test_acc']:>7.2f}%")
best = {i: max(x['sps'] for x in rows if x['impl'] == i) for i in ("disco", "pytorch")}
acc = {i: sum(x['test_acc'] for x in rows if x['impl'] == i) / rounds for i in ("disco", "pytorch")}
print()
print(f"disco / pytorch throughput: {best['disco'] / best['pytorch']:.2f}x"
      + (" (best round of each)" if rounds > 1 else ""))
if accuracy:
    print(f"disco_test_accuracy={100 * acc['disco']:.2f} pytorch_test_accuracy={100 * acc['pytorch']:.2f}")
print(f"disco_samples_per_s={best['disco']:.0f} pytorch_samples_per_s={best['pytorch']:.0f} "
      f"ratio={best['disco'] / best['pytorch']:.2f}")
PY
)"
"$python" -c "$report_py" "$tmp" "$rounds" "$epochs" "$threads" "$pytorch_threads" "$limit" "$accuracy" "$load_before" "$load_after"
