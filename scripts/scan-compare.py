#!/usr/bin/env python3
"""Compare netsec's and nmap's scans of the same hosts, from their nmap XML.

    scripts/scan-compare.py --nmap tcp.xml --nmap udp.xml --netsec netsec.xml
                            [--min-agreement 90] [--markdown report.md]
                            [--ports-only]

For each host: are the open ports the same (protocol/port with state
"open"; nmap's "open|filtered" is not open), and does the service name
agree (`ssl/http` style: the tunnel, when there is one, is part of the
name)? The agreement rate is over the union of open ports, so a port open
in one scan only counts as a disagreement. Products and versions are
listed beside the names for the reader but not scored.

Exit 0 when the open ports are identical and the agreement is at least
--min-agreement percent (with --ports-only: when the open ports are
identical); 1 otherwise; 2 on unreadable input. Any XML in nmap's format
will do on either side (masscan's -oX too).
Python 3 standard library only.
"""

import argparse
import sys
import xml.etree.ElementTree as ET


def load(paths):
    """{ip: {(proto, port): (name, product_version)}} of open ports."""
    hosts = {}
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as e:
            print(f"scan-compare: {path}: {e}", file=sys.stderr)
            sys.exit(2)
        for host in root.iter("host"):
            addr = None
            for a in host.findall("address"):
                if a.get("addrtype") in ("ipv4", "ipv6"):
                    addr = a.get("addr")
            if addr is None:
                continue
            status = host.find("status")
            ports = hosts.setdefault(addr, {})
            if status is not None and status.get("state") != "up":
                continue
            for p in host.iter("port"):
                state = p.find("state")
                if state is None or state.get("state") != "open":
                    continue
                key = (p.get("protocol"), int(p.get("portid")))
                svc = p.find("service")
                name, detail = "?", ""
                if svc is not None:
                    name = svc.get("name") or "?"
                    if svc.get("tunnel"):
                        name = f"{svc.get('tunnel')}/{name}"
                    detail = " ".join(
                        v
                        for v in (
                            svc.get("product"),
                            svc.get("version"),
                            f"({svc.get('extrainfo')})" if svc.get("extrainfo") else None,
                        )
                        if v
                    )
                ports[key] = (name, detail)
    return hosts


def ip_key(ip):
    try:
        return (0, tuple(int(x) for x in ip.split(".")))
    except ValueError:
        return (1, ip)


def compare(nmap, netsec):
    """Rows per host and totals."""
    report = []
    total = agree = 0
    port_diffs = 0
    for ip in sorted(set(nmap) | set(netsec), key=ip_key):
        a = nmap.get(ip, {})
        b = netsec.get(ip, {})
        rows = []
        for key in sorted(set(a) | set(b)):
            na, da = a.get(key, (None, ""))
            nb, db = b.get(key, (None, ""))
            if na is None or nb is None:
                verdict = "only nmap" if nb is None else "only netsec"
                port_diffs += 1
            elif na == nb:
                verdict = "same"
                agree += 1
            else:
                verdict = "name differs"
            total += 1
            rows.append((key, na, da, nb, db, verdict))
        report.append((ip, rows))
    return report, total, agree, port_diffs


def render(report, total, agree, port_diffs, minimum):
    out = []
    pct = 100.0 * agree / total if total else 100.0
    out.append("| host | open (nmap / netsec) | ports identical | names agree |")
    out.append("|---|---:|---|---:|")
    for ip, rows in report:
        n_a = sum(1 for r in rows if r[1] is not None)
        n_b = sum(1 for r in rows if r[3] is not None)
        same_ports = all(r[1] is not None and r[3] is not None for r in rows)
        same = sum(1 for r in rows if r[5] == "same")
        rate = f"{same}/{len(rows)}" if rows else "-"
        out.append(f"| {ip} | {n_a} / {n_b} | {'yes' if same_ports else 'NO'} | {rate} |")
    out.append("")
    out.append(
        f"Open ports: {total} in all, {port_diffs} open in one scan only. "
        f"Service names agree on {agree} of {total} ({pct:.1f} %, target {minimum:g} %)."
    )
    out.append("")
    out.append("| host | port | nmap | netsec | verdict |")
    out.append("|---|---|---|---|---|")
    for ip, rows in report:
        for (proto, port), na, da, nb, db, verdict in rows:
            left = f"{na} {da}".strip() if na else "-"
            right = f"{nb} {db}".strip() if nb else "-"
            out.append(f"| {ip} | {port}/{proto} | {left} | {right} | {verdict} |")
    diffs = [
        (ip, r) for ip, rows in report for r in rows if r[5] != "same"
    ]
    out.append("")
    if diffs:
        out.append("Differences:")
        for ip, ((proto, port), na, _da, nb, _db, verdict) in diffs:
            out.append(f"- {ip} {port}/{proto}: {verdict}: nmap {na or '-'}, netsec {nb or '-'}")
    else:
        out.append("Differences: none.")
    return "\n".join(out), pct


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nmap", action="append", required=True, metavar="XML")
    ap.add_argument("--netsec", action="append", required=True, metavar="XML")
    ap.add_argument("--min-agreement", type=float, default=90.0, metavar="PERCENT")
    ap.add_argument("--markdown", metavar="FILE", help="also write the report here")
    ap.add_argument(
        "--ports-only",
        action="store_true",
        help="only compare open ports (scans without service detection)",
    )
    args = ap.parse_args()
    report, total, agree, port_diffs = compare(load(args.nmap), load(args.netsec))
    if args.ports_only:
        missed = [(ip, r[0]) for ip, rows in report for r in rows if r[3] is None]
        extra = [(ip, r[0]) for ip, rows in report for r in rows if r[1] is None]
        print(f"open ports: nmap {total - len(extra)}, netsec {total - len(missed)}")
        for label, items in (("missed by netsec", missed), ("only in netsec", extra)):
            for ip, (proto, port) in items:
                print(f"{label}: {ip} {port}/{proto}")
        print("RESULT:", "PASS" if port_diffs == 0 else "FAIL")
        return 0 if port_diffs == 0 else 1
    text, pct = render(report, total, agree, port_diffs, args.min_agreement)
    print(text)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    ok = port_diffs == 0 and pct >= args.min_agreement
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
