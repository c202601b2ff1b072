#!/bin/bash
# Service names on daemons the scanner's tests never meet (issue 10 item 6):
# netsec scan -sV against nmap -sV on a lab of network namespaces running
# eight Debian daemons that neither scripts/scan-lab.sh nor any test uses.
#
#   scripts/scan-unseen.sh [--install] [--keep] [--out DIR]
#
#   h20 memcached 11211        h24 lighttpd 80
#   h21 squid 3128 (proxy)     h25 rsync daemon 873
#   h22 varnish 6081 (cache)   h26 unbound 53/tcp+udp
#   h23 tinyproxy 8888         h27 dovecot imap 143, pop3 110
#
# Three scans of every TCP port (and UDP 53) of the eight hosts, compared by
# scripts/scan-compare.py (open ports identical, service names scored):
#   1. nmap -sS -sV -p- and nmap -sU -sV -p 53    the reference
#   2. netsec scan -sT -sU                        nmap's nmap-service-probes
#                                                 (the default when nmap is installed)
#   3. netsec scan -sT -sU --no-nmap-probes       the bundled table only
# Writes DIR/summary.md (default target/scan-unseen). Exit 1 when the open
# ports differ or names agree on fewer than MIN_AGREEMENT percent (default 90)
# with nmap's probes; the bundled-table agreement is reported, not enforced.
#
# Every packet stays inside the namespaces this script creates; they, the
# daemons and their temporary directory are removed on exit, even on failure.
# Skipped (exit 0) when not root; 2 on a setup error.
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
LAB_NET=${LAB_NET:-10.98.0}
LAB_SCAN_NET=${LAB_SCAN_NET:-10.98.1}
LAB_TAG=${LAB_TAG:-nsu$$}
# shellcheck source-path=SCRIPTDIR source=scan-lab-lib.sh
. "$ROOT/scripts/scan-lab-lib.sh"
LAB_HOSTS="20 21 22 23 24 25 26 27"
LAB_PACKAGES="nmap:/usr/bin/nmap memcached:/usr/bin/memcached squid:/usr/sbin/squid
varnish:/usr/sbin/varnishd tinyproxy:/usr/bin/tinyproxy lighttpd:/usr/sbin/lighttpd
rsync:/usr/bin/rsync unbound:/usr/sbin/unbound dovecot-imapd:/usr/lib/dovecot/imap
dovecot-pop3d:/usr/lib/dovecot/pop3 iproute2:/usr/sbin/ip"

KEEP_ALLOWED=1 lab_parse_args "$@"
[ "$OUT" = "$ROOT/target/scan-lab" ] && OUT="$ROOT/target/scan-unseen"
NETSEC=${NETSEC:-$ROOT/target/release/netsec}
MIN_AGREEMENT=${MIN_AGREEMENT:-90}

