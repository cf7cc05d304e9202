#!/usr/bin/env bash
# Scale-out on PostgreSQL (docs/operations.md, "Scale-out"): warm SGX attestation throughput of
# one node on SQLite (the baseline), one node on PostgreSQL and two nodes on one PostgreSQL, in
# the same run; then how long a policy change made through one node takes to be in force on the
# other.
#
# Throughput: SGX quotes from the test PKI, ES256 tokens, HTTPS keep-alive, wrk. One node: the
# node on CPU 0, wrk on CPU 1 (as bench/attest.sh). Two nodes: one on each CPU and two wrk
# processes (half the connections each) unpinned, so on this 2-core machine the second node
# buys CPU the load generator then lacks: the figure says what sharing the store costs, not
# what a second machine would add. Rounds rotate the order of the three modes; the result is
# the median over rounds of each mode's rate over the SQLite rate of the same round.
#
# Propagation: PROPAGATIONS policy changes through node A's REST API, each followed by
# attestations on node B until its token carries the new value: the time from A's answer to
# the first such token on B (median and worst).
#
# Usage: bench/scaleout.sh BUILD_DIR (a release build: meson setup build-bench
# --buildtype=release -Dtests=false -Dbench=true; tests/tools/sgx_testpki is built with it).
# ROUNDS=3 BENCH_SECONDS=10 BENCH_CONNS=32 PROPAGATIONS=20.
set -euo pipefail
build=${1:-build-bench}
seconds=${BENCH_SECONDS:-10}
rounds=${ROUNDS:-3}
conns=${BENCH_CONNS:-32}
propagations=${PROPAGATIONS:-20}
. bench/lib.sh scaleout

warm_sgx_post "$build"
# A directory of its own in /tmp (not under $tmp, which is root's alone): PostgreSQL runs as
# the postgres user when this runs as root.
pg_dir=$(mktemp -d /tmp/attestd-bench-pg-XXXXXX)
pg_url=$(/usr/bin/python3 tests/pg_server.py start "$pg_dir")
pg_stop() {
  /usr/bin/python3 tests/pg_server.py stop "$pg_dir" >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}
trap 'stop_all; pg_stop; cleanup' EXIT
psql -X -q -d "$pg_url/postgres" -c 'CREATE DATABASE bench' >/dev/null
public_url=https://attest.bench.example

# node NAME STORE: a data directory and configuration of its own; all share node a's KEK.
node() {
  scripts/dev-setup.sh "$tmp/$1" "$build/attestctl" >/dev/null
  if [ "$1" != a ] && [ -f "$tmp/a/kek.key" ]; then cp "$tmp/a/kek.key" "$tmp/$1/kek.key"; fi
  {
    printf 'threads = 1\njob_threads = 1\nlog_level = warn\npublic_url = %s\n' "$public_url"
    printf 'dcap_trust_anchors = %s\nnode_name = %s\n' "$tmp/pki/root.pem" "$1"
    if [ "$2" != sqlite ]; then printf 'store = %s\n' "$2"; fi
  } > "$tmp/$1.conf"
  "$build/attestctl" --config "$tmp/$1.conf" --data-dir "$tmp/$1" collateral import \
    "$tmp/pki/bundle.json" >/dev/null
}
node s sqlite
node a "$pg_url/bench"
node b "$pg_url/bench"

pids=() ports=()
# start NAME CPU: the node on that CPU, once it answers /healthz; its port in ports[].
start() {
  local port
  port=$(free_port)
  taskset -c "$2" "$build/attestd" --config "$tmp/$1.conf" --data-dir "$tmp/$1" \
    --listen "127.0.0.1:$port" 2>>"$tmp/$1.log" &
  pids+=($!)
  ports+=("$port")
  for _ in $(seq 200); do
    curl -sf --cacert "$tmp/$1/tls/ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null && return
    sleep 0.1
  done
  echo "bench: node $1 did not start" >&2
  exit 1
}
stop_all() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=() ports=()
}

url() { echo "https://127.0.0.1:$1/attest/SgxEnclave?api-version=2020-10-01"; }
warm() { curl -sf -k -H 'Content-Type: application/json' --data-binary @"$tmp/warm.json" "$(url "$1")" >/dev/null; }
# wrk_rate PORT CONNS [taskset...]: requests/s
wrk_rate() {
  local port=$1 c=$2 out
  shift 2
  out=$("$@" wrk -t1 -c"$c" -d"${seconds}s" -s "$tmp/post.lua" "$(url "$port")")
  if grep -q "Non-2xx" <<<"$out"; then echo "bench: non-2xx answers" >&2; fi
  awk '/Requests\/sec/ {print $2}' <<<"$out"
}

