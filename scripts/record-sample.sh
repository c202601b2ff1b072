#!/usr/bin/env bash
# Records testdata/sample.pcap: real traffic between two hosts in network
# namespaces this script creates (client 10.252.0.10, server 10.252.0.20,
# joined by a bridge in a third namespace where tcpdump listens).
#
# Traffic, all made by the real tools from Debian's packages:
#   - dig (UDP and TCP DNS: A, AAAA, MX, TXT, NXDOMAIN) against dnsmasq
#   - curl over HTTP and over HTTPS (TLS 1.2 and 1.3, SNI) against nginx
#   - ssh (banner exchange and key exchange; authentication refused) against sshd
#   - ping, and nmap -sS on ports 1-200 of the server
#
# Needs root, iproute2, ethtool, tcpdump, dnsmasq, nginx, openssh-server, openssl, curl,
# dig, ping (iputils-ping), nmap (sshd is optional with SSH_OPTIONAL=1 for the
# profiles other than sample and bench). Usage: sudo scripts/record-sample.sh [OUT.pcap]
#
# With PROFILE=bench the same lab records a larger base for benchmarks
# (benches/compare.sh): 2000 DNS queries, 400 HTTP and 100 HTTPS requests,
# a 30 MB HTTP download, 5 SSH sessions and nmap on ports 1-1000. PROFILE=bulk,
# short, dns, web and scan record the bases of compare.sh's other traffic
# shapes (each described where the profile is, below).
# Everything is torn down on exit, even on failure.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=two-hosts-lib.sh
. "$(dirname "$0")/two-hosts-lib.sh"

# Each tool's traffic is run with its failures ignored (a refused SSH login is
# part of the capture), so a missing tool would silently leave its traffic
# out; without ethtool the capture changes shape (64 KB super-frames, a third
# as many packets per GB). Refuse to record without all of them.
# sshd serves the SSH sessions of the sample and bench profiles; the other
# profiles' bases hold only the one SSH attempt every recording opens with,
# which without sshd is a refused connection (SSH_OPTIONAL=1 allows that).
tools="ip ethtool tcpdump dnsmasq nginx openssl curl dig ping nmap"
case "${PROFILE:-sample}:${SSH_OPTIONAL:-0}" in
    sample:* | bench:* | *:0) tools="$tools sshd" ;;
esac
for tool in $tools; do
    command -v "$tool" >/dev/null || {
        echo "record-sample.sh: needs $tool (see the list at the top of this script)" >&2
        exit 2
    }
done

OUT=${1:-testdata/sample.pcap}
P=nslead
WORK=$(mktemp -d)
chmod 755 "$WORK"  # nginx workers run as www-data
C=10.252.0.10
S=10.252.0.20

