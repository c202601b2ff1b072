# shellcheck shell=bash
# The netsec scan lab: network namespaces on a bridge, Debian's daemons
# started inside them, each with its own config, pid and data under one
# temporary directory. Sourced by scripts/scan-lab.sh and scripts/scan-speed.sh.
#
# Layout (nothing is added to the root namespace):
#
#   ${LAB_TAG}-scan  10.99.1.1/24 ──veth── ${LAB_TAG}-sw (router: 10.99.1.254,
#                                                         bridge br0 10.99.0.254)
#   ${LAB_TAG}-h10 … -h17  10.99.0.10 … .17 ──veth── br0
#
# The scanner sits one hop away behind a router namespace so that raw-packet
# tools (nmap -sS, masscan) have a gateway MAC to send to, as on a real LAN
# segment seen from a scanner.
#
#   h10 web    sshd 22, nginx 80 (HTTP) and 443 (HTTPS, self-signed)
#   h11 dns    dnsmasq 53/tcp+udp, snmpd 161/udp (community public)
#   h12 ftp    vsftpd 21, sshd 22
#   h13 cache  redis-server 6379, no password
#   h14 db     redis-server 6379 with requirepass, postgresql 5432
#   h15 mail   exim4 25
#   h16 iot    mosquitto 1883, nginx 8080 (HTTP)
#   h17 empty  nothing listening

LAB_NET=${LAB_NET:-10.99.0}
LAB_SCAN_NET=${LAB_SCAN_NET:-10.99.1}
LAB_TAG=${LAB_TAG:-nsl$$}
LAB_HOSTS="10 11 12 13 14 15 16 17"
LAB_SCANNER_IP="$LAB_SCAN_NET.1"
LAB_DIR=""
LAB_PIDS=""

# Debian packages the lab needs, with a file each one installs.
LAB_PACKAGES="nmap:/usr/bin/nmap masscan:/usr/bin/masscan openssh-server:/usr/sbin/sshd
nginx-light:/usr/sbin/nginx dnsmasq-base:/usr/sbin/dnsmasq vsftpd:/usr/sbin/vsftpd
redis-server:/usr/bin/redis-server snmpd:/usr/sbin/snmpd exim4-daemon-light:/usr/sbin/exim4
mosquitto:/usr/sbin/mosquitto postgresql:/usr/lib/postgresql openssl:/usr/bin/openssl
iproute2:/usr/sbin/ip"

lab_log() { printf '[lab] %s\n' "$*" >&2; }
lab_die() { printf '[lab] error: %s\n' "$*" >&2; exit 2; }

# Exit 0 with a message when not root: the lab needs namespaces.
# The options both lab scripts take: --install, --out DIR, -h/--help, and
# --keep where KEEP_ALLOWED=1. Sets INSTALL, OUT (default: target/scan-lab)
# and LAB_KEEP; --help prints the calling script's header comment.
# shellcheck disable=SC2034 # INSTALL and OUT are for the calling script
lab_parse_args() {
    INSTALL=0
    LAB_KEEP=0
    OUT="$ROOT/target/scan-lab"
    while [ $# -gt 0 ]; do
        case $1 in
            --install) INSTALL=1 ;;
            --keep)
                [ "${KEEP_ALLOWED:-0}" = 1 ] || lab_die "unknown option $1 (see --help)"
                LAB_KEEP=1
                ;;
            --out)
                OUT=$2
                shift
                ;;
            -h | --help)
                sed -n '2,/^set -eu$/{/^set -eu$/d;s/^# \{0,1\}//;p}' "$0"
                exit 0
                ;;
            *) lab_die "unknown option $1 (see --help)" ;;
        esac
        shift
    done
}

lab_require_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "[lab] skipped: needs root (network namespaces, daemons on ports < 1024)" >&2
        exit 0
    fi
    ip netns list > /dev/null 2>&1 || {
        echo "[lab] skipped: 'ip netns' does not work here" >&2
        exit 0
    }
}

