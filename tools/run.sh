#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The README's main command: installs what is missing, builds the native release, and runs the
# main job. Until the server exists (issue #3) the main job is local training of the built-in
# Fashion-MNIST task on Debian's Fashion-MNIST files, with progress output, followed by its
# evaluation on the 10,000 test images. Extra arguments go to `disco train`.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
tools/build.sh native-release
mkdir -p out
build/native-release/src/cli/disco train --task fashion-mnist -o out/fashion-mnist.safetensors "$@"
build/native-release/src/cli/disco evaluate --task fashion-mnist --model out/fashion-mnist.safetensors
