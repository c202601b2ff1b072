#!/bin/sh
# Writes NAME.expected.tsv beside each capture the conformance tests read:
# what TShark reads from the file, one line per packet.
#
# Columns: packet number (packets only, from 1), timestamp as TShark prints it
# (seconds.fraction since the epoch; empty for pcapng Simple Packet Blocks,
# which have none), interface id within its pcapng section, LINKTYPE number,
# length on the wire, captured length, number of packet comments.
#
# TShark numbers every record, including pcapng blocks that hold no packet
# (CB, DCB); those rows have no interface and are left out, and packets are
# renumbered.
# Run from this directory (crates/netsec-capture/tests/data): sh tshark_expected.sh
set -eu
for f in pcapng/le/*.pcapng pcapng/be/*.pcapng pcap-parser/*.pcap pcap-parser/*.pcapng link/*.pcap; do
  out="${f%.*}.expected.tsv"
  {
    printf '# %s\n' "$(tshark -v 2>/dev/null | head -1)"
    printf 'packet\tts\tinterface\tlinktype\twire_len\tcap_len\tcomments\n'
    tshark -r "$f" -T fields -E separator=/t -E occurrence=a -E aggregator='|' \
      -e frame.time_epoch -e frame.interface_id -e frame.encap_type \
      -e frame.len -e frame.cap_len -e frame.comment 2>/dev/null |
    awk -F '\t' 'BEGIN { OFS = "\t"
        # Wireshark encapsulation number -> LINKTYPE number (wtap.h, pcap-common.c)
        lt[1] = 1; lt[15] = 0; lt[7] = 101; lt[25] = 113; lt[210] = 276 }
      $3 == "" { next }
      !($3 in lt) { print "unmapped encapsulation " $3 > "/dev/stderr"; exit 1 }
      {
        n = ($6 == "") ? 0 : split($6, parts, "|")
        iface = ($2 == "") ? 0 : $2
        print ++packet, $1, iface, lt[$3], $4, $5, n
      }'
  } > "$out"
done
