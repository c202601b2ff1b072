#!/usr/bin/env python3
"""Compare netsec tls audit, sslscan and testssl.sh outputs written by
scripts/tls-audit-compare.sh: accepted protocol versions, cipher suites (by
IANA value) and certificate verdicts per server. Prints a table and the
differences; exits 1 when a difference is not one docs/TLS.md explains."""
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

PORTS = {4441: "modern", 4442: "legacy", 4443: "expired", 4444: "selfsigned",
         4445: "wrongname", 4446: "incomplete", 4447: "tls12", 4448: "nginx"}
VERSIONS = ["SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"]


def netsec(path):
    doc = json.loads(path.read_text() or "[]")
    r = doc[0] if doc else {}
    versions = {v["version"] for v in r.get("versions", []) if v["supported"]}
    suites = {(v["version"], s["id"]) for v in r.get("versions", []) for s in v["suites"]}
    chain = r.get("chain") or {}
    kinds = sorted(f["kind"] for f in r.get("findings", []))
    if r.get("hsts"):
        kinds.append("hsts: " + r["hsts"])
    return versions, suites, chain.get("valid"), kinds


def sslscan(path):
    if not path.exists():
        return set(), set(), None
    root = ET.parse(path).getroot()
    versions, suites = set(), set()
    names = {"SSLv3": "SSL 3.0", "TLSv1.0": "TLS 1.0", "TLSv1.1": "TLS 1.1",
             "TLSv1.2": "TLS 1.2", "TLSv1.3": "TLS 1.3"}
    for p in root.iter("protocol"):
        label = {"ssl3": "SSL 3.0"}.get(p.get("type", "") + p.get("version", ""),
                                        "TLS " + p.get("version", "") if p.get("type") == "tls" else None)
        if p.get("type") == "ssl" and p.get("version") == "3":
            label = "SSL 3.0"
        if label and p.get("enabled") == "1":
            versions.add(label)
    for c in root.iter("cipher"):
        if c.get("status") in ("accepted", "preferred"):
            v = names.get(c.get("sslversion"), c.get("sslversion"))
            suites.add((v, int(c.get("id", "0"), 16)))
    return versions, suites, None


def testssl(path):
    if not path.exists():
        return set(), set(), None
    doc = json.loads(path.read_text() or "[]")
    items = doc if isinstance(doc, list) else doc.get("scanResult", [])
    versions, suites, trusted = set(), set(), None
    proto = {"SSLv3": "SSL 3.0", "TLS1": "TLS 1.0", "TLS1_1": "TLS 1.1",
             "TLS1_2": "TLS 1.2", "TLS1_3": "TLS 1.3"}
    for it in items:
        i, f = it.get("id", ""), it.get("finding", "")
        if i in proto and f.startswith("offered"):
            versions.add(proto[i])
        m = re.match(r"cipher-(tls1(?:_[123])?|ssl3)_x([0-9a-f]+)", i)
        if m:
            v = {"tls1": "TLS 1.0", "tls1_1": "TLS 1.1", "tls1_2": "TLS 1.2",
                 "tls1_3": "TLS 1.3", "ssl3": "SSL 3.0"}[m.group(1)]
            code = m.group(2)
            if len(code) > 4:  # TLS 1.3 ids are written x1301
                code = code[-4:]
            suites.add((v, int(code, 16)))
        if i.startswith("cert_chain_of_trust"):
            trusted = f.lower().startswith("passed") and trusted is not False
        if i.startswith("cert_trust") and "does not match" in f:
            trusted = False
    return versions, suites, trusted


def main(out):
    out = Path(out)
    unexplained = 0
    print(f"{'server':<11} {'tool':<8} {'versions':<26} suites  chain")
    for port, name in PORTS.items():
        if not (out / f"netsec-{port}.json").exists():
            continue
        n = netsec(out / f"netsec-{port}.json")
        s = sslscan(out / f"sslscan-{port}.xml")
        t = testssl(out / f"testssl-{port}.json")
        for tool, (versions, suites, trusted) in (("netsec", n[:3]), ("sslscan", s), ("testssl", t)):
            vs = ",".join(v for v in VERSIONS if v in versions) or "-"
            print(f"{name:<11} {tool:<8} {vs:<26} {len(suites):>6}  {trusted}")
        print(f"{'':<11} netsec findings: {', '.join(n[3]) or '-'}")
        for tool, other in (("sslscan", s), ("testssl", t)):
            if not other[0] and not other[1]:
                print(f"  {name}: {tool} produced nothing")
                continue
            if n[0] != other[0]:
                print(f"  {name}: versions differ from {tool}: netsec {sorted(n[0])}, {tool} {sorted(other[0])}")
                unexplained += 1
            only_n, only_o = n[1] - other[1], other[1] - n[1]
            if only_n or only_o:
                fmt = lambda xs: ", ".join(f"{v} 0x{c:04x}" for v, c in sorted(xs))
                print(f"  {name}: suites only netsec: {fmt(only_n) or '-'}; only {tool}: {fmt(only_o) or '-'}")
                unexplained += 1
    print(f"\n{unexplained} difference(s)")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
