#!/bin/bash
# netsec scan against nmap on a lab of network namespaces (issue 3's proof).
#
#   scripts/scan-lab.sh [--install] [--keep] [--out DIR]
#
# Builds the lab described in scripts/scan-lab-lib.sh (8 hosts on a bridge
# behind a router namespace, Debian's sshd, nginx HTTP/HTTPS, dnsmasq,
# snmpd, vsftpd, redis with and without a password, PostgreSQL, exim4,
# mosquitto), then:
#
#   1. scans it with netsec (all 65,535 TCP ports + UDP $UDP_PORTS, service
#      detection, nmap XML) and with nmap (-sS -sV -p-, and -sU -sV on the
#      same UDP ports), and compares the two with scripts/scan-compare.py:
#      open ports identical, service names agreeing on >= 90 % of them;
#   2. stops vsftpd on 10.99.0.12 and starts mosquitto there, scans again and
#      checks that `netsec scan diff --last` reports exactly that (exit 1).
#
# --install installs missing Debian packages (flock /tmp/apt.lock apt-get
# install -y …); without it the script names them and exits 2. --keep keeps
# the lab's temporary directory (daemon configs and logs) after teardown.
# --out DIR: where results go (default target/scan-lab: summary.md,
# compare.md, the XML files, history.db, diff.txt).
#
# Every packet stays inside the namespaces this script creates; they, the
# daemons and their temporary directory are removed on exit, even on failure.
# Skipped (exit 0) when not root. Exit 1 when a check fails, 2 on a setup error.
#
# Environment:
#   SCAN_TYPE  netsec's TCP scan type, -sT (default) or -sS
#   NETSEC     netsec binary (default: target/release/netsec, built if missing)
#   UDP_PORTS  UDP ports for both tools (default 53,123,137,161,1900)
#   MIN_AGREEMENT  percent of open ports whose service names must agree (90)
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=scan-lab-lib.sh
. "$ROOT/scripts/scan-lab-lib.sh"

KEEP_ALLOWED=1 lab_parse_args "$@"
SCAN_TYPE=${SCAN_TYPE:--sT}
NETSEC=${NETSEC:-$ROOT/target/release/netsec}
UDP_PORTS=${UDP_PORTS:-53,123,137,161,1900}
MIN_AGREEMENT=${MIN_AGREEMENT:-90}

lab_prepare
rm -f "$OUT"/netsec-*.xml "$OUT"/netsec-*.json "$OUT"/nmap-*.xml "$OUT/history.db" \
    "$OUT/compare.md" "$OUT/diff.txt" "$OUT/summary.md"

trap lab_down EXIT
trap 'exit 130' INT TERM
lab_net_up
lab_services_up
HOSTS=$(lab_hosts_range)
lab_log "lab up: $HOSTS, scanner $LAB_SCANNER_IP, files in $LAB_DIR"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

netsec_scan() {
    in_ns_wait scan "$NETSEC" scan "$SCAN_TYPE" -sU -p "T:-,U:$UDP_PORTS" --no-progress \
        --db "$OUT/history.db" --format json --xml-out "$OUT/netsec-$1.xml" "$HOSTS" \
        > "$OUT/netsec-$1.json"
}

lab_log "netsec scan $SCAN_TYPE -sU -p T:-,U:$UDP_PORTS $HOSTS"
t=$(now)
netsec_scan 1
NETSEC_S=$(elapsed "$t")
lab_log "nmap -sS -sV -p- $HOSTS"
t=$(now)
in_ns_wait scan nmap -sS -sV -p- -oX "$OUT/nmap-tcp.xml" "$HOSTS" > /dev/null
NMAP_TCP_S=$(elapsed "$t")
lab_log "nmap -sU -sV -p $UDP_PORTS $HOSTS"
t=$(now)
in_ns_wait scan nmap -sU -sV -p "$UDP_PORTS" -oX "$OUT/nmap-udp.xml" "$HOSTS" > /dev/null
NMAP_UDP_S=$(elapsed "$t")

COMPARE=0
python3 "$ROOT/scripts/scan-compare.py" --nmap "$OUT/nmap-tcp.xml" --nmap "$OUT/nmap-udp.xml" \
    --netsec "$OUT/netsec-1.xml" --min-agreement "$MIN_AGREEMENT" \
    --markdown "$OUT/compare.md" || COMPARE=$?

# History: one service stops, another starts; the diff must say exactly that.
lab_log "diff check: stop vsftpd on $LAB_NET.12, start mosquitto there"
lab_stop 12 vsftpd
lab_mosquitto 12
netsec_scan 2
DIFF_RC=0
in_ns scan "$NETSEC" scan diff --last --db "$OUT/history.db" > "$OUT/diff.txt" || DIFF_RC=$?
EXPECTED="+ $LAB_NET.12:1883/tcp open mqtt
- $LAB_NET.12:21/tcp no longer open (was ftp)"
GOT=$(sed -E 's/^([-+] [0-9.:]+\/tcp (open|no longer open)) (\(was )?([a-z]+)[^)]*/\1 \3\4/' \
    "$OUT/diff.txt" | sort)
DIFF_OK=1
if [ "$DIFF_RC" -ne 1 ]; then
    echo "diff check FAILED: netsec scan diff --last exited $DIFF_RC, expected 1" >&2
    DIFF_OK=0
fi
if [ "$GOT" != "$(printf '%s\n' "$EXPECTED" | sort)" ]; then
    echo "diff check FAILED: expected exactly:" >&2
    printf '%s\n' "$EXPECTED" >&2
    echo "got:" >&2
    cat "$OUT/diff.txt" >&2
    DIFF_OK=0
fi

{
    echo "# netsec scan lab, $(date -u +%Y-%m-%d)"
    echo
    echo "netsec $(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo '?'), $(nmap --version | head -1)"
    echo
    echo "| scan | seconds |"
    echo "|---|---:|"
    echo "| netsec scan $SCAN_TYPE -sU -p T:-,U:$UDP_PORTS (service detection on) | $NETSEC_S |"
    echo "| nmap -sS -sV -p- | $NMAP_TCP_S |"
    echo "| nmap -sU -sV -p $UDP_PORTS | $NMAP_UDP_S |"
    echo
    cat "$OUT/compare.md"
    echo
    echo "History diff after stopping vsftpd and starting mosquitto on $LAB_NET.12 (exit $DIFF_RC):"
    echo
    sed 's/^/    /' "$OUT/diff.txt"
    echo
    [ "$DIFF_OK" = 1 ] && echo "Diff check: PASS" || echo "Diff check: FAIL"
} > "$OUT/summary.md"
cat "$OUT/summary.md"
lab_log "results in $OUT (summary.md, compare.md, *.xml, history.db)"
if [ "$COMPARE" -ne 0 ] || [ "$DIFF_OK" != 1 ]; then
    exit 1
fi
