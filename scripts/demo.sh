#!/usr/bin/env bash
# make demo: attest end to end with the binaries in BUILD (default: build, the release build),
# no SGX hardware, no test build, no clock tricks (docs/internals/demo.md):
#   1. attestd in a temporary state directory on a free port (never make run's 8443)
#   2. attestctl demo: a demo provider trusting a root made here, and an SGX quote with its
#      collateral, valid now
#   3. attest over HTTPS with curl
#   4. attest with the official @azure/attestation client (tests/integration/js; npm ci there
#      when its packages are missing), which checks the token against /certs itself
#   5. verify the curl token's signature with openssl against the key of /certs (x5c)
# and stop attestd at the end, also on failure. Usage: scripts/demo.sh [BUILD]
# ATTESTD_DEMO_KEEP=1 keeps the temporary directory (its path is printed); ATTESTD_DEMO_ALG=ES256
# makes the provider sign with P-256 instead of RSA (RS256, the default of providers).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$(cd "${1:-build}" && pwd)
python=/usr/bin/python3
node=/usr/bin/node
npm=/usr/bin/npm
js_dir=$root/tests/integration/js

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }

for tool in "$build/attestd" "$build/attestctl"; do
  [ -x "$tool" ] || fail "$tool is missing: run 'make build' first"
done
for tool in curl openssl "$python" "$node" "$npm"; do
  command -v "$tool" >/dev/null || fail "$tool is missing: run scripts/deps.sh"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/attestd-demo.XXXXXX")
