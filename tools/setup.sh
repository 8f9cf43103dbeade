#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs whatever the project needs that this Debian 12 machine lacks (Debian packages and npm
# packages only). Idempotent: installs nothing when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PACKAGES=(
  # build
  cmake ninja-build g++ pkg-config git
  # C++ libraries
  libgtest-dev googletest libbenchmark-dev nlohmann-json3-dev libcli11-dev libstb-dev zlib1g-dev
  libopenblas-dev libsqlite3-dev
  # Asio/Beast (header-only; Boost.System is header-only since 1.69, so no libboost-system-dev)
  libboost-dev
  # WebAssembly toolchain (it pulls in nodejs when no node is installed)
  emscripten
  # data and reference implementations for benchmarks
  dataset-fashion-mnist python3 python3-torch python3-numpy
)

missing=()
# node and npm may come from a non-Debian nodejs package (which bundles npm); ask for Debian's
# only when the commands are absent.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
for p in "${DEB_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    -o DPkg::Lock::Timeout=900 "${missing[@]}"
fi
