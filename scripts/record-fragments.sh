#!/usr/bin/env bash
# Records testdata/fragments.pcap: IPv4 and IPv6 datagrams larger than the
# 1500-byte MTU, fragmented by the sending kernel, between two hosts in
# network namespaces this script creates (joined by a bridge in a third
# namespace where tcpdump listens).
#
# Traffic (real tools and the kernel's own fragmentation):
#   - ping -s 3000 over IPv4 and ping -6 -s 3000 over IPv6 (3 each)
#   - one UDP datagram of 4000 bytes to port 9999 over IPv4 and one over
#     IPv6, sent by python3 with an unconnected socket (the server port is
#     closed: the kernel answers ICMP port unreachable)
#
# Needs root, iproute2, tcpdump, iputils-ping, python3.
# Usage: sudo scripts/record-fragments.sh [OUT.pcap]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=two-hosts-lib.sh
. "$(dirname "$0")/two-hosts-lib.sh"

OUT=${1:-testdata/fragments.pcap}
P=nsfrag
C4=10.253.0.10
S4=10.253.0.20
C6=fd00:253::10
S6=fd00:253::20
WORK=$(mktemp -d)

cleanup() {
    set +e
    two_hosts_down $P
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
    echo "record-fragments.sh: needs root to create network namespaces" >&2
    exit 1
fi

two_hosts_up $P
for h in client server; do
    # No duplicate address detection delay for the IPv6 addresses.
    ip netns exec $P-$h sysctl -qw net.ipv6.conf.eth0.accept_dad=0
done
ip -n $P-client addr add $C4/24 dev eth0
ip -n $P-server addr add $S4/24 dev eth0
ip -n $P-client addr add $C6/64 dev eth0 nodad
ip -n $P-server addr add $S6/64 dev eth0 nodad

ip netns exec $P-sw tcpdump -i br0 -w "$WORK/out.pcap" -U -s 0 2>/dev/null &
sleep 1

ip netns exec $P-client ping -c 3 -i 0.2 -s 3000 $S4 >/dev/null
ip netns exec $P-client ping -6 -c 3 -i 0.2 -s 3000 $S6 >/dev/null
ip netns exec $P-client python3 - "$S4" "$S6" <<'EOF'
import socket, sys
v4, v6 = sys.argv[1], sys.argv[2]
payload = bytes(range(256)) * 15 + bytes(160)  # 4000 bytes
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(payload, (v4, 9999))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s6.sendto(payload, (v6, 9999))
EOF
sleep 1

ip netns pids $P-sw | xargs -r kill -INT
sleep 0.5
cp "$WORK/out.pcap" "$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
