#!/usr/bin/env bash
# Record testdata/dns/dnscat2.pcap (or the file given): the real dnscat2 C
# client (github.com/iagox86/dnscat2, client/, built with `make`; not in
# Debian) tunnelling a console session to scripts/dnscat2-responder.py, a
# re-implementation of the server side of dnscat2's wire format (its server
# is Ruby), between two network namespaces this script creates and removes
# (a veth pair, 10.54.0.0/24, no address in the root namespace; no packet
# leaves them).
#
#   10.54.0.1   nsdc2-srv   dnscat2-responder.py for t.dnscat.example
#   10.54.0.10  nsdc2-cli   dnscat --dns server=10.54.0.1,port=53,domain=t.dnscat.example
#                           --no-encryption --console --delay 100, stdin: 3 KiB
#                           of text (a seeded PRNG's words), for 25 s
#
# The client rotates TXT, CNAME and MX queries (its default types); without
# encryption its packets are plain dnscat2 SYN/MSG/FIN, hex in the names.
# Capture: tcpdump on the client's veth, -s 512, udp port 53.
#
# Usage: sudo DNSCAT=/path/to/dnscat2/client/dnscat scripts/record-dnscat2.sh [OUT.pcap]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${1:-$ROOT/testdata/dns/dnscat2.pcap}"
DNSCAT="${DNSCAT:?set DNSCAT to the built dnscat2 client}"
WORK="$(mktemp -d)"
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for n in nsdc2-srv nsdc2-cli; do
    ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
  done
  sleep 0.3
  ip netns del nsdc2-srv 2>/dev/null || true
  ip netns del nsdc2-cli 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add nsdc2-srv
ip netns add nsdc2-cli
ip link add vdc2 netns nsdc2-cli type veth peer name vdc2s netns nsdc2-srv
ip netns exec nsdc2-cli ip addr add 10.54.0.10/24 dev vdc2
ip netns exec nsdc2-srv ip addr add 10.54.0.1/24 dev vdc2s
for n in nsdc2-srv nsdc2-cli; do
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$n" ip link set lo up
done
ip netns exec nsdc2-cli ip link set vdc2 up
ip netns exec nsdc2-srv ip link set vdc2s up

python3 - "$WORK/input.txt" <<'EOF'
import random, sys
random.seed(20261203)
words = ["ls", "-la", "/etc", "cat", "passwd", "whoami", "uname", "id", "root",
         "backup", "tar", "czf", "/tmp/x.tgz", "home", "ssh", "keys", "curl"]
text = ""
while len(text) < 3072:
    text += " ".join(random.choice(words) for _ in range(8)) + "\n"
open(sys.argv[1], "w").write(text[:3072])
EOF

ip netns exec nsdc2-srv python3 "$ROOT/scripts/dnscat2-responder.py" 10.54.0.1 t.dnscat.example &
PIDS+=($!)
ip netns exec nsdc2-cli tcpdump -i vdc2 -s 512 -U -w "$OUT" udp port 53 2>/dev/null &
TCPDUMP=$!
PIDS+=("$TCPDUMP")
sleep 1
(sleep 2; cat "$WORK/input.txt"; sleep 30) |
  timeout 25 ip netns exec nsdc2-cli "$DNSCAT" \
    --dns server=10.54.0.1,port=53,domain=t.dnscat.example \
    --no-encryption --console --delay 100 >"$WORK/client.log" 2>&1 || true
sleep 1
kill "$TCPDUMP"
wait "$TCPDUMP" 2>/dev/null || true
ls -l "$OUT"
grep -c "Sending DNS query" "$WORK/client.log" || true
