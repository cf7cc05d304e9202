#!/usr/bin/env bash
# SGX, TDX, SEV-SNP and TPM attestation throughput over HTTPS keep-alive, as ratios measured in the
# same run:
# to the crypto floor (bench_attest_floor), to OpenSSL's P-256 verify rate on the same core
# (`openssl speed ecdsap256`: a machine-independent figure), and to the reference verifier
# @phala/dcap-qvl on one core.
#
#   warm: one platform, collateral and PCK chain cached: the same quote again and again
#         (RS256 tokens from the default provider, ES256 from provider "es");
#   cold: a new platform per request (4096 quotes with distinct PCK certificates, more than the
#         PCK cache holds), collateral cached.
# Floors: "memo" is what no cache can avoid (one P-256 verify of the quote, the hashes, the
# token signature, the TLS records; since the QE report check and the attestation key are
# memoized); "warm" is the floor before that (two verifies and the key), kept for comparison.
# attestd runs one worker thread pinned to CPU 0, wrk one thread pinned to CPU 1; the floor,
# openssl speed, the verification loop and the reference verifier run on CPU 0 too. Evidence
# comes from the test PKI (tests/tools/sgx_testpki: SGX v3, and TDX v4 with --tdx 4), fresh, so
# no test hook is needed. SEV-SNP: the real report snp03 (Genoa; its VCEK is valid from
# 2026-01-11 to 2033-01-11, so at the wall clock) in MAA's document with its VCEK chain, warm
# only (one chip), against its floor (one P-384 verify, the chain hash, the token signature, the
# TLS records) and against @tinfoilsh/verifier on the same report. No AMD CRL of the present is
# in the tree, so that daemon runs with amd_crl_check disabled (a held CRL costs one serial
# lookup per report). TPM: a swtpm quote of 24 PCRs with a 30-event log and the AK's
# certificate (bench/tpm_evidence.py), RSA-2048 AK, ES256 tokens, against its floor (the AK
# certificate's verify, one RSA-2048 verify of the quote, the PCR and log hashing, the token
# signature, the TLS records). Usage: bench/attest.sh BUILD_DIR (BENCH_KINDS="sgx tdx snp tpm"
# by default: a subset runs only those).
set -euo pipefail
build=${1:-build-bench}
seconds=${BENCH_SECONDS:-5}
conns=${BENCH_CONNS:-16}
cold_quotes=${BENCH_COLD_QUOTES:-4096}
. bench/lib.sh attest

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

# start_daemon DIR: attestd on CPU 0 with DIR's config and data on a free port (sets port,
# att_pid), once it answers /healthz.
start_daemon() {
  port=$(free_port)
  "${server_cpu[@]}" "$build/attestd" --config "$1/attestd.conf" --data-dir "$1/data" \
    --listen "127.0.0.1:$port" 2>"$1/attestd.log" &
  att_pid=$!
  for _ in $(seq 100); do
    curl -sf --cacert "$1/data/tls/ca.pem" "https://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
  done
}

load() { # name bodies url -> "rate p50 p99"
  local out
  out=$(BODIES=$2 "${client_cpu[@]}" wrk -t1 -c"$conns" -d"${seconds}s" --latency -s "$tmp/post.lua" "$3")
  if grep -q "Non-2xx" <<<"$out"; then echo "bench: $1 got non-2xx answers" >&2; fi
  awk '/Requests\/sec/ {r=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print r, p50, p99}' <<<"$out"
}

