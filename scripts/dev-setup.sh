#!/usr/bin/env bash
# Create development state under DATA_DIR when missing:
#   DATA_DIR/tls/ca.pem, ca.key        a development CA (P-256, 10 years)
#   DATA_DIR/tls/server.pem, .key      a server certificate for 127.0.0.1, ::1, localhost,
#                                      and NAME and ADDR when given (made again when they change)
#   DATA_DIR/kek.key                   the key-encryption key (mode 0600)
# Usage: scripts/dev-setup.sh DATA_DIR ATTESTCTL [NAME] [ADDR]
# Not for production: a real deployment brings its own certificate and keeps the KEK elsewhere.
set -euo pipefail
data_dir=${1:?usage: dev-setup.sh DATA_DIR ATTESTCTL}
attestctl=${2:?usage: dev-setup.sh DATA_DIR ATTESTCTL}
name=${3:-}
addr=${4:-}
tls="$data_dir/tls"
umask 077
mkdir -p "$tls"
sans="IP:127.0.0.1,IP:::1,DNS:localhost"
if [ -n "$name" ]; then sans="$sans,DNS:$name"; fi
case "$addr" in ""|0.0.0.0|::|127.0.0.1|::1) ;; *) sans="$sans,IP:$addr" ;; esac
if [ -f "$tls/server.pem" ] && [ "$(cat "$tls/server.sans" 2>/dev/null)" != "$sans" ]; then
  rm -f "$tls/server.pem"  # the names changed: a certificate for the new ones
fi

if [ ! -f "$tls/ca.pem" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 3650 \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" -subj "/CN=attestd development CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  rm -f "$tls/server.pem"
fi
if [ ! -f "$tls/server.pem" ]; then
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=localhost" 2>/dev/null
  cat > "$tls/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$sans
EXT
  openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 825 -sha256 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
  rm -f "$tls/server.csr" "$tls/server.ext"
  echo "$sans" > "$tls/server.sans"
fi
chmod 644 "$tls/ca.pem"
if [ ! -f "$data_dir/kek.key" ] && [ -z "${ATTESTD_KEK:-}" ]; then
  "$attestctl" kek generate "$data_dir/kek.key" >/dev/null
fi
