#!/usr/bin/env bash
# Reproduce the "one hour of traffic" timeline and IoC timings of
# docs/PERFORMANCE.md (issue 15): builds the capture from the repo's own
# fixtures, then times analyze, timeline and ioc on it.
#
#   killchain.pcap x 17, benign-office x 24, sample.pcap x 1,400, each
#   replicated by make-capture into distinct hosts and times, shifted to one
#   start (editcap -t) and merged (mergecap): ~88 MB, ~850,000 packets, an
#   hour of packet time.
#
# Needs tshark's editcap, mergecap and capinfos (apt-get install tshark),
# /usr/bin/time, and release builds:
#   cargo build --release -p netsec-cli -p netsec-bench
#   scripts/timeline-hour.sh [WORKDIR]
# SCALE=0.1 builds a tenth of it (a quick check of the script).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NETSEC="${NETSEC:-$ROOT/target/release/netsec}"
MAKE="${MAKE:-$ROOT/target/release/make-capture}"
W="${1:-$(mktemp -d)}"
SCALE="${SCALE:-1}"
mkdir -p "$W"
n() { python3 -c "print(max(1, round($1 * $SCALE)))"; }
zstd -dcf "$ROOT/testdata/detect/benign-office.pcap.zst" > "$W/office.pcap"
"$MAKE" "$ROOT/testdata/killchain/killchain.pcap" "$(n 17)" "$W/k.pcap"
"$MAKE" "$W/office.pcap" "$(n 24)" "$W/o.pcap"
"$MAKE" "$ROOT/testdata/sample.pcap" "$(n 1400)" "$W/s.pcap"
start() { capinfos -a -S -T -r "$1" | awk -F'\t' '{print $2}' | cut -d. -f1; }
T0=$(start "$W/k.pcap")
for f in o s; do
  editcap -t "$((T0 - $(start "$W/$f.pcap")))" "$W/$f.pcap" "$W/$f-shifted.pcap"
done
mergecap -w "$W/hour.pcap" "$W/k.pcap" "$W/o-shifted.pcap" "$W/s-shifted.pcap"
capinfos -c -u -s "$W/hour.pcap" | tail -3
cat > "$W/netsec.toml" <<TOML
[exfil]
min_bytes = 200000
TOML
measure() { # label command...
  local label=$1; shift
  if ! /usr/bin/time -f "%e %M" -o "$W/time" "$@" > /dev/null 2> "$W/stderr"; then
    echo "$label failed:" >&2
    cat "$W/stderr" >&2
    return 1
  fi
  read -r secs kb < "$W/time"
  printf '| %s | %s s | %d MB |\n' "$label" "$secs" "$((kb / 1024))"
}
echo "| command | wall | peak RSS |"
echo "|---|---:|---:|"
measure "netsec analyze --out DIR" "$NETSEC" analyze "$W/hour.pcap" --config "$W/netsec.toml" --threads 2 --no-progress --out "$W/out"
measure "netsec timeline --format json" "$NETSEC" timeline "$W/hour.pcap" --config "$W/netsec.toml" --threads 2 --format json
measure "netsec timeline --html" "$NETSEC" timeline "$W/hour.pcap" --config "$W/netsec.toml" --threads 2 --html "$W/report.html"
measure "netsec ioc --format stix" "$NETSEC" ioc "$W/hour.pcap" --config "$W/netsec.toml" --threads 2 --format stix -o "$W/iocs.json"
measure "netsec timeline --from findings.jsonl" "$NETSEC" timeline --from "$W/out/findings.jsonl" --format json
