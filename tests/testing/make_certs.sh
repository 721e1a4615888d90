#!/usr/bin/env bash
# Makes the certificates the TLS tests use, with openssl, into DIR: two CAs
# (ca, other-ca), and leaf certificates with their keys (NAME.pem, NAME.key):
#   server          signed by ca, for 127.0.0.1 and localhost (also a client
#                   certificate: a replica presents it to the leader)
#   other-server    signed by other-ca, the same names (a rotation's new one)
#   expired-server  signed by ca, no longer valid
#   service         signed by ca, for the Service lrsched in the namespace
#                   lrsched (both usages), as deploy/README.md's commands
#                   make the Secret lrsched-tls
#   client          signed by ca, SAN URI spiffe://lrsched.test/trainer
#   expired-client  signed by ca, no longer valid
#   other-client    signed by other-ca
#
# Usage: make_certs.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1.key" 2>/dev/null; }
ca() {
  key "$1"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 30 -subj "/CN=lrsched test $1" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
# leaf NAME CA DAYS SAN USAGE
leaf() {
  key "$1"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$1"
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$4" "$5" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days "$3" \
    -extfile "$1.ext" -out "$1.pem" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

ca ca
ca other-ca
# Both usages: a replica presents its server certificate to the leader it
# forwards to, which may require client certificates.
leaf server ca 30 "IP:127.0.0.1,DNS:localhost" serverAuth,clientAuth
leaf other-server other-ca 30 "IP:127.0.0.1,DNS:localhost" serverAuth
# A negative validity: not after is a day before not before.
leaf expired-server ca -1 "IP:127.0.0.1,DNS:localhost" serverAuth
leaf service ca 30 \
  "DNS:lrsched,DNS:lrsched.lrsched,DNS:lrsched.lrsched.svc,DNS:lrsched.lrsched.svc.cluster.local" \
  serverAuth,clientAuth
leaf client ca 30 "URI:spiffe://lrsched.test/trainer" clientAuth
leaf expired-client ca -1 "URI:spiffe://lrsched.test/trainer" clientAuth
leaf other-client other-ca 30 "URI:spiffe://lrsched.test/trainer" clientAuth
