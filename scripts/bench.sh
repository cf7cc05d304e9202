#!/usr/bin/env bash
# make bench: optimised build of the benchmarks; figures are ratios to a baseline
# measured in the same run. Never part of `make test`.
set -euo pipefail
build=build-bench
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" --buildtype=release -Dtests=false -Dbench=true >/dev/null
fi
ninja -C "$build" >/dev/null
"$build/bench/bench_token" "${BENCH_ITERS:-2000}"
echo
"$build/bench/bench_policy"
echo
"$build/bench/bench_policy_budget"
echo
bench/http.sh "$build"
echo
bench/attest.sh "$build"