# What every lab script does first: root (else exit 0), the packages
# ($INSTALL), the netsec binary $NETSEC (built when missing), and $OUT made
# and absolute.
lab_prepare() {
    lab_require_root
    lab_check_packages "$INSTALL"
    if [ ! -x "$NETSEC" ]; then
        lab_log "building netsec (cargo build --release -p netsec-cli)"
        (cd "$ROOT" && cargo build --release -p netsec-cli)
    fi
    mkdir -p "$OUT"
    OUT=$(cd "$OUT" && pwd)
}

# Check the packages; with $1 = 1 install the missing ones, else list them and exit 2.
lab_check_packages() {
    install=$1
    missing=""
    for entry in $LAB_PACKAGES; do
        [ -e "${entry#*:}" ] || missing="$missing ${entry%%:*}"
    done
    [ -z "$missing" ] && return 0
    if [ "$install" = 1 ]; then
        lab_log "installing:$missing"
        # shellcheck disable=SC2086
        flock /tmp/apt.lock apt-get install -y $missing ||
            flock /tmp/apt.lock sh -c "apt-get update && apt-get install -y $missing"
    else
        lab_die "missing Debian packages:$missing (run with --install, or: apt-get install -y$missing)"
    fi
}

lab_pg_bin() {
    # shellcheck disable=SC2012
    ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V | tail -1
}

ns() { printf '%s-%s' "$LAB_TAG" "$1"; }
in_ns() {
    n=$1
    shift
    ip netns exec "$(ns "$n")" "$@"
}

# Run "$@" in namespace $1 and wait for it. It runs as a background job so
# that INT or TERM sent to the script runs its trap at once (bash runs traps
# only between foreground commands); the trap's lab_down ends it.
in_ns_wait() {
    n=$1
    shift
    ip netns exec "$(ns "$n")" "$@" &
    wait "$!"
}

# Start "$@" in namespace $1 in the background; remember its pid.
lab_spawn() {
    n=$1
    name=$2
    shift 2
    ip netns exec "$(ns "$n")" "$@" > "$LAB_DIR/log/$n-$name.log" 2>&1 &
    LAB_PIDS="$LAB_PIDS $!"
    echo "$!" > "$LAB_DIR/run/$n-$name.pid"
}

# Stop a daemon started by lab_spawn.
lab_stop() {
    pidfile="$LAB_DIR/run/$1-$2.pid"
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    kill "$pid" 2> /dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2> /dev/null || break
        sleep 0.1
    done
    rm -f "$pidfile"
}

# Wait until namespace $1 listens on $2 (tcp|udp) port $3.
lab_wait_port() {
    flag=-Hltn
    [ "$2" = udp ] && flag=-Hlun
    for _ in $(seq 100); do
        if in_ns "$1" ss "$flag" "sport = :$3" | grep -q .; then
            return 0
        fi
        sleep 0.1
    done
    lab_log "h$1 never listened on $3/$2; its log:"
    cat "$LAB_DIR"/log/"$1"-* >&2 || true
    lab_die "service on h$1 $3/$2 did not start"
}

lab_down() {
    set +e
    for pid in $LAB_PIDS; do
        kill "$pid" 2> /dev/null
    done
    sleep 0.3
    for n in scan sw $LAB_HOSTS; do
        [ -e "/run/netns/$(ns "$n")" ] || continue
        # Children the daemons forked (nginx workers, postgres backends) live
        # only in the lab's namespaces.
        for pid in $(ip netns pids "$(ns "$n")" 2> /dev/null); do
            kill "$pid" 2> /dev/null
        done
    done
    sleep 0.3
    for n in scan sw $LAB_HOSTS; do
        [ -e "/run/netns/$(ns "$n")" ] || continue
        for pid in $(ip netns pids "$(ns "$n")" 2> /dev/null); do
            kill -9 "$pid" 2> /dev/null
        done
        ip netns del "$(ns "$n")"
    done
    if [ -n "$LAB_DIR" ] && [ -d "$LAB_DIR" ] && [ "${LAB_KEEP:-0}" != 1 ]; then
        rm -rf "$LAB_DIR"
    fi
    set -e
}

