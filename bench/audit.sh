#!/usr/bin/env bash
# What the audit trail costs warm attestation (docs/operations.md, "Audit trail"): SGX quotes
# from the test PKI, ES256 tokens, HTTPS keep-alive, attestd on CPU 0 (its audit writer
# included) and wrk on CPU 1, as in bench/attest.sh. Three daemons on the same data, each run
# with a daemon of its own, in rounds whose order rotates so that the machine's drift hits all
# alike:
#   none:    the benchmark build's ATTESTD_BENCH_NO_AUDIT (no record at all): the baseline;
#   closed:  the default: each token waits for its record's group commit (fsynced);
#   open:    the provider set --audit-fail-open: records written, answers not held.
# Prints each round (rate, and attestd's CPU time per answer, all its threads), then the medians
# over the rounds of closed/none and open/none: of the rate (target for closed: at least 0.95)
# and of the CPU per answer (steadier than the rate on a noisy machine).
# Usage: bench/audit.sh BUILD_DIR (a build with -Dbench=true; ROUNDS=5, BENCH_SECONDS=10: this
# machine's noise between runs is of the order of the effect).
set -euo pipefail
build=${1:-build-bench}
seconds=${BENCH_SECONDS:-10}
rounds=${ROUNDS:-5}
# Enough connections to keep attestd's core busy while answers wait for their commit: with few,
# each connection's rate is bound by the latency of a durable commit, not by the work.
conns=${BENCH_CONNS:-64}
. bench/lib.sh audit

warm_sgx_post "$build"
scripts/dev-setup.sh "$tmp/data" "$build/attestctl" >/dev/null
printf 'threads = 1\njob_threads = 1\nlog_level = warn\ndcap_trust_anchors = %s\n' \
  "$tmp/pki/root.pem" > "$tmp/attestd.conf"
ctl() { "$build/attestctl" --config "$tmp/attestd.conf" --data-dir "$tmp/data" "$@" >/dev/null; }
ctl collateral import "$tmp/pki/bundle.json"
ctl provider create closed --alg ES256
ctl provider create open --alg ES256
ctl provider set open --audit-fail-open on

# start [ENV=VALUE]: attestd on CPU 0, once it answers /healthz.
start() {
  port=$(free_port)
  env "$@" "${server_cpu[@]}" "$build/attestd" --config "$tmp/attestd.conf" \
    --data-dir "$tmp/data" --listen "127.0.0.1:$port" 2>>"$tmp/attestd.log" &
  att_pid=$!
  for _ in $(seq 100); do
    curl -sf --cacert "$tmp/data/tls/ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
  done
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$att_pid/stat"; }

# rate PROVIDER -> "requests/s CPU-microseconds-per-answer" (after one warming request). The
# daemon's CPU time per answer (user + system, all its threads) is the steadier figure: the
# rate moves with the machine's noise, the work per answer much less.
rate() {
  local url="https://127.0.0.1:$port/providers/$1/attest/SgxEnclave?api-version=2020-10-01" out
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
}

# measure MODE -> "rate cpu": a daemon of its own for each run (none: no trail; closed and open:
# the provider of that name).
measure() {
  if [ "$1" = none ]; then start ATTESTD_BENCH_NO_AUDIT=1; else start; fi
  rate "$([ "$1" = open ] && echo open || echo closed)"
  stop_daemon
}

# Each round runs the three in a rotated order (the machine drifts within a round too) and
# yields two ratios to its own baseline; the medians of those are the result.
modes=(none closed open)
ratios=()
echo "audit: SGX warm ES256 attestation, ${seconds}s per run, $conns connections"
for r in $(seq "$rounds"); do
  declare -A got=()
  for k in 0 1 2; do
    m=${modes[$(((r + k) % 3))]}
    got[$m]=$(measure "$m")
  done
  read -r none none_cpu <<<"${got[none]}"
  read -r closed closed_cpu <<<"${got[closed]}"
  read -r open open_cpu <<<"${got[open]}"
  printf 'round %d: none %s/s %s us  closed %s/s %s us  open %s/s %s us\n' "$r" \
    "$none" "$none_cpu" "$closed" "$closed_cpu" "$open" "$open_cpu"
  ratios+=("$(awk -v n="$none" -v c="$closed" -v o="$open" -v nc="$none_cpu" -v cc="$closed_cpu" \
    -v oc="$open_cpu" 'BEGIN {print c / n, o / n, cc / nc, oc / nc}')")
  unset got
done
printf '%s\n' "${ratios[@]}" | awk '
  { for (i = 1; i <= 4; i++) v[i, NR] = $i }
  function median(i,   n, j, k, t, a) {
    for (j = 1; j <= NR; j++) a[j] = v[i, j]
    for (j = 1; j <= NR; j++) for (k = j + 1; k <= NR; k++) if (a[k] < a[j]) { t = a[j]; a[j] = a[k]; a[k] = t }
    return NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
  }
  END {
    printf "audit: rate closed/none %.3f (target >= 0.95), open/none %.3f (medians of %d rounds)\n", median(1), median(2), NR
    printf "audit: CPU per answer closed/none %.3f, open/none %.3f\n", median(3), median(4)
  }'