# run KIND TESTPKI-ARGS... : a fresh PKI and daemon for KIND (sgx or tdx), then its loads;
# prints "KIND warm-rs RATE P50 P99", "warm-es", "cold-rs" lines and "KIND bytes REQ ANS".
run() {
  local kind=$1 dir="$tmp/$1" route port base api
  shift
  mkdir -p "$dir"
  "$build/tests/tools/sgx_testpki" --out "$dir/pki" --count "$cold_quotes" "$@" >/dev/null
  scripts/dev-setup.sh "$dir/data" "$build/attestctl" >/dev/null
  printf 'threads = 1\njob_threads = 1\nlog_level = warn\ndcap_trust_anchors = %s\n' \
    "$dir/pki/root.pem" > "$dir/attestd.conf"
  ctl() { "$build/attestctl" --config "$dir/attestd.conf" --data-dir "$dir/data" "$@"; }
  ctl collateral import "$dir/pki/bundle.json" >/dev/null
  ctl provider create es --alg ES256 >/dev/null
  start_daemon "$dir"
  python3 - "$dir/pki" "$cold_quotes" "$dir" <<'PY'
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
  if [ "$kind" = tdx ]; then route=TdxVm api=api-version=2025-06-01; else
    route=SgxEnclave api=api-version=2020-10-01; fi
  base="https://127.0.0.1:$port"
  # A first request warms the caches (PCK chain, collateral, policy, memo); the ES256 one also
  # gives the bytes one attestation moves each way, for the TLS part of the floor.
  curl -sf --cacert "$dir/data/tls/ca.pem" -H 'Content-Type: application/json' \
    --data-binary @"$dir/warm.jsonl" "$base/attest/$route?$api" >/dev/null
  curl -sf --cacert "$dir/data/tls/ca.pem" -o /dev/null -H 'Content-Type: application/json' \
    --data-binary @"$dir/warm.jsonl" -w '%{size_request} %{size_header} %{size_download}\n' \
    "$base/providers/es/attest/$route?$api" | awk -v k="$kind" '{print k, "bytes", $1, $2 + $3}'
  echo "$kind warm-rs $(load "$kind-warm-rs256" "$dir/warm.jsonl" "$base/attest/$route?$api")"
  echo "$kind warm-es $(load "$kind-warm-es256" "$dir/warm.jsonl" "$base/providers/es/attest/$route?$api")"
  echo "$kind cold-rs $(load "$kind-cold-rs256" "$dir/cold.jsonl" "$base/attest/$route?$api")"
  stop_daemon
}

# run_snp: snp03 with its chain; prints "snp bytes REQ ANS", "snp warm-rs ...", "snp warm-es ...".
run_snp() {
  local dir="$tmp/snp" port base api=api-version=2022-08-01
  mkdir -p "$dir"
  scripts/dev-setup.sh "$dir/data" "$build/attestctl" >/dev/null
  printf 'threads = 1\njob_threads = 1\nlog_level = warn\namd_crl_check = disabled\n' \
    > "$dir/attestd.conf"
  "$build/attestctl" --config "$dir/attestd.conf" --data-dir "$dir/data" \
    provider create es --alg ES256 >/dev/null
  python3 - "$dir" <<'PY'
import base64, json, os, subprocess, sys
fx = "tests/fixtures/snp"
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
rep = open(os.path.join(fx, "snp03_tinfoil_genoa_report.bin"), "rb").read()
vcek = subprocess.run(["openssl", "x509", "-inform", "der", "-in",
                       os.path.join(fx, "snp03_tinfoil_genoa_vcek.der")],
                      capture_output=True, check=True).stdout
chain = vcek + open(os.path.join(fx, "amd_ask_ark_genoa.pem"), "rb").read()
doc = json.dumps({"SnpReport": b64(rep), "VcekCertChain": b64(chain)}).encode()
open(os.path.join(sys.argv[1], "chain.pem"), "wb").write(chain)
open(os.path.join(sys.argv[1], "warm.jsonl"), "w").write(json.dumps({"report": b64(doc)}) + "\n")
PY
  start_daemon "$dir"
  base="https://127.0.0.1:$port"
  curl -sf --cacert "$dir/data/tls/ca.pem" -H 'Content-Type: application/json' \
    --data-binary @"$dir/warm.jsonl" "$base/attest/SevSnpVm?$api" >/dev/null
  curl -sf --cacert "$dir/data/tls/ca.pem" -o /dev/null -H 'Content-Type: application/json' \
    --data-binary @"$dir/warm.jsonl" -w '%{size_request} %{size_header} %{size_download}\n' \
    "$base/providers/es/attest/SevSnpVm?$api" | awk '{print "snp bytes", $1, $2 + $3}'
  echo "snp warm-rs $(load snp-warm-rs256 "$dir/warm.jsonl" "$base/attest/SevSnpVm?$api")"
  echo "snp warm-es $(load snp-warm-es256 "$dir/warm.jsonl" "$base/providers/es/attest/SevSnpVm?$api")"
  stop_daemon
}

# run_tpm: a quote from swtpm with a 30-event log and an AK certificate (bench/tpm_evidence.py),
# in nonce mode (the same body each time: no challenge is used up); prints "tpm bytes REQ ANS",
# "tpm warm-es RATE P50 P99".
run_tpm() {
  local dir="$tmp/tpm" port base api=api-version=2022-08-01
  mkdir -p "$dir"
  /usr/bin/python3 bench/tpm_evidence.py "$dir" >/dev/null
  cat "$dir/ak_cert.pem" "$dir/ak_roots.pem" > "$dir/chain.pem"
  scripts/dev-setup.sh "$dir/data" "$build/attestctl" >/dev/null
  printf 'threads = 1\njob_threads = 1\nlog_level = warn\ntpm_ak_roots = %s\n' \
    "$dir/ak_roots.pem" > "$dir/attestd.conf"
  "$build/attestctl" --config "$dir/attestd.conf" --data-dir "$dir/data" \
    provider create es --alg ES256 >/dev/null
  start_daemon "$dir"
  base="https://127.0.0.1:$port/providers/es/attest/TpmQuote?$api"
  curl -sf --cacert "$dir/data/tls/ca.pem" -o /dev/null -H 'Content-Type: application/json' \
    --data-binary @"$dir/warm.jsonl" -w '%{size_request} %{size_header} %{size_download}\n' \
    "$base" | awk '{print "tpm bytes", $1, $2 + $3}'
  echo "tpm warm-es $(load tpm-warm-es256 "$dir/warm.jsonl" "$base")"
  stop_daemon
}