measure() {
  case "$1" in
    sqlite1) start s 0; warm "${ports[0]}"; wrk_rate "${ports[0]}" "$conns" "${client_cpu[@]}" ;;
    pg1) start a 0; warm "${ports[0]}"; wrk_rate "${ports[0]}" "$conns" "${client_cpu[@]}" ;;
    pg2)
      start a 0
      start b 1
      warm "${ports[0]}"
      warm "${ports[1]}"
      wrk_rate "${ports[0]}" $((conns / 2)) > "$tmp/r0" &
      local other=$!
      wrk_rate "${ports[1]}" $((conns / 2)) > "$tmp/r1"
      wait "$other" # that one only: the nodes are this shell's children too
      awk '{s += $1} END {print s}' "$tmp/r0" "$tmp/r1"
      ;;
  esac
  stop_all
}

echo "scaleout: SGX warm ES256 attestation, ${seconds}s per run, $conns connections, $rounds rounds"
modes=(sqlite1 pg1 pg2)
ratios=()
for r in $(seq "$rounds"); do
  declare -A got=()
  for k in 0 1 2; do
    m=${modes[$(((r + k) % 3))]}
    got[$m]=$(measure "$m")
  done
  printf 'round %d: sqlite 1 node %s/s  postgresql 1 node %s/s  postgresql 2 nodes %s/s\n' "$r" \
    "${got[sqlite1]}" "${got[pg1]}" "${got[pg2]}"
  ratios+=("$(awk -v s="${got[sqlite1]}" -v a="${got[pg1]}" -v b="${got[pg2]}" \
    'BEGIN {print a / s, b / s}')")
  unset got
done
printf '%s\n' "${ratios[@]}" | awk '
  { for (i = 1; i <= 2; i++) v[i, NR] = $i }
  function median(i,   j, k, t, a) {
    for (j = 1; j <= NR; j++) a[j] = v[i, j]
    for (j = 1; j <= NR; j++) for (k = j + 1; k <= NR; k++) if (a[k] < a[j]) { t = a[j]; a[j] = a[k]; a[k] = t }
    return NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
  }
  END {
    printf "scaleout: rate postgresql 1 node / sqlite %.3f (target >= 0.95), 2 nodes / sqlite %.3f (medians of %d rounds)\n", median(1), median(2), NR
  }'

# Propagation: A and B on their own CPUs, changes through A, attestations on B.
start a 0
start b 1
/usr/bin/python3 - "$tmp" "${ports[0]}" "${ports[1]}" "$propagations" <<'PY'
import http.client, json, ssl, sys, time, base64
tmp, pa, pb, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
def call(port, method, path, body=None, headers=None):
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data
owner = json.load(open(f"{tmp}/a/bootstrap-owner.json"))
st, tok = call(pa, "POST", "/oauth2/token", body=(
    f"grant_type=client_credentials&client_id={owner['client_id']}"
    f"&client_secret={owner['client_secret']}").encode(),
    headers={"Content-Type": "application/x-www-form-urlencoded"})
token = json.loads(tok)["access_token"]
quote = open(f"{tmp}/warm.json", "rb").read()
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
times = []
for i in range(n):
    value = f"v{i}-{time.monotonic_ns()}"
    text = ("version=1.0;\nauthorizationrules{\n=> permit();\n};\nissuancerules{\n"
            f'=> issue(type="x-bench", value="{value}");\n}};\n')
    jws = b64(b'{"alg":"none"}') + "." + b64(json.dumps({"AttestationPolicy": b64(text.encode())}).encode()) + "."
    st, body = call(pa, "PUT", "/policies/SgxEnclave?api-version=2020-10-01", body=jws.encode(),
                    headers={"Authorization": "Bearer " + token, "Content-Type": "text/plain"})
    assert st == 200, (st, body)
    t0 = time.monotonic()
    while True:
        st, body = call(pb, "POST", "/attest/SgxEnclave?api-version=2020-10-01", body=quote,
                        headers={"Content-Type": "application/json"})
        claims = json.loads(base64.urlsafe_b64decode(json.loads(body)["token"].split(".")[1] + "=="))
        if claims.get("x-bench") == value:
            break
        if time.monotonic() - t0 > 10:
            raise SystemExit("bench: a change did not reach node B within 10 s")
    times.append((time.monotonic() - t0) * 1000)
times.sort()
print(f"scaleout: a policy change through node A in force on node B after {times[len(times) // 2]:.0f} ms (median), "
      f"{times[-1]:.0f} ms (worst of {n})")
PY
stop_all
