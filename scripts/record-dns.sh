#!/usr/bin/env bash
# Record the DNS captures of testdata/dns/ (or of the folder given) with real tools, between network
# namespaces this script creates and removes (a bridge `br-nsdns`, no address
# in the root namespace; 10.53.0.0/24 inside). No packet leaves them.
#
#   10.53.0.1   nsdns-srv   iodined 0.7 (tunnel domain t.tunnel.example)
#   10.53.0.2   nsdns-dns   dnsmasq: NXDOMAIN for everything but the names below
#   10.53.0.11  nsdns-tun1  iodine client, record type chosen by iodine (NULL)
#   10.53.0.15  nsdns-tun2  iodine client forced to TXT (-T TXT)
#   10.53.0.16  nsdns-tun3  iodine -T CNAME -O base32
#   10.53.0.17  nsdns-tun4  iodine -T MX -O base64
#   10.53.0.18  nsdns-tun5  iodine -T SRV -O base64u
#   10.53.0.19  nsdns-tun6  iodine -T PRIVATE -O base128
#   10.53.0.3   nsdns-d2s   dns2tcpd 0.5.2 (zone d.tunnel2.example, resource
#                           `sink`: nc listening on its 127.0.0.1:7)
#   10.53.0.20  nsdns-d2c   dns2tcpc sending 4 KiB from stdin (TXT, the default)
#   10.53.0.21  nsdns-d2k   dns2tcpc sending 4 KiB from stdin (-T KEY)
#   10.53.0.12  nsdns-web   dig: ordinary lookups, CDN names with 40-hex labels,
#                           vendor telemetry names, file-reputation lookups
#   10.53.0.14  nsdns-dead  dig: dead word-like domains (NXDOMAIN)
#   10.53.0.13  nsdns-bot   dig: names of the DGA below until one resolves
#
# Captures (tcpdump on the bridge, -s 512, udp port 53):
#   iodine.pcap.zst  the iodine clients, one after the other, tunnelling pings
#   benign.pcap.zst  nsdns-web and nsdns-dead
#   dga.pcap     nsdns-bot
#   dns2tcp.pcap.zst  both dns2tcp clients
#
# The DGA: a linear congruential generator x' = (1103515245·x + 12345) mod 2^31
# seeded with 20261202 (the date, as date-seeded families do); each name has
# 8 + (x mod 8) letters, letter = 'a' + ((x >> 16) mod 26) for successive x,
# and the TLDs com, net, org, info in turn. The bot asks the names in order
# and stops at the 25th, the one its operator "registered" (it resolves).
#
# Needs root and: apt-get install -y iodine dns2tcp dnsmasq bind9-dnsutils tcpdump zstd
set -euo pipefail
OUT="${1:-$(cd "$(dirname "$0")/.." && pwd)/testdata/dns}"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
NS=(nsdns-srv nsdns-dns nsdns-tun1 nsdns-tun2 nsdns-tun3 nsdns-tun4 nsdns-tun5 nsdns-tun6
  nsdns-web nsdns-dead nsdns-bot nsdns-d2s nsdns-d2c nsdns-d2k)
declare -A ADDR=([nsdns-srv]=1 [nsdns-dns]=2 [nsdns-tun1]=11 [nsdns-web]=12 [nsdns-bot]=13
  [nsdns-dead]=14 [nsdns-tun2]=15 [nsdns-tun3]=16 [nsdns-tun4]=17 [nsdns-tun5]=18 [nsdns-tun6]=19
  [nsdns-d2s]=3 [nsdns-d2c]=20 [nsdns-d2k]=21)
PIDS=()

cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for n in "${NS[@]}"; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true; done
  sleep 0.3
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  ip link del br-nsdns 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip link add br-nsdns type bridge
ip link set br-nsdns up
i=0
for n in "${NS[@]}"; do
  i=$((i + 1))
  ip netns add "$n"
  ip link add "vnsdns$i" type veth peer name eth0 netns "$n"
  ip link set "vnsdns$i" master br-nsdns up
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$n" ip addr add "10.53.0.${ADDR[$n]}/24" dev eth0
  ip netns exec "$n" ip link set eth0 up
  ip netns exec "$n" ip link set lo up
done

capture() { # file
  tcpdump -i br-nsdns -s 512 -U -w "$OUT/$1" udp port 53 2>/dev/null &
  TCPDUMP=$!
  PIDS+=("$TCPDUMP")
  sleep 1
}
stop_capture() {
  sleep 1
  kill "$TCPDUMP"
  wait "$TCPDUMP" 2>/dev/null || true
}

# --- the DGA's names ---------------------------------------------------------
python3 - > "$WORK/dga.txt" <<'PY'
x = 20261202
tlds = ["com", "net", "org", "info"]
def step():
    global x
    x = (1103515245 * x + 12345) % 2**31
    return x
for i in range(40):
    n = 8 + step() % 8
    name = "".join(chr(ord("a") + (step() >> 16) % 26) for _ in range(n))
    print(f"{name}.{tlds[i % 4]}")
PY
RESOLVED="$(sed -n 25p "$WORK/dga.txt")"

# --- dnsmasq: NXDOMAIN unless listed -----------------------------------------
BENIGN_DOMAINS=(example.com example.org example.net wikipedia.org debian.org
  example-cdn.net telemetry.example-vendor.com mcafee.com)
