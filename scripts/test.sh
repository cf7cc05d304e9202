#!/usr/bin/env bash
# make test: build with ASan + UBSan into BUILD (and with TSan into TSAN_BUILD, for the
# daemon's threads) and run every test; the last line is "N passed, N failed".
# The tests run with the interpreters scripts/deps.sh installs, Debian's /usr/bin/python3 and
# /usr/bin/node (tests/integration/harness.py NODE), not whichever the PATH finds first.
set -euo pipefail
build=${1:-build-asan}
tsan_build=${2:-build-tsan}
setup() { # dir sanitizers
  if [ ! -f "$1/build.ninja" ]; then
    meson setup "$1" --buildtype=debugoptimized -Db_sanitize="$2" -Db_lundef=false \
      -Dtests=true -Dtest_hooks=true >/dev/null
  else
    meson configure "$1" -Dtest_hooks=true >/dev/null
  fi
  ninja -C "$1" >/dev/null
}
setup "$build" address,undefined
setup "$tsan_build" thread
# JavaScript peers used by the black-box tests (exact versions from the lockfile).
if [ ! -d tests/integration/js/node_modules ] || \
   [ tests/integration/js/package-lock.json -nt tests/integration/js/node_modules ]; then
  (cd tests/integration/js && /usr/bin/npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi
exec /usr/bin/python3 tests/run_tests.py "$build" "$tsan_build"
