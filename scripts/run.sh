#!/usr/bin/env bash
# make run: development state in DATA_DIR, then attestd in the foreground.
set -euo pipefail
build=${1:-build}
data_dir=${2:-var}
scripts/dev-setup.sh "$data_dir" "$build/attestctl"
url=https://127.0.0.1:8443
cat <<MSG

attestd $("$build/attestd" --version | cut -d' ' -f2) on $url   (state in ./$data_dir, embedded SQLite)
  development CA:  ./$data_dir/tls/ca.pem
  try:             curl --cacert $data_dir/tls/ca.pem $url/.well-known/openid-configuration
                   curl --cacert $data_dir/tls/ca.pem $url/certs
                   curl --cacert $data_dir/tls/ca.pem $url/readyz
  admin:           first start writes Owner credentials to ./$data_dir/bootstrap-owner.json;
                   docs/quickstart.md gets a token with curl and calls an admin route
  providers:       build/attestctl --data-dir $data_dir provider list
  stop:            Ctrl-C (drains requests in flight)

MSG
exec "$build/attestd" --data-dir "$data_dir" --listen 127.0.0.1:8443
