#!/usr/bin/env bash
# HTTPS throughput of attestd against nginx serving the same bytes, measured in the same run.
#
# Both servers get the same TLS certificate and protocol floor, the same number of workers and
# the same load (wrk, 1 thread, loopback). nginx serves the JSON of GET /certs as a static file,
# so the ratio says what attestd's HTTP layer, routing and logging cost against a tuned C
# server. Two loads: keep-alive (TLS set-up amortised) and a new connection per request
# (handshake-bound). Usage: bench/http.sh BUILD_DIR
set -euo pipefail
build=${1:-build-bench}
seconds=${BENCH_SECONDS:-5}
conns=${BENCH_CONNS:-32}
workers=${BENCH_WORKERS:-2}
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || { echo "bench: $tool missing (scripts/deps.sh --bench)"; exit 1; }
done
tmp=$(mktemp -d /tmp/attestd-bench-XXXXXX)
cleanup() {
  [ -n "${att_pid:-}" ] && kill "$att_pid" 2>/dev/null && wait "$att_pid" 2>/dev/null
  [ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

scripts/dev-setup.sh "$tmp/data" "$build/attestctl"
att_port=$(free_port)
printf 'threads = %s\nlog_level = warn\n' "$workers" > "$tmp/attestd.conf"
"$build/attestd" --config "$tmp/attestd.conf" --data-dir "$tmp/data" \
  --listen "127.0.0.1:$att_port" 2>"$tmp/attestd.log" &
att_pid=$!
for _ in $(seq 100); do
  curl -sf --cacert "$tmp/data/tls/ca.pem" "https://127.0.0.1:$att_port/healthz" >/dev/null && break
  sleep 0.1
done
mkdir -p "$tmp/www"
curl -sf --cacert "$tmp/data/tls/ca.pem" "https://127.0.0.1:$att_port/certs" > "$tmp/www/certs"

ngx_port=$(free_port)
cat > "$tmp/nginx.conf" <<CONF
worker_processes $workers;
pid $tmp/nginx.pid;
error_log $tmp/nginx.err warn;
user root;
events { worker_connections 1024; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 100000;
  server {
    listen 127.0.0.1:$ngx_port ssl;
    ssl_certificate $tmp/data/tls/server.pem;
    ssl_certificate_key $tmp/data/tls/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $tmp/www;
  }
}
CONF
nginx -p "$tmp" -c "$tmp/nginx.conf"
sleep 0.5

rate() { # url extra-wrk-args... -> requests/s
  local url=$1; shift
  wrk -t1 -c"$conns" -d"${seconds}s" "$@" "$url" | awk '/Requests\/sec/ {print $2}'
}
echo "HTTPS GET /certs, $workers workers each, wrk 1 thread x $conns connections, ${seconds}s per run"
for mode in keepalive close; do
  args=()
  [ "$mode" = close ] && args=(-H "Connection: close")
  a1=$(rate "https://127.0.0.1:$att_port/certs" "${args[@]}")
  n1=$(rate "https://127.0.0.1:$ngx_port/certs" "${args[@]}")
  a2=$(rate "https://127.0.0.1:$att_port/certs" "${args[@]}")
  n2=$(rate "https://127.0.0.1:$ngx_port/certs" "${args[@]}")
  python3 - "$mode" "$a1" "$a2" "$n1" "$n2" <<'PY'
import sys
mode, a1, a2, n1, n2 = sys.argv[1], *map(float, sys.argv[2:])
a, n = (a1 + a2) / 2, (n1 + n2) / 2
print(f"{mode:9s}: attestd {a:9.0f} req/s  nginx {n:9.0f} req/s  ratio {a / n:.2f}")
PY
done
