#!/usr/bin/env python3
"""Write what tshark reads in every DNS message of the DNS captures, for
crates/netsec-dns/tests/tshark_dns.rs.

Usage: scripts/dns_tshark_expectations.py [--out FILE]
       (default FILE: testdata/dns/tshark-expected.json.zst; run from the
       repository's root). The JSON is 1.2 MB, most of it iodine's long
       names: a name ending in .zst is written zstd-compressed (zstd -19).

scripts/tshark_expectations.py counts DNS messages and collects query names
per capture; this one goes down to each message. For every capture listed in
CAPTURES (paths relative to the repository), one `tshark -T pdml` pass gives,
per DNS message in frame order:
  frame      the frame tshark shows it in (for TCP: the frame that completes it)
  id         transaction id
  response   true for a response (QR bit)
  rcode      reply code (0 for queries, where tshark shows none)
  questions  [name, type number] per question
  answers    [name, type number, ttl, data] per answer record; data is the
             presentation form netsec writes for A, AAAA, CNAME, NS, PTR and
             MX ("preference exchange"), null for other types (not compared)
  malformed  true when tshark marks the message [Malformed Packet]

Messages of DNS over HTTP/2, mDNS and LLMNR are not listed (tshark's
`dns` dissector only, on port 53). Names are read from the wire bytes tshark
shows for each name field (compression pointers followed) and written as
RFC 1035 section 5.1 and dig write them: \\DDD (decimal) for bytes outside
printable ASCII, \\X before . \\ " ( ) ; @ $. tshark's own text shows
bytes that are not UTF-8 as U+FFFD, which would hide what a tunnel carries.
"""

import glob
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

CAPTURES = sorted(
    glob.glob("testdata/dns/*.pcap")
    + glob.glob("testdata/dns/*.pcap.zst")
    + glob.glob("testdata/dns/verify/*.pcap")
    + glob.glob("testdata/suricata-verify/dns*.pcap")
    + ["testdata/suricata-verify/cond-log-dns-dig.pcap", "testdata/sample.pcap"]
    + glob.glob("crates/netsec-proto/tests/data/app/dns*.pcap")
)

# tshark's field for each record type whose data netsec's text is compared with.
DATA_FIELDS = {
    1: "dns.a",
    28: "dns.aaaa",
    5: "dns.cname",
    2: "dns.ns",
    12: "dns.ptr.domain_name",
}


def read(path):
    """tshark reads .zst through its own decompression only in newer versions."""
    if path.endswith(".zst"):
        raw = subprocess.run(["zstd", "-dc", path], capture_output=True, check=True).stdout
        cmd = ["tshark", "-n", "-r", "-", "-T", "pdml", "-o", "tcp.desegment_tcp_streams:TRUE"]
        out = subprocess.run(cmd, input=raw, capture_output=True, check=True).stdout
    else:
        cmd = ["tshark", "-n", "-r", path, "-T", "pdml", "-o", "tcp.desegment_tcp_streams:TRUE"]
        out = subprocess.run(cmd, capture_output=True, check=True).stdout
    return ET.fromstring(out)


SPECIAL = set(b'.\\"();@$')


def presentation(label_bytes):
    """A label as RFC 1035 section 5.1 and dig write it (decimal escapes)."""
    out = []
    for b in label_bytes:
        if b in SPECIAL:
            out.append("\\" + chr(b))
        elif 0x21 <= b <= 0x7E:
            out.append(chr(b))
        else:
            out.append(f"\\{b:03d}")
    return "".join(out)


def message_bytes(proto):
    """The bytes of one DNS message, put together from the fields' values
    (PDML gives each field's position and hex value, not the message's)."""
    data = {}
    for f in proto.iter("field"):
        pos, size, value = f.get("pos"), f.get("size"), f.get("value")
        if pos is None or size is None or not value or len(value) != 2 * int(size):
            continue
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            continue
        for i, b in enumerate(raw):
            data.setdefault(int(pos) + i, b)
    return data


def wire_name(data, base, pos):
    """The name at frame offset pos, following compression pointers
    (relative to the message at base); None when a byte is missing."""
    labels, hops = [], 0
    while hops < 64:
        n = data.get(pos)
        if n is None:
            return None
        if n == 0:
            break
        if n & 0xC0 == 0xC0:
            low = data.get(pos + 1)
            if low is None:
                return None
            pos = base + (((n & 0x3F) << 8) | low)
            hops += 1
            continue
        label = [data.get(pos + 1 + i) for i in range(n)]
        if None in label:
            return None
        labels.append(presentation(bytes(label)))
        pos += 1 + n
    return ".".join(labels) or "<Root>"


