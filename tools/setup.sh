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
  # the browser the web app's end-to-end tests and the browser benchmark drive (playwright-core)
  chromium fonts-dejavu-core
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

# The web app's npm packages (web/package-lock.json pins them): Vite, Vitest, TypeScript,
# playwright-core (drives Debian's chromium; it downloads no browser) and TF.js (benchmark).
# Reinstalled only when the lock file changed since the last install (a stamp in node_modules).
lock_sum=$(sha256sum web/package-lock.json | cut -d' ' -f1)
if [ "$(cat web/node_modules/.disco-lock 2>/dev/null)" != "$lock_sum" ]; then
  echo "setup: installing the web app's npm packages (web/package-lock.json)"
  # `npm install --no-save` installs the locked versions and leaves the lock file as it is.
  # Not `npm ci`: the lock lists only the platform packages (rollup, esbuild) of the machine that
  # wrote it, which `npm ci` refuses as out of sync.
  (cd web && rm -rf node_modules && npm install --no-save --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" >web/node_modules/.disco-lock
fi
