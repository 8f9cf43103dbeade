#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Regenerates tasks/data/penguins.csv, the built-in tabular data set (Palmer penguins, CC0), from
# Debian's r-cran-palmerpenguins package. The package is only downloaded and unpacked into a
# temporary directory (not installed, so R is not needed), and the file is copied byte for byte,
# so the result is deterministic; the SHA-256 below pins it. Run from anywhere:
#   tools/gen_tabular.sh          # rewrite tasks/data/penguins.csv
#   tools/gen_tabular.sh --check  # only verify the committed copy
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=tasks/data/penguins.csv
SHA256=f204db2c753b0937caac3cb35258562c14f073e4bbc76be24b4c51ce22767a93

if [ "${1:-}" = "--check" ]; then
  echo "$SHA256  $OUT" | sha256sum -c --quiet && echo "gen_tabular: $OUT is intact"
  exit
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -q r-cran-palmerpenguins >/dev/null 2>&1) || {
  echo "gen_tabular: apt-get download r-cran-palmerpenguins failed (run apt-get update?)" >&2
  exit 1
}
dpkg-deb -x "$tmp"/r-cran-palmerpenguins_*.deb "$tmp/x"
cp "$tmp/x/usr/lib/R/site-library/palmerpenguins/extdata/penguins.csv" "$OUT"
echo "$SHA256  $OUT" | sha256sum -c --quiet
echo "gen_tabular: wrote $OUT ($(($(wc -l <"$OUT") - 1)) rows)"
