#!/usr/bin/env bash
# Records the captures of testdata/detect/ that test the detectors at scale
# and while an activity goes on, in the lab LAN of record-detect-lib.sh:
#
#   flood-syn-random  hping3's SYN flood from random spoofed source addresses
#                     (--rand-source): 5,000 SYNs to port 80 of the server,
#                     50 µs apart, and its RSTs. The template of the
#                     10-million-source flood test (cli/tests/flood_memory.rs),
#                     which replays it with every replay's sources moved.
#   exfil-live        one slow upload: 24 MB from the attacker to the
#                     "internet" host at ~400 KB/s (about 60 s, one TCP
#                     connection), for reporting an upload while it runs
#                     (flow snapshots; cli/tests/analyze_cli.rs).
#
# Needs root, iproute2, ethtool, tcpdump, zstd, hping3, python3.
# Usage: sudo scripts/record-detect-live.sh [OUT_DIR] (default testdata/detect);
# ONLY="name …" records just those.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=record-detect-lib.sh
. "$(dirname "$0")/record-detect-lib.sh"

det_need ip ethtool tcpdump zstd hping3 python3

OUT=$(realpath -m "${1:-testdata/detect}")
mkdir -p "$OUT"
S=$DET_NET.20
X=$DET_X
det_start

flood_syn_random() { on a hping3 -q -S -p 80 --rand-source -i u50 -c 5000 "$S"; }

# A receiver that reads and drops, and a sender that writes 16 KB every
# 40 ms (about 400 KB/s) until 24 MB are sent.
exfil_live() {
    on x python3 -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(1); c, _ = s.accept()
while c.recv(65536): pass
' &
    sleep 0.5
    on a python3 -c '
import socket, time
c = socket.create_connection(("'"$X"'", 8080))
chunk = bytes(range(256)) * 64
for _ in range(24 * 1024 * 1024 // len(chunk)):
    c.sendall(chunk); time.sleep(0.04)
c.close()
'
    wait
}

rec flood-syn-random flood_syn_random
rec exfil-live exfil_live
