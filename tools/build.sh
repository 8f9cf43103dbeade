#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds one preset (default native-release). Usage: tools/build.sh [preset] [cmake args]
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-native-release}
shift || true
export NODE_PATH=/usr/share/nodejs
cmake --preset "$preset" "$@" >/dev/null
cmake --build --preset "$preset"