lab_net_up() {
    LAB_DIR=$(mktemp -d /tmp/netsec-lab.XXXXXX)
    chmod 755 "$LAB_DIR"
    mkdir -p "$LAB_DIR/log" "$LAB_DIR/run"
    for n in sw scan $LAB_HOSTS; do
        ip netns add "$(ns "$n")"
        in_ns "$n" ip link set lo up
    done
    in_ns sw ip link add br0 type bridge
    in_ns sw ip addr add "$LAB_NET.254/24" dev br0
    in_ns sw ip link set br0 up
    in_ns sw sysctl -qw net.ipv4.ip_forward=1
    ip link add eth0 netns "$(ns scan)" type veth peer name scan0 netns "$(ns sw)"
    in_ns sw ip addr add "$LAB_SCAN_NET.254/24" dev scan0
    in_ns sw ip link set scan0 up
    in_ns scan ip addr add "$LAB_SCANNER_IP/24" dev eth0
    in_ns scan ip link set eth0 up
    in_ns scan ip route add default via "$LAB_SCAN_NET.254"
    for h in $LAB_HOSTS; do
        ip link add eth0 netns "$(ns "$h")" type veth peer name "p$h" netns "$(ns sw)"
        in_ns sw ip link set "p$h" master br0 up
        in_ns "$h" ip addr add "$LAB_NET.$h/24" dev eth0
        in_ns "$h" ip link set eth0 up
        in_ns "$h" ip route add default via "$LAB_NET.254"
    done
    for h in $LAB_HOSTS; do
        in_ns scan ping -c1 -W2 "$LAB_NET.$h" > /dev/null ||
            lab_die "no route from the scanner to $LAB_NET.$h"
    done
}

lab_sshd() {
    h=$1
    d="$LAB_DIR/h$h/ssh"
    mkdir -p "$d"
    ssh-keygen -q -t ed25519 -N '' -f "$d/host_ed25519" -C "lab-h$h"
    cat > "$d/sshd_config" << EOF
ListenAddress $LAB_NET.$h:22
HostKey $d/host_ed25519
PidFile $d/sshd.pid
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
    # sshd's privilege-separation directory (Debian's service creates it too).
    mkdir -p /run/sshd
    lab_spawn "$h" sshd /usr/sbin/sshd -D -e -f "$d/sshd_config"
    lab_wait_port "$h" tcp 22
}

