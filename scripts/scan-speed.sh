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
# and checks that netsec misses no open port that nmap -sS found. Writes
# $OUT/speed.md: a markdown table (tool, command, median seconds, open ports
# found, time relative to nmap -sS and to masscan) and the machine.
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
# shellcheck source=scripts/scan-lab-lib.sh
. "$ROOT/scripts/scan-lab-lib.sh"

INSTALL=0
OUT="$ROOT/target/scan-lab"
while [ $# -gt 0 ]; do
    case $1 in
        --install) INSTALL=1 ;;
        --out)
            OUT=$2
            shift
            ;;
        -h | --help)
            sed -n '2,28p' "$0"
            exit 0
            ;;
        *) lab_die "unknown option $1 (see --help)" ;;
    esac
    shift
done
SCAN_TYPE=${SCAN_TYPE:--sT}
RATE=${RATE:-25000}
RUNS=${RUNS:-3}
NETSEC=${NETSEC:-$ROOT/target/release/netsec}

lab_require_root
lab_check_packages "$INSTALL"
if [ ! -x "$NETSEC" ]; then
    lab_log "building netsec (cargo build --release -p netsec-cli)"
    (cd "$ROOT" && cargo build --release -p netsec-cli)
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
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

# run ID LABEL COMMAND...: time COMMAND $RUNS times in the scanner namespace
# (its XML goes to $OUT/speed-ID.xml); the median goes to $OUT/speed-ID.sec.
run() {
    id=$1
    shift
    times=""
    for i in $(seq "$RUNS"); do
        keeper=""
        if [ "$id" = masscan ]; then
            in_ns scan ping -q -i 0.2 "$LAB_SCAN_NET.254" > /dev/null 2>&1 &
            keeper=$!
        fi
        start=$(date +%s.%N)
        in_ns scan "$@" > "$OUT/speed-$id.log" 2>&1 || {
            cat "$OUT/speed-$id.log" >&2
            lab_die "$id failed"
        }
        end=$(date +%s.%N)
        if [ -n "$keeper" ]; then kill "$keeper" 2> /dev/null || true; fi
        t=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
        lab_log "$id run $i: $t s"
        times="$times $t"
    done
    echo "$times" | tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }' \
        > "$OUT/speed-$id.sec"
    echo "$times" > "$OUT/speed-$id.all"
}

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
for id in netsec netsec-t4 netsec-rate; do
    lab_log "open ports, $id against nmap -sS:"
    python3 "$ROOT/scripts/scan-compare.py" --ports-only --nmap "$OUT/speed-nmap.xml" \
        --netsec "$OUT/speed-$id.xml" > "$OUT/speed-$id.check" || CHECK=1
    cat "$OUT/speed-$id.check" >&2
done

open_ports() { grep -c 'state="open"' "$1" || true; }
sec() { cat "$OUT/speed-$1.sec"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
NMAP_S=$(sec nmap)
MASSCAN_S=$(sec masscan)
row() {
    id=$1
    tool=$2
    cmd=$3
    s=$(sec "$id")
    echo "| $tool | \`$cmd\` | $s | $(open_ports "$OUT/speed-$id.xml") | $(ratio "$s" "$NMAP_S") | $(ratio "$s" "$MASSCAN_S") |"
}
CPU=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
{
    echo "Measured by \`scripts/scan-speed.sh\` on $(date -u +%Y-%m-%d): all 65,535 TCP ports of"
    echo "$N_HOSTS lab hosts ($HOSTS, $(open_ports "$OUT/speed-nmap.xml") open ports), median of $RUNS runs each."
    echo "Machine: $(nproc) cores ($CPU), $(awk '/MemTotal/ { printf "%d GiB", $2 / 1048576 }' /proc/meminfo) RAM;"
    echo "netsec $(git -C "$ROOT" rev-parse --short HEAD 2> /dev/null || echo '?'), $(nmap --version | head -1 | sed 's/ (.*//'),"
    echo "masscan $(masscan --version 2> /dev/null | grep -o '[0-9]\+\.[0-9]\+\.[0-9]\+' | head -1). Reproduce (as root): \`RATE=$RATE RUNS=$RUNS SCAN_TYPE=$SCAN_TYPE scripts/scan-speed.sh\`."
    echo
    echo "| tool | command | seconds | open ports found | time / nmap -sS | time / masscan |"
    echo "|---|---|---:|---:|---:|---:|"
    row netsec "netsec" "netsec $NS_ARGS"
    row netsec-t4 "netsec -T4" "netsec $NS_ARGS -T4"
    row netsec-rate "netsec --rate" "netsec $NS_ARGS --rate $RATE"
    row nmap "nmap -sS" "nmap -T4 -sS -p- -n -Pn"
    row nmap-st "nmap -sT" "nmap -T4 -sT -p- -n -Pn"
    row masscan "masscan" "masscan -p0-65535 --rate $RATE --wait 2"
    echo
    echo "All runs (seconds): $(for id in netsec netsec-t4 netsec-rate nmap nmap-st masscan; do printf '%s:%s; ' "$id" "$(sed 's/^ //; s/ /,/g' "$OUT/speed-$id.all")"; done)"
    echo
    if [ "$CHECK" = 0 ]; then
        echo "Every netsec run found exactly the open ports nmap -sS found."
    else
        echo "netsec's open ports differ from nmap -sS's:"
        cat "$OUT"/speed-netsec*.check
    fi
} > "$OUT/speed.md"
cat "$OUT/speed.md"
exit "$CHECK"
