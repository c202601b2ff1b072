#!/usr/bin/env bash
# Record DNS spoofing and rebinding with real tools, between network
# namespaces this script creates and removes: a bridge `br-nsspf` that floods
# every frame (ageing time 0: a hub, as dnsspoof needs), 10.54.0.0/24 inside,
# no address in the root namespace. No packet leaves them.
#
#   10.54.0.2   nsspf-dns  dnsmasq: bank.example -> 10.54.0.80, shop.example ->
#                          10.54.0.81, NXDOMAIN otherwise; rebind.attacker-site.com
#                          -> 203.0.113.5 (public), then, restarted, -> 10.54.0.5
#                          (private): the rebinding flip, TTL 0
#   10.54.0.66  nsspf-att  dnsspoof (dsniff 2.4) answering bank.example and
#                          *.bank.example with 10.54.0.66
#   10.54.0.10  nsspf-cli  dig: bank.example (spoofed: two answers race), shop.example
#   10.54.0.11  nsspf-oth  dig: shop.example, www.bank.example, rebind.attacker-site.com
#
# dnsspoof 2.4 ignores queries with an EDNS OPT record, so dig runs with
# +noedns. dnsmasq answers first (no netem in the lab to slow it): each
# spoofed lookup gets the real answer, then dnsspoof's, on the same id and
# port; a resolver slower than the attacker gets them the other way round.
#
# Captures (tcpdump on the bridge, udp port 53):
#   spoof.pcap    with dnsspoof running: the victims' lookups get two answers
#   nospoof.pcap  the same lookups without dnsspoof (true negative), minus
#                 the rebinding name
#
# Needs root and: apt-get install -y dsniff dnsmasq bind9-dnsutils tcpdump
set -euo pipefail
OUT="${1:-$(cd "$(dirname "$0")/.." && pwd)/testdata/dns}"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
NS=(nsspf-dns nsspf-att nsspf-cli nsspf-oth)
declare -A ADDR=([nsspf-dns]=2 [nsspf-att]=66 [nsspf-cli]=10 [nsspf-oth]=11)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for n in "${NS[@]}"; do ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true; done
  sleep 0.3
  for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  ip link del br-nsspf 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
cleanup_leftovers() { for n in "${NS[@]}"; do ip netns del "$n" 2>/dev/null || true; done; ip link del br-nsspf 2>/dev/null || true; }
cleanup_leftovers

ip link add br-nsspf type bridge ageing_time 0
ip link set br-nsspf up
i=0
for n in "${NS[@]}"; do
  i=$((i + 1))
  ip netns add "$n"
  ip link add "vnsspf$i" type veth peer name eth0 netns "$n"
  ip link set "vnsspf$i" master br-nsspf up
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$n" ip addr add "10.54.0.${ADDR[$n]}/24" dev eth0
  ip netns exec "$n" ip link set eth0 up
  ip netns exec "$n" ip link set lo up
done

cat > "$WORK/dnsmasq.conf" <<CONF
no-resolv
no-hosts
listen-address=10.54.0.2
bind-interfaces
address=/bank.example/10.54.0.80
address=/shop.example/10.54.0.81
address=/#/
local-ttl=60
CONF
# address=/#/ with no address answers NXDOMAIN for everything else.
resolver() { # rebind address
  if [ -n "${DNSMASQ:-}" ]; then kill "$DNSMASQ"; wait "$DNSMASQ" 2>/dev/null || true; fi
  sed "s|^address=/#/|address=/rebind.attacker-site.com/$1\naddress=/#/|" "$WORK/dnsmasq.conf" > "$WORK/run.conf"
  ip netns exec nsspf-dns dnsmasq -C "$WORK/run.conf" --local-ttl=0 --pid-file="$WORK/dnsmasq.pid" -k &
  DNSMASQ=$!
  PIDS+=("$DNSMASQ")
  sleep 1
}
resolver 203.0.113.5

lookups() { # rebind?
  for round in 1 2 3; do
    ip netns exec nsspf-cli dig +noedns +tries=1 +time=2 @10.54.0.2 bank.example A >/dev/null || true
    ip netns exec nsspf-cli dig +noedns +tries=1 +time=2 @10.54.0.2 shop.example A >/dev/null || true
    ip netns exec nsspf-oth dig +noedns +tries=1 +time=2 @10.54.0.2 www.bank.example A >/dev/null || true
    ip netns exec nsspf-oth dig +noedns +tries=1 +time=2 @10.54.0.2 shop.example A >/dev/null || true
    ip netns exec nsspf-oth dig +noedns +tries=1 +time=2 @10.54.0.2 nosuch.example A >/dev/null || true
    if [ "$1" = rebind ]; then
      ip netns exec nsspf-oth dig +noedns +tries=1 +time=2 @10.54.0.2 rebind.attacker-site.com A >/dev/null || true
    fi
    sleep 0.5
  done
}

capture() { tcpdump -i br-nsspf -s 512 -U -w "$OUT/$1" udp port 53 2>/dev/null & TCPDUMP=$!; PIDS+=("$TCPDUMP"); sleep 1; }
stop_capture() { sleep 1; kill "$TCPDUMP"; wait "$TCPDUMP" 2>/dev/null || true; }

# True negative first: no attacker.
capture nospoof.pcap
lookups none
stop_capture

printf '10.54.0.66\tbank.example\n10.54.0.66\t*.bank.example\n' > "$WORK/spoof.hosts"
ip netns exec nsspf-att dnsspoof -i eth0 -f "$WORK/spoof.hosts" udp port 53 >/dev/null 2>&1 &
PIDS+=($!)
sleep 2
capture spoof.pcap
ip netns exec nsspf-oth dig +noedns +tries=1 +time=2 @10.54.0.2 rebind.attacker-site.com A >/dev/null || true
resolver 10.54.0.5
lookups rebind
stop_capture
ls -l "$OUT/spoof.pcap" "$OUT/nospoof.pcap"