data=$tmp/data
pid=""
cleanup() {
  status=$?
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
    echo "demo: attestd (pid $pid) stopped"
  fi
  if [ "$status" -ne 0 ] && [ -f "$tmp/attestd.log" ]; then
    echo "demo: the last lines of attestd's log:" >&2
    tail -n 20 "$tmp/attestd.log" >&2 || true
  fi
  if [ "${ATTESTD_DEMO_KEEP:-}" = 1 ]; then
    echo "demo: kept $tmp"
  else
    rm -rf "$tmp"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A port the kernel says is free now, never 8443 (make run's).
port=$("$python" - <<'PY'
import socket
while True:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if port != 8443:
        print(port)
        break
PY
)
base=https://127.0.0.1:$port

step "1. attestd on $base (state in $tmp, a development CA and KEK)"
"$root/scripts/dev-setup.sh" "$data" "$build/attestctl"
ca=$data/tls/ca.pem
cat > "$tmp/attestd.conf" <<CONF
listen = 127.0.0.1:$port
data_dir = $data
log_file = $tmp/attestd.log
CONF
ctl() { "$build/attestctl" --config "$tmp/attestd.conf" "$@"; }
"$build/attestd" --config "$tmp/attestd.conf" </dev/null >"$tmp/attestd.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  grep -q '"msg":"attestd ready"' "$tmp/attestd.log" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || fail "attestd exited during start-up: $(cat "$tmp/attestd.out")"
  sleep 0.1
done
grep -q '"msg":"attestd ready"' "$tmp/attestd.log" || fail "attestd not ready within 30 s"
echo "attestd $("$build/attestd" --version | cut -d' ' -f2) is ready (pid $pid)"

step "2. attestctl demo: a demo provider and fresh evidence for it"
ctl demo "$tmp/evidence" ${ATTESTD_DEMO_ALG:+--alg "$ATTESTD_DEMO_ALG"}
summary=$tmp/evidence/demo.json
field() { "$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$summary" "$1"; }
issuer=$(field issuer)
attest_url=$(field attest_url)
certs_url=$(field certs_url)
# attestctl ran the command in attestd through its admin socket: the provider serves already.
for _ in $(seq 1 150); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$ca" "$certs_url" || true)
  [ "$code" = 200 ] && break
  sleep 0.1
done
[ "$code" = 200 ] || fail "attestd does not serve $certs_url (HTTP $code)"
echo "attestd serves the demo provider: $issuer"

step "3. attest over HTTPS with curl: POST $attest_url"
http_status=$(curl -s -o "$tmp/answer.json" -w '%{http_code}' --cacert "$ca" \
  -H 'Content-Type: application/json' --data-binary @"$tmp/evidence/request.json" "$attest_url")
[ "$http_status" = 200 ] || fail "attest answered HTTP $http_status: $(cat "$tmp/answer.json")"
token=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["token"])' \
  "$tmp/answer.json")
"$python" - "$token" <<'PY'
import base64, json, sys
def part(p):
    return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
header, claims = (part(p) for p in sys.argv[1].split(".")[:2])
print(f"HTTP 200, a {header['alg']} token from {claims['iss']} (kid {header['kid']})")
for name in ("x-attestd-demo", "x-ms-attestation-type", "x-ms-sgx-tcb-status",
             "x-ms-sgx-mrenclave", "x-ms-runtime"):
    print(f"  {name}: {json.dumps(claims.get(name))}")
if claims.get("x-attestd-demo") is not True:
    sys.exit("the token is not marked x-attestd-demo")
PY

step "4. attest with the official client (@azure/attestation AttestationClient)"
if [ ! -d "$js_dir/node_modules/@azure/attestation" ]; then
  echo "installing the client's packages (npm ci in tests/integration/js)"
  (cd "$js_dir" && "$npm" ci --no-audit --no-fund --loglevel=error)
fi
op=$("$python" - "$tmp/evidence" <<'PY'
import base64, json, os, sys
d = sys.argv[1]
s = json.load(open(os.path.join(d, "demo.json")))
b64 = lambda name: base64.b64encode(open(os.path.join(d, name), "rb").read()).decode()
op = {"op": "attestSgxEnclave", "quote": b64(s["quote"])}
op["runTimeJson" if s["runtime_json"] else "runTimeData"] = b64(s["runtime_data"])
print(json.dumps({"endpoint": s["issuer"], "ops": [op]}))
PY
)
result=$(cd "$js_dir" && NODE_EXTRA_CA_CERTS=$ca "$node" attest_client.mjs "$op") \
  || fail "the official client failed: $result"
"$python" - "$result" <<'PY'
import json, sys
r = json.loads(sys.argv[1].splitlines()[-1])
if "error" in r:
    sys.exit(f"the official client was refused: {r['error']}")
print(f"the client validated the token itself (signature against /certs, lifetime, issuer "
      f"{r['issuer']})")
print(f"  mrEnclave {r['mrEnclave']}, runTimeClaims {json.dumps(r['runTimeClaims'])}")
if r["body"].get("x-attestd-demo") is not True:
    sys.exit("the client's token is not marked x-attestd-demo")
PY

step "5. verify the curl token's signature with openssl against $certs_url"
curl -s --fail --cacert "$ca" -o "$tmp/certs.json" "$certs_url"
# The JWS pieces (RFC 7515 §5.2): the signing input, the signature, the key's certificate.
alg=$("$python" - "$token" "$tmp/certs.json" "$tmp" <<'PY'
import base64, json, sys
token, certs, out = sys.argv[1], sys.argv[2], sys.argv[3]
h, p, s = token.split(".")
b64 = lambda x: base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
header = json.loads(b64(h))
keys = [k for k in json.load(open(certs))["keys"] if k["kid"] == header["kid"]]
if len(keys) != 1:
    sys.exit(f"kid {header['kid']} is not in /certs")
pem = base64.encodebytes(base64.b64decode(keys[0]["x5c"][0])).decode()
open(f"{out}/cert.pem", "w").write(f"-----BEGIN CERTIFICATE-----\n{pem}-----END CERTIFICATE-----\n")
open(f"{out}/signing-input", "w").write(f"{h}.{p}")
sig = b64(s)
if header["alg"] == "ES256":
    # JWS ES256 is R || S (RFC 7518 §3.4); openssl wants an ECDSA-Sig-Value in DER.
    def integer(b):
        b = b.lstrip(b"\0") or b"\0"
        b = b"\0" + b if b[0] & 0x80 else b
        return bytes([2, len(b)]) + b
    body = integer(sig[:32]) + integer(sig[32:])
    sig = bytes([0x30, len(body)]) + body
open(f"{out}/signature", "wb").write(sig)
print(header["alg"])
PY
)
openssl x509 -in "$tmp/cert.pem" -noout -subject
openssl x509 -in "$tmp/cert.pem" -pubkey -noout > "$tmp/pub.pem"
openssl dgst -sha256 -verify "$tmp/pub.pem" -signature "$tmp/signature" "$tmp/signing-input" \
  || fail "the $alg signature does not verify"
echo "the $alg signature verifies with the key of the /certs certificate"

step "demo OK: attested with curl and the official client, token verified with openssl"
echo "The demo provider's tokens carry \"x-attestd-demo\": true: a root made on this machine"
echo "vouched for the quote, so they prove nothing about real hardware."
