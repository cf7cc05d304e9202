#!/usr/bin/env bash
# make deb: the Debian package of the tree as it is (tracked and new files), built in a copy so
# that no build directory of the tree gets into it; the .deb, .buildinfo and .changes land in
# OUT (default build-deb/), with the debug symbols' package (attestd-dbgsym).
set -euo pipefail
out=${1:-build-deb}
root=$(pwd)
work=$(mktemp -d /tmp/attestd-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/attestd"
# (names go to cp as arguments, never through a shell; deleted but tracked files are skipped)
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
  xargs -0 -r cp --parents -a -t "$work/attestd" --
(cd "$work/attestd" && dpkg-buildpackage -b -us -uc -j"$(nproc)" >"$work/build.log" 2>&1) || {
  tail -40 "$work/build.log"; echo "deb: dpkg-buildpackage failed" >&2; exit 1; }
mkdir -p "$root/$out"
rm -f "$root/$out"/attestd_* "$root/$out"/attestd-dbgsym_*
cp "$work"/attestd_* "$work"/attestd-dbgsym_* "$root/$out/"
ls "$root/$out"/attestd*.deb
