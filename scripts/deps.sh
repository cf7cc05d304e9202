#!/usr/bin/env bash
# Install the Debian packages attestd needs, when missing: those that build and run it
# (make build, make run); with --demo, Node.js and npm for the official client (make demo);
# with --deb, the Debian packaging tools (make deb);
# with --test, those of the tests too (make test, make fuzz); with --bench, the load generator
# and the reference server of bench/http.sh.
# Machines run as root (CI too); elsewhere sudo is used when available.
set -euo pipefail

packages=(
  gcc make pkg-config meson ninja-build
  libssl-dev libevent-dev libjansson-dev libsqlite3-dev libpq-dev libcurl4-openssl-dev
  libtss2-dev libp11-kit-dev
  openssl curl python3
)
node=false
for arg in "$@"; do
  case "$arg" in
    --demo) node=true ;;
    --deb) packages+=(build-essential dpkg-dev debhelper fakeroot lintian) ;;
    --test)
      node=true
      packages+=(libcmocka-dev python3-cryptography sqlite3 groff-base
                 clang libclang-rt-14-dev clang-format
                 swtpm swtpm-tools tpm2-tools softhsm2 prometheus postgresql haproxy
                 build-essential dpkg-dev debhelper fakeroot lintian debootstrap)
      ;;
    --bench) packages+=(wrk nginx-light) ;;
    *) echo "usage: scripts/deps.sh [--demo] [--deb] [--test] [--bench]" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# Node.js + npm run the JavaScript peers of the black-box tests (jose, the official MAA client,
# an OpenID provider). The tests run /usr/bin/node and scripts/test.sh /usr/bin/npm (Debian's
# nodejs and npm), whatever else the PATH holds; a node elsewhere does not count.
if $node && [ ! -x /usr/bin/node ]; then missing+=(nodejs); fi
if $node && [ ! -x /usr/bin/npm ]; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The tests start their own Prometheus (and promtool checks the exposition), PostgreSQL
# servers (tests/pg_server.py: initdb and pg_ctl in a temporary directory) and HAProxy; the
# packaged services would only hold their ports.
if [ -d /run/systemd/system ]; then
  for service in prometheus postgresql haproxy; do
    if [[ " ${missing[*]} " == *" $service "* ]]; then
      $sudo systemctl disable --now "$service" >/dev/null 2>&1 || true
    fi
  done
fi
