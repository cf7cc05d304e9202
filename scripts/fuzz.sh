#!/usr/bin/env bash
# make fuzz: build the libFuzzer targets with clang (ASan + UBSan + fuzzer) and run each for
# FUZZ_SECONDS (default 60) on a scratch copy of its seed corpus. Slowness is a finding: an input
# that takes more than FUZZ_INPUT_SECONDS (default 5, as in the seed replay of make test,
# tests/fuzz/replay_main.c) fails the run like a crash (libFuzzer -timeout). New crashers and
# slow inputs are written to build-fuzz/crashes/ (crash-*, timeout-*); copy one into
# tests/fuzz/corpus/<target>/ to keep it as a regression input.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${FUZZ_SECONDS:-60}
input_seconds=${FUZZ_INPUT_SECONDS:-5}
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true -Dtests=true -Db_sanitize=address,undefined \
    -Db_lundef=false --buildtype=debugoptimized >/dev/null
fi
ninja -C "$build" >/dev/null
mkdir -p "$build/crashes"
status=0
for target in "$build"/tests/fuzz/fuzz_*; do
  [ -f "$target" ] && [ -x "$target" ] || continue
  name=$(basename "$target"); name=${name#fuzz_}
  work="$build/corpus/$name"
  mkdir -p "$work"
  cp -n tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
  echo "fuzz: $name for ${seconds}s"
  if ! "$target" -max_total_time="$seconds" -timeout="$input_seconds" \
       -artifact_prefix="$build/crashes/$name-" "$work" >"$build/$name.log" 2>&1; then
    echo "fuzz: $name FOUND A CRASH OR A SLOW INPUT (see $build/$name.log)"; status=1
  fi
done
exit $status