lab_prepare
rm -f "$OUT"/*.xml "$OUT"/*.md "$OUT"/*.json "$OUT/history.db"

trap lab_down EXIT
trap 'exit 130' INT TERM
lab_net_up

ip_of() { printf '%s.%s' "$LAB_NET" "$1"; }
dir_of() { mkdir -p "$LAB_DIR/h$1" && printf '%s/h%s' "$LAB_DIR" "$1"; }

# h20 memcached
lab_spawn 20 memcached memcached -u nobody -l "$(ip_of 20)" -p 11211 -U 0
lab_wait_port 20 tcp 11211

# h21 squid, a forward proxy with no cache
d=$(dir_of 21)
cat > "$d/squid.conf" << EOF
http_port $(ip_of 21):3128
pid_filename $d/squid.pid
cache_log $d/cache.log
access_log none
cache deny all
http_access allow all
coredump_dir $d
shutdown_lifetime 0 seconds
EOF
chown -R proxy: "$d"
lab_spawn 21 squid squid -N -f "$d/squid.conf"
lab_wait_port 21 tcp 3128

# h22 varnish, a cache in front of a backend that is not there
d=$(dir_of 22)
lab_spawn 22 varnishd varnishd -F -a "$(ip_of 22):6081" -b 127.0.0.1:8080 -n "$d/varnish" -s malloc,16m
lab_wait_port 22 tcp 6081

# h23 tinyproxy
d=$(dir_of 23)
cat > "$d/tinyproxy.conf" << EOF
Port 8888
Listen $(ip_of 23)
Timeout 600
MaxClients 20
PidFile "$d/tinyproxy.pid"
Allow $LAB_SCAN_NET.0/24
EOF
chmod 755 "$d"
lab_spawn 23 tinyproxy tinyproxy -d -c "$d/tinyproxy.conf"
lab_wait_port 23 tcp 8888

# h24 lighttpd
d=$(dir_of 24)
mkdir -p "$d/www"
echo "<html><head><title>unseen lab</title></head><body>lighttpd</body></html>" > "$d/www/index.html"
cat > "$d/lighttpd.conf" << EOF
server.document-root = "$d/www"
server.bind = "$(ip_of 24)"
server.port = 80
server.pid-file = "$d/lighttpd.pid"
server.errorlog = "$d/error.log"
index-file.names = ( "index.html" )
EOF
chmod -R 755 "$d"
lab_spawn 24 lighttpd lighttpd -D -f "$d/lighttpd.conf"
lab_wait_port 24 tcp 80

# h25 rsync daemon with one read-only module
d=$(dir_of 25)
mkdir -p "$d/pub"
cat > "$d/rsyncd.conf" << EOF
pid file = $d/rsyncd.pid
use chroot = no
[pub]
    path = $d/pub
    read only = yes
EOF
lab_spawn 25 rsync rsync --daemon --no-detach --config="$d/rsyncd.conf" --address="$(ip_of 25)"
lab_wait_port 25 tcp 873

# h26 unbound, answering a local zone
d=$(dir_of 26)
cat > "$d/unbound.conf" << EOF
server:
    interface: $(ip_of 26)
    access-control: 0.0.0.0/0 allow
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$d"
    pidfile: "$d/unbound.pid"
    use-syslog: no
    module-config: "iterator"
    local-zone: "lab." static
    local-data: "www.lab. A $(ip_of 24)"
remote-control:
    control-enable: no
EOF
lab_spawn 26 unbound unbound -d -c "$d/unbound.conf"
lab_wait_port 26 udp 53
lab_wait_port 26 tcp 53

# h27 dovecot, IMAP and POP3 without TLS
d=$(dir_of 27)
mkdir -p "$d/run" "$d/mail"
cat > "$d/dovecot.conf" << EOF
protocols = imap pop3
listen = $(ip_of 27)
base_dir = $d/run
state_dir = $d/state
ssl = no
disable_plaintext_auth = no
log_path = $d/dovecot.log
mail_location = mbox:$d/mail
passdb {
  driver = static
  args = password=lab
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$d/mail
}
EOF
mkdir -p "$d/state"
chmod -R 755 "$d"
lab_spawn 27 dovecot dovecot -F -c "$d/dovecot.conf"
lab_wait_port 27 tcp 143
lab_wait_port 27 tcp 110

HOSTS="$LAB_NET.20-27"
lab_log "lab up: $HOSTS, scanner $LAB_SCANNER_IP, files in $LAB_DIR"

lab_log "nmap -sS -sV -p- $HOSTS; nmap -sU -sV -p 53"
in_ns_wait scan nmap -sS -sV -p- -oX "$OUT/nmap-tcp.xml" "$HOSTS" > /dev/null
in_ns_wait scan nmap -sU -sV -p 53 -oX "$OUT/nmap-udp.xml" "$HOSTS" > /dev/null
lab_log "netsec scan -sT -sU (nmap's probes)"
in_ns_wait scan "$NETSEC" scan -sT -sU -p "T:-,U:53" --no-progress --format json --db "$OUT/history.db" \
    --xml-out "$OUT/netsec-nmap-probes.xml" "$HOSTS" > "$OUT/netsec-nmap-probes.json"
lab_log "netsec scan -sT -sU --no-nmap-probes (bundled table)"
in_ns_wait scan "$NETSEC" scan -sT -sU -p "T:-,U:53" --no-progress --no-nmap-probes --format json --db "$OUT/history.db" \
    --xml-out "$OUT/netsec-bundled.xml" "$HOSTS" > "$OUT/netsec-bundled.json"

WITH=0
python3 "$ROOT/scripts/scan-compare.py" --nmap "$OUT/nmap-tcp.xml" --nmap "$OUT/nmap-udp.xml" \
    --netsec "$OUT/netsec-nmap-probes.xml" --min-agreement "$MIN_AGREEMENT" \
    --markdown "$OUT/compare-nmap-probes.md" || WITH=$?
python3 "$ROOT/scripts/scan-compare.py" --nmap "$OUT/nmap-tcp.xml" --nmap "$OUT/nmap-udp.xml" \
    --netsec "$OUT/netsec-bundled.xml" --min-agreement 0 \
    --markdown "$OUT/compare-bundled.md" || true

{
    echo "# Service names on daemons the tests never meet, $(date -u +%Y-%m-%d)"
    echo
    echo "netsec $(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo '?'), $(nmap --version | head -1); \`scripts/scan-unseen.sh\`"
    echo
    echo "## netsec with nmap's nmap-service-probes (the default when nmap is installed)"
    echo
    cat "$OUT/compare-nmap-probes.md"
    echo
    echo "## netsec with its bundled table only (--no-nmap-probes)"
    echo
    cat "$OUT/compare-bundled.md"
} > "$OUT/summary.md"
cat "$OUT/summary.md"
lab_log "results in $OUT"
exit "$WITH"
