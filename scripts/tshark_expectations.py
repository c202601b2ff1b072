#!/usr/bin/env python3
"""Write what tshark sees in a capture as JSON, for netsec's cross-check tests.

Usage: scripts/tshark_expectations.py CAPTURE... [--out DIR]
       (default DIR: testdata/expected; one NAME.json per capture)

For each capture, one tshark pass over every frame gives:
  packets                    frames in the file
  ipv4 / ipv6 / arp          frames whose first network layer is that
  tcp / udp / icmp / icmpv6 / sctp
                             frames whose first transport is that (an ICMP error
                             quoting a TCP header counts as ICMP; a GRE/VXLAN
                             frame counts as its inner transport)
  dns_messages               DNS messages (a TCP segment may carry several)
  dns_query_names            sorted set of question names, queries and responses
  http_requests, http_hosts  HTTP/1.x requests and the set of Host headers
  tls_client_hellos, tls_snis
                             ClientHello messages and the set of SNI names
  ssh_banners                sorted set of SSH identification strings
and `tshark -z conv,tcp -z conv,udp` gives tcp_conversations / udp_conversations.

tshark identifies some protocols by port where netsec looks at content;
testdata/README.md explains the differences the tests allow.
"""

import json
import os
import subprocess
import sys

FIELDS = [
    "frame.protocols",
    "dns.flags.response",
    "dns.qry.name",
    "http.request.method",
    "http.host",
    "tls.handshake.type",
    "tls.handshake.extensions_server_name",
    "ssh.protocol",
]
TRANSPORTS = ("tcp", "udp", "icmp", "icmpv6", "sctp")


def tshark_fields(path):
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=a", "-E", "aggregator=\x1f"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout.decode("utf-8", "replace")
    for line in out.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(FIELDS) - len(cols))
        yield [c.split("\x1f") if c else [] for c in cols]


def conversations(path, kind):
    out = subprocess.run(["tshark", "-n", "-r", path, "-q", "-z", f"conv,{kind}"],
                         capture_output=True, check=True).stdout.decode("utf-8", "replace")
    return sum(1 for line in out.splitlines() if "<->" in line)


def expectations(path):
    e = {k: 0 for k in ("packets", "ipv4", "ipv6", "arp", *TRANSPORTS,
                        "dns_messages", "http_requests", "tls_client_hellos")}
    names, hosts, snis, banners = set(), set(), set(), set()
    for protos, dns_resp, qnames, methods, http_hosts, hs_types, sni, ssh in tshark_fields(path):
        e["packets"] += 1
        layers = protos[0].split(":") if protos else []
        for layer in layers:
            if layer in ("ip", "ipv6", "arp"):
                e["ipv4" if layer == "ip" else layer] += 1
                break
        for layer in layers:
            if layer in TRANSPORTS:
                e[layer] += 1
                break
        e["dns_messages"] += len(dns_resp)
        names.update(n for n in qnames if n)
        e["http_requests"] += len(methods)
        hosts.update(h for h in http_hosts if h)
        e["tls_client_hellos"] += sum(1 for t in hs_types if t == "1")
        snis.update(s for s in sni if s)
        banners.update(b for b in ssh if b)
    e["dns_query_names"] = sorted(names)
    e["http_hosts"] = sorted(hosts)
    e["tls_snis"] = sorted(snis)
    e["ssh_banners"] = sorted(banners)
    e["tcp_conversations"] = conversations(path, "tcp")
    e["udp_conversations"] = conversations(path, "udp")
    return e


def main(argv):
    out_dir = "testdata/expected"
    paths = []
    it = iter(argv)
    for a in it:
        if a == "--out":
            out_dir = next(it)
        else:
            paths.append(a)
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    version = subprocess.run(["tshark", "--version"], capture_output=True).stdout.decode().splitlines()[0]
    os.makedirs(out_dir, exist_ok=True)
    for path in paths:
        name = os.path.splitext(os.path.basename(path))[0]
        e = expectations(path)
        e["_made_by"] = f"scripts/tshark_expectations.py with {version}"
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(e, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"{name}: {e['packets']} packets")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
