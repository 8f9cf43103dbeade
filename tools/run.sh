#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's main command: installs what is missing, builds the native release, the
# WebAssembly module and the web app, and starts the main job: the disco server with its built-in
# tasks and the web app, on http://127.0.0.1:8080 by default, keeping its state in out/server.
# Extra arguments go to `disco serve`, e.g. `tools/run.sh --host 0.0.0.0 --port 9000`. Ctrl-C
# stops it; a restart resumes every task at its last completed round.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh native-release
# Only the browser modules are needed to serve the app (tools/test.sh builds the whole preset):
# the threaded one and the one-thread one for pages that are not cross-origin isolated.
export NODE_PATH=/usr/share/nodejs
cmake --preset wasm-release >/dev/null
cmake --build --preset wasm-release --target disco_wasm
tools/build.sh wasm-single
tools/build_web.sh
mkdir -p out
exec build/native-release/src/cli/disco serve --data-dir out/server --web-dir web/dist "$@"
