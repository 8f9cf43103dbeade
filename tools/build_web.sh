#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the web app: copies the wasm-release build's module (disco.mjs, disco.wasm,
# disco.worker.js) into web/public/wasm/ and the wasm-single build's one-thread module (for pages
# that are not cross-origin isolated) into web/public/wasm/single/, where the training worker
# loads them at run time, then runs `npm run build` in web/ (tsc --noEmit && vite build ->
# web/dist).
#
#   tools/build_web.sh [WASM_BUILD_DIR] [--out DIR]
#
# WASM_BUILD_DIR: the wasm build (default $DISCO_WASM_BUILD_DIR, else build/wasm-release); its
# disco_wasm target must be built. The one-thread module comes from $DISCO_WASM_SINGLE_BUILD_DIR
# (default build/wasm-single: `cmake --preset wasm-single && cmake --build --preset wasm-single`).
# --out DIR: vite's output directory instead of web/dist.
# Assumes web/node_modules exists (tools/setup.sh installs it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

build_dir="${DISCO_WASM_BUILD_DIR:-build/wasm-release}"
single_dir="${DISCO_WASM_SINGLE_BUILD_DIR:-build/wasm-single}"
out=""
while (($#)); do
  case "$1" in
    --out)
      [ $# -ge 2 ] || { echo "build_web: --out needs a directory" >&2; exit 2; }
      out="$2"
      shift 2
      ;;
    --out=*)
      out="${1#--out=}"
      shift
      ;;
    -h | --help)
      sed -n '2,12p' "$0"
      exit 0
      ;;
    -*)
      echo "build_web: unknown option $1" >&2
      exit 2
      ;;
    *)
      build_dir="$1"
      shift
      ;;
  esac
done

# Relative paths are taken from the caller's directory, then from the repository root.
[ -d "$build_dir" ] || [ "${build_dir:0:1}" = / ] || build_dir="$root/$build_dir"
module_dir="$build_dir/src/wasm"
for f in disco.mjs disco.wasm disco.worker.js; do
  if [ ! -f "$module_dir/$f" ]; then
    echo "build_web: $module_dir/$f is missing; build the module first:" >&2
    echo "  NODE_PATH=/usr/share/nodejs cmake --preset wasm-release && NODE_PATH=/usr/share/nodejs cmake --build build/wasm-release --target disco_wasm" >&2
    exit 1
  fi
done
[ -d "$single_dir" ] || [ "${single_dir:0:1}" = / ] || single_dir="$root/$single_dir"
for f in disco.mjs disco.wasm; do
  if [ ! -f "$single_dir/src/wasm/$f" ]; then
    echo "build_web: $single_dir/src/wasm/$f (the one-thread module) is missing; build it first:" >&2
    echo "  NODE_PATH=/usr/share/nodejs cmake --preset wasm-single && NODE_PATH=/usr/share/nodejs cmake --build --preset wasm-single" >&2
    exit 1
  fi
done
if [ ! -d "$root/web/node_modules" ]; then
  echo "build_web: web/node_modules is missing; run tools/setup.sh first" >&2
  exit 1
fi

mkdir -p "$root/web/public/wasm/single"
cp "$module_dir/disco.mjs" "$module_dir/disco.wasm" "$module_dir/disco.worker.js" "$root/web/public/wasm/"
cp "$single_dir/src/wasm/disco.mjs" "$single_dir/src/wasm/disco.wasm" "$root/web/public/wasm/single/"
echo "build_web: copied the modules from $module_dir and $single_dir/src/wasm to web/public/wasm/"

if [ -n "$out" ]; then
  case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
  (cd "$root/web" && npm run build -- --outDir "$out" --emptyOutDir)
  echo "build_web: built the web app into $out"
else
  (cd "$root/web" && npm run build)
  echo "build_web: built the web app into web/dist"
fi
