# shellcheck shell=bash
# Sourced by the capture-recording scripts: two hosts, "client" and "server",
# in network namespaces $1-client and $1-server, joined by a bridge in a third
# namespace $1-sw where tcpdump can listen on br0. Needs root and iproute2.

# two_hosts_up PREFIX: create the namespaces, the bridge and the links (up).
two_hosts_up() {
    local p=$1 ns h
    for ns in "$p-client" "$p-server" "$p-sw"; do ip netns add "$ns"; done
    ip -n "$p-sw" link add br0 type bridge
    ip -n "$p-sw" link set br0 up
    for h in client server; do
        ip link add "$p-$h" type veth peer name eth0 netns "$p-$h"
        ip link set "$p-$h" netns "$p-sw"
        ip -n "$p-sw" link set "$p-$h" master br0 up
        ip -n "$p-$h" link set lo up
        ip -n "$p-$h" link set eth0 up
    done
}

# two_hosts_down PREFIX: stop what runs on the bridge (tcpdump gets SIGINT so
# it flushes its file) and remove the namespaces. Never fails.
two_hosts_down() {
    local p=$1 ns
    ip netns pids "$p-sw" 2>/dev/null | xargs -r kill -INT 2>/dev/null
    sleep 0.5
    for ns in "$p-client" "$p-server" "$p-sw"; do ip netns del "$ns" 2>/dev/null; done
    return 0
}

# two_hosts_ipv4 PREFIX CLIENT_IP SERVER_IP: MTU-sized frames on the wire
# (segmentation offloads off, as real NICs put them, rather than 64 KB
# super-frames), the addresses (/24), IPv6 off.
two_hosts_ipv4() {
    local p=$1 h
    for h in client server; do
        ip netns exec "$p-$h" ethtool -K eth0 tso off gso off gro off >/dev/null
        ip netns exec "$p-sw" ethtool -K "$p-$h" tso off gso off gro off >/dev/null
    done
    ip -n "$p-client" addr add "$2/24" dev eth0
    ip -n "$p-server" addr add "$3/24" dev eth0
    ip netns exec "$p-client" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip netns exec "$p-server" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
}
