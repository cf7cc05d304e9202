# bench/lib.sh - what the load benchmarks share (sourced, not run): wrk present, attestd and
# the load generator pinned to different cores, a temporary directory removed at exit with the
# daemon stopped, free ports. Sets `tmp`, `server_cpu`, `client_cpu`; `att_pid` is the daemon
# the script started (stop_daemon ends it).
# Usage: . bench/lib.sh NAME   (the temporary directory is /tmp/attestd-bench-NAME-XXXXXX)
command -v wrk >/dev/null || { echo "bench: wrk missing (scripts/deps.sh --bench)"; exit 1; }
server_cpu=() client_cpu=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi
tmp=$(mktemp -d "/tmp/attestd-bench-$1-XXXXXX")
att_pid=
stop_daemon() {
  if [ -n "$att_pid" ]; then kill "$att_pid" 2>/dev/null; wait "$att_pid" 2>/dev/null || true; fi
  att_pid=
}
cleanup() { stop_daemon; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# warm_sgx_post BUILD_DIR: a fresh test-PKI SGX quote in $tmp/pki (root, collateral bundle) and
# $tmp/post.lua, a wrk script POSTing it as an attestation request ($tmp/warm.json).
warm_sgx_post() {
  "$1/tests/tools/sgx_testpki" --out "$tmp/pki" >/dev/null
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
}
