#!/usr/bin/env bash
# SGX attestation throughput over HTTPS keep-alive, as a ratio to the crypto floor measured in
# the same run (bench_attest_floor), and against the reference verifier @phala/dcap-qvl.
#
#   warm: one platform, collateral and PCK chain cached: POST /attest/SgxEnclave with the same
#         quote (RS256 tokens from the default provider, ES256 from provider "es");
#   cold: a new platform per request (4096 quotes with distinct PCK certificates, more than the
#         PCK cache holds), collateral cached.
# attestd runs one worker thread pinned to CPU 0, wrk one thread pinned to CPU 1 (unpinned, the
# scheduler sometimes puts both on one core and the rate wanders by +-5%); the floor, the
# verification loop and the reference verifier run on CPU 0 too. Evidence comes from the test
# PKI (tests/tools/sgx_testpki), fresh, so no test hook is needed. Usage: bench/attest.sh BUILD_DIR
set -euo pipefail
build=${1:-build-bench}
seconds=${BENCH_SECONDS:-5}
conns=${BENCH_CONNS:-16}
cold_quotes=${BENCH_COLD_QUOTES:-4096}
command -v wrk >/dev/null || { echo "bench: wrk missing (scripts/deps.sh --bench)"; exit 1; }
server_cpu=() client_cpu=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi
tmp=$(mktemp -d /tmp/attestd-bench-attest-XXXXXX)
cleanup() {
  [ -n "${att_pid:-}" ] && kill "$att_pid" 2>/dev/null && wait "$att_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$build/tests/tools/sgx_testpki" --out "$tmp/pki" --count "$cold_quotes" >/dev/null
scripts/dev-setup.sh "$tmp/data" "$build/attestctl" >/dev/null
printf 'threads = 1\njob_threads = 1\nlog_level = warn\ndcap_trust_anchors = %s\n' "$tmp/pki/root.pem" \
  > "$tmp/attestd.conf"
ctl() { "$build/attestctl" --config "$tmp/attestd.conf" --data-dir "$tmp/data" "$@"; }
ctl collateral import "$tmp/pki/bundle.json" >/dev/null
ctl provider create es --alg ES256 >/dev/null
port=$(free_port)
"${server_cpu[@]}" "$build/attestd" --config "$tmp/attestd.conf" --data-dir "$tmp/data" \
  --listen "127.0.0.1:$port" 2>"$tmp/attestd.log" &
att_pid=$!
for _ in $(seq 100); do
  curl -sf --cacert "$tmp/data/tls/ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null && break
  sleep 0.1
done

# Request bodies: one JSON line per quote.
python3 - "$tmp/pki" "$cold_quotes" "$tmp" <<'PY'
import base64, json, os, sys
pki, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def body(path):
    with open(path, "rb") as f:
        q = base64.urlsafe_b64encode(f.read()).rstrip(b"=").decode()
    return json.dumps({"quote": q})
with open(os.path.join(out, "warm.jsonl"), "w") as f:
    f.write(body(os.path.join(pki, "quote.bin")) + "\n")
with open(os.path.join(out, "cold.jsonl"), "w") as f:
    for i in range(n):
        f.write(body(os.path.join(pki, "quotes", f"quote-{i:05d}.bin")) + "\n")
PY
cat > "$tmp/post.lua" <<'LUA'
local bodies = {}
for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
LUA

load() { # name bodies url -> "rate p50 p99"
  local out
  out=$(BODIES=$2 "${client_cpu[@]}" wrk -t1 -c"$conns" -d"${seconds}s" --latency -s "$tmp/post.lua" "$3")
  if ! grep -q "Non-2xx" <<<"$out"; then :; else echo "bench: $1 got non-2xx answers" >&2; fi
  awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print r, p50, p99}' <<<"$out"
}
base="https://127.0.0.1:$port"
api="api-version=2020-10-01"
# A first request per body set warms the caches (PCK chain, collateral, policy). The ES256 one
# also gives the bytes one attestation moves each way, for the TLS part of the floor.
curl -sf --cacert "$tmp/data/tls/ca.pem" -H 'Content-Type: application/json' \
  --data-binary @"$tmp/warm.jsonl" "$base/attest/SgxEnclave?$api" >/dev/null
