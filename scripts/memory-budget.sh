#!/usr/bin/env bash
# Peak RSS of `netsec analyze` on hostile captures generated here (issue 9's
# memory budget): nothing is sent anywhere, python3 writes the pcaps.
#
#   ooo-flows.pcap   FLOWS TCP flows (default 1,000,000), each a SYN then a
#                    1 KB HTTP request 100 bytes past the next expected byte:
#                    every flow holds out-of-order data that never completes.
#   frozen-frags.pcap DATAGRAMS fragmented UDP datagrams (default 100,000), all
#                    at timestamp 0 (a frozen clock); one in three never
#                    completes.
#
# Prints, per capture: size, wall time, peak RSS (from /usr/bin/time -v) and
# the engine's memory counters from the summary.
#
# Usage: scripts/memory-budget.sh [FLOWS] [DATAGRAMS]
#   NETSEC=path/to/netsec to use a binary already built (default: build
#   `cargo build --release -p netsec-cli` and use target/release/netsec).
#   EXTRA_ARGS="--memory-limit 64M" to pass more arguments to netsec analyze.
set -euo pipefail

FLOWS=${1:-1000000}
DATAGRAMS=${2:-100000}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

if [[ -z "${NETSEC:-}" ]]; then
    cargo build --release -q -p netsec-cli
    # A copy: a target directory shared with other trees may get another
    # build of the binary while this script runs.
    cp "${CARGO_TARGET_DIR:-target}/release/netsec" "$WORK/netsec"
    NETSEC="$WORK/netsec"
fi

python3 - "$WORK" "$FLOWS" "$DATAGRAMS" <<'EOF'
import struct, sys

work, flows, datagrams = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ETH = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0])

def ip4(src, dst, proto, body, ident=1, frag=0x4000):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, frag, 64, proto, 0, src, dst)
    return hdr + body

def tcp(sport, dport, seq, flags, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 0x50, flags, 65535, 0, 0) + payload

def write(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in frames:
            f.write(struct.pack("<IIII", ts // 1_000_000, ts % 1_000_000, len(frame), len(frame)))
            f.write(frame)

request = b"GET /buffered HTTP/1.1\r\nHost: ooo.example\r\n\r\n" * 20
server = bytes([192, 0, 2, 1])

def ooo():
    for i in range(flows):
        src = struct.pack("!I", 0x0A000000 | (i >> 4))
        port = 1024 + (i & 0xF)
        ts = 1_700_000_000_000_000 + i * 1000
        yield ts, ETH + ip4(src, server, 6, tcp(port, 80, 1000, 0x02))
        yield ts, ETH + ip4(src, server, 6, tcp(port, 80, 1101, 0x18, request))

def frags():
    head = struct.pack("!HHHH", 5000, 9999, 1508, 0) + b"\0" * 1472
    for i in range(datagrams):
        ident = i % 65536
        src = bytes([10, 9, i // 65536, 1])
        dst = bytes([10, 9, 0, 2])
        yield 0, ETH + ip4(src, dst, 17, head, ident, 0x2000)
        if i % 3:
            yield 0, ETH + ip4(src, dst, 17, b"\x55" * 24, ident, 1480 // 8)

write(f"{work}/ooo-flows.pcap", ooo())
write(f"{work}/frozen-frags.pcap", frags())
EOF

for cap in ooo-flows frozen-frags; do
    file="$WORK/$cap.pcap"
    # shellcheck disable=SC2086
    /usr/bin/time -v "$NETSEC" analyze --threads 1 --no-progress --format json ${EXTRA_ARGS:-} \
        "$file" >"$WORK/$cap.json" 2>"$WORK/$cap.time"
    rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/$cap.time")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/$cap.time")
    size=$(du -h "$file" | cut -f1)
    counters=$(python3 - "$WORK/$cap.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
found = {}
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            if any(w in k for w in ("memory", "evicted", "gap", "fragments", "flows_created")) and isinstance(x, int):
                found[k] = x
            walk(x)
    elif isinstance(v, list):
        for x in v:
            walk(x)
walk(s)
print(" ".join(f"{k}={v}" for k, v in sorted(found.items())))
EOF
)
    printf '%-14s %6s  wall %s  peak RSS %d MiB  %s\n' "$cap" "$size" "$wall" $((rss_kb / 1024)) "$counters"
done
