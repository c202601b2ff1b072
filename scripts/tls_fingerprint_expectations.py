#!/usr/bin/env python3
"""Collect the JA3, JA3S and JA4 values and the certificate fields (subject,
issuer, serial, SHA-1 fingerprint, validity) Suricata must log for the TLS
captures of suricata-verify, and copy those captures into testdata/tls/.

    scripts/tls_fingerprint_expectations.py ../shared/suricata-verify/tests testdata/tls

Reads every test.yaml under TESTS (top level and tls/), keeps the checks on
event_type tls that name tls.ja3.hash, tls.ja3.string, tls.ja3s.hash,
tls.ja3s.string, tls.ja4, tls.subject, tls.issuerdn, tls.serial,
tls.fingerprint, tls.notbefore or tls.notafter, skips tests that only apply to Suricata before 8
(lt-version) and QUIC captures (netsec does not decode QUIC), resolves the
capture (the folder's input.pcap, or the `pcap:` it borrows), copies it as
OUT/NAME.pcap (one copy per distinct capture) and writes OUT/expected.json:

    {"NAME": {"test": "tls/tls-ja3s", "ja3s_hash": [...], "ja3s_string": [...], ...}}

Each value is one Suricata logs for some TLS session of that capture.
"""
import hashlib
import json
import os
import shutil
import sys

import yaml

KEYS = {
    "tls.ja3.hash": "ja3_hash",
    "tls.ja3.string": "ja3_string",
    "tls.ja3s.hash": "ja3s_hash",
    "tls.ja3s.string": "ja3s_string",
    "tls.ja4": "ja4",
    "tls.subject": "subject",
    "tls.issuerdn": "issuer",
    "tls.serial": "serial",
    "tls.fingerprint": "sha1",
    "tls.notbefore": "not_before",
    "tls.notafter": "not_after",
}


def main(tests, out):
    found = {}
    names_by_digest = {}
    dirs = []
    for top in sorted(os.listdir(tests)):
        d = os.path.join(tests, top)
        if top == "tls":
            dirs += [os.path.join(d, x) for x in sorted(os.listdir(d))]
        else:
            dirs.append(d)
    for d in dirs:
        y = os.path.join(d, "test.yaml")
        if not os.path.isfile(y):
            continue
        with open(y) as f:
            try:
                t = yaml.safe_load(f) or {}
            except yaml.YAMLError:
                continue
        req = t.get("requires") or {}
        if str(req.get("lt-version", "")).startswith(("7", "8")):
            continue
        given = t.get("pcap")
        if given is None:
            # The folder's own capture, whatever its name.
            own = sorted(x for x in os.listdir(d) if x.endswith((".pcap", ".pcapng")))
            given = own[0] if own else "input.pcap"
        if not isinstance(given, str):
            continue
        pcap = os.path.normpath(os.path.join(d, given))
        if not os.path.isfile(pcap) or "quic" in pcap:
            continue
        values = {}
        for check in t.get("checks") or []:
            flt = (check or {}).get("filter") or {}
            m = flt.get("match") or {}
            if m.get("event_type") != "tls":
                continue
            for k, name in KEYS.items():
                if k in m:
                    values.setdefault(name, set()).add(str(m[k]))
        if not values:
            continue
        with open(pcap, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        name = names_by_digest.get(digest)
        if name is None:
            name = os.path.relpath(os.path.dirname(pcap), tests).replace("/", "_")
            names_by_digest[digest] = name
            shutil.copyfile(pcap, os.path.join(out, name + ".pcap"))
            found[name] = {"tests": []}
        entry = found[name]
        entry["tests"].append(os.path.relpath(d, tests))
        for k, v in values.items():
            entry[k] = sorted(set(entry.get(k, [])) | v)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(found, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"{len(found)} captures, {sum(len(v) - 1 for v in found.values())} kinds of values")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
