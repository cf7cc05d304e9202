#!/usr/bin/env bash
# /healthz latency while the job pool is saturated by attack load (docs/internals/http.md,
# "Job pool"): the event loops only do I/O and cheap routing, so health and metadata must stay
# responsive however busy the pool is. Target: /healthz p99 under 100 ms.
#
#   baseline: one wrk connection sends GET /healthz back to back, nothing else running;
#   attack:   the same, while wrk hammers POST /attest/SgxEnclave from 320 connections with a
#             valid quote and a draft policy that spends the whole evaluation budget (the
#             doubling multi-select hash of the security review): every request costs the
#             pool tens of milliseconds, far more work than the pool can do, so its queue is
#             full and the surplus is answered 503 at once.
# attestd runs with its defaults (an event loop and a pool thread per core); the two wrk
# processes share the machine with it, as an attacker's would. Usage: bench/healthz.sh BUILD_DIR
set -euo pipefail
build=${1:-build-bench}
seconds=${BENCH_SECONDS:-10}
attackers=${BENCH_ATTACK_CONNS:-320}
command -v wrk >/dev/null || { echo "bench: wrk missing (scripts/deps.sh --bench)"; exit 1; }
tmp=$(mktemp -d /tmp/attestd-bench-healthz-XXXXXX)
cleanup() {
  [ -n "${att_pid:-}" ] && kill "$att_pid" 2>/dev/null && wait "$att_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$build/tests/tools/sgx_testpki" --out "$tmp/pki" >/dev/null
scripts/dev-setup.sh "$tmp/data" "$build/attestctl" >/dev/null
# Every client here is 127.0.0.1: no per-source cap, or the prober would be refused with the
# attackers (the cap is tested in tests/integration/test_connections.py).
printf 'log_level = error\nmax_connections_per_address = 0\ndcap_trust_anchors = %s\n' \
  "$tmp/pki/root.pem" > "$tmp/attestd.conf"
"$build/attestctl" --config "$tmp/attestd.conf" --data-dir "$tmp/data" \
  collateral import "$tmp/pki/bundle.json" >/dev/null
port=$(free_port)
"$build/attestd" --config "$tmp/attestd.conf" --data-dir "$tmp/data" \
  --listen "127.0.0.1:$port" 2>"$tmp/attestd.log" &
att_pid=$!
base="https://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -sf --cacert "$tmp/data/tls/ca.pem" "$base/healthz" >/dev/null && break
  sleep 0.1
done

# The attack body: the quote, and a 60 KB draft policy of JmesPath calls that each build a
# 2^18-member value from "0" and compare it with itself.
python3 - "$tmp/pki/quote.bin" > "$tmp/attack.json" <<'PY'
import base64, json, sys
with open(sys.argv[1], "rb") as f:
    quote = base64.urlsafe_b64encode(f.read()).rstrip(b"=").decode()
query = "{a:@,b:@}|" * 18 + "@==@"
rule = '=> issue(type="r", value=JmesPath("\\"0\\"", "%s"));' % query
draft = ("version=1.2;authorizationrules{=> permit();};issuancerules{" +
         rule * (60000 // len(rule)) + "};")
print(json.dumps({"quote": quote, "draftPolicyForAttestation": draft}))
PY
cat > "$tmp/post.lua" <<'LUA'
local f = io.open(os.getenv("BODY"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
c400, c503, cother = 0, 0, 0
response = function(status)
  if status == 400 then c400 = c400 + 1 elseif status == 503 then c503 = c503 + 1
  else cother = cother + 1 end
end
local threads = {}
setup = function(thread) threads[#threads + 1] = thread end
done = function()
  local n = {0, 0, 0}
  for _, t in ipairs(threads) do
    n[1], n[2], n[3] = n[1] + t:get("c400"), n[2] + t:get("c503"), n[3] + t:get("cother")
  end
  io.write(string.format("codes 400=%d 503=%d other=%d\n", n[1], n[2], n[3]))
end
LUA
curl -s --cacert "$tmp/data/tls/ca.pem" -o /dev/null -w '%{http_code}\n' \
  -H 'Content-Type: application/json' --data-binary @"$tmp/attack.json" \
  "$base/attest/SgxEnclave?api-version=2020-10-01" | grep -q 400 ||
  { echo "bench: the attack request is not refused with 400 as it should be"; exit 1; }

healthz() { # -> "rate p50 p99 max"
  wrk -t1 -c1 -d"${seconds}s" --latency "$base/healthz" |
    awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
         $1 == "Latency" && NF >= 5 {max=$4} END {print r, p50, p99, max}'
}
read -r base_rate base_p50 base_p99 base_max < <(healthz)
BODY="$tmp/attack.json" wrk -t1 -c"$attackers" -d"$((seconds + 2))s" -s "$tmp/post.lua" \
  "$base/attest/SgxEnclave?api-version=2020-10-01" > "$tmp/attack.out" &
attack_pid=$!
sleep 1
read -r atk_rate atk_p50 atk_p99 atk_max < <(healthz)
wait "$attack_pid"
attack_rate=$(awk '/Requests\/sec/ {print $2}' "$tmp/attack.out")
codes=$(awk '/^codes/ {$1=""; print}' "$tmp/attack.out")
echo "GET /healthz (1 connection) while POST /attest/SgxEnclave with a budget-spending draft policy ($attackers connections) saturates the job pool; ${seconds}s each"
printf 'baseline: %8.0f req/s  p50 %8s  p99 %8s  max %8s\n' "$base_rate" "$base_p50" "$base_p99" "$base_max"
printf 'attack:   %8.0f req/s  p50 %8s  p99 %8s  max %8s   (attack: %s req/s, answers: %s)\n' \
  "$atk_rate" "$atk_p50" "$atk_p99" "$atk_max" "$attack_rate" "$codes"
python3 - "$atk_p99" <<'PY'
import sys
v = sys.argv[1]
ms = float(v[:-2]) if v.endswith("ms") else float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-1]) * 1000
print(f"/healthz p99 under attack: {ms:.2f} ms (target < 100 ms): {'ok' if ms < 100 else 'OVER'}")
PY
