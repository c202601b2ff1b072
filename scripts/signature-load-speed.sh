#!/usr/bin/env bash
# Rule loading, side by side in one run: `suricata -T` (load and check the
# rules, then exit) against netsec loading the same ET Open files (`netsec
# rules check`, which parses them, and `netsec analyze` of an empty capture
# with --rules, which also compiles the prefilter). Then the cost of the rules
# on a capture: netsec analyze with and without ET Open, and Suricata with the
# same rules, all on one thread.
#
#   scripts/signature-load-speed.sh [RULES_DIR] [CAPTURE]
#
# RULES_DIR defaults to ../shared/etopen; CAPTURE to testdata/sample.pcap.
# Needs suricata 7 and a release build of netsec (NETSEC=path to override).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
RULES_DIR="${1:-$ROOT/../shared/etopen}"
CAPTURE="${2:-$ROOT/testdata/sample.pcap}"
NETSEC="${NETSEC:-$ROOT/target/release/netsec}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cat "$RULES_DIR"/*.rules > "$WORK/all.rules"
CLASS="$RULES_DIR/classification.config"
# an empty capture: the pcap header only
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' > "$WORK/empty.pcap"
secs() { /usr/bin/time -f "%e" -o "$WORK/t" "$@" >/dev/null 2>&1 || true; cat "$WORK/t"; }
best() { local b=""; for _ in 1 2 3; do t=$(secs "$@"); if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi; done; echo "$b"; }
rules=$(grep -c '^alert' "$WORK/all.rules")
suri_t=$(best suricata -T -S "$WORK/all.rules" -l "$WORK" --set classification-file="$CLASS")
check_t=$(best "$NETSEC" rules check --summary "$WORK/all.rules")
load_t=$(best "$NETSEC" analyze "$WORK/empty.pcap" --rules "$WORK/all.rules" --no-progress --threads 1 --no-detect)
plain_t=$(best "$NETSEC" analyze "$CAPTURE" --no-progress --threads 1 --out "$WORK/o1")
with_t=$(best "$NETSEC" analyze "$CAPTURE" --rules "$WORK/all.rules" --no-progress --threads 1 --out "$WORK/o2")
suri_run=$(best suricata -r "$CAPTURE" -S "$WORK/all.rules" -k none --runmode single -l "$WORK" --set classification-file="$CLASS")
echo "| what | seconds |"
echo "|---|---:|"
echo "| suricata -T, $rules enabled rules | $suri_t |"
echo "| netsec rules check (parse) | $check_t |"
echo "| netsec analyze, empty capture, --rules (parse + compile) | $load_t |"
echo "| netsec analyze $(basename "$CAPTURE"), no rules | $plain_t |"
echo "| netsec analyze $(basename "$CAPTURE"), ET Open | $with_t |"
echo "| suricata -r $(basename "$CAPTURE") --runmode single, ET Open | $suri_run |"
echo
echo "load: $(echo "scale=1; $suri_t / $load_t" | bc)x faster than suricata -T"
