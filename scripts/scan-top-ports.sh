#!/bin/sh
# Regenerate netsec-scan's bundled port-frequency lists from nmap-services
# (Debian package nmap-common: /usr/share/nmap/nmap-services).
#
# Only the ordered port numbers are written: nmap-services is under the Nmap
# Public Source Licence, which is not compatible with MIT/Apache
# redistribution, so neither its names, comments nor frequencies are copied.
# The rank order of port numbers is a fact measured by nmap's scans.
# Ties in frequency keep nmap-services' file order (sort -s).
set -eu
SERVICES=${1:-/usr/share/nmap/nmap-services}
OUT=$(dirname "$0")/../crates/netsec-scan/data
for proto in tcp udp; do
    grep -v '^#' "$SERVICES" \
        | awk -v p="/$proto" '$2 ~ p"$" {split($2, a, "/"); print $3, a[1]}' \
        | sort -s -k1,1 -g -r | head -1000 | awk '{print $2}' | paste -sd, \
        > "$OUT/top-$proto-ports.txt"
done
echo "wrote $OUT/top-tcp-ports.txt and $OUT/top-udp-ports.txt"