read -r request_bytes answer_bytes < <(curl -sf --cacert "$tmp/data/tls/ca.pem" -o /dev/null \
  -H 'Content-Type: application/json' --data-binary @"$tmp/warm.jsonl" \
  -w '%{size_request} %{size_header} %{size_download}\n' \
  "$base/providers/es/attest/SgxEnclave?$api" | awk '{print $1, $2 + $3}')
read -r warm_rs w_rs_p50 w_rs_p99 < <(load warm-rs256 "$tmp/warm.jsonl" "$base/attest/SgxEnclave?$api")
read -r warm_es w_es_p50 w_es_p99 < <(load warm-es256 "$tmp/warm.jsonl" "$base/providers/es/attest/SgxEnclave?$api")
read -r cold_rs c_rs_p50 c_rs_p99 < <(load cold-rs256 "$tmp/cold.jsonl" "$base/attest/SgxEnclave?$api")
floors=$("${server_cpu[@]}" "$build/bench/bench_attest_floor" 4 "$tmp/pki/pck_chain.pem" \
  "$request_bytes" "$answer_bytes")
verify=$("${server_cpu[@]}" "$build/bench/bench_verify" 4 tests/fixtures)
peer='{}'
if [ -d tests/integration/js/node_modules/@phala/dcap-qvl ]; then
  peer=$("${server_cpu[@]}" node bench/dcap_qvl_bench.mjs 2>/dev/null | tail -1 || echo '{}')
fi
python3 - "$floors" "$peer" "$warm_rs $w_rs_p50 $w_rs_p99" "$warm_es $w_es_p50 $w_es_p99" \
  "$cold_rs $c_rs_p50 $c_rs_p99" "$conns" "$seconds" "$verify" "$request_bytes" \
  "$answer_bytes" <<'PY'
import json, sys
floors = {l.split()[1]: float(l.split()[2]) for l in sys.argv[1].splitlines() if l.startswith("floor")}
verify = {l.split()[1]: float(l.split()[2]) for l in sys.argv[8].splitlines() if l.startswith("verify")}
peer = json.loads(sys.argv[2] or "{}")
rows = [("warm RS256", sys.argv[3], "warm-RS256"), ("warm ES256", sys.argv[4], "warm-ES256"),
        ("cold RS256", sys.argv[5], "cold-RS256")]
print(f"POST /attest/SgxEnclave, attestd 1 worker, wrk 1 thread x {sys.argv[6]} connections "
      f"keep-alive, {sys.argv[7]}s per run; floor includes TLS records of {sys.argv[9]} B in, "
      f"{sys.argv[10]} B out")
for name, vals, key in rows:
    rate, p50, p99 = vals.split()
    rate = float(rate)
    print(f"{name}: attestd {rate:8.0f}/s  p50 {p50:>8s}  p99 {p99:>8s}  "
          f"floor {floors[key]:8.0f}/s  ratio {rate / floors[key]:.2f}")
if peer.get("per_sec"):
    ref = peer["per_sec"]
    print(f"reference verifier {peer.get('peer')} {peer.get('version')}: {ref:.0f}/s on one core "
          f"(sgx01 + its bundle, everything verified each call)")
    print(f"  attestd verification, same quote, bundle and time, one core: full (nothing cached) "
          f"{verify['full']:.0f}/s = {verify['full'] / ref:.1f}x; warm {verify['warm']:.0f}/s = "
          f"{verify['warm'] / ref:.1f}x")
    for name, vals, _ in rows[:2]:
        rate = float(vals.split()[0])
        print(f"  attestd HTTPS {name} / reference = {rate / ref:.1f}x")
else:
    print("reference verifier: not installed (npm ci in tests/integration/js)")
PY
