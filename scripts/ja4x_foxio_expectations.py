#!/usr/bin/env python3
"""Run FoxIO's reference JA4+ implementation (Python) over the TLS captures
of testdata/ and write the JA4X values it finds, for
crates/netsec-tls/tests/ja4x.rs.

Usage: scripts/ja4x_foxio_expectations.py FOXIO_PYTHON_DIR [--out FILE]
  FOXIO_PYTHON_DIR  the python/ folder of github.com/FoxIO-LLC/ja4 (checked
                    with 0e54bc8; it runs tshark itself)
  FILE              default testdata/tls/ja4x-foxio.json
Run from the repository's root. Per capture: the distinct JA4X values of
every certificate FoxIO's ja4.py reports, sorted; captures it fails on are
listed under "_foxio_failed" (an IndexError in its ja4x.py on some chains).
"""

import glob
import json
import os
import subprocess
import sys


def ja4x_values(foxio_dir, path):
    run = subprocess.run(
        [sys.executable, "ja4.py", os.path.abspath(path), "-J"],
        cwd=foxio_dir, capture_output=True,
    )
    if run.returncode != 0:
        return None
    out = run.stdout.decode("utf-8", "replace")
    values = set()
    for line in out.splitlines():
        line = line.strip()
        if line.startswith('"JA4X.'):
            values.add(line.split(":", 1)[1].strip().strip(",").strip('"'))
    return sorted(values)


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    foxio_dir = argv[0]
    out_path = "testdata/tls/ja4x-foxio.json"
    if argv[1:2] == ["--out"] and len(argv) > 2:
        out_path = argv[2]
    captures = sorted(glob.glob("testdata/tls/*.pcap")) + ["testdata/sample.pcap"]
    result = {"_made_by": "scripts/ja4x_foxio_expectations.py with FoxIO-LLC/ja4 python/ja4.py @ 0e54bc8",
              "captures": {}, "_foxio_failed": []}
    for path in captures:
        values = ja4x_values(foxio_dir, path)
        if values is None:
            result["_foxio_failed"].append(path)
            print(f"{path}: FoxIO's ja4.py failed", file=sys.stderr)
            continue
        if values:
            result["captures"][path] = values
        print(f"{path}: {len(values)} JA4X", file=sys.stderr)
    with open(out_path, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
