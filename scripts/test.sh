#!/usr/bin/env bash
# make test: build with ASan + UBSan into BUILD and run every test; the last line is
# "N passed, N failed".
set -euo pipefail
build=${1:-build-asan}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=debugoptimized -Db_sanitize=address,undefined \
    -Db_lundef=false -Dtests=true >/dev/null
fi
ninja -C "$build" >/dev/null
# JavaScript peers used by the black-box tests (exact versions from the lockfile).
if [ ! -d tests/integration/js/node_modules ] || \
   [ tests/integration/js/package-lock.json -nt tests/integration/js/node_modules ]; then
  (cd tests/integration/js && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
exec python3 tests/run_tests.py "$build"