cleanup() {
    set +e
    for pidfile in "$WORK"/*.pid; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null
    done
    ip netns pids $P-server 2>/dev/null | xargs -r kill 2>/dev/null
    two_hosts_down $P
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ "$(id -u)" != 0 ]; then
    echo "record-sample.sh: needs root to create network namespaces" >&2
    exit 1
fi

two_hosts_up $P
two_hosts_ipv4 $P $C $S

# --- server side -----------------------------------------------------------
cat >"$WORK/dnsmasq.conf" <<EOF
no-resolv
no-hosts
listen-address=$S
bind-interfaces
address=/www.example.lab/$S
address=/secure.example.lab/$S
host-record=ipv6.example.lab,fd00::20
mx-host=example.lab,mail.example.lab,10
txt-record=example.lab,"v=spf1 ip4:$S -all"
log-facility=$WORK/dnsmasq.log
EOF
ip netns exec $P-server dnsmasq --conf-file="$WORK/dnsmasq.conf" --pid-file="$WORK/dnsmasq.pid"

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=secure.example.lab" \
    -addext "subjectAltName=DNS:secure.example.lab" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
mkdir -p "$WORK/www"
echo "<html><head><title>netsec sample</title></head><body>hello</body></html>" >"$WORK/www/index.html"
cat >"$WORK/nginx.conf" <<EOF
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events {}
http {
    access_log off;
    server { listen $S:80; root $WORK/www; }
    server {
        listen $S:443 ssl;
        server_name secure.example.lab;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $WORK/www;
    }
}
EOF
ip netns exec $P-server nginx -c "$WORK/nginx.conf"

ssh-keygen -q -t ed25519 -N "" -f "$WORK/ssh_host_ed25519_key"
mkdir -p /run/sshd
cat >"$WORK/sshd_config" <<EOF
ListenAddress $S
HostKey $WORK/ssh_host_ed25519_key
PidFile $WORK/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
EOF
if [ -x /usr/sbin/sshd ]; then
    ip netns exec $P-server /usr/sbin/sshd -f "$WORK/sshd_config"
fi
sleep 1

# --- capture ----------------------------------------------------------------
ip netns exec $P-sw tcpdump -i br0 -B 131072 -U -w "$WORK/sample.pcap" 2>"$WORK/tcpdump.log" &
echo $! >"$WORK/tcpdump.pid"
sleep 1

run() { ip netns exec $P-client "$@" >/dev/null 2>&1 || true; }
run ping -c 3 -i 0.2 $S
run dig @$S www.example.lab A
run dig @$S ipv6.example.lab AAAA
run dig @$S example.lab MX
run dig @$S example.lab TXT
run dig @$S nosuchhost.example.lab A
run dig +tcp @$S secure.example.lab A
run curl -s -A "netsec-sample/1.0" http://www.example.lab/ --resolve www.example.lab:80:$S
run curl -s http://www.example.lab/missing --resolve www.example.lab:80:$S
run curl -sk --tls-max 1.2 https://secure.example.lab/ --resolve secure.example.lab:443:$S
run curl -sk --tlsv1.3 https://secure.example.lab/ --resolve secure.example.lab:443:$S
run ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ConnectTimeout=3 nobody@$S true
run nmap -n -sS -Pn -p 1-200 --max-retries 1 $S
# Helpers for the bench profiles.
queries() { # N: N lookups of every kind dnsmasq answers, one per line for dig -f
    local i
    for i in $(seq 1 "$1"); do
        case $((i % 8)) in
            0) echo "host$i.example.lab A" ;;
            1) echo "www.example.lab A" ;;
            2) echo "ipv6.example.lab AAAA" ;;
            3) echo "example.lab MX" ;;
            4) echo "example.lab TXT" ;;
            5) echo "nx$i.example.lab A" ;;
            6) echo "secure.example.lab A" ;;
            7) echo "www.example.lab AAAA" ;;
        esac
    done >"$WORK/queries.txt"
    run dig @$S -f "$WORK/queries.txt" +tries=1 +time=1
}
http_urls() { # N [extra curl options...]: N requests to the HTTP server in one curl
    local n=$1 i; shift
    for i in $(seq 1 "$n"); do echo "url = \"http://www.example.lab/?q=$i\""; done >"$WORK/urls.txt"
    run curl -s -K "$WORK/urls.txt" --resolve www.example.lab:80:$S -o /dev/null "$@"
}
https_sessions() { # N: N separate TLS sessions (one curl each)
    local i
    for i in $(seq 1 "$1"); do
        run curl -sk https://secure.example.lab/ --resolve secure.example.lab:443:$S -o /dev/null
    done
}
ssh_sessions() { # N
    local i
    for i in $(seq 1 "$1"); do
        run ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
            -o ConnectTimeout=3 nobody@$S true
    done
}

# PROFILE=bench is the mixed base of benches/compare.sh; the other profiles
# are the traffic shapes it also reports (see the top of benches/compare.sh).
case "${PROFILE:-sample}" in
    sample) ;;
    bench)
        head -c 30000000 /dev/urandom >"$WORK/www/big.bin"
        for i in $(seq 1 2000); do echo "host$i.example.lab A"; done >"$WORK/queries.txt"
        run dig @$S -f "$WORK/queries.txt" +tries=1 +time=1
        http_urls 400
        https_sessions 100
        run curl -s http://www.example.lab/big.bin --resolve www.example.lab:80:$S -o /dev/null
        ssh_sessions 5
        run nmap -n -sS -Pn -p 1-1000 --max-retries 1 $S
        ;;
    bulk) # a few long transfers: 2 x 40 MB over HTTP, 2 x 40 MB over HTTPS
        head -c 40000000 /dev/urandom >"$WORK/www/big.bin"
        for i in 1 2; do
            run curl -s --limit-rate 40M http://www.example.lab/big.bin --resolve www.example.lab:80:$S -o /dev/null
            run curl -sk --limit-rate 40M https://secure.example.lab/big.bin --resolve secure.example.lab:443:$S -o /dev/null
        done
        queries 20
        ;;
    short) # many short connections: 6000 HTTP requests, each on its own connection
        http_urls 6000 -H "Connection: close"
        queries 200
        ;;
    dns) # DNS-heavy: 30,000 lookups over UDP, 500 over TCP, a little web traffic
        queries 30000
        for i in $(seq 1 500); do echo "host$i.example.lab A"; done >"$WORK/tcpq.txt"
        run dig +tcp @$S -f "$WORK/tcpq.txt" +tries=1 +time=1
        http_urls 50
        ;;
    web) # a web mix: pages of several sizes over HTTP (kept-alive and not) and HTTPS
        head -c 200000 /dev/urandom >"$WORK/www/image.bin"
        head -c 20000 /dev/urandom >"$WORK/www/script.bin"
        for i in $(seq 1 300); do
            echo "url = \"http://www.example.lab/?q=$i\""
            echo "url = \"http://www.example.lab/script.bin?q=$i\""
            [ $((i % 5)) = 0 ] && echo "url = \"http://www.example.lab/image.bin?q=$i\""
        done >"$WORK/urls.txt"
        run curl -s -K "$WORK/urls.txt" --resolve www.example.lab:80:$S -o /dev/null
        http_urls 300 -H "Connection: close"
        https_sessions 300
        for i in $(seq 1 50); do
            run curl -sk https://secure.example.lab/image.bin --resolve secure.example.lab:443:$S -o /dev/null
        done
        queries 600
        ;;
    scan) # scan-heavy: every TCP port, the top UDP ports, a ping sweep of the /24
        run nmap -n -sS -Pn -p- --max-retries 1 -T4 $S
        run nmap -n -sU -Pn --top-ports 100 --max-retries 1 -T4 $S
        run nmap -n -sn 10.252.0.0/24
        run nmap -n -sT -Pn -p 1-2000 --max-retries 1 -T4 $S
        queries 50
        ;;
    *)
        echo "record-sample.sh: unknown PROFILE ${PROFILE} (sample, bench, bulk, short, dns, web, scan)" >&2
        exit 2
        ;;
esac
sleep 1

kill -INT "$(cat "$WORK/tcpdump.pid")"
wait "$(cat "$WORK/tcpdump.pid")" 2>/dev/null || true
rm -f "$WORK/tcpdump.pid"
# A capture that lost packets is not the traffic that was sent (bulk
# transfers at full speed can outrun tcpdump on a loaded machine): refuse it.
if ! grep -q '^0 packets dropped by kernel' "$WORK/tcpdump.log"; then
    echo "record-sample.sh: tcpdump lost packets, record again on a quieter machine:" >&2
    cat "$WORK/tcpdump.log" >&2
    exit 1
fi
mkdir -p "$(dirname "$OUT")"
cp "$WORK/sample.pcap" "$OUT"
echo "wrote $OUT ($(stat -c %s "$OUT") bytes)"
