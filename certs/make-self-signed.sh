#!/usr/bin/env sh
# Makes a self-signed key and certificate for trying STARTTLS and AUTH. Not for production:
# use a certificate your clients trust. The private key is written 0600 and is never committed.
# Usage: certs/make-self-signed.sh [DIR] [HOSTNAME]
set -eu
dir=${1:-$(dirname "$0")}
name=${2:-$(hostname -f 2>/dev/null || hostname)}
mkdir -p "$dir"
umask 077
openssl req -x509 -newkey rsa:2048 -sha256 -nodes -days 365 \
  -subj "/CN=$name" -addext "subjectAltName=DNS:$name,DNS:localhost,IP:127.0.0.1" \
  -keyout "$dir/outguard.key" -out "$dir/outguard.crt" 2>/dev/null
chmod 644 "$dir/outguard.crt"
echo "wrote $dir/outguard.key and $dir/outguard.crt for $name"
echo "config:  smtp: { tls: { key: $dir/outguard.key, cert: $dir/outguard.crt } }"
