#!/bin/sh
# Records http-keepalive-chunked.pcap: one keep-alive HTTP/1.1 connection
# between two network namespaces this script creates, Python's http.client
# (client) against Python's http.server (server), with every body framing
# the app-layer HTTP parser must skip: Content-Length, chunked responses with
# chunk extensions and trailers, a chunked request body, a HEAD whose
# response announces a length but carries no body, 204 and 304.
#
#   sudo sh record-http-keepalive.sh OUT.pcap
set -eu
out=${1:?usage: record-http-keepalive.sh OUT.pcap}
a=nsapphttp-c
b=nsapphttp-s
cleanup() {
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add "$a"
ip netns add "$b"
ip link add nsapp-c type veth peer name nsapp-s
ip link set nsapp-c netns "$a"
ip link set nsapp-s netns "$b"
ip -n "$a" addr add 10.253.7.1/24 dev nsapp-c
ip -n "$b" addr add 10.253.7.2/24 dev nsapp-s
ip -n "$a" link set nsapp-c up
ip -n "$b" link set nsapp-s up
ip -n "$a" link set lo up
ip -n "$b" link set lo up

dir=$(mktemp -d)
cat > "$dir/server.py" <<'EOF'
import http.server

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "netsec-test/1.0"

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n:
            return self.rfile.read(n)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return b""

    def do_GET(self):
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Trailer", "X-Checksum")
            self.end_headers()
            for part in (b"first chunk\n", b"GET /not-a-request HTTP/1.1\r\n\r\n", b"x" * 3000):
                self.wfile.write(b"%x;ext=1\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\nX-Checksum: 42\r\n\r\n")
        elif self.path == "/empty":
            self.send_response(204)
            self.end_headers()
        elif self.path == "/cached":
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.end_headers()
        else:
            payload = b"HTTP/1.1 200 OK\r\n\r\n" + b"y" * 5000
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "12345")
        self.end_headers()

    def do_POST(self):
        data = self.body()
        reply = b"got %d bytes" % len(data)
        self.send_response(201)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass

http.server.HTTPServer(("10.253.7.2", 8080), Handler).serve_forever()
EOF
cat > "$dir/client.py" <<'EOF'
import http.client

c = http.client.HTTPConnection("10.253.7.2", 8080)
headers = {"User-Agent": "netsec-keepalive-test/1.0"}
for method, path, body, chunked in [
    ("GET", "/length", None, False),
    ("GET", "/chunked", None, False),
    ("HEAD", "/head", None, False),
    ("POST", "/form", b"a=1&b=2", False),
    ("POST", "/upload", iter([b"part one;", b"POST /evil HTTP/1.1\r\n\r\n", b"z" * 2000]), True),
    ("GET", "/empty", None, False),
    ("GET", "/cached", None, False),
    ("GET", "/last", None, False),
]:
    c.request(method, path, body=body, headers=headers, encode_chunked=chunked)
    c.getresponse().read()
c.close()
EOF
ip netns exec "$b" python3 "$dir/server.py" &
server=$!
ip netns exec "$a" tcpdump -i nsapp-c -w "$out" -U tcp port 8080 2>/dev/null &
dump=$!
sleep 1
ip netns exec "$a" python3 "$dir/client.py"
sleep 1
kill "$dump" "$server"
wait "$dump" 2>/dev/null || true
rm -rf "$dir"
