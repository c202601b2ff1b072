#!/usr/bin/env bash
# Record testdata/signatures/recorded/tools.pcap: ordinary tools' traffic on
# the loopback interface that makes ET Open's POLICY, INFO, SCAN, HUNTING
# and DNS rules fire (issue 14). Nothing leaves the machine: every server is
# local (python's http.server on :80, openssl s_server on :443, a python
# DNS responder on :53 answering NXDOMAIN).
#
#   curl with its own and other tools' user agents, to paths scanners ask for
#   dig for dynamic-DNS, paste, tunnel and IP-lookup names
#   openssl s_client with those names as SNI
#   nmap -sV on the three ports
#
# Compare with HOME_NET=[127.0.0.0/8] and EXTERNAL_NET=any (both tools are
# run so by scripts/signature_expectations.py et).
# Needs root, tcpdump, curl, dig, openssl, nmap, python3.
set -euo pipefail
OUT="${1:-$(cd "$(dirname "$0")/.." && pwd)/testdata/signatures/recorded}"
mkdir -p "$OUT"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

cd "$WORK"
mkdir www && echo hello > www/index.html
openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 30 \
    -subj "/CN=localhost" 2>/dev/null
cat > dns.py <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
while True:
    q, peer = s.recvfrom(4096)
    # same id and question, QR=1, RCODE=3 (NXDOMAIN), no answers
    s.sendto(q[:2] + b"\x81\x83" + q[4:6] + b"\x00\x00\x00\x00\x00\x00" + q[12:], peer)
PY
tcpdump -i lo -w "$WORK/tools.pcap" -s 0 'port 80 or port 443 or port 53' 2>/dev/null &
PIDS+=($!)
python3 -m http.server 80 --bind 127.0.0.1 --directory www >/dev/null 2>&1 &
PIDS+=($!)
openssl s_server -accept 443 -cert cert.pem -key key.pem -www -quiet >/dev/null 2>&1 &
PIDS+=($!)
python3 dns.py &
PIDS+=($!)
sleep 2

web() { curl -s -o /dev/null --max-time 3 "$@" || true; }
web http://127.0.0.1/
web -A "python-requests/2.31.0" http://127.0.0.1/api
web -A "Wget/1.21.3" http://127.0.0.1/file.exe
web -A "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)" http://127.0.0.1/
web -A "sqlmap/1.7.2#stable (https://sqlmap.org)" "http://127.0.0.1/index.php?id=1"
web -A "Go-http-client/1.1" http://127.0.0.1/
web -A "PowerShell/7.3" http://127.0.0.1/a.ps1
web -A "Microsoft BITS/7.8" http://127.0.0.1/update.bin
web -A "Nikto/2.5.0" http://127.0.0.1/
web -A "masscan/1.3" http://127.0.0.1/
web -A "zgrab/0.x" http://127.0.0.1/
web http://127.0.0.1/.env
web http://127.0.0.1/.git/config
web http://127.0.0.1/wp-login.php
web http://127.0.0.1/phpmyadmin/
web "http://127.0.0.1/cgi-bin/test.cgi?cmd=/bin/sh"
web "http://127.0.0.1/index.php?page=../../../../etc/passwd"
web "http://127.0.0.1/search?q=%3Cscript%3Ealert(1)%3C/script%3E"
web "http://127.0.0.1/?id=1%20UNION%20SELECT%201,2,3--"
web -H "Host: api.ipify.org" http://127.0.0.1/
web -H "Host: checkip.dyndns.org" http://127.0.0.1/
web -H "Host: icanhazip.com" http://127.0.0.1/
web -H "Host: pastebin.com" http://127.0.0.1/raw/abc123
web -H "Host: ip-api.com" http://127.0.0.1/json
web -X POST -d "user=admin&pass=admin" http://127.0.0.1/login

for name in api.ipify.org checkip.dyndns.org icanhazip.com ip-api.com ipinfo.io \
    pastebin.com paste.ee transfer.sh example.ngrok.io a.ngrok-free.app x.duckdns.org \
    y.no-ip.org z.ddns.net q.hopto.org raw.githubusercontent.com discord.com \
    cdn.discordapp.com t.me api.telegram.org example.onion.to mega.nz anydesk.com \
    teamviewer.com x.trycloudflare.com portmap.io serveo.net localtunnel.me \
    x.top x.xyz x.tk wpad test.local; do
    dig +tries=1 +time=1 @127.0.0.1 "$name" >/dev/null 2>&1 || true
done
dig +tries=1 +time=1 @127.0.0.1 -t TXT example.com >/dev/null 2>&1 || true
dig +tries=1 +time=1 @127.0.0.1 -t ANY example.com >/dev/null 2>&1 || true

for sni in api.ipify.org pastebin.com x.ngrok.io a.ngrok-free.app discord.com \
    cdn.discordapp.com api.telegram.org transfer.sh x.trycloudflare.com x.duckdns.org \
    raw.githubusercontent.com mega.nz anydesk.com ipinfo.io; do
    echo | timeout 3 openssl s_client -connect 127.0.0.1:443 -servername "$sni" >/dev/null 2>&1 || true
done

nmap -sV -p 80,443,53 127.0.0.1 >/dev/null 2>&1 || true
nmap -sS -p 1-100 127.0.0.1 >/dev/null 2>&1 || true
sleep 2
kill "${PIDS[0]}"
sleep 1
cp "$WORK/tools.pcap" "$OUT/tools.pcap"
echo "$OUT/tools.pcap: $(stat -c %s "$OUT/tools.pcap") bytes"