kinds=${BENCH_KINDS:-sgx tdx snp tpm}
results=$( for k in $kinds; do case $k in sgx) run sgx ;; tdx) run tdx --tdx 4 ;;
  snp) run_snp ;; tpm) run_tpm ;; esac; done )
floors='' snp_floors='' verify_snp='' tpm_floors=''
if grep -q '^tpm bytes' <<<"$results"; then
  read -r _ _ tpm_request_bytes tpm_answer_bytes < <(grep '^tpm bytes' <<<"$results")
  tpm_floors=$("${server_cpu[@]}" "$build/bench/bench_attest_floor" 4 "$tmp/tpm/chain.pem" \
    "$tpm_request_bytes" "$tpm_answer_bytes" tpm)
fi
if grep -q '^snp bytes' <<<"$results"; then
  read -r _ _ snp_request_bytes snp_answer_bytes < <(grep '^snp bytes' <<<"$results")
  snp_floors=$("${server_cpu[@]}" "$build/bench/bench_attest_floor" 4 "$tmp/snp/chain.pem" \
    "$snp_request_bytes" "$snp_answer_bytes" snp)
  verify_snp=$("${server_cpu[@]}" "$build/bench/bench_verify_snp" 4 tests/fixtures)
fi
if grep -q '^sgx bytes' <<<"$results"; then
  read -r _ _ request_bytes answer_bytes < <(grep '^sgx bytes' <<<"$results")
  floors=$("${server_cpu[@]}" "$build/bench/bench_attest_floor" 4 "$tmp/sgx/pki/pck_chain.pem" \
    "$request_bytes" "$answer_bytes")
fi
p256=$("${server_cpu[@]}" openssl speed -seconds 3 ecdsap256 2>/dev/null |
  awk '/nistp256/ {print $NF}' | tail -1)
verify_sgx='' verify_tdx=''
[[ $kinds == *sgx* ]] && verify_sgx=$("${server_cpu[@]}" "$build/bench/bench_verify" 4 tests/fixtures sgx)
[[ $kinds == *tdx* ]] && verify_tdx=$("${server_cpu[@]}" "$build/bench/bench_verify" 4 tests/fixtures tdx)
peer_sgx='{}' peer_tdx='{}' peer_snp='{}'
if [[ $kinds == *snp* ]] && [ -d tests/integration/js/node_modules/@tinfoilsh/verifier ]; then
  peer_snp=$("${server_cpu[@]}" node bench/snp_peer_rate.mjs --n 1000 2>/dev/null |
    tail -1 || echo '{}')
fi
if [[ $kinds == *sgx* || $kinds == *tdx* ]] && [ -d tests/integration/js/node_modules/@phala/dcap-qvl ]; then
  peer_sgx=$("${server_cpu[@]}" node bench/dcap_qvl_bench.mjs 2>/dev/null | tail -1 || echo '{}')
  peer_tdx=$("${server_cpu[@]}" node bench/dcap_qvl_bench.mjs --sample tdx01 2>/dev/null |
    tail -1 || echo '{}')
fi
python3 - "$results" "$floors" "$p256" "$verify_sgx" "$verify_tdx" "$peer_sgx" "$peer_tdx" \
  "$conns" "$seconds" "$snp_floors" "$peer_snp" "$verify_snp" "$tpm_floors" <<'PY'
import json, sys
res = {}
for line in sys.argv[1].splitlines():
    f = line.split()
    res[(f[0], f[1])] = f[2:]
floors = {l.split()[1]: float(l.split()[2]) for l in sys.argv[2].splitlines() if l.startswith("floor")}
p256 = float(sys.argv[3] or 0)
verify = {k: {l.split()[1]: float(l.split()[2]) for l in v.splitlines() if l.startswith("verify")}
          for k, v in (("sgx", sys.argv[4]), ("tdx", sys.argv[5]))}
peers = {"sgx": json.loads(sys.argv[6] or "{}"), "tdx": json.loads(sys.argv[7] or "{}")}
print(f"attestd 1 worker, wrk 1 thread x {sys.argv[8]} connections keep-alive, {sys.argv[9]}s per "
      f"run; OpenSSL P-256 verify on the same core: {p256:.0f}/s")