ARGS=(--no-daemon --no-resolv --no-hosts --bind-interfaces --listen-address=10.53.0.2
  --log-facility=- --address=/#/)
for d in "${BENIGN_DOMAINS[@]}"; do ARGS+=("--address=/$d/10.53.0.200"); done
ARGS+=("--address=/$RESOLVED/10.53.0.66")
ip netns exec nsdns-dns dnsmasq "${ARGS[@]}" >"$WORK/dnsmasq.log" 2>&1 &
PIDS+=($!)
sleep 1

# --- tunnel: iodine ----------------------------------------------------------
ip netns exec nsdns-srv iodined -f -c -P netsec-lab 192.168.99.1 t.tunnel.example \
  >"$WORK/iodined.log" 2>&1 &
PIDS+=($!)
sleep 1
capture iodine.pcap
for c in tun1:"" tun2:"-T TXT" tun3:"-T CNAME -O base32" tun4:"-T MX -O base64" \
  tun5:"-T SRV -O base64u" tun6:"-T PRIVATE -O base128"; do
  ns="nsdns-${c%%:*}"
  # -r: never try raw UDP to the server; everything goes as DNS.
  # shellcheck disable=SC2086
  ip netns exec "$ns" iodine -f -r ${c#*:} -P netsec-lab 10.53.0.1 t.tunnel.example \
    >"$WORK/iodine-$ns.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 20); do
    ip netns exec "$ns" ip -brief addr show dns0 2>/dev/null | grep -q 192.168.99 && break
    sleep 0.5
  done
  sleep 3 # iodine probes the fragment size after it has its address
  ip netns exec "$ns" ping -q -c 30 -i 0.2 -w 12 -s 400 192.168.99.1 || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
stop_capture

# --- tunnel: dns2tcp ---------------------------------------------------------
cat > "$WORK/dns2tcpd.conf" <<CONF
listen = 10.53.0.3
port = 53
user = nobody
chroot = /tmp
domain = d.tunnel2.example
resources = sink:127.0.0.1:7
key = netsec-lab
CONF
ip netns exec nsdns-d2s nc -lk 127.0.0.1 7 >/dev/null 2>&1 &
PIDS+=($!)
ip netns exec nsdns-d2s dns2tcpd -F -f "$WORK/dns2tcpd.conf" >"$WORK/dns2tcpd.log" 2>&1 &
PIDS+=($!)
sleep 1
capture dns2tcp.pcap
for c in d2c:TXT d2k:KEY; do
  # 4 KiB of a file's worth of base64 text, through the tunnel to the sink.
  head -c 3072 /dev/urandom | base64 |
    timeout 20 ip netns exec "nsdns-${c%%:*}" dns2tcpc -z d.tunnel2.example -k netsec-lab \
      -r sink -T "${c#*:}" -l - 10.53.0.3 >/dev/null 2>&1 || true
done
stop_capture

# --- benign: ordinary, CDN, telemetry, file reputation, dead links -----------
python3 - > "$WORK/web.txt" <<'PY'
import hashlib
ordinary = ["www.example.com", "mail.example.com", "api.example.org", "static.example.net",
            "en.wikipedia.org", "upload.wikipedia.org", "deb.debian.org", "security.debian.org"]
for r in range(3):
    for n in ordinary:
        print(n, "A"); print(n, "AAAA")
# A CDN serving assets under hashed names: 60 distinct 40-hex labels.
for i in range(60):
    h = hashlib.sha1(f"asset-{i}".encode()).hexdigest()
    print(f"{h}.assets.example-cdn.net", "A")
# Vendor telemetry: 20 distinct base32 device/session ids.
import base64
for i in range(20):
    b = base64.b32encode(hashlib.sha256(f"session-{i}".encode()).digest()[:20]).decode().lower().rstrip("=")
    print(f"{b}.telemetry.example-vendor.com", "TXT")
# File-reputation lookups (McAfee GTI style): 80 distinct base32 file hashes
# on the allow-list.
for i in range(80):
    b = base64.b32encode(hashlib.sha256(f"file-{i}".encode()).digest()).decode().lower().rstrip("=")
    print(f"{b[:40]}.{b[40:]}.avqs.mcafee.com", "A")
PY
cat > "$WORK/dead.txt" <<'TXT'
gardenshopping.com
winterbakery.net
bluemountainhotel.com
oldtownpharmacy.net
riversidedental.org
greenvalleyfarm.com
sunsetphotography.net
lakesidecabins.com
citybikerental.org
harborseafood.com
northwindtraders.net
silverlakeschool.org
maplestreetbooks.com
brightsmileclinic.net
happypawsvet.com
goldencrustpizza.net
evergreenlandscaping.com
summitclimbing.org
coastalkayaks.com
redbarnantiques.net
moonlightcinema.org
stonebridgeinn.com
freshmarketdeli.net
oceanviewmotel.com
pinecrestgolf.org
TXT
capture benign.pcap
# dig's batch file: one lookup a line, with its own server and options.
batch() { sed 's/^/@10.53.0.2 +tries=1 +time=1 +noall +answer /' "$1"; }
ip netns exec nsdns-web dig -f <(batch "$WORK/web.txt") >"$WORK/web.out" || true
ip netns exec nsdns-dead dig -f <(batch "$WORK/dead.txt") >"$WORK/dead.out" || true
stop_capture

# --- DGA ---------------------------------------------------------------------
capture dga.pcap
head -n 25 "$WORK/dga.txt" | while read -r name; do
  ip netns exec nsdns-bot dig @10.53.0.2 +tries=1 +time=1 +short "$name" A >/dev/null || true
  sleep 0.1
done
stop_capture

# As in testdata/detect: captures over 64 KiB are stored zstd-compressed
# (netsec reads .pcap.zst directly).
for f in "$OUT"/*.pcap; do
  if [ "$(stat -c %s "$f")" -gt 65536 ]; then zstd -q -f -19 --rm "$f"; fi
done
echo "resolved DGA name: $RESOLVED" >&2
ls -l "$OUT" >&2