def name_of(field, data, base):
    """tshark's name text turned into netsec's: read from the wire bytes so
    that every byte is kept (tshark shows non-UTF-8 bytes as U+FFFD)."""
    if field is None:
        return None
    pos = field.get("pos")
    name = wire_name(data, base, int(pos)) if pos is not None else None
    return name if name is not None else field.get("show")


def first(node, name):
    return next((f for f in node.iter("field") if f.get("name") == name), None)


def show(node, name):
    f = next((f for f in node.iter("field") if f.get("name") == name), None)
    return None if f is None else f.get("show")


def record(rr, msg, base):
    rtype = int(show(rr, "dns.resp.type") or 0)
    ttl = show(rr, "dns.resp.ttl")
    data = None
    if rtype in DATA_FIELDS:
        data = show(rr, DATA_FIELDS[rtype])
    elif rtype == 15:
        pref, host = show(rr, "dns.mx.preference"), show(rr, "dns.mx.mail_exchange")
        if pref is not None and host is not None:
            data = f"{pref} {host}"
    # tshark splits an SRV owner into dns.srv.service, .proto and .name; the
    # first of them starts at the owner name
    owner = first(rr, "dns.resp.name")
    if owner is None:  # an Element without children is falsy: no `or`
        owner = first(rr, "dns.srv.service")
    name = name_of(owner, msg, base)
    return [name, rtype, None if ttl is None else int(ttl), data]


def section(proto, titles, data, base):
    for f in proto.findall("field"):
        if f.get("name") == "" and f.get("show") in titles:
            return [record(rr, data, base) for rr in f.findall("field")]
    return []


def messages(path):
    out = []
    for packet in read(path).iter("packet"):
        frame = None
        protos = packet.findall("proto")
        for i, proto in enumerate(protos):
            if proto.get("name") == "frame":
                frame = int(show(proto, "frame.number"))
            if proto.get("name") != "dns":
                continue
            flags = show(proto, "dns.flags.response")
            if flags is None:
                continue
            following = protos[i + 1].get("name") if i + 1 < len(protos) else None
            # compression offsets count from the message start (dns.id; over
            # TCP the proto starts at the length prefix)
            id_field = first(proto, "dns.id")
            base = int(id_field.get("pos") or 0) if id_field is not None else 0
            data = message_bytes(proto)
            queries = []
            for f in proto.findall("field"):
                # an UPDATE (opcode 5) calls the question section "Zone"
                if f.get("name") == "" and f.get("show") in ("Queries", "Zone"):
                    for q in f.findall("field"):
                        name = name_of(first(q, "dns.qry.name"), data, base)
                        queries.append([name, int(show(q, "dns.qry.type") or 0)])
            rcode = show(proto, "dns.flags.rcode")
            out.append({
                "frame": frame,
                "id": int(show(proto, "dns.id"), 16),
                "response": flags == "1",
                "rcode": int(rcode) if (rcode is not None and flags == "1") else 0,
                "questions": queries,
                "answers": section(proto, ("Answers", "Prerequisites"), data, base),
                "malformed": following == "_ws.malformed"
                or any(f.get("name") == "_ws.malformed" for f in proto.iter("field")),
            })
    return out


def main(argv):
    out_path = "testdata/dns/tshark-expected.json.zst"
    if argv[:1] == ["--out"] and len(argv) > 1:
        out_path = argv[1]
    elif argv:
        print(__doc__, file=sys.stderr)
        return 2
    version = subprocess.run(["tshark", "--version"], capture_output=True).stdout.decode().splitlines()[0]
    captures = {}
    for path in CAPTURES:
        msgs = messages(path)
        captures[path] = msgs
        print(f"{path}: {len(msgs)} DNS messages", file=sys.stderr)
    json_path = out_path[: -len(".zst")] if out_path.endswith(".zst") else out_path
    with open(json_path, "w") as f:
        # one message a line: small diffs when a capture is recorded again
        f.write("{\n")
        f.write(f' "_made_by": {json.dumps("scripts/dns_tshark_expectations.py with " + version)},\n')
        f.write(' "captures": {\n')
        for n, (path, msgs) in enumerate(captures.items()):
            f.write(f"  {json.dumps(path)}: [\n")
            for m, msg in enumerate(msgs):
                sep = "," if m + 1 < len(msgs) else ""
                f.write(f"   {json.dumps(msg, sort_keys=True)}{sep}\n")
            f.write("  ]" + ("," if n + 1 < len(captures) else "") + "\n")
        f.write(" }\n}\n")
    if json_path != out_path:
        subprocess.run(["zstd", "-q", "-f", "-19", "--rm", json_path, "-o", out_path], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
