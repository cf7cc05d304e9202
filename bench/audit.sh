#!/usr/bin/env bash
# What the audit trail costs warm attestation (docs/operations.md, "Audit trail"): SGX quotes
# from the test PKI, ES256 tokens, HTTPS keep-alive, attestd on CPU 0 (its audit writer
# included) and wrk on CPU 1, as in bench/attest.sh. Three daemons on the same data, in
# interleaved rounds so that the machine's drift hits all alike:
#   none:    the benchmark build's ATTESTD_BENCH_NO_AUDIT (no record at all): the baseline;
#   closed:  the default: each token waits for its record's group commit (fsynced);
#   open:    the provider set --audit-fail-open: records written, answers not held.
# Prints each round (with the records the closed run wrote: one per answer), then the ratios
# closed/none and open/none of the summed rates (target for closed: at least 0.95).
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

"$build/tests/tools/sgx_testpki" --out "$tmp/pki" >/dev/null
scripts/dev-setup.sh "$tmp/data" "$build/attestctl" >/dev/null
printf 'threads = 1\njob_threads = 1\nlog_level = warn\ndcap_trust_anchors = %s\n' \
  "$tmp/pki/root.pem" > "$tmp/attestd.conf"
ctl() { "$build/attestctl" --config "$tmp/attestd.conf" --data-dir "$tmp/data" "$@" >/dev/null; }
ctl collateral import "$tmp/pki/bundle.json"
ctl provider create closed --alg ES256
ctl provider create open --alg ES256
ctl provider set open --audit-fail-open on
python3 - "$tmp" <<'PY'
import base64, json, os, sys
d = sys.argv[1]
q = base64.urlsafe_b64encode(open(os.path.join(d, "pki", "quote.bin"), "rb").read())
with open(os.path.join(d, "warm.json"), "w") as f:
    f.write(json.dumps({"quote": q.rstrip(b"=").decode()}))
PY
cat > "$tmp/post.lua" <<LUA
local f = io.open("$tmp/warm.json")
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
LUA

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

rate() { # provider -> requests/s (after one warming request)
  local url="https://127.0.0.1:$port/providers/$1/attest/SgxEnclave?api-version=2020-10-01" out
  curl -sf --cacert "$tmp/data/tls/ca.pem" -H 'Content-Type: application/json' \
    --data-binary @"$tmp/warm.json" "$url" >/dev/null
  out=$("${client_cpu[@]}" wrk -t1 -c"$conns" -d"${seconds}s" -s "$tmp/post.lua" "$url")
  if grep -q "Non-2xx" <<<"$out"; then echo "bench: $1 got non-2xx answers" >&2; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

records() {
  python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(
    "SELECT COUNT(*) FROM audit_records").fetchone()[0])' "$tmp/data/audit.db"
}

sum_none=0 sum_closed=0 sum_open=0
echo "audit: SGX warm ES256 attestation, ${seconds}s per run, $conns connections"
for r in $(seq "$rounds"); do
  start ATTESTD_BENCH_NO_AUDIT=1
  none=$(rate closed)
  stop_daemon
  start
  before=$(records)
  closed=$(rate closed)
  after=$(records)
  open=$(rate open)
  stop_daemon
  printf 'round %d: none %s/s  closed %s/s  open %s/s  (%d records)\n' "$r" "$none" "$closed" \
    "$open" "$((after - before))"
  sum_none=$(awk -v a="$sum_none" -v b="$none" 'BEGIN {print a + b}')
  sum_closed=$(awk -v a="$sum_closed" -v b="$closed" 'BEGIN {print a + b}')
  sum_open=$(awk -v a="$sum_open" -v b="$open" 'BEGIN {print a + b}')
done
awk -v n="$sum_none" -v c="$sum_closed" -v o="$sum_open" 'BEGIN {
  printf "audit: closed/none %.3f (target >= 0.95), open/none %.3f\n", c / n, o / n }'
