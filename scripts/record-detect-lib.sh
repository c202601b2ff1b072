# shellcheck shell=bash
# Sourced by scripts/record-detect.sh: a small LAN of network namespaces on
# one bridge (in namespace $DET_P-sw, where tcpdump listens), every host on
# the same segment so that one capture on the bridge sees all of it.
#
#   $DET_P-gw  10.250.0.1     the home network's gateway (forwards, owns
#                             10.250.8.0/24 as an unreachable route so that
#                             sweeps of it leave frames on the bridge)
#   $DET_P-a   10.250.0.10    the attacker
#   $DET_P-s   10.250.0.20    internal server: sshd, nginx, vsftpd, dnsmasq, chronyd
#   $DET_P-c   10.250.0.30    benign workstation
#   $DET_P-d   10.250.0.31    benign workstation
#   $DET_P-v1 … v4 10.250.0.41 … .44   internal hosts with sshd
#   $DET_P-x   203.0.113.50   "internet" server (TEST-NET-3, RFC 5737), on
#                             the same bridge with an on-link route: a
#                             namespace of ours like the others
#
# Nothing is added to the root namespace; no packet leaves these namespaces.

DET_P=${DET_P:-ndet}
DET_NET=10.250.0
DET_HOSTS="gw:1 a:10 s:20 c:30 d:31 v1:41 v2:42 v3:43 v4:44"
DET_X=203.0.113.50

# det_host_up NAME ADDR/PREFIX: a namespace with eth0 on the bridge.
det_host_up() {
    local h=$1 addr=$2
    ip netns add "$DET_P-$h"
    ip link add "$DET_P-$h" type veth peer name eth0 netns "$DET_P-$h"
    ip link set "$DET_P-$h" netns "$DET_P-sw"
    ip -n "$DET_P-sw" link set "$DET_P-$h" master br0 up
    ip -n "$DET_P-$h" link set lo up
    ip -n "$DET_P-$h" addr add "$addr" dev eth0
    ip -n "$DET_P-$h" link set eth0 up
    ip netns exec "$DET_P-$h" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    # Real NICs put MTU-sized frames on the wire (see record-sample.sh).
    ip netns exec "$DET_P-$h" ethtool -K eth0 tso off gso off gro off >/dev/null
    ip netns exec "$DET_P-sw" ethtool -K "$DET_P-$h" tso off gso off gro off >/dev/null
}

# det_lab_up: the whole LAN, addressed and routed.
det_lab_up() {
    local pair h n
    ip netns add "$DET_P-sw"
    ip -n "$DET_P-sw" link add br0 type bridge
    ip -n "$DET_P-sw" link set br0 up
    ip netns exec "$DET_P-sw" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    for pair in $DET_HOSTS; do
        h=${pair%%:*}
        n=${pair##*:}
        det_host_up "$h" "$DET_NET.$n/24"
        if [ "$h" != gw ]; then
            ip -n "$DET_P-$h" route add default via "$DET_NET.1"
            ip -n "$DET_P-$h" route add 203.0.113.0/24 dev eth0
        fi
    done
    det_host_up x "$DET_X/24"
    ip -n "$DET_P-x" route add "$DET_NET.0/24" dev eth0
    ip netns exec "$DET_P-gw" sysctl -qw net.ipv4.ip_forward=1
    ip -n "$DET_P-gw" route add unreachable 10.250.8.0/24
}

# det_lab_down: stop everything running in the lab's namespaces (tcpdump
# gets SIGINT first so it flushes its file) and remove them. Never fails.
det_lab_down() {
    local pair h
    ip netns pids "$DET_P-sw" 2>/dev/null | xargs -r kill -INT 2>/dev/null
    sleep 0.5
    for pair in $DET_HOSTS x:0 sw:0; do
        h=${pair%%:*}
        ip netns pids "$DET_P-$h" 2>/dev/null | xargs -r kill 2>/dev/null
    done
    sleep 0.5
    for pair in $DET_HOSTS x:0 sw:0; do
        h=${pair%%:*}
        ip netns del "$DET_P-$h" 2>/dev/null
    done
    return 0
}

# on HOST CMD…: run a command in a host's namespace.
on() {
    local h=$1
    shift
    ip netns exec "$DET_P-$h" "$@"
}

# mac_of HOST: the MAC address of a host's eth0.
mac_of() {
    ip -n "$DET_P-$1" -o link show eth0 | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# rec NAME FUNCTION: capture on the bridge while FUNCTION runs (in $WORK,
# its output in $WORK/NAME.log), then write $OUT/NAME.pcap, zstd-compressed
# (.pcap.zst) past 64 KiB. SNAPLEN sets tcpdump's snap length (128);
# ONLY="name …" records just those scenarios.
rec() {
    local name=$1 fn=$2 tp
    if [ -n "${ONLY:-}" ] && ! [[ " $ONLY " == *" $name "* ]]; then
        return 0
    fi
    # started directly (not through a function) so that $! is tcpdump itself
    ip netns exec "$DET_P-sw" tcpdump -Z root -i br0 -s "${SNAPLEN:-128}" -U -w "$WORK/$name.pcap" \
        2>>"$WORK/tcpdump.log" &
    tp=$!
    sleep 1
    (cd "$WORK" && "$fn") >>"$WORK/$name.log" 2>&1 || true
    sleep 1
    kill -INT "$tp"
    wait "$tp" 2>/dev/null || true
    rm -f "$OUT/$name.pcap" "$OUT/$name.pcap.zst"
    if [ "$(stat -c %s "$WORK/$name.pcap")" -gt 65536 ]; then
        zstd -q -19 --no-check "$WORK/$name.pcap" -o "$OUT/$name.pcap.zst"
        echo "wrote $OUT/$name.pcap.zst ($(stat -c %s "$OUT/$name.pcap.zst") bytes)"
    else
        cp "$WORK/$name.pcap" "$OUT/$name.pcap"
        echo "wrote $OUT/$name.pcap ($(stat -c %s "$OUT/$name.pcap") bytes)"
    fi
}

# det_start: a work folder $WORK (removed on exit, with the lab; DET_LOGS=DIR
# keeps each scenario's tool output, for checking a recording), the LAN up,
# the lab's SSH keys ($WORK/id for the clients, authorized by
# $WORK/authorized_keys; a host key) and SSH_OPTS to use them.
det_start() {
    WORK=$(mktemp -d)
    chmod 755 "$WORK" # nginx workers run as www-data
    SSH_OPTS=(-i "$WORK/id" -o BatchMode=yes -o StrictHostKeyChecking=no
        -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR)
    trap det_cleanup EXIT
    det_lab_up
    ssh-keygen -q -t ed25519 -N "" -f "$WORK/id"
    cp "$WORK/id.pub" "$WORK/authorized_keys"
    ssh-keygen -q -t ed25519 -N "" -f "$WORK/ssh_host_ed25519_key"
    mkdir -p /run/sshd
}

det_cleanup() {
    set +e
    det_lab_down
    [ -n "${DET_LOGS:-}" ] && mkdir -p "$DET_LOGS" && cp "$WORK"/*.log "$DET_LOGS"/
    rm -rf "$WORK"
}

# det_need TOOL…: exit unless every tool is on PATH and we are root (the
# calling script's name in the message).
det_need() {
    local me tool
    me=$(basename "$0")
    for tool in "$@"; do
        command -v "$tool" >/dev/null || {
            echo "$me: needs $tool (see the list at the top of this script)" >&2
            exit 2
        }
    done
    if [ "$(id -u)" != 0 ]; then
        echo "$me: needs root to create network namespaces" >&2
        exit 1
    fi
}
