#!/usr/bin/env bash
# make run [ADDR=...] [PORT=...]: development state in DATA_DIR, then attestd in the foreground.
set -euo pipefail
build=${1:-build}
data_dir=${2:-var}
addr=${3:-127.0.0.1}
port=${4:-8443}
case "$addr" in
  *:*) listen="[$addr]:$port"; host="[$addr]" ;;  # IPv6
  *) listen="$addr:$port"; host="$addr" ;;
esac
# A wildcard or outside address is reachable from the network: attestd refuses that unless
# public_network_access is enabled, and its issuer must be a name clients use, not 0.0.0.0.
config="$data_dir/run.conf"
mkdir -p "$data_dir"
case "$addr" in
  127.*|::1|localhost) : > "$config" ;;
  *)
    name=$(hostname -f 2>/dev/null || hostname)
    case "$addr" in 0.0.0.0|::) host=$name ;; esac
    printf 'public_network_access = enabled\npublic_url = https://%s:%s\n' "$host" "$port" \
      > "$config"
    echo "make run: listening on $listen, reachable from the network (public_network_access)"
    ;;
esac
scripts/dev-setup.sh "$data_dir" "$build/attestctl" "${name:-}" "$addr"
url="https://$host:$port"
cat <<MSG

attestd $("$build/attestd" --version | cut -d' ' -f2) on $url   (state in $data_dir, embedded SQLite)
  development CA:  $data_dir/tls/ca.pem
  try:             curl --cacert $data_dir/tls/ca.pem $url/.well-known/openid-configuration
                   curl --cacert $data_dir/tls/ca.pem $url/certs
                   curl --cacert $data_dir/tls/ca.pem $url/readyz
  admin:           first start writes Owner credentials to $data_dir/bootstrap-owner.json;
                   docs/quickstart.md gets a token with curl and calls an admin route
  providers:       $build/attestctl --config $config --data-dir $data_dir provider list
  stop:            Ctrl-C (drains requests in flight)

MSG
exec "$build/attestd" --config "$config" --data-dir "$data_dir" --listen "$listen"
