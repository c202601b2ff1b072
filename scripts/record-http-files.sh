#!/usr/bin/env bash
# Record testdata/http-files/http-files.pcap: files carried over HTTP/1.x
# between two network-namespace hosts (client 10.252.7.10, server
# 10.252.7.20, nginx on the server), for the file-hash tests, and write
# testdata/http-files/expected.tsv: one line per HTTP body with the SHA-256,
# MD5 and size of the bytes as transferred (de-chunked, still
# content-encoded), computed with sha256sum/md5sum of the files served and of
# what curl saved without decoding.
#   1. GET /hello.txt             small text, Content-Length
#   2. GET /blob.bin              300 000 pseudo-random bytes, Content-Length
#   3. GET /words.txt (gzip)      nginx gzip: chunked, gzip bytes as sent
#   4. POST /upload               a 20 000-byte request body (Content-Length)
#   5. GET /a.txt, GET /b.bin     two files on one keep-alive connection
#   6. GET /words.txt HTTP/1.0    gzip, no length: body runs until close
# Needs root, iproute2, ethtool, tcpdump, nginx, curl, python3.
# The capture is checked against tshark's export of HTTP objects
# (tshark -o http.decompress_body:FALSE --export-objects http,DIR).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=two-hosts-lib.sh
. "$(dirname "$0")/two-hosts-lib.sh"
for tool in ip ethtool tcpdump nginx curl python3 sha256sum md5sum; do
    command -v "$tool" >/dev/null || { echo "record-http-files.sh: needs $tool" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "record-http-files.sh: needs root" >&2; exit 1; }

DIR=${1:-testdata/http-files}
P=nsfiles
WORK=$(mktemp -d)
chmod 755 "$WORK"
C=10.252.7.10
S=10.252.7.20
cleanup() {
    set +e
    [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null
    two_hosts_down $P
    rm -rf "$WORK"
}
trap cleanup EXIT

two_hosts_up $P
two_hosts_ipv4 $P $C $S

mkdir -p "$WORK/www" "$WORK/got"
python3 - "$WORK/www" <<'PY'
import random, sys
d = sys.argv[1]
r = random.Random(15)
open(f"{d}/hello.txt", "w").write("hello from netsec http-files\n")
open(f"{d}/blob.bin", "wb").write(bytes(r.getrandbits(8) for _ in range(300000)))
words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]
open(f"{d}/words.txt", "w").write(" ".join(r.choice(words) for _ in range(6000)) + "\n")
open(f"{d}/a.txt", "w").write("first file on a keep-alive connection\n" * 20)
open(f"{d}/b.bin", "wb").write(bytes(r.getrandbits(8) for _ in range(40000)))
open(f"{d}/../upload.bin", "wb").write(bytes(r.getrandbits(8) for _ in range(20000)))
PY
chmod -R a+r "$WORK/www"
cat >"$WORK/nginx.conf" <<EOF
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events {}
http {
    access_log off;
    types { text/plain txt; application/octet-stream bin; }
    gzip on;
    gzip_http_version 1.0;
    gzip_types text/plain;
    gzip_min_length 1000;
    chunked_transfer_encoding on;
    server {
        listen $S:80;
        server_name files.example.lab;
        root $WORK/www;
        location = /upload { client_body_buffer_size 64k; return 201 "stored\n"; }
    }
}
EOF
ip netns exec $P-server nginx -c "$WORK/nginx.conf"
sleep 1
ip netns exec $P-sw tcpdump -i br0 -B 16384 -U -w "$WORK/http-files.pcap" 2>"$WORK/tcpdump.log" &
TCPDUMP=$!
sleep 1
U=http://$S
cl() { ip netns exec $P-client curl -sS -H 'Host: files.example.lab' "$@"; }
cl -o "$WORK/got/hello.txt" $U/hello.txt
cl -o "$WORK/got/blob.bin" $U/blob.bin
cl -H 'Accept-Encoding: gzip' -o "$WORK/got/words.txt.gz" $U/words.txt
cl -H 'Expect:' -H 'Content-Type: application/octet-stream' --data-binary @"$WORK/upload.bin" \
    -o "$WORK/got/upload-response.txt" $U/upload
cl -o "$WORK/got/a.txt" $U/a.txt -o "$WORK/got/b.bin" $U/b.bin
cl --http1.0 -H 'Accept-Encoding: gzip' -o "$WORK/got/words-10.txt.gz" $U/words.txt
sleep 1
kill -INT $TCPDUMP
wait $TCPDUMP 2>/dev/null || true
grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.log" || {
    echo "record-http-files.sh: tcpdump lost packets" >&2; cat "$WORK/tcpdump.log" >&2; exit 1; }
cmp "$WORK/got/hello.txt" "$WORK/www/hello.txt"
cmp "$WORK/got/blob.bin" "$WORK/www/blob.bin"
cmp "$WORK/got/a.txt" "$WORK/www/a.txt"
cmp "$WORK/got/b.bin" "$WORK/www/b.bin"

mkdir -p "$DIR"
cp "$WORK/http-files.pcap" "$DIR/http-files.pcap"
line() { # direction method uri file
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$(sha256sum <"$4" | cut -d' ' -f1)" \
        "$(md5sum <"$4" | cut -d' ' -f1)" "$(stat -c %s "$4")"
}
{
    printf '# direction\tmethod\turi\tsha256\tmd5\tbytes (as transferred: de-chunked, not decompressed)\n'
    line to_client GET /hello.txt "$WORK/www/hello.txt"
    line to_client GET /blob.bin "$WORK/www/blob.bin"
    line to_client GET /words.txt "$WORK/got/words.txt.gz"
    line to_server POST /upload "$WORK/upload.bin"
    line to_client POST /upload "$WORK/got/upload-response.txt"
    line to_client GET /a.txt "$WORK/www/a.txt"
    line to_client GET /b.bin "$WORK/www/b.bin"
    line to_client GET /words.txt "$WORK/got/words-10.txt.gz"
} >"$DIR/expected.tsv"

# Cross-check with tshark's HTTP object export (bodies not decompressed).
if command -v tshark >/dev/null; then
    mkdir -p "$WORK/objects"
    tshark -r "$DIR/http-files.pcap" -o http.decompress_body:FALSE \
        --export-objects "http,$WORK/objects" >/dev/null 2>&1
    ( cd "$WORK/objects" && sha256sum -- * | cut -d' ' -f1 | sort -u ) >"$WORK/tshark.sha"
    grep -v '^#' "$DIR/expected.tsv" | cut -f4 | sort -u >"$WORK/ours.sha"
    echo "hashes expected but not exported by tshark:"; comm -13 "$WORK/tshark.sha" "$WORK/ours.sha"
    echo "hashes exported by tshark but not expected:"; comm -23 "$WORK/tshark.sha" "$WORK/ours.sha"
fi
ls -l "$DIR"
