#!/bin/bash
# Time netsec scan against nmap and masscan on the namespace lab.
#
#   scripts/scan-speed.sh [--install] [--out DIR]
#
# Builds the lab of scripts/scan-lab-lib.sh (8 hosts, the same daemons as
# scripts/scan-lab.sh) and scans all 65,535 TCP ports of every lab host,
# without service detection, host discovery or DNS, $RUNS times each:
#
#   netsec scan $SCAN_TYPE -Pn -p - --no-service          (its default timing)
#   netsec scan $SCAN_TYPE -Pn -p - --no-service -T4
#   netsec scan $SCAN_TYPE -Pn -p - --no-service --rate $RATE
#   nmap -T4 -sS -p- -n -Pn
#   nmap -T4 -sT -p- -n -Pn                               (connect, like netsec -sT)
#   masscan -p0-65535 --rate $RATE --wait 2
#
# counts the packets each run sends (as the lab router receives them), and
# checks that no netsec run misses an open port that nmap -sS found. Writes
# $OUT/speed.md: a markdown table (tool, command, median seconds, open ports
# found in each run, packets per port, time relative to nmap -sS and to
# masscan) and the machine. Exit 1 when netsec missed a port.
#
# masscan 1.3.2's receive thread blocks in libpcap while no packet arrives,
# so after sending it can wait far past --wait; a ping to the lab router
# (5 per second, inside the lab) keeps packets coming while it runs.
#
# Environment: SCAN_TYPE (-sT, or -sS once raw scanning is merged), RATE
# (packets per second for netsec --rate and masscan, default 25000), RUNS
# (default 3), NETSEC (binary, default target/release/netsec).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=scan-lab-lib.sh
. "$ROOT/scripts/scan-lab-lib.sh"

lab_parse_args "$@"
SCAN_TYPE=${SCAN_TYPE:--sT}
RATE=${RATE:-25000}
RUNS=${RUNS:-3}
NETSEC=${NETSEC:-$ROOT/target/release/netsec}

lab_prepare
rm -f "$OUT"/speed-*.xml "$OUT/speed.md"

trap lab_down EXIT
trap 'exit 130' INT TERM
lab_net_up
lab_services_up
HOSTS=$(lab_hosts_range)
FIRST="$LAB_NET.${LAB_HOSTS%% *}"
LAST="$LAB_NET.${LAB_HOSTS##* }"
N_HOSTS=$(echo "$LAB_HOSTS" | wc -w)
lab_log "lab up: $N_HOSTS hosts $HOSTS"

# Packets the scanner has sent into the lab (received by the router).
sent_packets() { in_ns sw cat /sys/class/net/scan0/statistics/rx_packets; }

# run ID COMMAND...: run COMMAND $RUNS times in the scanner namespace (its XML
# goes to $OUT/speed-ID-N.xml). Writes $OUT/speed-ID.sec (median seconds),
# .all (every run's seconds), .open (open ports found, per run) and .pkts
# (packets sent per probed port, per run).
run() {
    id=$1
    shift
    times=""
    opens=""
    pkts=""
    for i in $(seq "$RUNS"); do
        keeper=""
        if [ "$id" = masscan ]; then
            in_ns scan ping -q -i 0.2 "$LAB_SCAN_NET.254" > /dev/null 2>&1 &
            keeper=$!
        fi
        before=$(sent_packets)
        start=$(date +%s.%N)
        in_ns_wait scan "$@" > "$OUT/speed-$id.log" 2>&1 || {
            cat "$OUT/speed-$id.log" >&2
            lab_die "$id failed"
        }
        end=$(date +%s.%N)
        after=$(sent_packets)
        if [ -n "$keeper" ]; then kill "$keeper" 2> /dev/null || true; fi
        mv "$OUT/speed-$id.xml" "$OUT/speed-$id-$i.xml"
        t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
        o=$(open_ports "$OUT/speed-$id-$i.xml")
        p=$(awk -v a="$before" -v b="$after" -v n="$N_HOSTS" 'BEGIN { printf "%.2f", (b - a) / (n * 65535) }')
        lab_log "$id run $i: $t s, $o open ports, $p packets per port"
        times="$times $t"
        opens="$opens $o"
        pkts="$pkts $p"
    done
    echo "$times" | tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' \
        > "$OUT/speed-$id.sec"
    echo "$times" > "$OUT/speed-$id.all"
    echo "$opens" > "$OUT/speed-$id.open"
    echo "$pkts" > "$OUT/speed-$id.pkts"
}

open_ports() { grep -c 'state="open"' "$1" || true; }

