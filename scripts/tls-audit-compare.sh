#!/usr/bin/env bash
# netsec tls audit side by side with sslscan and testssl.sh on local servers.
#
# Starts openssl s_server in a network namespace this script creates
# (`nstlscmp`, 10.254.0.2, reached over a veth pair from 10.254.0.1; nothing
# else is contacted), one per configuration, with certificates made here by
# `openssl ca` under a throw-away root:
#
#   4441 modern      TLS 1.3 only
#   4442 legacy      TLS 1.0 only, one CBC suite (SECLEVEL=0)
#   4443 expired     a leaf valid 2020-2021
#   4444 selfsigned  a self-signed leaf
#   4445 wrongname   a leaf for another name
#   4446 incomplete  a leaf sent without its intermediate
#   4447 tls12       TLS 1.2 only, OpenSSL's default suites, server order
#   4448 nginx       nginx 1.22: TLS 1.2 and 1.3, Mozilla's "intermediate" suites,
#                    an HSTS header (skipped when nginx is not installed)
#
# Each is audited by `netsec tls audit --format json`, `sslscan --xml` and
# `testssl.sh --jsonfile`; scripts/tls_audit_compare.py compares accepted
# protocol versions and cipher suites (by IANA value) and the certificate
# verdicts, and prints a table (docs/TLS.md records one run).
#
# Needs root and: apt-get install -y openssl sslscan testssl.sh (nginx-light for 4448); a release
# build of netsec (cargo build --release -p netsec-cli).
#   scripts/tls-audit-compare.sh [OUTDIR]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NETSEC="${NETSEC:-$ROOT/target/release/netsec}"
OUT="${1:-$(mktemp -d)}"
mkdir -p "$OUT"
W="$(mktemp -d)"
NS=nstlscmp
IF=nstlscmp0
SERVER=10.254.0.2
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  ip netns pids "$NS" 2>/dev/null | xargs -r kill 2>/dev/null || true
  ip link del "$IF" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
ip link del "$IF" 2>/dev/null || true
ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip link add "$IF" type veth peer name eth0 netns "$NS"
ip addr add 10.254.0.1/24 dev "$IF"
ip link set "$IF" up
ip -n "$NS" addr add "$SERVER/24" dev eth0
ip -n "$NS" link set eth0 up
ip -n "$NS" link set lo up

# A throw-away PKI: root, intermediate, leaves with chosen validity.
cd "$W"
mkdir db && touch db/index.txt && echo 1000 > db/serial
cat > ca.cnf <<CNF
[ ca ]
default_ca = lab
[ lab ]
database = $W/db/index.txt
serial = $W/db/serial
new_certs_dir = $W/db
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[ any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
[ leaf ]
basicConstraints = CA:false
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
CNF
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
key root.key
openssl req -x509 -new -key root.key -out root.pem -days 3650 -subj "/CN=netsec compare root" \
  -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign"
key int.key
openssl req -new -key int.key -out int.csr -subj "/CN=netsec compare intermediate"
openssl ca -batch -config ca.cnf -cert root.pem -keyfile root.key -in int.csr -out int.pem \
  -extensions v3_ca -days 3650 -notext 2>/dev/null
leaf() { # file name start end
  key "$1.key"
  openssl req -new -key "$1.key" -out "$1.csr" -subj "/CN=$2" -addext "subjectAltName=DNS:$2"
  openssl ca -batch -config ca.cnf -cert int.pem -keyfile int.key -in "$1.csr" -out "$1.pem" \
    -extensions leaf -startdate "$3" -enddate "$4" -notext 2>/dev/null
}
NAME=lab.netsec.test
leaf good "$NAME" 20240101000000Z 20990101000000Z
leaf expired "$NAME" 20200101000000Z 20210101000000Z
leaf other other.netsec.test 20240101000000Z 20990101000000Z
key self.key
openssl req -x509 -new -key self.key -out self.pem -days 3650 -subj "/CN=$NAME" -addext "subjectAltName=DNS:$NAME"

serve() { # port cert key chain? extra...
  local port=$1 cert=$2 key=$3 chain=$4; shift 4
  local args=(-quiet -www -accept "$SERVER:$port" -cert "$cert" -key "$key")
  [ "$chain" = yes ] && args+=(-cert_chain int.pem)
  ip netns exec "$NS" openssl s_server "${args[@]}" "$@" >/dev/null 2>&1 &
  PIDS+=($!)
}
serve 4441 good.pem good.key yes -tls1_3
serve 4442 good.pem good.key yes -tls1 -cipher 'ECDHE-ECDSA-AES128-SHA:@SECLEVEL=0'
serve 4443 expired.pem expired.key yes
serve 4444 self.pem self.key no
serve 4445 other.pem other.key yes
serve 4446 good.pem good.key no
serve 4447 good.pem good.key yes -tls1_2 -serverpref
PORTS="4441 4442 4443 4444 4445 4446 4447"
if command -v nginx >/dev/null; then
  cat good.pem int.pem > good-chain.pem
  cat > nginx.conf <<NGINX
daemon off;
worker_processes 1;
pid $W/nginx.pid;
error_log $W/nginx-error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path $W/nginx-body;
  server {
    listen $SERVER:4448 ssl;
    server_name $NAME;
    ssl_certificate $W/good-chain.pem;
    ssl_certificate_key $W/good.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305;
    ssl_prefer_server_ciphers off;
    add_header Strict-Transport-Security "max-age=63072000" always;
    location / { return 200 "netsec compare\n"; }
  }
}
NGINX
  ip netns exec "$NS" nginx -c "$W/nginx.conf" -p "$W" &
  PIDS+=($!)
  PORTS="$PORTS 4448"
fi
sleep 1

for port in $PORTS; do
  rm -f "$OUT/testssl-$port.json"  # testssl.sh appends to an existing file
  "$NETSEC" tls audit "$SERVER:$port" --sni "$NAME" --ca-file root.pem --hsts --format json \
    > "$OUT/netsec-$port.json" || true
  sslscan --no-colour --show-certificate --sni-name="$NAME" --xml="$OUT/sslscan-$port.xml" \
    "$SERVER:$port" > /dev/null 2>&1 || true
  testssl --quiet --warnings off --color 0 --sneaky -p -E -S --add-ca root.pem \
    --jsonfile "$OUT/testssl-$port.json" --ip "$SERVER" "$NAME:$port" > /dev/null 2>&1 || true
done
python3 "$ROOT/scripts/tls_audit_compare.py" "$OUT"