for kind, route in (("sgx", "SgxEnclave"), ("tdx", "TdxVm")):
    if (kind, "bytes") not in res:
        continue
    req, ans = res[(kind, "bytes")]
    print(f"POST /attest/{route} (requests {req} B, answers {ans} B):")
    for key, name, alg, warmth in (("warm-rs", "warm RS256", "RS256", "memo"),
                                   ("warm-es", "warm ES256", "ES256", "memo"),
                                   ("cold-rs", "cold RS256", "RS256", "cold")):
        rate, p50, p99 = res[(kind, key)]
        rate = float(rate)
        floor = floors[f"{warmth}-{alg}"]
        line = (f"  {name}: {rate:8.0f}/s  p50 {p50:>8s}  p99 {p99:>8s}  floor {floor:8.0f}/s  "
                f"ratio {rate / floor:.2f}")
        if warmth == "memo":
            old = floors[f"warm-{alg}"]
            line += f"  (old floor {old:.0f}/s: {rate / old:.2f})"
        if p256:
            line += f"  / P-256 verify {rate / p256:.3f}"
        print(line)
    v, peer = verify[kind], peers[kind]
    if peer.get("per_sec"):
        ref = peer["per_sec"]
        warm_es = float(res[(kind, "warm-es")][0])
        print(f"  reference verifier {peer.get('peer')} {peer.get('version')}: {ref:.0f}/s on one "
              f"core ({'sgx01' if kind == 'sgx' else 'tdx01'} + its bundle, everything verified "
              f"each call); attestd verification, same inputs, one core: full {v['full']:.0f}/s = "
              f"{v['full'] / ref:.1f}x, warm {v['warm']:.0f}/s = {v['warm'] / ref:.1f}x; HTTPS warm "
              f"ES256 = {warm_es / ref:.1f}x")
    else:
        print("  reference verifier: not installed (npm ci in tests/integration/js)")
tpm_floors = {l.split()[1]: float(l.split()[2]) for l in sys.argv[13].splitlines()
              if l.startswith("floor")}
if ("tpm", "bytes") in res:
    req, ans = res[("tpm", "bytes")]
    rate, p50, p99 = res[("tpm", "warm-es")]
    rate, floor, memo = float(rate), tpm_floors["tpm-ES256"], tpm_floors["tpm-memo-ES256"]
    print(f"POST /attest/TpmQuote, swtpm quote + 30-event log + AK certificate, RS256 AK "
          f"(requests {req} B, answers {ans} B):")
    print(f"  ES256 token: {rate:8.0f}/s  p50 {p50:>8s}  p99 {p99:>8s}  floor {floor:8.0f}/s  "
          f"ratio {rate / floor:.2f}  (floor with the AK certificate memoized {memo:.0f}/s: "
          f"{rate / memo:.2f})")
snp_floors = {l.split()[1]: float(l.split()[2]) for l in sys.argv[10].splitlines()
              if l.startswith("floor")}
if ("snp", "bytes") not in res:
    sys.exit(0)
verify_snp = {l.split()[1]: float(l.split()[2]) for l in sys.argv[12].splitlines()
              if l.startswith("verify")}
req, ans = res[("snp", "bytes")]
print(f"POST /attest/SevSnpVm, snp03 with its VCEK chain (requests {req} B, answers {ans} B):")
for key, name, alg in (("warm-rs", "warm RS256", "RS256"), ("warm-es", "warm ES256", "ES256")):
    rate, p50, p99 = res[("snp", key)]
    rate, floor = float(rate), snp_floors[f"snp-{alg}"]
    print(f"  {name}: {rate:8.0f}/s  p50 {p50:>8s}  p99 {p99:>8s}  floor {floor:8.0f}/s  "
          f"ratio {rate / floor:.2f}")
peer = json.loads(sys.argv[11] or "{}")
if peer.get("per_sec"):
    ref, warm_es = peer["per_sec"], float(res[("snp", "warm-es")][0])
    v = verify_snp
    print(f"  reference verifier {peer.get('peer')} {peer.get('version')}: {ref:.0f}/s on one core "
          f"(snp03, everything verified each call; {peer.get('per_cpu_sec', 0):.0f} per CPU "
          f"second); attestd verification, same inputs, one core: full {v['full']:.0f}/s = "
          f"{v['full'] / ref:.1f}x, warm {v['warm']:.0f}/s = {v['warm'] / ref:.1f}x; HTTPS warm "
          f"ES256 = {warm_es / ref:.1f}x")
else:
    print("  reference verifier: not installed (npm ci in tests/integration/js)")
PY
