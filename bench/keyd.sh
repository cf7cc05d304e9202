#!/usr/bin/env bash
# What the key process costs warm attestation (key_process, on by default; docs/internals/
# key-process.md): SGX quotes from the test PKI, ES256 tokens, HTTPS keep-alive, attestd on
# CPU 0 (its key process too: it inherits the affinity) and wrk on CPU 1, as in bench/audit.sh.
# Two daemons on the same data, each run with a daemon of its own, alternated in rounds:
#   inproc: key_process = disabled: the keys in attestd;
#   keyd:   key_process = enabled (the default): tokens signed in the key worker, in batches.
# Prints each round (rate, and CPU time per answer of attestd and its key process), then the
# medians over the rounds of keyd/inproc (target for the rate: at least 0.90).
# Usage: bench/keyd.sh BUILD_DIR (a build with -Dbench=true; ROUNDS=5, BENCH_SECONDS=8).
set -euo pipefail
build=${1:-build-bench}
seconds=${BENCH_SECONDS:-8}
rounds=${ROUNDS:-5}
conns=${BENCH_CONNS:-16}
. bench/lib.sh keyd

warm_sgx_post "$build"
scripts/dev-setup.sh "$tmp/data" "$build/attestctl" >/dev/null
printf 'threads = 1\njob_threads = 1\nlog_level = warn\ndcap_trust_anchors = %s\n' \
  "$tmp/pki/root.pem" > "$tmp/inproc.conf"
cp "$tmp/inproc.conf" "$tmp/keyd.conf"
echo "key_process = disabled" >> "$tmp/inproc.conf"
echo "key_process = enabled" >> "$tmp/keyd.conf"
ctl() { "$build/attestctl" --config "$tmp/inproc.conf" --data-dir "$tmp/data" "$@" >/dev/null; }
ctl collateral import "$tmp/pki/bundle.json"
ctl provider create es --alg ES256

# start MODE: attestd on CPU 0 with MODE's configuration, once it answers /healthz.
start() {
  port=$(free_port)
  "${server_cpu[@]}" "$build/attestd" --config "$tmp/$1.conf" --data-dir "$tmp/data" \
    --listen "127.0.0.1:$port" 2>>"$tmp/attestd.log" &
  att_pid=$!
  for _ in $(seq 200); do
    curl -sf --cacert "$tmp/data/tls/ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
  done
}

# Processes under PID (its children, theirs, ...).
descendants() {
  local c
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do echo "$c"; descendants "$c"; done
}

# CPU ticks of attestd and its key supervisor and worker (if any).
cpu_ticks() {
  local t=0 p
  for p in $att_pid $(descendants "$att_pid"); do
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$t"
}

# measure MODE -> "requests/s CPU-microseconds-per-answer" (after one warming request).
measure() {
  start "$1"
  local url="https://127.0.0.1:$port/providers/es/attest/SgxEnclave?api-version=2020-10-01" out
  local t0 t1
  curl -sf --cacert "$tmp/data/tls/ca.pem" -H 'Content-Type: application/json' \
    --data-binary @"$tmp/warm.json" "$url" >/dev/null
  t0=$(cpu_ticks)
  out=$("${client_cpu[@]}" wrk -t1 -c"$conns" -d"${seconds}s" -s "$tmp/post.lua" "$url")
  t1=$(cpu_ticks)
  if grep -q "Non-2xx" <<<"$out"; then echo "bench: $1 got non-2xx answers" >&2; fi
  awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" '
    / requests in / {n = $1} /Requests\/sec/ {r = $2}
    END {printf "%s %.1f\n", r, t / hz * 1e6 / n}' <<<"$out"
  stop_daemon
}

ratios=()
echo "keyd: SGX warm ES256 attestation, ${seconds}s per run, $conns connections"
for r in $(seq "$rounds"); do
  if [ $((r % 2)) = 1 ]; then
    a=$(measure inproc); b=$(measure keyd)
  else
    b=$(measure keyd); a=$(measure inproc)
  fi
  read -r ia ic <<<"$a"
  read -r ka kc <<<"$b"
  printf 'round %d: inproc %s/s %s us  keyd %s/s %s us\n' "$r" "$ia" "$ic" "$ka" "$kc"
  ratios+=("$(awk -v i="$ia" -v k="$ka" -v ic="$ic" -v kc="$kc" 'BEGIN {print k / i, kc / ic}')")
done
printf '%s\n' "${ratios[@]}" | awk '
  { r[NR] = $1; c[NR] = $2 }
  function median(a,   j, k, t) {
    for (j = 1; j <= NR; j++) for (k = j + 1; k <= NR; k++) if (a[k] < a[j]) { t = a[j]; a[j] = a[k]; a[k] = t }
    return NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
  }
  END {
    printf "keyd: rate keyd/inproc %.3f (target >= 0.90), CPU per answer keyd/inproc %.3f (medians of %d rounds)\n", median(r), median(c), NR
  }'