NS_ARGS="scan $SCAN_TYPE -Pn -p - --no-service --no-save --no-progress"
# shellcheck disable=SC2086
{
    run netsec "$NETSEC" $NS_ARGS --xml-out "$OUT/speed-netsec.xml" "$HOSTS"
    run netsec-t4 "$NETSEC" $NS_ARGS -T4 --xml-out "$OUT/speed-netsec-t4.xml" "$HOSTS"
    run netsec-rate "$NETSEC" $NS_ARGS --rate "$RATE" --xml-out "$OUT/speed-netsec-rate.xml" "$HOSTS"
}
run nmap nmap -T4 -sS -p- -n -Pn -oX "$OUT/speed-nmap.xml" "$HOSTS"
run nmap-st nmap -T4 -sT -p- -n -Pn -oX "$OUT/speed-nmap-st.xml" "$HOSTS"
run masscan masscan -p0-65535 --rate "$RATE" --wait 2 -oX "$OUT/speed-masscan.xml" "$FIRST-$LAST"

CHECK=0
rm -f "$OUT/speed-check.txt"
for id in netsec netsec-t4 netsec-rate masscan; do
    for i in $(seq "$RUNS"); do
        {
            echo "$id run $i against nmap -sS run 1:"
            python3 "$ROOT/scripts/scan-compare.py" --ports-only --nmap "$OUT/speed-nmap-1.xml" \
                --netsec "$OUT/speed-$id-$i.xml" | sed 's/netsec/'"$id"'/g'
        } >> "$OUT/speed-check.txt"
    done
done
# The check: no netsec run misses a port that nmap -sS found.
if grep -q '^missed by netsec' "$OUT/speed-check.txt"; then CHECK=1; fi
cat "$OUT/speed-check.txt" >&2

sec() { cat "$OUT/speed-$1.sec"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
NMAP_S=$(sec nmap)
MASSCAN_S=$(sec masscan)
row() {
    id=$1
    tool=$2
    cmd=$3
    s=$(sec "$id")
    echo "| $tool | \`$cmd\` | $s | $(sed 's/^ //; s/ /, /g' "$OUT/speed-$id.open") | $(sed 's/^ //; s/ .*//' "$OUT/speed-$id.pkts") | $(ratio "$s" "$NMAP_S") | $(ratio "$s" "$MASSCAN_S") |"
}
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
{
    echo "Measured by \`scripts/scan-speed.sh\` on $(date -u +%Y-%m-%d): all 65,535 TCP ports of"
    echo "$N_HOSTS lab hosts ($HOSTS, $(open_ports "$OUT/speed-nmap-1.xml") open ports), median of $RUNS runs each."
    echo "Machine: $(nproc) cores ($CPU), $(awk '/MemTotal/ { printf "%d GiB", $2 / 1048576 }' /proc/meminfo) RAM;"
    echo "netsec $(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo '?'), $(nmap --version | head -1 | sed 's/ (.*//'),"
    echo "masscan $(masscan --version 2> /dev/null | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+' | head -1). Reproduce (as root): \`RATE=$RATE RUNS=$RUNS SCAN_TYPE=$SCAN_TYPE scripts/scan-speed.sh\`."
    echo
    echo "| tool | command | seconds (median) | open ports found, each run | packets sent per port | time / nmap -sS | time / masscan |"
    echo "|---|---|---:|---:|---:|---:|---:|"
    row netsec "netsec" "netsec $NS_ARGS"
    row netsec-t4 "netsec -T4" "netsec $NS_ARGS -T4"
    row netsec-rate "netsec --rate" "netsec $NS_ARGS --rate $RATE"
    row nmap "nmap -sS" "nmap -T4 -sS -p- -n -Pn"
    row nmap-st "nmap -sT" "nmap -T4 -sT -p- -n -Pn"
    row masscan "masscan" "masscan -p0-65535 --rate $RATE --wait 2"
    echo
    echo "All runs (seconds): $(for id in netsec netsec-t4 netsec-rate nmap nmap-st masscan; do printf '%s:%s; ' "$id" "$(sed 's/^ //; s/ /,/g' "$OUT/speed-$id.all")"; done)"
    echo
    echo "Packets sent per port: packets the router received from the scanner during a run (the first),"
    echo "divided by the ports probed."
    echo
    if [ "$CHECK" = 0 ]; then
        echo "No netsec run missed an open port that nmap -sS found."
    else
        echo "netsec missed open ports that nmap -sS found:"
        grep -B3 '^missed by netsec' "$OUT/speed-check.txt" | grep -v '^RESULT'
    fi
    if grep -q '^missed by masscan' "$OUT/speed-check.txt"; then
        echo
        echo "masscan (one SYN per port, no retries) missed: $(grep '^missed by masscan' "$OUT/speed-check.txt" | sed 's/missed by masscan: //' | sort | uniq -c | awk '{ printf "%s%s %s (%s of '"$RUNS"' runs)", sep, $2, $3, $1; sep = ", " }')."
    fi
} > "$OUT/speed.md"
cat "$OUT/speed.md"
exit "$CHECK"