lab_nginx() {
    h=$1
    shift
    d="$LAB_DIR/h$h/nginx"
    mkdir -p "$d/html" "$d/tmp"
    printf '<html><head><title>lab h%s</title></head><body>netsec lab</body></html>\n' "$h" > "$d/html/index.html"
    servers=""
    for spec in "$@"; do
        port=${spec%:*}
        kind=${spec#*:}
        if [ "$kind" = https ]; then
            [ -f "$d/cert.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
                -subj "/CN=h$h.lab.test" -keyout "$d/key.pem" -out "$d/cert.pem" 2> /dev/null
            servers="$servers server { listen $LAB_NET.$h:$port ssl; ssl_certificate $d/cert.pem; ssl_certificate_key $d/key.pem; root $d/html; }"
        else
            servers="$servers server { listen $LAB_NET.$h:$port; root $d/html; }"
        fi
    done
    cat > "$d/nginx.conf" << EOF
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  $servers
}
EOF
    lab_spawn "$h" nginx /usr/sbin/nginx -p "$d" -c "$d/nginx.conf" -g 'daemon off;'
    for spec in "$@"; do
        lab_wait_port "$h" tcp "${spec%:*}"
    done
}

lab_dnsmasq() {
    h=$1
    d="$LAB_DIR/h$h/dnsmasq"
    mkdir -p "$d"
    lab_spawn "$h" dnsmasq /usr/sbin/dnsmasq --keep-in-foreground --conf-file=/dev/null \
        --no-resolv --no-hosts --bind-interfaces --listen-address="$LAB_NET.$h" \
        --pid-file="$d/dnsmasq.pid" --address=/lab.test/"$LAB_NET.10" --log-facility=-
    lab_wait_port "$h" tcp 53
    lab_wait_port "$h" udp 53
}

lab_snmpd() {
    h=$1
    d="$LAB_DIR/h$h/snmp"
    mkdir -p "$d"
    cat > "$d/snmpd.conf" << EOF
agentaddress udp:$LAB_NET.$h:161
rocommunity public default
sysLocation netsec lab
sysContact lab@lab.test
EOF
    lab_spawn "$h" snmpd env SNMP_PERSISTENT_DIR="$d" MIBS= /usr/sbin/snmpd -f -Lo -C \
        -c "$d/snmpd.conf" -p "$d/snmpd.pid" -M /dev/null
    lab_wait_port "$h" udp 161
}

lab_vsftpd() {
    h=$1
    d="$LAB_DIR/h$h/vsftpd"
    mkdir -p "$d/empty" "$d/pub"
    chmod 555 "$d/empty"
    cat > "$d/vsftpd.conf" << EOF
listen=YES
listen_ipv6=NO
listen_address=$LAB_NET.$h
listen_port=21
background=NO
anonymous_enable=YES
anon_root=$d/pub
local_enable=NO
write_enable=NO
secure_chroot_dir=$d/empty
xferlog_enable=NO
vsftpd_log_file=$d/vsftpd.log
pasv_enable=YES
EOF
    lab_spawn "$h" vsftpd /usr/sbin/vsftpd "$d/vsftpd.conf"
    lab_wait_port "$h" tcp 21
}

# $2: password, or empty for none.
lab_redis() {
    h=$1
    d="$LAB_DIR/h$h/redis"
    mkdir -p "$d"
    set -- "$h" /usr/bin/redis-server --port 6379 --bind "$LAB_NET.$h" --dir "$d" \
        --pidfile "$d/redis.pid" --daemonize no --save '' --appendonly no \
        --protected-mode no --logfile '' ${2:+--requirepass "$2"}
    lab_spawn "$h" redis "${@:2}"
    lab_wait_port "$h" tcp 6379
}

lab_postgres() {
    h=$1
    bin=$(lab_pg_bin)
    d="$LAB_DIR/h$h/pg"
    mkdir -p "$d"
    chown postgres: "$d"
    runuser -u postgres -- "$bin/initdb" -D "$d/data" -A trust -U postgres > "$LAB_DIR/log/$h-initdb.log" 2>&1
    lab_spawn "$h" postgres runuser -u postgres -- "$bin/postgres" -D "$d/data" \
        -c listen_addresses="$LAB_NET.$h" -c port=5432 -c unix_socket_directories="$d" \
        -c ssl=off -c logging_collector=off
    lab_wait_port "$h" tcp 5432
}

lab_exim() {
    h=$1
    d="$LAB_DIR/h$h/exim"
    mkdir -p "$d/spool" "$d/log"
    chown -R Debian-exim: "$d"
    cat > "$d/exim.conf" << EOF
primary_hostname = mail.lab.test
spool_directory = $d/spool
log_file_path = $d/log/%slog
pid_file_path = $d/exim.pid
local_interfaces = $LAB_NET.$h
daemon_smtp_ports = 25
exim_user = Debian-exim
exim_group = Debian-exim
acl_smtp_rcpt = acl_check_rcpt
begin acl
acl_check_rcpt:
  deny message = relay not permitted
EOF
    lab_spawn "$h" exim /usr/sbin/exim4 -C "$d/exim.conf" -bdf -q1h
    lab_wait_port "$h" tcp 25
}

lab_mosquitto() {
    h=$1
    d="$LAB_DIR/h$h/mosquitto"
    mkdir -p "$d"
    cat > "$d/mosquitto.conf" << EOF
persistence false
log_dest stderr
listener 1883 $LAB_NET.$h
allow_anonymous true
EOF
    lab_spawn "$h" mosquitto /usr/sbin/mosquitto -c "$d/mosquitto.conf"
    lab_wait_port "$h" tcp 1883
}

# The services listed at the top of this file.
lab_services_up() {
    lab_sshd 10
    lab_nginx 10 80:http 443:https
    lab_dnsmasq 11
    lab_snmpd 11
    lab_vsftpd 12
    lab_sshd 12
    lab_redis 13 ""
    lab_redis 14 lab-secret
    lab_postgres 14
    lab_exim 15
    lab_mosquitto 16
    lab_nginx 16 8080:http
}

lab_hosts_range() { printf '%s.10-17' "$LAB_NET"; }
