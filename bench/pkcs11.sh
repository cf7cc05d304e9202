#!/usr/bin/env bash
# Signing inside a PKCS#11 token against signing in process (bench_token_pkcs11.c), with a
# SoftHSM 2 token made for the run: bench/pkcs11.sh [BUILD_DIR] (default build-bench).
set -euo pipefail
build=${1:-build-bench}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$work" > "$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf"
softhsm2-util --init-token --free --label bench --pin 1234 --so-pin 87654321 >/dev/null
printf '1234\n' > "$work/pin"
chmod 600 "$work/pin"
"$build/bench/bench_token_pkcs11" \
  "pkcs11:token=bench?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:$work/pin"
