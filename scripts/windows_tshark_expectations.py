#!/usr/bin/env python3
"""Write what tshark sees of DCE-RPC and Kerberos in the Windows-domain
captures, for netsec-proto's cross-check test (tests/app_windows.rs).

Usage: scripts/windows_tshark_expectations.py [DIR] (default testdata/windows;
writes DIR/expected.json). Per capture:
  kerberos        one entry per frame with a Kerberos message, in order:
                  frame, msg_type, cname (CNameString components joined by
                  "/"), sname (all SNameString components of the frame
                  joined by "/": a TGS-REQ's ends with its own sname after
                  the TGT's), enctypes (the request's etype list,
                  kerberos.ENCTYPE), etypes (every EncryptedData etype of the
                  frame, kerberos.etype: a reply's last two are its ticket's
                  and its enc-part's), padata_types, error_code
  dcerpc_binds    sorted interface UUIDs offered in bind / alter_context PDUs
  dcerpc_calls    sorted [pkt_type, opnum] of request (0) and response (2)
                  PDUs that are a call's first fragment, from frames holding
                  one DCE-RPC PDU
"""

import glob
import json
import os
import subprocess
import sys

SEP = "\x1f"


def fields(path, display, names):
    cmd = ["tshark", "-n", "-r", path, "-Y", display, "-T", "fields",
           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=" + SEP]
    for n in names:
        cmd += ["-e", n]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout.decode()
    for line in out.splitlines():
        cols = line.split("\t")
        cols += [""] * (len(names) - len(cols))
        yield [c.split(SEP) if c else [] for c in cols]


def ints(xs):
    return [int(x, 0) for x in xs]


def kerberos(path):
    out = []
    names = ["frame.number", "kerberos.msg_type", "kerberos.CNameString",
             "kerberos.SNameString", "kerberos.ENCTYPE", "kerberos.etype",
             "kerberos.padata_type", "kerberos.error_code"]
    for f, mt, cn, sn, enc, et, pa, err in fields(path, "kerberos", names):
        out.append({
            "frame": int(f[0]),
            "msg_type": int(mt[0]),
            "cname": "/".join(cn),
            "sname": "/".join(sn),
            "enctypes": ints(enc),
            "etypes": ints(et),
            "padata_types": ints(pa),
            "error_code": int(err[0]) if err else None,
        })
    return out


def dcerpc(path):
    binds, calls = [], []
    names = ["dcerpc.pkt_type", "dcerpc.cn_bind_to_uuid", "dcerpc.opnum",
             "dcerpc.cn_flags.first_frag"]
    for pt, uuids, op, first in fields(path, "dcerpc", names):
        binds += uuids
        if len(pt) == 1 and pt[0] in ("0", "2") and op and first and first[0] in ("1", "True"):
            calls.append([int(pt[0]), int(op[0])])
    return sorted(binds), sorted(calls)


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else "testdata/windows"
    out = {}
    for path in sorted(glob.glob(os.path.join(d, "*.pcap"))):
        name = os.path.basename(path)[:-5]
        binds, calls = dcerpc(path)
        out[name] = {"kerberos": kerberos(path), "dcerpc_binds": binds, "dcerpc_calls": calls}
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
