#!/bin/sh
# Makes demo certificates for lb4's TLS listeners (mode = "tls") in DIR (default conf/certs):
#   ca.crt / ca.key                     a demo CA (also usable as tls.client_ca for mTLS)
#   default.crt / default.key           CN=localhost, SAN localhost (the default certificate)
#   example.crt / example.key           SAN example.com, *.example.com (ECDSA P-256)
#   example-rsa.crt / example-rsa.key   the same names with an RSA 2048 key
#   client.crt / client.key             a client certificate (CN=demo-client) for mTLS
# Then, for example:
#   tls = { certificates = [{ cert = "conf/certs/default.crt", key = "conf/certs/default.key" },
#                           { cert = "conf/certs/example.crt", key = "conf/certs/example.key" }],
#           alpn = ["h2", "http/1.1"], min_version = "1.2" }
#   curl --cacert conf/certs/ca.crt --resolve www.example.com:8443:127.0.0.1 https://www.example.com:8443/
# Demo only: the keys are unencrypted and the CA is not protected.
set -eu
dir=${1:-conf/certs}
days=${DAYS:-365}
mkdir -p "$dir"
cd "$dir"
ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256"

openssl req -x509 -nodes -days "$days" $ec -keyout ca.key -out ca.crt -subj "/CN=edge demo CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

issue() {  # name subject sans key-args usage
  name=$1 subject=$2 sans=$3 key=$4 usage=$5
  openssl req -new -nodes $key -keyout "$name.key" -out "$name.csr" -subj "$subject" 2>/dev/null
  {
    [ -n "$sans" ] && echo "subjectAltName=$sans"
    echo "extendedKeyUsage=$usage"
  } > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days "$days" \
    -out "$name.crt" -extfile "$name.ext" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

issue default "/CN=localhost" "DNS:localhost,IP:127.0.0.1" "$ec" serverAuth
issue example "/CN=example.com" "DNS:example.com,DNS:*.example.com" "$ec" serverAuth
issue example-rsa "/CN=example.com" "DNS:example.com,DNS:*.example.com" "-newkey rsa:2048" serverAuth
issue client "/CN=demo-client" "" "$ec" clientAuth
chmod 600 ./*.key
echo "demo certificates written to $dir"
